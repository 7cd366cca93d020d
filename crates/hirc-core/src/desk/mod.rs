//! The desk: one store, its users, and what an unlocked user can do.
//!
//! A [`Desk`] is opened from a data directory without any secret; it can
//! only list its users. [`Desk::unlock`] opens a user's key slot and returns
//! a [`Session`], the credential every other operation asks for. Locking is
//! dropping the session: its keys are zeroized.
//!
//! Every change is one immediate SQLite transaction that also appends its
//! audit entry, so the store and the audit log never disagree, even after a
//! crash or power cut at any moment.

mod bodies;
mod follow_up;
mod page;
mod related;
mod reports;
mod rows;
mod session;
mod settings;
mod status;
#[cfg(test)]
mod tests;
mod users;

pub use follow_up::{ConsentChange, Revision};
pub use page::{ConsentGiven, ReportPage};
pub use reports::ReportView;
pub(crate) use reports::require_state;
pub use rows::ReportRow;
pub use rows::User;
pub(crate) use session::require_coordinator;
pub use session::{FAILED_UNLOCK_DELAY, Session};
pub use status::{DeskStatus, ReportListing};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::model::Role;
use crate::reference::is_centre_code;
use crate::store;
use crate::time;
use crate::vault::{DeskKeys, KdfCost, Passphrase, RecoveryCode, SlotSecret};

use users::{clean_name, insert_user};

/// The store's file name inside the data directory.
pub const DESK_FILE: &str = "desk.sqlite3";

/// Drafts untouched this long are flagged to a coordinator (DOMAIN.md).
pub const STALE_DRAFT_DAYS: i64 = 14;

/// What a new desk needs.
pub struct DeskSetup<'a> {
    /// The centre's name, e.g. "Castle Point CVS".
    pub centre_name: &'a str,
    /// The centre's short code, e.g. "CP" (2–6 capitals or digits).
    pub centre_code: &'a str,
    /// The first coordinator's name.
    pub coordinator: &'a str,
    /// The first coordinator's passphrase.
    pub passphrase: &'a Passphrase,
    /// How hard scrypt works for the slots.
    pub kdf: KdfCost,
}

/// The desk's identity, readable without unlocking.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct DeskInfo {
    /// A random id made at set-up.
    pub desk_id: Uuid,
    /// The centre's name.
    pub centre_name: String,
    /// The centre's short code.
    pub centre_code: String,
    /// The desk key's public half.
    pub recipient: String,
    /// When the desk was set up.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub created_at: DateTime<Utc>,
}

/// A desk store, opened.
pub struct Desk {
    conn: Connection,
    path: PathBuf,
    info: DeskInfo,
    /// A secret was removed but another connection kept its old copy in
    /// the WAL alive; the next write tries again ([`Desk::scrub`]).
    scrub_pending: bool,
    clock: time::Clock,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Desk {
    /// Sets up a new desk in `data_dir`, returning it and the recovery code
    /// (to show once).
    pub fn create(data_dir: &Path, setup: &DeskSetup<'_>) -> Result<(Desk, RecoveryCode)> {
        let centre_name = clean_name(setup.centre_name, "the centre's name", 100)?;
        let centre_code = setup.centre_code.trim().to_ascii_uppercase();
        if !is_centre_code(&centre_code) {
            return Err(Error::InvalidInput(
                "the centre code must be 2 to 6 letters or digits, e.g. CP".into(),
            ));
        }
        let coordinator = clean_name(setup.coordinator, "the coordinator's name", 60)?;
        setup.passphrase.check_new()?;
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("could not create {}", data_dir.display()), e))?;
        store::restrict_dir(data_dir)?;
        let path = data_dir.join(DESK_FILE);
        if path.exists() {
            return Err(Error::AlreadyInitialised { path });
        }

        let keys = DeskKeys::generate();
        let recovery = RecoveryCode::generate();
        let user_slot = keys.make_slot(
            &SlotSecret::Passphrase {
                user: &coordinator,
                passphrase: setup.passphrase,
            },
            setup.kdf,
        )?;
        let recovery_slot = keys.make_slot(&SlotSecret::Recovery(&recovery), setup.kdf)?;
        let wrapped_facts = keys.wrapped_facts_key()?;
        let desk_id = Uuid::now_v7();
        let user_id = Uuid::now_v7();
        let now = time::now_text();

