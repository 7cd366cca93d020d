//! The embedded SQLite store: one file, `hub.sqlite3`, in the hub's data
//! directory, for a partnership whose hub is one process on one machine.
//!
//! SQLite is blocking: the SQL runs in `Sqlite`'s plain methods, one
//! connection behind a lock, and [`SqliteStore`] runs each call on tokio's
//! blocking pool so the server's threads never wait on the disk.
//!
//! Uploads are committed in groups: a receipt is issued only once its body
//! is flushed to disk, and while one group is being flushed, the uploads
//! that arrive meanwhile wait together and share the next flush (see
//! `Sqlite::put`). The disk's flush rate is then not the ceiling on
//! uploads per second.

mod erasures;
mod evidence;
mod statuses;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use hirc_proto::StatusNotice;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use crate::store::{
    ChunkPut, DEVICE_COLUMNS, Device, DeviceRow, EvidenceChunk, HELD_SQL, Held, HeldEvidence,
    HubStore, Put, RECEIPT_COLUMNS, ReceiptRow, Redeem, Result, StoreError, StoreStats,
    StoredReport, Swept, TOKEN_DEVICE_COLUMNS, Tombstone, Upload, desk_revision_sql, device,
    receipt, text, time,
};

const APPLICATION_ID: i32 = 0x4849_4842; // "HIHB"
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_desk_scope.sql"),
    include_str!("../../migrations/0003_statuses.sql"),
    include_str!("../../migrations/0004_erasures.sql"),
    include_str!("../../migrations/0005_evidence.sql"),
    include_str!("../../migrations/0006_evidence_named.sql"),
];

/// The embedded SQLite store: one file, `hub.sqlite3`, in the data directory.
/// Clones share the one connection.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Sqlite>,
}

/// The most uploads committed in one transaction: a group is flushed in
/// one go, and one made of large reports should not grow the log without
/// bound.
const MOST_PER_COMMIT: usize = 64;

/// The connection, and the store's SQL as blocking calls.
struct Sqlite {
    conn: Mutex<Connection>,
    /// Uploads waiting for the next group commit, and where each one's
    /// outcome goes.
    waiting: Mutex<Vec<(Upload, SyncSender<Result<Put>>)>>,
    /// Transactions that stored (or found already held) uploads: fewer
    /// than the uploads when they were grouped.
    commits: AtomicU64,
}

