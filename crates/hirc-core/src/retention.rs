//! Retention: a delivered report keeps its local encrypted copy for a set
//! period (default 30 days, `retention_days`), then its personal data are
//! purged. The body and the hub payload are deleted (and zeroed in every
//! file). Only the encrypted facts stay, so summaries still count the
//! report. Nobody at the desk can read it after that; the partnership holds
//! the delivered copy.
//!
//! Only a checked delivery (a receipt whose signature the pinned receipt
//! key verifies) is ever purged: a report the hub has not proved it holds
//! keeps its data. The purge needs no one signed in (the sync worker runs
//! it after every pass): it deletes, and reads nothing.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::columns::Columns;
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};
use crate::time;

/// Days a delivered report's personal data are kept, unless set otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// The longest retention a desk may set (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// A report that is (or would be) purged.
#[derive(Debug, Clone, Serialize)]
pub struct Purgeable {
    /// The report.
    pub id: Uuid,
    /// Its reference.
    pub reference: Option<String>,
    /// When it was delivered.
    #[serde(serialize_with = "time::as_text")]
    pub delivered_at: DateTime<Utc>,
}

impl Desk {
    /// Days a delivered report's personal data are kept.
    pub fn retention_days(&self) -> Result<u32> {
        self.number_setting(
            "retention_days",
            DEFAULT_RETENTION_DAYS,
            "the retention setting is not a number",
        )
    }

    /// Sets the retention period (coordinators only; audited).
    pub fn set_retention_days(&mut self, s: &Session, days: u32) -> Result<()> {
        self.set_number_setting(
            s,
            "retention_days",
            days,
            "changing the retention period",
            |days| {
                if days > MAX_RETENTION_DAYS {
                    Err(Error::InvalidInput(format!(
                        "the retention period can be at most {MAX_RETENTION_DAYS} days"
                    )))
                } else {
                    Ok(())
                }
            },
        )
    }

