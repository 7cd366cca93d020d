import { describe, expect, it } from 'vitest';
import { periodOf } from '../../src/lib/period';

const today = new Date(2026, 10, 24); // 24 November 2026

describe('periodOf', () => {
  it('gives this month, quarter and year', () => {
    expect(periodOf('month', today, '', '')).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(periodOf('quarter', today, '', '')).toEqual({ from: '2026-10-01', to: '2026-12-31' });
    expect(periodOf('year', today, '', '')).toEqual({ from: '2026-01-01', to: '2026-12-31' });
    expect(periodOf('month', new Date(2024, 1, 10), '', '')).toEqual({ from: '2024-02-01', to: '2024-02-29' });
  });

  it('goes back whole periods, across the turn of a year', () => {
    expect(periodOf('month', today, '', '', 1)).toEqual({ from: '2026-10-01', to: '2026-10-31' });
    expect(periodOf('month', new Date(2026, 0, 15), '', '', 1)).toEqual({ from: '2025-12-01', to: '2025-12-31' });
    expect(periodOf('month', new Date(2026, 2, 31), '', '', 1)).toEqual({ from: '2026-02-01', to: '2026-02-28' });
    expect(periodOf('month', today, '', '', 23)).toEqual({ from: '2024-12-01', to: '2024-12-31' });
    expect(periodOf('quarter', today, '', '', 1)).toEqual({ from: '2026-07-01', to: '2026-09-30' });
    expect(periodOf('quarter', new Date(2026, 1, 1), '', '', 1)).toEqual({ from: '2025-10-01', to: '2025-12-31' });
    expect(periodOf('quarter', new Date(2026, 1, 1), '', '', 5)).toEqual({ from: '2024-10-01', to: '2024-12-31' });
    expect(periodOf('year', today, '', '', 2)).toEqual({ from: '2024-01-01', to: '2024-12-31' });
  });

  it('accepts custom dates in order, and refuses anything else', () => {
    expect(periodOf('custom', today, '2026-01-01', '2026-03-31')).toEqual({ from: '2026-01-01', to: '2026-03-31' });
    expect(periodOf('custom', today, '2026-03-31', '2026-01-01')).toBeNull();
    expect(periodOf('custom', today, '2026-1-1', '2026-03-31')).toBeNull();
    expect(periodOf('custom', today, '2026-02-30', '2026-03-31')).toBeNull();
    expect(periodOf('custom', today, '', '')).toBeNull();
  });
});
