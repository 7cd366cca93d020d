// The report form's steps (DOMAIN.md's groups) and the helpers that read
// and write the report object, which has the JSON shape of report v1 (the
// engine's own type, generated into bindings.ts).
import type * as R from './api';
import type { Consent, FieldProblem, Person, Report } from './api';

/** A question's place in the report: a field of its own, or one of the
 *  person's or the consent's (`person.phone`, `consent.pass_to_police`). */
export type FieldPath =
  | Exclude<keyof Report, 'person' | 'consent'>
  | `person.${keyof Person}`
  | `consent.${keyof Consent}`;

/** What the report holds at a path. */
export type PathValue<P extends FieldPath> = P extends `person.${infer K extends keyof Person}`
  ? Person[K]
  : P extends `consent.${infer K extends keyof Consent}`
    ? Consent[K]
    : P extends keyof Report
      ? Report[P]
      : never;

/** The closed lists of report v1 (the engine's `vocabulary`), by name,
 *  with the words each holds. */
export interface Lists {
  reporter_role: R.ReporterRole;
  strands: R.Strand;
  incident_types: R.IncidentType;
  repeat: R.Repeat;
  location_type: R.LocationType;
  offender_count: R.OffenderCount;
  yes_no_unknown: R.YesNoUnknown;
  injury: R.Injury;
  pass_to_police: R.PassToPolice;
  support_needs: R.SupportNeed;
  age_band: R.AgeBand;
  gender: R.Gender;
  ethnicity: R.Ethnicity;
  religion: R.Religion;
  yes_no_prefer_not: R.YesNoPreferNot;
  sexual_orientation: R.SexualOrientation;
}

export interface Step {
  key: string;
  /** The JSON paths this step asks about (for the error summary). */
  fields: FieldPath[];
}

export const STEPS: Step[] = [
  { key: 'who', fields: ['reporter_role', 'language_used', 'interpreter_used'] },
  {
    key: 'what',
    fields: [
      'incident_types',
      'incident_type_other',
      'description',
      'repeat',
      'related_reference',
      'offender_count',
      'known_to_person',
      'offender_description',
      'injury',
      'medical_treatment',
      'witnesses_present',
      'witness_details',
    ],
  },
  {
    key: 'when',
    fields: ['occurred_on', 'approximate', 'occurred_time', 'location_type', 'area', 'location_details'],
  },
  { key: 'why', fields: ['strands', 'strand_other'] },
  {
    key: 'person',
    fields: [
      'anonymous',
      'person.name',
      'person.phone',
      'person.email',
      'person.address',
      'person.safe_contact_method',
      'person.safe_contact_times',
      'person.preferred_language',
      'person.age_band',
      'person.gender',
      'person.ethnicity',
      'person.religion',
      'person.disability',
      'person.sexual_orientation',
      'person.trans_history',
    ],
  },
  {
    key: 'consent',
    fields: [
      'consent.pass_to_police',
      'consent.police_may_contact',
      'consent.refer_to_support',
      'already_reported',
      'crime_reference',
      'support_needs',
      'support_notes',
    ],
  },
  // Photos, screenshots and documents: kept by the desk as each is added,
  // not in the report's fields.
  { key: 'evidence', fields: [] },
  { key: 'review', fields: [] },
];

/** A new, empty report. */
export function emptyReport(language: string): Report {
  return { strands: [], incident_types: [], support_needs: [], person: {}, consent: {}, language_used: language };
}

/** The value at a path. */
export function getPath<P extends FieldPath>(report: Report, path: P): PathValue<P> | undefined {
  const [head, field] = path.split('.');
  const top: unknown = (report as Record<string, unknown>)[head];
  if (field === undefined) return top as PathValue<P> | undefined;
  return top && typeof top === 'object' ? ((top as Record<string, unknown>)[field] as PathValue<P> | undefined) : undefined;
}

/** A copy of `report` with the value at `path` set (`undefined` or an empty
 *  text removes it). */
export function setPath<P extends FieldPath>(report: Report, path: P, value: PathValue<P> | undefined): Report {
  const [head, field] = path.split('.');
  const put = (o: Record<string, unknown>, key: string) => {
    const copy = { ...o };
    if (value === undefined || value === '') delete copy[key];
    else copy[key] = value;
    return copy;
  };
  const r = report as Record<string, unknown>;
  if (field === undefined) return put(r, head) as Report;
  return { ...report, [head]: put((r[head] as Record<string, unknown> | undefined) ?? {}, field) } as Report;
}

/** The step a field belongs to (the field path may carry an index, as in
 *  `strands[0]`). */
export function stepOf(field: string): number {
  const bare = field.replace(/\[\d+\]/g, '');
  const i = STEPS.findIndex((s) => s.fields.some((f) => bare === f || bare.startsWith(`${f}.`)));
  return i < 0 ? STEPS.length - 1 : i;
}

/** The problems that belong to step `n`. */
export function problemsOf(problems: FieldProblem[], n: number): FieldProblem[] {
  return problems.filter((p) => stepOf(p.field) === n);
}

/** The element id of a field's input (links in the error summary go there). */
export function inputId(field: string): string {
  return `f-${field.replace(/\[\d+\]/g, '').replace(/\./g, '-')}`;
}

/** Joins day, month and year fields into `YYYY-MM-DD` (or `undefined` while
 *  incomplete, so nothing half-typed is saved as a date). */
export function joinDate(day: string, month: string, year: string): string | undefined {
  const d = Number(day);
  const m = Number(month);
  const y = Number(year);
  if (!day || !month || year.length !== 4 || !Number.isInteger(d) || !Number.isInteger(m) || !Number.isInteger(y)) {
    return undefined;
  }
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Splits `YYYY-MM-DD` into day, month and year for the three fields. */
export function splitDate(iso: unknown): { day: string; month: string; year: string } {
  const m = typeof iso === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso) : null;
  return m ? { day: String(Number(m[3])), month: String(Number(m[2])), year: m[1] } : { day: '', month: '', year: '' };
}
