//! Summaries' tests: known numbers, suppression that pins nothing, the
//! exports holding the same numbers.

use std::collections::BTreeSet;

use super::*;

#[test]
fn named_periods() {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
    assert_eq!(
        period_bounds("2026-02").ok(),
        Some((d(2026, 2, 1), d(2026, 2, 28)))
    );
    assert_eq!(
        period_bounds("2024-02").ok(),
        Some((d(2024, 2, 1), d(2024, 2, 29)))
    );
    assert_eq!(
        period_bounds("2026-q4").ok(),
        Some((d(2026, 10, 1), d(2026, 12, 31)))
    );
    assert_eq!(
        period_bounds("2026-Q1").ok(),
        Some((d(2026, 1, 1), d(2026, 3, 31)))
    );
    assert_eq!(
        period_bounds("2026").ok(),
        Some((d(2026, 1, 1), d(2026, 12, 31)))
    );
    for bad in [
        "",
        "26",
        "2026-13",
        "2026-Q5",
        "2026-Q0",
        "March",
        "2026-03-01",
    ] {
        assert!(period_bounds(bad).is_err(), "{bad}");
    }
}

fn record(day: u32, strands: &[Strand], types: &[IncidentType], delivered: bool) -> SummaryRecord {
    SummaryRecord {
        taken_on: NaiveDate::from_ymd_opt(2026, 1 + (day / 31), 1 + (day % 28)).expect("date"),
        delivered,
        facts: ReportFacts {
            reporter_role: Some(ReporterRole::Victim),
            strands: strands.to_vec(),
            incident_types: types.to_vec(),
            location_type: Some(LocationType::StreetOrPublicPlace),
            already_reported: Some(false),
            pass_to_police: Some(PassToPolice::AnonymousOnly),
            refer_to_support: Some(true),
            ..ReportFacts::default()
        },
    }
}

pub(crate) fn options(threshold: u32) -> SummaryOptions {
    SummaryOptions {
        from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2026, 3, 31).expect("date"),
        threshold,
    }
}

/// A data set with known counts: 23 reports in the period, one outside.
pub(crate) fn data() -> Vec<SummaryRecord> {
    use IncidentType::*;
    use Strand::*;
    let mut v = Vec::new();
    for i in 0..12 {
        v.push(record(i, &[RaceEthnicity], &[VerbalAbuse], true));
    }
    for i in 0..6 {
        v.push(record(
            31 + i,
            &[RaceEthnicity, ReligionBelief],
            &[VerbalAbuse, Threats],
            i < 3,
        ));
    }
    for i in 0..3 {
        v.push(record(62 + i, &[Disability], &[Harassment], false));
    }
    v.push(record(70, &[SexualOrientation], &[PhysicalAssault], true));
    // One witness among victims: a single small cell, so the next one is
    // suppressed too.
    v[21].facts.reporter_role = Some(ReporterRole::Witness);
    v.push(record(
        71,
        &[TransgenderIdentity, Disability],
        &[OnlineAbuse],
        true,
    ));
    v.push(SummaryRecord {
        taken_on: NaiveDate::from_ymd_opt(2026, 4, 2).expect("date"),
        ..record(0, &[Age], &[Graffiti], true)
    });
    v
}

#[test]
fn the_numbers_match_a_known_data_set() {
    let s = summarise("Castle Point CVS", "CP", &data(), options(5));
    let csv = to_csv(&s, &Wording::english());
    let golden = include_str!("../../tests/data/summary-golden.csv");
    assert_eq!(
        csv.replace("\r\n", "\n"),
        golden.replace("\r\n", "\n"),
        "CSV:\n{csv}"
    );
}

#[test]
fn cells_at_and_around_the_threshold() {
    for (n, shown) in [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (6, "6")] {
        let counts = vec![("a".to_string(), n), ("b".to_string(), 20)];
        let t = table("t", "t", labelled(counts), n + 20, false, 5);
        // When "a" is small, "b" must go too: the total would give "a" away.
        let a = t.rows[0].cell.text(5);
        assert_eq!(a, shown, "{n}");
        if (1..5).contains(&n) {
            assert_eq!(t.rows[1].cell, Cell::Secondary);
        } else {
            assert_eq!(t.rows[1].cell, Cell::Count(20));
        }
    }
    let empty = summarise("C", "CP", &[], options(5));
    assert!(
        empty.tables.iter().all(|t| t.total.cell == Cell::Count(0)),
        "an empty period is all zeros"
    );
}

