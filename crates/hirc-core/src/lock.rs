//! The desk's auto-lock times: how long the app may sit idle before it locks
//! itself, anywhere and while a report is open. Desk settings (every user
//! of the desk shares them) that only a coordinator may change; the app,
//! not the engine, measures the idleness.

use crate::desk::{Desk, Session};
use crate::error::{Error, Result};

/// Minutes of idleness before the app locks, unless a coordinator changes it.
pub const DEFAULT_AUTO_LOCK_MINUTES: u32 = 5;
/// Minutes of idleness before the app locks while a report is open: a
/// volunteer listening to someone may not touch a key for a long while.
pub const DEFAULT_INTERVIEW_LOCK_MINUTES: u32 = 15;
/// The longest allowed: a desk left for an hour should not stay open.
pub const MAX_AUTO_LOCK_MINUTES: u32 = 60;

/// The two idle times, as the setting names them.
#[derive(Debug, Clone, Copy)]
enum IdleSetting {
    /// On every screen but the report form.
    Anywhere,
    /// While a report is open.
    Interview,
}

impl IdleSetting {
    fn key(self) -> &'static str {
        match self {
            Self::Anywhere => "auto_lock_minutes",
            Self::Interview => "interview_lock_minutes",
        }
    }
    fn default(self) -> u32 {
        match self {
            Self::Anywhere => DEFAULT_AUTO_LOCK_MINUTES,
            Self::Interview => DEFAULT_INTERVIEW_LOCK_MINUTES,
        }
    }
    fn what(self) -> &'static str {
        match self {
            Self::Anywhere => "the auto-lock time",
            Self::Interview => "the auto-lock time while a report is open",
        }
    }
}

impl Desk {
    /// Minutes of idleness before the app locks (readable while locked, so
    /// the app can apply it from the moment someone unlocks).
    pub fn auto_lock_minutes(&self) -> Result<u32> {
        self.idle_minutes(IdleSetting::Anywhere)
    }

    /// Minutes of idleness before the app locks while a report is open
    /// (never less than [`Desk::auto_lock_minutes`]).
    pub fn interview_lock_minutes(&self) -> Result<u32> {
        Ok(self
            .idle_minutes(IdleSetting::Interview)?
            .max(self.auto_lock_minutes()?))
    }

    /// Sets the auto-lock time (coordinators only; audited). 1 to 60 minutes.
    pub fn set_auto_lock_minutes(&mut self, s: &Session, minutes: u32) -> Result<()> {
        self.set_idle_minutes(s, IdleSetting::Anywhere, minutes)
    }

    /// Sets the auto-lock time while a report is open (coordinators only;
    /// audited). 1 to 60 minutes; a time shorter than the auto-lock time
    /// counts as the auto-lock time.
    pub fn set_interview_lock_minutes(&mut self, s: &Session, minutes: u32) -> Result<()> {
        self.set_idle_minutes(s, IdleSetting::Interview, minutes)
    }

    fn idle_minutes(&self, setting: IdleSetting) -> Result<u32> {
        self.number_setting(
            setting.key(),
            setting.default(),
            "an auto-lock setting is not a number",
        )
    }

    fn set_idle_minutes(&mut self, s: &Session, setting: IdleSetting, minutes: u32) -> Result<()> {
        self.set_number_setting(
            s,
            setting.key(),
            minutes,
            "changing the auto-lock time",
            |minutes| {
                if (1..=MAX_AUTO_LOCK_MINUTES).contains(&minutes) {
                    Ok(())
                } else {
                    Err(Error::InvalidInput(format!(
                        "{} must be from 1 to {MAX_AUTO_LOCK_MINUTES} minutes",
                        setting.what()
                    )))
                }
            },
        )
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

    #[test]
    fn the_interview_lock_is_longer_by_default_and_never_shorter_than_the_auto_lock() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        assert_eq!(desk.interview_lock_minutes().ok(), Some(15));
        desk.set_interview_lock_minutes(&s, 30).expect("set");
        assert_eq!(desk.interview_lock_minutes().ok(), Some(30));
        assert_eq!(desk.auto_lock_minutes().ok(), Some(5));
        desk.set_auto_lock_minutes(&s, 40).expect("set");
        assert_eq!(desk.interview_lock_minutes().ok(), Some(40));
        assert!(desk.set_interview_lock_minutes(&s, 61).is_err());
        assert!(desk.set_interview_lock_minutes(&s, 0).is_err());
    }
}
