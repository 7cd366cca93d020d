// The engine labels a summary in English: exports leave the building for
// the partnership, in its language. On screen the same summary is shown in
// the interface's language; this maps the engine's labels back to the
// vocabulary's values (or to the few fixed rows) and translates them.
import type { Summary, SummaryRow, SummaryTable, Vocabulary } from './api';
import { i18n, monthName, t, vocabLabel } from './i18n.svelte';

/** The vocabulary list each breakdown counts. */
const LIST_OF: Record<string, string> = {
  strands: 'strands',
  incident_types: 'incident_types',
  location_types: 'location_type',
  reporter_roles: 'reporter_role',
  pass_to_police: 'pass_to_police',
};

/** The rows every summary may have that are not vocabulary. */
const FIXED: Record<string, string> = {
  'All reports': 'all',
  Total: 'total',
  'Distinct reports': 'distinct',
  'Not recorded': 'not_recorded',
  Yes: 'yes',
  No: 'no',
  Delivered: 'delivered',
  Waiting: 'waiting',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "November 2026" as [2026, 10], or null. */
export function monthOf(label: string): [number, number] | null {
  const m = /^([A-Z][a-z]+) (\d{4})$/.exec(label);
  const month = m ? MONTHS.indexOf(m[1]) : -1;
  return m && month >= 0 ? [Number(m[2]), month] : null;
}

function rowLabel(table: string, label: string, vocab: Vocabulary): string {
  const list = LIST_OF[table];
  const choice = list ? vocab[list]?.find((c) => c.label === label) : undefined;
  if (list && choice) return vocabLabel(list, choice.value, label);
  const month = table === 'months' ? monthOf(label) : null;
  if (month) return monthName(month[0], month[1]);
  return label in FIXED ? t(`summaries.row.${FIXED[label]}`) : label;
}

/** Short month names for the month chart's axis, in the interface language
 *  (a label not recognised as a month keeps its first three characters). */
export function monthTicks(summary: Summary): string[] {
  void i18n.lang; // recomputed when the language changes
  const months = summary.tables.find((x) => x.key === 'months');
  return (months?.rows ?? []).map((r) => {
    const m = monthOf(r.label);
    return m ? monthName(m[0], m[1], true) : r.label.slice(0, 3);
  });
}

/** The summary with its titles and labels in the interface language
 *  (anything not recognised stays as the engine wrote it). */
export function translated(summary: Summary, vocab: Vocabulary): Summary {
  void i18n.lang; // recomputed when the language changes
  const row = (key: string, r: SummaryRow): SummaryRow => ({ ...r, label: rowLabel(key, r.label, vocab) });
  const table = (tb: SummaryTable): SummaryTable => {
    const titleKey = `summaries.table.${tb.key}`;
    const title = t(titleKey);
    return {
      ...tb,
      title: title === titleKey ? tb.title : title,
      rows: tb.rows.map((r) => row(tb.key, r)),
      total: row(tb.key, tb.total),
    };
  };
  return { ...summary, tables: summary.tables.map(table) };
}
