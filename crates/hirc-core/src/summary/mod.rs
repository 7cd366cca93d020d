//! Safe-to-share summaries: counts of submitted reports in a period, by
//! strand, type, month and more, with small numbers suppressed (DOMAIN.md,
//! "Summaries").
//!
//! - **Primary suppression**: a count from 1 to `threshold - 1` is shown as
//!   `<threshold` (default `<5`); zero is shown as 0.
//! - **Secondary suppression**: wherever what is shown (the other cells, the
//!   total, the distinct count) would pin a hidden count to one value, more
//!   cells are hidden (shown `[c]`, which may stand for any count) until no
//!   hidden count can be worked out (the rules are in `suppress`). A total
//!   below the threshold hides every row.
//! - Percentages are shown only where the total is 10 or more, and never
//!   for a suppressed cell.
//!
//! Summaries read only the encrypted facts (closed-list answers), so they
//! never touch names, contacts, descriptions or free text, and purged
//! reports still count.

mod pdf;
mod suppress;

pub use pdf::to_pdf;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::desk::{Desk, Session, require_coordinator};
use crate::error::{Error, Result};
use crate::model::{
    IncidentType, LocationType, PassToPolice, ReportFacts, ReportState, ReporterRole, Strand,
};

/// The default suppression threshold (counts below it are hidden).
pub const DEFAULT_THRESHOLD: u32 = 5;
/// Percentages need a total at least this large.
pub const MIN_PERCENT_BASE: u64 = 10;
/// Periods longer than this many months list only months with reports.
const MAX_LISTED_MONTHS: usize = 36;

/// The first and last day of a named period: a month (`2026-03`), a
/// quarter (`2026-Q1`) or a year (`2026`).
pub fn period_bounds(text: &str) -> Result<(NaiveDate, NaiveDate)> {
    let bad = || {
        Error::InvalidInput(format!(
            "`{text}` is not a period: write a month (2026-03), a quarter (2026-Q1) or a year (2026)"
        ))
    };
    let text = text.trim();
    let (year, first, last) = match text.split_once('-') {
        None => (text, 1, 12),
        Some((y, q)) if q.len() == 2 && q.to_ascii_uppercase().starts_with('Q') => {
            let q: u32 = q[1..].parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) {
                return Err(bad());
            }
            (y, q * 3 - 2, q * 3)
        }
        Some((y, m)) => {
            let m: u32 = m.parse().map_err(|_| bad())?;
            (y, m, m)
        }
    };
    if year.len() != 4 {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let from = NaiveDate::from_ymd_opt(year, first, 1).ok_or_else(bad)?;
    let next = if last == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, last + 1, 1)
    };
    let to = next.and_then(|d| d.pred_opt()).ok_or_else(bad)?;
    Ok((from, to))
}

/// What a summary covers and how it is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SummaryOptions {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Counts from 1 to `threshold - 1` are suppressed.
    pub threshold: u32,
}

/// One submitted report, as a summary sees it.
#[derive(Debug, Clone)]
pub struct SummaryRecord {
    /// The day it was taken at the desk.
    pub taken_on: NaiveDate,
    /// Whether the hub's receipt is stored (or it has since been purged).
    pub delivered: bool,
    /// Its closed-list answers.
    pub facts: ReportFacts,
}

/// A count as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Cell {
    /// Shown as it is.
    Count(u64),
    /// Hidden because it is small.
    Small,
    /// Hidden so that a small count cannot be worked out from the total.
    Secondary,
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// What is counted, by meaning, for translations and charts: the
    /// vocabulary's word (`race_ethnicity`), the month (`2026-11`), or one
    /// of `all`, `total`, `distinct`, `not_recorded`, `yes`, `no`,
    /// `delivered`, `waiting`.
    pub key: String,
    /// What is counted, in English.
    pub label: String,
    /// The count.
    pub cell: Cell,
    /// The share of the total, where it may be shown.
    pub percent: Option<u64>,
}

