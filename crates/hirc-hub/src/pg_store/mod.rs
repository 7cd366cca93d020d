//! The PostgreSQL store, for a partnership that outgrows one machine: several
//! hub processes behind a load balancer on one database. Same trait, same
//! rules, same tests as [`crate::sqlite_store::SqliteStore`].
//!
//! Spoken asynchronously (tokio-postgres) over a pool of connections
//! (deadpool), each keeping the prepared statements of the calls every
//! upload makes, and no thread waits on the database. The schema is
//! brought up to date by refinery under an advisory lock (`migrate`).
//! Uploads are committed in groups, as on SQLite (`group`). The rate
//! limits are counted in the database, for every hub process on it
//! (`limits`).
//!
//! Times are stored as RFC 3339 text in UTC with milliseconds, exactly as in
//! SQLite, so both stores order and compare them the same way.

mod erasures;
mod evidence;
mod group;
mod limits;
mod migrate;
mod statuses;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use uuid::Uuid;

use self::group::Groups;
use crate::store::{
    DEVICE_COLUMNS, Device, HELD_SQL, Held, HubStore, PoolStats, Put, RECEIPT_COLUMNS, Redeem,
    Result, SharedLimits, StoreError, StoreStats, StoredReport, TOKEN_DEVICE_COLUMNS, Upload,
    device, receipt, text, time,
};

/// How many connections one hub process keeps to the database at most.
const POOL_SIZE: usize = 8;
/// How long a request waits for a connection (and a new connection for the
/// database) before it is answered "try again later".
const WAIT: Duration = Duration::from_secs(10);
/// How long data sent to the database may go unacknowledged before its
/// connection is given up.
const SILENT: Duration = Duration::from_secs(25);

/// A hub store in PostgreSQL: a pool of connections, so requests use the
/// database side by side, and a connection the database dropped (a restart,
/// a failover) is replaced by a new one on the next request.
pub struct PgStore {
    pool: Pool,
    groups: Groups,
}

impl PgStore {
    /// Connects (`postgres://user:pass@host/db`) and brings the schema up to
    /// date. TLS to the database is left to a local socket or a private
    /// network: the bodies are ciphertext, and tokens are hashes.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Unavailable(e.to_string()))?;
        // A connection whose database has gone silent (a failover) is
        // noticed within about 25 seconds, not after the system's two hours
        // of TCP keepalive. Socket options only: nothing is asked of the
        // server (a pooler such as PgBouncer refuses unknown startup
        // options), and no time limit is put on statements, which would
        // stop a long migration or export.
        config
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            .tcp_user_timeout(SILENT);
        let manager = Manager::from_config(
            config,
            NoTls,
            // A connection is checked for being closed when it is taken, not
            // queried (that would cost a round trip per request); one the
            // database cut fails its request once and is then replaced.
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        migrate::migrate(&mut connection(&pool).await?).await?;
        Ok(Self {
            groups: Groups::new(pool.clone()),
            pool,
        })
    }

    /// The database at `url` as it is at one moment, held open so that
    /// `pg_dump --snapshot` copies exactly that moment, and what it holds
    /// then. The database is only read: not migrated, so a backup taken
    /// with a newer `hirc-hub` than the hubs serving changes nothing they
    /// rely on.
    pub async fn snapshot(url: &str) -> Result<Snapshot> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let driver = tokio::spawn(connection);
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let id: String = client
            .query_one("SELECT pg_export_snapshot()", &[])
            .await?
            .get(0);
        let row = client.query_one(HELD_SQL, &[]).await?;
        let count = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or_default();
        Ok(Snapshot {
            held: Held {
                desks: count(0),
                revisions: count(1),
            },
            id,
            client,
            driver,
        })
    }

    /// A connection from the pool (waiting, bounded, for one to be free).
    async fn client(&self) -> Result<Object> {
        connection(&self.pool).await
    }
}

/// A moment of the database, held open (see [`PgStore::snapshot`]).
pub struct Snapshot {
    /// What the database held at that moment.
    pub held: Held,
    /// The snapshot's name, for `pg_dump --snapshot`.
    pub id: String,
    client: tokio_postgres::Client,
    driver: tokio::task::JoinHandle<std::result::Result<(), tokio_postgres::Error>>,
}

impl Snapshot {
    /// Lets the moment go.
    pub async fn close(self) {
        let _ = self.client.batch_execute("COMMIT").await;
        drop(self.client);
        let _ = self.driver.await;
    }
}

