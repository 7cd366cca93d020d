// An in-memory desk behind mocked Tauri IPC, for the browser tests: the UI
// runs in plain Chromium with every command answered here instead of by the
// Rust shell. It keeps the real shapes (the types come from lib/api.ts and
// the vocabulary is the engine's own, see fixtures/vocabulary.json); the
// real engine behind the real window is tested by tests/app.
//
// `?desk=new` starts with a desk that is not set up; `?desk=ready` (the
// default) with a set-up, enrolled desk holding a draft, a report waiting to
// upload and a delivered one; `?desk=busy` adds 25 more delivered reports. The passphrase of every user is PASSPHRASE.
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import type {
  CommandError,
  DeskState,
  FieldProblem,
  Erasure,
  Evidence,
  HubInfo,
  SetAside,
  Place,
  Report,
  ReportListing,
  ReportPage,
  ReportState,
  Role,
  Settings,
  Summary,
  SummaryTable,
  SupportService,
  SupportServices,
  SyncStatus,
  User,
  Vocabulary,
} from '../../src/lib/api';
import { DESK_LOCKED_EVENT, SYNC_STATUS_EVENT } from '../../src/lib/api';
import vocabulary from './fixtures/vocabulary.json';
import { MIN_PASSPHRASE_CHARS } from '../../src/lib/passphrase';

export const PASSPHRASE = 'correct horse battery staple';

interface StoredUser extends User {
  passphrase: string;
}
interface StoredReport {
  id: string;
  state: ReportState;
  reference: string | null;
  report: Report;
  created_at: string;
  updated_at: string;
  owner: string;
  uploaded: boolean;
  /** A follow-up draft: the id of the report it adds to. */
  follows?: string;
  revision?: number;
}

const now = () => new Date().toISOString();
let serial = 0;
const newId = () => `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`;

const desk = {
  setUp: false,
  centreName: null as string | null,
  centreCode: null as string | null,
  users: [] as StoredUser[],
  unlocked: null as StoredUser | null,
  settings: { auto_lock_minutes: 5, interview_lock_minutes: 15, retention_days: 1095, evidence_file_mib: 25, evidence_report_mib: 100 } as Settings,
  reports: [] as StoredReport[],
  place: null as Place | null,
  hub: null as HubInfo | null,
  lastSuccess: null as string | null,
  aside: [] as SetAside[],
  // Evidence, with its bytes (base64) for the thumbnails.
  evidence: [] as (Evidence & { data: string })[],
  /** The folders the person's files were saved into. */
  savedFolders: [] as string[],
  arriving: {} as Record<string, { draft: string; size: number; caption: string | null; pieces: Uint8Array[] }>,
  pieceSizes: [] as number[],
  // The auto-lock, kept here as the Rust side keeps it: `?minute=ms` makes
  // its minutes short for the tests.
  minuteMs: Number(new URLSearchParams(location.search).get('minute') ?? 60_000),
  lastActivity: Date.now(),
  interviewing: false,
  // The interface language survives a reload, as the file beside the store does.
  language: localStorage.getItem('fake-desk-language'),
  title: 'HIRC Desk',
  // `?saveDelay=ms`: every save takes that long (a slow disk), so a test
  // can act while one is in flight. `failSaves(kind)`: saves fail so.
  saveDelay: Number(new URLSearchParams(location.search).get('saveDelay') ?? 0),
  failSaves: null as string | null,
  // Consent changed since the report was taken, by report id.
  consents: {} as Record<string, ReportPage['consent']>,
  /** Reports erased at the person's request, newest first. */
  erasures: [] as Erasure[],
  services: {
    services: [
      { name: 'Victim Support', phone: '08 08 16 89 111', website: 'victimsupport.org.uk', languages: '' },
      { name: 'Stop Hate UK (24-hour helpline)', phone: '0800 138 1625', website: 'stophateuk.org', languages: '' },
    ],
    confirmed_at: null,
    confirmed_by: null,
  } as SupportServices,
};

/** What a file is, from its first bytes, as the engine decides it (a
 *  WebP is kept as PNG; anything else not text is refused). */
function kindOf(bytes: Uint8Array): Evidence['kind'] | null {
  const starts = (...b: number[]) => b.every((x, i) => bytes[i] === x);
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x89, 0x50, 0x4e, 0x47) || (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57)) return 'png';
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return 'pdf';
  return bytes.includes(0) ? null : 'text';
}

/** A file that did not arrive whole, refused as the shell refuses it. */
function notWhole(message: string): never {
  fail('invalid_input', message, [{ field: 'evidence', rule: 'evidence_not_whole', message }]);
}