/// One breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// A stable name for the breakdown (`strands`, `incident_types`,
    /// `months`, …), for charts and translations.
    pub key: &'static str,
    /// Its title.
    pub title: String,
    /// The value list its rows' keys come from (`strands`,
    /// `location_type`, …, as in the report format), where they do.
    pub vocabulary: Option<&'static str>,
    /// Its rows.
    pub rows: Vec<Row>,
    /// The total row (distinct reports).
    pub total: Row,
    /// Whether a report can count in several rows.
    pub overlapping: bool,
}

/// A whole summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The centre's name.
    pub centre_name: String,
    /// The centre's code.
    pub centre_code: String,
    /// Period and threshold.
    pub options: SummaryOptions,
    /// The breakdowns, in DOMAIN.md's order.
    pub tables: Vec<Table>,
    /// Reports taken in the period that could not be read (set aside) and
    /// so are not counted.
    pub not_counted: u64,
}

impl Summary {
    /// Said when reports in the period could not be read (set aside).
    pub fn not_counted_note(&self) -> Option<String> {
        (self.not_counted > 0).then(|| {
            format!(
                "{} report(s) taken in this period could not be read (set aside on the desk for a coordinator) and are not counted here.",
                self.not_counted
            )
        })
    }

    /// The statement every export carries.
    pub fn suppression_note(&self) -> String {
        let t = self.options.threshold;
        format!(
            "Small numbers are suppressed: counts from 1 to {} are shown as <{t}. Where the other numbers or a total would let a hidden count be worked out, more counts are hidden, shown as [c] (a [c] may stand for any count, 0 included). Percentages are shown only where the total is {MIN_PERCENT_BASE} or more.",
            t.saturating_sub(1)
        )
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Count(n) => write!(f, "{n}"),
            Cell::Small => f.write_str("<"),
            Cell::Secondary => f.write_str("[c]"),
        }
    }
}

impl Cell {
    /// The published text, with the threshold for `<`.
    pub fn text(&self, threshold: u32) -> String {
        match self {
            Cell::Small => format!("<{threshold}"),
            other => other.to_string(),
        }
    }
}

impl Desk {
    /// Summarises submitted reports taken in the period (coordinators only).
    /// A threshold below the default is allowed but recorded in the audit
    /// log.
    pub fn summary(&mut self, s: &Session, options: SummaryOptions) -> Result<Summary> {
        self.check_session(s)?;
        require_coordinator(s, "making summaries")?;
        if options.from > options.to {
            return Err(Error::InvalidInput(
                "the period ends before it starts".into(),
            ));
        }
        if !(2..=100).contains(&options.threshold) {
            return Err(Error::InvalidInput(
                "the suppression threshold must be between 2 and 100".into(),
            ));
        }
        if options.threshold < DEFAULT_THRESHOLD {
            let user = s.user().name.clone();
            self.write(|tx| {
                crate::audit::append(
                    tx,
                    Some(&user),
                    crate::audit::AuditAction::SettingChanged,
                    Some("summary_threshold"),
                    Some(&format!(
                        "{} (below the default {DEFAULT_THRESHOLD})",
                        options.threshold
                    )),
                )
            })?;
        }
        let (records, not_counted) = self.summary_records(s, options.from, options.to)?;
        let mut summary = summarise(
            &self.info().centre_name,
            &self.info().centre_code,
            &records,
            options,
        );
        summary.not_counted = not_counted;
        Ok(summary)
    }
}

