//! Unlocking: a user's passphrase (or the recovery code) opens the desk
//! key, and the [`Session`] that results is the credential for the rest.

use std::time::Duration;

use rusqlite::params;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::error::{Error, Result, classify_sqlite};
use crate::model::Role;
use crate::vault::{DeskKeys, KdfCost, Passphrase, RecoveryCode, SlotSecret};

use super::Desk;
use super::rows::User;

/// How long a failed unlock waits before answering. With scrypt's own second
/// this keeps guessing at the desk slow, and it is short enough not to
/// punish a typo.
pub const FAILED_UNLOCK_DELAY: Duration = Duration::from_secs(1);

/// An unlocked user: the credential for every operation on reports.
pub struct Session {
    pub(super) desk_id: Uuid,
    pub(super) user: User,
    pub(crate) keys: DeskKeys,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.name)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Who is acting.
    pub fn user(&self) -> &User {
        &self.user
    }

    pub(crate) fn is_coordinator(&self) -> bool {
        self.user.role == Role::Coordinator
    }
}

impl Desk {
    /// Opens `name`'s slot with their passphrase.
    ///
    /// A wrong passphrase or unknown name is audited, waits
    /// [`FAILED_UNLOCK_DELAY`], and changes nothing else.
    pub fn unlock(&mut self, name: &str, passphrase: &Passphrase) -> Result<Session> {
        let Some((user, slot)) = self.user_slot(name)? else {
            // Never record what was typed as a name: it may be a passphrase
            // typed into the wrong box.
            self.audit_alone(None, AuditAction::UnlockFailed, None, Some("unknown user"))?;
            std::thread::sleep(FAILED_UNLOCK_DELAY);
            return Err(Error::UnknownUser { name: name.into() });
        };
        let secret = SlotSecret::Passphrase {
            user: &user.name,
            passphrase,
        };
        match DeskKeys::open_slot(&slot, &secret, &self.wrapped_facts_key()?) {
            Ok(keys) => {
                self.audit_alone(Some(&user.name), AuditAction::UnlockOk, None, None)?;
                tracing::info!(user = %user.id, "unlocked");
                let session = Session {
                    desk_id: self.info.desk_id,
                    user,
                    keys,
                };
                // A desk enrolled before uploads needed no passphrase: its
                // token moves to the credential file now.
                if let Err(e) = self.move_token_out(&session) {
                    tracing::warn!("the upload token could not be moved out yet: {e}");
                }
                // Anything sealed but not yet encrypted for the hub (sealed
                // by an older version, or back from being set aside) is
                // prepared now, so it can go with nobody signed in.
                if let Err(e) = self.prepare_uploads(&session) {
                    tracing::warn!("waiting reports could not be prepared for the hub yet: {e}");
                }
                Ok(session)
            }
            Err(e) => {
                if e.is_authentication() {
                    self.audit_alone(
                        Some(&user.name),
                        AuditAction::UnlockFailed,
                        None,
                        Some("wrong passphrase"),
                    )?;
                    tracing::warn!(user = %user.id, "unlock failed");
                    std::thread::sleep(FAILED_UNLOCK_DELAY);
                }
                Err(e)
            }
        }
    }

    /// Sets a new passphrase for a coordinator from the recovery code, and
    /// replaces the recovery code (the old one stops working).
    ///
    /// `coordinator` may be omitted when the desk has only one.
    pub fn recover(
        &mut self,
        coordinator: Option<&str>,
        code: &RecoveryCode,
        new_passphrase: &Passphrase,
        kdf: KdfCost,
    ) -> Result<RecoveryCode> {
        new_passphrase.check_new()?;
        let target = match coordinator {
            Some(name) => self
                .user_slot(name)?
                .map(|(u, _)| u)
                .ok_or_else(|| Error::UnknownUser { name: name.into() })?,
            None => {
                let coordinators: Vec<User> = self
                    .users()?
                    .into_iter()
                    .filter(|u| u.role == Role::Coordinator)
                    .collect();
                match <[User; 1]>::try_from(coordinators) {
                    Ok([only]) => only,
                    Err(_) => return Err(Error::WhichCoordinator),
                }
            }
        };
        if target.role != Role::Coordinator {
            return Err(Error::InvalidInput(format!(
                "{} is an ambassador; the recovery code sets a coordinator's passphrase (a coordinator can then reset theirs)",
                target.name
            )));
        }
        let slot: Vec<u8> = self
            .conn
            .query_row(
                "SELECT wrapped FROM key_slots WHERE kind = 'recovery'",
                [],
                |r| r.get(0),
            )
            .map_err(classify_sqlite)?;
        let keys = match DeskKeys::open_slot(
            &slot,
            &SlotSecret::Recovery(code),
            &self.wrapped_facts_key()?,
        ) {
            Ok(keys) => keys,
            Err(e) => {
                if e.is_authentication() {
                    self.audit_alone(
                        None,
                        AuditAction::UnlockFailed,
                        None,
                        Some("wrong recovery code"),
                    )?;
                    std::thread::sleep(FAILED_UNLOCK_DELAY);
                }
                return Err(e);
            }
        };
        let user_slot = keys.make_slot(
            &SlotSecret::Passphrase {
                user: &target.name,
                passphrase: new_passphrase,
            },
            kdf,
        )?;
        let fresh = RecoveryCode::generate();
        let recovery_slot = keys.make_slot(&SlotSecret::Recovery(&fresh), kdf)?;
        let now = self.now_text();
        self.write(|tx| {
            tx.execute(
                "UPDATE key_slots SET wrapped = ?1, created_at = ?2 WHERE user_id = ?3",
                params![user_slot, now, target.id.to_string()],
            )?;
            tx.execute(
                "UPDATE key_slots SET wrapped = ?1, created_at = ?2 WHERE kind = 'recovery'",
                params![recovery_slot, now],
            )?;
            audit::append(
                tx,
                None,
                AuditAction::Recovered,
                Some(&target.name),
                Some("new recovery code issued"),
            )
        })?;
        self.scrub()?;
        Ok(fresh)
    }

    pub(crate) fn check_session(&self, s: &Session) -> Result<()> {
        if s.desk_id != self.info.desk_id {
            return Err(Error::InvalidInput(
                "that session belongs to another desk".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn wrapped_facts_key(&self) -> Result<Vec<u8>> {
        self.conn
            .query_row("SELECT facts_key FROM desk", [], |r| r.get(0))
            .map_err(classify_sqlite)
    }
}

pub(crate) fn require_coordinator(s: &Session, action: &'static str) -> Result<()> {
    if s.is_coordinator() {
        Ok(())
    } else {
        Err(Error::NotPermitted {
            action,
            user: s.user.name.clone(),
        })
    }
}
