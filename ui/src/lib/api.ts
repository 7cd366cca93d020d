// The one typed client for the Rust side: every command and event the app
// uses. Nothing else in the UI calls `invoke` or `listen`.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type Role = 'coordinator' | 'ambassador';
export type ReportState = 'draft' | 'sealed' | 'delivered' | 'purged';

/** The error every command rejects with. */
export interface CommandError {
  kind: string;
  message: string;
  fields?: FieldProblem[];
}
export interface FieldProblem {
  field: string;
  /** The engine's stable name for the rule broken; worded by `problemText`. */
  rule: string;
  message: string;
}
export interface UserEntry {
  name: string;
  role: Role;
}
export interface User extends UserEntry {
  id: string;
  created_at: string;
}
export interface DeskState {
  set_up: boolean;
  centre_name: string | null;
  centre_code: string | null;
  users: UserEntry[];
  unlocked: UserEntry | null;
  auto_lock_minutes: number;
  /** The auto-lock time while a report is open. */
  interview_lock_minutes: number;
  /** How long an auto-lock minute lasts (60,000 ms; shorter in tests). */
  idle_minute_ms: number;
  /** The interface language last chosen on this desk. */
  interface_language: string | null;
  dev_mode: boolean;
}
export interface Choice {
  value: string;
  label: string;
}
export type Vocabulary = Record<string, Choice[]>;
export interface UploadState {
  receipt_id?: string | null;
  attempts?: number;
  last_error?: string | null;
  [key: string]: unknown;
}
export interface ReportListing {
  id: string;
  state: ReportState;
  reference: string | null;
  created_at: string;
  updated_at: string;
  owner: string;
  summary: string;
  upload: UploadState | null;
  /** Why it is set aside (it would not open), if it is. */
  set_aside: string | null;
}
export interface Place {
  report_id: string;
  step: number;
}
export interface ReportList {
  reports: ReportListing[];
  drafts: number;
  waiting: number;
  delivered: number;
  resume: Place | null;
}
export type Report = Record<string, unknown>;
export interface OpenedReport {
  id: string;
  state: ReportState;
  reference: string | null;
  report: Report | null;
  updated_at: string;
}
export type Connection = 'not_enrolled' | 'syncing' | 'online' | 'offline';
export interface SyncStatus {
  connection: Connection;
  queued: number;
  refused: number;
  delivered: number;
  last_success: string | null;
  last_error: string | null;
}
/** A report that would not open (damage, a newer HIRC Desk), set aside. */
export interface SetAside {
  id: string;
  reference: string | null;
  state: ReportState;
  since: string;
  reason: string;
}
export interface HubInfo {
  hub_name: string;
  url: string;
  fingerprint: string;
  /** The hub's receipt-signing key, pinned at enrolment (null until pinned). */
  receipt_fingerprint: string | null;
  enrolled_at: string;
}
export interface Settings {
  auto_lock_minutes: number;
  interview_lock_minutes: number;
  retention_days: number;
}
export interface Period {
  from: string;
  to: string;
  threshold: number;
}
export type Cell = { kind: 'count'; value: number } | { kind: 'small' } | { kind: 'secondary' };
export interface SummaryRow {
  /** What is counted, by meaning: a vocabulary word, a month (2026-11), or
   *  all / total / distinct / not_recorded / yes / no / delivered / waiting. */
  key: string;
  /** The engine's English label. */
  label: string;
  cell: Cell;
  percent: number | null;
}
export interface SummaryTable {
  key: string;
  title: string;
  /** The vocabulary list the rows' keys come from, where they do. */
  vocabulary: string | null;
  rows: SummaryRow[];
  total: SummaryRow;
  overlapping: boolean;
}
export interface Summary {
  centre_name: string;
  centre_code: string;
  options: Period;
  tables: SummaryTable[];
}
export type ExportFormat = 'csv' | 'xlsx' | 'pdf';

export const SYNC_STATUS_EVENT = 'sync-status';
/** The Rust side locked the desk after it rested past its auto-lock time. */
export const DESK_LOCKED_EVENT = 'desk-locked';

export const api = {
  deskState: () => invoke<DeskState>('desk_state'),
  setUpDesk: (a: { centreName: string; centreCode: string; coordinator: string; passphrase: string }) =>
    invoke<{ recovery_code: string }>('set_up_desk', a),
  unlock: (name: string, passphrase: string) => invoke<UserEntry>('unlock', { name, passphrase }),
  lock: () => invoke<void>('lock'),
  stillHere: (interviewing: boolean) => invoke<number>('still_here', { interviewing }),
  setInterfaceLanguage: (language: string) => invoke<void>('set_interface_language', { language }),
  setWindowTitle: (hidden: boolean) => invoke<void>('set_window_title', { hidden }),
  vocabulary: () => invoke<Vocabulary>('vocabulary'),
  listReports: () => invoke<ReportList>('list_reports'),
  newDraft: (report: Report) => invoke<string>('new_draft', { report }),
  openReport: (id: string) => invoke<OpenedReport>('open_report', { id }),
  saveDraft: (id: string, report: Report) => invoke<string>('save_draft', { id, report }),
  checkReport: (report: Report) => invoke<FieldProblem[]>('check_report', { report }),
  submitReport: (id: string) => invoke<{ reference: string }>('submit_report', { id }),
  deleteDraft: (id: string) => invoke<void>('delete_draft', { id }),
  rememberPlace: (place: Place | null) => invoke<void>('remember_place', { place }),
  syncStatus: () => invoke<SyncStatus | null>('sync_status'),
  syncNow: () => invoke<void>('sync_now'),
  hubInfo: () => invoke<HubInfo | null>('hub_info'),
  setAsideReports: () => invoke<SetAside[]>('set_aside_reports'),
  retrySetAside: (id: string) => invoke<void>('retry_set_aside', { id }),
  discardSetAside: (id: string) => invoke<void>('discard_set_aside', { id }),
  enrol: (url: string, code: string) => invoke<{ hub: HubInfo; prepared: number }>('enrol', { url, code }),
  listUsers: () => invoke<User[]>('list_users'),
  addUser: (name: string, role: Role, passphrase: string) => invoke<User>('add_user', { name, role, passphrase }),
  removeUser: (name: string) => invoke<void>('remove_user', { name }),
  resetPassphrase: (name: string, passphrase: string) => invoke<void>('reset_passphrase', { name, passphrase }),
  changeOwnPassphrase: (current: string, next: string) =>
    invoke<void>('change_own_passphrase', { current, new: next }),
  settings: () => invoke<Settings>('settings'),
  setSettings: (settings: Settings) => invoke<Settings>('set_settings', { settings }),
  summary: (period: Period) => invoke<Summary>('summary', { period }),
  exportSummary: (period: Period, format: ExportFormat) =>
    invoke<string | null>('export_summary', { period, format }),
  onSyncStatus: (f: (s: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>(SYNC_STATUS_EVENT, (e) => f(e.payload)),
  onDeskLocked: (f: () => void): Promise<UnlistenFn> => listen(DESK_LOCKED_EVENT, () => f()),
};

/** Whether a rejection is one of ours (and not a programming error). */
export function isCommandError(e: unknown): e is CommandError {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}
