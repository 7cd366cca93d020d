//! Word back from the partnership, in the embedded store: desks' status
//! keys and the statuses waiting for them (see migrations/0003_statuses.sql).

use chrono::{DateTime, Utc};
use hirc_proto::StatusNotice;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::Sqlite;
use crate::store::{Result, STATUS_COLUMNS, StatusRow, desk_of_sql, status, text};

impl Sqlite {
    pub(super) fn set_status_key(
        &self,
        device_id: Uuid,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO status_keys (desk, recipient, set_at) SELECT {}, ?2, ?3
                 ON CONFLICT (desk) DO UPDATE SET recipient = excluded.recipient, set_at = excluded.set_at",
                desk_of_sql("?1")
            ),
            params![device_id.to_string(), recipient, text(now)],
        )?;
        Ok(())
    }

    pub(super) fn status_key(&self, device_id: Uuid) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT recipient FROM status_keys WHERE desk = {}",
                    desk_of_sql("?1")
                ),
                [device_id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub(super) fn add_status(&self, device_id: Uuid, n: &StatusNotice) -> Result<Option<i64>> {
        let conn = self.conn();
        let stored = conn.execute(
            &format!(
                "INSERT INTO statuses (status_id, desk, report_id, body, signature, set_at)
                 SELECT ?2, {desk}, ?3, ?4, ?5, ?6
                 WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE report_id = ?3 AND desk = {desk})",
                desk = desk_of_sql("?1")
            ),
            params![
                device_id.to_string(),
                n.status_id.to_string(),
                n.report_id.to_string(),
                n.body,
                n.signature,
                text(n.set_at)
            ],
        )?;
        Ok((stored == 1).then(|| conn.last_insert_rowid()))
    }

    pub(super) fn statuses_after(
        &self,
        device_id: Uuid,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StatusNotice>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses WHERE desk = {} AND seq > ?2 ORDER BY seq LIMIT ?3",
            desk_of_sql("?1")
        ))?;
        let rows = stmt.query_map(
            params![device_id.to_string(), after, limit as i64],
            status_row,
        )?;
        rows.map(|r| status(r?)).collect()
    }

    pub(super) fn all_statuses(&self) -> Result<Vec<StatusNotice>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], status_row)?;
        rows.map(|r| status(r?)).collect()
    }
}

fn status_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}
