//! The outbox: enrolment with a hub, and the bookkeeping of uploads.
//!
//! Words used here:
//! - **link**: the hub this desk is enrolled with (URL, device id, pinned
//!   recipients and receipt key). No secret: the token is in the
//!   credential file (`hub-credential.json`, [`crate::CREDENTIAL_FILE`]).
//! - **payload**: a sealed revision encrypted for the hub's recipients. It is
//!   made once, when the report is sealed (or when the desk enrols), and
//!   kept, so every retry sends the same bytes and the hub answers a repeat
//!   with the same receipt: a crash between the hub's commit and ours costs
//!   nothing. Sending it needs no passphrase.
//! - **checked**: a delivery under a receipt whose signature the pinned
//!   receipt key verifies, naming this report, revision and desk. Only a
//!   checked delivery marks a report delivered, and only those are purged.
//! - **device key**: the desk's own signing key, made once and kept across
//!   enrolments (the hub knows the desk by it); it proves the enrolment and
//!   signs outbox files.
//! - **due**: waiting (or delivered before receipts were signed, and not yet
//!   checked), not refused, and past its next attempt time.
//!
//! The sync worker (`hirc-sync`) drives this; nothing here does any I/O but
//! the store and the credential file. Uploading, recording outcomes and the
//! retention purge need no session: they touch no report content.

use chrono::{DateTime, Utc};
use hirc_proto::sign::{SigningKey, is_public_key, verify_receipt};
use hirc_proto::{
    OUTBOX_FILE_FORMAT, OutboxEntry, OutboxFile, RECEIPT_FILE_FORMAT, Receipt, ReceiptFile,
    content_digest, encode_payload,
};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{self, AuditAction};
use crate::credential;
use crate::desk::{Desk, ReportRow, Session, require_coordinator};
use crate::envelope;
use crate::error::{Error, Result};
use crate::model::{Consent, Report, ReportMeta};
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
    /// The hub's receipt key (public half), pinned at enrolment; `None`
    /// for a desk enrolled before receipts were signed, until the worker
    /// fetches it.
    pub receipt_key: Option<String>,
    /// This desk's earlier device ids at the hub (before re-enrolments).
    pub former_devices: Vec<Uuid>,
}

impl HubLink {
    /// Whether a receipt naming `device` is for this desk.
    fn is_ours(&self, device: Option<Uuid>) -> bool {
        device.is_some_and(|d| d == self.device_id || self.former_devices.contains(&d))
    }
}

/// What the sync worker needs to upload: the link and the bearer token.
pub struct UploadCredentials {
    /// The link.
    pub link: HubLink,
    token: Zeroizing<String>,
}

impl UploadCredentials {
    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for UploadCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadCredentials")
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
    /// The hub's receipt key (public half).
    pub receipt_key: Option<&'a str>,
    /// A device key the hub made for this desk (an offline enrolment
    /// file): it replaces the desk's own.
    pub device_key: Option<&'a SigningKey>,
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
    /// The device the hub stored it from.
    #[serde(default)]
    pub device_id: Option<Uuid>,
    /// The hub's signature (base64), checked before it was kept.
    #[serde(default)]
    pub signature: Option<String>,
}

/// What recording a receipt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The report is now delivered (or its earlier delivery now checked).
    Recorded,
    /// It was already delivered and checked: nothing changed.
    AlreadyRecorded,
}

/// Where one report's upload stands (for listings).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UploadState {
    /// The receipt, once delivered.
    pub receipt: Option<DeliveryReceipt>,
    /// Whether the receipt's signature was checked.
    pub checked: bool,
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
    /// Delivered before receipts were signed, waiting for the hub's signed
    /// receipt (they keep their personal data until then).
    pub unchecked: i64,
    /// The last delivery.
    pub last_delivered_at: Option<String>,
    /// The most recent failure, if any report is failing.
    pub last_error: Option<String>,
    /// The earliest next attempt among waiting reports.
    pub next_attempt_at: Option<String>,
}

/// What a receipt file did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReceiptFileOutcome {
    /// Reports now delivered.
    pub recorded: usize,
    /// Receipts for reports already delivered.
    pub already: usize,
    /// Receipts refused, with why (forged, for another desk, for nothing
    /// this desk sent).
    pub refused: Vec<(Uuid, String)>,
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