        store::create(&path, |tx| {
            tx.execute(
                "INSERT INTO desk (singleton, desk_id, centre_name, centre_code, desk_recipient, facts_key, created_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
                params![desk_id.to_string(), centre_name, centre_code, keys.recipient().to_string(), wrapped_facts, now],
            )?;
            insert_user(
                tx,
                user_id,
                &coordinator,
                Role::Coordinator,
                &now,
                &user_slot,
            )?;
            tx.execute(
                "INSERT INTO key_slots (kind, wrapped, created_at) VALUES ('recovery', ?1, ?2)",
                params![recovery_slot, now],
            )?;
            audit::append(tx, None, AuditAction::DeskCreated, None, Some(&centre_code))?;
            audit::append(
                tx,
                None,
                AuditAction::UserAdded,
                Some(&coordinator),
                Some("coordinator"),
            )?;
            Ok(())
        })?;
        tracing::info!(desk = %desk_id, "desk created");
        Ok((Self::open(data_dir)?, recovery))
    }

    /// Opens the desk in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Desk> {
        let path = data_dir.join(DESK_FILE);
        if !path.exists() {
            return Err(Error::NotInitialised {
                path: data_dir.to_path_buf(),
            });
        }
        let conn = store::open(&path).map_err(|e| crate::error::explain_disk(e, data_dir))?;
        let info = read_info(&conn)?;
        Ok(Desk {
            conn,
            path,
            info,
            scrub_pending: false,
            clock: time::Clock::system(),
        })
    }

    /// The desk's identity.
    pub fn info(&self) -> &DeskInfo {
        &self.info
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data directory the store (and the credential file) live in.
    pub fn data_dir(&self) -> &Path {
        self.path.parent().unwrap_or(&self.path)
    }

    /// Reads the time from `clock` from now on (a test's simulated days).
    pub fn set_clock(&mut self, clock: time::Clock) {
        self.clock = clock;
    }

    /// Now, by this desk's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today on the desk's calendar ([`time::desk_date`]).
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today()
    }

    /// Now, as stored.
    pub(crate) fn now_text(&self) -> String {
        time::to_text(self.now())
    }

    /// Now, to the millisecond: the moment a stored time reads back as, so
    /// a row held in memory and the same row read again agree.
    pub(crate) fn now_stored(&self) -> DateTime<Utc> {
        time::stored(self.now())
    }

    /// The store, for reading. Every change goes through [`Desk::write`],
    /// so that it is one transaction with its audit entry and a removed
    /// secret is scrubbed from every file.
    pub(crate) fn db(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let run = |conn: &mut Connection| -> Result<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        let dir = self.path.parent().unwrap_or(&self.path).to_path_buf();
        let value = run(&mut self.conn).map_err(|e| crate::error::explain_disk(e, &dir))?;
        if self.scrub_pending {
            self.scrub()?;
        }
        Ok(value)
    }

    /// Makes sure a secret a write has just removed (a user's slot, a
    /// replaced passphrase or recovery code, a purged or deleted body) is in
    /// no file any more. `secure_delete` zeroes it in the page, but while
    /// any other connection has the store open (the app always does) the
    /// WAL keeps the older page images, and the main file keeps the old page
    /// until a checkpoint: a copy of `desk.sqlite3` alone would still hold
    /// it. A TRUNCATE checkpoint writes every page back and empties the WAL.
    /// If a reader holds an old snapshot past the busy timeout, the next
    /// write tries again.
    pub(crate) fn scrub(&mut self) -> Result<()> {
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        self.scrub_pending = busy != 0;
        if self.scrub_pending {
            tracing::warn!(
                "another reader kept old pages in the WAL; trying again after the next write"
            );
        }
        Ok(())
    }

    /// An audit entry in a transaction of its own (for events that change
    /// nothing else, such as an unlock).
    pub(crate) fn audit_alone(
        &mut self,
        actor: Option<&str>,
        action: AuditAction,
        subject: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        self.write(|tx| audit::append(tx, actor, action, subject, detail))
    }
}

pub(super) fn read_info(conn: &Connection) -> Result<DeskInfo> {
    Ok(conn.query_row(
        "SELECT desk_id, centre_name, centre_code, desk_recipient, created_at FROM desk",
        [],
        |r| {
            Ok(DeskInfo {
                desk_id: r.id(0)?,
                centre_name: r.get(1)?,
                centre_code: r.get(2)?,
                recipient: r.get(3)?,
                created_at: r.time(4)?,
            })
        },
    )?)
}
