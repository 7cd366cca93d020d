//! Sync protocol v1 between a desk and the hub (docs/protocol.md): the
//! request and response bodies, the receipt, the error body, and the
//! `Content-Digest` header (RFC 9530) both sides compute.
//!
//! Beside them, what both ends must compute alike: [`sign`] (receipts,
//! enrolment proofs, outbox files) and [`crockford`] (the codes people
//! copy by hand). Nothing else lives here: the desk and the hub share only
//! this crate and `hirc-files`.

#![forbid(unsafe_code)]

pub mod crockford;
pub mod sign;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The protocol version this build speaks, sent in [`PROTOCOL_HEADER`].
pub const PROTOCOL_VERSION: &str = "1";
/// The header that carries [`PROTOCOL_VERSION`] on every request and response.
pub const PROTOCOL_HEADER: &str = "hirc-protocol";
/// The header that carries the body's SHA-256 (RFC 9530).
pub const DIGEST_HEADER: &str = "content-digest";

/// `POST /v1/enrol`: a desk registers with a single-use code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The code printed by `hirc-hub enrol`.
    pub code: String,
    /// A name for the desk, shown in `hirc-hub devices`.
    pub device_name: String,
    /// The desk's device key (public half, [`sign`]). The hub scopes the
    /// desk's report ids by it and checks the desk's outbox files with it.
    /// Optional only for desks older than signed receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    /// The device key's signature of the code: proof the desk holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_proof: Option<String>,
    /// The device this desk was enrolled as until now, proved by its token:
    /// a device from before device keys takes this desk's key, so what it
    /// stored stays this desk's (no second copy of a report it sends again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousDevice>,
}

/// The device a desk was enrolled as before, and its token as proof.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousDevice {
    /// Its id.
    pub device_id: Uuid,
    /// Its bearer token (revoked or not).
    pub token: String,
}

impl std::fmt::Debug for PreviousDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviousDevice")
            .field("device_id", &self.device_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The answer to an enrolment.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// The desk's id at the hub.
    pub device_id: Uuid,
    /// The bearer token for uploads. Shown once; the hub keeps only its hash.
    pub token: String,
    /// The hub's name.
    pub hub_name: String,
    /// The partnership's age recipients (`age1…`) to encrypt reports to.
    pub recipients: Vec<String>,
    /// The hub's receipt key (public half): desks pin it and accept only
    /// receipts it signed. Absent only from hubs older than signed receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_key: Option<String>,
}

impl std::fmt::Debug for EnrolResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolResponse")
            .field("device_id", &self.device_id)
            .field("token", &"<redacted>")
            .field("hub_name", &self.hub_name)
            .field("recipients", &self.recipients)
            .field("receipt_key", &self.receipt_key)
            .finish()
    }
}

/// What the hub returns for a stored report revision. The same receipt is
/// returned for every repeat of the same upload, signed with the hub's
/// receipt key ([`sign::verify_receipt`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The receipt's own id.
    pub receipt_id: Uuid,
    /// The report.
    pub report_id: Uuid,
    /// The revision.
    pub revision: u32,
    /// The body's digest as sent (`sha-256=:…:`).
    pub digest: String,
    /// When the hub first stored it.
    pub received_at: DateTime<Utc>,
    /// The device that uploaded it (this desk, or the same desk under an
    /// earlier enrolment).
    #[serde(default)]
    pub device_id: Option<Uuid>,
    /// The digest of the revision's evidence manifest
    /// ([`evidence_manifest_digest`]): the hub issued this receipt only
    /// once it held every item named, whole. Absent for a revision with no
    /// evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The hub's signature over all of the above (base64).
    #[serde(default)]
    pub signature: Option<String>,
}

/// One item of evidence as the hub sees it: an age file it cannot read,
/// uploaded in chunks to [`evidence_path`] before the revision that names
/// it. The desk names a revision's items in [`EVIDENCE_HEADER`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// The item's id (a fresh one each time the desk encrypts it).
    pub id: Uuid,
    /// Its ciphertext's length in bytes.
    pub length: u64,
    /// Its ciphertext's digest (`sha-256=:…:`).
    pub digest: String,
}

/// `GET` and `PUT` [`evidence_path`]: how much of an item the hub holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceState {
    /// Bytes held so far: the next chunk starts here.
    pub received: u64,
    /// The whole item's length, as the desk declared it (0 if nothing is
    /// held yet).
    pub length: u64,
    /// Whether the hub holds all of it and checked its digest.
    pub complete: bool,
}