/// An outbox row as `record_delivery` reads it: payload, delivered at,
/// receipt checked, earlier digests.
type HeldUpload = (Option<Vec<u8>>, Option<String>, bool, String);

/// Every undelivered payload's digests so far (earlier ones and the
/// current one), as they are about to be made again.
fn superseded_digests(tx: &rusqlite::Transaction<'_>) -> Result<Vec<(String, i64, String)>> {
    let mut stmt = tx.prepare(
        "SELECT report_id, revision, payload, earlier_digests FROM outbox
         WHERE delivered_at IS NULL AND payload IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, revision, payload, earlier) = row?;
        let mut digests: Vec<String> = serde_json::from_str(&earlier).unwrap_or_default();
        digests.push(content_digest(&payload));
        let json = serde_json::to_string(&digests).map_err(|e| Error::Crypto(e.to_string()))?;
        out.push((id, revision, json));
    }
    Ok(out)
}

type LinkRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// The payload for one sealed revision: the report with its consent first,
/// encrypted to every pinned recipient.
#[allow(clippy::too_many_arguments)]
fn payload_for(
    desk: &Desk,
    link: &HubLink,
    report_id: Uuid,
    revision: u32,
    reference: Option<&str>,
    sealed_at: Option<&str>,
    meta: &ReportMeta,
    report: &Report,
) -> Result<Vec<u8>> {
    let recipients: Vec<age::x25519::Recipient> = link
        .recipients
        .iter()
        .map(|r| {
            r.parse()
                .map_err(|_| Error::Integrity("a pinned recipient is not a key"))
        })
        .collect::<Result<_>>()?;
    let plain = Zeroizing::new(
        serde_json::to_vec(&UploadPlain {
            format: UPLOAD_FORMAT,
            schema: UPLOAD_SCHEMA_VERSION,
            report_id,
            revision,
            reference,
            centre_code: &desk.info.centre_code,
            centre_name: &desk.info.centre_name,
            desk_id: desk.info.desk_id,
            ambassador: meta.ambassador,
            taken_at: meta.taken_at,
            sealed_at,
            consent: &report.consent,
            report,
        })
        .map_err(|e| Error::Crypto(e.to_string()))?,
    );
    envelope::encrypt_to_all(&recipients, &plain)
}

