import { describe, expect, it } from 'vitest';
import { STEPS, emptyReport, getPath, inputId, joinDate, problemsOf, setPath, splitDate, stepOf } from '../../src/lib/form';

describe('report paths', () => {
  it('sets and reads nested values without changing the original', () => {
    const r = emptyReport('pl');
    const r2 = setPath(r, 'consent.pass_to_police', 'no');
    expect(getPath(r2, 'consent.pass_to_police')).toBe('no');
    expect(getPath(r, 'consent.pass_to_police')).toBeUndefined();
    expect(r2.language_used).toBe('pl');
  });

  it('removes a value set to empty, so a cleared field is not saved as ""', () => {
    const r = setPath(setPath(emptyReport('en'), 'area', 'SS8'), 'area', '');
    expect('area' in r).toBe(false);
    expect(getPath(setPath(r, 'person.name', undefined), 'person.name')).toBeUndefined();
  });
});

describe('steps', () => {
  it('puts every field in exactly one step, review last', () => {
    const all = STEPS.flatMap((s) => s.fields);
    expect(new Set(all).size).toBe(all.length);
    expect(STEPS.at(-1)!.key).toBe('review');
    expect(STEPS.map((s) => s.key)).toEqual(['who', 'what', 'when', 'why', 'person', 'consent', 'evidence', 'review']);
  });

  it('finds the step of a field, indexed or nested', () => {
    expect(stepOf('reporter_role')).toBe(0);
    expect(stepOf('strands[1]')).toBe(3);
    expect(stepOf('person.email')).toBe(4);
    expect(stepOf('consent.police_may_contact')).toBe(5);
    expect(stepOf('something_unknown')).toBe(STEPS.length - 1);
  });

  it('splits problems by step, and names inputs as the error summary links them', () => {
    const problems = [
      { field: 'reporter_role', rule: 'reporter_role_missing', message: '' },
      { field: 'consent.pass_to_police', rule: 'anonymous_identified', message: '' },
    ];
    expect(problemsOf(problems, 5).map((p) => p.field)).toEqual(['consent.pass_to_police']);
    expect(inputId('consent.pass_to_police')).toBe('f-consent-pass_to_police');
    expect(inputId('strands[0]')).toBe('f-strands');
  });
});

describe('dates', () => {
  it('joins a real date, and nothing half typed or impossible', () => {
    expect(joinDate('2', '11', '2026')).toBe('2026-11-02');
    expect(joinDate('29', '2', '2024')).toBe('2024-02-29');
    expect(joinDate('29', '2', '2026')).toBeUndefined();
    expect(joinDate('31', '4', '2026')).toBeUndefined();
    expect(joinDate('2', '11', '202')).toBeUndefined();
    expect(joinDate('', '11', '2026')).toBeUndefined();
    expect(joinDate('x', '11', '2026')).toBeUndefined();
  });

  it('splits a stored date back into the three fields', () => {
    expect(splitDate('2026-03-07')).toEqual({ day: '7', month: '3', year: '2026' });
    expect(splitDate(undefined)).toEqual({ day: '', month: '', year: '' });
    expect(splitDate('7 March')).toEqual({ day: '', month: '', year: '' });
  });
});
