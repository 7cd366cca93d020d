//! A picture's thumbnail, for the report form's list of evidence: decoded
//! from the desk's copy in memory and encoded small, never written.

use std::io::{Cursor, Read};

use uuid::Uuid;
use zeroize::Zeroizing;

use super::Kind;
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};

impl Desk {
    /// A PNG of a picture item at most `side` pixels a side (its report's
    /// owner or a coordinator; audited as opening it is, for a submitted
    /// report); `None` for a document or text.
    pub fn evidence_thumbnail(
        &mut self,
        s: &Session,
        evidence: Uuid,
        side: u32,
    ) -> Result<Option<Vec<u8>>> {
        let format = match self.evidence_kind(s, evidence)? {
            Kind::Jpeg => image::ImageFormat::Jpeg,
            Kind::Png => image::ImageFormat::Png,
            Kind::Pdf | Kind::Text => return Ok(None),
        };
        // A picture is at most 64 MiB as kept (it was decoded once, within
        // the pixel limit, when it was added).
        let mut bytes = Zeroizing::new(Vec::new());
        self.open_evidence(s, evidence)?
            .read_to_end(&mut bytes)
            .map_err(|_| Error::Integrity("evidence does not open with the desk key"))?;
        let picture = image::load_from_memory_with_format(&bytes, format)
            .map_err(|_| Error::Integrity("a kept picture does not decode"))?;
        let mut out = Cursor::new(Vec::new());
        picture
            .thumbnail(side.max(1), side.max(1))
            .write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| Error::Crypto(format!("a thumbnail could not be made: {e}")))?;
        Ok(Some(out.into_inner()))
    }
}
