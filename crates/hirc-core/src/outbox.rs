//! The outbox: enrolment with a hub, and the bookkeeping of uploads.
//!
//! Words used here:
//! - **link**: the hub this desk is enrolled with (URL, device id, pinned
//!   recipients; the token encrypted to the desk key).
//! - **payload**: a sealed revision encrypted for the hub's recipients. It is
//!   made once and kept, so every retry sends the same bytes and the hub
//!   answers a repeat with the same receipt: a crash between the hub's commit
//!   and ours costs nothing.
//! - **due**: waiting, not refused, and past its next attempt time.
//!
//! The sync worker (`hirc-sync`) drives this; nothing here does any I/O but
//! the store.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{self, AuditAction};
use crate::desk::{Desk, Session, require_coordinator};
use crate::envelope;
use crate::error::{Error, Result, classify_sqlite};
use crate::model::{Consent, Report};
use crate::time;
use crate::vault::encrypt_to;

/// The most of a failure's reason that is kept (characters).
pub const MAX_REASON_CHARS: usize = 300;

/// A failure's reason made safe to show, log and store: whatever a hub (or
/// something pretending to be one) said, it becomes one short line with no
/// control characters, so no terminal escape and no megabyte reaches the
/// outbox, the audit log or a screen.
pub fn tidy_reason(text: &str) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= MAX_REASON_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// The format written inside every payload (what the partnership decrypts).
pub const UPLOAD_FORMAT: &str = "hirc-upload";
/// Its version.
pub const UPLOAD_SCHEMA_VERSION: u32 = 1;

/// The hub this desk is enrolled with (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubLink {
    /// The hub's base URL.
    pub url: String,
    /// Its name.
    pub hub_name: String,
    /// This desk's id at the hub.
    pub device_id: Uuid,
    /// The partnership's recipients that payloads are encrypted to.
    pub recipients: Vec<String>,
    /// A private certificate authority (PEM) to trust for this hub, if any.
    pub ca_pem: Option<String>,
    /// When the desk enrolled.
    pub enrolled_at: String,
}

/// The link and its bearer token, for the sync worker.
pub struct HubCredentials {
    /// The link.
    pub link: HubLink,
    token: Zeroizing<String>,
}

impl HubCredentials {
    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for HubCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubCredentials")
            .field("link", &self.link)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What the hub said at enrolment.
pub struct Enrolment<'a> {
    /// The hub's base URL.
    pub url: &'a str,
    /// Its name.
    pub hub_name: &'a str,
    /// This desk's id at the hub.
    pub device_id: Uuid,
    /// The bearer token.
    pub token: &'a str,
    /// The partnership's recipients.
    pub recipients: &'a [String],
    /// A private certificate authority (PEM) to trust for this hub.
    pub ca_pem: Option<&'a str>,
}

/// One upload to make.
#[derive(Clone)]
pub struct Upload {
    /// The report.
    pub report_id: Uuid,
    /// The revision.
    pub revision: u32,
    /// The ciphertext for the hub.
    pub payload: Vec<u8>,
    /// Attempts so far.
    pub attempts: u32,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Upload({} rev {}, {} bytes)",
            self.report_id,
            self.revision,
            self.payload.len()
        )
    }
}

/// The hub's receipt, as the desk keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    /// The receipt's id.
    pub receipt_id: Uuid,
    /// The digest the hub recorded.
    pub digest: String,
    /// When the hub first stored it.
    pub received_at: DateTime<Utc>,
}

/// Where one report's upload stands (for listings).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UploadState {
    /// The receipt, once delivered.
    pub receipt: Option<DeliveryReceipt>,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Whether the hub refused it for good.
    pub refused: bool,
    /// When the next attempt is due.
    pub next_attempt_at: Option<String>,
}

/// Counts for the sync status line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxSummary {
    /// Sealed and waiting to upload (payload ready).
    pub waiting: i64,
    /// Sealed, waiting for the desk to be enrolled.
    pub waiting_for_enrolment: i64,
    /// Refused by the hub for good.
    pub refused: i64,
    /// Delivered (receipt stored).
    pub delivered: i64,
    /// The last delivery.
    pub last_delivered_at: Option<String>,
    /// The most recent failure, if any report is failing.
    pub last_error: Option<String>,
    /// The earliest next attempt among waiting reports.
    pub next_attempt_at: Option<String>,
}

