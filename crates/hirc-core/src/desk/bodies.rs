//! Report bodies and their facts: sealed to the desk key, bound to their
//! row, opened (or set aside when they will not open).

use rusqlite::params;

use crate::envelope::{self, BodyKind, BodyPlace, SealedBody};
use crate::error::{Error, Result};
use crate::model::{Report, ReportFacts, ReportMeta, ReportState};

use super::Desk;
use super::rows::{ReportRow, row_from};
use super::session::Session;

impl Desk {
    /// The reports `s` may see, newest first, each with its owner's name and
    /// its facts opened once (listings and summaries both start here).
    /// Facts that will not open are `None`, and their report is set aside:
    /// one damaged report never stops a listing or a summary.
    pub(crate) fn reports_with_facts(
        &self,
        s: &Session,
    ) -> Result<Vec<(ReportRow, String, Option<ReportFacts>)>> {
        self.check_session(s)?;
        let mut out = Vec::new();
        let mut damaged = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT r.id, r.state, r.reference, r.revision, r.save_seq, r.owner_id, r.created_at,
                        r.updated_at, r.sealed_at, r.body_size, r.facts, u.name
                 FROM reports r JOIN users u ON u.id = r.owner_id
                 WHERE ?1 OR r.owner_id = ?2 OR r.state <> 'draft'
                 ORDER BY r.created_at DESC, r.id DESC",
            )?;
            let rows = stmt.query_map(params![s.is_coordinator(), s.user.id.to_string()], |r| {
                Ok((
                    row_from(r)?,
                    r.get::<_, Vec<u8>>(10)?,
                    r.get::<_, String>(11)?,
                ))
            })?;
            for item in rows {
                let (row, facts, owner) = item?;
                let facts = match open_facts(s, &row, &facts) {
                    Ok(facts) => Some(facts),
                    Err(e) if e.is_damage() => {
                        damaged.push((row.id, e));
                        None
                    }
                    Err(e) => return Err(e),
                };
                out.push((row, owner, facts));
            }
        }
        for (id, e) in &damaged {
            self.set_aside(*id, e);
        }
        Ok(out)
    }

    pub(crate) fn open_body(
        &self,
        s: &Session,
        row: &ReportRow,
    ) -> Result<(ReportMeta, Option<Report>)> {
        let body: Option<Vec<u8>> = self.conn.query_row(
            "SELECT body FROM reports WHERE id = ?1",
            [row.id.to_string()],
            |r| r.get(0),
        )?;
        let Some(body) = body else {
            return Err(Error::WrongState {
                id: row.id.to_string(),
                state: "purged",
                action: "opened",
            });
        };
        let opened =
            envelope::open(&s.keys, place_of(row), &SealedBody(body)).and_then(|(meta, report)| {
                if meta != self.meta_of(row)? {
                    return Err(Error::Integrity("a report body does not match its row"));
                }
                Ok((meta, Some(report)))
            });
        self.aside_on_damage(row.id, opened)
    }

    /// The body's metadata, rebuilt from the clear row (checked against the
    /// copy inside the body whenever the body is opened).
    pub(crate) fn meta_of(&self, row: &ReportRow) -> Result<ReportMeta> {
        Ok(ReportMeta {
            id: row.id,
            centre_code: self.info.centre_code.clone(),
            ambassador: row.owner_id,
            taken_at: row.created_at,
        })
    }

    pub(crate) fn facts_of(&self, s: &Session, row: &ReportRow) -> Result<ReportFacts> {
        let blob: Vec<u8> = self
            .conn
            .prepare_cached("SELECT facts FROM reports WHERE id = ?1")?
            .query_row([row.id.to_string()], |r| r.get(0))?;
        self.aside_on_damage(row.id, open_facts(s, row, &blob))
    }

    /// Writes a new body (and facts) for `row`, bumping its save number, and
    /// runs `extra` in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_body(
        &mut self,
        s: &Session,
        row: &ReportRow,
        meta: &ReportMeta,
        report: &Report,
        kind: BodyKind,
        revision: u32,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<()>,
    ) -> Result<()> {
        let facts = ReportFacts::of(report);
        self.write_body_with_facts(s, row, meta, report, &facts, kind, revision, extra)
    }

    /// [`Desk::write_body`] with facts of the caller's choosing (a
    /// follow-up holding only what is new keeps the report's first facts).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_body_with_facts(
        &mut self,
        s: &Session,
        row: &ReportRow,
        meta: &ReportMeta,
        report: &Report,
        facts: &ReportFacts,
        kind: BodyKind,
        revision: u32,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<()>,
    ) -> Result<()> {
        let place = BodyPlace {
            report_id: row.id,
            save_seq: row.save_seq + 1,
            revision,
            kind,
        };
        let body = envelope::seal(&s.keys, place, meta, report)?;
        let facts = seal_facts_of(s, place, facts)?;
        let now = self.now_text();
        self.write(|tx| {
            // The save number in the WHERE clause makes a concurrent save
            // (another window, another process) fail loudly instead of one
            // silently overwriting the other.
            let n = tx
                .prepare_cached(
                    "UPDATE reports SET body = ?1, body_size = ?2, facts = ?3, save_seq = ?4,
                        revision = ?5, updated_at = ?6
                 WHERE id = ?7 AND save_seq = ?8",
                )?
                .execute(params![
                    body.0,
                    body.0.len() as i64,
                    facts,
                    place.save_seq,
                    revision,
                    now,
                    row.id.to_string(),
                    row.save_seq
                ])?;
            if n != 1 {
                return Err(Error::Conflict {
                    id: row.id.to_string(),
                });
            }
            extra(tx, &now)
        })?;
        tracing::debug!(report = %row.id, save = place.save_seq, bytes = body.0.len(), "report body written");
        Ok(())
    }
}

pub(super) fn place_of(row: &ReportRow) -> BodyPlace {
    BodyPlace {
        report_id: row.id,
        save_seq: row.save_seq,
        revision: row.revision,
        kind: if row.state == ReportState::Draft {
            BodyKind::Draft
        } else {
            BodyKind::Sealed
        },
    }
}

pub(super) fn facts_context(place: BodyPlace) -> Vec<u8> {
    format!("hirc-facts-v1:{}:{}", place.report_id, place.save_seq).into_bytes()
}

pub(super) fn seal_facts(s: &Session, place: BodyPlace, report: &Report) -> Result<Vec<u8>> {
    seal_facts_of(s, place, &ReportFacts::of(report))
}

fn seal_facts_of(s: &Session, place: BodyPlace, facts: &ReportFacts) -> Result<Vec<u8>> {
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(facts)
            .map_err(|e| Error::Crypto(format!("could not serialise report facts: {e}")))?,
    );
    s.keys.facts().seal(&facts_context(place), &json)
}

pub(super) fn open_facts(s: &Session, row: &ReportRow, blob: &[u8]) -> Result<ReportFacts> {
    let json = s.keys.facts().open(&facts_context(place_of(row)), blob)?;
    serde_json::from_slice(&json).map_err(|_| Error::Integrity("report facts are not facts"))
}
