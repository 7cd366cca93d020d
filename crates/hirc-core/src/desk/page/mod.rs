//! A report found by its reference: the page an ambassador opens when a
//! person comes back with the code from their slip. It says where the
//! report stands (sealed, delivered with the hub's signed receipt, its
//! personal data purged) and what the person consented to, and it exists
//! for as long as the desk knows the reference, so a purged report is
//! still found and said to be purged. The report's content is shown only
//! to whoever may read it (its ambassador or a coordinator), elsewhere.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::columns::{Columns, TextId};
use crate::error::{Error, Result};
use crate::model::{PassToPolice, ReportState};
use crate::outbox::DeliveryReceipt;
use crate::reference::Reference;
use crate::time;

use super::Desk;
use super::session::Session;

/// What the desk can say about a submitted report.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct ReportPage {
    /// The report's id.
    pub id: Uuid,
    /// Its reference, as printed.
    pub reference: String,
    /// Where it stands.
    pub state: ReportState,
    /// Its latest sealed revision.
    pub revision: u32,
    /// When it was taken.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub taken_at: DateTime<Utc>,
    /// When it was submitted.
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub sealed_at: Option<DateTime<Utc>>,
    /// When the hub's receipt for it was recorded.
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The hub's receipt for the latest revision, once delivered.
    pub receipt: Option<DeliveryReceipt>,
    /// Whether that receipt's signature was checked against the pinned
    /// receipt key (only a checked delivery is ever purged).
    pub receipt_checked: bool,
    /// Whether the hub refused it for good (a coordinator is told why).
    pub refused: bool,
    /// What the person consented to.
    pub consent: ConsentGiven,
    /// Whether its personal data have been purged after the retention
    /// period (the reference, dates, state and consent stay).
    pub purged: bool,
    /// Whether this user may read its content (its ambassador or a
    /// coordinator).
    pub readable: bool,
    /// What the partnership has said about it, oldest first.
    pub statuses: Vec<crate::word_back::PartnershipStatus>,
}

/// The person's consent, as recorded.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsentGiven {
    /// Whether, and how, the report may go to the police.
    pub pass_to_police: Option<PassToPolice>,
    /// Whether the police may contact the person.
    pub police_may_contact: Option<bool>,
    /// Whether they asked to be referred to support.
    pub refer_to_support: Option<bool>,
    /// When the answers were given.
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub recorded_at: Option<DateTime<Utc>>,
}

impl Desk {
    /// Finds a submitted report by the reference a person quotes (any case,
    /// spaces or dashes anywhere, O/I/L misread as 0/1/1; a mistyped
    /// character is caught by the check character) and returns its page.
    /// Every user may find any submitted report (a person may come back to
    /// any ambassador); every opening is audited.
    pub fn find_report(&mut self, s: &Session, quoted: &str) -> Result<ReportPage> {
        self.check_session(s)?;
        let (id, reference) = self.quoted_report(quoted)?;
        let page = self.report_page(s, id)?;
        self.write(|tx| {
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::ReportOpened,
                Some(&id.to_string()),
                Some(reference.as_str()),
            )
        })?;
        Ok(page)
    }

    /// The id of the submitted report a person quotes, and the reference
    /// as read (an erased report's reference says so).
    pub(crate) fn quoted_report(&self, quoted: &str) -> Result<(Uuid, Reference)> {
        let reference = Reference::parse(quoted)?;
        let id: Option<TextId> = self
            .conn
            .prepare_cached("SELECT id FROM reports WHERE reference = ?1")?
            .query_row([reference.as_str()], |r| r.get(0))
            .optional()?;
        match id {
            Some(TextId(id)) => Ok((id, reference)),
            None => Err(self.no_report(&reference)?),
        }
    }

    /// A report's clear row: any submitted report's, and a draft's to the
    /// ambassador taking it (or a coordinator).
    pub fn row_of(&self, s: &Session, id: Uuid) -> Result<super::ReportRow> {
        self.check_session(s)?;
        let row = self.row(id)?;
        if row.reference.is_none() {
            self.check_may_touch(s, &row)?;
        }
        Ok(row)
    }

    /// A submitted report's page, by id (not audited: the caller says why
    /// it was read).
    pub(crate) fn report_page(&self, s: &Session, id: Uuid) -> Result<ReportPage> {
        let row = self.row(id)?;
        let Some(reference) = row.reference.clone() else {
            // A draft has no reference; nothing outside the desk names it.
            return Err(Error::UnknownReport(id.to_string()));
        };
        let facts = self.facts_of(s, &row)?;
        let upload = self.upload_state(id)?;
        let delivered_at = self.conn.query_row(
            "SELECT delivered_at FROM reports WHERE id = ?1",
            [id.to_string()],
            |r| r.time_opt(0),
        )?;
        Ok(ReportPage {
            id,
            reference,
            state: row.state,
            revision: row.revision,
            taken_at: row.created_at,
            sealed_at: row.sealed_at,
            delivered_at,
            receipt_checked: upload.as_ref().is_some_and(|u| u.checked),
            refused: upload.as_ref().is_some_and(|u| u.refused),
            receipt: upload.and_then(|u| u.receipt),
            consent: ConsentGiven {
                pass_to_police: facts.pass_to_police,
                police_may_contact: facts.police_may_contact,
                refer_to_support: facts.refer_to_support,
                recorded_at: facts.consent_recorded_at,
            },
            purged: row.state == ReportState::Purged,
            readable: s.is_coordinator() || row.owner_id == s.user.id,
            statuses: self.statuses_of(s, id)?,
        })
    }
}

#[cfg(test)]
mod tests;
