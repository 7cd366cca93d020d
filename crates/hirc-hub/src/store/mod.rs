//! Where the hub keeps devices, enrolment codes and report ciphertexts.
//!
//! [`HubStore`] is the one interface the server and the admin commands use;
//! [`crate::sqlite_store::SqliteStore`] is the embedded default and
//! [`crate::pg_store::PgStore`] serves several hub processes on one
//! database. Every method is async: PostgreSQL is spoken asynchronously over
//! a pool, and SQLite's blocking calls run on tokio's blocking pool. Report ids are scoped to the
//! desk: a desk is its device key, so the same desk enrolled again (a new
//! device with the same key) finds what it stored before, and no other desk
//! can occupy or block its ids. Within a desk an upload is idempotent by
//! (report id, revision, digest): the same body again gets the same receipt,
//! another body gets a conflict (with the receipt of what is held), and
//! nothing stored ever changes.

use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, Utc};
use hirc_proto::{EvidenceItem, Receipt, StatusNotice};
use uuid::Uuid;

/// Result with the store's error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("the hub's database failed: {0}")]
    Database(#[from] rusqlite::Error),
    /// The file is not a hub store.
    #[error("{0} is not a HIRC hub store; it was left untouched")]
    Foreign(String),
    /// PostgreSQL failed.
    #[error("the hub's PostgreSQL database failed: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to PostgreSQL could be had (it is down, restarting, or
    /// every connection is busy for too long).
    #[error("the hub's PostgreSQL database cannot be reached: {0}")]
    Unavailable(String),
    /// A stored value does not parse.
    #[error("the hub's database holds a value it cannot read ({0})")]
    Corrupt(&'static str),
    /// The PostgreSQL schema could not be brought up to date.
    #[error("the hub's PostgreSQL schema could not be brought up to date: {0}")]
    Migration(String),
    /// The store was made by a newer hub: this one leaves it alone.
    #[error("{0} was made by a newer hirc-hub; it was left untouched (upgrade this one)")]
    Newer(String),
    /// A file the store writes (a backup's copy) could not be written.
    #[error("could not write {0}")]
    Write(String),
    /// The thread running a storage call stopped before it answered.
    #[error("the hub's storage call stopped before it answered: {0}")]
    Stopped(String),
}

/// An enrolled desk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    /// Its id.
    pub id: Uuid,
    /// The centre it was enrolled for.
    pub centre: String,
    /// The name the desk gave itself.
    pub name: String,
    /// When it enrolled.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// How many report revisions it has uploaded; not counted (`None`)
    /// when it is looked up by its token, which every upload does: that
    /// count would grow with the desk's history.
    pub reports: Option<i64>,
    /// Its device key (public half, base64), if it registered one.
    pub device_key: Option<String>,
}

/// The outcome of redeeming an enrolment code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeem {
    /// The device is enrolled.
    Enrolled(Device),
    /// No such code.
    Unknown,
    /// Already used, or past its expiry.
    UsedOrExpired,
}

/// The outcome of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Stored for the first time.
    Created(Receipt),
    /// The same body was already stored by this desk: the same receipt.
    Repeat(Receipt),
    /// This desk stored this revision earlier with another body: the
    /// receipt of what is held.
    Conflict(Receipt),
    /// The report was erased at the person's request: never stored again.
    Erased(Tombstone),
}

/// What the hub keeps of a report erased at the person's request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tombstone {
    /// The report erased.
    pub report_id: Uuid,
    /// The device whose notice it was.
    pub device_id: Uuid,
    /// When the desk erased it.
    pub erased_at: DateTime<Utc>,
    /// When the hub erased it.
    pub received_at: DateTime<Utc>,
    /// How many stored revisions were deleted.
    pub revisions_deleted: u32,
}

/// A tombstone row as read: report, device, erased, received, revisions.
pub(crate) type TombstoneRow = (String, String, String, String, i64);

/// The columns a [`TombstoneRow`] reads, in order.
pub(crate) const TOMBSTONE_COLUMNS: &str =
    "report_id, device_id, erased_at, received_at, revisions_deleted";

pub(crate) fn tombstone(row: TombstoneRow) -> Result<Tombstone> {
    let (report, device, erased, received, deleted) = row;
    Ok(Tombstone {
        report_id: id(&report)?,
        device_id: id(&device)?,
        erased_at: time(&erased)?,
        received_at: time(&received)?,
        revisions_deleted: u32::try_from(deleted).map_err(|_| StoreError::Corrupt("a count"))?,
    })
}

