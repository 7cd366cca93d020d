//! Evidence on its way to the hub (see migrations/0009_evidence_outbox.sql):
//! each item of a revision encrypted again, to the partnership, as a copy
//! with an id of its own, streamed from the desk's copy into pieces, never
//! whole in memory. The revision's payload lists the copies (with each
//! item's caption and the digest of its content, for the partnership to
//! check), and the hub is told their ids, lengths and digests (the
//! manifest) in clear.

use std::io::{Read, Write};

use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::pieces::{self, PieceReader, PieceWriter};

#[cfg(test)]
mod tests;
use super::{Kind, Label, READ_BYTES, final_report, open_desk_copy};
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};

/// An item as the revision's payload lists it for the partnership.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EvidenceEntry {
    /// The copy's id (what the hub knows it by).
    pub id: Uuid,
    /// The item's id at the desk.
    pub evidence_id: Uuid,
    /// What it is.
    pub kind: Kind,
    /// Its content's size, in bytes.
    pub size: u64,
    /// The ambassador's caption, if any.
    pub caption: Option<String>,
    /// Its content's SHA-256 (`sha-256=:…:`), checked after decryption.
    pub content_digest: String,
    /// The copy's ciphertext length, as the hub holds it.
    pub length: u64,
    /// The copy's ciphertext digest, as the hub holds it.
    pub digest: String,
}

/// The manifest the hub is told: each copy's id, length and digest.
pub(crate) fn manifest_of(entries: &[EvidenceEntry]) -> Vec<hirc_proto::EvidenceItem> {
    entries
        .iter()
        .map(|e| hirc_proto::EvidenceItem {
            id: e.id,
            length: e.length,
            digest: e.digest.clone(),
        })
        .collect()
}

/// Counts and hashes what passes on to the pieces.
struct Hashed<'c> {
    inner: PieceWriter<'c>,
    hash: Sha256,
    length: u64,
}

