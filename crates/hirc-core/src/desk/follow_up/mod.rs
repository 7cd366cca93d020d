//! Adding to a submitted report: a follow-up is a draft of its next
//! revision, pre-filled with what the desk still holds of it (when the user
//! may read it), with a note of what changed. Sealed, it becomes revision
//! n+1 of the same report, with the same reference, delivered and receipted
//! like the first. After the retention purge, or for an ambassador who may
//! not read the report, it carries only the new information (the
//! partnership holds the rest).
//!
//! A change of consent is a follow-up of the consent alone, sealed at once.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::columns::TextId;
use crate::envelope::BodyKind;
use crate::error::{Error, Result};
use crate::model::{
    FieldError, PassToPolice, Report, ReportFacts, ReportMeta, ReportState, ValidationErrors,
    check_complete, check_draft,
};
use crate::reference::Reference;
use crate::time;

use super::Desk;
use super::reports::stamp_consent;
use super::rows::ReportRow;
use super::session::Session;

/// A change to what the person agreed to; `None` keeps an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsentChange {
    /// Whether, and how, the report may go to the police.
    pub pass_to_police: Option<PassToPolice>,
    /// Whether the police may contact the person.
    pub police_may_contact: Option<bool>,
    /// Whether to refer them to support.
    pub refer_to_support: Option<bool>,
}

/// A sealed revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The report's reference (unchanged).
    pub reference: Reference,
    /// The revision sealed (2, 3, …).
    pub revision: u32,
}

impl Desk {
    /// Starts (or returns, if one is already being drafted) the follow-up
    /// of the report a person quotes: a draft of its next revision. It is
    /// pre-filled with the report as the desk holds it, when the user may
    /// read it and it is not purged; else it starts with only the consent
    /// given before. `from`: the draft's content instead (`hirc report
    /// follow-up --from`). Returns the draft's id.
    pub fn follow_up(&mut self, s: &Session, quoted: &str, from: Option<&Report>) -> Result<Uuid> {
        let page = self.find_report(s, quoted)?;
        if let Some(TextId(open)) = self.follow_up_draft(page.id)? {
            if from.is_some() {
                return Err(Error::InvalidInput(format!(
                    "a follow-up of {} is already being drafted ({open}): change it with `hirc report edit {open}`",
                    page.reference
                )));
            }
            return Ok(open);
        }
        let orig = self.row(page.id)?;
        self.require_sendable(&orig)?;
        let mut report = match from {
            Some(r) => r.clone(),
            None if page.readable && !page.purged => {
                let mut held = self.open_body(s, &orig)?.1.unwrap_or_default();
                held.what_changed = None;
                held
            }
            None => {
                let mut fresh = Report::default();
                fresh.consent.pass_to_police = page.consent.pass_to_police;
                fresh.consent.police_may_contact = page.consent.police_may_contact;
                fresh.consent.refer_to_support = page.consent.refer_to_support;
                fresh
            }
        };
        // Consent answered as before keeps its time; a changed one is new.
        let previous = self.facts_of(s, &orig)?;
        stamp_consent(Some(&previous), &mut report, self.now());
        self.insert_draft(s, &report, Some(orig.id))
    }