function fail(kind: string, message: string, fields?: FieldProblem[]): never {
  const error: CommandError = { kind, message, fields };
  throw error;
}

function user(name: string, role: Role): StoredUser {
  return { id: newId(), name, role, created_at: now(), passphrase: PASSPHRASE };
}

const complete: Report = {
  reporter_role: 'victim',
  language_used: 'en',
  incident_types: ['verbal_abuse'],
  description: 'Shouted at on the bus.',
  occurred_on: '2026-11-02',
  location_type: 'public_transport',
  area: 'SS8',
  strands: ['race_ethnicity'],
  anonymous: true,
  person: {},
  consent: { pass_to_police: 'no', police_may_contact: false, refer_to_support: false },
  support_needs: [],
};

function seedReadyDesk() {
  desk.setUp = true;
  desk.centreName = 'Castle Point CVS';
  desk.centreCode = 'CP';
  desk.users = [user('Chris', 'coordinator'), user('Ali', 'ambassador')];
  desk.hub = {
    hub_name: 'Essex partnership hub',
    url: 'https://hub.example.org',
    fingerprint: '3F2A 91C4 0B7E D5A8 66C1',
    receipt_fingerprint: '7B1E 0C22 94AF 5D03 E6B8',
    enrolled_at: '2026-10-01T09:00:00Z',
  };
  desk.lastSuccess = '2026-11-20T15:04:00Z';
  const at = '2026-11-20T14:00:00Z';
  desk.reports = [
    { id: newId(), state: 'draft', reference: null, report: { ...complete, description: undefined }, created_at: at, updated_at: at, owner: 'Ali', uploaded: false },
    { id: newId(), state: 'sealed', reference: 'CP-7K2Q-4F', report: complete, created_at: at, updated_at: at, owner: 'Ali', uploaded: false },
    { id: newId(), state: 'delivered', reference: 'CP-3H8D-9X', report: complete, created_at: at, updated_at: at, owner: 'Chris', uploaded: true },
  ];
}

function mustBeUnlocked(): StoredUser {
  return desk.unlocked ?? fail('locked', 'The desk is locked. Unlock it first.');
}

function mustBeCoordinator(): StoredUser {
  const who = mustBeUnlocked();
  if (who.role !== 'coordinator') fail('not_allowed', 'Only a coordinator can do that.');
  return who;
}

function deskState(): DeskState {
  return {
    set_up: desk.setUp,
    centre_name: desk.centreName,
    centre_code: desk.centreCode,
    users: desk.users.map(({ name, role }) => ({ name, role })),
    unlocked: desk.unlocked ? { name: desk.unlocked.name, role: desk.unlocked.role } : null,
    auto_lock_minutes: desk.settings.auto_lock_minutes,
    interview_lock_minutes: desk.settings.interview_lock_minutes,
    idle_minute_ms: desk.minuteMs,
    interface_language: desk.language,
    dev_mode: false,
  };
}

function syncStatus(): SyncStatus {
  const count = (state: ReportState) => desk.reports.filter((r) => r.state === state).length;
  return {
    connection: desk.hub ? 'online' : 'not_enrolled',
    queued: count('sealed'),
    refused: 0,
    delivered: count('delivered'),
    last_success: desk.lastSuccess,
    last_error: null,
    erasures_waiting: desk.erasures.filter((e) => e.for_the_hub && !e.confirmed_at).length,
  };
}

function listing(r: StoredReport): ReportListing {
  const types = (r.report.incident_types as string[] | undefined) ?? [];
  return {
    id: r.id,
    state: r.state,
    reference: r.reference,
    revision: r.state === 'draft' ? 0 : 1,
    save_seq: 1,
    owner_id: '00000000-0000-4000-8000-0000000000ff',
    created_at: r.created_at,
    updated_at: r.updated_at,
    sealed_at: r.state === 'draft' ? null : r.updated_at,
    body_size: 1024,
    owner: r.owner,
    summary: types.join(', '),
    upload: r.uploaded
      ? { receipt: { receipt_id: `rcpt-${r.id.slice(-4)}`, digest: 'sha-256=:fake:', received_at: now(), device_id: null, signature: null }, checked: true, attempts: 1, last_error: null, refused: false, next_attempt_at: null }
      : null,
    set_aside: desk.aside.find((x) => x.id === r.id)?.reason ?? null,
    follows: r.follows ? (desk.reports.find((x) => x.id === r.follows)?.reference ?? null) : null,
  };
}

