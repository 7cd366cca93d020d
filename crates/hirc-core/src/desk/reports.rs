//! Reports through their life at the desk: drafts, autosaves, sealing.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::columns::TextId;
use crate::envelope::{self, BodyKind, BodyPlace};
use crate::error::{Error, Result, classify_sqlite};
use crate::model::{
    Report, ReportFacts, ReportMeta, ReportState, check_complete, check_draft,
    tidy_related_reference,
};
use crate::reference::Reference;
use crate::time;

use super::Desk;
use super::bodies::seal_facts;
use super::rows::ReportRow;
use super::session::Session;

/// One report as shown to an unlocked user.
#[derive(Debug, Clone)]
pub struct ReportView {
    /// The row's clear facts.
    pub row: ReportRow,
    /// Who took it and when (from inside the ciphertext).
    pub meta: ReportMeta,
    /// The content; `None` once purged.
    pub report: Option<Report>,
}

impl Desk {
    /// Starts a draft from what has been entered so far; returns its id.
    pub fn create_draft(&mut self, s: &Session, report: &Report) -> Result<Uuid> {
        self.insert_draft(s, report, None)
    }

    /// Inserts a draft: a follow-up of a report, if given with that
    /// report's facts (consent answered as before keeps its time).
    pub(super) fn insert_draft(
        &mut self,
        s: &Session,
        report: &Report,
        follows: Option<(Uuid, &ReportFacts)>,
    ) -> Result<Uuid> {
        self.check_session(s)?;
        check_draft(report).map_err(Error::Invalid)?;
        let mut report = report.clone();
        stamp_consent(follows.map(|(_, facts)| facts), &mut report, self.now());
        let follows = follows.map(|(id, _)| id);
        let meta = ReportMeta {
            id: Uuid::now_v7(),
            centre_code: self.info.centre_code.clone(),
            ambassador: s.user.id,
            // Stored to the millisecond, so the clear row and the body agree.
            taken_at: self.now_stored(),
        };
        let place = BodyPlace {
            report_id: meta.id,
            save_seq: 1,
            revision: 0,
            kind: BodyKind::Draft,
        };
        let body = envelope::seal(&s.keys, place, &meta, &report)?;
        let facts = seal_facts(s, place, &report)?;
        let now = time::to_text(meta.taken_at);
        let follows = follows.map(|id| id.to_string());
        let detail = follows.as_ref().map(|id| format!("follow-up of {id}"));
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reports (id, owner_id, state, revision, save_seq, created_at, updated_at, body, body_size, facts, follows)
                 VALUES (?1, ?2, 'draft', 0, 1, ?3, ?3, ?4, ?5, ?6, ?7)",
                params![meta.id.to_string(), s.user.id.to_string(), now, body.0, body.0.len() as i64, facts, follows],
            )?;
            audit::append(tx, Some(&s.user.name), AuditAction::DraftCreated, Some(&meta.id.to_string()), detail.as_deref())
        })?;
        tracing::info!(report = %meta.id, bytes = body.0.len(), "draft created");
        Ok(meta.id)
    }

    /// Replaces a draft's content (an autosave of the whole form).
    pub fn save_draft(&mut self, s: &Session, id: Uuid, report: &Report) -> Result<()> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "edited")?;
        check_draft(report).map_err(Error::Invalid)?;
        // An autosave runs on every change: it reads only the row and the
        // small facts, never decrypting the whole previous body.
        let meta = self.meta_of(&row)?;
        let previous = self.facts_of(s, &row)?;
        let mut report = report.clone();
        stamp_consent(Some(&previous), &mut report, self.now());
        self.write_body(s, &row, &meta, &report, BodyKind::Draft, 0, |tx, _| {
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::DraftEdited,
                Some(&id.to_string()),
                None,
            )
        })
    }

    /// Merges a JSON merge patch into a draft (an autosave of a few fields).
    pub fn patch_draft(&mut self, s: &Session, id: Uuid, patch: &serde_json::Value) -> Result<()> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "edited")?;
        let (_, current) = self.open_body(s, &row)?;
        let merged = current.unwrap_or_default().merged(patch)?;
        self.save_draft(s, id, &merged)
    }

    /// Reads a report.
    pub fn report(&self, s: &Session, id: Uuid) -> Result<ReportView> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        let (meta, report) = self.open_body(s, &row)?;
        Ok(ReportView { row, meta, report })
    }

    /// Deletes a draft. Submitted reports cannot be deleted.
    pub fn delete_draft(&mut self, s: &Session, id: Uuid) -> Result<()> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "deleted")?;
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM reports WHERE id = ?1 AND state = 'draft'",
                params![id.to_string()],
            )?;
            if n != 1 {
                return Err(Error::UnknownReport(id.to_string()));
            }
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::DraftDeleted,
                Some(&id.to_string()),
                None,
            )
        })?;
        self.scrub()
    }

    /// Validates a draft fully, seals it as revision 1, issues its human
    /// reference and queues it for the hub.
    pub fn submit(&mut self, s: &Session, id: Uuid) -> Result<Reference> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "submitted")?;
        if let Some(orig) = self.follows(id)? {
            return Ok(self.seal_follow_up(s, id, orig)?.reference);
        }
        let (meta, report) = self.open_body(s, &row)?;
        let mut report = report.unwrap_or_default();
        check_complete(&report, self.today()).map_err(Error::Invalid)?;
        tidy_related_reference(&mut report);
        if report.consent.consent_recorded_at.is_none() {
            report.consent.consent_recorded_at = Some(self.now());
        }
        let reference = loop {
            let candidate = Reference::generate(&self.info.centre_code);
            let taken: bool = self
                .conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM reports WHERE reference = ?1)",
                    [candidate.as_str()],
                    |r| r.get(0),
                )
                .map_err(classify_sqlite)?;
            if !taken {
                break candidate;
            }
        };
        // Sealing prepares the upload at once (when the desk is enrolled),
        // so sending it later needs no one signed in.
        let sealed_at = self.now_stored();
        let upload = self.payload_at_sealing(
            s,
            id,
            &row,
            1,
            reference.as_str(),
            sealed_at,
            &meta,
            &report,
        )?;

        let sealed_at = time::to_text(sealed_at);
        self.write_body(s, &row, &meta, &report, BodyKind::Sealed, 1, |tx, _| {
            tx.execute(
                "UPDATE reports SET state = 'sealed', reference = ?1, sealed_at = ?2 WHERE id = ?3",
                params![reference.as_str(), sealed_at, id.to_string()],
            )?;
            upload.queue(tx, id, 1, &sealed_at)?;
            // Its evidence goes with revision 1.
            tx.execute(
                "UPDATE evidence SET revision = 1 WHERE report_id = ?1 AND revision = 0",
                [id.to_string()],
            )?;
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::Submitted,
                Some(&id.to_string()),
                Some(reference.as_str()),
            )
        })?;
        tracing::info!(report = %id, "report sealed and queued");
        Ok(reference)
    }

    /// Finds a report by full id, human reference, or a unique id prefix.
    pub fn resolve(&self, s: &Session, key: &str) -> Result<Uuid> {
        self.check_session(s)?;
        let key = key.trim();
        if let Ok(id) = Uuid::parse_str(key) {
            return self.row(id).map(|r| r.id);
        }
        let prefix = key.to_ascii_lowercase();
        let id_prefix =
            prefix.len() >= 4 && prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        match Reference::parse(key) {
            Ok(reference) => {
                let id: Option<TextId> = self
                    .conn
                    .query_row(
                        "SELECT id FROM reports WHERE reference = ?1",
                        [reference.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?;
                match id {
                    Some(TextId(id)) => return Ok(id),
                    None => {
                        // Erased at the person's request: say so.
                        if let erased @ Error::Erased { .. } = self.no_report(&reference)? {
                            return Err(erased);
                        }
                        // Hex that happens to read as a reference may
                        // still be the start of an id.
                        if !id_prefix {
                            return Err(Error::UnknownReport(key.into()));
                        }
                    }
                }
            }
            // Not an id either: the check character caught a typo.
            Err(e @ Error::MistypedReference) if !id_prefix => return Err(e),
            Err(_) if !id_prefix => return Err(Error::UnknownReport(key.into())),
            Err(_) => {}
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM reports WHERE substr(id, 1, ?1) = ?2 LIMIT 2")?;
        let ids: Vec<TextId> = stmt
            .query_map(params![prefix.len() as i64, prefix], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match ids.as_slice() {
            [TextId(one)] => Ok(*one),
            [] => Err(Error::UnknownReport(key.into())),
            _ => Err(Error::AmbiguousReport(key.into())),
        }
    }

    /// Ambassadors may touch only their own reports; coordinators any.
    pub(crate) fn check_may_touch(&self, s: &Session, row: &ReportRow) -> Result<()> {
        if s.is_coordinator() || row.owner_id == s.user.id {
            Ok(())
        } else {
            Err(Error::NotPermitted {
                action: "opening another ambassador's report",
                user: s.user.name.clone(),
            })
        }
    }
}

/// Records when consent was given: set when the three answers are first all
/// there, kept while they stay the same, and set again when one changes.
pub(super) fn stamp_consent(
    previous: Option<&ReportFacts>,
    report: &mut Report,
    now: DateTime<Utc>,
) {
    let c = &mut report.consent;
    if !c.is_answered() {
        c.consent_recorded_at = None;
        return;
    }
    let unchanged = previous.filter(|p| {
        (p.pass_to_police, p.police_may_contact, p.refer_to_support)
            == (c.pass_to_police, c.police_may_contact, c.refer_to_support)
    });
    c.consent_recorded_at = match unchanged.and_then(|p| p.consent_recorded_at) {
        Some(at) => Some(at),
        None => Some(now),
    };
}

pub(crate) fn require_state(
    row: &ReportRow,
    state: ReportState,
    action: &'static str,
) -> Result<()> {
    if row.state == state {
        return Ok(());
    }
    Err(Error::WrongState {
        id: row.reference.clone().unwrap_or_else(|| row.id.to_string()),
        state: match row.state {
            ReportState::Draft => "a draft",
            ReportState::Sealed => "already submitted",
            ReportState::Delivered => "already delivered",
            ReportState::Purged => "purged",
        },
        action,
    })
}
