//! The desk's auto-lock time: how long the app may sit idle before it locks
//! itself. A desk setting (every user of the desk shares it) that only a
//! coordinator may change; the app, not the engine, measures the idleness.

use rusqlite::OptionalExtension;

use crate::audit::{self, AuditAction};
use crate::desk::{Desk, Session, require_coordinator};
use crate::error::{Error, Result, classify_sqlite};

/// Minutes of idleness before the app locks, unless a coordinator changes it.
pub const DEFAULT_AUTO_LOCK_MINUTES: u32 = 5;
/// The longest allowed: a desk left for an hour should not stay open.
pub const MAX_AUTO_LOCK_MINUTES: u32 = 60;

impl Desk {
    /// Minutes of idleness before the app locks (readable while locked, so
    /// the app can apply it from the moment someone unlocks).
    pub fn auto_lock_minutes(&self) -> Result<u32> {
        let value: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'auto_lock_minutes'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(classify_sqlite)?;
        match value {
            None => Ok(DEFAULT_AUTO_LOCK_MINUTES),
            Some(v) => v
                .parse()
                .map_err(|_| Error::Integrity("the auto-lock setting is not a number")),
        }
    }

    /// Sets the auto-lock time (coordinators only; audited). 1 to 60 minutes.
    pub fn set_auto_lock_minutes(&mut self, s: &Session, minutes: u32) -> Result<()> {
        self.check_session(s)?;
        require_coordinator(s, "changing the auto-lock time")?;
        if !(1..=MAX_AUTO_LOCK_MINUTES).contains(&minutes) {
            return Err(Error::InvalidInput(format!(
                "the auto-lock time must be from 1 to {MAX_AUTO_LOCK_MINUTES} minutes"
            )));
        }
        let user = s.user().name.clone();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('auto_lock_minutes', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [minutes.to_string()],
            )?;
            audit::append(
                tx,
                Some(&user),
                AuditAction::SettingChanged,
                Some("auto_lock_minutes"),
                Some(&minutes.to_string()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{new_desk, pass};

    #[test]
    fn auto_lock_defaults_to_five_minutes_and_is_bounded() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        assert_eq!(desk.auto_lock_minutes().ok(), Some(5));
        desk.set_auto_lock_minutes(&s, 2).expect("set");
        assert_eq!(desk.auto_lock_minutes().ok(), Some(2));
        assert!(desk.set_auto_lock_minutes(&s, 0).is_err());
        assert!(desk.set_auto_lock_minutes(&s, 61).is_err());
        assert_eq!(desk.auto_lock_minutes().ok(), Some(2));
    }
}
