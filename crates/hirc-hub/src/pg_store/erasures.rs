//! Erasure at the person's request, on PostgreSQL (see
//! migrations/postgres/0006_erasures.sql).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::PgStore;
use crate::store::{Result, TOMBSTONE_COLUMNS, Tombstone, desk_of_sql, text, tombstone};

/// The tombstone of a report of the desk `device_id` is, if it was erased.
pub(super) async fn held_tombstone(
    client: &impl GenericClient,
    device_id: Uuid,
    report_id: Uuid,
) -> Result<Option<Tombstone>> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {TOMBSTONE_COLUMNS} FROM erasures WHERE desk = {} AND report_id = $2",
                desk_of_sql("$1")
            ),
            &[&device_id.to_string(), &report_id.to_string()],
        )
        .await?;
    row.as_ref().map(tombstone_of).transpose()
}

fn tombstone_of(r: &tokio_postgres::Row) -> Result<Tombstone> {
    tombstone((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

impl PgStore {
    pub(super) async fn erase_in(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        erased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Tombstone> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Uploads (on this hub or another on the same database) take ROW
        // EXCLUSIVE on `reports`, which this mode conflicts with: an upload
        // in flight is committed before the DELETE below reads, so it is
        // erased; one that starts now waits, and takes its snapshot after
        // this commits, so it finds the tombstone. Erasures are rare and
        // short: no upload pays for this when there is none. Erasures also
        // queue behind each other (the mode conflicts with itself), so two
        // hubs erasing one report at once: one erases, the other then
        // finds its tombstone.
        // Bounded: behind a VACUUM or an index build, uploads would queue
        // behind this erasure; it gives way instead, and the desk sends the
        // notice again with its next sync.
        tx.batch_execute(
            "SET LOCAL lock_timeout = '5s'; LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE",
        )
        .await
        .map_err(|e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
                crate::store::StoreError::Unavailable(
                    "the reports table is busy (a VACUUM or an index build?); the erasure is tried again with the desk's next sync".into(),
                )
            } else {
                e.into()
            }
        })?;
        let desk: Option<String> = tx
            .query_one(
                &format!("SELECT {}", desk_of_sql("$1")),
                &[&device_id.to_string()],
            )
            .await?
            .get(0);
        let desk = desk.unwrap_or_else(|| device_id.to_string());
        if let Some(held) = held_tombstone(&tx, device_id, report_id).await? {
            return Ok(held);
        }
        let deleted = tx
            .execute(
                "DELETE FROM reports WHERE report_id = $1
                   AND device_id IN (SELECT id FROM devices WHERE coalesce(device_key, id) = $2)",
                &[&report_id.to_string(), &desk],
            )
            .await?;
        tx.execute(
            // Statuses stored while a device had no key are under its id.
            "DELETE FROM statuses WHERE report_id = $2
               AND (desk = $1 OR desk IN (SELECT id FROM devices WHERE device_key = $1))",
            &[&desk, &report_id.to_string()],
        )
        .await?;
        // Its evidence, whole or part sent (its chunks go with it). A chunk
        // being stored meanwhile holds ROW EXCLUSIVE on `reports` too.
        tx.execute(
            "DELETE FROM evidence WHERE report_id = $2
               AND (desk = $1 OR desk IN (SELECT id FROM devices WHERE device_key = $1))",
            &[&desk, &report_id.to_string()],
        )
        .await?;
        tx.execute(
            "INSERT INTO erasures (desk, report_id, device_id, erased_at, received_at, revisions_deleted)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &desk,
                &report_id.to_string(),
                &device_id.to_string(),
                &text(erased_at),
                &text(now),
                &(deleted as i64),
            ],
        )
        .await?;
        let held = held_tombstone(&tx, device_id, report_id).await?;
        tx.commit().await?;
        held.ok_or(crate::store::StoreError::Corrupt(
            "a tombstone just written",
        ))
    }

    pub(super) async fn erasures_in(&self) -> Result<Vec<Tombstone>> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {TOMBSTONE_COLUMNS} FROM erasures ORDER BY received_at, report_id"
                ),
                &[],
            )
            .await?;
        rows.iter().map(tombstone_of).collect()
    }
}
