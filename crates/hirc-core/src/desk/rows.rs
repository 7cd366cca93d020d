//! A report's row: what the store keeps in clear, and reading rows back.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result, classify_sqlite};
use crate::model::{ReportFacts, ReportState};

use super::Desk;
use super::bodies::open_facts;
use super::session::Session;

/// A report's place in the store: everything kept in clear.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    /// The report's id.
    pub id: Uuid,
    /// Its state.
    pub state: ReportState,
    /// The human reference, once sealed.
    pub reference: Option<String>,
    /// The sealed revision (0 while a draft).
    pub revision: i64,
    /// Body writes so far.
    pub save_seq: i64,
    /// The user who took it.
    pub owner_id: Uuid,
    /// When it was started.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When it was sealed.
    pub sealed_at: Option<String>,
    /// Ciphertext size in bytes.
    pub body_size: i64,
}

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
                    row_from(r),
                    r.get::<_, Vec<u8>>(10)?,
                    r.get::<_, String>(11)?,
                ))
            })?;
            for item in rows {
                let (row, facts, owner) = item?;
                let row = row??;
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

    pub(crate) fn row(&self, id: Uuid) -> Result<ReportRow> {
        self.conn
            .prepare_cached(
                "SELECT id, state, reference, revision, save_seq, owner_id, created_at, updated_at,
                        sealed_at, body_size FROM reports WHERE id = ?1",
            )?
            .query_row([id.to_string()], row_from)
            .optional()
            .map_err(classify_sqlite)?
            .ok_or_else(|| Error::UnknownReport(id.to_string()))?
    }
}

pub(super) type RowResult<T> = rusqlite::Result<Result<T>>;

pub(super) fn row_from(r: &rusqlite::Row<'_>) -> RowResult<ReportRow> {
    let id: String = r.get(0)?;
    let state: String = r.get(1)?;
    let owner: String = r.get(5)?;
    let reference = r.get(2)?;
    let revision = r.get(3)?;
    let save_seq = r.get(4)?;
    let created_at = r.get(6)?;
    let updated_at = r.get(7)?;
    let sealed_at = r.get(8)?;
    let body_size = r.get(9)?;
    Ok((|| {
        Ok(ReportRow {
            id: Uuid::parse_str(&id).map_err(|_| Error::Integrity("a report id is not an id"))?,
            state: ReportState::from_word(&state)
                .ok_or(Error::Integrity("a report has an unknown state"))?,
            reference,
            revision,
            save_seq,
            owner_id: Uuid::parse_str(&owner)
                .map_err(|_| Error::Integrity("an owner id is not an id"))?,
            created_at,
            updated_at,
            sealed_at,
            body_size,
        })
    })())
}