#[derive(Serialize)]
struct UploadPlain<'a> {
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
    sealed_at: Option<&'a str>,
    // Consent first: the partnership reads it before anything else.
    consent: &'a Consent,
    report: &'a Report,
}

impl Desk {
    /// The hub this desk is enrolled with, if any (no unlock needed).
    pub fn hub(&self) -> Result<Option<HubLink>> {
        let row: Option<(String, String, String, String, Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT url, hub_name, device_id, recipients, ca_pem, enrolled_at FROM hub",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()
            .map_err(classify_sqlite)?;
        row.map(|(url, hub_name, device, recipients, ca_pem, enrolled_at)| {
            Ok(HubLink {
                url,
                hub_name,
                device_id: Uuid::parse_str(&device)
                    .map_err(|_| Error::Integrity("the hub's device id is not an id"))?,
                recipients: serde_json::from_str(&recipients)
                    .map_err(|_| Error::Integrity("the hub's recipients are unreadable"))?,
                ca_pem,
                enrolled_at,
            })
        })
        .transpose()
    }

    /// The link with its token decrypted.
    pub fn hub_credentials(&self, s: &Session) -> Result<Option<HubCredentials>> {
        self.check_session(s)?;
        let Some(link) = self.hub()? else {
            return Ok(None);
        };
        let sealed: Vec<u8> = self
            .conn
            .query_row("SELECT token FROM hub", [], |r| r.get(0))
            .map_err(classify_sqlite)?;
        let plain = Zeroizing::new(
            age::decrypt(s.keys.identity(), &sealed)
                .map_err(|_| Error::Integrity("the hub token does not open with the desk key"))?,
        );
        let token = Zeroizing::new(
            String::from_utf8(plain.to_vec())
                .map_err(|_| Error::Integrity("the hub token is not text"))?,
        );
        Ok(Some(HubCredentials { link, token }))
    }

    /// Records an enrolment (coordinators only) and prepares every waiting
    /// payload. Enrolling again with other recipients needs
    /// `replace_recipients`: reports not yet delivered are then encrypted
    /// again, for the new recipients.
    pub fn enrol(
        &mut self,
        s: &Session,
        e: &Enrolment<'_>,
        replace_recipients: bool,
    ) -> Result<usize> {
        self.check_session(s)?;
        require_coordinator(s, "enrolling the desk with a hub")?;
        if e.recipients.is_empty() {
            return Err(Error::InvalidInput(
                "the hub gave no recipients to encrypt reports to".into(),
            ));
        }
        for r in e.recipients {
            r.parse::<age::x25519::Recipient>().map_err(|_| {
                Error::InvalidInput("the hub gave a recipient that is not an age public key".into())
            })?;
        }
        let mut recipients = e.recipients.to_vec();
        recipients.sort();
        recipients.dedup();
        let changed = match self.hub()? {
            Some(old) => {
                let mut before = old.recipients.clone();
                before.sort();
                if before != recipients && !replace_recipients {
                    return Err(Error::RecipientsChanged);
                }
                before != recipients
            }
            None => false,
        };
        let token = encrypt_to(s.keys.recipient(), e.token.as_bytes())?;
        let recipients_json =
            serde_json::to_string(&recipients).map_err(|e| Error::Crypto(e.to_string()))?;
        let user = s.user().name.clone();
        self.write(|tx| {
            tx.execute("DELETE FROM hub", [])?;
            tx.execute(
                "INSERT INTO hub (singleton, url, hub_name, device_id, token, recipients, ca_pem, enrolled_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![e.url, e.hub_name, e.device_id.to_string(), token, recipients_json, e.ca_pem, time::now_text()],
            )?;
            if changed {
                tx.execute(
                    "UPDATE outbox SET payload = NULL, attempts = 0, next_attempt_at = NULL, last_error = NULL,
                            failed_permanently = 0
                     WHERE delivered_at IS NULL",
                    [],
                )?;
            }
            audit::append(tx, Some(&user), AuditAction::Enrolled, Some(e.hub_name), Some(&e.device_id.to_string()))
        })?;
        // The token of an earlier enrolment goes from every file.
        self.scrub()?;
        self.prepare_uploads(s)
    }

    /// Encrypts every sealed revision that has no payload yet for the hub's
    /// recipients. Returns how many were prepared (0 when not enrolled).
    pub fn prepare_uploads(&mut self, s: &Session) -> Result<usize> {
        self.check_session(s)?;
        let Some(link) = self.hub()? else {
            return Ok(0);
        };
        let recipients: Vec<age::x25519::Recipient> = link
            .recipients
            .iter()
            .map(|r| {
                r.parse()
                    .map_err(|_| Error::Integrity("a pinned recipient is not a key"))
            })
            .collect::<Result<_>>()?;
        let pending: Vec<(String, i64)> = {
            let mut stmt = self.conn.prepare(
                // Delivered rows lose their payload when retention purges
                // them: only undelivered ones are ever (re)encrypted.
                "SELECT report_id, revision FROM outbox
                 WHERE payload IS NULL AND delivered_at IS NULL ORDER BY queued_at",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut prepared = 0;
        for (id, revision) in pending {
            let id =
                Uuid::parse_str(&id).map_err(|_| Error::Integrity("an outbox id is not an id"))?;
            let row = self.row(id)?;
            let (meta, report) = self.open_body(s, &row)?;
            let report = report.unwrap_or_default();
            let revision = u32::try_from(revision)
                .map_err(|_| Error::Integrity("a revision is out of range"))?;
            let plain = Zeroizing::new(
                serde_json::to_vec(&UploadPlain {
                    format: UPLOAD_FORMAT,
                    schema: UPLOAD_SCHEMA_VERSION,
                    report_id: id,
                    revision,
                    reference: row.reference.as_deref(),
                    centre_code: &self.info.centre_code,
                    centre_name: &self.info.centre_name,
                    desk_id: self.info.desk_id,
                    ambassador: meta.ambassador,
                    taken_at: meta.taken_at,
                    sealed_at: row.sealed_at.as_deref(),
                    consent: &report.consent,
                    report: &report,
                })
                .map_err(|e| Error::Crypto(e.to_string()))?,
            );
            let payload = envelope::encrypt_to_all(&recipients, &plain)?;
            self.write(|tx| {
                tx.execute(
                    "UPDATE outbox SET payload = ?1
                     WHERE report_id = ?2 AND revision = ?3 AND payload IS NULL AND delivered_at IS NULL",
                    params![payload, id.to_string(), revision],
                )?;
                Ok(())
            })?;
            prepared += 1;
        }
        if prepared > 0 {
            tracing::info!(count = prepared, "reports encrypted for the hub");
        }
        Ok(prepared)
    }

    /// Uploads to make now: waiting, not refused, and (unless
    /// `ignore_backoff`, for an explicit "sync now") past their next attempt.
    pub fn due_uploads(
        &self,
        s: &Session,
        now: DateTime<Utc>,
        ignore_backoff: bool,
    ) -> Result<Vec<Upload>> {
        self.check_session(s)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT report_id, revision, payload, attempts FROM outbox
             WHERE payload IS NOT NULL AND delivered_at IS NULL AND failed_permanently = 0
               AND (?1 OR next_attempt_at IS NULL OR next_attempt_at <= ?2)
             ORDER BY queued_at",
        )?;
        let rows = stmt.query_map(params![ignore_backoff, time::to_text(now)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (id, revision, payload, attempts) = row?;
            Ok(Upload {
                report_id: Uuid::parse_str(&id)
                    .map_err(|_| Error::Integrity("an outbox id is not an id"))?,
                revision: u32::try_from(revision)
                    .map_err(|_| Error::Integrity("a revision is out of range"))?,
                payload,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            })
        })
        .collect()
    }

    /// Stores the hub's receipt and marks the report delivered. Storing the
    /// same receipt again changes nothing and returns false.
    pub fn record_delivery(
        &mut self,
        s: &Session,
        report_id: Uuid,
        revision: u32,
        receipt: &DeliveryReceipt,
    ) -> Result<bool> {
        self.check_session(s)?;
        let json = serde_json::to_string(receipt).map_err(|e| Error::Crypto(e.to_string()))?;
        let now = time::now_text();
        let user = s.user().name.clone();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET receipt = ?1, delivered_at = ?2, last_error = NULL, next_attempt_at = NULL
                 WHERE report_id = ?3 AND revision = ?4 AND delivered_at IS NULL",
                params![json, now, report_id.to_string(), revision],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "UPDATE reports SET state = 'delivered', delivered_at = ?1 WHERE id = ?2 AND state = 'sealed'",
                params![now, report_id.to_string()],
            )?;
            audit::append(tx, Some(&user), AuditAction::Delivered, Some(&report_id.to_string()), Some(&receipt.receipt_id.to_string()))?;
            Ok(true)
        })
    }

    /// Records a failed attempt. `retry_at: None` means the hub refused it
    /// for good: it stops being retried and a coordinator is told why.
    pub fn record_upload_failure(
        &mut self,
        s: &Session,
        report_id: Uuid,
        revision: u32,
        reason: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.check_session(s)?;
        let user = s.user().name.clone();
        let reason = tidy_reason(reason);
        let reason = reason.as_str();
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, next_attempt_at = ?2,
                        failed_permanently = ?3
                 WHERE report_id = ?4 AND revision = ?5 AND delivered_at IS NULL",
                params![
                    reason,
                    retry_at.map(time::to_text),
                    retry_at.is_none(),
                    report_id.to_string(),
                    revision
                ],
            )?;
            if retry_at.is_none() {
                audit::append(
                    tx,
                    Some(&user),
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
                "UPDATE outbox SET failed_permanently = 0, next_attempt_at = NULL WHERE failed_permanently = 1 AND delivered_at IS NULL",
                [],
            )?)
        })
    }

    /// Counts for the sync status.
    pub fn outbox_summary(&self) -> Result<OutboxSummary> {
        self.conn
            .query_row(
                "SELECT
                    count(*) FILTER (WHERE delivered_at IS NULL AND payload IS NOT NULL AND failed_permanently = 0),
                    count(*) FILTER (WHERE delivered_at IS NULL AND payload IS NULL),
                    count(*) FILTER (WHERE delivered_at IS NULL AND failed_permanently = 1),
                    count(*) FILTER (WHERE delivered_at IS NOT NULL),
                    max(delivered_at),
                    (SELECT last_error FROM outbox WHERE delivered_at IS NULL AND last_error IS NOT NULL
                       ORDER BY failed_permanently DESC, queued_at LIMIT 1),
                    min(next_attempt_at) FILTER (WHERE delivered_at IS NULL AND failed_permanently = 0)
                 FROM outbox",
                [],
                |r| {
                    Ok(OutboxSummary {
                        waiting: r.get(0)?,
                        waiting_for_enrolment: r.get(1)?,
                        refused: r.get(2)?,
                        delivered: r.get(3)?,
                        last_delivered_at: r.get(4)?,
                        last_error: r.get(5)?,
                        next_attempt_at: r.get(6)?,
                    })
                },
            )
            .map_err(classify_sqlite)
    }

    /// Where each report's latest revision stands in the outbox.
    pub(crate) fn upload_states(&self) -> Result<std::collections::HashMap<Uuid, UploadState>> {
        let mut stmt = self.conn.prepare(
            "SELECT o.report_id, o.receipt, o.attempts, o.last_error, o.failed_permanently, o.next_attempt_at
             FROM outbox o JOIN reports r ON r.id = o.report_id AND r.revision = o.revision",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (id, receipt, attempts, last_error, refused, next) = row?;
            let receipt = receipt
                .map(|j| {
                    serde_json::from_str(&j)
                        .map_err(|_| Error::Integrity("a stored receipt is unreadable"))
                })
                .transpose()?;
            out.insert(
                Uuid::parse_str(&id).map_err(|_| Error::Integrity("an outbox id is not an id"))?,
                UploadState {
                    receipt,
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
    use crate::model::ReportState;

    fn setup() -> (tempfile::TempDir, Desk, Session, Uuid) {
        let dir = tempfile::tempdir().expect("tmp");
        let (desk, s, id) = crate::testing::desk_with_sealed_report(dir.path());
        (dir, desk, s, id)
    }

    fn enrolment<'a>(recipients: &'a [String]) -> Enrolment<'a> {
        Enrolment {
            url: "http://127.0.0.1:1",
            hub_name: "Essex hub",
            device_id: Uuid::nil(),
            token: "hirc1_token",
            recipients,
            ca_pem: None,
        }
    }

    #[test]
    fn sealed_reports_wait_for_enrolment_then_upload_once() {
        let (_dir, mut desk, s, id) = setup();
        assert_eq!(
            desk.outbox_summary()
                .expect("summary")
                .waiting_for_enrolment,
            1
        );
        assert!(
            desk.due_uploads(&s, Utc::now(), false)
                .expect("due")
                .is_empty()
        );

        let partnership = age::x25519::Identity::generate();
        let escrow = age::x25519::Identity::generate();
        let recipients = vec![
            partnership.to_public().to_string(),
            escrow.to_public().to_string(),
        ];
        assert_eq!(
            desk.enrol(&s, &enrolment(&recipients), false)
                .expect("enrol"),
            1
        );
        assert_eq!(
            desk.hub_credentials(&s)
                .expect("creds")
                .expect("enrolled")
                .token(),
            "hirc1_token"
        );

        let due = desk.due_uploads(&s, Utc::now(), false).expect("due");
        assert_eq!(due.len(), 1);
        // Either key opens it, and it holds the report with consent first.
        for key in [&partnership, &escrow] {
            let plain = age::decrypt(key, &due[0].payload).expect("decrypts");
            let text = String::from_utf8(plain).expect("utf8");
            assert!(
                text.find("\"consent\"") < text.find("\"report\""),
                "consent comes first"
            );
            assert!(text.contains("headscarf"));
        }

        // A transient failure backs off; an explicit sync ignores the backoff.
        let later = Utc::now() + chrono::Duration::minutes(5);
        desk.record_upload_failure(&s, id, 1, "the hub did not answer", Some(later))
            .expect("failure");
        assert!(
            desk.due_uploads(&s, Utc::now(), false)
                .expect("due")
                .is_empty()
        );
        let again = desk.due_uploads(&s, Utc::now(), true).expect("due");
        assert_eq!(
            again[0].payload, due[0].payload,
            "a retry sends the very same bytes"
        );
        assert_eq!(again[0].attempts, 1);

        let receipt = DeliveryReceipt {
            receipt_id: Uuid::now_v7(),
            digest: "sha-256=:x:".into(),
            received_at: Utc::now(),
        };
        assert!(desk.record_delivery(&s, id, 1, &receipt).expect("deliver"));
        assert!(
            !desk.record_delivery(&s, id, 1, &receipt).expect("again"),
            "idempotent"
        );
        let list = desk.list_reports(&s).expect("list");
        assert_eq!(list[0].row.state, ReportState::Delivered);
        assert_eq!(
            list[0].upload.as_ref().and_then(|u| u.receipt.clone()),
            Some(receipt)
        );
        let summary = desk.outbox_summary().expect("summary");
        assert_eq!((summary.waiting, summary.delivered), (0, 1));
        assert!(desk.verify_audit(&s).expect("audit").is_ok());
    }

    #[test]
    fn refusals_stop_retries_and_changed_keys_need_consent() {
        let (_dir, mut desk, s, id) = setup();
        let first = vec![age::x25519::Identity::generate().to_public().to_string()];
        desk.enrol(&s, &enrolment(&first), false).expect("enrol");
        desk.record_upload_failure(&s, id, 1, "this desk has been revoked", None)
            .expect("refused");
        assert!(
            desk.due_uploads(&s, Utc::now(), true)
                .expect("due")
                .is_empty()
        );
        let summary = desk.outbox_summary().expect("summary");
        assert_eq!(summary.refused, 1);
        assert_eq!(
            summary.last_error.as_deref(),
            Some("this desk has been revoked")
        );

        let other = vec![age::x25519::Identity::generate().to_public().to_string()];
        assert!(matches!(
            desk.enrol(&s, &enrolment(&other), false),
            Err(Error::RecipientsChanged)
        ));
        assert_eq!(
            desk.enrol(&s, &enrolment(&other), true).expect("replace"),
            1,
            "re-encrypted for the new keys"
        );
        assert_eq!(
            desk.due_uploads(&s, Utc::now(), false).expect("due").len(),
            1,
            "and queued again"
        );
        assert!(matches!(
            desk.enrol(&s, &enrolment(&["not a key".to_string()]), true),
            Err(Error::InvalidInput(_))
        ));
    }
}
