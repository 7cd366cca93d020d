//! Desk settings: small numbers a coordinator sets (auto-lock minutes,
//! retention days), kept in one table, every change audited.

use rusqlite::OptionalExtension;

use super::Desk;
use super::session::{Session, require_coordinator};
use crate::audit::{self, AuditAction};
use crate::error::{Error, Result, classify_sqlite};

impl Desk {
    /// The number stored under `key`, or `default` when it was never set.
    /// `not_a_number` names the setting when the stored text is damaged.
    pub(crate) fn number_setting(
        &self,
        key: &str,
        default: u32,
        not_a_number: &'static str,
    ) -> Result<u32> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(classify_sqlite)?;
        match value {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| Error::Integrity(not_a_number)),
        }
    }

    /// Stores `value` under `key` and audits the change in the same
    /// transaction. Coordinators only (`action` says what was refused to
    /// anyone else); `check` then judges the value.
    pub(crate) fn set_number_setting(
        &mut self,
        s: &Session,
        key: &str,
        value: u32,
        action: &'static str,
        check: impl FnOnce(u32) -> Result<()>,
    ) -> Result<()> {
        self.check_session(s)?;
        require_coordinator(s, action)?;
        check(value)?;
        let user = s.user().name.clone();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, &value.to_string()],
            )?;
            audit::append(
                tx,
                Some(&user),
                AuditAction::SettingChanged,
                Some(key),
                Some(&value.to_string()),
            )
        })
    }
}
