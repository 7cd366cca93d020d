//! Text laid down a page: paragraphs wrapped to the page's width, headings
//! kept with what follows, a new page when one is full (the slip and the
//! person's copy of their report).

use chrono::NaiveDate;

use super::{CONTENT_W, INK, MARGIN, Measure, Op, Page, Weight};
use crate::words::Wording;

/// A day written out in `words`'s language (`4 December 2026`).
pub(crate) fn long_date(date: NaiveDate, words: &Wording) -> String {
    use chrono::Datelike;
    if words.language() == "en" {
        return date.format("%-d %B %Y").to_string();
    }
    let month = words.text(&format!("month.{}", date.month()));
    format!("{} {month} {}", date.day(), date.year())
}

/// Lines down the page, wrapped to its width, a new page when one is full.
pub(crate) struct Lines<'a> {
    pub(crate) m: &'a Measure,
    pub(crate) pages: Vec<Page>,
    pub(crate) y: f32,
}

impl<'a> Lines<'a> {
    /// An empty first page.
    pub(crate) fn new(m: &'a Measure) -> Self {
        Self {
            m,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    pub(crate) fn page(&mut self) -> &mut Page {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub(crate) fn room(&mut self, height: f32) {
        if self.y + height > crate::pdf::BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    pub(crate) fn gap(&mut self, h: f32) {
        self.y += h;
    }

    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: crate::pdf::Colour) {
        self.page().push(Op::Rect { x, y, w, h, colour });
    }

    pub(crate) fn line_at(
        &mut self,
        x: f32,
        text: &str,
        size: f32,
        weight: Weight,
        colour: crate::pdf::Colour,
    ) {
        let line = size * 1.3;
        self.room(line);
        let y = self.y + size;
        self.page().push(Op::Text {
            x,
            y,
            size,
            weight,
            colour,
            text: text.to_string(),
        });
        self.y += line;
    }

    pub(crate) fn para(
        &mut self,
        text: &str,
        size: f32,
        weight: Weight,
        colour: crate::pdf::Colour,
    ) {
        for line in self.m.wrap(text, size, weight, CONTENT_W) {
            self.line_at(MARGIN, &line, size, weight, colour);
        }
    }

    pub(crate) fn heading(&mut self, text: &str) {
        self.room(14.0 * 1.3 + 11.0 * 1.35 * 2.0);
        self.para(text, 14.0, Weight::Bold, INK);
        self.gap(2.0);
    }
}
