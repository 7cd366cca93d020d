//! The PDF's fonts, embedded from `assets/fonts/`, their widths for the
//! layout, and the runs a line is split into: Arabic-script words in Noto
//! Naskh Arabic, everything else in DejaVu Sans.

use std::sync::{Arc, OnceLock};

use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use super::Weight;
use crate::error::{Error, Result};

const REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");
const ARABIC: &[u8] = include_bytes!("../../../../assets/fonts/NotoNaskhArabic-Regular.ttf");
const ARABIC_BOLD: &[u8] = include_bytes!("../../../../assets/fonts/NotoNaskhArabic-Bold.ttf");

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
    /// Urdu is measured shaped, as drawn: its joined letters are narrower
    /// than the letters alone, and a sum of those would leave gaps. Read
    /// when first needed (an English export never needs them).
    arabic_shaped: OnceLock<Option<rustybuzz::Face<'static>>>,
    arabic_bold_shaped: OnceLock<Option<rustybuzz::Face<'static>>>,
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
            arabic_shaped: OnceLock::new(),
            arabic_bold_shaped: OnceLock::new(),
        })
    }

    fn arabic(&self, weight: Weight) -> Option<&rustybuzz::Face<'static>> {
        let (cell, bytes) = match weight {
            Weight::Regular => (&self.arabic_shaped, ARABIC),
            Weight::Bold => (&self.arabic_bold_shaped, ARABIC_BOLD),
        };
        cell.get_or_init(|| rustybuzz::Face::from_slice(bytes, 0))
            .as_ref()
    }

    /// The advance width of `text` at `size` points, each run in the font
    /// it is drawn in: Urdu shaped right to left as drawn, other text by
    /// its letters' advances (no kerning: close enough for layout).
    pub fn width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let pieces = pieces(text);
        let gaps =
            pieces.iter().skip(1).filter(|p| p.spaced).count() as f32 * self.space(size, weight);
        gaps + pieces
            .iter()
            .map(
                |Piece {
                     script,
                     text: piece,
                     ..
                 }| match (script, weight) {
                    (Script::Arabic, _) => self
                        .arabic(weight)
                        .map_or(size * 0.5 * piece.chars().count() as f32, |face| {
                            shaped_width(face, piece, size)
                        }),
                    (Script::Other, Weight::Regular) => advances(&self.regular, piece, size),
                    (Script::Other, Weight::Bold) => advances(&self.bold, piece, size),
                },
            )
            .sum::<f32>()
    }

    /// The characters of `text` that the font of their run has no glyph
    /// for (they would print as empty boxes).
    pub(crate) fn missing(&self, text: &str) -> Vec<char> {
        runs(text)
            .iter()
            .flat_map(|(script, piece)| {
                piece
                    .chars()
                    .filter(|c| match script {
                        Script::Arabic => self
                            .arabic(Weight::Regular)
                            .is_none_or(|face| face.glyph_index(*c).is_none()),
                        Script::Other => self.regular.charmap().map(*c).is_none(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The space drawn between two runs.
    pub(crate) fn space(&self, size: f32, weight: Weight) -> f32 {
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

fn advances(font: &skrifa::FontRef<'_>, text: &str, size: f32) -> f32 {
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(size * 0.6)
        })
        .sum()
}

fn shaped_width(face: &rustybuzz::Face<'_>, text: &str, size: f32) -> f32 {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(rustybuzz::Direction::RightToLeft);
    let glyphs = rustybuzz::shape(face, &[], buffer);
    let units: i64 = glyphs
        .glyph_positions()
        .iter()
        .map(|p| i64::from(p.x_advance))
        .sum();
    units as f32 * size / face.units_per_em().max(1) as f32
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

/// Brackets the Arabic-script font has no glyph for: where they touch an
/// Arabic-script word they are drawn apart from it, in the other font
/// (and mirrored on a right-to-left page, as bidi text mirrors them).
const BRACKETS: &[char] = &['(', ')', '[', ']', '{', '}'];

/// One piece of a line: a run of one script, or a bracket split from an
/// Arabic-script word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Which font it is drawn in.
    pub script: Script,
    /// Its text.
    pub text: String,
    /// Whether a space separates it from the piece before (none between a
    /// word and its brackets).
    pub spaced: bool,
    /// Whether it is a bracket split from an Arabic-script word.
    pub bracket: bool,
}

/// `text` split into runs by script, in logical order: a word with an
/// Arabic-script letter is Arabic, any other word is not; the spaces inside
/// a run stay in it, and one space separates runs (drawn between them, so
/// it falls right whichever way the line runs). Word by word is enough for
/// the exports' short labels and sentences.
pub fn runs(text: &str) -> Vec<(Script, String)> {
    pieces(text)
        .into_iter()
        .map(|p| (p.script, p.text))
        .collect()
}

/// [`runs`], with the brackets of Arabic-script words split off.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut push = |script: Script, text: &str, spaced: bool, bracket: bool| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.script == script && !last.bracket && !bracket => {
                if spaced {
                    last.text.push(' ');
                }
                last.text.push_str(text);
            }
            _ => out.push(Piece {
                script,
                text: text.to_string(),
                spaced,
                bracket,
            }),
        }
    };
    for word in text.split(' ') {
        if !word.chars().any(is_arabic) {
            push(Script::Other, word, true, false);
            continue;
        }
        // The word's brackets apart, the rest of it as Arabic-script text.
        let mut spaced = true;
        let mut rest = word;
        while !rest.is_empty() {
            let cut = rest.find(BRACKETS).unwrap_or(rest.len());
            let (text, after) = if cut == 0 {
                rest.split_at(rest.chars().next().map_or(1, char::len_utf8))
            } else {
                rest.split_at(cut)
            };
            push(
                if cut == 0 {
                    Script::Other
                } else {
                    Script::Arabic
                },
                text,
                spaced,
                cut == 0,
            );
            spaced = false;
            rest = after;
        }
    }
    out
}

/// A bracket as it looks on a right-to-left page.
pub(crate) fn mirrored(bracket: &str) -> String {
    bracket
        .chars()
        .map(|c| match c {
            '(' => ')',
            ')' => '(',
            '[' => ']',
            ']' => '[',
            '{' => '}',
            '}' => '{',
            other => other,
        })
        .collect()
}