impl Write for Hashed<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hash.update(&bytes[..n]);
        self.length += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Desk {
    /// Makes the hub's copy of every item `holder` carries in `of_revision`
    /// (0: a draft's), for the report `report`'s revision `revision`;
    /// returns them as the payload lists them, oldest first. Earlier copies
    /// stay until the revision's upload names these ([`settle_copies`],
    /// [`keep_named_copies`]); if one item fails, the copies this call made
    /// go again.
    pub(crate) fn copies_for_hub(
        &mut self,
        s: &Session,
        recipients: &[age::x25519::Recipient],
        holder: Uuid,
        of_revision: u32,
        report: Uuid,
        revision: u32,
    ) -> Result<Vec<EvidenceEntry>> {
        let items: Vec<(Uuid, Kind, u64, Vec<u8>)> = {
            let mut stmt = self.db().prepare(
                "SELECT id, kind, size, label FROM evidence WHERE report_id = ?1 AND revision = ?2
                 ORDER BY added_at, id",
            )?;
            let rows = stmt.query_map(params![holder.to_string(), of_revision], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, kind, size, label) = row?;
                out.push((
                    Uuid::parse_str(&id).map_err(|_| Error::Integrity("an evidence id"))?,
                    Kind::from_stored(&kind)?,
                    u64::try_from(size).map_err(|_| Error::Integrity("an evidence size"))?,
                    label,
                ));
            }
            out
        };
        let mut entries: Vec<EvidenceEntry> = Vec::with_capacity(items.len());
        for item in items {
            match self.copy_for_hub(s, recipients, holder, of_revision, report, revision, item) {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    // Those made so far would only be made again by the
                    // next try: none is left behind.
                    let made: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
                    if let Err(gone) = self.write(|tx| drop_copies(tx, &made)) {
                        tracing::warn!(
                            "copies for the hub of a revision not prepared were left: {gone}"
                        );
                    }
                    return Err(e);
                }
            }
        }
        Ok(entries)
    }

    /// Makes the hub's copy of one item (see [`Desk::copies_for_hub`]).
    #[allow(clippy::too_many_arguments)]
    fn copy_for_hub(
        &mut self,
        s: &Session,
        recipients: &[age::x25519::Recipient],
        holder: Uuid,
        of_revision: u32,
        report: Uuid,
        revision: u32,
        (evidence_id, kind, size, label): (Uuid, Kind, u64, Vec<u8>),
    ) -> Result<EvidenceEntry> {
        let label: Label = serde_json::from_slice(&Zeroizing::new(
            age::decrypt(s.keys.identity(), &label)
                .map_err(|_| Error::Integrity("a caption does not open with the desk key"))?,
        ))
        .map_err(|_| Error::Integrity("a caption does not read"))?;
        if label.evidence_id != evidence_id {
            return Err(Error::Integrity("a caption belongs to other evidence"));
        }
        let copy = Uuid::now_v7();
        let header =
            hirc_proto::evidence_copy_header(copy, evidence_id, report, revision, kind.as_str());
        self.write(|tx| {
            // Still where it was listed: another process may have sealed
            // or removed it since.
            let here: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND report_id = ?2 AND revision = ?3)",
                params![evidence_id.to_string(), holder.to_string(), of_revision],
                |r| r.get(0),
            )?;
            if !here {
                return Err(Error::Conflict {
                    id: holder.to_string(),
                });
            }
            tx.execute(
                "INSERT INTO evidence_outbox (id, evidence_id, length, digest) VALUES (?1, ?2, 0, '')",
                params![copy.to_string(), evidence_id.to_string()],
            )?;
            let mut content =
                open_desk_copy(tx, s, evidence_id, final_report(tx, holder)?, kind)?;
            let encryptor = age::Encryptor::with_recipients(
                recipients.iter().map(|r| r as &dyn age::Recipient),
            )
            .map_err(|e| Error::Crypto(e.to_string()))?;
            let sink = Hashed {
                inner: PieceWriter::new(tx, pieces::Copy::Hub, copy.to_string()),
                hash: Sha256::new(),
                length: 0,
            };
            let stored = |e: std::io::Error| Error::io("preparing evidence for the hub", e);
            let mut out = encryptor
                .wrap_output(sink)
                .map_err(|e| Error::Crypto(e.to_string()))?;
            out.write_all(header.as_bytes()).map_err(stored)?;
            let mut plain = Sha256::new();
            let mut buf = Zeroizing::new(vec![0u8; READ_BYTES]);
            let mut read = 0u64;
            loop {
                let n = content.read(&mut buf[..]).map_err(super::unread)?;
                if n == 0 {
                    break;
                }
                plain.update(&buf[..n]);
                read += n as u64;
                out.write_all(&buf[..n]).map_err(stored)?;
            }
            if read != size {
                return Err(Error::Integrity("evidence is not the size it was kept as"));
            }
            let Hashed { inner, hash, length } = out.finish().map_err(stored)?;
            inner.finish().map_err(stored)?;
            let digest = hirc_proto::digest_value(&hash.finalize());
            tx.execute(
                "UPDATE evidence_outbox SET length = ?1, digest = ?2 WHERE id = ?3",
                params![length as i64, digest, copy.to_string()],
            )?;
            Ok(EvidenceEntry {
                id: copy,
                evidence_id,
                kind,
                size,
                caption: label.caption.clone(),
                content_digest: hirc_proto::digest_value(&plain.finalize()),
                length,
                digest,
            })
        })
    }

    /// Up to `most` bytes of the hub's copy `copy`, from `offset` (no
    /// unlock needed: it is ciphertext for the partnership).
    pub fn evidence_chunk_for_hub(&self, copy: Uuid, offset: u64, most: usize) -> Result<Vec<u8>> {
        let reader = PieceReader::new(self.db(), pieces::Copy::Hub, copy.to_string())
            .starting_at(offset)
            .map_err(|e| Error::io("reading evidence for the hub", e))?;
        let mut out = Vec::with_capacity(most.min(8 * 1024 * 1024));
        reader
            .take(most as u64)
            .read_to_end(&mut out)
            .map_err(|e| Error::io("reading evidence for the hub", e))?;
        Ok(out)
    }
}