/** A few of the engine's rules, by the engine's names: enough for every
 *  step to show its error summary. The full rules are the engine's and are
 *  tested there and in the real-app walk. */
function check(report: Report): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const missing = (field: string, rule: string, message: string) => problems.push({ field, rule, message });
  const consent = (report.consent as Record<string, unknown> | undefined) ?? {};
  if (!report.reporter_role) missing('reporter_role', 'reporter_role_missing', 'Say who is making the report.');
  if (!(report.incident_types as string[] | undefined)?.length)
    missing('incident_types', 'incident_types_missing', 'Choose at least one type of incident.');
  if (!report.description) missing('description', 'description_missing', 'Describe what happened.');
  // The shape only; the engine also checks the check character.
  if (report.related_reference && !/^[A-Z0-9]{2,6}[-\s]*[0-9A-Z]{4}[-\s]*[0-9A-Z]{2}$/i.test(report.related_reference.trim()))
    missing('related_reference', 'related_reference_invalid', 'This is not a report reference.');
  if (!report.occurred_on) missing('occurred_on', 'occurred_on_missing', 'Enter the date it happened.');
  if (!report.location_type) missing('location_type', 'location_type_missing', 'Choose where it happened.');
  if (!(report.strands as string[] | undefined)?.length)
    missing('strands', 'strands_missing', 'Choose at least one reason the person was targeted.');
  if (report.anonymous === undefined) missing('anonymous', 'anonymous_missing', 'Say whether the person stays anonymous.');
  if (consent.pass_to_police === undefined)
    missing('consent.pass_to_police', 'pass_to_police_missing', 'Say whether the report may go to the police.');
  if (consent.police_may_contact === undefined)
    missing('consent.police_may_contact', 'police_may_contact_missing', 'Say whether the police may make contact.');
  if (consent.refer_to_support === undefined)
    missing('consent.refer_to_support', 'refer_to_support_missing', 'Say whether to refer to support.');
  return problems;
}

function ownReport(id: string): StoredReport {
  return desk.reports.find((r) => r.id === id) ?? fail('not_found', `There is no report ${id} on this desk.`);
}

function row(key: string, label: string, value: number | 'small' | 'secondary', total: number): SummaryTable['rows'][number] {
  return typeof value === 'number'
    ? { key, label, cell: { kind: 'count', value }, percent: Math.round((value / total) * 100) }
    : { key, label, cell: { kind: value }, percent: null };
}

/** The engine's summary shape: every row keyed by meaning, labelled in English. */
function summary(from: string, to: string, threshold: number): Summary {
  const total = 41;
  const table = (key: string, title: string, vocabulary: string | null, rows: SummaryTable['rows'], overlapping = false): SummaryTable => ({
    key,
    title,
    vocabulary,
    rows,
    total: overlapping
      ? { key: 'distinct', label: 'Distinct reports', cell: { kind: 'count', value: total }, percent: null }
      : { key: 'total', label: 'Total', cell: { kind: 'count', value: total }, percent: null },
    overlapping,
  });
  return {
    centre_name: desk.centreName ?? '',
    centre_code: desk.centreCode ?? '',
    options: { from, to, threshold },
    not_counted: 0,
    tables: [
      table('reports', 'Reports taken', null, [row('all', 'All reports', total, total)]),
      table('strands', 'By strand', 'strands', [row('race_ethnicity', 'Race or ethnicity', 22, total), row('religion_belief', 'Religion or belief', 9, total), row('disability', 'Disability', 'small', total), row('sexual_orientation', 'Sexual orientation', 'secondary', total), row('transgender_identity', 'Transgender identity', 6, total)], true),
      table('incident_types', 'By incident type', 'incident_types', [row('verbal_abuse', 'Verbal abuse', 25, total), row('harassment', 'Harassment', 12, total), row('physical_assault', 'Physical assault', 'small', total), row('criminal_damage', 'Criminal damage', 'secondary', total)], true),
      table('months', 'By month', null, [row('2026-09', 'September 2026', 14, total), row('2026-10', 'October 2026', 15, total), row('2026-11', 'November 2026', 12, total)]),
      table('reporter_roles', 'By who reported', 'reporter_role', [row('victim', 'Victim', 30, total), row('witness', 'Witness', 8, total), row('third_party_on_behalf', 'Third party on behalf of the victim', 'small', total), row('organisation', 'Organisation', 0, total), row('not_recorded', 'Not recorded', 0, total)]),
    ],
  };
}

type Args = Record<string, unknown>;

