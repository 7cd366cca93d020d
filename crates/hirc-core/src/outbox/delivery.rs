//! Payloads and their delivery: made at sealing, sent by the worker,
//! recorded under a checked receipt or a refusal.

use chrono::{DateTime, Utc};
use hirc_proto::sign::verify_receipt;
use hirc_proto::{Receipt, content_digest};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::*;
use crate::audit::{self, AuditAction};
use crate::columns::{Columns, TextId};
use crate::desk::{Desk, ReportRow, Session, require_coordinator};
use crate::envelope;
use crate::error::{Error, Result};
use crate::evidence::EvidenceEntry;
use crate::model::{Consent, Report, ReportMeta};
use crate::time;

#[derive(Serialize)]
pub(super) struct UploadPlain<'a> {
    format: &'static str,
    schema: u32,
    report_id: Uuid,
    revision: u32,
    reference: Option<&'a str>,
    centre_code: &'a str,
    centre_name: &'a str,
    desk_id: Uuid,
    ambassador: Uuid,
    taken_at: DateTime<Utc>,
    #[serde(serialize_with = "time::as_text_opt")]
    sealed_at: Option<DateTime<Utc>>,
    // Consent first: the partnership reads it before anything else.
    consent: &'a Consent,
    report: &'a Report,
    /// The revision's evidence, each item's copy as the hub holds it.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    evidence: &'a [EvidenceEntry],
}

/// A revision's payload, and its evidence manifest (the `hirc-evidence`
/// header; `None` without evidence).
pub(crate) type Prepared = (Vec<u8>, Option<String>);

/// A revision being sealed, ready to queue: its payload and manifest when
/// the desk is enrolled (none otherwise: made when it enrols).
pub(crate) struct SealedUpload {
    holder: Uuid,
    prepared: Option<Prepared>,
    /// The recipients it was encrypted to, as the hub row keeps them.
    recipients: String,
}

impl SealedUpload {
    /// Queues the revision in the sealing transaction `tx`. With the desk
    /// enrolled, the items the draft carries must be exactly those whose
    /// copies the manifest names (another process may have added or removed
    /// one since the copies were made), and the partnership's keys still
    /// those it was encrypted to (another process may have re-enrolled the
    /// desk because a key leaked): otherwise the sealing fails, to be tried
    /// again.
    pub(crate) fn queue(
        &self,
        tx: &rusqlite::Connection,
        report_id: Uuid,
        revision: u32,
        queued_at: &str,
    ) -> Result<()> {
        let (payload, manifest) = match &self.prepared {
            Some((payload, manifest)) => {
                let keys: Option<String> = tx
                    .query_row("SELECT recipients FROM hub", [], |r| r.get(0))
                    .optional()?;
                if keys.as_deref() != Some(self.recipients.as_str()) {
                    return Err(Error::Conflict {
                        id: self.holder.to_string(),
                    });
                }
                crate::evidence::settle_copies(tx, self.holder, manifest.as_deref())?;
                (Some(payload), manifest.as_deref())
            }
            None => (None, None),
        };
        tx.execute(
            "INSERT INTO outbox (report_id, revision, payload, queued_at, evidence) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![report_id.to_string(), revision, payload, queued_at, manifest],
        )?;
        Ok(())
    }
}

/// The partnership's recipients as the hub row keeps them (to check, when
/// a payload is stored, that they are still the ones it was made for).
fn recipients_text(link: &HubLink) -> Result<String> {
    serde_json::to_string(&link.recipients).map_err(|e| Error::Crypto(e.to_string()))
}

/// The partnership's recipients, as keys.
fn recipient_keys(link: &HubLink) -> Result<Vec<age::x25519::Recipient>> {
    link.recipients
        .iter()
        .map(|r| {
            r.parse()
                .map_err(|_| Error::Integrity("a pinned recipient is not a key"))
        })
        .collect()
}

/// An outbox row as `record_delivery` reads it: payload, delivered at,
/// receipt checked, earlier digests, evidence manifest.
pub(super) type HeldUpload = (
    Option<Vec<u8>>,
    Option<String>,
    bool,
    String,
    Option<String>,
);