impl SqliteStore {
    /// Opens (or creates) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        hirc_files::private_dir(data_dir)
            .map_err(|e| StoreError::Write(format!("{}: {e}", data_dir.display())))?;
        let path = data_dir.join("hub.sqlite3");
        let fresh = !path.exists();
        if fresh {
            // Made owner-only before SQLite writes a byte; its -wal and -shm
            // files take the same mode.
            hirc_files::create_new(&path)
                .map_err(|e| StoreError::Write(format!("{}: {e}", path.display())))?;
        }
        let mut conn = Connection::open(&path)?;
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::Foreign(path.display().to_string()));
        }
        // WAL + FULL: a receipt is only issued once the body is on disk.
        // secure_delete: an erased report's ciphertext is overwritten, not
        // left in a free page.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000; PRAGMA trusted_schema = OFF; PRAGMA secure_delete = ON;",
        )?;
        if fresh {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > MIGRATIONS.len() as i64 {
            return Err(StoreError::Newer(path.display().to_string()));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(Self {
            db: Arc::new(Sqlite {
                conn: Mutex::new(conn),
                waiting: Mutex::default(),
                commits: AtomicU64::new(0),
            }),
        })
    }

    /// Writes a consistent copy of the store in `data_dir` to `to`, a new
    /// owner-only file flushed to disk, while a hub goes on using it, and
    /// says what the copy holds. The store is only read, never migrated or
    /// written: a backup taken with a newer `hirc-hub` than the one serving
    /// leaves the store as that hub knows it. SQLite's `VACUUM INTO` reads
    /// in one transaction, so every upload is in the copy whole or not at
    /// all.
    pub fn back_up(data_dir: &Path, to: &Path) -> Result<Held> {
        let from = data_dir.join("hub.sqlite3");
        let conn = Connection::open_with_flags(&from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|_| StoreError::Foreign(from.display().to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|_| StoreError::Foreign(from.display().to_string()))?;
        if app_id != APPLICATION_ID {
            return Err(StoreError::Foreign(from.display().to_string()));
        }
        // SQLite is given the path as text: one that is not UTF-8 would
        // name another file.
        let Some(to_text) = to.to_str() else {
            return Err(StoreError::Write(format!(
                "{}: a backup's path must be plain text (UTF-8)",
                to.display()
            )));
        };
        // Made empty and owner-only first: VACUUM INTO fills an empty file
        // and keeps its mode.
        hirc_files::create_new(to)
            .map_err(|e| StoreError::Write(format!("{}: {e}", to.display())))?;
        let copied = conn
            .execute("VACUUM INTO ?1", [to_text])
            .map_err(StoreError::from)
            .and_then(|_| {
                hirc_files::sync(to)
                    .map_err(|e| StoreError::Write(format!("{}: {e}", to.display())))
            })
            .and_then(|()| {
                // Counted in the copy: what it holds, not what the store
                // holds a moment later.
                let copy =
                    Connection::open_with_flags(to, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
                let (desks, revisions): (i64, i64) =
                    copy.query_row(HELD_SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(Held {
                    desks: u64::try_from(desks).unwrap_or_default(),
                    revisions: u64::try_from(revisions).unwrap_or_default(),
                })
            });
        if copied.is_err() {
            let _ = std::fs::remove_file(to);
        }
        copied
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
            return Err(StoreError::Newer(path.display().to_string()));
        }
        Ok(())
    }

    /// Runs one blocking call on the connection, on tokio's blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Sqlite) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || call(&db))
            .await
            .map_err(|e| StoreError::Stopped(e.to_string()))?
    }
}

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

fn receipt_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReceiptRow> {
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

impl Sqlite {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn waiting(&self) -> MutexGuard<'_, Vec<(Upload, SyncSender<Result<Put>>)>> {
        // Pushing and draining a vector cannot be left half done.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ping(&self) -> Result<()> {
        self.conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
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
            reports: Some(0),
            device_key: device_key.map(str::to_string),
        }))
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        // Every upload asks: written and prepared once.
        static BY_TOKEN: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {TOKEN_DEVICE_COLUMNS} FROM devices d WHERE d.token_hash = ?1")
        });
        let row = self
            .conn()
            .prepare_cached(&BY_TOKEN)?
            .query_row([token_hash], device_from)
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

    /// Stores an upload in the next group commit and waits for its
    /// outcome. Whoever takes the connection next commits every upload
    /// waiting (up to [`MOST_PER_COMMIT`]) in one transaction and answers
    /// each; the uploads that arrive while it flushes queue up behind it.
    /// An upload is only ever taken from the queue with the connection
    /// held, and answered before it is let go: so once this thread has held
    /// the connection after queuing, its upload is answered or still queued.
    fn put(&self, upload: Upload) -> Result<Put> {
        let (answer, answered) = sync_channel(1);
        self.waiting().push((upload, answer));
        loop {
            {
                let mut conn = self.conn();
                let group: Vec<_> = {
                    let mut waiting = self.waiting();
                    let n = waiting.len().min(MOST_PER_COMMIT);
                    waiting.drain(..n).collect()
                };
                if !group.is_empty() {
                    self.commit(&mut conn, group);
                }
            }
            match answered.try_recv() {
                Ok(outcome) => return outcome,
                Err(TryRecvError::Empty) => continue,
                Err(TryRecvError::Disconnected) => {
                    return Err(StoreError::Stopped(
                        "the upload's group commit failed".into(),
                    ));
                }
            }
        }
    }

    /// Commits a group of uploads in one transaction and answers each. If
    /// the group fails, each upload is tried alone, so that one that cannot
    /// be stored does not fail the others.
    fn commit(&self, conn: &mut Connection, group: Vec<(Upload, SyncSender<Result<Put>>)>) {
        let (uploads, answers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        match Self::store_all(conn, uploads.iter()) {
            Ok(outcomes) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    let _ = answer.send(Ok(outcome));
                }
            }
            Err(e) if uploads.len() == 1 => {
                let _ = answers[0].send(Err(e));
            }
            Err(_) => {
                for (upload, answer) in uploads.iter().zip(answers) {
                    let outcome = Self::store_all(conn, std::iter::once(upload))
                        .map(|mut outcomes| outcomes.remove(0));
                    if outcome.is_ok() {
                        self.commits.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = answer.send(outcome);
                }
            }
        }
    }

    /// Stores the uploads in one transaction, in order: a later one of the
    /// same revision finds the earlier one held.
    fn store_all<'a>(
        conn: &mut Connection,
        uploads: impl Iterator<Item = &'a Upload>,
    ) -> Result<Vec<Put>> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcomes = uploads
            .map(|upload| Self::store_one(&tx, upload))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(outcomes)
    }

    fn store_one(tx: &rusqlite::Transaction<'_>, upload: &Upload) -> Result<Put> {
        let Upload {
            device_id,
            report_id,
            revision,
            ref digest,
            ref body,
            ..
        } = *upload;
        let desk = erasures::desk_of(tx, device_id)?;
        if let Some(gone) = erasures::held_tombstone(tx, &desk, report_id)? {
            return Ok(Put::Erased(gone));
        }
        let existing: Option<ReceiptRow> = tx
            .prepare_cached(desk_revision_sql('?'))?
            .query_row(
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
        let receipt = upload.fresh_receipt()?;
        tx.prepare_cached(
            "INSERT INTO reports (report_id, revision, device_id, digest, size, body, receipt_id, received_at, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            report_id.to_string(),
            revision,
            device_id.to_string(),
            digest,
            body.len() as i64,
            body,
            receipt.receipt_id.to_string(),
            text(receipt.received_at),
            receipt.evidence
        ])?;
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
            .query_map([since], |r| Ok((receipt_from(r)?, r.get::<_, Vec<u8>>(7)?)))?
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

#[async_trait::async_trait]
impl HubStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.run(Sqlite::ping).await
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            commits: self.db.commits.load(Ordering::Relaxed),
            pool: None,
        }
    }

    async fn add_enrol_code(
        &self,
        code_hash: &str,
        centre: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let (code_hash, centre) = (code_hash.to_owned(), centre.to_owned());
        self.run(move |db| db.add_enrol_code(&code_hash, &centre, expires_at))
            .await
    }

    async fn redeem(
        &self,
        code_hash: &str,
        device_name: &str,
        token_hash: &str,
        device_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Redeem> {
        let (code_hash, device_name, token_hash, device_key) = (
            code_hash.to_owned(),
            device_name.to_owned(),
            token_hash.to_owned(),
            device_key.map(str::to_owned),
        );
        self.run(move |db| {
            db.redeem(
                &code_hash,
                &device_name,
                &token_hash,
                device_key.as_deref(),
                now,
            )
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        let token_hash = token_hash.to_owned();
        self.run(move |db| db.device_by_token(&token_hash)).await
    }

    async fn device(&self, device_id: Uuid) -> Result<Option<Device>> {
        self.run(move |db| db.device(device_id)).await
    }

    async fn adopt_key(&self, device_id: Uuid, device_key: &str) -> Result<()> {
        let device_key = device_key.to_owned();
        self.run(move |db| db.adopt_key(device_id, &device_key))
            .await
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        self.run(Sqlite::devices).await
    }

    async fn revoke(&self, device_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        self.run(move |db| db.revoke(device_id, now)).await
    }

    async fn put_with_evidence(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        revision: u32,
        digest: &str,
        body: Vec<u8>,
        evidence: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Put> {
        let upload = Upload {
            device_id,
            report_id,
            revision,
            digest: digest.to_owned(),
            body,
            evidence,
            now,
        };
        self.run(move |db| db.put(upload)).await
    }

    async fn evidence_held(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
    ) -> Result<Option<HeldEvidence>> {
        self.run(move |db| db.evidence_held(device_id, evidence_id))
            .await
    }

    async fn put_evidence_chunk(&self, chunk: EvidenceChunk) -> Result<ChunkPut> {
        self.run(move |db| db.put_evidence_chunk(chunk)).await
    }

    async fn evidence_chunk(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        seq: u64,
    ) -> Result<Option<Vec<u8>>> {
        self.run(move |db| db.evidence_chunk(device_id, evidence_id, seq))
            .await
    }

    async fn settle_evidence(&self, device_id: Uuid, evidence_id: Uuid, whole: bool) -> Result<()> {
        self.run(move |db| db.settle_evidence(device_id, evidence_id, whole))
            .await
    }

    async fn name_evidence(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        items: Vec<hirc_proto::EvidenceItem>,
    ) -> Result<bool> {
        self.run(move |db| db.name_evidence(device_id, report_id, &items))
            .await
    }

    async fn sweep_unnamed_evidence(&self, idle_since: DateTime<Utc>) -> Result<Swept> {
        self.run(move |db| db.sweep_unnamed_evidence(idle_since))
            .await
    }

    async fn set_status_key(
        &self,
        device_id: Uuid,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let recipient = recipient.to_owned();
        self.run(move |db| db.set_status_key(device_id, &recipient, now))
            .await
    }

    async fn status_key(&self, device_id: Uuid) -> Result<Option<String>> {
        self.run(move |db| db.status_key(device_id)).await
    }

    async fn add_status(&self, device_id: Uuid, notice: &StatusNotice) -> Result<Option<i64>> {
        let notice = notice.clone();
        self.run(move |db| db.add_status(device_id, &notice)).await
    }

    async fn statuses_after(
        &self,
        device_id: Uuid,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StatusNotice>> {
        self.run(move |db| db.statuses_after(device_id, after, limit))
            .await
    }

    async fn all_statuses(&self) -> Result<Vec<StatusNotice>> {
        self.run(|db| db.all_statuses()).await
    }

    async fn reports_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<StoredReport>> {
        self.run(move |db| db.reports_since(since)).await
    }

    async fn erase(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        erased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Tombstone> {
        self.run(move |db| db.erase(device_id, report_id, erased_at, now))
            .await
    }

    async fn erasures(&self) -> Result<Vec<Tombstone>> {
        self.run(|db| db.erasures()).await
    }
}
