//! What a file is, decided by its first bytes (its "magic"), never by its
//! name: a photo renamed `letter.txt` is still a photo, and a program
//! renamed `photo.jpg` is refused.

use serde::Serialize;

use super::refused;
use crate::error::{Error, Result};

/// What an item of evidence is kept as.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A photo (JPEG), encoded again without its metadata.
    Jpeg,
    /// A screenshot or picture (PNG; a WebP is kept as PNG), encoded again
    /// without its metadata.
    Png,
    /// A document (PDF), kept as it came (docs/threat-model.md says what
    /// that leaves in it).
    Pdf,
    /// Plain text (UTF-8), kept as it came.
    Text,
}

impl Kind {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Pdf => "pdf",
            Self::Text => "text",
        }
    }

    /// The kind a stored word names.
    pub(crate) fn from_stored(word: &str) -> Result<Self> {
        Ok(match word {
            "jpeg" => Self::Jpeg,
            "png" => Self::Png,
            "pdf" => Self::Pdf,
            "text" => Self::Text,
            _ => return Err(Error::Integrity("an evidence kind does not read")),
        })
    }

    /// The file name extension it is saved with.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Pdf => "pdf",
            Self::Text => "txt",
        }
    }

    /// The media type, for whoever saves or shows it.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
            Self::Text => "text/plain; charset=utf-8",
        }
    }
}

/// What the first bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A JPEG image.
    Jpeg,
    /// A PNG image.
    Png,
    /// A WebP image (kept as PNG).
    Webp,
    /// A PDF document.
    Pdf,
    /// Possibly plain text: checked as UTF-8 to the end as it is read.
    Text,
}

/// How many bytes [`sniff`] needs to decide (fewer is fine for a short
/// file).
pub(crate) const SNIFF_LEN: usize = 16;

/// Decides what `head` (the file's first bytes) is, or says why it is not
/// accepted, in words a volunteer can act on.
pub(crate) fn sniff(head: &[u8]) -> Result<Sniffed> {
    if head.is_empty() {
        return Err(refused("evidence_empty", "the file is empty"));
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Sniffed::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Sniffed::Png);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(Sniffed::Webp);
    }
    if head.starts_with(b"%PDF-") {
        return Ok(Sniffed::Pdf);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        if [
            b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif",
        ]
        .iter()
        .any(|b| brand == *b)
        {
            return Err(refused(
                "evidence_heic",
                "HEIC and AVIF photos are not accepted yet: on the phone, share the photo as JPEG (on an iPhone: Settings, Camera, Formats, Most Compatible), or take a screenshot of it",
            ));
        }
        return Err(refused(
            "evidence_video",
            "videos and sound recordings are not accepted: take a screenshot, or write down what was said",
        ));
    }
    if looks_like_text(head) {
        return Ok(Sniffed::Text);
    }
    Err(refused(
        "evidence_kind",
        "this kind of file is not accepted: evidence can be a photo or screenshot (JPEG, PNG, WebP), a PDF document or plain text",
    ))
}

/// Whether the bytes could begin UTF-8 text: no NUL, and no control
/// character but tab, line feed, carriage return and form feed. (The rest
/// of the file is checked as it is read.)
fn looks_like_text(head: &[u8]) -> bool {
    head.iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            // Cut in the middle of a character by the sniffing length.
            Err(e) => e.error_len().is_none(),
        }
}

/// Checks text as it streams past, across the pieces it arrives in.
#[derive(Debug, Default)]
pub(crate) struct TextCheck {
    /// The bytes of a character cut at the end of the last piece.
    carry: Vec<u8>,
}

impl TextCheck {
    /// Checks the next piece; an error says the file is not plain text.
    pub(crate) fn feed(&mut self, piece: &[u8]) -> Result<()> {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(piece);
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(not_text()),
        };
        if !looks_like_text(&bytes[..valid]) {
            return Err(not_text());
        }
        self.carry = bytes[valid..].to_vec();
        Ok(())
    }

    /// The end of the file: nothing may be left half a character.
    pub(crate) fn finish(self) -> Result<()> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(not_text())
        }
    }
}

fn not_text() -> Error {
    refused(
        "evidence_not_text",
        "this file is not plain text (it holds bytes a text file does not): evidence can be a photo or screenshot (JPEG, PNG, WebP), a PDF document or plain text",
    )
}
