//! Word back from the partnership, on PostgreSQL: desks' status keys and
//! the statuses waiting for them (see migrations/postgres/0005_statuses.sql).

use chrono::{DateTime, Utc};
use hirc_proto::StatusNotice;
use uuid::Uuid;

use super::PgStore;
use crate::store::{Result, STATUS_COLUMNS, desk_of_sql, status, text};

impl PgStore {
    pub(super) async fn set_status_key_in(
        &self,
        device_id: Uuid,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.client()
            .await?
            .execute(
                &format!(
                    "INSERT INTO status_keys (desk, recipient, set_at) SELECT {}, $2, $3
                     ON CONFLICT (desk) DO UPDATE SET recipient = excluded.recipient, set_at = excluded.set_at",
                    desk_of_sql("$1")
                ),
                &[&device_id.to_string(), &recipient, &text(now)],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn status_key_in(&self, device_id: Uuid) -> Result<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT recipient FROM status_keys WHERE desk = {}",
                    desk_of_sql("$1")
                ),
                &[&device_id.to_string()],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(super) async fn add_status_in(
        &self,
        device_id: Uuid,
        n: &StatusNotice,
    ) -> Result<Option<i64>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // As an upload does: an erasure under way (it holds SHARE ROW
        // EXCLUSIVE on `reports`) is waited for, and its tombstone seen.
        tx.batch_execute("LOCK TABLE reports IN ROW EXCLUSIVE MODE")
            .await?;
        let row = tx
            .query_opt(
                &format!(
                    "INSERT INTO statuses (status_id, desk, report_id, body, signature, set_at)
                     SELECT $2, {desk}, $3, $4, $5, $6
                     WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE report_id = $3 AND desk = {desk})
                     RETURNING seq",
                    desk = desk_of_sql("$1")
                ),
                &[
                    &device_id.to_string(),
                    &n.status_id.to_string(),
                    &n.report_id.to_string(),
                    &n.body,
                    &n.signature,
                    &text(n.set_at),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(super) async fn statuses_after_in(
        &self,
        device_id: Uuid,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StatusNotice>> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {STATUS_COLUMNS} FROM statuses WHERE desk = {} AND seq > $2 ORDER BY seq LIMIT $3",
                    desk_of_sql("$1")
                ),
                &[&device_id.to_string(), &after, &(limit as i64)],
            )
            .await?;
        rows.iter().map(status_of).collect()
    }

    pub(super) async fn all_statuses_in(&self) -> Result<Vec<StatusNotice>> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {STATUS_COLUMNS} FROM statuses ORDER BY seq"),
                &[],
            )
            .await?;
        rows.iter().map(status_of).collect()
    }
}

fn status_of(r: &tokio_postgres::Row) -> Result<StatusNotice> {
    status((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
}