const commands: Record<string, (a: Args) => unknown> = {
  desk_state: () => deskState(),
  vocabulary: () => vocabulary as Vocabulary,
  set_up_desk: (a) => {
    if (desk.setUp) fail('already_set_up', 'This desk is already set up.');
    desk.setUp = true;
    desk.centreName = String(a.centreName);
    desk.centreCode = String(a.centreCode);
    const first = { ...user(String(a.coordinator), 'coordinator'), passphrase: String(a.passphrase) };
    desk.users = [first];
    desk.unlocked = first;
    return { recovery_code: 'K7M2P-9QX4T-B3N8W-R6D1F-H5J0C-V2Z9L' };
  },
  unlock: (a) => {
    const who = desk.users.find((u) => u.name === a.name) ?? fail('no_such_user', `There is no user called ${String(a.name)}.`);
    if (who.passphrase !== a.passphrase) fail('wrong_passphrase', `That is not ${who.name}'s passphrase.`);
    desk.unlocked = who;
    desk.lastActivity = Date.now();
    return { name: who.name, role: who.role };
  },
  lock: () => {
    desk.unlocked = null;
  },
  still_here: (a) => {
    desk.lastActivity = Date.now();
    desk.interviewing = a.interviewing === true;
    return idleLimitMs() / 1000;
  },
  set_interface_language: (a) => {
    desk.language = String(a.language);
    localStorage.setItem('fake-desk-language', desk.language);
  },
  set_window_title: (a) => {
    desk.title = a.hidden ? 'Community information' : 'HIRC Desk';
  },
  list_reports: () => {
    mustBeUnlocked();
    const count = (state: ReportState) => desk.reports.filter((r) => r.state === state).length;
    return { reports: desk.reports.map(listing), drafts: count('draft'), waiting: count('sealed'), delivered: count('delivered'), resume: desk.place };
  },
  new_draft: (a) => {
    const who = mustBeUnlocked();
    const r: StoredReport = { id: newId(), state: 'draft', reference: null, report: a.report as Report, created_at: now(), updated_at: now(), owner: who.name, uploaded: false };
    desk.reports.push(r);
    return r.id;
  },
  open_report: (a) => {
    mustBeUnlocked();
    const r = ownReport(String(a.id));
    const followed = desk.reports.find((x) => x.id === r.follows);
    return { id: r.id, state: r.state, reference: r.reference, report: r.report, updated_at: r.updated_at, follows: followed?.reference ?? null };
  },
  save_draft: async (a) => {
    if (desk.saveDelay > 0) await new Promise((ok) => setTimeout(ok, desk.saveDelay));
    if (desk.failSaves) fail(desk.failSaves, 'The store could not be written (disk full).');
    mustBeUnlocked();
    const r = ownReport(String(a.id));
    if (r.state !== 'draft') fail('not_a_draft', 'This report has been submitted and can no longer change.');
    // The engine's one rule for every save: lengths.
    const long = Object.entries(a.report as Report).filter(([k, v]) => typeof v === 'string' && [...v].length > (k === 'description' ? 20_000 : 2_000));
    if (long.length > 0)
      fail('invalid_input', 'Some answers need attention.', long.map(([field]) => ({ field, rule: 'too_long', message: 'is too long' })));
    r.report = a.report as Report;
    r.updated_at = now();
    return r.updated_at;
  },
  // A follow-up needs its note; the fake holds every report whole.
  check_report: (a) => {
    const r = desk.reports.find((x) => x.id === a.id);
    const problems = check(a.report as Report);
    if (r?.follows && !(a.report as Report).what_changed)
      problems.push({ field: 'what_changed', rule: 'what_changed_missing', message: 'say what this follow-up adds or changes' });
    return problems;
  },
  submit_report: (a) => {
    mustBeUnlocked();
    const r = ownReport(String(a.id));
    if (r.follows) {
      if (!r.report.what_changed) fail('invalid', 'The report is not complete.', [{ field: 'what_changed', rule: 'what_changed_missing', message: 'say what this follow-up adds or changes' }]);
      const orig = desk.reports.find((x) => x.id === r.follows) as StoredReport;
      orig.report = r.report;
      orig.revision = (orig.revision ?? 1) + 1;
      orig.state = 'sealed';
      orig.uploaded = false;
      desk.reports = desk.reports.filter((x) => x !== r);
      desk.place = null;
      return { reference: orig.reference };
    }
    const problems = check(r.report);
    if (problems.length > 0) fail('invalid_input', 'The report is not complete.', problems);
    r.state = 'sealed';
    r.reference = `CP-${String(desk.reports.length).padStart(4, '0')}-AB`;
    for (const e of desk.evidence) if (e.report_id === r.id && e.revision === 0) e.revision = 1;
    desk.place = null;
    return { reference: r.reference };
  },
  delete_draft: (a) => {
    mustBeUnlocked();
    desk.reports = desk.reports.filter((r) => r.id !== a.id || r.state !== 'draft');
  },
  remember_place: (a) => {
    desk.place = (a.place as Place | null) ?? null;
  },
  sync_status: () => syncStatus(),
  sync_now: () => {
    if (!desk.hub) return;
    for (const r of desk.reports.filter((x) => x.state === 'sealed')) {
      r.state = 'delivered';
      r.uploaded = true;
    }
    for (const e of desk.erasures) e.confirmed_at ??= now();
    desk.lastSuccess = now();
    void emit(SYNC_STATUS_EVENT, syncStatus());
  },
  hub_info: () => desk.hub,
  set_aside_reports: () => {
    mustBeCoordinator();
    return desk.aside;
  },
  retry_set_aside: () => {
    mustBeCoordinator();
    fail('store', 'a stored record could not be decrypted or does not belong where it was found (a report body does not open with the desk key); the store may have been tampered with');
  },
  discard_set_aside: (a) => {
    mustBeCoordinator();
    desk.aside = desk.aside.filter((x) => x.id !== a.id);
  },
  enrol: (a) => {
    mustBeCoordinator();
    if (!String(a.url).startsWith('http')) fail('hub_config', 'The hub address must start with http:// or https://.');
    desk.hub = { hub_name: 'Local hub', url: String(a.url), fingerprint: '9C0D 41AA 7E3B 2F60 D18E', receipt_fingerprint: '2A6F 93D0 11C7 B845 0E9A', enrolled_at: now() };
    return { hub: desk.hub, prepared: desk.reports.filter((r) => r.state === 'sealed').length };
  },
  list_users: () => {
    mustBeCoordinator();
    return desk.users.map(({ passphrase: _secret, ...u }) => u);
  },
  add_user: (a) => {
    mustBeCoordinator();
    if (desk.users.some((u) => u.name === a.name)) fail('user_exists', `There is already a user called ${String(a.name)}.`);
    if (String(a.passphrase).length < MIN_PASSPHRASE_CHARS) fail('weak_passphrase', 'The passphrase is too short.');
    const added = { ...user(String(a.name), a.role as Role), passphrase: String(a.passphrase) };
    desk.users.push(added);
    return { id: added.id, name: added.name, role: added.role, created_at: added.created_at };
  },
  remove_user: (a) => {
    mustBeCoordinator();
    desk.users = desk.users.filter((u) => u.name !== a.name);
  },
  reset_passphrase: (a) => {
    mustBeCoordinator();
    const who = desk.users.find((u) => u.name === a.name) ?? fail('no_such_user', `There is no user called ${String(a.name)}.`);
    who.passphrase = String(a.passphrase);
  },
  change_own_passphrase: (a) => {
    const who = mustBeUnlocked();
    if (who.passphrase !== a.current) fail('wrong_passphrase', `That is not ${who.name}'s passphrase.`);
    if (String(a.next).length < MIN_PASSPHRASE_CHARS) fail('weak_passphrase', 'The passphrase is too short.');
    who.passphrase = String(a.next);
  },
  settings: () => desk.settings,
  set_settings: (a) => {
    mustBeCoordinator();
    desk.settings = a.settings as Settings;
    return desk.settings;
  },
  summary: (a) => {
    mustBeCoordinator();
    const p = a.period as { from: string; to: string; threshold: number };
    return summary(p.from, p.to, p.threshold);
  },
  // The native save dialog does not exist here: "cancelled", as a person
  // closing the dialog would. What was asked for is kept for the tests.
  export_summary: (a) => {
    mustBeCoordinator();
    exports.push(a);
    return null;
  },
  find_report: (a) => findReport(String(a.reference)),
  // The delivered report has word from the partnership.
  news: () => {
    mustBeUnlocked();
    return desk.reports.filter((r) => r.uploaded && r.reference).map((r) => ({ reference: r.reference as string, state: 'passed_to_police', received_at: r.updated_at }));
  },
  // The next revision's draft, pre-filled (the fake holds every report
  // whole); the one already begun if there is one.
  follow_up: (a) => {
    const who = mustBeUnlocked();
    const page = findReport(String(a.reference));
    const open = desk.reports.find((x) => x.follows === page.id && x.state === 'draft');
    if (open) return open.id;
    const orig = desk.reports.find((x) => x.id === page.id) as StoredReport;
    const draft: StoredReport = { id: newId(), state: 'draft', reference: null, report: { ...orig.report, what_changed: undefined }, created_at: now(), updated_at: now(), owner: who.name, uploaded: false, follows: orig.id };
    desk.reports.push(draft);
    return draft.id;
  },
  // The native dialog is the real app's; here the copy "saves" at once.
  save_access_copy: (a) => {
    mustBeCoordinator();
    const page = findReport(String(a.reference));
    const files = desk.evidence.filter((e) => e.report_id === page.id || desk.reports.some((r) => r.id === e.report_id && r.follows === page.id)).length;
    return { path: `/home/desk/copy-for-the-person-${page.reference}.pdf`, files };
  },
  // The folder dialog too: the files "save" at once, into the new folder
  // the shell makes; a second time there, they would be there already.
  save_access_files: (a) => {
    mustBeCoordinator();
    const page = findReport(String(a.reference));
    const files = desk.evidence.filter((e) => e.report_id === page.id || desk.reports.some((r) => r.id === e.report_id && r.follows === page.id)).length;
    const folder = `/home/desk/files-for-the-person-${page.reference}`;
    if (desk.savedFolders.includes(folder)) fail('unsuitable_folder', `${folder}/${page.reference}-1 is there already: name an empty folder for the person's files (nothing was written)`, [{ field: 'folder', rule: 'folder_taken', message: 'taken' }]);
    desk.savedFolders.push(folder);
    return { folder, files };
  },
  // Everything the desk holds of the report goes; only its reference stays.
  erase_report: (a) => {
    mustBeCoordinator();
    const page = findReport(String(a.reference));
    desk.reports = desk.reports.filter((x) => x.id !== page.id && x.follows !== page.id);
    const erased: Erasure = { reference: page.reference, erased_at: now(), for_the_hub: true, confirmed_at: null, last_error: null, refused: false };
    desk.erasures.unshift(erased);
    // The real desk starts a pass at once; this one's hub has not answered.
    void emit(SYNC_STATUS_EVENT, syncStatus());
    return erased;
  },
  // Evidence on a draft: what a file is, read from its first bytes, as the
  // engine does (a WebP is kept as PNG; anything else not text is refused).
  list_evidence: (a) => {
    mustBeUnlocked();
    return desk.evidence.filter((e) => e.report_id === a.id).map(({ data: _data, ...e }) => e);
  },
  // A file arrives a piece at a time, as the real shell takes it; the
  // fake records each piece's size, for the walk that checks the window
  // never sends a file whole.
  begin_evidence: (a) => {
    mustBeUnlocked();
    const r = ownReport(String(a.id));
    if (r.state !== 'draft') fail('wrong_state', 'this report was already submitted');
    const upload = newId();
    desk.arriving[upload] = { draft: r.id, size: Number(a.size), caption: (a.caption as string | null) ?? null, pieces: [] };
    return upload;
  },
  // As the engine does, the first piece is sniffed: a kind the desk does
  // not take is refused there, and the file given up.
  evidence_piece: (a) => {
    const file = desk.arriving[String(a.file)];
    if (!file) notWhole('this file is no longer being added (it stopped arriving); add it again');
    const piece = Uint8Array.from(atob(String(a.data)), (c) => c.charCodeAt(0));
    const sent = file.pieces.reduce((n, p) => n + p.length, 0);
    if (Number(a.at) !== sent) {
      delete desk.arriving[String(a.file)];
      notWhole('a piece of the file arrived out of order; add it again');
    }
    desk.pieceSizes.push(piece.length);
    if (sent === 0 && kindOf(piece) === null) {
      delete desk.arriving[String(a.file)];
      fail('invalid_input', 'this kind of file is not accepted: evidence can be a photo or screenshot (JPEG, PNG, WebP), a PDF document or plain text', [
        { field: 'evidence', rule: 'evidence_kind', message: 'this kind of file is not accepted' },
      ]);
    }
    file.pieces.push(piece);
    return null;
  },
  finish_evidence: (a) => {
    const file = desk.arriving[String(a.file)];
    if (!file) notWhole('this file is no longer being added (it stopped arriving); add it again');
    delete desk.arriving[String(a.file)];
    const bytes = new Uint8Array(file.pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of file.pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    if (bytes.length !== file.size) notWhole('the file did not arrive whole; add it again');
    const kind = kindOf(bytes);
    if (kind === null)
      fail('invalid_input', 'this kind of file is not accepted: evidence can be a photo or screenshot (JPEG, PNG, WebP), a PDF document or plain text', [
        { field: 'evidence', rule: 'evidence_kind', message: 'this kind of file is not accepted' },
      ]);
    const caption = file.caption?.trim() ? file.caption.trim() : null;
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const item = { id: newId(), report_id: file.draft, revision: 0, kind: kind as Evidence['kind'], size: bytes.length, caption, added_at: now(), data: btoa(binary) };
    desk.evidence.push(item);
    const { data: _data, ...listed } = item;
    return listed;
  },
  abandon_evidence: (a) => {
    delete desk.arriving[String(a.file)];
    return null;
  },
  remove_evidence: (a) => {
    mustBeUnlocked();
    desk.evidence = desk.evidence.filter((e) => e.id !== a.evidence || e.revision !== 0);
    return null;
  },
  evidence_thumbnail: (a) => {
    mustBeUnlocked();
    const e = desk.evidence.find((x) => x.id === a.evidence);
    if (!e || (e.kind !== 'jpeg' && e.kind !== 'png')) return null;
    return `data:image/${e.kind};base64,${e.data}`;
  },
  list_erasures: () => {
    mustBeCoordinator();
    return desk.erasures;
  },
  // The hub is asked again: each waits for the next sync's confirmation.
  resend_erasures: (a) => {
    mustBeCoordinator();
    const again = desk.erasures.filter((e) => e.for_the_hub && (a.reference == null || e.reference === a.reference));
    for (const e of again) e.confirmed_at = null;
    void emit(SYNC_STATUS_EVENT, syncStatus());
    return { again, under_another_key: [] };
  },
  // A new report naming the one found; the person's details carried over.
  related_report: (a) => {
    const who = mustBeUnlocked();
    const page = findReport(String(a.reference));
    const orig = desk.reports.find((x) => x.id === page.id) as StoredReport;
    const report = { strands: [], incident_types: [], support_needs: [], consent: {}, person: { ...orig.report.person }, anonymous: orig.report.anonymous, reporter_role: orig.report.reporter_role, language_used: (a.language as string | null) ?? 'en', related_reference: page.reference } as Report;
    const draft: StoredReport = { id: newId(), state: 'draft', reference: null, report, created_at: now(), updated_at: now(), owner: who.name, uploaded: false };
    desk.reports.push(draft);
    return draft.id;
  },
  change_consent: (a) => {
    mustBeCoordinator();
    const page = findReport(String(a.reference));
    const orig = desk.reports.find((x) => x.id === page.id) as StoredReport;
    const change = a.change as { pass_to_police: string | null; police_may_contact: boolean | null; refer_to_support: boolean | null };
    if (Object.values(change).every((v) => v === null)) fail('invalid_input', 'say what changes');
    desk.consents[orig.id] = { ...page.consent, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== null)) };
    orig.revision = (orig.revision ?? 1) + 1;
    orig.state = 'sealed';
    orig.uploaded = false;
    return findReport(String(a.reference));
  },
  // Saved "to" a made-up path, so the page's notice shows; kept for the tests.
  save_slip: (a) => {
    mustBeUnlocked();
    findReport(String(a.reference));
    exports.push({ slip: a.reference, language: a.language });
    return `/home/desk/slip-${String(a.reference).toUpperCase()}.pdf`;
  },
  support_services: () => desk.services,
  set_support_services: (a) => {
    const who = mustBeCoordinator();
    const services = a.services as SupportService[];
    const bad = services.find((s) => !s.name || (!s.phone && !s.website) || /[^0-9 +()-]/.test(s.phone ?? ''));
    if (services.length === 0 || bad) fail('invalid_input', `service ${bad?.name ?? ''} needs a name and a phone number (digits, spaces, + - ( ) only) or a website`);
    desk.services = { services, confirmed_at: now(), confirmed_by: who.name };
    return desk.services;
  },
};