    /// Delivered (and checked) reports whose retention period has passed at
    /// `now`.
    pub fn purgeable(&self, now: DateTime<Utc>) -> Result<Vec<Purgeable>> {
        let days = chrono::Duration::days(i64::from(self.retention_days()?));
        let cutoff = time::to_text(now.checked_sub_signed(days).unwrap_or(now));
        let mut stmt = self.db().prepare(
            "SELECT r.id, r.reference, r.delivered_at FROM reports r
             JOIN outbox o ON o.report_id = r.id AND o.revision = r.revision
             WHERE r.state = 'delivered' AND o.receipt_checked = 1 AND r.delivered_at <= ?1
               -- Every revision the hub has proved it holds (an earlier
               -- one still waiting keeps its payload) ...
               AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.report_id = r.id AND e.receipt_checked = 0)
               -- ... and no follow-up being typed, which would lose its
               -- pre-filled copy or the words being added.
               AND NOT EXISTS (SELECT 1 FROM reports f WHERE f.follows = r.id AND f.state = 'draft')
             ORDER BY r.delivered_at",
        )?;
        let rows = stmt.query_map([cutoff], |r| {
            Ok(Purgeable {
                id: r.id(0)?,
                reference: r.get(1)?,
                delivered_at: r.time(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Purges every report past its retention period: one transaction each,
    /// audited. Returns what was purged.
    pub fn purge_expired(&mut self, now: DateTime<Utc>) -> Result<Vec<Purgeable>> {
        let due = self.purgeable(now)?;
        for p in &due {
            let id = p.id.to_string();
            self.write(|tx| {
                // Guarded: a purge running at the same moment elsewhere (the
                // app and the login service) purges and audits it once.
                let n = tx.execute(
                    "UPDATE reports SET body = NULL, body_size = 0, state = 'purged', purged_at = ?1
                     WHERE id = ?2 AND state = 'delivered'
                       -- Checked again under the write lock: a follow-up
                       -- started since the list was read keeps it.
                       AND NOT EXISTS (SELECT 1 FROM reports f WHERE f.follows = ?2 AND f.state = 'draft')
                       AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.report_id = ?2 AND e.receipt_checked = 0)",
                    params![time::to_text(now), id],
                )?;
                if n == 0 {
                    return Ok(());
                }
                tx.execute(
                    "UPDATE outbox SET payload = NULL, evidence = NULL WHERE report_id = ?1",
                    [&id],
                )?;
                // Evidence is personal data: it goes with the rest.
                tx.execute("DELETE FROM evidence WHERE report_id = ?1", [&id])?;
                audit::append(
                    tx,
                    None,
                    AuditAction::Purged,
                    Some(&id),
                    Some("retention period passed"),
                )
            })?;
        }
        if !due.is_empty() {
            self.scrub()?;
            tracing::info!(
                count = due.len(),
                "reports purged after the retention period"
            );
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReportState;
    use crate::testing::TestHub;

    #[test]
    fn delivered_reports_lose_their_personal_data_after_the_period_but_still_count() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, s, delivered) = crate::testing::desk_with_sealed_report(dir.path());
        let hub = TestHub::new();
        hub.enrol(&mut desk, &s);
        assert_eq!(hub.deliver_all(&mut desk), 1);
        let report = crate::testing::example();
        let waiting = desk.create_draft(&s, &report).expect("draft");
        desk.submit(&s, waiting).expect("submit");

        assert_eq!(desk.retention_days().expect("days"), DEFAULT_RETENTION_DAYS);
        assert!(desk.purgeable(Utc::now()).expect("none yet").is_empty());
        let later = Utc::now() + chrono::Duration::days(31);
        let due = desk.purgeable(later).expect("dry run");
        assert_eq!(
            due.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![delivered],
            "only the delivered one"
        );

        // No one signed in: the purge runs on its own.
        assert_eq!(desk.purge_expired(later).expect("purge").len(), 1);
        let list = desk.list_reports(&s).expect("list");
        let purged = list
            .iter()
            .find(|l| l.row.id == delivered)
            .expect("still listed");
        assert_eq!(purged.row.state, ReportState::Purged);
        assert!(
            purged.summary.starts_with("Verbal abuse"),
            "facts survive for statistics"
        );
        assert!(matches!(
            desk.report(&s, delivered),
            Err(Error::WrongState { .. })
        ));
        desk.report(&s, waiting)
            .expect("the undelivered report is untouched");
        assert!(desk.purge_expired(later).expect("again").is_empty());
        // The day after a purge, the next report still goes (the purged
        // row keeps no payload and is never encrypted again).
        assert_eq!(hub.deliver_all(&mut desk), 1);

        desk.set_retention_days(&s, 0).expect("set");
        assert_eq!(desk.retention_days().expect("days"), 0);
        assert!(desk.set_retention_days(&s, MAX_RETENTION_DAYS + 1).is_err());
        assert!(desk.verify_audit(&s).expect("audit").is_ok());
    }

    /// A delivery the hub never proved (recorded before receipts were
    /// signed) keeps its data until its receipt has been checked.
    #[test]
    fn only_checked_deliveries_are_purged() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, s, id) = crate::testing::desk_with_sealed_report(dir.path());
        let hub = TestHub::new();
        hub.enrol(&mut desk, &s);
        assert_eq!(hub.deliver_all(&mut desk), 1);
        desk.db()
            .execute("UPDATE outbox SET receipt_checked = 0", [])
            .expect("as an older desk recorded it");
        let later = Utc::now() + chrono::Duration::days(31);
        assert!(desk.purge_expired(later).expect("purge").is_empty());
        // The next pass sends the same bytes; the hub's signed receipt
        // checks it, and then it may go.
        assert_eq!(hub.deliver_all(&mut desk), 1, "re-confirmed");
        assert_eq!(desk.purge_expired(later).expect("purge").len(), 1);
        assert!(matches!(desk.report(&s, id), Err(Error::WrongState { .. })));
    }
}
