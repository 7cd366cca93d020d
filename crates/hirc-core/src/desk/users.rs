//! The desk's users: coordinators and ambassadors, each with a key slot.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::error::{Error, Result, classify_sqlite};
use crate::model::Role;
use crate::vault::{KdfCost, Passphrase, SlotSecret};

use super::Desk;
use super::rows::RowResult;
use super::session::{Session, require_coordinator};

/// A desk user.
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
    /// Active users, coordinators first, then by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, created_at FROM users WHERE removed_at IS NULL
             ORDER BY role = 'ambassador', name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], user_from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(|u| u))
            .collect()
    }

    /// Adds a user (coordinators only).
    pub fn add_user(
        &mut self,
        s: &Session,
        name: &str,
        role: Role,
        passphrase: &Passphrase,
        kdf: KdfCost,
    ) -> Result<User> {
        self.check_session(s)?;
        require_coordinator(s, "adding a user")?;
        let name = clean_name(name, "a user's name", 60)?;
        passphrase.check_new()?;
        if self.user_slot(&name)?.is_some() {
            return Err(Error::UserExists { name });
        }
        let slot = s.keys.make_slot(
            &SlotSecret::Passphrase {
                user: &name,
                passphrase,
            },
            kdf,
        )?;
        let user = User {
            id: Uuid::now_v7(),
            name,
            role,
            created_at: self.now_text(),
        };
        self.write(|tx| {
            insert_user(tx, user.id, &user.name, role, &user.created_at, &slot)?;
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::UserAdded,
                Some(&user.name),
                Some(role.as_str()),
            )
        })?;
        Ok(user)
    }

    /// Removes a user (coordinators only): their slot is deleted, so their
    /// passphrase no longer opens the desk. Their reports stay.
    pub fn remove_user(&mut self, s: &Session, name: &str) -> Result<()> {
        self.check_session(s)?;
        require_coordinator(s, "removing a user")?;
        let (user, _) = self
            .user_slot(name)?
            .ok_or_else(|| Error::UnknownUser { name: name.into() })?;
        if user.role == Role::Coordinator {
            let coordinators = self
                .users()?
                .iter()
                .filter(|u| u.role == Role::Coordinator)
                .count();
            if coordinators <= 1 {
                return Err(Error::LastCoordinator { name: user.name });
            }
        }
        let now = self.now_text();
        self.write(|tx| {
            tx.execute(
                "DELETE FROM key_slots WHERE user_id = ?1",
                params![user.id.to_string()],
            )?;
            tx.execute(
                "UPDATE users SET removed_at = ?1 WHERE id = ?2",
                params![now, user.id.to_string()],
            )?;
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::UserRemoved,
                Some(&user.name),
                None,
            )
        })?;
        self.scrub()
    }

    /// Sets a new passphrase: your own, or anyone's if you are a coordinator.
    pub fn set_passphrase(
        &mut self,
        s: &Session,
        name: &str,
        new_passphrase: &Passphrase,
        kdf: KdfCost,
    ) -> Result<()> {
        self.check_session(s)?;
        let (user, _) = self
            .user_slot(name)?
            .ok_or_else(|| Error::UnknownUser { name: name.into() })?;
        if user.id != s.user.id {
            require_coordinator(s, "resetting another user's passphrase")?;
        }
        new_passphrase.check_new()?;
        let slot = s.keys.make_slot(
            &SlotSecret::Passphrase {
                user: &user.name,
                passphrase: new_passphrase,
            },
            kdf,
        )?;
        let now = self.now_text();
        self.write(|tx| {
            tx.execute(
                "UPDATE key_slots SET wrapped = ?1, created_at = ?2 WHERE user_id = ?3",
                params![slot, now, user.id.to_string()],
            )?;
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::PassphraseChanged,
                Some(&user.name),
                None,
            )
        })?;
        self.scrub()
    }

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
}

/// Trims a name and checks it is printable and not too long.
pub(super) fn clean_name(name: &str, what: &str, max: usize) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    if name.chars().count() > max {
        return Err(Error::InvalidInput(format!(
            "{what} is longer than {max} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "{what} contains control characters"
        )));
    }
    Ok(name.to_string())
}

pub(super) fn insert_user(
    tx: &Connection,
    id: Uuid,
    name: &str,
    role: Role,
    now: &str,
    slot: &[u8],
) -> Result<()> {
    tx.execute(
        "INSERT INTO users (id, name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), name, role.as_str(), now],
    )?;
    tx.execute(
        "INSERT INTO key_slots (kind, user_id, wrapped, created_at) VALUES ('user', ?1, ?2, ?3)",
        params![id.to_string(), slot, now],
    )?;
    Ok(())
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
