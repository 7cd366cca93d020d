//! Reports set aside: one damaged report never blocks the others.
//!
//! Words used here:
//! - **set aside**: a report whose body or facts will not open (the store
//!   was damaged, a file came back from elsewhere, a newer HIRC Desk wrote
//!   it) is marked with when and why, and everything else goes on without
//!   it: uploads (a payload already made still goes), listings (it shows as
//!   unreadable) and summaries (it is left out, and they say how many were).
//! - **retry**: a coordinator asks the desk to open it again (after a
//!   restore from backup, or an upgrade); if it opens it is back in use.
//! - **discard**: a coordinator deletes it for good (audited).
//!
//! Setting aside happens where the damage is found, from read paths too, so
//! it takes `&self`: a small transaction of its own on the same connection.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::columns::Columns;
use crate::desk::{Desk, Session, require_coordinator};
use crate::error::{Error, Result};
use crate::model::ReportState;
use crate::time;

/// A report set aside, as coordinators see it.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct SetAside {
    /// The report.
    pub id: Uuid,
    /// Its reference, once sealed.
    pub reference: Option<String>,
    /// Its state.
    pub state: ReportState,
    /// When it was set aside.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub since: DateTime<Utc>,
    /// Why (what would not open; never content).
    pub reason: String,
}

impl Error {
    /// Whether this error says a report's own data will not open (so the
    /// report is set aside), rather than the store or the disk failing.
    pub(crate) fn is_damage(&self) -> bool {
        matches!(self, Error::Integrity(_) | Error::ReportTooNew { .. })
    }
}

impl Desk {
    /// Sets a report aside with its reason (once; audited). Failures to
    /// record it are logged, never raised: the caller is already reporting
    /// the damage itself.
    pub(crate) fn set_aside(&self, id: Uuid, damage: &Error) {
        let reason = crate::outbox::tidy_reason(&damage.to_string());
        let now = self.now_text();
        let done = (|| -> Result<bool> {
            let tx = self.db().unchecked_transaction()?;
            let n = tx.execute(
                "UPDATE reports SET set_aside_at = ?1, set_aside_reason = ?2
                 WHERE id = ?3 AND set_aside_at IS NULL",
                params![now, reason, id.to_string()],
            )?;
            if n == 1 {
                audit::append(
                    &tx,
                    None,
                    AuditAction::SetAside,
                    Some(&id.to_string()),
                    Some(&reason),
                )?;
            }
            tx.commit()?;
            Ok(n == 1)
        })();
        match done {
            Ok(true) => {
                tracing::warn!(report = %id, "a report that will not open was set aside: {reason}")
            }
            Ok(false) => {}
            Err(e) => tracing::error!(report = %id, "a damaged report could not be set aside: {e}"),
        }
    }

    /// Passes `result` through, setting the report aside if its error is
    /// damage.
    pub(crate) fn aside_on_damage<T>(&self, id: Uuid, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && e.is_damage()
        {
            self.set_aside(id, e);
        }
        result
    }