/// Builds the summary from records (pure: no store, no keys).
pub fn summarise(
    centre_name: &str,
    centre_code: &str,
    records: &[SummaryRecord],
    options: SummaryOptions,
) -> Summary {
    let in_period: Vec<&SummaryRecord> = records
        .iter()
        .filter(|r| r.taken_on >= options.from && r.taken_on <= options.to)
        .collect();
    let total = in_period.len() as u64;
    let t = options.threshold;
    let one = |key: &'static str, title: &str, counts: Vec<Counted>| {
        table(key, title, counts, total, false, t)
    };
    let many = |key: &'static str, title: &str, counts: Vec<Counted>| {
        table(key, title, counts, total, true, t)
    };
    let listed = |list: &'static str, table: Table| Table {
        vocabulary: Some(list),
        ..table
    };

    let count_by = |items: &[Item], key: &dyn Fn(&SummaryRecord) -> Vec<usize>| -> Vec<Counted> {
        let mut counts = vec![0u64; items.len()];
        for r in &in_period {
            for i in key(r) {
                counts[i] += 1;
            }
        }
        items
            .iter()
            .zip(counts)
            .map(|(&(key, label), n)| (key.to_string(), label.to_string(), n))
            .collect()
    };
    let index_of = |all: &[Item], word: &str| all.iter().position(|(w, _)| *w == word);
    let not_recorded: Item = ("not_recorded", "Not recorded");

    let strands: Vec<Item> = Strand::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect();
    let types: Vec<Item> = IncidentType::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect();
    let places: Vec<Item> = LocationType::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .chain([not_recorded])
        .collect();
    let roles: Vec<Item> = ReporterRole::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .chain([not_recorded])
        .collect();
    let police: Vec<Item> = PassToPolice::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .chain([not_recorded])
        .collect();
    let yes_no = [("yes", "Yes"), ("no", "No"), not_recorded];
    let yn = |v: Option<bool>| {
        vec![match v {
            Some(true) => 0,
            Some(false) => 1,
            None => 2,
        }]
    };

    let mut tables = vec![one(
        "reports",
        "Reports",
        vec![("all".into(), "All reports".into(), total)],
    )];
    tables.push(listed(
        "strands",
        many(
            "strands",
            "By strand",
            count_by(&strands, &|r| {
                r.facts
                    .strands
                    .iter()
                    .filter_map(|s| index_of(&strands, s.as_str()))
                    .collect()
            }),
        ),
    ));
    tables.push(listed(
        "incident_types",
        many(
            "incident_types",
            "By incident type",
            count_by(&types, &|r| {
                r.facts
                    .incident_types
                    .iter()
                    .filter_map(|s| index_of(&types, s.as_str()))
                    .collect()
            }),
        ),
    ));
    tables.push(one("months", "By month", months(&in_period, options)));
    tables.push(listed(
        "location_type",
        one(
            "location_types",
            "By location type",
            count_by(&places, &|r| {
                vec![r.facts.location_type.map_or(places.len() - 1, |p| {
                    index_of(&places, p.as_str()).unwrap_or(0)
                })]
            }),
        ),
    ));
    tables.push(listed(
        "reporter_role",
        one(
            "reporter_roles",
            "By who reported",
            count_by(&roles, &|r| {
                vec![r.facts.reporter_role.map_or(roles.len() - 1, |p| {
                    index_of(&roles, p.as_str()).unwrap_or(0)
                })]
            }),
        ),
    ));
    tables.push(one(
        "already_reported",
        "Already reported to the police",
        count_by(&yes_no, &|r| yn(r.facts.already_reported)),
    ));
    tables.push(listed(
        "pass_to_police",
        one(
            "pass_to_police",
            "Consent to pass to the police",
            count_by(&police, &|r| {
                vec![r.facts.pass_to_police.map_or(police.len() - 1, |p| {
                    index_of(&police, p.as_str()).unwrap_or(0)
                })]
            }),
        ),
    ));
    tables.push(one(
        "refer_to_support",
        "Referred to support",
        count_by(&yes_no, &|r| yn(r.facts.refer_to_support)),
    ));
    tables.push(one(
        "upload",
        "Upload to the partnership",
        count_by(
            &[("delivered", "Delivered"), ("waiting", "Waiting")],
            &|r| vec![if r.delivered { 0 } else { 1 }],
        ),
    ));
    Summary {
        centre_name: centre_name.into(),
        centre_code: centre_code.into(),
        options,
        tables,
        not_counted: 0,
    }
}