/// The payload for one sealed revision: the report with its consent first,
/// encrypted to every pinned recipient.
#[allow(clippy::too_many_arguments)]
pub(super) fn payload_for(
    desk: &Desk,
    link: &HubLink,
    report_id: Uuid,
    revision: u32,
    reference: Option<&str>,
    sealed_at: Option<DateTime<Utc>>,
    meta: &ReportMeta,
    report: &Report,
    evidence: &[EvidenceEntry],
) -> Result<Prepared> {
    let recipients = recipient_keys(link)?;
    let plain = Zeroizing::new(
        serde_json::to_vec(&UploadPlain {
            format: UPLOAD_FORMAT,
            schema: UPLOAD_SCHEMA_VERSION,
            report_id,
            revision,
            reference,
            centre_code: &desk.info().centre_code,
            centre_name: &desk.info().centre_name,
            desk_id: desk.info().desk_id,
            ambassador: meta.ambassador,
            taken_at: meta.taken_at,
            sealed_at,
            consent: &report.consent,
            report,
            evidence,
        })
        .map_err(|e| Error::Crypto(e.to_string()))?,
    );
    let manifest = (!evidence.is_empty())
        .then(|| hirc_proto::evidence_header(&crate::evidence::manifest_of(evidence)));
    Ok((envelope::encrypt_to_all(&recipients, &plain)?, manifest))
}