/// On a revision's upload: its evidence, as `ID LENGTH DIGEST` items
/// separated by commas ([`evidence_header`]).
pub const EVIDENCE_HEADER: &str = "hirc-evidence";
/// On a chunk: where in the item it starts.
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// On a chunk: the whole item's length.
pub const UPLOAD_LENGTH_HEADER: &str = "upload-length";
/// On a chunk: the whole item's digest (`Content-Digest` is the chunk's).
pub const EVIDENCE_DIGEST_HEADER: &str = "hirc-evidence-digest";
/// The most items one revision may name.
pub const MAX_EVIDENCE_ITEMS: usize = 100;
/// The largest chunk a hub accepts in one request.
pub const MAX_EVIDENCE_CHUNK: usize = 4 * 1024 * 1024;

/// The path an item of evidence is uploaded to.
pub fn evidence_path(report_id: Uuid, evidence_id: Uuid) -> String {
    format!("/v1/reports/{report_id}/evidence/{evidence_id}")
}

/// The [`EVIDENCE_HEADER`] value naming `items`.
pub fn evidence_header(items: &[EvidenceItem]) -> String {
    items
        .iter()
        .map(|i| format!("{} {} {}", i.id, i.length, i.digest))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads an [`EVIDENCE_HEADER`] value: `None` if any item does not read,
/// an id repeats, or there are more than [`MAX_EVIDENCE_ITEMS`].
pub fn parse_evidence_header(value: &str) -> Option<Vec<EvidenceItem>> {
    let mut items: Vec<EvidenceItem> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_ascii_whitespace();
        let (Some(id), Some(length), Some(digest), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return None;
        };
        parse_content_digest(digest)?;
        let item = EvidenceItem {
            id: Uuid::parse_str(id).ok()?,
            length: length.parse().ok()?,
            digest: digest.to_string(),
        };
        if items.iter().any(|i| i.id == item.id) || items.len() == MAX_EVIDENCE_ITEMS {
            return None;
        }
        items.push(item);
    }
    Some(items)
}

/// The digest over a revision's evidence manifest, carried in its receipt:
/// each item's id, length and digest, in order.
pub fn evidence_manifest_digest(items: &[EvidenceItem]) -> String {
    let mut text = String::from("hirc-evidence-manifest-v1\n");
    for i in items {
        text.push_str(&format!("{} {} {}\n", i.id, i.length, i.digest));
    }
    content_digest(text.as_bytes())
}

/// The first lines of an item of evidence's plaintext, as the partnership
/// decrypts it, before the content: which copy, of which item at the desk,
/// on which report and revision, of what kind (`jpeg`, `png`, `pdf`,
/// `text`). The export checks them against the revision's payload, so a
/// copy moved onto another report or item is caught (age has no associated
/// data).
pub fn evidence_copy_header(
    copy: Uuid,
    evidence: Uuid,
    report: Uuid,
    revision: u32,
    kind: &str,
) -> String {
    format!("hirc-evidence-copy/1\n{copy}\n{evidence}\n{report}\n{revision}\n{kind}\n")
}

/// `PUT /v1/status-key`: the desk's key for word back from the
/// partnership (an age X25519 recipient, `age1…`). Statuses the partnership
/// sets on this desk's reports are encrypted to it, so the hub cannot read
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusKey {
    /// The recipient.
    pub recipient: String,
}

/// Where the partnership says a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    /// It has arrived.
    Received,
    /// Someone at the partnership has read it.
    Reviewed,
    /// It has gone to the police (as the person agreed).
    PassedToPolice,
    /// Nothing more will be done with it.
    Closed,
}

impl StatusState {
    /// Every state, in the order a report goes through them.
    pub const ALL: [StatusState; 4] = [
        StatusState::Received,
        StatusState::Reviewed,
        StatusState::PassedToPolice,
        StatusState::Closed,
    ];

    /// The word on the wire and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Reviewed => "reviewed",
            Self::PassedToPolice => "passed_to_police",
            Self::Closed => "closed",
        }
    }

    /// The state named by `word`.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// The plaintext of a status, inside the age ciphertext (encrypted to the
