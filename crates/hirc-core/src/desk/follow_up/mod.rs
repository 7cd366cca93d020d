//! Adding to a submitted report: a follow-up is a draft of its next
//! revision, pre-filled with what the desk still holds of it (when the user
//! may read it), with a note of what changed. Sealed, it becomes revision
//! n+1 of the same report, with the same reference, delivered and receipted
//! like the first.
//!
//! A follow-up made after the retention purge, or by an ambassador who may
//! not read the report, carries only what is new: the partnership joins the
//! revisions. The desk's own copy is never replaced by such a revision: it
//! keeps the report it held, with the newest consent (checked against that
//! report), so nobody loses the report they took.
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
    check_complete, check_draft, check_related_reference, tidy_related_reference,
};
use crate::reference::Reference;
use crate::time;

use super::Desk;
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
        if let Some((open, owner)) = self.follow_up_draft(page.id)? {
            if from.is_some() {
                return Err(Error::InvalidInput(format!(
                    "a follow-up of {} is already being drafted ({open}): change it with `hirc report edit {open}`",
                    page.reference
                )));
            }
            if owner != s.user.id && !s.is_coordinator() {
                return Err(Error::InvalidInput(format!(
                    "someone else at this desk is already adding to {}: ask them to finish it, or a coordinator to open or delete their draft",
                    page.reference
                )));
            }
            return Ok(open);
        }
        let orig = self.row(page.id)?;
        self.require_sendable(&orig)?;
        let report = match from {
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
        self.insert_draft(s, &report, Some((orig.id, &previous)))
    }

    /// Changes what the person agreed to: a revision of the consent alone,
    /// sealed and queued at once (coordinators, as for every one of the
    /// person's rights; audited). The other answers stay as they were.
    pub fn change_consent(
        &mut self,
        s: &Session,
        quoted: &str,
        change: ConsentChange,
    ) -> Result<Revision> {
        self.check_session(s)?;
        crate::desk::require_coordinator(s, "changing what the person agreed to")?;
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
        // The report as held, with the new consent (the engine opens it;
        // the user sees nothing of it), or after the purge the consent alone.
        let mut report = if !page.purged {
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
        let previous = self.facts_of(s, &orig)?;
        let id = self.insert_draft(s, &report, Some((orig.id, &previous)))?;
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
    /// what changed; the whole report from a user who may read it whole;
    /// the consent checked against the report the desk holds).
    pub fn submit_problems(
        &self,
        s: &Session,
        id: Uuid,
        report: &Report,
    ) -> Result<Vec<FieldError>> {
        self.check_session(s)?;
        match self.follows(id)? {
            None => Ok(check_complete(report, self.today())
                .err()
                .map(|v| v.0)
                .unwrap_or_default()),
            Some(orig) => {
                let mut report = report.clone();
                let orig = self.row(orig)?;
                self.carry_consent(s, &orig, &mut report)?;
                Ok(self.judge(s, &orig, &report)?.problems)
            }
        }
    }

    /// What sealing `report` as the next revision of `orig` would keep at
    /// the desk, and what stops it.
    fn judge(&self, s: &Session, orig: &ReportRow, report: &Report) -> Result<Judged> {
        let today = self.today();
        let previous = if orig.state == ReportState::Purged {
            None
        } else {
            self.open_body(s, orig)?.1
        };
        let previous_whole = previous
            .as_ref()
            .is_some_and(|p| check_complete(p, today).is_ok());
        let may_read = s.is_coordinator() || orig.owner_id == s.user.id;
        let mut problems = Vec::new();
        let kept = if may_read && previous_whole {
            // Pre-filled: the new revision is the whole report.
            problems.extend(
                check_complete(report, today)
                    .err()
                    .map(|v| v.0)
                    .unwrap_or_default(),
            );
            Kept::Whole(report.clone())
        } else {
            problems.extend(check_draft(report).err().map(|v| v.0).unwrap_or_default());
            match previous {
                // What the desk held, with the newest consent, checked as the
                // whole report it is (a consent that contradicts it is
                // refused, even to someone who may not read it).
                // Someone who may read it, adding to a partial copy: what
                // they see pre-filled, with what they added, is the copy.
                Some(_) if may_read => Kept::Partial(report.clone()),
                Some(mut held) => {
                    held.consent = report.consent.clone();
                    if previous_whole {
                        // Said without naming a field: someone who may not
                        // read the report learns nothing of it from this.
                        if check_complete(&held, today).is_err() {
                            problems.push(FieldError {
                                field: "consent.pass_to_police".into(),
                                rule: "consent_contradicts_report",
                                message: "this consent does not fit the report as it was taken; ask the ambassador who took it, or a coordinator".into(),
                            });
                        }
                        Kept::Whole(held)
                    } else {
                        Kept::Partial(held)
                    }
                }
                None => Kept::Partial(report.clone()),
            }
        };
        // What the person agreed to is changed by a coordinator, in a
        // follow-up as on the report's page; the rest of it is kept.
        if !s.is_coordinator() {
            let before = self.facts_of(s, orig)?;
            let c = &report.consent;
            if (c.pass_to_police, c.police_may_contact, c.refer_to_support)
                != (
                    before.pass_to_police,
                    before.police_may_contact,
                    before.refer_to_support,
                )
            {
                // Whether it would fit the report is moot, and unsaid.
                problems.retain(|p| p.rule != "consent_contradicts_report");
                problems.push(FieldError {
                    field: "consent.pass_to_police".into(),
                    rule: "consent_needs_coordinator",
                    message: "changing what the person agreed to needs a coordinator (on the report's page, or hirc report consent): put these answers back as they were, and the rest of this follow-up can be sent".into(),
                });
            }
        }
        // Checked whatever the desk holds: a reference that is not one
        // would join the wrong person's reports at the partnership.
        if !problems.iter().any(|p| p.field == "related_reference")
            && let Some(problem) = check_related_reference(report)
        {
            problems.push(problem);
        }
        if report
            .what_changed
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
        {
            problems.push(what_changed_missing());
        }
        Ok(Judged { kept, problems })
    }

    /// Consent the draft leaves unanswered is the consent given before.
    fn carry_consent(&self, s: &Session, orig: &ReportRow, report: &mut Report) -> Result<()> {
        let before = self.facts_of(s, orig)?;
        let c = &mut report.consent;
        // An answer given anew is consent given now, not at the first time.
        let changed = (c.pass_to_police.is_some() && c.pass_to_police != before.pass_to_police)
            || (c.police_may_contact.is_some()
                && c.police_may_contact != before.police_may_contact)
            || (c.refer_to_support.is_some() && c.refer_to_support != before.refer_to_support);
        if changed && c.consent_recorded_at == before.consent_recorded_at {
            c.consent_recorded_at = None;
        }
        // Withdrawing from the police withdraws their contact too (as a
        // change of consent does), unless the draft says otherwise.
        if c.pass_to_police == Some(PassToPolice::No) && c.police_may_contact.is_none() {
            c.police_may_contact = Some(false);
        }
        if c.pass_to_police.is_none() {
            c.pass_to_police = before.pass_to_police;
        }
        if c.police_may_contact.is_none() {
            c.police_may_contact = before.police_may_contact;
        }
        if c.refer_to_support.is_none() {
            c.refer_to_support = before.refer_to_support;
        }
        if c.consent_recorded_at.is_none() && !changed {
            c.consent_recorded_at = before.consent_recorded_at;
        }
        Ok(())
    }

    /// Each follow-up draft's id, with the reference of the report it adds
    /// to (for the report list).
    pub(crate) fn follow_up_references(&self) -> Result<std::collections::HashMap<Uuid, String>> {
        let mut stmt = self.db().prepare(
            "SELECT d.id, r.reference FROM reports d JOIN reports r ON r.id = d.follows
             WHERE d.state = 'draft' AND r.reference IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, TextId>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| {
            r.map(|(TextId(id), reference)| (id, reference))
                .map_err(Into::into)
        })
        .collect()
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

    /// The follow-up being drafted for `report`, and whose it is.
    fn follow_up_draft(&self, report: Uuid) -> Result<Option<(Uuid, Uuid)>> {
        let found: Option<(TextId, TextId)> = self
            .conn
            .query_row(
                "SELECT id, owner_id FROM reports WHERE follows = ?1 AND state = 'draft'",
                [report.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(found.map(|(TextId(id), TextId(owner))| (id, owner)))
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
        self.carry_consent(s, &orig, &mut report)?;
        tidy_related_reference(&mut report);
        if report.consent.consent_recorded_at.is_none() && report.consent.is_answered() {
            report.consent.consent_recorded_at = Some(self.now());
        }
        let Judged { kept, problems } = self.judge(s, &orig, &report)?;
        if !problems.is_empty() {
            return Err(Error::Invalid(ValidationErrors(problems)));
        }
        // The counts keep the report as first taken unless the desk now
        // holds a whole one; the consent is always the newest.
        let (kept, facts) = match kept {
            Kept::Whole(r) => {
                let facts = ReportFacts::of(&r);
                (r, facts)
            }
            Kept::Partial(r) => {
                let mut facts = self.facts_of(s, &orig)?;
                let c = &r.consent;
                facts.pass_to_police = c.pass_to_police;
                facts.police_may_contact = c.police_may_contact;
                facts.refer_to_support = c.refer_to_support;
                facts.consent_recorded_at = c.consent_recorded_at;
                (r, facts)
            }
        };
        let revision = orig.revision + 1;
        let sealed_at = self.now_stored();
        // The hub hears who took this revision, and when it was started.
        let taken = ReportMeta {
            ambassador: draft_meta.ambassador,
            taken_at: draft_meta.taken_at,
            ..self.meta_of(&orig)?
        };
        let upload = self.payload_at_sealing(
            s,
            draft_id,
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
            &kept,
            &facts,
            BodyKind::Sealed,
            revision,
            |tx, _| {
                tx.execute(
                    "UPDATE reports SET state = 'sealed', sealed_at = ?1 WHERE id = ?2",
                    params![sealed_text, orig_id.to_string()],
                )?;
                upload.queue(tx, orig_id, revision, &sealed_text)?;
                // The follow-up's evidence goes with this revision, on the
                // report itself (the draft's row goes next).
                tx.execute(
                    "UPDATE evidence SET report_id = ?1, revision = ?2 WHERE report_id = ?3",
                    params![orig_id.to_string(), revision, draft_id.to_string()],
                )?;
                // The draft as it was read: an autosave landing meanwhile
                // makes this fail rather than be lost.
                let gone = tx.execute(
                    "DELETE FROM reports WHERE id = ?1 AND state = 'draft' AND follows = ?2 AND save_seq = ?3",
                    params![draft_id.to_string(), orig_id.to_string(), draft.save_seq],
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

/// What a follow-up would leave the desk holding.
enum Kept {
    /// A whole report (the new revision, or what was held with the newest
    /// consent).
    Whole(Report),
    /// Only what is new (after the purge, or after such a revision).
    Partial(Report),
}

struct Judged {
    kept: Kept,
    problems: Vec<FieldError>,
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
