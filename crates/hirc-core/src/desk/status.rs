//! What the desk holds and what happened: the report list, the counts
//! and the audit log.

use std::path::PathBuf;

use serde::Serialize;

use crate::audit::{self, AuditAction, AuditBroken, AuditEntry, AuditVerified};
use crate::error::{Result, classify_sqlite};
use crate::store;
use crate::time;

use super::rows::ReportRow;
use super::session::{Session, require_coordinator};
use super::{Desk, DeskInfo, STALE_DRAFT_DAYS};

/// One line of the report list.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct ReportListing {
    /// The row.
    #[serde(flatten)]
    pub row: ReportRow,
    /// The name of the user who took it.
    pub owner: String,
    /// Kinds of incident, strands and month (no free text).
    pub summary: String,
    /// Where its upload stands, once sealed: receipt, attempts, last error.
    pub upload: Option<crate::outbox::UploadState>,
    /// Why it is set aside (it will not open), if it is.
    pub set_aside: Option<String>,
    /// For a follow-up draft: the reference of the report it adds to.
    pub follows: Option<String>,
}

/// What `status` reports.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct DeskStatus {
    /// The desk.
    pub desk: DeskInfo,
    /// The store file.
    pub store_path: PathBuf,
    /// Bytes on disk (database, WAL and shared memory files).
    pub store_bytes: u64,
    /// Schema version.
    pub schema_version: i64,
    /// Active coordinators.
    pub coordinators: i64,
    /// Active ambassadors.
    pub ambassadors: i64,
    /// Drafts.
    pub drafts: i64,
    /// Sealed, waiting to upload.
    pub sealed: i64,
    /// Delivered.
    pub delivered: i64,
    /// Purged.
    pub purged: i64,
    /// Sealed reports waiting for the desk to be enrolled with a hub.
    pub waiting_for_enrolment: i64,
    /// Drafts untouched for [`STALE_DRAFT_DAYS`] days or more.
    pub stale_drafts: i64,
    /// Reports set aside because they will not open.
    pub set_aside: i64,
}

impl Desk {
    /// Lists reports, newest first: a coordinator sees all; an ambassador
    /// their own and every report past the draft stage (the desk's queue).
    pub fn list_reports(&self, s: &Session) -> Result<Vec<ReportListing>> {
        let mut uploads = self.upload_states()?;
        let reports = self.reports_with_facts(s)?;
        // After the listing, which sets aside what it could not read.
        let aside = self.set_aside_reasons()?;
        let follows = self.follow_up_references()?;
        Ok(reports
            .into_iter()
            .map(|(row, owner, facts)| ReportListing {
                upload: uploads.remove(&row.id),
                summary: facts.map_or_else(
                    || "could not be read: set aside for a coordinator".to_string(),
                    |f| f.summary_line(),
                ),
                set_aside: aside.get(&row.id).cloned(),
                follows: follows.get(&row.id).cloned(),
                row,
                owner,
            })
            .collect())
    }

    /// The audit log (coordinators only).
    pub fn audit_log(&self, s: &Session) -> Result<Vec<AuditEntry>> {
        self.check_session(s)?;
        require_coordinator(s, "reading the audit log")?;
        audit::entries(&self.conn)
    }

    /// Checks the audit chain (coordinators only).
    pub fn verify_audit(&self, s: &Session) -> Result<Result<AuditVerified, AuditBroken>> {
        let entries = self.audit_log(s)?;
        Ok(audit::verify(&entries))
    }

    /// Records that something left the desk.
    pub fn record_export(&mut self, s: &Session, what: &str) -> Result<()> {
        self.check_session(s)?;
        self.write(|tx| {
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::Export,
                None,
                Some(what),
            )
        })
    }

    /// Counts and sizes.
    pub fn status(&self, s: &Session) -> Result<DeskStatus> {
        self.check_session(s)?;
        let count = |sql: &str| -> Result<i64> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(classify_sqlite)
        };
        let by_state = |state: &str| -> Result<i64> {
            self.conn
                .query_row(
                    "SELECT count(*) FROM reports WHERE state = ?1",
                    [state],
                    |r| r.get(0),
                )
                .map_err(classify_sqlite)
        };
        let stale_before = time::to_text(self.now() - chrono::Duration::days(STALE_DRAFT_DAYS));
        let stale_drafts = self
            .conn
            .query_row(
                "SELECT count(*) FROM reports WHERE state = 'draft' AND updated_at < ?1",
                [stale_before],
                |r| r.get(0),
            )
            .map_err(classify_sqlite)?;
        let store_bytes = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::metadata(PathBuf::from(p)).ok()
            })
            .map(|m| m.len())
            .sum();
        Ok(DeskStatus {
            desk: self.info.clone(),
            store_path: self.path.clone(),
            store_bytes,
            schema_version: store::schema_version(&self.conn)?,
            coordinators: count(
                "SELECT count(*) FROM users WHERE removed_at IS NULL AND role = 'coordinator'",
            )?,
            ambassadors: count(
                "SELECT count(*) FROM users WHERE removed_at IS NULL AND role = 'ambassador'",
            )?,
            drafts: by_state("draft")?,
            sealed: by_state("sealed")?,
            delivered: by_state("delivered")?,
            purged: by_state("purged")?,
            waiting_for_enrolment: count(
                "SELECT count(*) FROM outbox WHERE payload IS NULL AND delivered_at IS NULL",
            )?,
            stale_drafts,
            set_aside: self.set_aside_count()?,
        })
    }
}
