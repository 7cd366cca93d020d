//! The summary as a printable A4 PDF: a cover block naming the centre, the
//! period and the suppression rule; bar charts by strand and by incident
//! type; a line by month; then every breakdown as a table.
//!
//! Layout and drawing are kept apart: [`layout`] turns a [`Summary`] into
//! pages of plain drawing operations (testable without a PDF reader), and
//! [`to_pdf`] paints them ([`crate::pdf`] holds the fonts and the
//! right-to-left rules).
//!
//! Suppressed counts are never drawn as bars or points: their row shows the
//! published text (`<5`, `[c]`) where the value would be, so a reader cannot
//! measure a hidden number off the chart, and no meaning rests on colour.

#[cfg(test)]
use crate::pdf::fonts::{mirrored, pieces, runs};
use crate::pdf::{
    BAR, BOTTOM, CONTENT_W, Colour, INK, MARGIN, MUTED, Measure, Op, PAGE_H, PAGE_W, PANEL, Page,
    RULE, Weight, mirror,
};

use super::{Cell, Row, Summary, Table, Wording};
use crate::error::Result;

/// Writes the summary as a PDF document.
pub fn to_pdf(summary: &Summary, words: &Wording) -> Result<Vec<u8>> {
    let summary = &summary.worded(words);
    let pages = layout(summary, &Measure::load()?, words);
    let title = words.fill(
        "export.document_title",
        &[
            (
                "centre",
                &format!("{} ({})", summary.centre_name, summary.centre_code),
            ),
            ("from", &summary.options.from.to_string()),
            ("to", &summary.options.to.to_string()),
        ],
    );
    crate::pdf::paint(
        pages,
        &crate::pdf::About {
            title,
            language: words.language(),
            right_to_left: words.right_to_left(),
        },
    )
}

/// The characters of this export that its fonts have no glyph for (they
/// would print as empty boxes): none, for every language the app offers
/// (its tests check each translation with this).
pub fn undrawable(summary: &Summary, words: &Wording) -> Result<Vec<char>> {
    let summary = summary.worded(words);
    let m = Measure::load()?;
    Ok(crate::pdf::undrawable(&layout(&summary, &m, words), &m))
}

/// Lays the summary out on A4 pages.
pub fn layout(summary: &Summary, m: &Measure, words: &Wording) -> Vec<Page> {
    let mut w = Writer {
        m,
        words,
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    let o = summary.options;
    // A title longer in another language wraps rather than run off the page.
    for line in m.wrap(&words.text("export.title"), 20.0, Weight::Bold, CONTENT_W) {
        w.text(MARGIN, 20.0, Weight::Bold, INK, &line);
    }
    w.gap(6.0);
    w.text(
        MARGIN,
        12.0,
        Weight::Regular,
        INK,
        &format!("{} ({})", summary.centre_name, summary.centre_code),
    );
    w.text(
        MARGIN,
        12.0,
        Weight::Regular,
        INK,
        &words.fill(
            "export.period",
            &[
                ("from", &long_date(o.from, words)),
                ("to", &long_date(o.to, words)),
            ],
        ),
    );
    w.text(
        MARGIN,
        12.0,
        Weight::Regular,
        INK,
        &words.fill("export.threshold", &[("n", &o.threshold.to_string())]),
    );
    w.gap(8.0);
    w.panel(&words.suppression_note(summary));
    if let Some(missing) = words.not_counted_note(summary) {
        w.gap(6.0);
        w.panel(&missing);
    }
    w.gap(12.0);

    let by = |key: &str| summary.tables.iter().find(|t| t.key == key);
    if let Some(t) = by("reports") {
        w.text(
            MARGIN,
            14.0,
            Weight::Bold,
            INK,
            &words.fill(
                "export.reports_taken",
                &[("n", &t.total.cell.text(o.threshold))],
            ),
        );
        w.gap(10.0);
    }
    for key in ["strands", "incident_types"] {
        if let Some(t) = by(key) {
            w.bar_chart(t, o.threshold);
        }
    }
    if let Some(t) = by("months") {
        w.line_chart(t, o.threshold);
    }
    for t in summary.tables.iter().filter(|t| t.key != "reports") {
        w.table(t, o.threshold);
    }

    let pages = w.pages.len();
    let footer = words.fill(
        "export.footer",
        &[
            ("centre", &summary.centre_code),
            ("from", &o.from.to_string()),
            ("to", &o.to.to_string()),
        ],
    );
    for (i, page) in w.pages.iter_mut().enumerate() {
        let number = words.fill(
            "export.page",
            &[
                ("page", &(i + 1).to_string()),
                ("pages", &pages.to_string()),
            ],
        );
        let y = PAGE_H - MARGIN + 10.0;
        page.push(Op::Text {
            x: MARGIN,
            y,
            size: 8.0,
            weight: Weight::Regular,
            colour: MUTED,
            text: footer.clone(),
        });
        page.push(Op::Text {
            x: PAGE_W - MARGIN - m.width(&number, 8.0, Weight::Regular),
            y,
            size: 8.0,
            weight: Weight::Regular,
            colour: MUTED,
            text: number,
        });
    }
    let mut pages = w.pages;
    if words.right_to_left() {
        mirror(&mut pages, m);
    }
    pages
}

struct Writer<'a> {
    m: &'a Measure,
    words: &'a Wording,
    pages: Vec<Page>,
    /// The top of the free space on the current page.
    y: f32,
}

