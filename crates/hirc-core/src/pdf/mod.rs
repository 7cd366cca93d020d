//! Printable A4 documents (the summary, the person's slip): pages of plain
//! drawing operations, made by each document's layout (testable without a
//! PDF reader), painted here with krilla.
//!
//! The fonts are embedded from `assets/fonts/` so a file looks the same on
//! every machine and nothing is fetched: DejaVu Sans, and Noto Naskh Arabic
//! for Urdu (and any Arabic-script text), chosen run by run
//! (`fonts::runs`). In a right-to-left language each line's runs are set
//! from right to left, each Arabic-script run shaped right to left and each
//! other run (numbers, dates, references in Latin letters) left to right.

pub(crate) mod fonts;
pub(crate) mod lines;

pub use fonts::Measure;
use fonts::{Fonts, mirrored, pieces};

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};

use crate::error::{Error, Result};

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN: f32 = 50.0;
pub(crate) const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Where content stops, above the footer.
pub(crate) const BOTTOM: f32 = PAGE_H - MARGIN - 20.0;

/// GOV.UK's text colour and blue: high contrast on white, and print well
/// in grey.
pub(crate) const INK: Colour = Colour(0x0b, 0x0c, 0x0c);
pub(crate) const BAR: Colour = Colour(0x1d, 0x70, 0xb8);
pub(crate) const MUTED: Colour = Colour(0x50, 0x5a, 0x5f);
pub(crate) const RULE: Colour = Colour(0xb1, 0xb4, 0xb6);
pub(crate) const PANEL: Colour = Colour(0xf3, 0xf2, 0xf1);

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub(crate) u8, pub(crate) u8, pub(crate) u8);

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

/// One drawing operation, in points from the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text whose baseline starts at (x, y).
    Text {
        /// Left edge.
        x: f32,
        /// Baseline.
        y: f32,
        /// Font size.
        size: f32,
        /// Weight.
        weight: Weight,
        /// Colour.
        colour: Colour,
        /// The text.
        text: String,
    },
    /// A filled rectangle.
    Rect {
        /// Left edge.
        x: f32,
        /// Top edge.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill colour.
        colour: Colour,
    },
    /// A polyline.
    Line {
        /// The points.
        points: Vec<(f32, f32)>,
        /// Stroke width.
        width: f32,
        /// Stroke colour.
        colour: Colour,
    },
}

/// A page of operations.
pub type Page = Vec<Op>;

/// What the document's properties say.
pub(crate) struct About<'a> {
    /// The title a PDF reader shows.
    pub title: String,
    /// The BCP 47 tag of the document's language.
    pub language: &'a str,
    /// Whether its lines read from the right.
    pub right_to_left: bool,
}

/// Paints pages as a PDF document.
pub(crate) fn paint(pages: Vec<Page>, about: &About<'_>) -> Result<Vec<u8>> {
    let fonts = Fonts::load()?;
    let rtl = about.right_to_left;
    let mut document = Document::new();
    let language = match about.language {
        "en" => "en-GB".to_string(),
        other => other.to_string(),
    };
    document.set_metadata(
        Metadata::new()
            .title(about.title.clone())
            .creator("HIRC Desk".into())
            .language(language),
    );
    for ops in pages {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| Error::Export("the PDF page size was refused".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    weight,
                    colour,
                    text,
                } => {
                    surface.set_fill(Some(fill(colour)));
                    // Each run in its own font and direction, placed in
                    // reading order: from the right in a right-to-left
                    // language (its brackets mirrored, as bidi text does).
                    let pieces = pieces(&text);
                    let mut at = x;
                    let last = pieces.len().saturating_sub(1);
                    for i in 0..pieces.len() {
                        let (piece, gap_after) = if rtl {
                            (&pieces[last - i], i < last && pieces[last - i].spaced)
                        } else {
                            (&pieces[i], i < last && pieces[i + 1].spaced)
                        };
                        let shown = if rtl && piece.bracket {
                            mirrored(&piece.text)
                        } else {
                            piece.text.clone()
                        };
                        let (font, direction) = fonts.face(piece.script, weight);
                        surface.draw_text(
                            Point::from_xy(at, y),
                            font,
                            size,
                            &shown,
                            false,
                            direction,
                        );
                        at += fonts.measure.width(&shown, size, weight);
                        if gap_after {
                            at += fonts.measure.space(size, weight);
                        }
                    }
                }
                Op::Rect { x, y, w, h, colour } => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(x, y, w, h) {
                        pb.push_rect(rect);
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(fill(colour)));
                        surface.draw_path(&path);
                    }
                }
                Op::Line {
                    points,
                    width,
                    colour,
                } => {
                    let mut pb = PathBuilder::new();
                    for (i, (x, y)) in points.iter().enumerate() {
                        if i == 0 {
                            pb.move_to(*x, *y);
                        } else {
                            pb.line_to(*x, *y);
                        }
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                            width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| Error::Export(format!("the PDF could not be written: {e:?}")))
}

/// The characters on these pages that the fonts have no glyph for (they
/// would print as empty boxes).
pub(crate) fn undrawable(pages: &[Page], m: &Measure) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for op in pages.iter().flatten() {
        if let Op::Text { text, .. } = op {
            for c in m.missing(text) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

fn fill(c: Colour) -> Fill {
    Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// A right-to-left language reads the page from the right: every line of
/// text starts at the right margin, a table's category is on the right with
/// its count and percentage to its left, bars grow leftwards from an axis on
/// the right, and months run from the right. A layout is made once, left
/// to right, and mirrored here (each text keeps its own width, so it ends
/// where it started before).
pub(crate) fn mirror(pages: &mut [Page], m: &Measure) {
    for op in pages.iter_mut().flatten() {
        match op {
            Op::Text {
                x,
                size,
                weight,
                text,
                ..
            } => *x = PAGE_W - *x - m.width(text, *size, *weight),
            Op::Rect { x, w, .. } => *x = PAGE_W - *x - *w,
            Op::Line { points, .. } => {
                for (x, _) in points.iter_mut() {
                    *x = PAGE_W - *x;
                }
            }
        }
    }
}