async fn connection(pool: &Pool) -> Result<Object> {
    pool.get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn device_of(row: &tokio_postgres::Row) -> Result<Device> {
    device((
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
    ))
}

fn receipt_of(row: &tokio_postgres::Row) -> Result<hirc_proto::Receipt> {
    receipt((
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
    ))
}

#[async_trait::async_trait]
impl HubStore for PgStore {
    async fn ping(&self) -> Result<()> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn stats(&self) -> StoreStats {
        let pool = self.pool.status();
        StoreStats {
            commits: self.groups.commits(),
            pool: Some(PoolStats {
                open: pool.size,
                idle: pool.available,
                waiting: pool.waiting,
                max: pool.max_size,
            }),
        }
    }

    fn shared_limits(&self) -> Option<&dyn SharedLimits> {
        Some(self)
    }

    async fn add_enrol_code(
        &self,
        code_hash: &str,
        centre: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.client().await?.execute(
            "INSERT INTO enrol_codes (code_hash, centre, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&code_hash, &centre, &text(Utc::now()), &text(expires_at)],
        ).await?;
        Ok(())
    }

    async fn redeem(
        &self,
        code_hash: &str,
        device_name: &str,
        token_hash: &str,
        device_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Redeem> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(code) = tx
            .query_opt(
                "SELECT centre, expires_at, used_at FROM enrol_codes WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await?
        else {
            return Ok(Redeem::Unknown);
        };
        let (centre, expires, used): (String, String, Option<String>) =
            (code.get(0), code.get(1), code.get(2));
        if used.is_some() || time(&expires)? <= now {
            return Ok(Redeem::UsedOrExpired);
        }
        let device_id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO devices (id, centre, name, token_hash, created_at, device_key) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&device_id.to_string(), &centre, &device_name, &token_hash, &text(now), &device_key],
        )
        .await?;
        tx.execute(
            "UPDATE enrol_codes SET used_at = $1, device_id = $2 WHERE code_hash = $3",
            &[&text(now), &device_id.to_string(), &code_hash],
        )
        .await?;
        tx.commit().await?;
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

    async fn device(&self, device_id: Uuid) -> Result<Option<Device>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = $1"),
                &[&device_id.to_string()],
            )
            .await?;
        row.as_ref().map(device_of).transpose()
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        // Every upload asks: written once, prepared once per connection.
        static BY_TOKEN: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {TOKEN_DEVICE_COLUMNS} FROM devices d WHERE d.token_hash = $1")
        });
        let client = self.client().await?;
        let statement = client.prepare_cached(&BY_TOKEN).await?;
        let row = client.query_opt(&statement, &[&token_hash]).await?;
        row.as_ref().map(device_of).transpose()
    }

    async fn adopt_key(&self, device_id: Uuid, device_key: &str) -> Result<()> {
        self.client()
            .await?
            .execute(
                "UPDATE devices SET device_key = $1 WHERE id = $2 AND device_key IS NULL",
                &[&device_key, &device_id.to_string()],
            )
            .await?;
        Ok(())
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices d ORDER BY d.created_at, d.id"),
                &[],
            )
            .await?;
        rows.iter().map(device_of).collect()
    }

    async fn revoke(&self, device_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2",
                &[&text(now), &device_id.to_string()],
            )
            .await?;
        Ok(n == 1)
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
        self.groups
            .put(Upload {
                device_id,
                report_id,
                revision,
                digest: digest.to_owned(),
                body,
                evidence,
                now,
            })
            .await
    }

    async fn evidence_held(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
    ) -> Result<Option<crate::store::HeldEvidence>> {
        let client = self.client().await?;
        evidence::held(&client, device_id, evidence_id).await
    }

    async fn put_evidence_chunk(
        &self,
        chunk: crate::store::EvidenceChunk,
    ) -> Result<crate::store::ChunkPut> {
        self.put_evidence_chunk_in(chunk).await
    }

    async fn evidence_chunk(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        seq: u64,
    ) -> Result<Option<Vec<u8>>> {
        self.evidence_chunk_in(device_id, evidence_id, seq).await
    }

    async fn settle_evidence(&self, device_id: Uuid, evidence_id: Uuid, whole: bool) -> Result<()> {
        self.settle_evidence_in(device_id, evidence_id, whole).await
    }

    async fn name_evidence(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        items: Vec<hirc_proto::EvidenceItem>,
    ) -> Result<bool> {
        self.name_evidence_in(device_id, report_id, &items).await
    }

    async fn sweep_unnamed_evidence(
        &self,
        idle_since: DateTime<Utc>,
    ) -> Result<crate::store::Swept> {
        self.sweep_unnamed_evidence_in(idle_since).await
    }

    async fn set_status_key(
        &self,
        device_id: Uuid,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.set_status_key_in(device_id, recipient, now).await
    }

    async fn status_key(&self, device_id: Uuid) -> Result<Option<String>> {
        self.status_key_in(device_id).await
    }

    async fn add_status(
        &self,
        device_id: Uuid,
        notice: &hirc_proto::StatusNotice,
    ) -> Result<Option<i64>> {
        self.add_status_in(device_id, notice).await
    }

    async fn statuses_after(
        &self,
        device_id: Uuid,
        after: i64,
        limit: usize,
    ) -> Result<Vec<hirc_proto::StatusNotice>> {
        self.statuses_after_in(device_id, after, limit).await
    }

    async fn all_statuses(&self) -> Result<Vec<hirc_proto::StatusNotice>> {
        self.all_statuses_in().await
    }

    async fn erase(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        erased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<crate::store::Tombstone> {
        self.erase_in(device_id, report_id, erased_at, now).await
    }

    async fn erasures(&self) -> Result<Vec<crate::store::Tombstone>> {
        self.erasures_in().await
    }

    async fn reports_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<StoredReport>> {
        let since = since.map(text).unwrap_or_default();
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {RECEIPT_COLUMNS}, r.body FROM reports r
                     WHERE r.received_at >= $1 ORDER BY r.received_at, r.report_id, r.revision"
                ),
                &[&since],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let receipt = receipt_of(r)?;
                Ok(StoredReport {
                    device_id: receipt
                        .device_id
                        .ok_or(StoreError::Corrupt("a device id"))?,
                    receipt,
                    body: r.get(7),
                })
            })
            .collect::<Result<_, StoreError>>()
    }
}