impl Writer<'_> {
    fn page(&mut self) -> &mut Page {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn gap(&mut self, h: f32) {
        self.y += h;
    }

    fn text(&mut self, x: f32, size: f32, weight: Weight, colour: Colour, text: &str) {
        let line = size * 1.35;
        self.room(line);
        let y = self.y + size;
        self.put(x, y, size, weight, colour, text);
        self.y += line;
    }

    fn put(&mut self, x: f32, y: f32, size: f32, weight: Weight, colour: Colour, text: &str) {
        self.page().push(Op::Text {
            x,
            y,
            size,
            weight,
            colour,
            text: text.to_string(),
        });
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
        self.page().push(Op::Rect { x, y, w, h, colour });
    }

    fn line(&mut self, points: Vec<(f32, f32)>, width: f32, colour: Colour) {
        self.page().push(Op::Line {
            points,
            width,
            colour,
        });
    }

    fn panel(&mut self, text: &str) {
        let size = 9.5;
        let lines = self.m.wrap(text, size, Weight::Regular, CONTENT_W - 20.0);
        let h = lines.len() as f32 * size * 1.4 + 16.0;
        self.room(h);
        let top = self.y;
        self.rect(MARGIN, top, CONTENT_W, h, PANEL);
        self.rect(MARGIN, top, 4.0, h, BAR);
        let mut y = top + 8.0 + size;
        for l in lines {
            self.put(MARGIN + 12.0, y, size, Weight::Regular, INK, &l);
            y += size * 1.4;
        }
        self.y = top + h;
    }

    /// Horizontal bars, one per row, with the published value beside each.
    fn bar_chart(&mut self, t: &Table, threshold: u32) {
        let size = 9.0;
        let row_h = 16.0;
        let label_w = 190.0;
        let value_w = 40.0;
        let bar_max = CONTENT_W - label_w - value_w;
        let max = largest_count(t).max(1) as f32;
        self.room(30.0 + row_h * t.rows.len() as f32);
        self.text(MARGIN, 13.0, Weight::Bold, INK, &chart_title(t, self.words));
        self.gap(4.0);
        for row in &t.rows {
            let top = self.y;
            let baseline = top + row_h / 2.0 + size * 0.35;
            let label = self.fit(&row.label, size, label_w - 8.0);
            self.put(MARGIN, baseline, size, Weight::Regular, INK, &label);
            let x0 = MARGIN + label_w;
            let value = row.cell.text(threshold);
            let after = match row.cell {
                Cell::Count(n) if n > 0 => {
                    let w = (n as f32 / max * bar_max).max(1.5);
                    self.rect(x0, top + 3.0, w, row_h - 6.0, BAR);
                    x0 + w + 5.0
                }
                _ => x0 + 5.0,
            };
            self.put(after, baseline, size, Weight::Regular, INK, &value);
            self.y += row_h;
        }
        // The axis the bars grow from.
        let top = self.y - row_h * t.rows.len() as f32;
        self.line(
            vec![(MARGIN + label_w, top), (MARGIN + label_w, self.y)],
            0.75,
            INK,
        );
        self.gap(14.0);
    }

    /// Counts by month as a line; suppressed months break the line and are
    /// labelled instead of plotted.
    fn line_chart(&mut self, t: &Table, threshold: u32) {
        let plot_h = 150.0;
        let left = MARGIN + 30.0;
        let right = PAGE_W - MARGIN - 10.0;
        self.room(40.0 + plot_h + 40.0);
        self.text(MARGIN, 13.0, Weight::Bold, INK, &chart_title(t, self.words));
        self.gap(8.0);
        let top = self.y;
        let bottom = top + plot_h;
        let max = largest_count(t);
        let scale_max = nice_ceiling(max);
        // Grid lines with their values.
        for i in 0..=4 {
            let v = scale_max * i / 4;
            let y = bottom - plot_h * i as f32 / 4.0;
            self.line(vec![(left, y), (right, y)], 0.4, RULE);
            let label = v.to_string();
            let lw = self.m.width(&label, 8.0, Weight::Regular);
            self.put(
                left - 5.0 - lw,
                y + 3.0,
                8.0,
                Weight::Regular,
                MUTED,
                &label,
            );
        }
        let n = t.rows.len().max(1);
        let step = (right - left) / n as f32;
        let x_of = |i: usize| left + step * (i as f32 + 0.5);
        let y_of = |v: u64| bottom - plot_h * v as f32 / scale_max.max(1) as f32;
        let mut run: Vec<(f32, f32)> = Vec::new();
        let mut runs = Vec::new();
        for (i, row) in t.rows.iter().enumerate() {
            match row.cell {
                Cell::Count(v) => run.push((x_of(i), y_of(v))),
                _ => {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                }
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for r in runs {
            if r.len() > 1 {
                self.line(r.clone(), 2.0, BAR);
            }
            for (x, y) in r {
                self.rect(x - 2.5, y - 2.5, 5.0, 5.0, BAR);
            }
        }
        // Month labels (abbreviated where many) and each published value.
        let every = n.div_ceil(12);
        for (i, row) in t.rows.iter().enumerate() {
            let value = row.cell.text(threshold);
            let vy = match row.cell {
                Cell::Count(v) => y_of(v) - 6.0,
                _ => bottom - 6.0,
            };
            let vw = self.m.width(&value, 8.0, Weight::Regular);
            self.put(x_of(i) - vw / 2.0, vy, 8.0, Weight::Regular, INK, &value);
            if i % every == 0 {
                let label = short_month(row, self.words);
                let lw = self.m.width(&label, 8.0, Weight::Regular);
                self.put(
                    x_of(i) - lw / 2.0,
                    bottom + 12.0,
                    8.0,
                    Weight::Regular,
                    MUTED,
                    &label,
                );
            }
        }
        self.line(vec![(left, bottom), (right, bottom)], 0.75, INK);
        self.y = bottom + 30.0;
    }

    /// A breakdown as a table: category, count, percent; the total last.
    fn table(&mut self, t: &Table, threshold: u32) {
        let size = 9.5;
        let row_h = 15.0;
        let count_right = MARGIN + CONTENT_W - 70.0;
        let percent_right = MARGIN + CONTENT_W;
        // Keep the heading with at least three rows.
        self.room(40.0 + row_h * 3.0);
        self.text(MARGIN, 12.0, Weight::Bold, INK, &t.title);
        let head = self.y + size;
        let words = self.words;
        self.put(
            MARGIN,
            head,
            size,
            Weight::Bold,
            MUTED,
            &words.text("summaries.category"),
        );
        self.right(
            count_right,
            head,
            size,
            Weight::Bold,
            MUTED,
            &words.text("summaries.count"),
        );
        self.right(
            percent_right,
            head,
            size,
            Weight::Bold,
            MUTED,
            &words.text("summaries.percent"),
        );
        self.y += row_h;
        self.line(
            vec![(MARGIN, self.y - 3.0), (PAGE_W - MARGIN, self.y - 3.0)],
            0.5,
            RULE,
        );
        let total = (t.rows.len() > 1).then_some(&t.total);
        for row in t.rows.iter() {
            self.room(row_h);
            let y = self.y + size;
            let label = self.fit(&row.label, size, count_right - MARGIN - 60.0);
            self.put(MARGIN, y, size, Weight::Regular, INK, &label);
            self.right(
                count_right,
                y,
                size,
                Weight::Regular,
                INK,
                &row.cell.text(threshold),
            );
            if let Some(p) = row.percent {
                self.right(
                    percent_right,
                    y,
                    size,
                    Weight::Regular,
                    INK,
                    &format!("{p}%"),
                );
            }
            self.y += row_h;
        }
        if let Some(total) = total {
            self.room(row_h);
            self.line(
                vec![(MARGIN, self.y - 2.0), (PAGE_W - MARGIN, self.y - 2.0)],
                0.75,
                INK,
            );
            let y = self.y + size;
            self.put(MARGIN, y, size, Weight::Bold, INK, &total.label);
            self.right(
                count_right,
                y,
                size,
                Weight::Bold,
                INK,
                &total.cell.text(threshold),
            );
            self.y += row_h;
        }
        if t.overlapping {
            self.room(row_h);
            let y = self.y + 8.0;
            let note = self.words.text("export.overlapping_note");
            self.put(MARGIN, y, 8.0, Weight::Regular, MUTED, &note);
            self.y += row_h;
        }
        self.gap(12.0);
    }

    fn right(&mut self, right: f32, y: f32, size: f32, weight: Weight, colour: Colour, text: &str) {
        let w = self.m.width(text, size, weight);
        self.put(right - w, y, size, weight, colour, text);
    }

    /// Shortens a label to fit a width, with an ellipsis.
    fn fit(&self, text: &str, size: f32, max: f32) -> String {
        if self.m.width(text, size, Weight::Regular) <= max {
            return text.to_string();
        }
        let mut out: String = text.to_string();
        while !out.is_empty() && self.m.width(&format!("{out}…"), size, Weight::Regular) > max {
            out.pop();
        }
        format!("{}…", out.trim_end())
    }
}

fn chart_title(t: &Table, words: &Wording) -> String {
    match t.key {
        "strands" => words.text("summaries.chart_strand"),
        "incident_types" => words.text("summaries.chart_type"),
        "months" => words.text("summaries.chart_month"),
        _ => t.title.clone(),
    }
}

/// A month row ("2026-01") on the chart's axis: "Jan 26" in English, "01/26"
/// in any other language (a short month name is not three letters in every
/// language); any other row keeps its label.
fn short_month(row: &Row, words: &Wording) -> String {
    let format = if words.language() == "en" {
        "%b %y"
    } else {
        "%m/%y"
    };
    chrono::NaiveDate::parse_from_str(&format!("{}-01", row.key), "%Y-%m-%d")
        .map_or_else(|_| row.label.clone(), |d| d.format(format).to_string())
}

/// "1 January 2026" in English; the plain date (2026-01-01) in any other
/// language, which every reader can read.
fn long_date(date: chrono::NaiveDate, words: &Wording) -> String {
    if words.language() == "en" {
        date.format("%-d %B %Y").to_string()
    } else {
        date.to_string()
    }
}

/// The largest count a table publishes (suppressed cells are not counts).
fn largest_count(t: &Table) -> u64 {
    t.rows
        .iter()
        .filter_map(|r| match r.cell {
            Cell::Count(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The smallest of 4, 8, 20, 40, 100, … (a multiple of 4 so the four grid
/// steps are whole numbers) at or above `max`.
fn nice_ceiling(max: u64) -> u64 {
    let mut base = 1u64;
    loop {
        for f in [4, 8, 20, 40] {
            if base * f >= max {
                return base * f;
            }
        }
        base *= 10;
    }
}

#[cfg(test)]
mod tests;