/// Every value each hidden row (and a hidden total) can take, given only
/// what is published, under the reader's rules in `suppress`'s header:
/// for every total the reader cannot rule out, every completion of the
/// hidden rows is enumerated through the sums the rows before and after
/// a row can make. Written from the reader's side, without the interval
/// reasoning `suppress` uses, so each checks the other.
fn readers_options(
    rows: &[Cell],
    total: Cell,
    shape: suppress::Shape,
    threshold: u64,
    cap: u64,
) -> (Vec<BTreeSet<u64>>, BTreeSet<u64>) {
    let totals: Vec<u64> = match total {
        Cell::Count(n) => vec![n],
        Cell::Small => (1..threshold).collect(),
        Cell::Secondary => (0..=cap).collect(),
    };
    let mut row_values = vec![BTreeSet::new(); rows.len()];
    let mut total_values = BTreeSet::new();
    for &t in &totals {
        let ranges: Vec<Vec<u64>> = rows
            .iter()
            .map(|c| match c {
                Cell::Count(n) => vec![*n],
                Cell::Small => (1..threshold).filter(|v| *v <= t).collect(),
                Cell::Secondary => (0..=t).collect(),
            })
            .collect();
        let sums = |rs: &[Vec<u64>]| {
            rs.iter().fold(BTreeSet::from([0u64]), |acc, r| {
                acc.iter()
                    .flat_map(|s| r.iter().map(move |v| s + v))
                    .collect()
            })
        };
        let n = rows.len();
        let mut total_possible = false;
        for i in 0..n {
            let before = sums(&ranges[..i]);
            let after = sums(&ranges[i + 1..]);
            let most_after = after.last().copied().unwrap_or(0);
            for &v in &ranges[i] {
                let completes = before.iter().any(|a| match shape {
                    suppress::Shape::Partition => a + v <= t && after.contains(&(t - a - v)),
                    suppress::Shape::Overlapping => a + v + most_after >= t,
                });
                if completes {
                    row_values[i].insert(v);
                    total_possible = true;
                }
            }
        }
        if total_possible {
            total_values.insert(t);
        }
    }
    (row_values, total_values)
}

/// The reader's check of one published table: every hidden count has
/// more than one possible value, and every shown count is true.
fn assert_nothing_pinned(
    counts: &[u64],
    total: u64,
    shape: suppress::Shape,
    threshold: u32,
) -> usize {
    let (rows, total_cell) = suppress::suppress(counts, total, shape, threshold);
    let cap = total + u64::from(threshold) + 2;
    let (options, totals) = readers_options(&rows, total_cell, shape, u64::from(threshold), cap);
    let shown = format!(
        "{counts:?} (total {total}, {shape:?}, threshold {threshold}) -> {rows:?}, {total_cell:?}"
    );
    let mut hidden = 0;
    for (i, cell) in rows.iter().enumerate() {
        match cell {
            Cell::Count(n) => assert_eq!(*n, counts[i], "{shown}"),
            _ => {
                hidden += 1;
                assert!(
                    options[i].contains(&counts[i]),
                    "the truth must be a completion: {shown}"
                );
                assert!(
                    options[i].len() > 1,
                    "row {i} can only be {:?}: {shown}",
                    options[i]
                );
            }
        }
    }
    match total_cell {
        Cell::Count(n) => assert_eq!(n, total, "{shown}"),
        _ => assert!(
            totals.len() > 1,
            "the total can only be {totals:?}: {shown}"
        ),
    }
    hidden
}

#[test]
fn no_hidden_count_can_be_pinned_by_what_is_published() {
    // The cases found by hand first: 10, 1, 1 under a total of 12, and
    // 4 and 4 under a total of 8.
    use suppress::Shape::{Overlapping, Partition};
    assert_nothing_pinned(&[10, 1, 1], 12, Partition, 5);
    assert_nothing_pinned(&[4, 4], 8, Partition, 5);
    assert_nothing_pinned(&[4, 4, 0], 8, Partition, 5);
    assert_nothing_pinned(&[1, 1, 1, 1, 1, 0], 5, Partition, 5);
    // Race 10 and religion 4 among 14 distinct reports: religion must
    // be at least 4, so "<5" would say exactly 4.
    assert_nothing_pinned(&[10, 4, 0], 14, Overlapping, 5);

    // Thousands of random tables of both shapes and several thresholds,
    // mostly small counts (where suppression bites).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let (mut tables, mut hidden) = (0, 0);
    for round in 0..6_000 {
        let threshold = [2, 3, 5, 5, 5, 7, 10][next(7) as usize];
        let rows = 2 + next(7) as usize;
        let big = round % 5 == 0;
        if round % 2 == 0 {
            let counts: Vec<u64> = (0..rows)
                .map(|_| if big { next(30) } else { next(7) })
                .collect();
            let total = counts.iter().sum();
            hidden += assert_nothing_pinned(&counts, total, Partition, threshold);
        } else {
            // Reports, each in one row or more.
            let reports = next(if big { 30 } else { 12 });
            let mut counts = vec![0u64; rows];
            for _ in 0..reports {
                let first = next(rows as u64) as usize;
                counts[first] += 1;
                for (j, c) in counts.iter_mut().enumerate() {
                    if j != first && next(4) == 0 {
                        *c += 1;
                    }
                }
            }
            hidden += assert_nothing_pinned(&counts, reports, Overlapping, threshold);
        }
        tables += 1;
    }
    assert!(
        hidden > tables,
        "the tables really had hidden counts ({hidden})"
    );
}

