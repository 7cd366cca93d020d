//! The USB path: an outbox file carried to the hub by hand, and the
//! receipt file carried back.

use hirc_proto::{
    OUTBOX_FILE_FORMAT, OutboxEntry, OutboxEvidence, OutboxFile, RECEIPT_FILE_FORMAT, ReceiptFile,
    content_digest, encode_payload,
};

use super::*;
use crate::desk::{Desk, Session, require_coordinator};
use crate::error::{Error, Result};

/// The most an outbox file carries (base64 included): `hirc-hub import`
/// reads at most 512 MiB; what is left goes on the next stick. (Smaller
/// in this crate's tests, so that they need not write hundreds of MiB.)
const MOST_IN_A_FILE: u64 = if cfg!(test) { 4 } else { 400 } * 1024 * 1024;

/// The length of `n` bytes in base64, as the file carries them.
fn encoded_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

/// An outbox file, and what it could not carry.
#[derive(Debug)]
pub struct OutboxExport {
    /// The file, signed.
    pub file: OutboxFile,
    /// Reports waiting that go in the next file (this one is full, or
    /// their evidence could not be read just now).
    pub next_file: usize,
    /// Reports (their references) whose revision alone is larger than a
    /// file can carry: they can go over the network only.
    pub too_large: Vec<String>,
}

impl Desk {
    /// Everything waiting, evidence included, as a file to carry to the hub
    /// by hand, signed
    /// with the desk's device key so the hub can tell it came from this
    /// desk (coordinators; audited).
    pub fn outbox_file(&mut self, s: &Session) -> Result<OutboxExport> {
        self.check_session(s)?;
        require_coordinator(s, "carrying the outbox by hand")?;
        let link = self.hub()?.ok_or_else(|| {
            Error::InvalidInput("this desk is not enrolled with a hub yet".into())
        })?;
        let registered: bool =
            self.db()
                .query_row("SELECT device_key_registered FROM hub", [], |r| r.get(0))?;
        if !registered {
            return Err(Error::InvalidInput(
                "this desk was enrolled before outbox files were signed, so the hub could not tell that a file came from it; enrol the desk again (a new code or enrolment file), then export".into(),
            ));
        }
        let key = self.device_key(s)?;
        self.prepare_uploads(s)?;
        let waiting = self.due_uploads(self.now(), true)?;
        let mut carried = 0u64;
        let mut reports = Vec::new();
        let mut next_file = 0;
        let mut too_large = Vec::new();
        for u in &waiting {
            // Its size as carried is known from its manifest: one that
            // cannot fit is never read (nor held in memory).
            let size = encoded_len(u.payload.len() as u64)
                + u.evidence
                    .iter()
                    .map(|i| encoded_len(i.length))
                    .sum::<u64>();
            if size > MOST_IN_A_FILE {
                // Never in any file: it would make every file refused.
                tracing::warn!(report = %u.report_id, "too large for an outbox file ({size} bytes): it can go over the network only");
                too_large.push(u.report_id);
                continue;
            }
            if carried + size > MOST_IN_A_FILE {
                next_file += 1;
                continue;
            }
            match self.outbox_entry(u) {
                Ok(entry) => {
                    carried += size;
                    reports.push(entry);
                }
                // One report whose evidence cannot be read (its copies
                // deleted by a delivery a moment ago, or damaged) stays
                // out; the others go.
                Err(e) => {
                    tracing::warn!(report = %u.report_id, "left out of the outbox file: {e}");
                    next_file += 1;
                }
            }
        }
        // Named by reference (once each), read before anything is
        // signed or audited: an export that fails leaves no record.
        let mut named = Vec::new();
        for id in too_large {
            let reference = self
                .row(id)
                .ok()
                .and_then(|row| row.reference)
                .unwrap_or_else(|| id.to_string());
            if !named.contains(&reference) {
                named.push(reference);
            }
        }
        let mut file = OutboxFile {
            format: OUTBOX_FILE_FORMAT.into(),
            device_id: link.device_id,
            created_at: self.now(),
            reports,
            // Each notice was signed when its report was erased.
            erasures: self.pending_erasures()?,
            signature: None,
        };
        key.sign_outbox(&mut file);
        self.record_export(
            s,
            &format!(
                "outbox file with {} report(s) and {} erasure(s)",
                file.reports.len(),
                file.erasures.len()
            ),
        )?;
        Ok(OutboxExport {
            file,
            next_file,
            too_large: named,
        })
    }

    /// One waiting upload as an outbox file carries it: the payload, and
    /// each item whole, checked against its manifest.
    fn outbox_entry(&self, u: &Upload) -> Result<OutboxEntry> {
        Ok(OutboxEntry {
            report_id: u.report_id,
            revision: u.revision,
            digest: content_digest(&u.payload),
            payload: encode_payload(&u.payload),
            // Each item whole, as the network sends it in chunks before
            // the revision.
            evidence: u
                .evidence
                .iter()
                .map(|item| {
                    let bytes = self.evidence_chunk_for_hub(
                        item.id,
                        0,
                        usize::try_from(item.length).unwrap_or(usize::MAX),
                    )?;
                    if bytes.len() as u64 != item.length || content_digest(&bytes) != item.digest {
                        return Err(Error::Integrity(
                            "evidence for the hub is not what its manifest says",
                        ));
                    }
                    Ok(OutboxEvidence {
                        id: item.id,
                        length: item.length,
                        digest: item.digest.clone(),
                        payload: encode_payload(&bytes),
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Applies a receipt file carried back from the hub: each receipt is
    /// checked like one that came over the network, and a forged one, one
    /// for another desk, or one for nothing this desk sent is refused and
    /// listed (coordinators).
    pub fn apply_receipt_file(
        &mut self,
        s: &Session,
        file: &ReceiptFile,
    ) -> Result<ReceiptFileOutcome> {
        self.check_session(s)?;
        require_coordinator(s, "recording receipts from a file")?;
        if file.format != RECEIPT_FILE_FORMAT {
            return Err(Error::InvalidInput("that is not a receipt file".into()));
        }
        let link = self.hub()?.ok_or_else(|| {
            Error::InvalidInput("this desk is not enrolled with a hub yet".into())
        })?;
        if !link.is_ours(Some(file.device_id)) {
            return Err(Error::InvalidInput(format!(
                "these receipts are for device {}, not this desk ({})",
                file.device_id, link.device_id
            )));
        }
        let mut outcome = ReceiptFileOutcome::default();
        for r in &file.receipts {
            match self.record_delivery(r.report_id, r.revision, r) {
                Ok(Delivery::Recorded) => outcome.recorded += 1,
                Ok(Delivery::AlreadyRecorded) => outcome.already += 1,
                Err(Error::ReceiptRefused(why)) => {
                    tracing::warn!(report = %r.report_id, "a receipt in a file was refused: {why}");
                    outcome.refused.push((r.report_id, why));
                }
                Err(e @ Error::ForeignBytes) => {
                    tracing::warn!(report = %r.report_id, "a receipt in a file was refused: {e}");
                    outcome.refused.push((r.report_id, e.to_string()));
                }
                Err(other) => return Err(other),
            }
        }
        for r in &file.erasures {
            if self.record_erasure_receipt(r)? {
                outcome.erasures_confirmed += 1;
            } else {
                outcome.refused.push((
                    r.report_id,
                    "an erasure receipt that is not the hub's, or for no erasure this desk is waiting on".into(),
                ));
            }
        }
        Ok(outcome)
    }
}
