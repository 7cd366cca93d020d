// The period a coordinator picks: a month, a quarter or a year (this one or
// one before it: reports to funders are usually of the period just ended),
// or custom dates (checked here so a wrong date never reaches the engine).
export type PeriodKind = 'month' | 'quarter' | 'year' | 'custom';

/** How far back the month, quarter and year lists go. */
export const CHOICES: Record<Exclude<PeriodKind, 'custom'>, number> = { month: 24, quarter: 12, year: 6 };

const iso = (d: Date) =>
  `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** First and last day of the period containing `today`, or `back` periods
 *  before it (or the custom dates). */
export function periodOf(
  kind: PeriodKind,
  today: Date,
  from: string,
  to: string,
  back = 0,
): { from: string; to: string } | null {
  const y = today.getFullYear();
  const m = today.getMonth();
  switch (kind) {
    case 'month':
      // Date rolls months below 0 into earlier years.
      return { from: iso(new Date(y, m - back, 1)), to: iso(new Date(y, m - back + 1, 0)) };
    case 'quarter': {
      const q = Math.floor(m / 3) * 3 - 3 * back;
      return { from: iso(new Date(y, q, 1)), to: iso(new Date(y, q + 3, 0)) };
    }
    case 'year':
      return { from: `${y - back}-01-01`, to: `${y - back}-12-31` };
    case 'custom': {
      // A real calendar day: Date.parse alone takes 2026-02-30 as 2 March.
      const ok = (s: string) => {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
        const d = new Date(`${s}T00:00:00Z`);
        return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
      };
      if (!ok(from) || !ok(to) || from > to) return null;
      return { from, to };
    }
  }
}