    /// Changes what the person agreed to: a revision of the consent alone,
    /// sealed and queued at once (any user; audited). The other answers
    /// stay as they were.
    pub fn change_consent(
        &mut self,
        s: &Session,
        quoted: &str,
        change: ConsentChange,
    ) -> Result<Revision> {
        if change == ConsentChange::default() {
            return Err(Error::InvalidInput(
                "say what changes: --pass-to-police, --police-may-contact or --refer-to-support"
                    .into(),
            ));
        }
        let page = self.find_report(s, quoted)?;
        if self.follow_up_draft(page.id)?.is_some() {
            return Err(Error::InvalidInput(format!(
                "a follow-up of {} is being drafted: change the consent there, or delete that draft first",
                page.reference
            )));
        }
        let orig = self.row(page.id)?;
        self.require_sendable(&orig)?;
        let mut report = if page.readable && !page.purged {
            self.open_body(s, &orig)?.1.unwrap_or_default()
        } else {
            let mut fresh = Report::default();
            fresh.consent.pass_to_police = page.consent.pass_to_police;
            fresh.consent.police_may_contact = page.consent.police_may_contact;
            fresh.consent.refer_to_support = page.consent.refer_to_support;
            fresh
        };
        let c = &mut report.consent;
        let mut changed = Vec::new();
        if let Some(p) = change.pass_to_police {
            c.pass_to_police = Some(p);
            changed.push(format!("pass to the police: {}", p.as_str()));
        }
        if let Some(yes) = change.police_may_contact {
            c.police_may_contact = Some(yes);
            changed.push(format!("police may contact: {}", yes_no(yes)));
        } else if change.pass_to_police == Some(PassToPolice::No)
            && c.police_may_contact == Some(true)
        {
            // Withdrawn from the police: they can no longer contact the
            // person either.
            c.police_may_contact = Some(false);
            changed.push("police may contact: no".into());
        }
        if let Some(yes) = change.refer_to_support {
            c.refer_to_support = Some(yes);
            changed.push(format!("refer to support: {}", yes_no(yes)));
        }
        c.consent_recorded_at = Some(self.now());
        report.what_changed = Some(format!("Consent changed ({})", changed.join("; ")));
        let id = self.insert_draft(s, &report, Some(orig.id))?;
        // A draft the seal refuses (consent that contradicts the report) is
        // not left behind.
        match self.seal_follow_up(s, id, orig.id) {
            Ok(sealed) => Ok(sealed),
            Err(e) => {
                self.delete_draft(s, id)?;
                Err(e)
            }
        }
    }

    /// The reference of the report a draft adds to, if it is a follow-up.
    pub fn follow_up_of(&self, s: &Session, draft: Uuid) -> Result<Option<String>> {
        self.check_session(s)?;
        match self.follows(draft)? {
            Some(orig) => Ok(self.row(orig)?.reference),
            None => Ok(None),
        }
    }

    /// Everything that would stop the draft `id`, holding `report`, being
    /// submitted now: a whole report's rules, or a follow-up's (a note of
    /// what changed; the whole report only where the desk holds it whole).
    pub fn submit_problems(
        &self,
        s: &Session,
        id: Uuid,
        report: &Report,
    ) -> Result<Vec<FieldError>> {
        self.check_session(s)?;
        let whole = match self.follows(id)? {
            None => true,
            Some(orig) => self.holds_whole(s, &self.row(orig)?)?,
        };
        let mut problems = if whole {
            check_complete(report, self.today()).err()
        } else {
            check_draft(report).err()
        }
        .map(|v| v.0)
        .unwrap_or_default();
        if self.follows(id)?.is_some()
            && report
                .what_changed
                .as_deref()
                .is_none_or(|t| t.trim().is_empty())
        {
            problems.push(what_changed_missing());
        }
        Ok(problems)
    }

    /// Whether the desk holds `orig` whole for this user: not purged, theirs
    /// to read, and a whole report (not a revision of only what was new).
    fn holds_whole(&self, s: &Session, orig: &ReportRow) -> Result<bool> {
        let may_read = s.is_coordinator() || orig.owner_id == s.user.id;
        if orig.state == ReportState::Purged || !may_read {
            return Ok(false);
        }
        Ok(self
            .open_body(s, orig)?
            .1
            .is_some_and(|p| check_complete(&p, self.today()).is_ok()))
    }

