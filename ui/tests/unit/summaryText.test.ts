import { afterEach, describe, expect, it } from 'vitest';
import type { Summary, SummaryRow } from '../../src/lib/api';
import { setLang } from '../../src/lib/i18n.svelte';
import { monthOf, monthTicks, translated } from '../../src/lib/summaryText';

const row = (label: string, value: number): SummaryRow => ({ label, cell: { kind: 'count', value }, percent: null });
const vocab = {
  strands: [
    { value: 'race_ethnicity', label: 'Race or ethnicity' },
    { value: 'disability', label: 'Disability' },
  ],
};
const summary: Summary = {
  centre_name: 'Castle Point CVS',
  centre_code: 'CP',
  options: { from: '2026-10-01', to: '2026-12-31', threshold: 5 },
  tables: [
    { key: 'strands', title: 'By strand', rows: [row('Race or ethnicity', 9), row('A strand added later', 6)], total: row('Distinct reports', 15), overlapping: true },
    { key: 'months', title: 'By month', rows: [row('November 2026', 15)], total: row('Total', 15), overlapping: false },
    { key: 'a_new_breakdown', title: 'A new breakdown', rows: [row('Yes', 15)], total: row('Total', 15), overlapping: false },
  ],
};

afterEach(() => setLang('en'));

describe('translated summaries', () => {
  it('shows titles, vocabulary, months and fixed rows in the interface language', () => {
    setLang('pl');
    const [strands, months, other] = translated(summary, vocab).tables;
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
    const shown = translated(summary, vocab);
    expect(shown.tables.map((t) => t.rows.map((r) => r.cell))).toEqual(summary.tables.map((t) => t.rows.map((r) => r.cell)));
    expect(shown.options).toEqual(summary.options);
  });

  it('reads the engine’s month labels', () => {
    expect(monthOf('November 2026')).toEqual([2026, 10]);
    expect(monthOf('January 2027')).toEqual([2027, 0]);
    expect(monthOf('2026-11')).toBeNull();
    expect(monthOf('Smarch 2026')).toBeNull();
  });

  it('names the month chart’s ticks in the interface language', () => {
    expect(monthTicks(summary)).toEqual(['Nov']);
    setLang('pl');
    expect(monthTicks(summary)[0]).toMatch(/^lis/);
    const unknown = { ...summary, tables: [{ ...summary.tables[1], rows: [row('2026-11', 3)] }] };
    expect(monthTicks(unknown)).toEqual(['202']);
    expect(monthTicks({ ...summary, tables: [] })).toEqual([]);
  });
});
