//! Where the hub keeps devices, enrolment codes and report ciphertexts.
//!
//! [`HubStore`] is the one interface the server and the admin commands use;
//! [`SqliteStore`] is the embedded default. Every method is blocking: the
//! server calls them on tokio's blocking pool. Report ids are scoped to the
//! desk: a desk is its device key, so the same desk enrolled again (a new
//! device with the same key) finds what it stored before, and no other desk
//! can occupy or block its ids. Within a desk an upload is idempotent by
//! (report id, revision, digest): the same body again gets the same receipt,
//! another body gets a conflict (with the receipt of what is held), and
//! nothing stored ever changes.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use hirc_proto::Receipt;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
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
    Postgres(#[from] postgres::Error),
    /// No connection to PostgreSQL could be had (it is down, restarting, or
    /// every connection is busy for too long).
    #[error("the hub's PostgreSQL database cannot be reached: {0}")]
    Unavailable(String),
    /// A stored value does not parse.
    #[error("the hub's database holds a value it cannot read ({0})")]
    Corrupt(&'static str),
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
    /// How many report revisions it has uploaded.
    pub reports: i64,
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

/// Storage for the hub.
pub trait HubStore: Send + Sync + 'static {
    /// Records a new enrolment code (already hashed).
    fn add_enrol_code(
        &self,
        code_hash: &str,
        centre: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Uses a code, creating the device (with its device key, if it has
    /// one), in one transaction.
    fn redeem(
        &self,
        code_hash: &str,
        device_name: &str,
        token_hash: &str,
        device_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Redeem>;
    /// The device whose token hashes to `token_hash`, revoked or not.
    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    /// The device with this id, revoked or not.
    fn device(&self, device_id: Uuid) -> Result<Option<Device>>;
    /// Gives a device from before device keys the key of the desk it was
    /// (so its reports stay that desk's); a device with a key keeps it.
    fn adopt_key(&self, device_id: Uuid, device_key: &str) -> Result<()>;
    /// Every device, oldest first.
    fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device; false if there is none with that id.
    fn revoke(&self, device_id: Uuid, now: DateTime<Utc>) -> Result<bool>;
    /// Stores an upload, or answers what this desk already stored there.
    fn put(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        revision: u32,
        digest: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Put>;
    /// Stored reports received at or after `since`, oldest first.
    fn reports_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<StoredReport>>;
    /// Whether the storage answers now (the hub's readiness).
    fn ping(&self) -> Result<()>;
    /// Which storage this is (`sqlite`, `postgres`), for the metrics.
    fn backend(&self) -> &'static str;
    /// Where the rate limits and the guessing throttle are counted so that
    /// every hub process on this storage sees them; `None` where one
    /// process's memory is enough (the embedded store serves one hub).
    fn shared_limits(&self) -> Option<&dyn SharedLimits> {
        None
    }
}

/// Hits counted per key and minute in the storage, seen by every hub
/// process on it: a desk's uploads per minute, an address's wrong guesses.
pub trait SharedLimits {
    /// Counts one hit for `key` in `minute` (minutes since the Unix epoch)
    /// and returns the hits so far in that minute.
    fn hit(&self, key: &str, minute: i64) -> Result<u32>;
    /// The hits for `key` in `minute` so far.
    fn hits(&self, key: &str, minute: i64) -> Result<u32>;
    /// Forgets the hits of minutes before `minute`.
    fn forget_hits_before(&self, minute: i64) -> Result<()>;
}

const APPLICATION_ID: i32 = 0x4849_4842; // "HIHB"
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_desk_scope.sql"),
];

/// The embedded SQLite store: one file, `hub.sqlite3`, in the data directory.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

pub(crate) fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt("a time"))
}

pub(crate) fn id(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| StoreError::Corrupt("an id"))
}

impl SqliteStore {
    /// Opens (or creates) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        hirc_files::private_dir(data_dir)
            .map_err(|e| StoreError::Foreign(format!("{} ({e})", data_dir.display())))?;
        let path = data_dir.join("hub.sqlite3");
        let fresh = !path.exists();
        if fresh {
            // Made owner-only before SQLite writes a byte; its -wal and -shm
            // files take the same mode.
            hirc_files::create_new(&path)
                .map_err(|e| StoreError::Foreign(format!("{} ({e})", path.display())))?;
        }
        let mut conn = Connection::open(&path)?;
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::Foreign(path.display().to_string()));
        }
        // WAL + FULL: a receipt is only issued once the body is on disk.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000; PRAGMA trusted_schema = OFF;",
        )?;
        if fresh {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Writes a consistent copy of the store to `to`, a new owner-only
    /// file, while hubs go on using it: SQLite's `VACUUM INTO` reads in one
    /// transaction, so every upload is in the copy whole or not at all.
    pub fn backup_to(&self, to: &Path) -> Result<()> {
        // Made empty and owner-only first: VACUUM INTO fills an empty file
        // and keeps its mode.
        hirc_files::create_new(to)
            .map_err(|e| StoreError::Foreign(format!("{} ({e})", to.display())))?;
        let copied = self
            .conn()
            .execute("VACUUM INTO ?1", [to.to_string_lossy().as_ref()]);
        if let Err(e) = copied {
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
        Ok(())
    }

    /// Checks, without changing it, that the file at `path` is a whole hub
    /// store this version can open: its header, its id, every page.
    pub fn check_file(path: &Path) -> Result<()> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|_| StoreError::Foreign(path.display().to_string()))?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|_| StoreError::Foreign(path.display().to_string()))?;
        if app_id != APPLICATION_ID {
            return Err(StoreError::Foreign(path.display().to_string()));
        }
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Corrupt(
                "a page of the store (SQLite's quick_check)",
            ));
        }
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::Foreign(format!(
                "{} (made by a newer hirc-hub)",
                path.display()
            )));
        }
        Ok(())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is safe to reuse.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A device row as read: id, centre, name, created, revoked, report count,