/** The engine's reading of a quoted reference, in small: case, spaces and
 *  dashes ignored, O read as 0 and I or L as 1; one wrong character of a
 *  known reference stands in for the check character's catch. */
function findReport(quoted: string): ReportPage {
  const who = mustBeUnlocked();
  const norm = (s: string) => s.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  const q = norm(quoted);
  if (q.length < 8 || !/^[A-Z0-9]+$/.test(q)) fail('not_a_reference', 'a reference looks like CP-7K3M-QA');
  const submitted = desk.reports.filter((r) => r.reference);
  const r = submitted.find((x) => norm(x.reference as string) === q);
  if (!r && desk.erasures.some((x) => norm(x.reference) === q))
    fail('erased', `report ${quoted} was erased at the person's request; nothing of it is held at this desk`);
  if (!r) {
    const near = submitted.some((x) => {
      const n = norm(x.reference as string);
      return n.length === q.length && [...n].filter((c, i) => c !== q[i]).length === 1;
    });
    if (near) fail('mistyped_reference', 'that reference has a mistyped character');
    fail('not_found', `there is no report ${quoted} at this desk`);
  }
  return {
    id: r.id,
    reference: r.reference as string,
    state: r.state,
    revision: r.revision ?? 1,
    taken_at: r.created_at,
    sealed_at: r.updated_at,
    delivered_at: r.uploaded ? r.updated_at : null,
    receipt: r.uploaded ? { receipt_id: `rcpt-${r.id.slice(-4)}`, digest: 'sha-256=:fake:', received_at: r.updated_at, device_id: null, signature: 'c2ln' } : null,
    receipt_checked: r.uploaded,
    refused: false,
    consent: desk.consents[r.id] ?? { pass_to_police: 'no', police_may_contact: false, refer_to_support: true, recorded_at: r.created_at },
    purged: false,
    readable: who.role === 'coordinator' || who.name === r.owner,
    statuses: r.uploaded ? [{ state: 'passed_to_police', note: 'With PC Smith at Rayleigh.', set_at: r.updated_at, received_at: r.updated_at }] : [],
  };
}