/// desk's status key and to the partnership's recipients).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPlain {
    /// `hirc-status`.
    pub format: String,
    /// The status's id (the same outside, signed).
    pub status_id: Uuid,
    /// The report.
    pub report_id: Uuid,
    /// Its reference.
    pub reference: String,
    /// Where it stands.
    pub state: StatusState,
    /// A short note from the partnership (optional; most say nothing about
    /// the person).
    #[serde(default)]
    pub note: Option<String>,
    /// When the partnership set it.
    pub set_at: DateTime<Utc>,
}

/// The most a status's note may be, in characters.
pub const MAX_STATUS_NOTE_CHARS: usize = 500;

/// One status as the hub hands it to the desk: ciphertext it cannot read,
/// signed with the hub's receipt key ([`sign::verify_status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusNotice {
    /// The status's id.
    pub status_id: Uuid,
    /// Its place in the hub's sequence, for paging (`?after=`).
    pub seq: i64,
    /// The report it is about.
    pub report_id: Uuid,
    /// When it was set.
    pub set_at: DateTime<Utc>,
    /// The age ciphertext of a [`StatusPlain`] (base64).
    pub body: String,
    /// The hub's signature over the id, report, body's digest and time.
    pub signature: String,
}

/// `GET /v1/statuses?after=SEQ`: the statuses on this desk's reports after
/// `after`, oldest first, at most [`MAX_STATUSES_PER_PAGE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusList {
    /// The statuses.
    pub statuses: Vec<StatusNotice>,
}

/// The most statuses one page holds.
pub const MAX_STATUSES_PER_PAGE: usize = 100;

/// `POST /v1/reports/{id}/erasure`: the desk asks the hub to erase every
/// revision of one of its reports, at the person's request. Signed with the
/// desk's device key ([`sign::verify_erasure`]), so that only the desk that
/// sent the report can have it erased, and the hub can show who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureNotice {
    /// Always `hirc-erasure`.
    pub format: String,
    /// The report to erase (every revision).
    pub report_id: Uuid,
    /// When the coordinator erased it at the desk.
    pub erased_at: DateTime<Utc>,
    /// The device key's signature (base64).
    pub signature: String,
}

/// The format word of an [`ErasureNotice`].
pub const ERASURE_FORMAT: &str = "hirc-erasure";

/// The hub's answer to an erasure: what it now keeps of the report (the
/// tombstone), signed with its receipt key ([`sign::verify_erasure_receipt`]).
/// The same notice again gets the same receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceipt {
    /// The report erased.
    pub report_id: Uuid,
    /// The device whose notice it was.
    pub device_id: Uuid,
    /// When the desk erased it (from the notice).
    pub erased_at: DateTime<Utc>,
    /// When the hub erased it.
    pub received_at: DateTime<Utc>,
    /// How many stored revisions the hub deleted (0 if none had arrived).
    pub revisions_deleted: u32,
    /// The hub's signature over the rest (base64).
    pub signature: Option<String>,
}

/// Every error answer's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable word to branch on (see [`ErrorKind`]).
    pub error: ErrorKind,
    /// What went wrong, for a person.
    pub message: String,
    /// With a 409 for a revision this same desk stored earlier with other
    /// bytes (encrypted again after the partnership's keys were replaced,
    /// say): the signed receipt of what the hub holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// `GET /v1/receipt-key` (with the desk's token): the hub's receipt key, for
/// a desk enrolled before receipts were signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptKey {
    /// The public half, base64.
    pub receipt_key: String,
}

/// The kinds of error the hub answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 400: the request is malformed.
    BadRequest,
    /// 401: no token, an unknown token, or a revoked device.
    Unauthorized,
    /// 404: no such route.
    NotFound,
    /// 409: the same report revision was stored with another body, or by
    /// another device.
    Conflict,
    /// 410: the enrolment code is used or expired.
    CodeUsed,
    /// 413: the body is larger than the hub accepts.
    TooLarge,
    /// 422: the body is not an age file, or its digest does not match.
    Unprocessable,
    /// 429: too many requests from this device; see `Retry-After`.
    RateLimited,
    /// 500: the hub failed; retry later.
    Internal,
    /// 503: the hub is unavailable; see `Retry-After`.
    Unavailable,
    /// 410 to an upload: the report was erased at the person's request, and
    /// is never stored again.
    Erased,
    /// 409 to a revision's upload: an item of evidence it names is not
    /// held whole yet; upload it (from where the hub says it stands), then
    /// the revision again.
    EvidenceIncomplete,
}

