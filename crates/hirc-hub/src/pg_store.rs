//! The PostgreSQL store, for a partnership that outgrows one machine: several
//! hub processes behind a load balancer on one database. Same trait, same
//! rules, same tests as [`crate::store::SqliteStore`].
//!
//! Times are stored as RFC 3339 text in UTC with milliseconds, exactly as in
//! SQLite, so both stores order and compare them the same way.

use chrono::{DateTime, Utc};
use hirc_proto::Receipt;
use postgres::NoTls;
use r2d2::PooledConnection;
use r2d2_postgres::PostgresConnectionManager;
use uuid::Uuid;

use crate::store::{
    DEVICE_COLUMNS, Device, HubStore, Put, RECEIPT_COLUMNS, Redeem, Result, SharedLimits,
    StoreError, StoredReport, desk_revision_sql, device, receipt, text, time,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_desk_scope.sql"),
    include_str!("../migrations/postgres/0003_shared_limits.sql"),
];

/// How many connections one hub process keeps to the database at most.
const POOL_SIZE: u32 = 8;
/// The advisory lock that one hub process holds while it brings the schema
/// up to date ("HIRC"): others starting at the same moment wait for it.
const MIGRATION_LOCK: i64 = 0x4849_5243;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// A hub store in PostgreSQL: a pool of connections, so requests use the
/// database side by side, and a connection the database dropped (a restart,
/// a failover) is replaced by a new one on the next request.
pub struct PgStore {
    pool: Option<Pool>,
}

