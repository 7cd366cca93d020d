//! Erasure at the person's request, in the embedded store (see
//! migrations/0004_erasures.sql).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::Sqlite;
use crate::store::{
    Result, TOMBSTONE_COLUMNS, Tombstone, TombstoneRow, desk_of_sql, text, time, tombstone,
};

/// The tombstone of a report of a desk, if it was erased: `?1` the desk,
/// `?2` the report.
pub(super) fn held_tombstone(
    tx: &rusqlite::Connection,
    desk: &str,
    report_id: Uuid,
) -> Result<Option<Tombstone>> {
    tx.prepare_cached(&format!(
        "SELECT {TOMBSTONE_COLUMNS} FROM erasures WHERE desk = ?1 AND report_id = ?2"
    ))?
    .query_row(params![desk, report_id.to_string()], row)
    .optional()?
    .map(tombstone)
    .transpose()
}

/// Which desk a device is (its device key, or its id).
pub(super) fn desk_of(tx: &rusqlite::Connection, device_id: Uuid) -> Result<String> {
    Ok(tx
        .prepare_cached(&format!("SELECT {}", desk_of_sql("?1")))?
        .query_row([device_id.to_string()], |r| {
            Ok(r.get::<_, Option<String>>(0)?
                .unwrap_or_else(|| device_id.to_string()))
        })?)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TombstoneRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

impl Sqlite {
    pub(super) fn erase(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        erased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Tombstone> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let desk = desk_of(&tx, device_id)?;
        if let Some(held) = held_tombstone(&tx, &desk, report_id)? {
            return Ok(held);
        }
        // Every revision this desk's devices stored (a revoked one's too).
        let deleted = tx.execute(
            "DELETE FROM reports WHERE report_id = ?1
               AND device_id IN (SELECT id FROM devices WHERE coalesce(device_key, id) = ?2)",
            params![report_id.to_string(), desk],
        )?;
        tx.execute(
            // Statuses stored while a device had no key are under its id.
            "DELETE FROM statuses WHERE report_id = ?2
               AND (desk = ?1 OR desk IN (SELECT id FROM devices WHERE device_key = ?1))",
            params![desk, report_id.to_string()],
        )?;
        // Its evidence, whole or part sent (its chunks go with it).
        tx.execute(
            "DELETE FROM evidence WHERE report_id = ?2
               AND (desk = ?1 OR desk IN (SELECT id FROM devices WHERE device_key = ?1))",
            params![desk, report_id.to_string()],
        )?;
        let (erased_at, now) = (text(erased_at), text(now));
        tx.execute(
            "INSERT INTO erasures (desk, report_id, device_id, erased_at, received_at, revisions_deleted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![desk, report_id.to_string(), device_id.to_string(), erased_at, now, deleted as i64],
        )?;
        tx.commit()?;
        // The deleted pages (zeroed by secure_delete) go back into the main
        // file and the WAL is emptied, so no copy of the ciphertext stays
        // in it. A busy reader only delays this to the next checkpoint.
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        Ok(Tombstone {
            report_id,
            device_id,
            erased_at: time(&erased_at)?,
            received_at: time(&now)?,
            revisions_deleted: deleted as u32,
        })
    }

    pub(super) fn erasures(&self) -> Result<Vec<Tombstone>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {TOMBSTONE_COLUMNS} FROM erasures ORDER BY received_at, report_id"
        ))?;
        let rows = stmt.query_map([], row)?;
        rows.map(|r| tombstone(r?)).collect()
    }
}
