//! A report's row: what the store keeps in clear, and reading rows back.

use rusqlite::OptionalExtension;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result, classify_sqlite};
use crate::model::{ReportState, Role};

use super::Desk;

/// A report's place in the store: everything kept in clear.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
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

/// A desk user.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Stable id.
    pub id: Uuid,
    /// Display name, unique at the desk (ignoring case).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// When they were added.
    pub created_at: String,
}

impl Desk {
    pub(super) fn user_slot(&self, name: &str) -> Result<Option<(User, Vec<u8>)>> {
        let found = self
            .conn
            .query_row(
                "SELECT u.id, u.name, u.role, u.created_at, k.wrapped
                 FROM users u JOIN key_slots k ON k.user_id = u.id
                 WHERE u.removed_at IS NULL AND u.name = ?1 COLLATE NOCASE",
                [name.trim()],
                |r| Ok((user_from_row(r)?, r.get::<_, Vec<u8>>(4)?)),
            )
            .optional()
            .map_err(classify_sqlite)?;
        match found {
            Some((user, slot)) => Ok(Some((user?, slot))),
            None => Ok(None),
        }
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

pub(super) fn user_from_row(r: &rusqlite::Row<'_>) -> RowResult<User> {
    let id: String = r.get(0)?;
    let role: String = r.get(2)?;
    let name: String = r.get(1)?;
    let created_at: String = r.get(3)?;
    Ok((|| {
        Ok(User {
            id: Uuid::parse_str(&id).map_err(|_| Error::Integrity("a user id is not an id"))?,
            name,
            role: Role::from_word(&role).ok_or(Error::Integrity("a user has an unknown role"))?,
            created_at,
        })
    })())
}
