// The one client for the Rust side: every command and event the app uses.
// Nothing else in the UI calls `invoke` or `listen`. The commands and their
// types are generated from the Rust code (./bindings.ts, checked current by
// the shell's tests); this file only gives them the app's names.
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { commands, type Choice, type CommandError, type Evidence, type Report, type SyncStatus, type Value } from './bindings';
import { toBase64 } from './files';

export type {
  AgeBand,
  Cell,
  Choice,
  CommandError,
  Connection,
  Consent,
  Ethnicity,
  Gender,
  IncidentType,
  Injury,
  LocationType,
  OffenderCount,
  PassToPolice,
  Person,
  Religion,
  Report,
  ReporterRole,
  Repeat,
  SexualOrientation,
  Strand,
  SupportNeed,
  YesNoPreferNot,
  YesNoUnknown,
  DeskState,
  DeliveryReceipt,
  Erasure,
  Evidence,
  HubInfo,
  OpenedReport,
  Period,
  Place,
  ReportList,
  ReportPage,
  News,
  PartnershipStatus,
  ConsentGiven,
  SupportService,
  SupportServices,
  ReportListing,
  ReportState,
  Role,
  SetAside,
  Settings,
  Summary,
  SyncStatus,
  UploadState,
  User,
  UserEntry,
} from './bindings';
export type { FieldError as FieldProblem, Format as ExportFormat, Row as SummaryRow, Table as SummaryTable } from './bindings';

/** Every closed list of report v1, by its name. */
export type Vocabulary = Record<string, Choice[]>;

export const SYNC_STATUS_EVENT = 'sync-status';
/** The Rust side locked the desk after it rested past its auto-lock time. */
export const DESK_LOCKED_EVENT = 'desk-locked';

// The form's draft goes over as JSON; the engine reads it field by field.
const json = (report: Report): Value => report as Value;

/** How much of a file crosses to the desk in one command: the window
 *  never reads a file whole, and the desk holds a few pieces at most. */
export const EVIDENCE_PIECE_BYTES = 1024 * 1024;

export const api = {
  ...commands,
  /** Adds `file` to the draft `draft` a piece at a time; the desk keeps it
   *  only once every piece has arrived (a refusal comes back as soon as the
   *  desk has read enough to know). A file that cannot be read to its end
   *  is given up: nothing of it is kept. */
  addEvidence: async (draft: string, file: Blob, caption: string | null): Promise<Evidence> => {
    const upload = await commands.beginEvidence(draft, file.size, caption);
    try {
      for (let at = 0; at < file.size; at += EVIDENCE_PIECE_BYTES) {
        let piece: ArrayBuffer;
        try {
          piece = await file.slice(at, at + EVIDENCE_PIECE_BYTES).arrayBuffer();
        } catch {
          // The file changed or went (a stick pulled out) part way.
          const message = 'the file could not be read to its end; add it again';
          throw { kind: 'invalid_input', message, fields: [{ field: 'evidence', rule: 'evidence_not_whole', message }] } satisfies CommandError;
        }
        await commands.evidencePiece(upload, at, toBase64(piece));
      }
    } catch (e) {
      await commands.abandonEvidence(upload).catch(() => {});
      throw e;
    }
    return commands.finishEvidence(upload);
  },
  setUpDesk: (a: { centreName: string; centreCode: string; coordinator: string; passphrase: string }) =>
    commands.setUpDesk(a.centreName, a.centreCode, a.coordinator, a.passphrase),
  vocabulary: (): Promise<Vocabulary> => commands.vocabulary(),
  newDraft: (report: Report) => commands.newDraft(json(report)),
  saveDraft: (id: string, report: Report) => commands.saveDraft(id, json(report)),
  /** With the draft's id, a follow-up is judged by a follow-up's rules. */
  checkReport: (report: Report, id: string | null = null) => commands.checkReport(json(report), id),
  onSyncStatus: (f: (s: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>(SYNC_STATUS_EVENT, (e) => f(e.payload)),
  onDeskLocked: (f: () => void): Promise<UnlistenFn> => listen(DESK_LOCKED_EVENT, () => f()),
};

/** Whether a rejection is one of ours (and not a programming error). */
export function isCommandError(e: unknown): e is CommandError {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}
