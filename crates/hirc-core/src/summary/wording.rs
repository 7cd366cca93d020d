//! The words of an export in one language: the fixed texts (headings, the
//! suppression note, column names) and the tables' titles and rows, found
//! by key. The keys are the app's translation keys (`summaries.table.KEY`,
//! `vocab.LIST.KEY`, `summaries.row.KEY`, `month.N`, `export.…`), so the
//! app's translations are the export's; whatever a language has no words
//! for is written in English, the engine's own words below.

use std::collections::HashMap;

use super::{MIN_PERCENT_BASE, Row, Summary, Table};

/// The export's fixed texts, in English: key and text. `{name}` is filled
/// in ([`Wording::fill`]).
pub const EXPORT_TEXTS: &[(&str, &str)] = &[
    ("export.title", "Hate incident reports: summary"),
    (
        "export.document_title",
        "Hate incident reports: summary, {centre}, {from} to {to}",
    ),
    ("export.period", "Period: {from} to {to}"),
    ("export.period_value", "{from} to {to}"),
    ("export.threshold", "Suppression threshold: {n}"),
    ("export.reports_taken", "Reports taken: {n}"),
    ("export.page", "Page {page} of {pages}"),
    (
        "export.footer",
        "HIRC Desk summary · {centre} · {from} to {to} · small numbers suppressed",
    ),
    ("summaries.category", "Category"),
    ("summaries.count", "Count"),
    ("summaries.percent", "Percent"),
    ("summaries.chart_strand", "Reports by strand"),
    ("summaries.chart_type", "Reports by incident type"),
    ("summaries.chart_month", "Reports by month"),
    ("export.about", "About"),
    ("export.centre", "Centre"),
    ("export.period_word", "Period"),
    ("export.threshold_word", "Suppression threshold"),
    ("export.note", "Note"),
    ("export.not_counted", "Not counted"),
    ("export.notes_sheet", "Notes"),
    (
        "export.overlapping_note",
        "A report can count in more than one row, so the rows add up to more than the distinct reports.",
    ),
    ("export.csv.section", "section"),
    ("export.csv.item", "item"),
    ("export.csv.count", "count"),
    ("export.csv.percent", "percent"),
    (
        "export.suppression_note",
        "Small numbers are suppressed: counts from 1 to {below} are shown as <{t}. Where the other numbers or a total would let a hidden count be worked out, more counts are hidden, shown as [c] (a [c] may stand for any count, 0 included). Percentages are shown only where the total is {base} or more.",
    ),
    (
        "export.not_counted_note",
        "{n} report(s) taken in this period could not be read (set aside on the desk for a coordinator) and are not counted here.",
    ),
];

/// An export's language and its words.
#[derive(Debug, Clone)]
pub struct Wording {
    language: String,
    texts: HashMap<String, String>,
}

impl Default for Wording {
    fn default() -> Self {
        Self::english()
    }
}

impl Wording {
    /// The engine's own English.
    pub fn english() -> Self {
        Self {
            language: "en".into(),
            texts: HashMap::new(),
        }
    }

    /// `language`'s words (a BCP 47 tag such as `pl` or `ur`), by key; a
    /// key it lacks is written in English.
    pub fn new(language: &str, texts: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            language: language.to_string(),
            texts: texts.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        }
    }

    /// The language's tag.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Whether the language is written right to left.
    pub fn right_to_left(&self) -> bool {
        let primary = self.language.split(['-', '_']).next().unwrap_or_default();
        matches!(
            primary,
            "ur" | "ar" | "fa" | "he" | "ps" | "sd" | "ug" | "yi"
        )
    }

    /// The text for `key`: the language's, else the English one, else the
    /// key itself (a key the engine does not know is a programming error,
    /// shown rather than hidden).
    pub fn text(&self, key: &str) -> String {
        self.texts
            .get(key)
            .cloned()
            .or_else(|| {
                EXPORT_TEXTS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_string())
            })
            .unwrap_or_else(|| key.to_string())
    }

    /// [`Wording::text`] with each `{name}` replaced by its value.
    pub fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        values.iter().fold(self.text(key), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    }

    /// The statement every export carries.
    pub fn suppression_note(&self, summary: &Summary) -> String {
        let t = summary.options.threshold;
        self.fill(
            "export.suppression_note",
            &[
                ("below", &t.saturating_sub(1).to_string()),
                ("t", &t.to_string()),
                ("base", &MIN_PERCENT_BASE.to_string()),
            ],
        )
    }

    /// Said when reports in the period could not be read (set aside).
    pub fn not_counted_note(&self, summary: &Summary) -> Option<String> {
        (summary.not_counted > 0).then(|| {
            self.fill(
                "export.not_counted_note",
                &[("n", &summary.not_counted.to_string())],
            )
        })
    }

    /// A table's title in this language.
    fn title(&self, table: &Table) -> String {
        self.texts
            .get(&format!("summaries.table.{}", table.key))
            .cloned()
            .unwrap_or_else(|| table.title.clone())
    }

    /// A row's label in this language: its value list's word, a month, or
    /// a fixed row; else the engine's English label.
    fn label(&self, table: &Table, row: &Row) -> String {
        let found = |key: String| self.texts.get(&key).cloned();
        table
            .vocabulary
            .and_then(|list| found(format!("vocab.{list}.{}", row.key)))
            .or_else(|| {
                let (year, month) = row.key.split_once('-')?;
                let month: u32 = month.parse().ok()?;
                (table.key == "months" && year.len() == 4)
                    .then(|| found(format!("month.{month}")))
                    .flatten()
                    .map(|name| format!("{name} {year}"))
            })
            .or_else(|| found(format!("summaries.row.{}", row.key)))
            .unwrap_or_else(|| row.label.clone())
    }
}

impl Summary {
    /// The same summary with its titles and row labels in `words`'s
    /// language; every number, key and option stays as it is.
    pub fn worded(&self, words: &Wording) -> Summary {
        let mut summary = self.clone();
        for table in &mut summary.tables {
            let original = table.clone();
            table.title = words.title(&original);
            for (row, was) in table.rows.iter_mut().zip(&original.rows) {
                row.label = words.label(&original, was);
            }
            table.total.label = words.label(&original, &original.total);
        }
        summary
    }
}
