import { afterEach, describe, expect, it } from 'vitest';
import type { Summary, SummaryRow } from '../../src/lib/api';
import { setLang } from '../../src/lib/i18n.svelte';
import { monthOf, monthTicks, translated } from '../../src/lib/summaryText';

const row = (key: string, label: string, value: number): SummaryRow => ({ key, label, cell: { kind: 'count', value }, percent: null });
const summary: Summary = {
  centre_name: 'Castle Point CVS',
  centre_code: 'CP',
  options: { from: '2026-10-01', to: '2026-12-31', threshold: 5 },
  not_counted: 0,
  tables: [
    {
      key: 'strands',
      title: 'By strand',
      vocabulary: 'strands',
      rows: [row('race_ethnicity', 'Race or ethnicity', 9), row('a_later_strand', 'A strand added later', 6)],
      total: row('distinct', 'Distinct reports', 15),
      overlapping: true,
    },
    { key: 'months', title: 'By month', vocabulary: null, rows: [row('2026-11', 'November 2026', 15)], total: row('total', 'Total', 15), overlapping: false },
    { key: 'a_new_breakdown', title: 'A new breakdown', vocabulary: null, rows: [row('yes', 'Yes', 15)], total: row('total', 'Total', 15), overlapping: false },
  ],
};

afterEach(() => setLang('en'));

describe('translated summaries', () => {
  it('shows titles, vocabulary, months and fixed rows in the interface language', () => {
    setLang('pl');
    const [strands, months, other] = translated(summary).tables;
    expect(strands.title).toBe('Według przesłanki');
    expect(strands.rows.map((r) => r.label)).toEqual(['Rasa lub pochodzenie etniczne', 'A strand added later']);
    expect(strands.total.label).toBe('Zgłoszenia (bez powtórzeń)');
    expect(months.rows[0].label).toMatch(/^listopad 2026$/);
    // Unknown to the interface: left as the engine wrote it.
    expect(other.title).toBe('A new breakdown');
    expect(other.rows[0].label).toBe('Tak');
  });

  it('never changes a number', () => {
    setLang('ur');
    const shown = translated(summary);
    expect(shown.tables.map((t) => t.rows.map((r) => r.cell))).toEqual(summary.tables.map((t) => t.rows.map((r) => r.cell)));
    expect(shown.options).toEqual(summary.options);
  });

  it('reads months from their keys, not their English labels', () => {
    expect(monthOf('2026-11')).toEqual([2026, 10]);
    expect(monthOf('2027-01')).toEqual([2027, 0]);
    expect(monthOf('November 2026')).toBeNull();
    expect(monthOf('2026-13')).toBeNull();
  });

  it('names the month chart’s ticks in the interface language', () => {
    expect(monthTicks(summary)).toEqual(['Nov']);
    setLang('pl');
    expect(monthTicks(summary)[0]).toMatch(/^lis/);
    const unknown = { ...summary, tables: [{ ...summary.tables[1], rows: [row('later', 'Later', 3)] }] };
    expect(monthTicks(unknown)).toEqual(['Lat']);
    expect(monthTicks({ ...summary, tables: [] })).toEqual([]);
  });
});