impl Drop for PgStore {
    /// The synchronous client runs its own small runtime and panics if it is
    /// dropped on an async thread, which is where the server's state ends up
    /// at shutdown: close the connections on a plain thread instead.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl PgStore {
    /// Connects (`postgres://user:pass@host/db`) and brings the schema up to
    /// date. TLS to the database is left to a local socket or a private
    /// network: the bodies are ciphertext, and tokens are hashes.
    pub fn connect(url: &str) -> Result<Self> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Unavailable(e.to_string()))?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(10))
            // A connection is checked when it comes back broken, not each
            // time it is taken (that would cost a round trip per request).
            .test_on_check_out(false)
            .build(PostgresConnectionManager::new(config, NoTls))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let store = Self { pool: Some(pool) };
        store.migrate()?;
        Ok(store)
    }

    /// Brings the schema up to date, in one transaction under an advisory
    /// lock: several hubs starting at once on one database are safe (one
    /// migrates, the others wait and then find nothing left to do), and a
    /// migration that fails leaves the schema as it was.
    fn migrate(&self) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS hirc_schema (version INTEGER NOT NULL)")?;
        let current: i32 = tx
            .query_opt("SELECT version FROM hirc_schema", &[])?
            .map_or(0, |r| r.get(0));
        if current as usize > MIGRATIONS.len() {
            return Err(StoreError::Foreign(format!(
                "the PostgreSQL database (schema {current}, made by a newer hirc-hub)"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(sql)?;
            tx.execute("DELETE FROM hirc_schema", &[])?;
            tx.execute(
                "INSERT INTO hirc_schema (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A connection from the pool (waiting, bounded, for one to be free).
    fn client(&self) -> Result<PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool
            .as_ref()
            .unwrap_or_else(|| unreachable!("the pool is only taken on drop"))
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

fn device_of(row: &postgres::Row) -> Result<Device> {
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

fn receipt_of(row: &postgres::Row) -> Result<hirc_proto::Receipt> {
    receipt((
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
    ))
}

impl SharedLimits for PgStore {
    fn hit(&self, key: &str, minute: i64) -> Result<u32> {
        let row = self.client()?.query_one(
            "INSERT INTO limit_hits (key, minute, hits) VALUES ($1, $2, 1)
             ON CONFLICT (key, minute) DO UPDATE SET hits = limit_hits.hits + 1
             RETURNING hits",
            &[&key, &minute],
        )?;
        Ok(u32::try_from(row.get::<_, i32>(0)).unwrap_or(u32::MAX))
    }

    fn hits(&self, key: &str, minute: i64) -> Result<u32> {
        let row = self.client()?.query_opt(
            "SELECT hits FROM limit_hits WHERE key = $1 AND minute = $2",
            &[&key, &minute],
        )?;
        Ok(row.map_or(0, |r| u32::try_from(r.get::<_, i32>(0)).unwrap_or(u32::MAX)))
    }

    fn forget_hits_before(&self, minute: i64) -> Result<()> {
        self.client()?
            .execute("DELETE FROM limit_hits WHERE minute < $1", &[&minute])?;
        Ok(())
    }
}

impl HubStore for PgStore {
    fn ping(&self) -> Result<()> {
        self.client()?.simple_query("SELECT 1")?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn shared_limits(&self) -> Option<&dyn SharedLimits> {
        Some(self)
    }

    fn add_enrol_code(
        &self,
        code_hash: &str,
        centre: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.client()?.execute(
            "INSERT INTO enrol_codes (code_hash, centre, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&code_hash, &centre, &text(Utc::now()), &text(expires_at)],
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let Some(code) = tx.query_opt(
            "SELECT centre, expires_at, used_at FROM enrol_codes WHERE code_hash = $1 FOR UPDATE",
            &[&code_hash],
        )?
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
        )?;
        tx.execute(
            "UPDATE enrol_codes SET used_at = $1, device_id = $2 WHERE code_hash = $3",
            &[&text(now), &device_id.to_string(), &code_hash],
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

    fn device(&self, device_id: Uuid) -> Result<Option<Device>> {
        let row = self.client()?.query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = $1"),
            &[&device_id.to_string()],
        )?;
        row.as_ref().map(device_of).transpose()
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        let row = self.client()?.query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.token_hash = $1"),
            &[&token_hash],
        )?;
        row.as_ref().map(device_of).transpose()
    }

    fn adopt_key(&self, device_id: Uuid, device_key: &str) -> Result<()> {
        self.client()?.execute(
            "UPDATE devices SET device_key = $1 WHERE id = $2 AND device_key IS NULL",
            &[&device_key, &device_id.to_string()],
        )?;
        Ok(())
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let rows = self.client()?.query(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices d ORDER BY d.created_at, d.id"),
            &[],
        )?;
        rows.iter().map(device_of).collect()
    }

    fn revoke(&self, device_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let n = self.client()?.execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2",
            &[&text(now), &device_id.to_string()],
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
        let fresh = Receipt {
            receipt_id: Uuid::now_v7(),
            report_id,
            revision,
            digest: digest.into(),
            received_at: time(&text(now))?,
            device_id: Some(device_id),
            signature: None,
        };
        let mut client = self.client()?;
        // One round trip in the usual case (a new upload): insert unless
        // this desk (any of its devices) already holds the revision. The
        // insert-or-nothing is atomic even with several hubs on one
        // database; whoever did not insert reads what is held.
        let inserted = client.execute(
            &format!(
                "WITH held AS ({})
                 INSERT INTO reports (report_id, revision, device_id, digest, size, body, receipt_id, received_at)
                 SELECT $1, $2::BIGINT, $3, $4, $5::BIGINT, $6::BYTEA, $7, $8
                 WHERE NOT EXISTS (SELECT 1 FROM held)
                 ON CONFLICT (device_id, report_id, revision) DO NOTHING",
                desk_revision_sql('$')
            ),
            &[
                &report_id.to_string(),
                &i64::from(revision),
                &device_id.to_string(),
                &digest,
                &(body.len() as i64),
                &body,
                &fresh.receipt_id.to_string(),
                &text(fresh.received_at),
            ],
        )?;
        if inserted == 1 {
            return Ok(Put::Created(fresh));
        }
        let held = client
            .query_opt(
                &desk_revision_sql('$'),
                &[
                    &report_id.to_string(),
                    &i64::from(revision),
                    &device_id.to_string(),
                    &digest,
                ],
            )?
            .ok_or(StoreError::Corrupt("a revision that vanished"))?;
        Ok(Put::for_held(receipt_of(&held)?, digest))
    }

    fn reports_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<StoredReport>> {
        let since = since.map(text).unwrap_or_default();
        let rows = self.client()?.query(
            &format!(
                "SELECT {RECEIPT_COLUMNS}, r.body FROM reports r
                 WHERE r.received_at >= $1 ORDER BY r.received_at, r.report_id, r.revision"
            ),
            &[&since],
        )?;
        rows.iter()
            .map(|r| {
                let receipt = receipt_of(r)?;
                Ok(StoredReport {
                    device_id: receipt
                        .device_id
                        .ok_or(StoreError::Corrupt("a device id"))?,
                    receipt,
                    body: r.get(6),
                })
            })
            .collect::<Result<_, StoreError>>()
    }
}

#[cfg(test)]
mod tests {
    use postgres::Client;

    use super::*;

    /// A fresh database on the server named by `HIRC_TEST_POSTGRES`
    /// (`scripts/test` starts PostgreSQL and sets it). Without it the test
    /// says so and passes, except under CI, where it must run.
    pub(crate) fn fresh_database() -> Option<String> {
        let Ok(base) = std::env::var("HIRC_TEST_POSTGRES") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "HIRC_TEST_POSTGRES must be set under CI (scripts/test sets it)"
            );
            eprintln!("HIRC_TEST_POSTGRES is not set: the PostgreSQL store test is skipped");
            return None;
        };
        let name = format!("hirc_unit_{}", Uuid::now_v7().simple());
        let mut admin = Client::connect(&base, NoTls).expect("connect to HIRC_TEST_POSTGRES");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        let (prefix, _) = base.rsplit_once('/').expect("a database URL");
        Some(format!("{prefix}/{name}"))
    }

    #[test]
    fn the_postgres_store_keeps_the_contract() {
        let Some(url) = fresh_database() else { return };
        let store = PgStore::connect(&url).expect("connect");
        crate::store::tests::exercise(&store);
        // Connecting again finds the schema up to date.
        PgStore::connect(&url).expect("reconnect");
    }

    #[test]
    fn hubs_starting_together_on_a_new_database_all_come_up() {
        let Some(url) = fresh_database() else { return };
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || PgStore::connect(&url).map(drop))
            })
            .collect();
        for start in starts {
            start.join().expect("thread").expect("each hub comes up");
        }
    }

    #[test]
    fn connections_the_database_drops_are_replaced() {
        let Some(url) = fresh_database() else { return };
        let store = PgStore::connect(&url).expect("connect");
        store.ping().expect("ping");
        let (base, name) = (
            std::env::var("HIRC_TEST_POSTGRES").expect("set"),
            url.rsplit('/').next().expect("a database name").to_string(),
        );
        // As a restart or a failover would: every connection of the hub's
        // database is cut.
        let mut admin = Client::connect(&base, NoTls).expect("admin");
        let cut = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[&name],
            )
            .expect("terminate");
        assert!(!cut.is_empty(), "the store had a connection");
        // Each cut connection fails once, is found broken and replaced.
        let answered = (0..=POOL_SIZE + 1).find(|_| store.ping().is_ok());
        assert!(answered.is_some(), "the store answers again");
        for _ in 0..20 {
            store.ping().expect("and keeps answering");
        }
    }

    #[test]
    fn hits_are_counted_per_key_and_minute_and_old_minutes_forgotten() {
        let Some(url) = fresh_database() else { return };
        let store = PgStore::connect(&url).expect("connect");
        let limits = store.shared_limits().expect("PostgreSQL shares its limits");
        assert_eq!(limits.hits("uploads:a", 100).expect("hits"), 0);
        assert_eq!(limits.hit("uploads:a", 100).expect("hit"), 1);
        assert_eq!(limits.hit("uploads:a", 100).expect("hit"), 2);
        assert_eq!(limits.hit("uploads:b", 100).expect("hit"), 1);
        assert_eq!(limits.hit("uploads:a", 101).expect("hit"), 1);
        assert_eq!(limits.hits("uploads:a", 100).expect("hits"), 2);
        limits.forget_hits_before(101).expect("forget");
        assert_eq!(limits.hits("uploads:a", 100).expect("hits"), 0);
        assert_eq!(limits.hits("uploads:a", 101).expect("hits"), 1);
        // Another process on the same database counts on the same rows.
        let other = PgStore::connect(&url).expect("connect");
        let shared = other.shared_limits().expect("shared");
        assert_eq!(shared.hit("uploads:a", 101).expect("hit"), 2);
    }
}