    /// Why each set-aside report is aside.
    pub(crate) fn set_aside_reasons(&self) -> Result<std::collections::HashMap<Uuid, String>> {
        let mut stmt = self
            .db()
            .prepare("SELECT id, set_aside_reason FROM reports WHERE set_aside_at IS NOT NULL")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.id(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default()))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many reports are set aside (no unlock needed: it names none).
    pub fn set_aside_count(&self) -> Result<i64> {
        Ok(self.db().query_row(
            "SELECT count(*) FROM reports WHERE set_aside_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// The reports set aside (coordinators).
    pub fn set_aside_reports(&self, s: &Session) -> Result<Vec<SetAside>> {
        self.check_session(s)?;
        require_coordinator(s, "seeing reports set aside")?;
        let mut stmt = self.db().prepare(
            "SELECT id, reference, state, set_aside_at, set_aside_reason FROM reports
             WHERE set_aside_at IS NOT NULL ORDER BY set_aside_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SetAside {
                id: r.id(0)?,
                reference: r.get(1)?,
                state: r.get(2)?,
                since: r.time(3)?,
                reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Opens a set-aside report again (coordinators): if its body (unless
    /// purged) and its facts now open, it is back in use; if not, the error
    /// says why and it stays aside.
    pub fn retry_set_aside(&mut self, s: &Session, id: Uuid) -> Result<()> {
        self.check_session(s)?;
        require_coordinator(s, "trying a set-aside report again")?;
        let row = self.row(id)?;
        let check = self.facts_of(s, &row).and_then(|_| {
            if row.state == ReportState::Purged {
                Ok(())
            } else {
                self.open_body(s, &row).map(|_| ())
            }
        });
        if let Err(e) = check {
            // Keep the newest reason.
            let reason = crate::outbox::tidy_reason(&e.to_string());
            self.db().execute(
                "UPDATE reports SET set_aside_reason = ?1 WHERE id = ?2",
                params![reason, id.to_string()],
            )?;
            return Err(e);
        }
        let user = s.user().name.clone();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE reports SET set_aside_at = NULL, set_aside_reason = NULL
                 WHERE id = ?1 AND set_aside_at IS NOT NULL",
                [id.to_string()],
            )?;
            if n == 1 {
                audit::append(
                    tx,
                    Some(&user),
                    AuditAction::SetAside,
                    Some(&id.to_string()),
                    Some("opens again: back in use"),
                )?;
            }
            Ok(())
        })?;
        // If its upload was never made (it was set aside first), it is now;
        // a failure there (another report's) is for the next unlock.
        if let Err(e) = self.prepare_uploads(s) {
            tracing::warn!("waiting reports could not be prepared for the hub yet: {e}");
        }
        // Its evidence is read only then: if that is what will not open, it
        // is aside again, and the coordinator is told why.
        let again: Option<String> = self
            .db()
            .query_row(
                "SELECT set_aside_reason FROM reports WHERE id = ?1 AND set_aside_at IS NOT NULL",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(reason) = again {
            return Err(Error::InvalidInput(format!(
                "it is set aside again, as it still will not open: {reason}"
            )));
        }
        Ok(())
    }

    /// Deletes a set-aside report for good, with its upload (coordinators,
    /// audited). Only a report that is set aside can be discarded, so a
    /// report that opens is never lost this way.
    pub fn discard_set_aside(&mut self, s: &Session, id: Uuid) -> Result<()> {
        self.check_session(s)?;
        require_coordinator(s, "discarding a set-aside report")?;
        let aside: Option<Option<String>> = self
            .db()
            .query_row(
                "SELECT set_aside_at FROM reports WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match aside {
            None => return Err(Error::UnknownReport(id.to_string())),
            Some(None) => {
                return Err(Error::InvalidInput(
                    "only a report that is set aside (it will not open) can be discarded".into(),
                ));
            }
            Some(Some(_)) => {}
        }
        let deliverable: bool = self.db().query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE report_id = ?1
                                AND payload IS NOT NULL AND receipt_checked = 0
                                AND failed_permanently = 0)",
            [id.to_string()],
            |r| r.get(0),
        )?;
        if deliverable {
            return Err(Error::InvalidInput(
                "this report can still be delivered (it was encrypted for the hub when it was sealed): it goes with the next upload, and can be discarded once it has".into(),
            ));
        }
        let user = s.user().name.clone();
        self.write(|tx| {
            // A follow-up being drafted goes with the report it adds to.
            tx.execute(
                "DELETE FROM reports WHERE follows = ?1 AND state = 'draft'",
                [id.to_string()],
            )?;
            tx.execute(
                "DELETE FROM statuses WHERE report_id = ?1",
                [id.to_string()],
            )?;
            tx.execute("DELETE FROM outbox WHERE report_id = ?1", [id.to_string()])?;
            tx.execute("DELETE FROM reports WHERE id = ?1", [id.to_string()])?;
            audit::append(
                tx,
                Some(&user),
                AuditAction::Discarded,
                Some(&id.to_string()),
                Some("set aside and discarded by a coordinator"),
            )
        })?;
        self.scrub()
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::summary::{SummaryOptions, Wording};
    use crate::testing::{TestHub, example, new_desk, pass};

    /// One report's body damaged and another's facts: uploads, the list,
    /// the summary and the status all go on without them, each is set aside
    /// once with its reason, a retry works once the damage is undone, and a
    /// coordinator can discard one for good.
    #[test]
    fn a_damaged_report_is_set_aside_and_never_blocks_the_rest() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let mut ids = Vec::new();
        for _ in 0..4 {
            let id = desk.create_draft(&s, &example()).expect("draft");
            desk.submit(&s, id).expect("submit");
            ids.push(id);
        }
        let (bad_body, bad_facts) = (ids[0], ids[1]);
        let blob = |column: &str, id: Uuid| -> Vec<u8> {
            desk.db()
                .query_row(
                    &format!("SELECT {column} FROM reports WHERE id = ?1"),
                    [id.to_string()],
                    |r| r.get(0),
                )
                .expect("blob")
        };
        let (body_before, facts_before) = (blob("body", bad_body), blob("facts", bad_facts));
        let damage = |desk: &Desk, column: &str, id: Uuid, bytes: &[u8]| {
            let mut damaged = bytes.to_vec();
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0x5A;
            desk.db()
                .execute(
                    &format!("UPDATE reports SET {column} = ?1 WHERE id = ?2"),
                    params![damaged, id.to_string()],
                )
                .expect("damage");
        };
        damage(&desk, "body", bad_body, &body_before);
        damage(&desk, "facts", bad_facts, &facts_before);

        // Enrolling prepares every payload but the damaged body's.
        let hub = TestHub::new();
        assert_eq!(hub.enrol(&mut desk, &s), 3);
        assert_eq!(hub.deliver_all(&mut desk), 3);
        // The list and the summary go on, and say what they could not read.
        let list = desk.list_reports(&s).expect("list");
        assert_eq!(list.len(), 4);
        let unreadable = list.iter().find(|l| l.row.id == bad_facts).expect("listed");
        assert!(unreadable.set_aside.is_some());
        assert!(unreadable.summary.contains("could not be read"));
        let today = desk.today();
        let summary = desk
            .summary(
                &s,
                SummaryOptions {
                    from: today,
                    to: today,
                    threshold: 2,
                },
            )
            .expect("summary");
        assert_eq!(summary.not_counted, 1);
        assert_eq!(
            summary.tables[0].rows[0].cell,
            crate::summary::Cell::Count(3)
        );
        assert!(
            crate::summary::to_csv(&summary, &Wording::english()).contains("could not be read")
        );

        let aside = desk.set_aside_reports(&s).expect("aside");
        assert_eq!(
            aside
                .iter()
                .map(|a| a.id)
                .collect::<std::collections::BTreeSet<_>>(),
            [bad_body, bad_facts].into_iter().collect()
        );
        assert!(aside.iter().all(|a| !a.reason.is_empty()));
        assert_eq!(desk.status(&s).expect("status").set_aside, 2);
        // Once, however often the damage is met.
        desk.list_reports(&s).expect("list again");
        let audited = |desk: &Desk| {
            desk.audit_log(&s)
                .expect("audit")
                .iter()
                .filter(|e| e.action == "set_aside")
                .count()
        };
        assert_eq!(audited(&desk), 2);

        // Retry: still damaged, then repaired.
        assert!(desk.retry_set_aside(&s, bad_body).is_err());
        desk.db()
            .execute(
                "UPDATE reports SET body = ?1 WHERE id = ?2",
                params![body_before, bad_body.to_string()],
            )
            .expect("restore");
        desk.retry_set_aside(&s, bad_body).expect("opens again");
        // Back in use, and encrypted for the hub at once.
        assert_eq!(hub.deliver_all(&mut desk), 1);

        // Discard: only what is set aside, by a coordinator, audited.
        assert!(desk.discard_set_aside(&s, ids[2]).is_err(), "it opens");
        desk.add_user(
            &s,
            "Ann",
            crate::model::Role::Ambassador,
            &pass("ann passphrase"),
            crate::testing::fast(),
        )
        .expect("add");
        let ann = desk.unlock("Ann", &pass("ann passphrase")).expect("unlock");
        assert!(matches!(
            desk.discard_set_aside(&ann, bad_facts),
            Err(Error::NotPermitted { .. })
        ));
        desk.discard_set_aside(&s, bad_facts).expect("discard");
        assert_eq!(desk.list_reports(&s).expect("list").len(), 3);
        assert_eq!(desk.status(&s).expect("status").set_aside, 0);
        assert!(desk.verify_audit(&s).expect("audit").is_ok());
    }
}
