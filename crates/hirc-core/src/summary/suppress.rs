//! Suppression that cannot be undone: which cells of one table are hidden.
//!
//! Words used here:
//! - **partition**: a table whose rows add up to its total (every report
//!   counts in exactly one row: month, location type, who reported…).
//! - **overlapping**: a table where a report counts in one row or more, at
//!   most once per row (strands, incident types). Its total is the number of
//!   distinct reports, so no row exceeds it and the rows add up to at least
//!   it.
//! - **pinned**: a hidden count that what is published allows only one value
//!   for.
//!
//! What a reader knows of a published table, and so what must not pin any
//! hidden count (the test in `super::tests` enumerates every completion under
//! exactly these rules):
//! - a number is exact;
//! - `<t` (primary suppression) is a count from 1 to t − 1;
//! - `[c]` (secondary suppression) is hidden: any count from 0 up;
//! - the rows of a partition add up to the total; the rows of an overlapping
//!   table each stay within the total and add up to at least it.
//!
//! Tables are linked to each other only through the total. The total is
//! shown whenever it is the threshold or more, so each table can be made
//! safe on its own. A total below the threshold is hidden, and then every
//! row of every table is hidden too (`[c]`): a summary of a handful of
//! reports says only that it is a handful.

use super::Cell;

/// How a table's rows relate to its total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Rows add up to the total.
    Partition,
    /// Rows each stay within the total and add up to at least it.
    Overlapping,
}

/// The published cells of one table (its rows, then its total).
pub(crate) fn suppress(
    counts: &[u64],
    total: u64,
    shape: Shape,
    threshold: u32,
) -> (Vec<Cell>, Cell) {
    let t = u64::from(threshold);
    let small = |n: u64| n > 0 && n < t;
    if small(total) {
        // "<2" can only mean 1, so with the lowest threshold even the total
        // is hidden outright.
        let total_cell = if t > 2 { Cell::Small } else { Cell::Secondary };
        let cells = counts
            .iter()
            .map(|_| {
                if counts.len() == 1 {
                    total_cell
                } else {
                    Cell::Secondary
                }
            })
            .collect();
        return (cells, total_cell);
    }
    let mut cells: Vec<Cell> = counts
        .iter()
        .map(|&n| {
            if small(n) {
                Cell::Small
            } else {
                Cell::Count(n)
            }
        })
        .collect();
    // A table of one row is the total itself.
    if counts.len() > 1 {
        while any_pinned(&cells, total, shape, t) {
            let Some(next) = next_to_hide(&cells) else {
                break;
            };
            cells[next] = Cell::Secondary;
        }
    }
    (cells, Cell::Count(total))
}

/// The cell to hide next: the smallest shown count that is not zero, else a
/// shown zero, else a `<t` cell (which then stops saying it is small).
fn next_to_hide(cells: &[Cell]) -> Option<usize> {
    let shown_non_zero = cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Cell::Count(n) if *n > 0 => Some((*n, i)),
            _ => None,
        })
        .min()
        .map(|(_, i)| i);
    shown_non_zero
        .or_else(|| cells.iter().position(|c| *c == Cell::Count(0)))
        .or_else(|| cells.iter().position(|c| *c == Cell::Small))
}

/// The range a reader can place a hidden cell in, before the table's own
/// constraint: `<t` is 1..=t−1, `[c]` is 0..=total.
fn bounds(cell: Cell, total: u64, t: u64) -> Option<(u64, u64)> {
    match cell {
        Cell::Count(_) => None,
        Cell::Small => Some((1, (t - 1).min(total))),
        Cell::Secondary => Some((0, total)),
    }
}

/// Whether what is shown pins any hidden cell to one value. The feasible
/// values of one cell under a single linear constraint and box bounds form
/// an interval, so the ends are enough.
fn any_pinned(cells: &[Cell], total: u64, shape: Shape, t: u64) -> bool {
    let shown: u64 = cells
        .iter()
        .map(|c| match c {
            Cell::Count(n) => *n,
            _ => 0,
        })
        .sum();
    let hidden: Vec<(u64, u64)> = cells.iter().filter_map(|c| bounds(*c, total, t)).collect();
    let (sum_lo, sum_hi) = hidden
        .iter()
        .fold((0u64, 0u64), |(a, b), (lo, hi)| (a + lo, b + hi));
    // What the hidden cells add up to: exactly (partition), or at least
    // (overlapping).
    let need = total.saturating_sub(shown);
    hidden.iter().any(|&(lo, hi)| {
        let others_lo = sum_lo - lo;
        let others_hi = sum_hi - hi;
        let low = lo.max(need.saturating_sub(others_hi));
        let high = match shape {
            Shape::Partition => hi.min(need.saturating_sub(others_lo)),
            Shape::Overlapping => hi,
        };
        low >= high
    })
}