impl Desk {
    /// Encrypts, for the hub's recipients, every sealed revision that has
    /// no payload yet (reports sealed before enrolment, or after the
    /// partnership's keys were replaced). Returns how many were prepared
    /// (0 when not enrolled).
    pub fn prepare_uploads(&mut self, s: &Session) -> Result<usize> {
        self.check_session(s)?;
        let Some(link) = self.hub()? else {
            return Ok(0);
        };
        let pending: Vec<(TextId, u32)> = {
            // Delivered rows lose their payload when retention purges
            // them: only undelivered ones are ever (re)encrypted.
            let mut stmt = self.db().prepare(
                "SELECT o.report_id, o.revision FROM outbox o JOIN reports r ON r.id = o.report_id
                 WHERE o.payload IS NULL AND o.delivered_at IS NULL AND r.set_aside_at IS NULL
                 ORDER BY o.queued_at",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut prepared = 0;
        for (TextId(id), revision) in pending {
            let row = self.row(id)?;
            // A body that will not open is set aside (by `open_body`) and
            // the others go on.
            let (meta, report) = match self.open_body(s, &row) {
                Ok(opened) => opened,
                Err(e) if e.is_damage() => continue,
                Err(e) => return Err(e),
            };
            let report = report.unwrap_or_default();
            let evidence = match self.copies_for_hub(
                s,
                &recipient_keys(&link)?,
                id,
                revision,
                id,
                revision,
            ) {
                Ok(evidence) => evidence,
                // A damaged item holds back its report, not the others:
                // set aside, so that a coordinator sees why it waits
                // (rather than every unlock trying it again, unseen).
                Err(e) if e.is_damage() => {
                    tracing::error!(report = %id, "its evidence does not open, so it is not prepared for the hub: {e}");
                    self.set_aside(id, &e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (payload, manifest) = payload_for(
                self,
                &link,
                id,
                revision,
                row.reference.as_deref(),
                row.sealed_at,
                &meta,
                &report,
                &evidence,
            )?;
            // Only for the recipients it was made for: if a re-enrolment
            // replaced them meanwhile (another process), it is made again.
            let recipients = recipients_text(&link)?;
            let made: Vec<Uuid> = evidence.iter().map(|e| e.id).collect();
            self.write(|tx| {
                let stored = tx.execute(
                    "UPDATE outbox SET payload = ?1, evidence = ?5
                     WHERE report_id = ?2 AND revision = ?3 AND payload IS NULL AND delivered_at IS NULL
                       AND (SELECT recipients FROM hub) = ?4",
                    params![payload, id.to_string(), revision, recipients, manifest],
                )?;
                if stored == 1 {
                    // Copies for keys since replaced, or from a try that
                    // did not land, are never sent.
                    crate::evidence::keep_named_copies(tx, id, revision, &made)
                } else {
                    // Prepared meanwhile by another process, or for keys
                    // already replaced: these are never sent.
                    crate::evidence::drop_copies(tx, &made)
                }
            })?;
            prepared += 1;
        }
        if prepared > 0 {
            tracing::info!(count = prepared, "reports encrypted for the hub");
        }
        Ok(prepared)
    }

    /// The payload for a revision being sealed now, and its evidence
    /// manifest, if the desk is enrolled (sealing prepares the upload at
    /// once, so sending it needs no passphrase). The evidence is what the
    /// draft `holder` carries: each item's copy for the hub is made now.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn payload_at_sealing(
        &mut self,
        s: &Session,
        holder: Uuid,
        row: &ReportRow,
        revision: u32,
        reference: &str,
        sealed_at: DateTime<Utc>,
        meta: &ReportMeta,
        report: &Report,
    ) -> Result<SealedUpload> {
        let Some(link) = self.hub()? else {
            return Ok(SealedUpload {
                holder,
                prepared: None,
                recipients: String::new(),
            });
        };
        let recipients = recipients_text(&link)?;
        let evidence =
            self.copies_for_hub(s, &recipient_keys(&link)?, holder, 0, row.id, revision)?;
        payload_for(
            self,
            &link,
            row.id,
            revision,
            Some(reference),
            Some(sealed_at),
            meta,
            report,
            &evidence,
        )
        .map(|prepared| SealedUpload {
            holder,
            prepared: Some(prepared),
            recipients,
        })
    }

    /// Uploads to make now: waiting (or delivered before receipts were
    /// signed and not yet checked), not refused, and (unless
    /// `ignore_backoff`, for an explicit "sync now") past their next
    /// attempt. No unlock needed: payloads are ciphertext for the hub.
    pub fn due_uploads(&self, now: DateTime<Utc>, ignore_backoff: bool) -> Result<Vec<Upload>> {
        let can_check = self.hub()?.is_some_and(|link| link.receipt_key.is_some());
        let mut stmt = self.db().prepare_cached(
            "SELECT report_id, revision, payload, attempts, evidence FROM outbox
             WHERE payload IS NOT NULL AND failed_permanently = 0
               AND (delivered_at IS NULL OR (receipt_checked = 0 AND ?3))
               AND (?1 OR next_attempt_at IS NULL OR next_attempt_at <= ?2)
             ORDER BY queued_at",
        )?;
        let rows = stmt.query_map(
            params![ignore_backoff, time::to_text(now), can_check],
            |r| {
                Ok((
                    Upload {
                        report_id: r.id(0)?,
                        revision: r.get(1)?,
                        payload: r.get(2)?,
                        attempts: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
                        evidence: Vec::new(),
                    },
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )?;
        let mut due = Vec::new();
        for row in rows {
            let (mut upload, manifest) = row?;
            if let Some(header) = manifest {
                // One row's damage holds back that row, never the others.
                let Some(items) = hirc_proto::parse_evidence_header(&header) else {
                    tracing::error!(report = %upload.report_id, "a stored evidence manifest does not read; that report is not sent");
                    continue;
                };
                upload.evidence = items;
            }
            due.push(upload);
        }
        Ok(due)
    }

    /// Checks the hub's receipt and, only if it holds, marks the report
    /// delivered: the signature verifies under the pinned receipt key, it
    /// names this report and revision, it names this desk (now or under an
    /// earlier enrolment), and its digest is of bytes this desk itself made
    /// for that revision (the payload it holds, or one it made before the
    /// partnership's keys were replaced). So bytes someone else put under
    /// this desk's name (with a stolen token) never count. Recording the
    /// same receipt again changes nothing. No unlock needed.
    pub fn record_delivery(
        &mut self,
        report_id: Uuid,
        revision: u32,
        receipt: &Receipt,
    ) -> Result<Delivery> {
        let link = self
            .hub()?
            .ok_or_else(|| Error::ReceiptRefused("this desk is not enrolled with a hub".into()))?;
        let key = link.receipt_key.as_deref().ok_or_else(|| {
            Error::ReceiptRefused("no receipt key is pinned for this hub yet".into())
        })?;
        verify_receipt(key, receipt)
            .map_err(|e| Error::ReceiptRefused(format!("its signature does not check ({e})")))?;
        if receipt.report_id != report_id || receipt.revision != revision {
            return Err(Error::ReceiptRefused("it is for another report".into()));
        }
        if !link.is_ours(receipt.device_id) {
            return Err(Error::ReceiptRefused("it is for another desk".into()));
        }
        let held: Option<HeldUpload> = self
            .db()
            .query_row(
                "SELECT payload, delivered_at, receipt_checked, earlier_digests, evidence FROM outbox
                 WHERE report_id = ?1 AND revision = ?2",
                params![report_id.to_string(), revision],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((payload, delivered_at, checked, earlier, manifest)) = held else {
            return Err(Error::ReceiptRefused(
                "this desk sent no such report".into(),
            ));
        };
        if checked {
            return Ok(Delivery::AlreadyRecorded);
        }
        let current = payload.as_deref().map(content_digest);
        let earlier: Vec<String> = serde_json::from_str(&earlier).unwrap_or_default();
        let earlier_encryption = earlier.contains(&receipt.digest);
        if current.as_deref() != Some(receipt.digest.as_str()) && !earlier_encryption {
            return Err(Error::ForeignBytes);
        }
        // The hub signed that it holds every item of evidence, whole: the
        // manifest's digest must be of this revision's items. (A receipt for
        // an earlier encryption names that encryption's copies.)
        if manifest.is_some() && receipt.evidence.is_none() {
            return Err(Error::ReceiptRefused(
                "it does not say the hub holds this report's evidence".into(),
            ));
        }
        if !earlier_encryption && let Some(header) = manifest.as_deref() {
            let items = hirc_proto::parse_evidence_header(header)
                .ok_or(Error::Integrity("a stored evidence manifest does not read"))?;
            if receipt.evidence.as_deref()
                != Some(hirc_proto::evidence_manifest_digest(&items).as_str())
            {
                return Err(Error::ReceiptRefused(
                    "it does not say the hub holds this report's evidence".into(),
                ));
            }
        }
        let kept = DeliveryReceipt {
            receipt_id: receipt.receipt_id,
            digest: receipt.digest.clone(),
            received_at: receipt.received_at,
            device_id: receipt.device_id,
            signature: receipt.signature.clone(),
        };
        let json = serde_json::to_string(&kept).map_err(|e| Error::Crypto(e.to_string()))?;
        let now = self.now_text();
        let detail = match (earlier_encryption, delivered_at.is_some()) {
            (true, _) => format!(
                "{} (an earlier encryption of this revision)",
                kept.receipt_id
            ),
            (false, true) => format!("{} (checked after an earlier delivery)", kept.receipt_id),
            (false, false) => kept.receipt_id.to_string(),
        };
        self.write(|tx| {
            // Guarded, so the app's worker and the login service recording the
            // same receipt at once record it (and audit it) once.
            let n = tx.execute(
                "UPDATE outbox SET receipt = ?1, delivered_at = coalesce(delivered_at, ?2), receipt_checked = 1,
                        last_error = NULL, next_attempt_at = NULL, failed_permanently = 0
                 WHERE report_id = ?3 AND revision = ?4 AND receipt_checked = 0",
                params![json, now, report_id.to_string(), revision],
            )?;
            if n == 0 {
                return Ok(Delivery::AlreadyRecorded);
            }
            // Delivered only when its latest revision is: a receipt for an
            // earlier one leaves a follow-up still waiting as it is.
            tx.execute(
                "UPDATE reports SET state = 'delivered', delivered_at = ?1
                 WHERE id = ?2 AND state = 'sealed' AND revision = ?3",
                params![now, report_id.to_string(), revision],
            )?;
            // The hub holds the evidence: its copies for the hub go.
            crate::evidence::deleting_delivered_copies(tx, || {
                Ok(tx.execute(
                    "DELETE FROM evidence_outbox WHERE evidence_id IN
                       (SELECT id FROM evidence WHERE report_id = ?1 AND revision = ?2)",
                    params![report_id.to_string(), revision],
                )?)
            })?;
            audit::append(tx, None, AuditAction::Delivered, Some(&report_id.to_string()), Some(&detail))?;
            Ok(Delivery::Recorded)
        })
    }

    /// Records a failed attempt. `retry_at: None` means the hub refused it
    /// for good: it stops being retried and a coordinator is told why. No
    /// unlock needed.
    pub fn record_upload_failure(
        &mut self,
        report_id: Uuid,
        revision: u32,
        reason: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let reason = tidy_reason(reason);
        let reason = reason.as_str();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, next_attempt_at = ?2,
                        failed_permanently = ?3
                 WHERE report_id = ?4 AND revision = ?5 AND receipt_checked = 0",
                params![
                    reason,
                    retry_at.map(time::to_text),
                    retry_at.is_none(),
                    report_id.to_string(),
                    revision
                ],
            )?;
            if n == 1 && retry_at.is_none() {
                audit::append(
                    tx,
                    None,
                    AuditAction::UploadRefused,
                    Some(&report_id.to_string()),
                    Some(reason),
                )?;
            }
            Ok(())
        })
    }

    /// Puts every refused upload back in the queue (after the cause, such as
    /// a revoked device, has been put right).
    pub fn retry_refused(&mut self, s: &Session) -> Result<usize> {
        self.check_session(s)?;
        require_coordinator(s, "retrying refused uploads")?;
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET failed_permanently = 0, next_attempt_at = NULL WHERE failed_permanently = 1 AND receipt_checked = 0",
                [],
            )?)
        })
    }

    /// Counts for the sync status.
    pub fn outbox_summary(&self) -> Result<OutboxSummary> {
        Ok(self.db().query_row(
            "SELECT
                count(*) FILTER (WHERE delivered_at IS NULL AND payload IS NOT NULL AND failed_permanently = 0),
                count(*) FILTER (WHERE delivered_at IS NULL AND payload IS NULL),
                count(*) FILTER (WHERE delivered_at IS NULL AND failed_permanently = 1),
                count(*) FILTER (WHERE delivered_at IS NOT NULL),
                count(*) FILTER (WHERE delivered_at IS NOT NULL AND receipt_checked = 0 AND payload IS NOT NULL),
                max(delivered_at),
                (SELECT last_error FROM outbox WHERE delivered_at IS NULL AND last_error IS NOT NULL
                   ORDER BY failed_permanently DESC, queued_at LIMIT 1),
                min(next_attempt_at) FILTER (WHERE delivered_at IS NULL AND failed_permanently = 0),
                (SELECT count(*) FROM erasures WHERE notice IS NOT NULL AND receipt IS NULL)
             FROM outbox",
            [],
            |r| {
                Ok(OutboxSummary {
                    waiting: r.get(0)?,
                    waiting_for_enrolment: r.get(1)?,
                    refused: r.get(2)?,
                    delivered: r.get(3)?,
                    unchecked: r.get(4)?,
                    last_delivered_at: r.time_opt(5)?,
                    last_error: r.get(6)?,
                    next_attempt_at: r.time_opt(7)?,
                    erasures_waiting: r.get(8)?,
                })
            },
        )?)
    }

    /// Where each report's latest revision stands in the outbox.
    pub(crate) fn upload_states(&self) -> Result<std::collections::HashMap<Uuid, UploadState>> {
        self.read_upload_states(None)
    }

    /// Where one report's latest revision stands (`None` while a draft).
    pub(crate) fn upload_state(&self, report_id: Uuid) -> Result<Option<UploadState>> {
        Ok(self.read_upload_states(Some(report_id))?.remove(&report_id))
    }

    fn read_upload_states(
        &self,
        only: Option<Uuid>,
    ) -> Result<std::collections::HashMap<Uuid, UploadState>> {
        let mut stmt = self.db().prepare_cached(
            "SELECT o.report_id, o.receipt, o.attempts, o.last_error, o.failed_permanently, o.next_attempt_at,
                    o.receipt_checked
             FROM outbox o JOIN reports r ON r.id = o.report_id AND r.revision = o.revision
             WHERE ?1 IS NULL OR o.report_id = ?1",
        )?;
        let rows = stmt.query_map([only.map(|id| id.to_string())], |r| {
            Ok((
                r.id(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.time_opt(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (id, receipt, attempts, last_error, refused, next, checked) = row?;
            let receipt = receipt
                .map(|j| {
                    serde_json::from_str(&j)
                        .map_err(|_| Error::Integrity("a stored receipt is unreadable"))
                })
                .transpose()?;
            out.insert(
                id,
                UploadState {
                    receipt,
                    checked,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    last_error,
                    refused,
                    next_attempt_at: next,
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestHub, desk_with_draft};

    /// Sealing makes the payload, then queues it: another process that
    /// re-enrols the desk in between (the partnership's key leaked) must
    /// not see a payload for the old keys queued after its own change.
    #[test]
    fn a_payload_made_for_keys_replaced_meanwhile_is_not_queued() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut desk, s, id) = desk_with_draft(dir.path());
        let old = TestHub::new();
        old.enrol(&mut desk, &s);
        let made_for = |hub: &TestHub| SealedUpload {
            holder: id,
            prepared: Some((b"a payload".to_vec(), None)),
            recipients: serde_json::to_string(&hub.recipients()).expect("json"),
        };
        let sealing = made_for(&old);
        let new = TestHub {
            device_id: old.device_id,
            ..TestHub::new()
        };
        new.enrol_result(&mut desk, &s, true)
            .expect("enrolled again");
        let queued = desk.write(|tx| sealing.queue(tx, id, 1, "2026-12-05T05:00:00Z"));
        assert!(matches!(queued, Err(Error::Conflict { .. })), "{queued:?}");
        // Made again, for the keys now pinned, it is queued.
        desk.write(|tx| made_for(&new).queue(tx, id, 1, "2026-12-05T05:00:00Z"))
            .expect("queued");
    }
}