/// A row to count: its key and its English label.
type Item = (&'static str, &'static str);
/// A counted row: key, English label, count.
type Counted = (String, String, u64);

fn months(records: &[&SummaryRecord], options: SummaryOptions) -> Vec<Counted> {
    let mut counts: BTreeMap<(i32, u32), u64> = BTreeMap::new();
    let mut month = (options.from.year(), options.from.month());
    let last = (options.to.year(), options.to.month());
    let mut all = Vec::new();
    while month <= last {
        all.push(month);
        month = if month.1 == 12 {
            (month.0 + 1, 1)
        } else {
            (month.0, month.1 + 1)
        };
    }
    for r in records {
        *counts
            .entry((r.taken_on.year(), r.taken_on.month()))
            .or_default() += 1;
    }
    let listed: Vec<(i32, u32)> = if all.len() <= MAX_LISTED_MONTHS {
        all
    } else {
        counts.keys().copied().collect()
    };
    listed
        .into_iter()
        .map(|(y, m)| {
            let label = NaiveDate::from_ymd_opt(y, m, 1)
                .map_or_else(|| format!("{y}-{m:02}"), |d| d.format("%B %Y").to_string());
            (
                format!("{y}-{m:02}"),
                label,
                counts.get(&(y, m)).copied().unwrap_or(0),
            )
        })
        .collect()
}

/// Applies primary and secondary suppression ([`suppress`]) and
/// percentages to one table.
fn table(
    key: &'static str,
    title: &str,
    counts: Vec<Counted>,
    total: u64,
    overlapping: bool,
    threshold: u32,
) -> Table {
    let shape = if overlapping {
        suppress::Shape::Overlapping
    } else {
        suppress::Shape::Partition
    };
    let numbers: Vec<u64> = counts.iter().map(|(_, _, n)| *n).collect();
    let (cells, total_cell) = suppress::suppress(&numbers, total, shape, threshold);
    // One table of a single row is the total itself.
    let single = counts.len() == 1;
    let percent = |cell: Cell| match cell {
        Cell::Count(n) if total >= MIN_PERCENT_BASE && !single => {
            Some((n * 100 + total / 2) / total)
        }
        _ => None,
    };
    let rows = counts
        .into_iter()
        .zip(cells)
        .map(|((key, label, _), cell)| Row {
            key,
            label,
            cell,
            percent: percent(cell),
        })
        .collect();
    let (total_key, total_label) = if overlapping {
        ("distinct", "Distinct reports")
    } else {
        ("total", "Total")
    };
    Table {
        key,
        title: title.into(),
        vocabulary: None,
        rows,
        total: Row {
            key: total_key.into(),
            label: total_label.into(),
            cell: total_cell,
            percent: None,
        },
        overlapping,
    }
}

/// Writes a summary as RFC 4180 CSV: four columns (section, item, count,
/// percent), opening with rows that name the centre, the period and the
/// suppression rule.
pub fn to_csv(summary: &Summary) -> String {
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let quoted: Vec<String> = cells
            .iter()
            .map(|c| {
                let c = if c.starts_with(['=', '+', '-', '@']) {
                    format!("'{c}")
                } else {
                    (*c).to_string()
                };
                if c.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c
                }
            })
            .collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    };
    let o = summary.options;
    let centre = format!("{} ({})", summary.centre_name, summary.centre_code);
    let period = format!("{} to {}", o.from, o.to);
    let threshold = o.threshold.to_string();
    let note = summary.suppression_note();
    line(["section", "item", "count", "percent"]);
    line(["About", "Centre", &centre, ""]);
    line(["About", "Period", &period, ""]);
    line(["About", "Suppression threshold", &threshold, ""]);
    line(["About", "Note", &note, ""]);
    if let Some(missing) = summary.not_counted_note() {
        line(["About", "Not counted", &missing, ""]);
    }
    for t in &summary.tables {
        // A one-row table is its own total.
        let total = (t.rows.len() > 1).then_some(&t.total);
        for row in t.rows.iter().chain(total) {
            let count = row.cell.text(o.threshold);
            let percent = row.percent.map(|p| format!("{p}%")).unwrap_or_default();
            line([&t.title, &row.label, &count, &percent]);
        }
    }
    out
}