    /// The report a draft follows up, if it is a follow-up.
    pub(crate) fn follows(&self, draft: Uuid) -> Result<Option<Uuid>> {
        let follows: Option<Option<TextId>> = self
            .conn
            .query_row(
                "SELECT follows FROM reports WHERE id = ?1",
                [draft.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(follows.flatten().map(|TextId(id)| id))
    }

    fn follow_up_draft(&self, report: Uuid) -> Result<Option<TextId>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM reports WHERE follows = ?1 AND state = 'draft'",
                [report.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A revision is sealed from the body the desk holds; an earlier one not
    /// yet encrypted for the hub (the desk not enrolled) would be encrypted
    /// from the newer body later, so adding waits until it is.
    fn require_sendable(&self, orig: &ReportRow) -> Result<()> {
        let unprepared: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE report_id = ?1 AND payload IS NULL AND delivered_at IS NULL)",
            [orig.id.to_string()],
            |r| r.get(0),
        )?;
        if unprepared {
            return Err(Error::InvalidInput(format!(
                "{} is waiting to be encrypted for the hub (this desk is not enrolled yet): enrol the desk, then add to it",
                orig.reference.as_deref().unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Seals a follow-up draft as the next revision of `orig_id`: the same
    /// reference, queued for the hub; the draft's own row goes.
    pub(super) fn seal_follow_up(
        &mut self,
        s: &Session,
        draft_id: Uuid,
        orig_id: Uuid,
    ) -> Result<Revision> {
        let draft = self.row(draft_id)?;
        let orig = self.row(orig_id)?;
        let reference = orig
            .reference
            .as_deref()
            .ok_or_else(|| Error::UnknownReport(orig_id.to_string()))
            .and_then(Reference::parse)?;
        self.require_sendable(&orig)?;
        let (draft_meta, report) = self.open_body(s, &draft)?;
        let mut report = report.unwrap_or_default();
        if report
            .what_changed
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
        {
            return Err(Error::Invalid(ValidationErrors(vec![
                what_changed_missing(),
            ])));
        }
        // A follow-up of a whole report the user may read is a whole
        // report, checked as such; one made after the purge, by someone who
        // may not read the report, or after such a revision, holds only
        // what is new.
        let held = self.holds_whole(s, &orig)?;
        if held {
            check_complete(&report, self.today()).map_err(Error::Invalid)?;
        } else {
            check_draft(&report).map_err(Error::Invalid)?;
        }
        if report.consent.consent_recorded_at.is_none() && report.consent.is_answered() {
            report.consent.consent_recorded_at = Some(self.now());
        }
        // The counts keep the report as first taken when the new revision
        // holds only what is new; its consent is the latest given.
        let facts = if held {
            ReportFacts::of(&report)
        } else {
            let mut facts = self.facts_of(s, &orig)?;
            if report.consent.is_answered() {
                let c = &report.consent;
                facts.pass_to_police = c.pass_to_police;
                facts.police_may_contact = c.police_may_contact;
                facts.refer_to_support = c.refer_to_support;
                facts.consent_recorded_at = c.consent_recorded_at;
            }
            facts
        };
        let revision = orig.revision + 1;
        let sealed_at = self.now_stored();
        // The hub hears who took this revision, and when it was started.
        let taken = ReportMeta {
            ambassador: draft_meta.ambassador,
            taken_at: draft_meta.taken_at,
            ..self.meta_of(&orig)?
        };
        let payload = self.payload_at_sealing(
            &orig,
            revision,
            reference.as_str(),
            sealed_at,
            &taken,
            &report,
        )?;
        let meta = self.meta_of(&orig)?;
        let sealed_text = time::to_text(sealed_at);
        let detail = format!("{reference} revision {revision}");
        self.write_body_with_facts(
            s,
            &orig,
            &meta,
            &report,
            &facts,
            BodyKind::Sealed,
            revision,
            |tx, _| {
                tx.execute(
                    "UPDATE reports SET state = 'sealed', sealed_at = ?1 WHERE id = ?2",
                    params![sealed_text, orig_id.to_string()],
                )?;
                tx.execute(
                    "INSERT INTO outbox (report_id, revision, payload, queued_at) VALUES (?1, ?2, ?3, ?4)",
                    params![orig_id.to_string(), revision, payload, sealed_text],
                )?;
                let gone = tx.execute(
                    "DELETE FROM reports WHERE id = ?1 AND state = 'draft' AND follows = ?2",
                    params![draft_id.to_string(), orig_id.to_string()],
                )?;
                if gone != 1 {
                    return Err(Error::Conflict {
                        id: draft_id.to_string(),
                    });
                }
                audit::append(
                    tx,
                    Some(&s.user.name),
                    AuditAction::Submitted,
                    Some(&orig_id.to_string()),
                    Some(&detail),
                )
            },
        )?;
        self.scrub()?;
        tracing::info!(report = %orig_id, revision, "follow-up sealed and queued");
        Ok(Revision {
            reference,
            revision,
        })
    }
}

fn what_changed_missing() -> FieldError {
    FieldError {
        field: "what_changed".into(),
        rule: "what_changed_missing",
        message: "say what this follow-up adds or changes".into(),
    }
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}

#[cfg(test)]
mod tests;