impl Put {
    /// The answer to an upload of `digest` when this desk already holds the
    /// revision as `held`: the same bytes again, or other bytes.
    pub(crate) fn for_held(held: Receipt, digest: &str) -> Self {
        if held.digest == digest {
            Put::Repeat(held)
        } else {
            Put::Conflict(held)
        }
    }
}

/// One upload on its way into a store (the stores' group commits queue
/// these).
pub(crate) struct Upload {
    pub(crate) device_id: Uuid,
    pub(crate) report_id: Uuid,
    pub(crate) revision: u32,
    pub(crate) digest: String,
    pub(crate) body: Vec<u8>,
    /// The digest of the evidence manifest, for a revision with evidence.
    pub(crate) evidence: Option<String>,
    pub(crate) now: DateTime<Utc>,
}

impl Upload {
    /// The receipt for storing it now for the first time (unsigned: the
    /// server signs what it answers). Its time is the stored text's, read
    /// back, so the receipt says exactly what the store holds.
    pub(crate) fn fresh_receipt(&self) -> Result<Receipt> {
        Ok(Receipt {
            receipt_id: Uuid::now_v7(),
            report_id: self.report_id,
            revision: self.revision,
            digest: self.digest.clone(),
            received_at: time(&text(self.now))?,
            device_id: Some(self.device_id),
            evidence: self.evidence.clone(),
            signature: None,
        })
    }
}

/// How much of an item of evidence a store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEvidence {
    /// The report it was uploaded for.
    pub report_id: Uuid,
    /// Its whole length, as the desk declared it.
    pub length: u64,
    /// Its whole digest, as the desk declared it.
    pub digest: String,
    /// Bytes held so far.
    pub received: u64,
    /// Held whole, and its digest checked.
    pub complete: bool,
}

/// What a sweep of unnamed evidence deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Items.
    pub items: u64,
    /// Their bytes, as held.
    pub bytes: u64,
}

/// The condition (on `evidence e`, with the cut-off as `{idle}`) of an item
/// a sweep deletes: never named, begun before the cut-off, no chunk of any
/// item of its report since (a report's items go one after another: one
/// slow to send keeps the others), and, if it is whole, its report has no
/// revision naming evidence stored from its desk (whatever marked it or
/// not: a hub of an older version, serving beside this one on the same
/// database, stores revisions without marking their items; an item not
/// whole was never named by any, so a report's stored revision keeps no
/// half-sent item of a later one).
pub(crate) const UNNAMED_IDLE_SQL: &str = "NOT e.named AND e.started_at < {idle}
     AND NOT EXISTS (SELECT 1 FROM evidence o JOIN evidence_chunks c ON c.desk = o.desk AND c.id = o.id
                     WHERE o.desk = e.desk AND o.report_id = e.report_id AND c.received_at >= {idle})
     AND (NOT e.complete
          OR NOT EXISTS (SELECT 1 FROM reports r WHERE r.report_id = e.report_id AND r.evidence IS NOT NULL
                           AND r.device_id IN (SELECT d.id FROM devices d WHERE coalesce(d.device_key, d.id) = e.desk)))";

/// Items a sweep deletes in one transaction: the store is not held for
/// long, whatever has piled up.
pub(crate) const SWEPT_AT_ONCE: i64 = 16;