/// device key.
pub(crate) type DeviceRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
);
/// A receipt row as read: receipt id, report id, revision, digest, received,
/// device.
pub(crate) type ReceiptRow = (String, String, i64, String, String, String);

fn device_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

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

/// The receipt columns of `reports r`, in [`ReceiptRow`]'s order.
pub(crate) const RECEIPT_COLUMNS: &str =
    "r.receipt_id, r.report_id, r.revision, r.digest, r.received_at, r.device_id";

fn receipt_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReceiptRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

pub(crate) fn receipt(row: ReceiptRow) -> Result<Receipt> {
    let (rid, report, revision, digest, at, device_id) = row;
    Ok(Receipt {
        receipt_id: id(&rid)?,
        report_id: id(&report)?,
        revision: u32::try_from(revision).map_err(|_| StoreError::Corrupt("a revision"))?,
        digest,
        received_at: time(&at)?,
        device_id: Some(id(&device_id)?),
        signature: None,
    })
}

/// The stored revision of this desk's (the device's, or another device's
/// with the same device key), preferring one with `digest`. A revoked
/// device's row counts only if it holds the very same bytes: what someone
/// uploaded with a stolen token before the revocation can neither block the
/// desk nor be taken for its report. The same query, with `?N`/`$N`
/// placeholders: report id, revision, device id, digest.
pub(crate) fn desk_revision_sql(placeholder: char) -> String {
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

impl HubStore for SqliteStore {
    fn ping(&self) -> Result<()> {
        self.conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn add_enrol_code(
        &self,
        code_hash: &str,
        centre: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO enrol_codes (code_hash, centre, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![code_hash, centre, text(Utc::now()), text(expires_at)],
        )?;
        Ok(())
    }

    fn redeem(
        &self,
        code_hash: &str,
        device_name: &str,
        token_hash: &str,
        device_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Redeem> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let code: Option<(String, String, Option<String>)> = tx
            .query_row(
                "SELECT centre, expires_at, used_at FROM enrol_codes WHERE code_hash = ?1",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((centre, expires, used)) = code else {
            return Ok(Redeem::Unknown);
        };
        if used.is_some() || time(&expires)? <= now {
            return Ok(Redeem::UsedOrExpired);
        }
        let device_id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO devices (id, centre, name, token_hash, created_at, device_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![device_id.to_string(), centre, device_name, token_hash, text(now), device_key],
        )?;
        tx.execute(
            "UPDATE enrol_codes SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
            params![text(now), device_id.to_string(), code_hash],
        )?;
        tx.commit()?;
        Ok(Redeem::Enrolled(Device {
            id: device_id,
            centre,
            name: device_name.into(),
            created_at: now,
            revoked_at: None,
            reports: 0,
            device_key: device_key.map(str::to_string),
        }))
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        let row = self
            .conn()
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.token_hash = ?1"),
                [token_hash],
                device_from,
            )
            .optional()?;
        row.map(device).transpose()
    }

    fn device(&self, device_id: Uuid) -> Result<Option<Device>> {
        let row = self
            .conn()
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = ?1"),
                [device_id.to_string()],
                device_from,
            )
            .optional()?;
        row.map(device).transpose()
    }

    fn adopt_key(&self, device_id: Uuid, device_key: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE devices SET device_key = ?1 WHERE id = ?2 AND device_key IS NULL",
            params![device_key, device_id.to_string()],
        )?;
        Ok(())
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices d ORDER BY d.created_at, d.id"
        ))?;
        let rows = stmt
            .query_map([], device_from)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(device).collect()
    }

    fn revoke(&self, device_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2",
            params![text(now), device_id.to_string()],
        )?;
        Ok(n == 1)
    }

    fn put(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        revision: u32,
        digest: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Put> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<ReceiptRow> = tx
            .query_row(
                &desk_revision_sql('?'),
                params![
                    report_id.to_string(),
                    revision,
                    device_id.to_string(),
                    digest
                ],
                receipt_from,
            )
            .optional()?;
        if let Some(row) = existing {
            return Ok(Put::for_held(receipt(row)?, digest));
        }
        let receipt = Receipt {
            receipt_id: Uuid::now_v7(),
            report_id,
            revision,
            digest: digest.into(),
            received_at: time(&text(now))?,
            device_id: Some(device_id),
            signature: None,
        };
        tx.execute(
            "INSERT INTO reports (report_id, revision, device_id, digest, size, body, receipt_id, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                report_id.to_string(),
                revision,
                device_id.to_string(),
                digest,
                body.len() as i64,
                body,
                receipt.receipt_id.to_string(),
                text(receipt.received_at)
            ],
        )?;
        tx.commit()?;
        Ok(Put::Created(receipt))
    }

    fn reports_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<StoredReport>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RECEIPT_COLUMNS}, r.body FROM reports r
             WHERE r.received_at >= ?1 ORDER BY r.received_at, r.report_id, r.revision"
        ))?;
        let since = since.map(text).unwrap_or_default();
        let rows = stmt
            .query_map([since], |r| Ok((receipt_from(r)?, r.get::<_, Vec<u8>>(6)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(rc, body)| {
                let receipt = receipt(rc)?;
                Ok(StoredReport {
                    device_id: receipt
                        .device_id
                        .ok_or(StoreError::Corrupt("a device id"))?,
                    receipt,
                    body,
                })
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The store contract, run against every back end.
    pub(crate) fn exercise(store: &dyn HubStore) {
        let now = Utc::now();
        let code = |c: &str, centre: &str| {
            store
                .add_enrol_code(c, centre, now + chrono::Duration::hours(1))
                .expect("code");
        };
        code("c1", "Castle Point");
        let Redeem::Enrolled(a) = store
            .redeem("c1", "desk a", "t1", Some("KEY-A"), now)
            .expect("redeem")
        else {
            panic!("enrol")
        };
        assert_eq!(a.device_key.as_deref(), Some("KEY-A"));
        assert_eq!(
            store
                .redeem("c1", "desk b", "t2", None, now)
                .expect("again"),
            Redeem::UsedOrExpired
        );
        assert_eq!(
            store
                .redeem("nope", "desk b", "t2", None, now)
                .expect("unknown"),
            Redeem::Unknown
        );
        store
            .add_enrol_code("c2", "Basildon", now - chrono::Duration::seconds(1))
            .expect("code");
        assert_eq!(
            store
                .redeem("c2", "desk b", "t2", None, now)
                .expect("expired"),
            Redeem::UsedOrExpired
        );
        code("c3", "Basildon");
        let Redeem::Enrolled(b) = store
            .redeem("c3", "desk b", "t3", None, now)
            .expect("redeem")
        else {
            panic!("enrol")
        };
        // Desk a enrolled again, with the same device key.
        code("c4", "Castle Point");
        let Redeem::Enrolled(a2) = store
            .redeem("c4", "desk a again", "t4", Some("KEY-A"), now)
            .expect("redeem")
        else {
            panic!("enrol")
        };
        assert_eq!(
            store
                .device(a2.id)
                .expect("lookup")
                .map(|d| (d.id, d.device_key)),
            Some((a2.id, Some("KEY-A".to_string())))
        );

        let r = Uuid::now_v7();
        let Put::Created(first) = store.put(a.id, r, 1, "d1", b"x", now).expect("put") else {
            panic!("created")
        };
        assert_eq!(first.device_id, Some(a.id));
        assert_eq!(
            store.put(a.id, r, 1, "d1", b"x", now).expect("repeat"),
            Put::Repeat(first.clone())
        );
        assert_eq!(
            store.put(a.id, r, 1, "d2", b"y", now).expect("other body"),
            Put::Conflict(first.clone()),
            "another body from the same desk: the receipt of what is held"
        );
        // The same desk under its new enrolment finds what it stored.
        assert_eq!(
            store
                .put(a2.id, r, 1, "d1", b"x", now)
                .expect("re-enrolled"),
            Put::Repeat(first.clone())
        );
        assert_eq!(
            store
                .put(a2.id, r, 1, "d3", b"z", now)
                .expect("re-enrolled"),
            Put::Conflict(first.clone())
        );
        // Another desk's ids are its own: the same id neither conflicts nor
        // touches desk a's report.
        let Put::Created(other) = store.put(b.id, r, 1, "d9", b"junk", now).expect("put") else {
            panic!("another desk's id is its own")
        };
        assert_eq!(other.device_id, Some(b.id));
        assert_eq!(
            store.put(a.id, r, 1, "d1", b"x", now).expect("repeat"),
            Put::Repeat(first.clone())
        );
        let all = store.reports_since(None).expect("list");
        assert_eq!(all.len(), 2);
        let held_a = all.iter().find(|s| s.device_id == a.id).expect("a's");
        assert_eq!(held_a.body, b"x");
        assert_eq!(held_a.receipt, first);
        assert!(
            store
                .reports_since(Some(now + chrono::Duration::hours(1)))
                .expect("later")
                .is_empty()
        );

        assert!(store.revoke(a.id, now).expect("revoke"));
        assert!(
            store
                .device_by_token("t1")
                .expect("lookup")
                .and_then(|d| d.revoked_at)
                .is_some()
        );
        assert!(!store.revoke(Uuid::now_v7(), now).expect("unknown"));
        assert_eq!(store.devices().expect("devices")[0].reports, 1);
    }

    #[test]
    fn the_sqlite_store_keeps_the_contract() {
        let dir = tempfile::tempdir().expect("tmp");
        exercise(&SqliteStore::open(dir.path()).expect("store"));
    }

    #[test]
    fn a_foreign_sqlite_file_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        Connection::open(dir.path().join("hub.sqlite3"))
            .and_then(|c| c.execute_batch("CREATE TABLE t (x);"))
            .expect("foreign");
        assert!(matches!(
            SqliteStore::open(dir.path()),
            Err(StoreError::Foreign(_))
        ));
    }
}
