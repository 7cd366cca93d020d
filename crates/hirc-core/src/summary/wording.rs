//! The summary's own words: its suppression note, and its tables' titles
//! and rows in the export's language ([`Wording`] holds the texts).

use super::{MIN_PERCENT_BASE, Row, Summary, Table};
use crate::words::Wording;

impl Wording {
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
        self.own(&format!("summaries.table.{}", table.key))
            .unwrap_or_else(|| table.title.clone())
    }

    /// A row's label in this language: its value list's word, a month, or
    /// a fixed row; else the engine's English label.
    fn label(&self, table: &Table, row: &Row) -> String {
        let found = |key: String| self.own(&key);
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
