// The report form's steps (DOMAIN.md's groups) and the helpers that read
// and write the report object, which has the JSON shape of report v1.
import type { FieldProblem, Report } from './api';

export interface Step {
  key: string;
  /** The JSON paths this step asks about (for the error summary). */
  fields: string[];
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
  { key: 'review', fields: [] },
];

/** A new, empty report. */
export function emptyReport(language: string): Report {
  return { strands: [], incident_types: [], support_needs: [], person: {}, consent: {}, language_used: language };
}

/** The value at a dotted path. */
export function getPath(report: Report, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Report)[k] : undefined), report);
}

/** A copy of `report` with the value at `path` set (`undefined` removes it). */
export function setPath(report: Report, path: string, value: unknown): Report {
  const [head, ...rest] = path.split('.');
  const copy: Report = { ...report };
  if (rest.length === 0) {
    if (value === undefined || value === '') delete copy[head];
    else copy[head] = value;
  } else {
    copy[head] = setPath((report[head] as Report) ?? {}, rest.join('.'), value);
  }
  return copy;
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