#[test]
fn a_summary_of_a_handful_hides_every_row() {
    let records: Vec<SummaryRecord> = data().into_iter().take(3).collect();
    let s = summarise("C", "CP", &records, options(5));
    for table in &s.tables {
        assert_eq!(table.total.cell, Cell::Small, "{}", table.key);
        if table.rows.len() > 1 {
            assert!(
                table.rows.iter().all(|r| r.cell == Cell::Secondary),
                "{}: {:?}",
                table.key,
                table.rows
            );
        }
    }
}

#[test]
fn the_workbook_holds_the_same_numbers_as_the_csv() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let summary = summarise("Castle Point CVS", "CP", &data(), options(5));
    let bytes = to_xlsx(&summary, &Wording::english()).expect("workbook");
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("opens");
    let names = book.sheet_names();
    assert_eq!(names[0], "Notes");
    assert_eq!(names.len(), 1 + summary.tables.len());
    let notes = book.worksheet_range("Notes").expect("notes");
    let note = notes
        .get_value((3, 1))
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(note.contains("shown as <5"), "{note}");
    let mut compared = 0;
    for line in to_csv(&summary, &Wording::english()).lines().skip(1) {
        let cells = parse_csv_line(line);
        if cells[0] == "About" {
            continue;
        }
        let sheet = book
            .worksheet_range(&cells[0])
            .expect("a sheet per breakdown");
        let row = sheet
            .rows()
            .find(|r| r.first().map(|d| d.to_string()).as_deref() == Some(cells[1].as_str()))
            .unwrap_or_else(|| panic!("{} has no row {}", cells[0], cells[1]));
        let count = match &row[1] {
            Data::Float(f) => format!("{f}"),
            Data::Int(i) => i.to_string(),
            other => other.to_string(),
        };
        assert_eq!(count, cells[2], "{} / {}", cells[0], cells[1]);
        compared += 1;
    }
    assert!(compared > 50, "compared {compared} cells");
}

/// RFC 4180 fields of one line (quotes, doubled quotes, commas inside).
fn parse_csv_line(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[test]
fn every_row_is_keyed_by_meaning() {
    let s = summarise("C", "CP", &data(), options(5));
    let by = |key: &str| {
        s.tables
            .iter()
            .find(|t| t.key == key)
            .unwrap_or_else(|| panic!("no {key} table"))
    };
    let keys = |key: &str| -> Vec<String> { by(key).rows.iter().map(|r| r.key.clone()).collect() };
    let strands: Vec<String> = Strand::ALL.iter().map(|s| s.as_str().to_string()).collect();
    assert_eq!(keys("strands"), strands);
    assert_eq!(by("strands").vocabulary, Some("strands"));
    assert_eq!(by("strands").total.key, "distinct");
    assert_eq!(keys("reports"), ["all"]);
    assert_eq!(by("reports").total.key, "total");
    assert!(
        keys("months")
            .iter()
            .all(|k| k.len() == 7 && k.as_bytes()[4] == b'-')
    );
    assert_eq!(
        keys("months")[0],
        options(5).from.format("%Y-%m").to_string()
    );
    assert_eq!(keys("already_reported"), ["yes", "no", "not_recorded"]);
    assert_eq!(
        keys("location_types").last().map(String::as_str),
        Some("not_recorded")
    );
    assert_eq!(by("location_types").vocabulary, Some("location_type"));
    assert_eq!(keys("upload"), ["delivered", "waiting"]);
    assert_eq!(by("upload").vocabulary, None);
}

/// Rows keyed by their label.
fn labelled(counts: Vec<(String, u64)>) -> Vec<Counted> {
    counts.into_iter().map(|(l, n)| (l.clone(), l, n)).collect()
}

#[test]
fn percentages_need_a_base_of_ten() {
    let t = table(
        "t",
        "t",
        labelled(vec![("a".into(), 6), ("b".into(), 3)]),
        9,
        false,
        2,
    );
    assert!(t.rows.iter().all(|r| r.percent.is_none()));
    let t = table(
        "t",
        "t",
        labelled(vec![("a".into(), 6), ("b".into(), 4)]),
        10,
        false,
        2,
    );
    assert_eq!(t.rows[0].percent, Some(60));
}
