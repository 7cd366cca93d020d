//! Erasure at the person's request (UK GDPR's right to erasure). A
//! coordinator erases a report by its reference: the desk deletes
//! everything it holds of it (every revision's body, its facts, its
//! outbox entries, the partnership's statuses on it, a follow-up being
//! drafted) and keeps only that it was erased, with the reference and the
//! dates (see docs/threat-model.md for what remains and why).
//!
//! If the desk is enrolled, the erasure goes on to the hub: a notice signed
//! now with the desk's device key (it opens only with a coordinator signed
//! in), which the sync worker sends later with nobody signed in. The hub
//! deletes every revision it holds, keeps a tombstone and answers with a
//! receipt signed by its receipt key, which the desk checks against the key
//! it pinned before it counts the erasure as confirmed.

use chrono::{DateTime, Utc};
use hirc_proto::{ERASURE_FORMAT, ErasureNotice, ErasureReceipt};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};
use crate::time;

/// A report erased at this desk.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The report's reference.
    pub reference: String,
    /// When it was erased here.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub erased_at: DateTime<Utc>,
    /// Whether an erasure notice goes to the hub (the desk is enrolled);
    /// if not, nothing of the report ever left the desk.
    pub for_the_hub: bool,
    /// When the hub confirmed it erased its copy (a checked receipt).
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Why the hub has not confirmed it yet, if it said.
    pub last_error: Option<String>,
    /// The hub refused the notice: it waits for the desk to be enrolled
    /// again (`last_error` says why).
    pub refused: bool,
}

/// What [`Desk::resend_erasures`] did.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResentErasures {
    /// The erasures that go to the hub again with the next sync.
    pub again: Vec<Erasure>,
    /// References erased when the desk had another device key (it was
    /// enrolled again since): the hub knows those erasures under the old
    /// key, so sending them again would erase nothing. Left as they were.
    pub under_another_key: Vec<String>,
}

type ErasureRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

impl Desk {
    /// Erases a report by the reference the person brings (coordinators;
    /// audited). Everything the desk holds of it is deleted at once; the
    /// hub's copy goes with the next sync.
    pub fn erase_report(&mut self, s: &Session, quoted: &str) -> Result<Erasure> {
        self.check_session(s)?;
        crate::desk::require_coordinator(s, "erasing a report")?;
        // Found without opening anything: a report that will not open (set
        // aside) can be erased all the same.
        let reference = crate::reference::Reference::parse(quoted)?;
        let found: Option<(crate::columns::TextId, i64)> = self
            .db()
            .query_row(
                "SELECT r.id, (SELECT count(*) FROM outbox o
                               WHERE o.report_id = r.id AND o.receipt_checked = 1)
                 FROM reports r WHERE r.reference = ?1",
                [reference.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((crate::columns::TextId(id), delivered)) = found else {
            return Err(self.no_report(&reference)?);
        };
        let reference_text = reference.to_string();
        let erased_at = self.now_stored();
        // Signed now: the device key opens only with a coordinator signed in.
        let notice = match self.hub()? {
            Some(_) => {
                let key = self.device_key(s)?;
                let mut notice = ErasureNotice {
                    format: ERASURE_FORMAT.into(),
                    report_id: id,
                    erased_at,
                    signature: String::new(),
                };
                key.sign_erasure(&mut notice);
                Some(
                    serde_json::to_string(&notice)
                        .map_err(|_| Error::Integrity("an erasure does not serialise"))?,
                )
            }
            None => None,
        };
        let user = s.user().name.clone();
        let for_the_hub = notice.is_some();
        self.write(|tx| {
            tx.execute("DELETE FROM reports WHERE follows = ?1", [id.to_string()])?;
            tx.execute(
                "DELETE FROM statuses WHERE report_id = ?1",
                [id.to_string()],
            )?;
            tx.execute("DELETE FROM outbox WHERE report_id = ?1", [id.to_string()])?;
            tx.execute("DELETE FROM reports WHERE id = ?1", [id.to_string()])?;
            tx.execute(
                "INSERT INTO erasures (report_id, reference, erased_at, notice, delivered)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.to_string(),
                    reference_text,
                    time::to_text(erased_at),
                    notice,
                    delivered
                ],
            )?;
            let detail = if for_the_hub {
                format!(
                    "{} (the hub's copy goes with the next sync)",
                    reference_text
                )
            } else {
                format!(
                    "{} (the desk was never enrolled: nothing left it)",
                    reference_text
                )
            };
            audit::append(
                tx,
                Some(&user),
                AuditAction::Erased,
                Some(&id.to_string()),
                Some(&detail),
            )
        })?;
        // No page of what was deleted stays in the file or its WAL.
        self.scrub()?;
        tracing::info!(report = %id, "report erased at the person's request");
        Ok(Erasure {
            reference: reference_text,
            erased_at,
            for_the_hub,
            confirmed_at: None,
            last_error: None,
            refused: false,
        })
    }

