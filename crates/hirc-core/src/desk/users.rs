//! The desk's users: coordinators and ambassadors, each with a key slot.

use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::error::{Error, Result};
use crate::model::Role;
use crate::time;
use crate::vault::{KdfCost, Passphrase, SlotSecret};

use super::Desk;
use super::rows::{User, user_from};
use super::session::{Session, require_coordinator};

impl Desk {
    /// Active users, coordinators first, then by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, created_at FROM users WHERE removed_at IS NULL
             ORDER BY role = 'ambassador', name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], user_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
            created_at: self.now_stored(),
        };
        self.write(|tx| {
            insert_user(
                tx,
                user.id,
                &user.name,
                role,
                &time::to_text(user.created_at),
                &slot,
            )?;
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