/// An enrolment handed over on paper or a USB stick, for a desk that is
/// never online (`hirc-hub enrol --offline-file`, `hirc enrol --file`).
/// It holds the desk's token: keep it as safe as a passphrase.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineEnrolment {
    /// Always `hirc-offline-enrolment`.
    pub format: String,
    /// The hub's address, for when the desk does go online (may be empty).
    pub hub_url: String,
    /// What `POST /v1/enrol` would have answered.
    pub enrolment: EnrolResponse,
    /// The desk's device key, made by the hub for a desk that cannot send
    /// its own (secret, base64): it signs the desk's outbox files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key_secret: Option<String>,
}

impl std::fmt::Debug for OfflineEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineEnrolment")
            .field("hub_url", &self.hub_url)
            .field("enrolment", &self.enrolment)
            .finish()
    }
}

/// The format word of an [`OfflineEnrolment`].
pub const OFFLINE_ENROLMENT_FORMAT: &str = "hirc-offline-enrolment";

/// Sealed reports carried to the hub by hand (`hirc outbox export`,
/// `hirc-hub import`). The payloads are the same ciphertexts an upload
/// would send, so the same exactly-once rules apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxFile {
    /// Always `hirc-outbox`.
    pub format: String,
    /// The desk's id at the hub.
    pub device_id: Uuid,
    /// When the file was written.
    pub created_at: DateTime<Utc>,
    /// The reports.
    pub reports: Vec<OutboxEntry>,
    /// Erasures at the person's request the hub has not confirmed, each
    /// signed on its own with the device key (as sent over the network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<ErasureNotice>,
    /// The desk's device key's signature over the file ([`sign`]): the hub
    /// imports only a file the named desk signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The format word of an [`OutboxFile`].
pub const OUTBOX_FILE_FORMAT: &str = "hirc-outbox";

/// One report revision in an [`OutboxFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The report.
    pub report_id: Uuid,
    /// The revision.
    pub revision: u32,
    /// `sha-256=:…:` of the payload.
    pub digest: String,
    /// The age ciphertext, base64.
    pub payload: String,
    /// The revision's evidence, whole: what an upload would send in chunks
    /// before it (its manifest, in order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<OutboxEvidence>,
}

/// One item of evidence in an [`OutboxEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvidence {
    /// The copy's id.
    pub id: Uuid,
    /// Its ciphertext's length.
    pub length: u64,
    /// Its ciphertext's digest.
    pub digest: String,
    /// The age ciphertext, base64.
    pub payload: String,
}

impl OutboxEntry {
    /// The manifest of the revision's evidence, as an upload names it.
    pub fn manifest(&self) -> Vec<EvidenceItem> {
        self.evidence
            .iter()
            .map(|e| EvidenceItem {
                id: e.id,
                length: e.length,
                digest: e.digest.clone(),
            })
            .collect()
    }
}

/// The hub's answer to an [`OutboxFile`], carried back to the desk
/// (`hirc outbox receipts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptFile {
    /// Always `hirc-receipts`.
    pub format: String,
    /// The desk these receipts are for.
    pub device_id: Uuid,
    /// One receipt per stored (or already stored) report.
    pub receipts: Vec<Receipt>,
    /// One signed receipt per erasure the file carried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasures: Vec<ErasureReceipt>,
}

/// The format word of a [`ReceiptFile`].
pub const RECEIPT_FILE_FORMAT: &str = "hirc-receipts";

/// Base64 for payloads in files.
pub fn encode_payload(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Reads a payload from a file.
pub fn decode_payload(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// [`PROTOCOL_VERSION`].
    pub protocol: String,
}

/// The `Content-Digest` value of a body: `sha-256=:BASE64:`.
pub fn content_digest(body: &[u8]) -> String {
    digest_value(&Sha256::digest(body))
}

/// The `Content-Digest` value of a SHA-256 already taken (of a body hashed
/// as it streamed): `sha-256=:BASE64:`.
pub fn digest_value(sha256: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(sha256))
}