impl Desk {
    /// The hub this desk is enrolled with, if any (no unlock needed).
    pub fn hub(&self) -> Result<Option<HubLink>> {
        let row: Option<LinkRow> = self
            .conn
            .query_row(
                "SELECT url, hub_name, device_id, recipients, ca_pem, enrolled_at, receipt_key,
                        former_devices
                 FROM hub",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(url, hub_name, device, recipients, ca_pem, enrolled_at, receipt_key, former)| {
                Ok(HubLink {
                    url,
                    hub_name,
                    device_id: Uuid::parse_str(&device)
                        .map_err(|_| Error::Integrity("the hub's device id is not an id"))?,
                    recipients: serde_json::from_str(&recipients)
                        .map_err(|_| Error::Integrity("the hub's recipients are unreadable"))?,
                    ca_pem,
                    enrolled_at,
                    receipt_key,
                    former_devices: serde_json::from_str(&former).map_err(|_| {
                        Error::Integrity("the desk's earlier device ids are unreadable")
                    })?,
                })
            },
        )
        .transpose()
    }

    /// The link and the token the sync worker uploads with (no unlock
    /// needed); `None` before enrolment.
    pub fn upload_credentials(&self) -> Result<Option<UploadCredentials>> {
        let Some(link) = self.hub()? else {
            return Ok(None);
        };
        match credential::read(self.data_dir())? {
            Some(c) if c.device_id == link.device_id => Ok(Some(UploadCredentials {
                link,
                token: c.token,
            })),
            _ => Err(Error::CredentialMissing),
        }
    }

    /// The device this desk is enrolled as now, with its token, for a new
    /// enrolment at `url` to prove it is the same desk: only for a desk
    /// from before device keys (the hub does not know its key yet), and
    /// only to the hub it is enrolled with (the token goes nowhere else).
    pub fn previous_device(&self, url: &str) -> Option<hirc_proto::PreviousDevice> {
        let registered: bool = self
            .conn
            .query_row("SELECT device_key_registered FROM hub", [], |r| r.get(0))
            .ok()?;
        if registered {
            return None;
        }
        let creds = self.upload_credentials().ok().flatten()?;
        (creds.link.url.trim_end_matches('/') == url.trim_end_matches('/')).then(|| {
            hirc_proto::PreviousDevice {
                device_id: creds.link.device_id,
                token: creds.token().to_string(),
            }
        })
    }

    /// A desk enrolled before the credential file kept its token encrypted
    /// to the desk key: the first unlock moves it out, so uploads need no
    /// one signed in from then on.
    pub(crate) fn move_token_out(&mut self, s: &Session) -> Result<()> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .query_row("SELECT device_id, token FROM hub", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((device, sealed)) = row else {
            return Ok(());
        };
        if sealed.is_empty() {
            return Ok(());
        }
        let device = Uuid::parse_str(&device)
            .map_err(|_| Error::Integrity("the hub's device id is not an id"))?;
        let plain = Zeroizing::new(
            age::decrypt(s.keys.identity(), &sealed)
                .map_err(|_| Error::Integrity("the hub token does not open with the desk key"))?,
        );
        let token = std::str::from_utf8(&plain)
            .map_err(|_| Error::Integrity("the hub token is not text"))?;
        credential::write(self.data_dir(), device, token)?;
        self.write(|tx| {
            tx.execute("UPDATE hub SET token = x''", [])?;
            Ok(())
        })?;
        self.scrub()?;
        tracing::info!("the upload token moved to the credential file");
        Ok(())
    }

    /// The desk's device key, made on first use and kept across enrolments
    /// (coordinators: it registers the desk with a hub and signs outbox
    /// files).
    pub fn device_key(&mut self, s: &Session) -> Result<SigningKey> {
        self.check_session(s)?;
        require_coordinator(s, "using the desk's device key")?;
        let stored: Option<Vec<u8>> =
            self.conn
                .query_row("SELECT device_key FROM desk", [], |r| r.get(0))?;
        if let Some(sealed) = stored {
            let plain =
                Zeroizing::new(age::decrypt(s.keys.identity(), &sealed).map_err(|_| {
                    Error::Integrity("the device key does not open with the desk key")
                })?);
            return std::str::from_utf8(&plain)
                .ok()
                .and_then(SigningKey::from_secret_base64)
                .ok_or(Error::Integrity("the device key is not a key"));
        }
        let key = SigningKey::generate();
        self.store_device_key(s, &key)?;
        Ok(key)
    }

    fn store_device_key(&mut self, s: &Session, key: &SigningKey) -> Result<()> {
        let sealed = encrypt_to(s.keys.recipient(), key.secret_base64().as_bytes())?;
        self.write(|tx| {
            tx.execute("UPDATE desk SET device_key = ?1", [sealed])?;
            Ok(())
        })
    }

    /// Records an enrolment (coordinators only): pins the hub's recipients
    /// and receipt key, keeps the token in the credential file, and
    /// prepares every waiting payload. Enrolling again with other keys
    /// needs `replace_keys`: reports not yet delivered are then encrypted
    /// again, for the new recipients.
    pub fn enrol(&mut self, s: &Session, e: &Enrolment<'_>, replace_keys: bool) -> Result<usize> {
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
        let receipt_key = match e.receipt_key {
            Some(k) if is_public_key(k) => k.trim().to_string(),
            Some(_) => {
                return Err(Error::InvalidInput(
                    "the hub gave a receipt key that is not a key".into(),
                ));
            }
            None => {
                return Err(Error::InvalidInput(
                    "the hub gave no receipt key: it is older than this desk, so its receipts cannot be checked; upgrade the hub".into(),
                ));
            }
        };
        if e.token.trim().is_empty() {
            return Err(Error::InvalidInput("the hub gave no token".into()));
        }
        let mut recipients = e.recipients.to_vec();
        recipients.sort();
        recipients.dedup();
        let old = self.hub()?;
        let (changed, mut former) = match &old {
            Some(old) => {
                let mut before = old.recipients.clone();
                before.sort();
                let key_changed = old.receipt_key.as_deref().is_some_and(|k| k != receipt_key);
                if (before != recipients || key_changed) && !replace_keys {
                    return Err(Error::RecipientsChanged);
                }
                (before != recipients, old.former_devices.clone())
            }
            None => (false, Vec::new()),
        };
        if let Some(old) = &old
            && old.device_id != e.device_id
            && !former.contains(&old.device_id)
        {
            former.push(old.device_id);
        }
        if let Some(key) = e.device_key {
            self.store_device_key(s, key)?;
        }

        let registered = e.device_key.is_some()
            || self
                .conn
                .query_row("SELECT device_key IS NOT NULL FROM desk", [], |r| {
                    r.get::<_, bool>(0)
                })?;
        // The token goes to the credential file first: if the store's
        // transaction then failed, the file names a device the store does
        // not, and the worker asks for the enrolment to be repeated.
        credential::write(self.data_dir(), e.device_id, e.token)?;
        let recipients_json =
            serde_json::to_string(&recipients).map_err(|e| Error::Crypto(e.to_string()))?;
        let former_json =
            serde_json::to_string(&former).map_err(|e| Error::Crypto(e.to_string()))?;
        let user = s.user().name.clone();
        let now = self.now_text();
        self.write(|tx| {
            tx.execute("DELETE FROM hub", [])?;
            tx.execute(
                "INSERT INTO hub (singleton, url, hub_name, device_id, token, recipients, ca_pem, enrolled_at,
                                  receipt_key, former_devices, device_key_registered)
                 VALUES (1, ?1, ?2, ?3, x'', ?4, ?5, ?6, ?7, ?8, ?9)",
                params![e.url, e.hub_name, e.device_id.to_string(), recipients_json, e.ca_pem, now,
                        receipt_key, former_json, registered],
            )?;
            if changed {
                // Payloads about to be made again keep their digests (read
                // under this transaction's lock): the hub may hold them
                // already, and a receipt for them is still this desk's.
                for (id, revision, digests) in superseded_digests(tx)? {
                    tx.execute(
                        "UPDATE outbox SET earlier_digests = ?1 WHERE report_id = ?2 AND revision = ?3",
                        params![digests, id, revision],
                    )?;
                }
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

    /// Pins the hub's receipt key for a desk enrolled before receipts were
    /// signed, on first sight over its authenticated connection (no unlock
    /// needed; audited). A key already pinned is never replaced this way.
    pub fn pin_receipt_key(&mut self, key: &str) -> Result<bool> {
        if !is_public_key(key) {
            return Err(Error::InvalidInput(
                "the hub gave a receipt key that is not a key".into(),
            ));
        }
        let key = key.trim().to_string();
        let pinned = self.write(|tx| {
            let n = tx.execute(
                "UPDATE hub SET receipt_key = ?1 WHERE receipt_key IS NULL",
                [&key],
            )?;
            if n == 1 {
                audit::append(
                    tx,
                    None,
                    AuditAction::SettingChanged,
                    Some("receipt_key"),
                    Some("pinned on first sight (enrolled before receipts were signed)"),
                )?;
            }
            Ok(n == 1)
        })?;
        if pinned {
            tracing::info!("the hub's receipt key is pinned");
        }
        Ok(pinned)
    }

    /// Encrypts, for the hub's recipients, every sealed revision that has
    /// no payload yet (reports sealed before enrolment, or after the
    /// partnership's keys were replaced). Returns how many were prepared
    /// (0 when not enrolled).
    pub fn prepare_uploads(&mut self, s: &Session) -> Result<usize> {
        self.check_session(s)?;
        let Some(link) = self.hub()? else {
            return Ok(0);
        };
        let pending: Vec<(String, i64)> = {
            // Delivered rows lose their payload when retention purges
            // them: only undelivered ones are ever (re)encrypted.
            let mut stmt = self.conn.prepare(
                "SELECT o.report_id, o.revision FROM outbox o JOIN reports r ON r.id = o.report_id
                 WHERE o.payload IS NULL AND o.delivered_at IS NULL AND r.set_aside_at IS NULL
                 ORDER BY o.queued_at",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut prepared = 0;
        for (id, revision) in pending {
            let id =
                Uuid::parse_str(&id).map_err(|_| Error::Integrity("an outbox id is not an id"))?;
            let row = self.row(id)?;
            // A body that will not open is set aside (by `open_body`) and
            // the others go on.
            let (meta, report) = match self.open_body(s, &row) {
                Ok(opened) => opened,
                Err(e) if e.is_damage() => continue,
                Err(e) => return Err(e),
            };
            let report = report.unwrap_or_default();
            let revision = u32::try_from(revision)
                .map_err(|_| Error::Integrity("a revision is out of range"))?;
            let payload = payload_for(
                self,
                &link,
                id,
                revision,
                row.reference.as_deref(),
                row.sealed_at.as_deref(),
                &meta,
                &report,
            )?;
            // Only for the recipients it was made for: if a re-enrolment
            // replaced them meanwhile (another process), it is made again.
            let recipients = serde_json::to_string(&link.recipients)
                .map_err(|e| Error::Crypto(e.to_string()))?;
            self.write(|tx| {
                tx.execute(
                    "UPDATE outbox SET payload = ?1
                     WHERE report_id = ?2 AND revision = ?3 AND payload IS NULL AND delivered_at IS NULL
                       AND (SELECT recipients FROM hub) = ?4",
                    params![payload, id.to_string(), revision, recipients],
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

    /// The payload for a revision being sealed now, if the desk is enrolled
    /// (sealing prepares the upload at once, so sending it needs no
    /// passphrase).
    pub(crate) fn payload_at_sealing(
        &self,
        row: &ReportRow,
        reference: &str,
        sealed_at: &str,
        meta: &ReportMeta,
        report: &Report,
    ) -> Result<Option<Vec<u8>>> {
        let Some(link) = self.hub()? else {
            return Ok(None);
        };
        payload_for(
            self,
            &link,
            row.id,
            1,
            Some(reference),
            Some(sealed_at),
            meta,
            report,
        )
        .map(Some)
    }

    /// Uploads to make now: waiting (or delivered before receipts were
    /// signed and not yet checked), not refused, and (unless
    /// `ignore_backoff`, for an explicit "sync now") past their next
    /// attempt. No unlock needed: payloads are ciphertext for the hub.
    pub fn due_uploads(&self, now: DateTime<Utc>, ignore_backoff: bool) -> Result<Vec<Upload>> {
        let can_check = self.hub()?.is_some_and(|link| link.receipt_key.is_some());
        let mut stmt = self.conn.prepare_cached(
            "SELECT report_id, revision, payload, attempts FROM outbox
             WHERE payload IS NOT NULL AND failed_permanently = 0
               AND (delivered_at IS NULL OR (receipt_checked = 0 AND ?3))
               AND (?1 OR next_attempt_at IS NULL OR next_attempt_at <= ?2)
             ORDER BY queued_at",
        )?;
        let rows = stmt.query_map(
            params![ignore_backoff, time::to_text(now), can_check],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )?;
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
            .conn
            .query_row(
                "SELECT payload, delivered_at, receipt_checked, earlier_digests FROM outbox
                 WHERE report_id = ?1 AND revision = ?2",
                params![report_id.to_string(), revision],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((payload, delivered_at, checked, earlier)) = held else {
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
            tx.execute(
                "UPDATE reports SET state = 'delivered', delivered_at = ?1 WHERE id = ?2 AND state = 'sealed'",
                params![now, report_id.to_string()],
            )?;
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
        Ok(self.conn.query_row(
            "SELECT
                count(*) FILTER (WHERE delivered_at IS NULL AND payload IS NOT NULL AND failed_permanently = 0),
                count(*) FILTER (WHERE delivered_at IS NULL AND payload IS NULL),
                count(*) FILTER (WHERE delivered_at IS NULL AND failed_permanently = 1),
                count(*) FILTER (WHERE delivered_at IS NOT NULL),
                count(*) FILTER (WHERE delivered_at IS NOT NULL AND receipt_checked = 0 AND payload IS NOT NULL),
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
                    unchecked: r.get(4)?,
                    last_delivered_at: r.get(5)?,
                    last_error: r.get(6)?,
                    next_attempt_at: r.get(7)?,
                })
            },
        )?)
    }

    /// Where each report's latest revision stands in the outbox.
    pub(crate) fn upload_states(&self) -> Result<std::collections::HashMap<Uuid, UploadState>> {
        let mut stmt = self.conn.prepare(
            "SELECT o.report_id, o.receipt, o.attempts, o.last_error, o.failed_permanently, o.next_attempt_at,
                    o.receipt_checked
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
                Uuid::parse_str(&id).map_err(|_| Error::Integrity("an outbox id is not an id"))?,
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

    /// Everything waiting, as a file to carry to the hub by hand, signed
    /// with the desk's device key so the hub can tell it came from this
    /// desk (coordinators; audited).
    pub fn outbox_file(&mut self, s: &Session) -> Result<OutboxFile> {
        self.check_session(s)?;
        require_coordinator(s, "carrying the outbox by hand")?;
        let link = self.hub()?.ok_or_else(|| {
            Error::InvalidInput("this desk is not enrolled with a hub yet".into())
        })?;
        let registered: bool =
            self.conn
                .query_row("SELECT device_key_registered FROM hub", [], |r| r.get(0))?;
        if !registered {
            return Err(Error::InvalidInput(
                "this desk was enrolled before outbox files were signed, so the hub could not tell that a file came from it; enrol the desk again (a new code or enrolment file), then export".into(),
            ));
        }
        let key = self.device_key(s)?;
        self.prepare_uploads(s)?;
        let waiting = self.due_uploads(self.now(), true)?;
        let mut file = OutboxFile {
            format: OUTBOX_FILE_FORMAT.into(),
            device_id: link.device_id,
            created_at: self.now(),
            reports: waiting
                .iter()
                .map(|u| OutboxEntry {
                    report_id: u.report_id,
                    revision: u.revision,
                    digest: content_digest(&u.payload),
                    payload: encode_payload(&u.payload),
                })
                .collect(),
            signature: None,
        };
        key.sign_outbox(&mut file);
        self.record_export(
            s,
            &format!("outbox file with {} report(s)", file.reports.len()),
        )?;
        Ok(file)
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
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReportState;
    use crate::testing::{TestHub, desk_with_sealed_report, example, pass};

    fn setup() -> (tempfile::TempDir, Desk, Session, Uuid) {
        let dir = tempfile::tempdir().expect("tmp");
        let (desk, s, id) = desk_with_sealed_report(dir.path());
        (dir, desk, s, id)
    }

    #[test]
    fn sealed_reports_wait_for_enrolment_then_upload_once_under_a_checked_receipt() {
        let (dir, mut desk, s, id) = setup();
        assert_eq!(
            desk.outbox_summary()
                .expect("summary")
                .waiting_for_enrolment,
            1
        );
        assert!(desk.due_uploads(Utc::now(), false).expect("due").is_empty());

        let hub = TestHub::new();
        assert_eq!(
            hub.enrol(&mut desk, &s),
            1,
            "the waiting report is prepared"
        );
        // The token is in the owner-only credential file, not in the store.
        let creds = desk.upload_credentials().expect("read").expect("enrolled");
        assert_eq!(creds.token(), "hirc1_token");
        assert!(!format!("{creds:?}").contains("hirc1_token"));
        let store = std::fs::read(desk.path()).expect("store");
        assert!(!store.windows(11).any(|w| w == b"hirc1_token"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(crate::CREDENTIAL_FILE))
                .expect("credential file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let due = desk.due_uploads(Utc::now(), false).expect("due");
        assert_eq!(due.len(), 1);
        let plain = age::decrypt(&hub.partnership, &due[0].payload).expect("decrypts");
        let text = String::from_utf8(plain).expect("utf8");
        assert!(
            text.find("\"consent\"") < text.find("\"report\""),
            "consent comes first"
        );
        assert!(text.contains("headscarf"));

        // A transient failure backs off; an explicit sync ignores the backoff.
        let later = Utc::now() + chrono::Duration::minutes(5);
        desk.record_upload_failure(id, 1, "the hub did not answer", Some(later))
            .expect("failure");
        assert!(desk.due_uploads(Utc::now(), false).expect("due").is_empty());
        let again = desk.due_uploads(Utc::now(), true).expect("due");
        assert_eq!(
            again[0].payload, due[0].payload,
            "a retry sends the very same bytes"
        );
        assert_eq!(again[0].attempts, 1);

        let receipt = hub.receipt(id, 1, &due[0].payload);
        assert_eq!(
            desk.record_delivery(id, 1, &receipt).expect("deliver"),
            Delivery::Recorded
        );
        assert_eq!(
            desk.record_delivery(id, 1, &receipt).expect("again"),
            Delivery::AlreadyRecorded,
            "idempotent"
        );
        let list = desk.list_reports(&s).expect("list");
        assert_eq!(list[0].row.state, ReportState::Delivered);
        let upload = list[0].upload.as_ref().expect("upload state");
        assert!(upload.checked);
        assert_eq!(
            upload.receipt.as_ref().map(|r| r.receipt_id),
            Some(receipt.receipt_id)
        );
        let summary = desk.outbox_summary().expect("summary");
        assert_eq!((summary.waiting, summary.delivered), (0, 1));
        assert!(desk.verify_audit(&s).expect("audit").is_ok());
    }

    /// From an outbox file (report ids, digests) anyone can write a receipt:
    /// unsigned, signed with another key, for another report or another
    /// desk. None marks anything delivered, so none can lead to a purge.
    #[test]
    fn a_forged_receipt_marks_nothing_delivered() {
        let (_dir, mut desk, s, id) = setup();
        let hub = TestHub::new();
        hub.enrol(&mut desk, &s);
        let payload = desk.due_uploads(Utc::now(), true).expect("due")[0]
            .payload
            .clone();
        let mut unsigned = hub.receipt(id, 1, &payload);
        unsigned.signature = None;
        let forger = TestHub {
            device_id: hub.device_id,
            ..TestHub::new()
        };
        let other_desk = TestHub {
            device_id: Uuid::now_v7(),
            partnership: age::x25519::Identity::generate(),
            receipts: SigningKey::from_secret_base64(&hub.receipts.secret_base64())
                .expect("same hub"),
        };
        let mut altered = hub.receipt(id, 1, &payload);
        altered.received_at += chrono::Duration::seconds(1);
        for (what, receipt) in [
            // Signed by the hub, for bytes someone put under this desk's
            // name with a stolen token.
            (
                "for bytes this desk never sent",
                hub.receipt(id, 1, b"junk"),
            ),
            ("unsigned", unsigned),
            ("signed by another key", forger.receipt(id, 1, &payload)),
            ("altered after signing", altered),
            (
                "for another report",
                hub.receipt(Uuid::now_v7(), 1, &payload),
            ),
            ("for another desk", other_desk.receipt(id, 1, &payload)),
        ] {
            let err = desk
                .record_delivery(receipt.report_id, 1, &receipt)
                .expect_err(what);
            let expected = if what == "for bytes this desk never sent" {
                matches!(err, Error::ForeignBytes)
            } else {
                matches!(err, Error::ReceiptRefused(_))
            };
            assert!(expected, "{what}: {err}");
        }
        desk.set_retention_days(&s, 0).expect("retention");
        assert!(desk.purge_expired(Utc::now()).expect("purge").is_empty());
        let view = desk.report(&s, id).expect("still here");
        assert_eq!(view.row.state, ReportState::Sealed);
        assert_eq!(desk.due_uploads(Utc::now(), true).expect("due").len(), 1);
    }

    #[test]
    fn sealing_prepares_the_upload_and_sending_needs_no_session() {
        let (_dir, mut desk, s, _) = setup();
        let hub = TestHub::new();
        hub.enrol(&mut desk, &s);
        hub.deliver_all(&mut desk);
        let id = desk.create_draft(&s, &example()).expect("draft");
        desk.submit(&s, id).expect("submit");
        drop(s);
        // Locked: nobody is signed in. The payload was made at sealing.
        let due = desk.due_uploads(Utc::now(), false).expect("due");
        assert_eq!(
            due.iter().map(|u| u.report_id).collect::<Vec<_>>(),
            vec![id]
        );
        assert_eq!(hub.deliver_all(&mut desk), 1);
        assert_eq!(desk.outbox_summary().expect("summary").delivered, 2);
    }

    /// A revision sealed but never encrypted for the hub (by an older
    /// version, or set aside first) is prepared at the next unlock, so it
    /// goes with nobody signed in.
    #[test]
    fn an_unprepared_revision_is_prepared_at_the_next_unlock() {
        let (_dir, mut desk, s, id) = setup();
        let hub = TestHub::new();
        hub.enrol(&mut desk, &s);
        desk.conn
            .execute("UPDATE outbox SET payload = NULL", [])
            .expect("as an older version left it");
        assert!(desk.due_uploads(Utc::now(), true).expect("due").is_empty());
        drop(s);
        desk.unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let due = desk.due_uploads(Utc::now(), true).expect("due");
        assert_eq!(
            due.iter().map(|u| u.report_id).collect::<Vec<_>>(),
            vec![id]
        );
    }

    #[test]
    fn a_desk_enrolled_before_moves_its_token_out_at_the_next_unlock() {
        let (dir, mut desk, s, _) = setup();
        // The old layout: the token encrypted to the desk key in the store,
        // no credential file, no receipt key.
        let sealed = encrypt_to(s.keys.recipient(), b"hirc1_old_token").expect("seal");
        desk.conn
            .execute(
                "INSERT INTO hub (singleton, url, hub_name, device_id, token, recipients, enrolled_at)
                 VALUES (1, 'http://127.0.0.1:1', 'hub', ?1, ?2, ?3, '2026-01-01T00:00:00.000Z')",
                params![
                    Uuid::now_v7().to_string(),
                    sealed,
                    serde_json::to_string(&TestHub::new().recipients()).expect("json")
                ],
            )
            .expect("old enrolment");
        assert!(matches!(
            desk.upload_credentials(),
            Err(Error::CredentialMissing)
        ));
        drop(s);
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let creds = desk.upload_credentials().expect("read").expect("enrolled");
        assert_eq!(creds.token(), "hirc1_old_token");
        assert!(creds.link.receipt_key.is_none(), "to be fetched and pinned");
        let token: Vec<u8> = desk
            .conn
            .query_row("SELECT token FROM hub", [], |r| r.get(0))
            .expect("token column");
        assert!(token.is_empty(), "the store no longer holds it");
        assert!(dir.path().join(crate::CREDENTIAL_FILE).exists());
        // The receipt key is pinned once, on first sight, never replaced.
        let key = SigningKey::generate().public();
        assert!(desk.pin_receipt_key(&key).expect("pin"));
        assert!(
            !desk
                .pin_receipt_key(&SigningKey::generate().public())
                .expect("again")
        );
        assert_eq!(
            desk.hub().expect("hub").and_then(|h| h.receipt_key),
            Some(key)
        );
        assert!(desk.verify_audit(&s).expect("audit").is_ok());
    }

    #[test]
    fn refusals_stop_retries_and_changed_keys_need_consent() {
        let (_dir, mut desk, s, id) = setup();
        let hub = TestHub::new();
        hub.enrol(&mut desk, &s);
        let before = desk.due_uploads(Utc::now(), true).expect("due")[0]
            .payload
            .clone();
        desk.record_upload_failure(id, 1, "this desk has been revoked", None)
            .expect("refused");
        assert!(desk.due_uploads(Utc::now(), true).expect("due").is_empty());
        let summary = desk.outbox_summary().expect("summary");
        assert_eq!(summary.refused, 1);
        assert_eq!(
            summary.last_error.as_deref(),
            Some("this desk has been revoked")
        );

        let other = TestHub {
            device_id: hub.device_id,
            ..TestHub::new()
        };
        assert!(matches!(
            other.enrol_result(&mut desk, &s, false),
            Err(Error::RecipientsChanged)
        ));
        assert_eq!(
            other.enrol_result(&mut desk, &s, true).expect("replace"),
            1,
            "re-encrypted for the new keys"
        );
        let due = desk.due_uploads(Utc::now(), false).expect("due");
        assert_eq!(due.len(), 1, "and queued again");
        assert_ne!(due[0].payload, before);
        // The hub may hold the earlier encryption already: its receipt is
        // still this desk's (the bytes were its own).
        assert_eq!(
            desk.record_delivery(id, 1, &other.receipt(id, 1, &before))
                .expect("an earlier encryption of its own"),
            Delivery::Recorded
        );
        assert!(desk.due_uploads(Utc::now(), true).expect("due").is_empty());
    }
}