/// Writes a summary as an Excel workbook: a "Notes" sheet first (centre,
/// period, threshold and the suppression rule), then one sheet per
/// breakdown with counts as numbers and suppressed cells as text.
pub fn to_xlsx(summary: &Summary) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook, XlsxError};
    let fail = |e: XlsxError| Error::Export(e.to_string());
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0%");
    let o = summary.options;
    let mut workbook = Workbook::new();
    let notes = workbook.add_worksheet();
    notes.set_name("Notes").map_err(fail)?;
    notes.set_column_width(0, 24).map_err(fail)?;
    notes.set_column_width(1, 110).map_err(fail)?;
    let mut about = vec![
        (
            "Centre",
            format!("{} ({})", summary.centre_name, summary.centre_code),
        ),
        ("Period", format!("{} to {}", o.from, o.to)),
        ("Suppression threshold", o.threshold.to_string()),
        ("Note", summary.suppression_note()),
    ];
    if let Some(missing) = summary.not_counted_note() {
        about.push(("Not counted", missing));
    }
    for (r, (k, v)) in about.iter().enumerate() {
        notes
            .write_string_with_format(r as u32, 0, *k, &bold)
            .map_err(fail)?;
        notes.write_string(r as u32, 1, v).map_err(fail)?;
    }
    for t in &summary.tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&t.title)).map_err(fail)?;
        sheet.set_column_width(0, 36).map_err(fail)?;
        for (c, h) in ["Category", "Count", "Percent"].iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &bold)
                .map_err(fail)?;
        }
        let total = (t.rows.len() > 1).then_some(&t.total);
        for (i, row) in t.rows.iter().chain(total).enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, &row.label).map_err(fail)?;
            match row.cell {
                Cell::Count(n) => sheet.write_number(r, 1, n as f64).map_err(fail)?,
                other => sheet
                    .write_string(r, 1, other.text(o.threshold))
                    .map_err(fail)?,
            };
            if let Some(p) = row.percent {
                sheet
                    .write_number_with_format(r, 2, p as f64 / 100.0, &percent)
                    .map_err(fail)?;
            }
        }
    }
    workbook.save_to_buffer().map_err(fail)
}

/// Excel's sheet-name rules: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}

impl Desk {
    /// Every submitted report's summary record for the period (facts only),
    /// and how many in the period could not be read (set aside).
    fn summary_records(
        &self,
        s: &Session,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(Vec<SummaryRecord>, u64)> {
        let mut out = Vec::new();
        let mut unreadable = 0;
        for (row, _, facts) in self.reports_with_facts(s)? {
            if row.state == ReportState::Draft {
                continue;
            }
            let taken_on = crate::time::parse(&row.created_at)?.date_naive();
            if taken_on < from || taken_on > to {
                continue;
            }
            // A report whose facts will not open is set aside: left out,
            // and the export says how many were.
            let Some(facts) = facts else {
                unreadable += 1;
                continue;
            };
            let delivered = matches!(row.state, ReportState::Delivered | ReportState::Purged);
            out.push(SummaryRecord {
                taken_on,
                delivered,
                facts,
            });
        }
        Ok((out, unreadable))
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    fn record(
        day: u32,
        strands: &[Strand],
        types: &[IncidentType],
        delivered: bool,
    ) -> SummaryRecord {
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
        let csv = to_csv(&s);
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
        let (options, totals) =
            readers_options(&rows, total_cell, shape, u64::from(threshold), cap);
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
        let bytes = to_xlsx(&summary).expect("workbook");
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
        for line in to_csv(&summary).lines().skip(1) {
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
        let keys =
            |key: &str| -> Vec<String> { by(key).rows.iter().map(|r| r.key.clone()).collect() };
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
}