    /// What to answer for a reference no report here has: that it was
    /// erased at the person's request, if it was, else that there is none.
    pub(crate) fn no_report(&self, reference: &crate::reference::Reference) -> Result<Error> {
        Ok(match self.erasure_by_reference(reference.as_str())? {
            Some(gone) => gone.as_error(),
            None => Error::UnknownReport(reference.to_string()),
        })
    }

    /// The erasure of the report with this reference, if it was erased.
    pub(crate) fn erasure_by_reference(&self, reference: &str) -> Result<Option<Erasure>> {
        let row: Option<ErasureRow> = self
            .db()
            .query_row(
                &format!("SELECT {ERASURE_COLUMNS} FROM erasures WHERE reference = ?1"),
                [reference],
                erasure_row,
            )
            .optional()?;
        row.map(erasure).transpose()
    }

    /// Every erasure at this desk, newest first (coordinators).
    pub fn erasures(&self, s: &Session) -> Result<Vec<Erasure>> {
        self.check_session(s)?;
        crate::desk::require_coordinator(s, "listing erased reports")?;
        let mut stmt = self.db().prepare(&format!(
            "SELECT {ERASURE_COLUMNS} FROM erasures ORDER BY erased_at DESC"
        ))?;
        let rows = stmt.query_map([], erasure_row)?;
        rows.map(|r| erasure(r?)).collect()
    }

    /// The erasure notices the hub has not confirmed, for the sync worker
    /// (nobody signed in: they were signed when the report was erased).
    /// One the hub refused waits for the desk to be enrolled again.
    pub fn pending_erasures(&self) -> Result<Vec<ErasureNotice>> {
        let mut stmt = self.db().prepare(
            "SELECT notice FROM erasures
             WHERE notice IS NOT NULL AND receipt IS NULL AND refused = 0
             ORDER BY erased_at",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for notice in rows {
            out.push(
                serde_json::from_str(&notice?)
                    .map_err(|_| Error::Integrity("a stored erasure notice does not read"))?,
            );
        }
        Ok(out)
    }

