//! An item's ciphertext as numbered pieces of at most [`PIECE_BYTES`]:
//! written as age produces it and read back as age asks for it, so neither
//! holds a whole file in memory.

use std::io::{self, Read, Write};

use rusqlite::{Connection, OptionalExtension, params};

/// The largest piece stored in one row.
pub(crate) const PIECE_BYTES: usize = 1024 * 1024;

/// Which copy the pieces are of.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Copy {
    /// The desk's own, encrypted to the desk key.
    Desk,
    /// The one for the hub, encrypted to the partnership.
    Hub,
}

impl Copy {
    fn insert(self) -> &'static str {
        match self {
            Self::Desk => {
                "INSERT INTO evidence_pieces (evidence_id, seq, bytes) VALUES (?1, ?2, ?3)"
            }
            Self::Hub => {
                "INSERT INTO evidence_outbox_pieces (outbox_id, seq, bytes) VALUES (?1, ?2, ?3)"
            }
        }
    }

    fn select(self) -> &'static str {
        match self {
            Self::Desk => "SELECT bytes FROM evidence_pieces WHERE evidence_id = ?1 AND seq = ?2",
            Self::Hub => {
                "SELECT bytes FROM evidence_outbox_pieces WHERE outbox_id = ?1 AND seq = ?2"
            }
        }
    }
}

/// Takes ciphertext and stores it as pieces of `evidence_id`, in the
/// transaction it was given (the caller commits all of it or none).
pub(crate) struct PieceWriter<'c> {
    conn: &'c Connection,
    copy: Copy,
    evidence_id: String,
    seq: i64,
    buf: Vec<u8>,
}

impl<'c> PieceWriter<'c> {
    pub(crate) fn new(conn: &'c Connection, copy: Copy, evidence_id: String) -> Self {
        Self {
            conn,
            copy,
            evidence_id,
            seq: 0,
            buf: Vec::with_capacity(PIECE_BYTES),
        }
    }

    fn store(&mut self, piece: &[u8]) -> io::Result<()> {
        self.conn
            .prepare_cached(self.copy.insert())
            .and_then(|mut stmt| stmt.execute(params![self.evidence_id, self.seq, piece]))
            .map_err(io::Error::other)?;
        self.seq += 1;
        Ok(())
    }

    /// Stores what is left; returns how many pieces there are.
    pub(crate) fn finish(mut self) -> io::Result<i64> {
        if !self.buf.is_empty() {
            let last = std::mem::take(&mut self.buf);
            self.store(&last)?;
        }
        Ok(self.seq)
    }
}

impl Write for PieceWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = PIECE_BYTES - self.buf.len();
        let taken = bytes.len().min(room);
        self.buf.extend_from_slice(&bytes[..taken]);
        if self.buf.len() == PIECE_BYTES {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE_BYTES));
            self.store(&full)?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads the pieces of `evidence_id` back in order, one at a time.
pub(crate) struct PieceReader<'c> {
    conn: &'c Connection,
    copy: Copy,
    evidence_id: String,
    seq: i64,
    piece: Vec<u8>,
    at: usize,
}

impl<'c> PieceReader<'c> {
    pub(crate) fn new(conn: &'c Connection, copy: Copy, evidence_id: String) -> Self {
        Self {
            conn,
            copy,
            evidence_id,
            seq: 0,
            piece: Vec::new(),
            at: 0,
        }
    }

    /// Starts at byte `offset` (pieces are [`PIECE_BYTES`] each but the
    /// last): only the piece it falls in is read.
    pub(crate) fn starting_at(mut self, offset: u64) -> io::Result<Self> {
        self.seq = i64::try_from(offset / PIECE_BYTES as u64).map_err(io::Error::other)?;
        let skip = (offset % PIECE_BYTES as u64) as usize;
        if skip > 0 {
            let mut first = vec![0u8; skip];
            self.read_exact(&mut first)?;
        }
        Ok(self)
    }
}

impl Read for PieceReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.piece.len() {
            let next: Option<Vec<u8>> = self
                .conn
                .prepare_cached(self.copy.select())
                .and_then(|mut stmt| {
                    stmt.query_row(params![self.evidence_id, self.seq], |r| r.get(0))
                        .optional()
                })
                .map_err(io::Error::other)?;
            match next {
                // The end: age itself says whether the stream was whole.
                None => return Ok(0),
                Some(piece) => {
                    self.piece = piece;
                    self.at = 0;
                    self.seq += 1;
                }
            }
        }
        let n = out.len().min(self.piece.len() - self.at);
        out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