/// One chunk of an item of evidence on its way into a store.
#[derive(Debug, Clone)]
pub struct EvidenceChunk {
    /// The device sending it.
    pub device_id: Uuid,
    /// The report the item is for.
    pub report_id: Uuid,
    /// The item.
    pub evidence_id: Uuid,
    /// The whole item's length.
    pub length: u64,
    /// The whole item's digest.
    pub digest: String,
    /// Where in the item this chunk starts.
    pub offset: u64,
    /// The chunk.
    pub bytes: Vec<u8>,
    /// The most this desk may send in 24 hours, in bytes, counted by when
    /// they arrived (what a stolen token can fill the disk with in a day);
    /// `u64::MAX`: not metered (carried in by hand).
    pub day_quota: u64,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The outcome of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkPut {
    /// Stored: what is held now.
    Stored(HeldEvidence),
    /// Not stored, because it does not start where the held bytes end (or
    /// the item is already whole): what is held, for the desk to go on from.
    /// With nothing held, `None`.
    NotAt(Option<HeldEvidence>),
    /// This desk holds the item with another length, digest or report.
    Conflict(HeldEvidence),
    /// The report was erased at the person's request.
    Erased(Tombstone),
    /// The desk has sent as much evidence in the last 24 hours as it may.
    OverQuota,
}

/// The SHA-256 of a held item of evidence, read chunk by chunk (never
/// whole), to check it against the digest the desk declared.
pub(crate) async fn held_sha256(
    store: &dyn HubStore,
    device_id: Uuid,
    evidence_id: Uuid,
) -> Result<[u8; 32]> {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    let mut seq = 0;
    while let Some(chunk) = store.evidence_chunk(device_id, evidence_id, seq).await? {
        hash.update(&chunk);
        seq += 1;
    }
    Ok(hash.finalize().into())
}

/// A held item's row as read: report, length, digest, received, complete.
pub(crate) type HeldEvidenceRow = (String, i64, String, i64, bool);

/// The columns a [`HeldEvidenceRow`] reads, in order.
pub(crate) const HELD_EVIDENCE_COLUMNS: &str = "report_id, length, digest, received, complete";

pub(crate) fn held_evidence(row: HeldEvidenceRow) -> Result<HeldEvidence> {
    let (report, length, digest, received, complete) = row;
    let count = |n: i64| u64::try_from(n).map_err(|_| StoreError::Corrupt("a length"));
    Ok(HeldEvidence {
        report_id: id(&report)?,
        length: count(length)?,
        digest,
        received: count(received)?,
        complete,
    })
}

/// One stored upload, for export.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// The receipt issued for it.
    pub receipt: Receipt,
    /// Which device sent it.
    pub device_id: Uuid,
    /// The age ciphertext.
    pub body: Vec<u8>,
}

/// What a store holds, counted for a backup's note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// Devices enrolled (revoked ones included).
    pub desks: u64,
    /// Report revisions stored.
    pub revisions: u64,
}

/// The counts in [`Held`], in SQL every schema so far answers: a backup
/// reads a store as it is, whichever hub version made it.
pub(crate) const HELD_SQL: &str =
    "SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM reports)";

/// How the storage is doing, for the operators' metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Transactions that stored (or found already held) uploads since the
    /// process started: fewer than the uploads when commits were grouped.
    pub commits: u64,
    /// The pool of database connections, where there is one.
    pub pool: Option<PoolStats>,
}

/// A pool of database connections, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub open: usize,
    /// Of those, idle.
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
    /// The most connections the pool opens.
    pub max: usize,
}