    /// Records the hub's receipt for an erasure once its signature checks
    /// under the pinned receipt key and it is for an erasure this desk
    /// sent; returns whether it was recorded. Anything else is not taken
    /// for a confirmation (the notice is sent again next time).
    pub fn record_erasure_receipt(&mut self, receipt: &ErasureReceipt) -> Result<bool> {
        let Some(key) = self.hub()?.and_then(|link| link.receipt_key) else {
            return Ok(false);
        };
        if hirc_proto::sign::verify_erasure_receipt(&key, receipt).is_err() {
            tracing::warn!(report = %receipt.report_id, "an erasure receipt was not signed by the hub's receipt key; not recorded");
            return Ok(false);
        }
        let sent: Option<(Option<String>, i64)> = self
            .db()
            .query_row(
                "SELECT notice, delivered FROM erasures WHERE report_id = ?1 AND receipt IS NULL",
                [receipt.report_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((Some(sent), delivered)) = sent else {
            return Ok(false);
        };
        // The hub erased fewer revisions than this desk had its receipts
        // for: the others are held where this notice did not reach (an
        // earlier hub or enrolment). Recorded, and said, not hidden.
        let short = (i64::from(receipt.revisions_deleted) < delivered).then(|| {
            format!(
                "the hub erased {} of the {delivered} revision(s) it had confirmed receiving: the others may be held under an earlier enrolment or hub, which the partnership must erase (docs/hub.md)",
                receipt.revisions_deleted
            )
        });
        // The receipt may carry another moment than this notice: a desk
        // restored from a copy made before an erasure, erasing again, gets
        // the hub's first tombstone back. Signed by the hub for this report,
        // it says the same: the hub holds nothing of it.
        let _: ErasureNotice = serde_json::from_str(&sent)
            .map_err(|_| Error::Integrity("a stored erasure notice does not read"))?;
        let stored = serde_json::to_string(receipt)
            .map_err(|_| Error::Integrity("an erasure does not serialise"))?;
        let now = self.now_text();
        let id = receipt.report_id.to_string();
        let detail = format!(
            "the hub deleted {} revision(s) and keeps a tombstone",
            receipt.revisions_deleted
        );
        self.write(|tx| {
            tx.execute(
                "UPDATE erasures SET receipt = ?1, confirmed_at = ?2, last_error = ?3 WHERE report_id = ?4",
                params![stored, now, short, id],
            )?;
            audit::append(tx, None, AuditAction::ErasureConfirmed, Some(&id), Some(&detail))
        })?;
        Ok(true)
    }

    /// Has the hub erase its copy again (coordinators; audited): the
    /// erasure of the report with `reference`, or of every report erased
    /// here that went to the hub. For a hub restored from a backup taken
    /// before the erasure, which holds the report again without its
    /// tombstone. The notice keeps its date and is signed again with the
    /// device key as it is now; the confirmation is set aside until the
    /// hub answers (a hub that kept its tombstone answers with the same
    /// receipt; the receipt it had given is kept in the audit entry). An
    /// erasure made under another device key is not sent: the hub would
    /// take it for another desk's.
    pub fn resend_erasures(
        &mut self,
        s: &Session,
        reference: Option<&str>,
    ) -> Result<ResentErasures> {
        self.check_session(s)?;
        crate::desk::require_coordinator(s, "sending an erasure again")?;
        if self.hub()?.is_none() {
            return Err(Error::InvalidInput(
                "this desk is not enrolled with a hub, so no erasure went to one; nothing to send again".into(),
            ));
        }
        let chosen: Vec<Erasure> = match reference {
            Some(quoted) => {
                let reference = crate::reference::Reference::parse(quoted)?;
                let Some(gone) = self.erasure_by_reference(reference.as_str())? else {
                    return Err(match self.find_reference_exists(&reference)? {
                        true => Error::InvalidInput(format!(
                            "report {reference} has not been erased, so there is no erasure to send again (to erase it: hirc report erase {reference})"
                        )),
                        false => Error::UnknownReport(reference.to_string()),
                    });
                };
                if !gone.for_the_hub {
                    return Err(Error::InvalidInput(format!(
                        "report {reference} was erased before this desk was enrolled, so nothing of it went to a hub; nothing to send again"
                    )));
                }
                vec![gone]
            }
            None => self
                .erasures(s)?
                .into_iter()
                .filter(|e| e.for_the_hub)
                .collect(),
        };
        let device = self.device_key(s)?.public();
        let mut again = Vec::new();
        let mut under_another_key = Vec::new();
        for gone in chosen {
            let (id, notice, receipt): (String, Option<String>, Option<String>) =
                self.db().query_row(
                    "SELECT report_id, notice, receipt FROM erasures WHERE reference = ?1",
                    [&gone.reference],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
            let notice: ErasureNotice = serde_json::from_str(notice.as_deref().unwrap_or(""))
                .map_err(|_| Error::Integrity("a stored erasure notice does not read"))?;
            if hirc_proto::sign::verify_erasure(&device, &notice).is_err() {
                if reference.is_some() {
                    return Err(Error::InvalidInput(format!(
                        "report {} was erased when this desk had another device key (it has been enrolled again since): the hub knows that erasure under the old key, so sending it again would erase nothing; ask the partnership to check its export for it (docs/hub.md)",
                        gone.reference
                    )));
                }
                under_another_key.push(gone.reference);
                continue;
            }
            let was = match (gone.confirmed_at, receipt) {
                (Some(at), Some(receipt)) => format!(
                    "{} (the hub had confirmed it on {}; its receipt: {receipt})",
                    gone.reference,
                    time::to_text(at)
                ),
                _ => format!("{} (the hub had not confirmed it yet)", gone.reference),
            };
            let user = s.user().name.clone();
            self.write(|tx| {
                tx.execute(
                    "UPDATE erasures SET receipt = NULL, confirmed_at = NULL, last_error = NULL,
                            refused = 0, attempts = 0
                     WHERE report_id = ?1",
                    [&id],
                )?;
                audit::append(
                    tx,
                    Some(&user),
                    AuditAction::ErasureResent,
                    Some(&id),
                    Some(&was),
                )
            })?;
            again.push(Erasure {
                confirmed_at: None,
                last_error: None,
                refused: false,
                ..gone
            });
        }
        // Signed again with the device key as it is now.
        self.sign_pending_erasures(s)?;
        Ok(ResentErasures {
            again,
            under_another_key,
        })
    }

    /// Whether a report (not erased) has this reference.
    fn find_reference_exists(&self, reference: &crate::reference::Reference) -> Result<bool> {
        Ok(self
            .db()
            .query_row(
                "SELECT 1 FROM reports WHERE reference = ?1 LIMIT 1",
                [reference.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Signs the erasures the hub has not confirmed again, with the device
    /// key as it is now (an enrolment may have brought another: a notice
    /// signed with the old one would be refused for good).
    pub(crate) fn sign_pending_erasures(&mut self, s: &Session) -> Result<()> {
        let pending: Vec<(String, String)> = {
            let mut stmt = self.db().prepare(
                "SELECT report_id, notice FROM erasures WHERE notice IS NOT NULL AND receipt IS NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        if pending.is_empty() {
            return Ok(());
        }
        let key = self.device_key(s)?;
        for (id, notice) in pending {
            let mut notice: ErasureNotice = serde_json::from_str(&notice)
                .map_err(|_| Error::Integrity("a stored erasure notice does not read"))?;
            key.sign_erasure(&mut notice);
            let text = serde_json::to_string(&notice)
                .map_err(|_| Error::Integrity("an erasure does not serialise"))?;
            self.write(|tx| {
                tx.execute(
                    "UPDATE erasures SET notice = ?1 WHERE report_id = ?2",
                    params![text, id],
                )?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Records why an erasure could not be sent; `refused`: the hub refused
    /// it, so it waits for the desk to be enrolled again.
    pub fn record_erasure_failure(
        &mut self,
        report_id: Uuid,
        message: &str,
        refused: bool,
    ) -> Result<()> {
        let message = crate::outbox::tidy_reason(message);
        self.write(|tx| {
            tx.execute(
                "UPDATE erasures SET attempts = attempts + 1, last_error = ?1, refused = ?2
                 WHERE report_id = ?3",
                params![message, refused, report_id.to_string()],
            )?;
            Ok(())
        })
    }
}

/// The columns an [`ErasureRow`] reads, in order.
const ERASURE_COLUMNS: &str = "reference, erased_at, notice, confirmed_at, last_error, refused";

fn erasure_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ErasureRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn erasure(row: ErasureRow) -> Result<Erasure> {
    let (reference, erased_at, notice, confirmed_at, last_error, refused) = row;
    let at = |t: &str| time::from_text(t).ok_or(Error::Integrity("a stored time does not read"));
    Ok(Erasure {
        reference,
        erased_at: at(&erased_at)?,
        for_the_hub: notice.is_some(),
        confirmed_at: confirmed_at.as_deref().map(at).transpose()?,
        last_error,
        refused,
    })
}

impl Erasure {
    /// The error a search for its reference answers.
    pub(crate) fn as_error(&self) -> Error {
        let day = |t: DateTime<Utc>| time::desk_date(t).format("%-d %B %Y").to_string();
        let hub = match (self.for_the_hub, self.confirmed_at) {
            (false, _) => String::new(),
            (true, Some(at)) => match &self.last_error {
                None => format!(", and the hub confirmed it erased its copy on {}", day(at)),
                Some(why) => format!(", and the hub answered on {}, but {why}", day(at)),
            },
            (true, None) => match &self.last_error {
                Some(why) => {
                    format!(", but the hub has not confirmed it erased its copy yet ({why})")
                }
                None => ", and the hub's copy goes with the next sync".to_string(),
            },
        };
        Error::Erased {
            reference: self.reference.clone(),
            erased_on: day(self.erased_at),
            hub,
        }
    }
}

#[cfg(test)]
mod tests;
