//! A report's row: what the store keeps in clear, and reading rows back.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::Serialize;
use uuid::Uuid;

use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::model::{ReportState, Role};
use crate::time;

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
    pub revision: u32,
    /// Body writes so far.
    pub save_seq: i64,
    /// The user who took it.
    pub owner_id: Uuid,
    /// When it was started.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub updated_at: DateTime<Utc>,
    /// When it was sealed.
    #[serde(serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub sealed_at: Option<DateTime<Utc>>,
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
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub created_at: DateTime<Utc>,
}

impl Desk {
    pub(super) fn user_slot(&self, name: &str) -> Result<Option<(User, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT u.id, u.name, u.role, u.created_at, k.wrapped
                 FROM users u JOIN key_slots k ON k.user_id = u.id
                 WHERE u.removed_at IS NULL AND u.name = ?1 COLLATE NOCASE",
                [name.trim()],
                |r| Ok((user_from(r)?, r.get::<_, Vec<u8>>(4)?)),
            )
            .optional()?)
    }

    pub(crate) fn row(&self, id: Uuid) -> Result<ReportRow> {
        self.conn
            .prepare_cached(
                "SELECT id, state, reference, revision, save_seq, owner_id, created_at, updated_at,
                        sealed_at, body_size FROM reports WHERE id = ?1",
            )?
            .query_row([id.to_string()], row_from)
            .optional()?
            .ok_or_else(|| Error::UnknownReport(id.to_string()))
    }
}

/// A report's row from the first ten columns of `SELECT id, state,
/// reference, revision, save_seq, owner_id, created_at, updated_at,
/// sealed_at, body_size`.
pub(super) fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    Ok(ReportRow {
        id: r.id(0)?,
        state: r.get(1)?,
        reference: r.get(2)?,
        revision: r.get(3)?,
        save_seq: r.get(4)?,
        owner_id: r.id(5)?,
        created_at: r.time(6)?,
        updated_at: r.time(7)?,
        sealed_at: r.time_opt(8)?,
        body_size: r.get(9)?,
    })
}

/// A user from `SELECT id, name, role, created_at`.
pub(super) fn user_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.id(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        created_at: r.time(3)?,
    })
}
