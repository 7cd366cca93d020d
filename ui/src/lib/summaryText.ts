// The engine labels a summary in English (what an English export says) and
// gives every row a key by meaning: a vocabulary word, a month (2026-11) or
// a fixed row (total, not_recorded…). On screen the same summary is shown
// in the interface's language, translated by those keys.
import type { Summary, SummaryRow, SummaryTable } from './api';
import { i18n, monthName, t, vocabLabel } from './i18n.svelte';

/** "2026-11" as [2026, 10], or null. */
export function monthOf(key: string): [number, number] | null {
  const m = /^(\d{4})-(\d{2})$/.exec(key);
  const month = m ? Number(m[2]) - 1 : -1;
  return m && month >= 0 && month < 12 ? [Number(m[1]), month] : null;
}

function rowLabel(table: SummaryTable, row: SummaryRow): string {
  if (table.vocabulary) {
    const shown = vocabLabel(table.vocabulary, row.key, '');
    if (shown) return shown;
  }
  const month = table.key === 'months' ? monthOf(row.key) : null;
  if (month) return monthName(month[0], month[1]);
  const fixed = `summaries.row.${row.key}`;
  const shown = t(fixed);
  return shown === fixed ? row.label : shown;
}

/** Short month names for the month chart's axis, in the interface language
 *  (a row that is not a month keeps the first three characters of its label). */
export function monthTicks(summary: Summary): string[] {
  void i18n.lang; // recomputed when the language changes
  const months = summary.tables.find((x) => x.key === 'months');
  return (months?.rows ?? []).map((r) => {
    const m = monthOf(r.key);
    return m ? monthName(m[0], m[1], true) : r.label.slice(0, 3);
  });
}

/** The summary with its titles and labels in the interface language
 *  (anything the interface has no words for stays as the engine wrote it). */
export function translated(summary: Summary): Summary {
  void i18n.lang; // recomputed when the language changes
  const table = (tb: SummaryTable): SummaryTable => {
    const titleKey = `summaries.table.${tb.key}`;
    const title = t(titleKey);
    return {
      ...tb,
      title: title === titleKey ? tb.title : title,
      rows: tb.rows.map((r) => ({ ...r, label: rowLabel(tb, r) })),
      total: { ...tb.total, label: rowLabel(tb, tb.total) },
    };
  };
  return { ...summary, tables: summary.tables.map(table) };
}
