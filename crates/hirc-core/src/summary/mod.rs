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
mod wording;

pub use crate::words::{EXPORT_TEXTS, Wording};
pub use pdf::{to_pdf, undrawable};

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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
pub fn to_csv(summary: &Summary, words: &Wording) -> String {
    let summary = &summary.worded(words);
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut line = |cells: [&str; 4]| {
        // Writing to memory cannot fail.
        let _ = csv.write_record(cells.map(formula_safe));
    };
    let o = summary.options;
    let centre = format!("{} ({})", summary.centre_name, summary.centre_code);
    let period = period_value(summary, words);
    let threshold = o.threshold.to_string();
    let note = words.suppression_note(summary);
    let w = |key: &str| words.text(key);
    let about = w("export.about");
    line([
        &w("export.csv.section"),
        &w("export.csv.item"),
        &w("export.csv.count"),
        &w("export.csv.percent"),
    ]);
    line([&about, &w("export.centre"), &centre, ""]);
    line([&about, &w("export.period_word"), &period, ""]);
    line([&about, &w("export.threshold_word"), &threshold, ""]);
    line([&about, &w("export.note"), &note, ""]);
    if let Some(missing) = words.not_counted_note(summary) {
        line([&about, &w("export.not_counted"), &missing, ""]);
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
    let bytes = csv.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// A cell a spreadsheet will not run: a leading `=`, `+`, `-` or `@` gets a
/// `'` in front (a centre's name could begin with one).
fn formula_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Writes a summary as an Excel workbook: a "Notes" sheet first (centre,
/// period, threshold and the suppression rule), then one sheet per
/// breakdown with counts as numbers and suppressed cells as text.
pub fn to_xlsx(summary: &Summary, words: &Wording) -> Result<Vec<u8>> {
    let summary = &summary.worded(words);
    use rust_xlsxwriter::{Format, Workbook, XlsxError};
    let fail = |e: XlsxError| Error::Export(e.to_string());
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0%");
    let o = summary.options;
    let mut workbook = Workbook::new();
    let notes = workbook.add_worksheet();
    notes
        .set_name(sheet_name(&words.text("export.notes_sheet")))
        .map_err(fail)?;
    if words.right_to_left() {
        notes.set_right_to_left(true);
    }
    notes.set_column_width(0, 24).map_err(fail)?;
    notes.set_column_width(1, 110).map_err(fail)?;
    let mut about = vec![
        (
            words.text("export.centre"),
            format!("{} ({})", summary.centre_name, summary.centre_code),
        ),
        (
            words.text("export.period_word"),
            period_value(summary, words),
        ),
        (words.text("export.threshold_word"), o.threshold.to_string()),
        (words.text("export.note"), words.suppression_note(summary)),
    ];
    if let Some(missing) = words.not_counted_note(summary) {
        about.push((words.text("export.not_counted"), missing));
    }
    for (r, (k, v)) in about.iter().enumerate() {
        notes
            .write_string_with_format(r as u32, 0, k, &bold)
            .map_err(fail)?;
        notes.write_string(r as u32, 1, v).map_err(fail)?;
    }
    for t in &summary.tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&t.title)).map_err(fail)?;
        sheet.set_column_width(0, 36).map_err(fail)?;
        if words.right_to_left() {
            sheet.set_right_to_left(true);
        }
        let headings = ["summaries.category", "summaries.count", "summaries.percent"];
        for (c, h) in headings.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, words.text(h), &bold)
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

/// "2026-01-01 to 2026-12-31", in the export's words.
fn period_value(summary: &Summary, words: &Wording) -> String {
    words.fill(
        "export.period_value",
        &[
            ("from", &summary.options.from.to_string()),
            ("to", &summary.options.to.to_string()),
        ],
    )
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
            let taken_on = crate::time::desk_date(row.created_at);
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
pub(crate) mod tests;