/// Storage for the hub.
#[async_trait::async_trait]
pub trait HubStore: Send + Sync + 'static {
    /// Records a new enrolment code (already hashed).
    async fn add_enrol_code(
        &self,
        code_hash: &str,
        centre: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Uses a code, creating the device (with its device key, if it has
    /// one), in one transaction.
    async fn redeem(
        &self,
        code_hash: &str,
        device_name: &str,
        token_hash: &str,
        device_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Redeem>;
    /// The device whose token hashes to `token_hash`, revoked or not.
    async fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    /// The device with this id, revoked or not.
    async fn device(&self, device_id: Uuid) -> Result<Option<Device>>;
    /// Gives a device from before device keys the key of the desk it was
    /// (so its reports stay that desk's); a device with a key keeps it.
    async fn adopt_key(&self, device_id: Uuid, device_key: &str) -> Result<()>;
    /// Every device, oldest first.
    async fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device; false if there is none with that id.
    async fn revoke(&self, device_id: Uuid, now: DateTime<Utc>) -> Result<bool>;
    /// Stores an upload, or answers what this desk already stored there.
    async fn put(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        revision: u32,
        digest: &str,
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Put> {
        self.put_with_evidence(device_id, report_id, revision, digest, body, None, now)
            .await
    }
    /// Stores an upload naming its evidence manifest's digest (`None` for a
    /// revision without evidence: then it is [`HubStore::put`]). The caller
    /// has checked that every item named is held whole.
    #[allow(clippy::too_many_arguments)]
    async fn put_with_evidence(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        revision: u32,
        digest: &str,
        body: Vec<u8>,
        evidence: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Put>;
    /// How much of an item of evidence the desk `device_id` is holds here.
    async fn evidence_held(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
    ) -> Result<Option<HeldEvidence>>;
    /// Stores a chunk of an item of evidence if it starts where the held
    /// bytes end, in one transaction (a report erased meanwhile takes none).
    async fn put_evidence_chunk(&self, chunk: EvidenceChunk) -> Result<ChunkPut>;
    /// The `seq`-th chunk of a held item, in the order they were stored.
    async fn evidence_chunk(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        seq: u64,
    ) -> Result<Option<Vec<u8>>>;
    /// Marks an item whose every byte is held as whole (its digest was
    /// checked), or, if `whole` is false, deletes it so that it is sent
    /// again from the start.
    async fn settle_evidence(&self, device_id: Uuid, evidence_id: Uuid, whole: bool) -> Result<()>;
    /// Marks `items` as named by a revision of `report_id` from the desk
    /// `device_id` is, if every one is held whole here as the revision names
    /// it (this report, length and digest), in one transaction; returns
    /// whether they all were (if not, none is marked). Called before the
    /// revision is stored, so that an item a stored revision names is never
    /// swept (at worst one is kept that a failed revision named).
    async fn name_evidence(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        items: Vec<EvidenceItem>,
    ) -> Result<bool>;
    /// Deletes the items of evidence no revision has named that have had no
    /// byte since `idle_since` (begun before it, no chunk of their report's
    /// items at or after it), a few at a time: those of a desk reset,
    /// replaced or given up mid-upload. A desk still sending one is told the
    /// hub holds none, and starts it again.
    async fn sweep_unnamed_evidence(&self, idle_since: DateTime<Utc>) -> Result<Swept>;
    /// Stored reports received at or after `since`, oldest first.
    async fn reports_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<StoredReport>>;
    /// Registers (or replaces) the status key of the desk `device_id` is.
    async fn set_status_key(
        &self,
        device_id: Uuid,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The status key of the desk `device_id` is, if it registered one.
    async fn status_key(&self, device_id: Uuid) -> Result<Option<String>>;
    /// Stores a status (encrypted and signed already) for the desk
    /// `device_id` is; returns its place in the sequence, or `None` if the
    /// report was erased (then nothing is stored: no word outlives a
    /// tombstone, even one an erasure commits meanwhile).
    async fn add_status(&self, device_id: Uuid, notice: &StatusNotice) -> Result<Option<i64>>;
    /// The statuses of the desk `device_id` is, after `after`, oldest first,
    /// at most `limit`.
    async fn statuses_after(
        &self,
        device_id: Uuid,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StatusNotice>>;
    /// Every status, oldest first (the partnership's export).
    async fn all_statuses(&self) -> Result<Vec<StatusNotice>>;
    /// Erases every revision of a report of the desk `device_id` is, and
    /// the statuses on it, leaving a tombstone, in one transaction. The same
    /// erasure again finds the tombstone and changes nothing.
    async fn erase(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        erased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Tombstone>;
    /// Every tombstone, oldest first (the partnership's export).
    async fn erasures(&self) -> Result<Vec<Tombstone>>;
    /// Whether the storage answers now (the hub's readiness).
    async fn ping(&self) -> Result<()>;
    /// Which storage this is (`sqlite`, `postgres`), for the metrics.
    fn backend(&self) -> &'static str;
    /// How the storage is doing now, for the metrics.
    fn stats(&self) -> StoreStats;
    /// Where the rate limits and the guessing throttle are counted so that
    /// every hub process on this storage sees them; `None` where one
    /// process's memory is enough (the embedded store serves one hub).
    fn shared_limits(&self) -> Option<&dyn SharedLimits> {
        None
    }
}

/// Hits counted per key and minute in the storage, seen by every hub
/// process on it: a desk's uploads per minute, an address's wrong guesses.
/// The minute is the storage's, by its own clock: hub processes whose
/// clocks disagree by a few seconds still count in the same minute.
#[async_trait::async_trait]
pub trait SharedLimits: Send + Sync {
    /// Counts one hit for `key` in the current minute and returns the hits
    /// so far in it.
    async fn hit(&self, key: &str) -> Result<Hits>;
    /// The hits for `key` in the current minute so far.
    async fn hits(&self, key: &str) -> Result<Hits>;
    /// Forgets the hits of the minutes before the current one.
    async fn forget_old_hits(&self) -> Result<()>;
}

/// A key's hits in the storage's current minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    /// Hits so far in the minute.
    pub hits: u32,
    /// Seconds until the minute is up (1 to 60).
    pub seconds_left: u64,
}

pub(crate) fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt("a time"))
}

/// Which desk a device is, for its statuses: its device key, or (a desk
/// without one) its id. `?1` / `$1` is the device id.
pub(crate) fn desk_of_sql(placeholder: &str) -> String {
    format!("(SELECT coalesce(device_key, id) FROM devices WHERE id = {placeholder})")
}

/// A status row as read: seq, status id, report id, body, signature, set at.
pub(crate) type StatusRow = (i64, String, String, String, String, String);

pub(crate) fn status(row: StatusRow) -> Result<StatusNotice> {
    let (seq, status_id, report_id, body, signature, set_at) = row;
    Ok(StatusNotice {
        status_id: id(&status_id)?,
        seq,
        report_id: id(&report_id)?,
        set_at: time(&set_at)?,
        body,
        signature,
    })
}

/// The columns a [`StatusRow`] reads, in order.
pub(crate) const STATUS_COLUMNS: &str = "seq, status_id, report_id, body, signature, set_at";

pub(crate) fn id(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| StoreError::Corrupt("an id"))
}

/// A device row as read: id, centre, name, created, revoked, report count,
/// device key.
pub(crate) type DeviceRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);
/// A receipt row as read: receipt id, report id, revision, digest, received,
/// device, evidence manifest digest.
pub(crate) type ReceiptRow = (String, String, i64, String, String, String, Option<String>);

pub(crate) fn device(row: DeviceRow) -> Result<Device> {
    let (i, centre, name, created, revoked, reports, device_key) = row;
    Ok(Device {
        id: id(&i)?,
        centre,
        name,
        created_at: time(&created)?,
        revoked_at: revoked.as_deref().map(time).transpose()?,
        reports,
        device_key,
    })
}

pub(crate) const DEVICE_COLUMNS: &str = "d.id, d.centre, d.name, d.created_at, d.revoked_at,
    (SELECT count(*) FROM reports r WHERE r.device_id = d.id), d.device_key";

/// [`DEVICE_COLUMNS`] without the count of reports, for the lookup by
/// token that every upload makes.
pub(crate) const TOKEN_DEVICE_COLUMNS: &str = "d.id, d.centre, d.name, d.created_at, d.revoked_at,
    CAST(NULL AS BIGINT), d.device_key";

/// The receipt columns of `reports r`, in [`ReceiptRow`]'s order.
pub(crate) const RECEIPT_COLUMNS: &str =
    "r.receipt_id, r.report_id, r.revision, r.digest, r.received_at, r.device_id, r.evidence";

pub(crate) fn receipt(row: ReceiptRow) -> Result<Receipt> {
    let (rid, report, revision, digest, at, device_id, evidence) = row;
    Ok(Receipt {
        receipt_id: id(&rid)?,
        report_id: id(&report)?,
        revision: u32::try_from(revision).map_err(|_| StoreError::Corrupt("a revision"))?,
        digest,
        received_at: time(&at)?,
        device_id: Some(id(&device_id)?),
        evidence,
        signature: None,
    })
}

/// The stored revision of this desk's (the device's, or another device's
/// with the same device key), preferring one with `digest`. A revoked
/// device's row counts only if it holds the very same bytes: what someone
/// uploaded with a stolen token before the revocation can neither block the
/// desk nor be taken for its report. The same query, with `?N`/`$N`
/// placeholders: report id, revision, device id, digest. Written once per
/// placeholder: every upload asks it.
pub(crate) fn desk_revision_sql(placeholder: char) -> &'static str {
    static SQLITE: LazyLock<String> = LazyLock::new(|| desk_revision_query('?'));
    static POSTGRES: LazyLock<String> = LazyLock::new(|| desk_revision_query('$'));
    if placeholder == '$' {
        &POSTGRES
    } else {
        &SQLITE
    }
}

fn desk_revision_query(placeholder: char) -> String {
    let (report, revision, device, digest) = (
        format!("{placeholder}1"),
        format!("{placeholder}2"),
        format!("{placeholder}3"),
        format!("{placeholder}4"),
    );
    format!(
        "SELECT {RECEIPT_COLUMNS} FROM reports r
         WHERE r.report_id = {report} AND r.revision = {revision}
           AND (r.device_id = {device} OR r.device_id IN (
               SELECT o.id FROM devices o JOIN devices me ON me.id = {device}
               WHERE me.device_key IS NOT NULL AND o.device_key = me.device_key))
           AND (r.digest = {digest} OR r.device_id IN (
               SELECT a.id FROM devices a WHERE a.revoked_at IS NULL))
         ORDER BY (r.digest = {digest}) DESC, r.received_at
         LIMIT 1"
    )
}

#[cfg(test)]
pub(crate) mod tests;
