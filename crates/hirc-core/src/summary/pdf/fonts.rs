//! The PDF's fonts, embedded from `assets/fonts/`, their widths for the
//! layout, and the runs a line is split into: Arabic-script words in Noto
//! Naskh Arabic, everything else in DejaVu Sans.

use std::sync::Arc;

use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use super::Weight;
use crate::error::{Error, Result};

const REGULAR: &[u8] = include_bytes!("../../../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../../../assets/fonts/DejaVuSans-Bold.ttf");
const ARABIC: &[u8] = include_bytes!("../../../../../assets/fonts/NotoNaskhArabic-Regular.ttf");
const ARABIC_BOLD: &[u8] = include_bytes!("../../../../../assets/fonts/NotoNaskhArabic-Bold.ttf");

pub(super) struct Fonts {
    pub(super) regular: Font,
    pub(super) bold: Font,
    pub(super) arabic: Font,
    pub(super) arabic_bold: Font,
    pub(super) measure: Measure,
}

impl Fonts {
    pub(super) fn load() -> Result<Self> {
        let font = |bytes: &'static [u8]| {
            Font::new(Arc::new(bytes.to_vec()).into(), 0)
                .ok_or_else(|| Error::Export("the bundled PDF font could not be read".into()))
        };
        Ok(Fonts {
            regular: font(REGULAR)?,
            bold: font(BOLD)?,
            arabic: font(ARABIC)?,
            arabic_bold: font(ARABIC_BOLD)?,
            measure: Measure::load()?,
        })
    }

    /// The font a run is drawn in, and the direction it is shaped in.
    pub(super) fn face(&self, script: Script, weight: Weight) -> (Font, TextDirection) {
        match (script, weight) {
            (Script::Arabic, Weight::Regular) => (self.arabic.clone(), TextDirection::RightToLeft),
            (Script::Arabic, Weight::Bold) => {
                (self.arabic_bold.clone(), TextDirection::RightToLeft)
            }
            (Script::Other, Weight::Regular) => (self.regular.clone(), TextDirection::LeftToRight),
            (Script::Other, Weight::Bold) => (self.bold.clone(), TextDirection::LeftToRight),
        }
    }
}

/// Text widths, from the same fonts the PDF embeds, so columns line up
/// and long labels wrap instead of running off the page.
pub struct Measure {
    regular: skrifa::FontRef<'static>,
    bold: skrifa::FontRef<'static>,
    arabic: skrifa::FontRef<'static>,
    arabic_bold: skrifa::FontRef<'static>,
}

impl Measure {
    /// Reads the bundled fonts' metrics.
    pub fn load() -> Result<Self> {
        let font = |bytes: &'static [u8]| {
            skrifa::FontRef::new(bytes)
                .map_err(|_| Error::Export("the bundled PDF font could not be read".into()))
        };
        Ok(Measure {
            regular: font(REGULAR)?,
            bold: font(BOLD)?,
            arabic: font(ARABIC)?,
            arabic_bold: font(ARABIC_BOLD)?,
        })
    }

    /// The advance width of `text` at `size` points, each run in the font
    /// it is drawn in (no kerning or joining: close enough for layout).
    pub fn width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let pieces = runs(text);
        let gaps = pieces.len().saturating_sub(1) as f32 * self.space(size, weight);
        gaps + pieces
            .iter()
            .map(|(script, piece)| {
                let font = match (script, weight) {
                    (Script::Arabic, Weight::Regular) => &self.arabic,
                    (Script::Arabic, Weight::Bold) => &self.arabic_bold,
                    (Script::Other, Weight::Regular) => &self.regular,
                    (Script::Other, Weight::Bold) => &self.bold,
                };
                let charmap = font.charmap();
                let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
                piece
                    .chars()
                    .map(|c| {
                        charmap
                            .map(c)
                            .and_then(|g| metrics.advance_width(g))
                            .unwrap_or(size * 0.6)
                    })
                    .sum::<f32>()
            })
            .sum::<f32>()
    }

    /// The characters of `text` that the font of their run has no glyph
    /// for (they would print as empty boxes).
    #[cfg(test)]
    pub(super) fn missing(&self, text: &str) -> Vec<char> {
        runs(text)
            .iter()
            .flat_map(|(script, piece)| {
                let font = match script {
                    Script::Arabic => &self.arabic,
                    Script::Other => &self.regular,
                };
                let charmap = font.charmap();
                piece
                    .chars()
                    .filter(move |c| charmap.map(*c).is_none())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The space drawn between two runs.
    pub(super) fn space(&self, size: f32, weight: Weight) -> f32 {
        let font = match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        };
        font.charmap()
            .map(' ')
            .and_then(|g| {
                font.glyph_metrics(Size::new(size), LocationRef::default())
                    .advance_width(g)
            })
            .unwrap_or(size * 0.3)
    }

    /// Splits `text` into lines no wider than `max` (words longer than a
    /// line are left whole rather than cut).
    pub fn wrap(&self, text: &str, size: f32, weight: Weight, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate, size, weight) > max {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Which font a run of text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Urdu, Arabic, Persian…: Noto Naskh Arabic, shaped right to left.
    Arabic,
    /// Everything else: DejaVu Sans, left to right.
    Other,
}

fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// `text` split into runs by script, in logical order: a word with an
/// Arabic-script letter is Arabic, any other word is not; the spaces inside
/// a run stay in it, and one space separates runs (drawn between them, so
/// it falls right whichever way the line runs). Word by word is enough for
/// the exports' short labels and sentences.
pub fn runs(text: &str) -> Vec<(Script, String)> {
    let mut out: Vec<(Script, String)> = Vec::new();
    for word in text.split(' ') {
        let script = if word.chars().any(is_arabic) {
            Script::Arabic
        } else {
            Script::Other
        };
        match out.last_mut() {
            Some((last, piece)) if *last == script => {
                piece.push(' ');
                piece.push_str(word);
            }
            _ => out.push((script, word.to_string())),
        }
    }
    out
}