function idleLimitMs(): number {
  const { auto_lock_minutes, interview_lock_minutes } = desk.settings;
  return desk.minuteMs * (desk.interviewing ? Math.max(interview_lock_minutes, auto_lock_minutes) : auto_lock_minutes);
}

/** Every command the UI called, in order, for the tests to inspect. */
const calls: string[] = [];
/** The arguments of every export_summary call. */
const exports: Args[] = [];

export function install(kind: string | null) {
  if (kind !== 'new') seedReadyDesk();
  if (kind === 'aside') {
    // One submitted report whose body would not open: set aside.
    const r = desk.reports.find((x) => x.state === 'sealed') as StoredReport;
    desk.aside = [{ id: r.id, reference: r.reference, state: 'sealed', since: now(), reason: 'a report body does not open with the desk key' }];
  }
  if (kind === 'busy') {
    // A year of a busy centre: more delivered reports than Home lists.
    for (let i = 0; i < 25; i++) {
      const at = new Date(Date.UTC(2026, 0, 1 + i * 7)).toISOString();
      desk.reports.push({ id: newId(), state: 'delivered', reference: `CP-${1000 + i}-ZZ`, report: complete, created_at: at, updated_at: at, owner: 'Ali', uploaded: true });
    }
  }
  mockIPC(
    (cmd, args) => {
      calls.push(cmd);
      const handler = commands[cmd] ?? fail('unknown_command', `The fake desk does not know ${cmd}.`);
      return handler((args ?? {}) as Args);
    },
    { shouldMockEvents: true },
  );
  // The auto-lock's watchdog, as the Rust side runs it.
  setInterval(() => {
    if (desk.unlocked && Date.now() - desk.lastActivity >= idleLimitMs()) {
      desk.unlocked = null;
      void emit(DESK_LOCKED_EVENT, null);
    }
  }, 200);
  // `announce` sends a sync status as the worker would, with `change` over the desk's own.
  const announce = (change: Partial<SyncStatus>) => emit(SYNC_STATUS_EVENT, { ...syncStatus(), ...change });
  const failSaves = (kind: string | null) => {
    desk.failSaves = kind;
  };
  const state = () => ({ title: desk.title, settings: desk.settings, place: desk.place, unlocked: desk.unlocked?.name ?? null, reports: desk.reports.map((r) => ({ id: r.id, state: r.state, report: r.report })), pieceSizes: desk.pieceSizes, arriving: Object.keys(desk.arriving).length });
  // `setLocks` sets the auto-lock times as a coordinator would.
  const setLocks = (anywhere: number, interview: number) => {
    desk.settings = { ...desk.settings, auto_lock_minutes: anywhere, interview_lock_minutes: interview };
  };
  (window as unknown as { fakeDesk: unknown }).fakeDesk = { calls, commands: Object.keys(commands), announce, exports, state, setLocks, failSaves };
}

install(new URLSearchParams(location.search).get('desk'));