/// Checked in the sealing transaction, with the desk enrolled: each item
/// the draft `holder` carries has exactly one of its copies named by the
/// manifest, and the manifest names nothing else (an item added or removed
/// by another process since the copies were made would otherwise never
/// reach the hub, or be named and never sent). Otherwise the sealing fails,
/// to be tried again. The copies not named (left by a sealing that failed,
/// or made by another process at the same time) go: no outbox row can name
/// a draft's copy, and each failed try would otherwise leave one more.
pub(crate) fn settle_copies(
    tx: &rusqlite::Connection,
    holder: Uuid,
    manifest: Option<&str>,
) -> Result<()> {
    let named: Vec<Uuid> = match manifest {
        None => Vec::new(),
        Some(header) => hirc_proto::parse_evidence_header(header)
            .ok_or(Error::Integrity("an evidence manifest does not read"))?
            .into_iter()
            .map(|i| i.id)
            .collect(),
    };
    let conflict = || Error::Conflict {
        id: holder.to_string(),
    };
    // Each item the draft carries, with the copies it has.
    let mut items: std::collections::BTreeMap<String, Vec<Uuid>> = Default::default();
    {
        let mut stmt = tx.prepare(
            "SELECT e.id, o.id FROM evidence e LEFT JOIN evidence_outbox o ON o.evidence_id = e.id
             WHERE e.report_id = ?1 AND e.revision = 0",
        )?;
        let rows = stmt.query_map([holder.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            let (item, copy) = row?;
            let copies = items.entry(item).or_default();
            if let Some(copy) = copy {
                copies
                    .push(Uuid::parse_str(&copy).map_err(|_| Error::Integrity("an evidence id"))?);
            }
        }
    }
    let one_named_each = items
        .values()
        .all(|copies| copies.iter().filter(|c| named.contains(c)).count() == 1);
    if !one_named_each || named.len() != items.len() {
        return Err(conflict());
    }
    keep_named_copies(tx, holder, 0, &named)
}

/// Once the upload of `report`'s revision `revision` names the copies
/// `named` (in the transaction that records it), its items' other copies
/// go: made for keys since replaced, or by a try that did not land. None
/// of them will be sent.
pub(crate) fn keep_named_copies(
    tx: &rusqlite::Connection,
    report: Uuid,
    revision: u32,
    named: &[Uuid],
) -> Result<()> {
    let others: Vec<Uuid> = {
        let mut stmt = tx.prepare(
            "SELECT o.id FROM evidence_outbox o JOIN evidence e ON e.id = o.evidence_id
             WHERE e.report_id = ?1 AND e.revision = ?2",
        )?;
        let rows = stmt.query_map(params![report.to_string(), revision], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            let id = Uuid::parse_str(&row?).map_err(|_| Error::Integrity("an evidence id"))?;
            if !named.contains(&id) {
                out.push(id);
            }
        }
        out
    };
    drop_copies(tx, &others)
}

/// Deletes copies for the hub (their pieces go with them), their pages
/// zeroed as every deletion's are: they may be for keys replaced because
/// they leaked, and never delivered.
pub(crate) fn drop_copies(tx: &rusqlite::Connection, copies: &[Uuid]) -> Result<()> {
    for copy in copies {
        tx.execute(
            "DELETE FROM evidence_outbox WHERE id = ?1",
            [copy.to_string()],
        )?;
    }
    Ok(())
}

/// Runs `delete`, which deletes copies for the hub that it holds (its
/// receipt checked) and nothing else, with the pages it frees left as they
/// are rather than zeroed. The store zeroes what it deletes
/// (`secure_delete`), so that what the desk key opens does not linger in
/// free pages; a delivered copy is ciphertext to the partnership's keys,
/// the very bytes the hub keeps, and zeroing it would write every byte of
/// it twice more (the log, then the store) for nothing: for a 200 MiB item,
/// most of what recording its receipt cost.
pub(crate) fn deleting_delivered_copies<T>(
    tx: &rusqlite::Connection,
    delete: impl FnOnce() -> Result<T>,
) -> Result<T> {
    /// Puts zeroing back however `delete` ends (an error, a panic).
    struct Zeroing<'c>(&'c rusqlite::Connection);
    impl Drop for Zeroing<'_> {
        fn drop(&mut self) {
            if let Err(e) = self.0.execute_batch("PRAGMA secure_delete = ON") {
                // Never expected (a pragma on an open connection); said, as
                // deletions on this connection are not zeroed until the
                // desk is opened again.
                tracing::error!("deleted pages could not be set to be zeroed again: {e}");
            }
        }
    }
    tx.execute_batch("PRAGMA secure_delete = OFF")?;
    let _zeroing = Zeroing(tx);
    delete()
}
