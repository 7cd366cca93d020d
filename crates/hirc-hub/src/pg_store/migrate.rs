//! The schema, brought up to date by refinery under an advisory lock.

use deadpool_postgres::Object;
use refinery::{Migration, Runner, Target};

use crate::store::{Result, StoreError};

/// The schema's migrations, in order. A migration's name and text are part
/// of its checksum in `refinery_schema_history`: once released, neither
/// changes; a change to the schema is a new migration.
pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "V1__init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        "V2__desk_scope",
        include_str!("../../migrations/postgres/0002_desk_scope.sql"),
    ),
    (
        "V3__shared_limits",
        include_str!("../../migrations/postgres/0003_shared_limits.sql"),
    ),
    (
        "V4__unlogged_limits",
        include_str!("../../migrations/postgres/0004_unlogged_limits.sql"),
    ),
    (
        "V5__statuses",
        include_str!("../../migrations/postgres/0005_statuses.sql"),
    ),
    (
        "V6__erasures",
        include_str!("../../migrations/postgres/0006_erasures.sql"),
    ),
    (
        "V7__evidence",
        include_str!("../../migrations/postgres/0007_evidence.sql"),
    ),
    (
        "V8__evidence_named",
        include_str!("../../migrations/postgres/0008_evidence_named.sql"),
    ),
];

/// The advisory lock that one hub process holds while it brings the schema
/// up to date ("HIRC"): others starting at the same moment wait for it.
const MIGRATION_LOCK: i64 = 0x4849_5243;

/// Brings the schema up to date under an advisory lock: several hubs
/// starting at once on one database are safe (one migrates, the others
/// wait and then find nothing left to do). The migrations run in one
/// transaction, so one that fails leaves the schema as it was.
pub(super) async fn migrate(client: &mut Object) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let migrated = migrate_locked(client).await;
    // Unlocked whatever happened (a lost connection unlocks by itself).
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    migrated?;
    unlocked?;
    Ok(())
}

fn migrations() -> Result<Vec<Migration>> {
    MIGRATIONS
        .iter()
        .map(|(name, sql)| {
            Migration::unapplied(name, sql).map_err(|e| StoreError::Migration(e.to_string()))
        })
        .collect()
}

/// The migrations, with the advisory lock held. A database made before
/// refinery ran the migrations recorded its version in `hirc_schema`: those
/// are recorded as applied in refinery's history (not run again), and only
/// once the history holds them is `hirc_schema` dropped, so a takeover cut
/// short is finished on the next start.
async fn migrate_locked(client: &mut Object) -> Result<()> {
    let failed = |e: refinery::Error| StoreError::Migration(e.to_string());
    let runner = Runner::new(&migrations()?).set_grouped(true);
    let last_applied = async |client: &mut Object| -> Result<Option<i32>> {
        if !table_exists(client, "refinery_schema_history").await? {
            return Ok(None);
        }
        Ok(runner
            .get_last_applied_migration_async(&mut ***client)
            .await
            .map_err(failed)?
            .map(|m| m.version()))
    };
    if table_exists(client, "hirc_schema").await? {
        let version: i32 = client
            .query_opt("SELECT version FROM hirc_schema", &[])
            .await?
            .map_or(0, |r| r.get(0));
        if version > 0 && last_applied(client).await?.is_none_or(|v| v < version) {
            Runner::new(&migrations()?)
                .set_grouped(true)
                .set_target(Target::FakeVersion(version))
                .run_async(&mut ***client)
                .await
                .map_err(failed)?;
        }
        client.batch_execute("DROP TABLE hirc_schema").await?;
    }
    if let Some(last) = last_applied(client)
        .await?
        .filter(|v| *v as usize > MIGRATIONS.len())
    {
        return Err(StoreError::Newer(format!(
            "the PostgreSQL database (schema {last})"
        )));
    }
    runner.run_async(&mut ***client).await.map_err(failed)?;
    Ok(())
}

async fn table_exists(client: &Object, table: &str) -> Result<bool> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?;
    Ok(row.get(0))
}
