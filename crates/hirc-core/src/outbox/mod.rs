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

mod delivery;
mod enrolment;
mod files;
#[cfg(test)]
mod tests;

pub use files::OutboxExport;

use chrono::{DateTime, Utc};
use hirc_proto::sign::SigningKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::time;

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
    #[serde(serialize_with = "time::as_text")]
    pub enrolled_at: DateTime<Utc>,
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

impl<'a> Enrolment<'a> {
    /// What the hub at `url` answered to an enrolment code, with no private
    /// certificate authority and the desk's own device key (set those
    /// fields after, where a desk has them).
    pub fn from_response(url: &'a str, response: &'a hirc_proto::EnrolResponse) -> Self {
        Self {
            url,
            hub_name: &response.hub_name,
            device_id: response.device_id,
            token: &response.token,
            recipients: &response.recipients,
            ca_pem: None,
            receipt_key: response.receipt_key.as_deref(),
            device_key: None,
        }
    }
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
    /// Its evidence: each item's copy, sent to the hub before it.
    pub evidence: Vec<hirc_proto::EvidenceItem>,
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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Counts for the sync status line.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// The most recent failure, if any report is failing.
    pub last_error: Option<String>,
    /// The earliest next attempt among waiting reports.
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Erasures the hub has not confirmed yet (refused ones included).
    pub erasures_waiting: i64,
}

/// What a receipt file did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReceiptFileOutcome {
    /// Reports now delivered.
    pub recorded: usize,
    /// Receipts for reports already delivered.
    pub already: usize,
    /// Erasures the hub confirmed.
    pub erasures_confirmed: usize,
    /// Receipts refused, with why (forged, for another desk, for nothing
    /// this desk sent).
    pub refused: Vec<(Uuid, String)>,
}