/// Reads a `Content-Digest` header's SHA-256, ignoring other algorithms.
pub fn parse_content_digest(header: &str) -> Option<[u8; 32]> {
    header.split(',').find_map(|item| {
        let (alg, value) = item.trim().split_once('=')?;
        if !alg.trim().eq_ignore_ascii_case("sha-256") {
            return None;
        }
        let b64 = value.trim().strip_prefix(':')?.strip_suffix(':')?;
        STANDARD.decode(b64).ok()?.try_into().ok()
    })
}

/// A short fingerprint of a set of recipients, for people to compare out of
/// band (read over the phone): SHA-256 of the sorted keys, first 80 bits, in
/// five groups of four hex digits.
pub fn recipients_fingerprint(recipients: &[String]) -> String {
    let mut sorted: Vec<&str> = recipients.iter().map(|r| r.trim()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    fingerprint(&Sha256::digest(sorted.join("\n").as_bytes()))
}

/// The first 80 bits of a hash as five groups of four hex digits.
fn fingerprint(hash: &[u8]) -> String {
    let hex: String = hash.iter().take(10).map(|b| format!("{b:02X}")).collect();
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a desk enrolled before receipts were signed fetches the hub's
/// receipt key.
pub const RECEIPT_KEY_PATH: &str = "/v1/receipt-key";

/// The path a revision is uploaded to.
pub fn report_path(report_id: Uuid, revision: u32) -> String {
    format!("/v1/reports/{report_id}/revisions/{revision}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip() {
        let header = content_digest(b"hello");
        assert_eq!(
            header,
            "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:"
        );
        let parsed = parse_content_digest(&format!("sha-512=:AAAA:, {header}")).expect("parses");
        assert_eq!(parsed.as_slice(), Sha256::digest(b"hello").as_slice());
        assert!(parse_content_digest("sha-256=:not base64:").is_none());
        assert!(
            parse_content_digest("sha-256=:AAAA:").is_none(),
            "wrong length"
        );
    }

    #[test]
    fn evidence_headers_round_trip_and_refuse_what_does_not_read() {
        let items: Vec<EvidenceItem> = (0..3)
            .map(|n| EvidenceItem {
                id: Uuid::now_v7(),
                length: 1000 + n,
                digest: content_digest(&[n as u8]),
            })
            .collect();
        let header = evidence_header(&items);
        assert_eq!(parse_evidence_header(&header), Some(items.clone()));
        assert_eq!(parse_evidence_header(""), Some(vec![]));
        let one = format!("{} 5 {}", items[0].id, items[0].digest);
        for bad in [
            format!("{one}, {one}"),
            format!("{} five {}", items[0].id, items[0].digest),
            format!("{} 5 sha-256=:nope:", items[0].id),
            format!("{one} extra"),
            "not-an-id 5 x".to_string(),
        ] {
            assert_eq!(parse_evidence_header(&bad), None, "{bad}");
        }
        let many: Vec<EvidenceItem> = (0..=MAX_EVIDENCE_ITEMS)
            .map(|_| EvidenceItem {
                id: Uuid::now_v7(),
                ..items[0].clone()
            })
            .collect();
        assert_eq!(parse_evidence_header(&evidence_header(&many)), None);
        // The manifest's digest depends on every item, in order.
        let d = evidence_manifest_digest(&items);
        let mut swapped = items.clone();
        swapped.swap(0, 1);
        assert_ne!(d, evidence_manifest_digest(&swapped));
        assert_ne!(d, evidence_manifest_digest(&items[..2]));
    }

    #[test]
    fn fingerprints_ignore_order_and_differ_by_key() {
        let a = vec!["age1aaa".to_string(), "age1bbb".to_string()];
        let b = vec!["age1bbb".to_string(), "age1aaa".to_string()];
        assert_eq!(recipients_fingerprint(&a), recipients_fingerprint(&b));
        assert_ne!(recipients_fingerprint(&a), recipients_fingerprint(&a[..1]));
        assert_eq!(recipients_fingerprint(&a).len(), 24);
    }

    #[test]
    fn tokens_never_print() {
        let r = EnrolResponse {
            device_id: Uuid::nil(),
            token: "SECRET".into(),
            hub_name: "hub".into(),
            recipients: vec![],
            receipt_key: None,
        };
        assert!(!format!("{r:?}").contains("SECRET"));
        let e = ErrorBody {
            error: ErrorKind::TooLarge,
            message: "m".into(),
            receipt: None,
        };
        assert_eq!(
            serde_json::to_value(&e).expect("json")["error"],
            "too_large"
        );
    }
}
