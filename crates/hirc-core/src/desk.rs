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

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, AuditAction, AuditBroken, AuditEntry, AuditVerified};
use crate::envelope::{self, BodyKind, BodyPlace, SealedBody};
use crate::error::{Error, Result, classify_sqlite};
use crate::model::{
    Report, ReportFacts, ReportMeta, ReportState, Role, check_complete, check_draft,
};
use crate::reference::{Reference, is_centre_code};
use crate::store;
use crate::time;
use crate::vault::{DeskKeys, KdfCost, Passphrase, RecoveryCode, SlotSecret};

/// The store's file name inside the data directory.
pub const DESK_FILE: &str = "desk.sqlite3";

/// How long a failed unlock waits before answering. With scrypt's own second
/// this keeps guessing at the desk slow, and it is short enough not to
/// punish a typo.
pub const FAILED_UNLOCK_DELAY: Duration = Duration::from_secs(1);

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
    pub created_at: String,
}

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

/// An unlocked user: the credential for every operation on reports.
pub struct Session {
    desk_id: Uuid,
    user: User,
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

/// One report as shown to an unlocked user.
#[derive(Debug, Clone)]
pub struct ReportView {
    /// The row's clear facts.
    pub row: ReportRow,
    /// Who took it and when (from inside the ciphertext).
    pub meta: ReportMeta,
    /// The content; `None` once purged.
    pub report: Option<Report>,
}

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

/// One line of the report list.
#[derive(Debug, Clone, Serialize)]
pub struct ReportListing {
    /// The row.
    #[serde(flatten)]
    pub row: ReportRow,
    /// The name of the user who took it.
    pub owner: String,
    /// Kinds of incident, strands and month (no free text).
    pub summary: String,
    /// Where its upload stands, once sealed: receipt, attempts, last error.
    pub upload: Option<crate::outbox::UploadState>,
    /// Why it is set aside (it will not open), if it is.
    pub set_aside: Option<String>,
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DeskStatus {
    /// The desk.
    pub desk: DeskInfo,
    /// The store file.
    pub store_path: PathBuf,
    /// Bytes on disk (database, WAL and shared memory files).
    pub store_bytes: u64,
    /// Schema version.
    pub schema_version: i64,
    /// Active coordinators.
    pub coordinators: i64,
    /// Active ambassadors.
    pub ambassadors: i64,
    /// Drafts.
    pub drafts: i64,
    /// Sealed, waiting to upload.
    pub sealed: i64,
    /// Delivered.
    pub delivered: i64,
    /// Purged.
    pub purged: i64,
    /// Sealed reports waiting for the desk to be enrolled with a hub.
    pub waiting_for_enrolment: i64,
    /// Drafts untouched for [`STALE_DRAFT_DAYS`] days or more.
    pub stale_drafts: i64,
    /// Reports set aside because they will not open.
    pub set_aside: i64,
}

/// A desk store, opened.
pub struct Desk {
    pub(crate) conn: Connection,
    path: PathBuf,
    pub(crate) info: DeskInfo,
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

    /// Now, as stored.
    pub(crate) fn now_text(&self) -> String {
        time::to_text(self.now())
    }

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
                    Err(_) => {
                        return Err(Error::InvalidInput(
                            "this desk has several coordinators; say whose passphrase to set (--user NAME)".into(),
                        ));
                    }
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

    // ---- users -------------------------------------------------------

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

    // ---- reports -----------------------------------------------------

    /// Starts a draft from what has been entered so far; returns its id.
    pub fn create_draft(&mut self, s: &Session, report: &Report) -> Result<Uuid> {
        self.check_session(s)?;
        check_draft(report).map_err(Error::Invalid)?;
        let mut report = report.clone();
        stamp_consent(None, &mut report, self.now());
        let meta = ReportMeta {
            id: Uuid::now_v7(),
            centre_code: self.info.centre_code.clone(),
            ambassador: s.user.id,
            // Stored to the millisecond, so the clear row and the body agree.
            taken_at: time::parse(&self.now_text())?,
        };
        let place = BodyPlace {
            report_id: meta.id,
            save_seq: 1,
            revision: 0,
            kind: BodyKind::Draft,
        };
        let body = envelope::seal(&s.keys, place, &meta, &report)?;
        let facts = seal_facts(s, place, &report)?;
        let now = time::to_text(meta.taken_at);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reports (id, owner_id, state, revision, save_seq, created_at, updated_at, body, body_size, facts)
                 VALUES (?1, ?2, 'draft', 0, 1, ?3, ?3, ?4, ?5, ?6)",
                params![meta.id.to_string(), s.user.id.to_string(), now, body.0, body.0.len() as i64, facts],
            )?;
            audit::append(tx, Some(&s.user.name), AuditAction::DraftCreated, Some(&meta.id.to_string()), None)
        })?;
        tracing::info!(report = %meta.id, bytes = body.0.len(), "draft created");
        Ok(meta.id)
    }

    /// Replaces a draft's content (an autosave of the whole form).
    pub fn save_draft(&mut self, s: &Session, id: Uuid, report: &Report) -> Result<()> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "edited")?;
        check_draft(report).map_err(Error::Invalid)?;
        // An autosave runs on every change: it reads only the row and the
        // small facts, never decrypting the whole previous body.
        let meta = self.meta_of(&row)?;
        let previous = self.facts_of(s, &row)?;
        let mut report = report.clone();
        stamp_consent(Some(&previous), &mut report, self.now());
        self.write_body(s, &row, &meta, &report, BodyKind::Draft, 0, |tx, _| {
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::DraftEdited,
                Some(&id.to_string()),
                None,
            )
        })
    }

    /// Merges a JSON merge patch into a draft (an autosave of a few fields).
    pub fn patch_draft(&mut self, s: &Session, id: Uuid, patch: &serde_json::Value) -> Result<()> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "edited")?;
        let (_, current) = self.open_body(s, &row)?;
        let merged = current.unwrap_or_default().merged(patch)?;
        self.save_draft(s, id, &merged)
    }

    /// Reads a report.
    pub fn report(&self, s: &Session, id: Uuid) -> Result<ReportView> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        let (meta, report) = self.open_body(s, &row)?;
        Ok(ReportView { row, meta, report })
    }

    /// Lists reports, newest first: a coordinator sees all; an ambassador
    /// their own and every report past the draft stage (the desk's queue).
    pub fn list_reports(&self, s: &Session) -> Result<Vec<ReportListing>> {
        let mut uploads = self.upload_states()?;
        let reports = self.reports_with_facts(s)?;
        // After the listing, which sets aside what it could not read.
        let aside = self.set_aside_reasons()?;
        Ok(reports
            .into_iter()
            .map(|(row, owner, facts)| ReportListing {
                upload: uploads.remove(&row.id),
                summary: facts.map_or_else(
                    || "could not be read: set aside for a coordinator".to_string(),
                    |f| f.summary_line(),
                ),
                set_aside: aside.get(&row.id).cloned(),
                row,
                owner,
            })
            .collect())
    }

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

    /// Deletes a draft. Submitted reports cannot be deleted.
    pub fn delete_draft(&mut self, s: &Session, id: Uuid) -> Result<()> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "deleted")?;
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM reports WHERE id = ?1 AND state = 'draft'",
                params![id.to_string()],
            )?;
            if n != 1 {
                return Err(Error::UnknownReport(id.to_string()));
            }
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::DraftDeleted,
                Some(&id.to_string()),
                None,
            )
        })?;
        self.scrub()
    }

    /// Validates a draft fully, seals it as revision 1, issues its human
    /// reference and queues it for the hub.
    pub fn submit(&mut self, s: &Session, id: Uuid) -> Result<Reference> {
        self.check_session(s)?;
        let row = self.row(id)?;
        self.check_may_touch(s, &row)?;
        require_state(&row, ReportState::Draft, "submitted")?;
        let (meta, report) = self.open_body(s, &row)?;
        let mut report = report.unwrap_or_default();
        check_complete(&report, self.clock.today()).map_err(Error::Invalid)?;
        if report.consent.consent_recorded_at.is_none() {
            report.consent.consent_recorded_at = Some(self.now());
        }
        let reference = loop {
            let candidate = Reference::generate(&self.info.centre_code);
            let taken: bool = self
                .conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM reports WHERE reference = ?1)",
                    [candidate.as_str()],
                    |r| r.get(0),
                )
                .map_err(classify_sqlite)?;
            if !taken {
                break candidate;
            }
        };
        // Sealing prepares the upload at once (when the desk is enrolled),
        // so sending it later needs no one signed in.
        let sealed_at = self.now_text();
        let payload =
            self.payload_at_sealing(&row, reference.as_str(), &sealed_at, &meta, &report)?;
        self.write_body(s, &row, &meta, &report, BodyKind::Sealed, 1, |tx, _| {
            tx.execute(
                "UPDATE reports SET state = 'sealed', reference = ?1, sealed_at = ?2 WHERE id = ?3",
                params![reference.as_str(), sealed_at, id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO outbox (report_id, revision, payload, queued_at) VALUES (?1, 1, ?2, ?3)",
                params![id.to_string(), payload, sealed_at],
            )?;
            audit::append(tx, Some(&s.user.name), AuditAction::Submitted, Some(&id.to_string()), Some(reference.as_str()))
        })?;
        tracing::info!(report = %id, "report sealed and queued");
        Ok(reference)
    }

    /// Finds a report by full id, human reference, or a unique id prefix.
    pub fn resolve(&self, s: &Session, key: &str) -> Result<Uuid> {
        self.check_session(s)?;
        let key = key.trim();
        if let Ok(id) = Uuid::parse_str(key) {
            return self.row(id).map(|r| r.id);
        }
        if let Ok(reference) = Reference::parse(key) {
            let id: Option<String> = self
                .conn
                .query_row(
                    "SELECT id FROM reports WHERE reference = ?1",
                    [reference.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            return id
                .and_then(|i| Uuid::parse_str(&i).ok())
                .ok_or_else(|| Error::UnknownReport(key.into()));
        }
        let prefix = key.to_ascii_lowercase();
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::UnknownReport(key.into()));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM reports WHERE substr(id, 1, ?1) = ?2 LIMIT 2")?;
        let ids: Vec<String> = stmt
            .query_map(params![prefix.len() as i64, prefix], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match ids.as_slice() {
            [one] => Uuid::parse_str(one).map_err(|_| Error::UnknownReport(key.into())),
            [] => Err(Error::UnknownReport(key.into())),
            _ => Err(Error::AmbiguousReport(key.into())),
        }
    }

    // ---- audit and status ----------------------------------------------

    /// The audit log (coordinators only).
    pub fn audit_log(&self, s: &Session) -> Result<Vec<AuditEntry>> {
        self.check_session(s)?;
        require_coordinator(s, "reading the audit log")?;
        audit::entries(&self.conn)
    }

    /// Checks the audit chain (coordinators only).
    pub fn verify_audit(&self, s: &Session) -> Result<Result<AuditVerified, AuditBroken>> {
        let entries = self.audit_log(s)?;
        Ok(audit::verify(&entries))
    }

    /// Records that something left the desk.
    pub fn record_export(&mut self, s: &Session, what: &str) -> Result<()> {
        self.check_session(s)?;
        self.write(|tx| {
            audit::append(
                tx,
                Some(&s.user.name),
                AuditAction::Export,
                None,
                Some(what),
            )
        })
    }

    /// Counts and sizes.
    pub fn status(&self, s: &Session) -> Result<DeskStatus> {
        self.check_session(s)?;
        let count = |sql: &str| -> Result<i64> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(classify_sqlite)
        };
        let by_state = |state: &str| -> Result<i64> {
            self.conn
                .query_row(
                    "SELECT count(*) FROM reports WHERE state = ?1",
                    [state],
                    |r| r.get(0),
                )
                .map_err(classify_sqlite)
        };
        let stale_before = time::to_text(self.now() - chrono::Duration::days(STALE_DRAFT_DAYS));
        let stale_drafts = self
            .conn
            .query_row(
                "SELECT count(*) FROM reports WHERE state = 'draft' AND updated_at < ?1",
                [stale_before],
                |r| r.get(0),
            )
            .map_err(classify_sqlite)?;
        let store_bytes = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::metadata(PathBuf::from(p)).ok()
            })
            .map(|m| m.len())
            .sum();
        Ok(DeskStatus {
            desk: self.info.clone(),
            store_path: self.path.clone(),
            store_bytes,
            schema_version: store::schema_version(&self.conn)?,
            coordinators: count(
                "SELECT count(*) FROM users WHERE removed_at IS NULL AND role = 'coordinator'",
            )?,
            ambassadors: count(
                "SELECT count(*) FROM users WHERE removed_at IS NULL AND role = 'ambassador'",
            )?,
            drafts: by_state("draft")?,
            sealed: by_state("sealed")?,
            delivered: by_state("delivered")?,
            purged: by_state("purged")?,
            waiting_for_enrolment: count(
                "SELECT count(*) FROM outbox WHERE payload IS NULL AND delivered_at IS NULL",
            )?,
            stale_drafts,
            set_aside: self.set_aside_count()?,
        })
    }

    // ---- internals -------------------------------------------------------

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

    pub(crate) fn check_session(&self, s: &Session) -> Result<()> {
        if s.desk_id != self.info.desk_id {
            return Err(Error::InvalidInput(
                "that session belongs to another desk".into(),
            ));
        }
        Ok(())
    }

    /// Ambassadors may touch only their own reports; coordinators any.
    pub(crate) fn check_may_touch(&self, s: &Session, row: &ReportRow) -> Result<()> {
        if s.is_coordinator() || row.owner_id == s.user.id {
            Ok(())
        } else {
            Err(Error::NotPermitted {
                action: "opening another ambassador's report",
                user: s.user.name.clone(),
            })
        }
    }

    fn wrapped_facts_key(&self) -> Result<Vec<u8>> {
        self.conn
            .query_row("SELECT facts_key FROM desk", [], |r| r.get(0))
            .map_err(classify_sqlite)
    }

    fn user_slot(&self, name: &str) -> Result<Option<(User, Vec<u8>)>> {
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

    pub(crate) fn open_body(
        &self,
        s: &Session,
        row: &ReportRow,
    ) -> Result<(ReportMeta, Option<Report>)> {
        let body: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT body FROM reports WHERE id = ?1",
                [row.id.to_string()],
                |r| r.get(0),
            )
            .map_err(classify_sqlite)?;
        let Some(body) = body else {
            return Err(Error::WrongState {
                id: row.id.to_string(),
                state: "purged",
                action: "opened",
            });
        };
        let opened =
            envelope::open(&s.keys, place_of(row), &SealedBody(body)).and_then(|(meta, report)| {
                if meta != self.meta_of(row)? {
                    return Err(Error::Integrity("a report body does not match its row"));
                }
                Ok((meta, Some(report)))
            });
        self.aside_on_damage(row.id, opened)
    }

    /// The body's metadata, rebuilt from the clear row (checked against the
    /// copy inside the body whenever the body is opened).
    pub(crate) fn meta_of(&self, row: &ReportRow) -> Result<ReportMeta> {
        Ok(ReportMeta {
            id: row.id,
            centre_code: self.info.centre_code.clone(),
            ambassador: row.owner_id,
            taken_at: time::parse(&row.created_at)?,
        })
    }

    pub(crate) fn facts_of(&self, s: &Session, row: &ReportRow) -> Result<ReportFacts> {
        let blob: Vec<u8> = self
            .conn
            .prepare_cached("SELECT facts FROM reports WHERE id = ?1")?
            .query_row([row.id.to_string()], |r| r.get(0))
            .map_err(classify_sqlite)?;
        self.aside_on_damage(row.id, open_facts(s, row, &blob))
    }

    /// Writes a new body (and facts) for `row`, bumping its save number, and
    /// runs `extra` in the same transaction.
    #[allow(clippy::too_many_arguments)]
    fn write_body(
        &mut self,
        s: &Session,
        row: &ReportRow,
        meta: &ReportMeta,
        report: &Report,
        kind: BodyKind,
        revision: i64,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<()>,
    ) -> Result<()> {
        let place = BodyPlace {
            report_id: row.id,
            save_seq: row.save_seq + 1,
            revision,
            kind,
        };
        let body = envelope::seal(&s.keys, place, meta, report)?;
        let facts = seal_facts(s, place, report)?;
        let now = self.now_text();
        self.write(|tx| {
            // The save number in the WHERE clause makes a concurrent save
            // (another window, another process) fail loudly instead of one
            // silently overwriting the other.
            let n = tx.prepare_cached(
                "UPDATE reports SET body = ?1, body_size = ?2, facts = ?3, save_seq = ?4,
                        revision = ?5, updated_at = ?6
                 WHERE id = ?7 AND save_seq = ?8",
            )?
            .execute(params![body.0, body.0.len() as i64, facts, place.save_seq, revision, now, row.id.to_string(), row.save_seq],
            )?;
            if n != 1 {
                return Err(Error::InvalidInput(
                    "the report was changed elsewhere at the same moment; open it again and repeat the change".into(),
                ));
            }
            extra(tx, &now)
        })?;
        tracing::debug!(report = %row.id, save = place.save_seq, bytes = body.0.len(), "report body written");
        Ok(())
    }
}

fn place_of(row: &ReportRow) -> BodyPlace {
    BodyPlace {
        report_id: row.id,
        save_seq: row.save_seq,
        revision: row.revision,
        kind: if row.state == ReportState::Draft {
            BodyKind::Draft
        } else {
            BodyKind::Sealed
        },
    }
}

fn facts_context(place: BodyPlace) -> Vec<u8> {
    format!("hirc-facts-v1:{}:{}", place.report_id, place.save_seq).into_bytes()
}

fn seal_facts(s: &Session, place: BodyPlace, report: &Report) -> Result<Vec<u8>> {
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(&ReportFacts::of(report))
            .map_err(|e| Error::Crypto(format!("could not serialise report facts: {e}")))?,
    );
    s.keys.facts().seal(&facts_context(place), &json)
}

fn open_facts(s: &Session, row: &ReportRow, blob: &[u8]) -> Result<ReportFacts> {
    let json = s.keys.facts().open(&facts_context(place_of(row)), blob)?;
    serde_json::from_slice(&json).map_err(|_| Error::Integrity("report facts are not facts"))
}

/// Records when consent was given: set when the three answers are first all
/// there, kept while they stay the same, and set again when one changes.
fn stamp_consent(previous: Option<&ReportFacts>, report: &mut Report, now: DateTime<Utc>) {
    let c = &mut report.consent;
    if !c.is_answered() {
        c.consent_recorded_at = None;
        return;
    }
    let unchanged = previous.filter(|p| {
        (p.pass_to_police, p.police_may_contact, p.refer_to_support)
            == (c.pass_to_police, c.police_may_contact, c.refer_to_support)
    });
    c.consent_recorded_at = match unchanged.and_then(|p| p.consent_recorded_at) {
        Some(at) => Some(at),
        None => Some(now),
    };
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

fn require_state(row: &ReportRow, state: ReportState, action: &'static str) -> Result<()> {
    if row.state == state {
        return Ok(());
    }
    Err(Error::WrongState {
        id: row.reference.clone().unwrap_or_else(|| row.id.to_string()),
        state: match row.state {
            ReportState::Draft => "a draft",
            ReportState::Sealed => "already submitted",
            ReportState::Delivered => "already delivered",
            ReportState::Purged => "purged",
        },
        action,
    })
}

/// Trims a name and checks it is printable and not too long.
fn clean_name(name: &str, what: &str, max: usize) -> Result<String> {
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

fn insert_user(
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

fn read_info(conn: &Connection) -> Result<DeskInfo> {
    conn.query_row(
        "SELECT desk_id, centre_name, centre_code, desk_recipient, created_at FROM desk",
        [],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        },
    )
    .map_err(classify_sqlite)
    .and_then(|(id, centre_name, centre_code, recipient, created_at)| {
        Ok(DeskInfo {
            desk_id: Uuid::parse_str(&id)
                .map_err(|_| Error::Integrity("the desk id is not an id"))?,
            centre_name,
            centre_code,
            recipient,
            created_at,
        })
    })
}

type RowResult<T> = rusqlite::Result<Result<T>>;

fn user_from_row(r: &rusqlite::Row<'_>) -> RowResult<User> {
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

fn row_from(r: &rusqlite::Row<'_>) -> RowResult<ReportRow> {
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

/// The time a stored timestamp names.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    time::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Strand;
    use crate::testing::{example, fast, new_desk, pass};

    #[test]
    fn a_report_goes_from_draft_to_sealed() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        assert_eq!(desk.info().centre_code, "CP");
        let s = desk
            .unlock("chris", &pass("chris passphrase"))
            .expect("unlock (any case)");

        let id = desk
            .create_draft(&s, &Report::default())
            .expect("empty draft");
        desk.patch_draft(&s, id, &serde_json::json!({"strands": ["disability"]}))
            .expect("patch");
        let err = desk.submit(&s, id).expect_err("incomplete");
        assert!(matches!(err, Error::Invalid(_)));

        desk.save_draft(&s, id, &example()).expect("save");
        let view = desk.report(&s, id).expect("open");
        let consent_at = view
            .report
            .as_ref()
            .and_then(|r| r.consent.consent_recorded_at);
        assert!(
            consent_at.is_some(),
            "consent time recorded once all three answers are in"
        );
        assert_eq!(view.row.save_seq, 3);

        let reference = desk.submit(&s, id).expect("submit");
        assert!(reference.as_str().starts_with("CP-"));
        let view = desk.report(&s, id).expect("open sealed");
        assert_eq!(view.row.state, ReportState::Sealed);
        assert_eq!(view.row.revision, 1);
        assert_eq!(
            view.report.as_ref().map(|r| r.strands.clone()),
            Some(vec![Strand::ReligionBelief, Strand::RaceEthnicity])
        );
        assert!(matches!(
            desk.save_draft(&s, id, &example()),
            Err(Error::WrongState { .. })
        ));
        assert!(matches!(
            desk.delete_draft(&s, id),
            Err(Error::WrongState { .. })
        ));
        assert_eq!(
            desk.resolve(&s, &reference.as_str().to_lowercase())
                .expect("by reference"),
            id
        );
        assert_eq!(
            desk.resolve(&s, &id.to_string()[..13]).expect("by prefix"),
            id
        );

        let status = desk.status(&s).expect("status");
        assert_eq!(
            (status.drafts, status.sealed, status.waiting_for_enrolment),
            (0, 1, 1)
        );
        let list = desk.list_reports(&s).expect("list");
        assert_eq!(list.len(), 1);
        assert!(list[0].summary.starts_with("Verbal abuse, threats"));
        assert!(desk.verify_audit(&s).expect("read").is_ok());
    }

    #[test]
    fn consent_time_is_kept_across_autosaves_and_renewed_when_consent_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let id = desk.create_draft(&s, &example()).expect("draft");
        let at = |desk: &Desk| {
            desk.report(&s, id)
                .expect("open")
                .report
                .and_then(|r| r.consent.consent_recorded_at)
        };
        let first = at(&desk).expect("recorded at creation");
        std::thread::sleep(Duration::from_millis(5));
        desk.patch_draft(&s, id, &serde_json::json!({"area": "SS7"}))
            .expect("edit");
        assert_eq!(at(&desk), Some(first), "an unrelated change keeps the time");
        desk.patch_draft(
            &s,
            id,
            &serde_json::json!({"consent": {"refer_to_support": false}}),
        )
        .expect("edit");
        let second = at(&desk).expect("still recorded");
        assert!(second > first, "changed consent is recorded again");
        desk.patch_draft(
            &s,
            id,
            &serde_json::json!({"consent": {"pass_to_police": null}}),
        )
        .expect("edit");
        assert_eq!(at(&desk), None, "incomplete consent has no time");
    }

    #[test]
    fn users_roles_and_passphrases() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let chris = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        desk.add_user(
            &chris,
            "Ann",
            Role::Ambassador,
            &pass("ann passphrase"),
            fast(),
        )
        .expect("add");
        assert!(matches!(
            desk.add_user(
                &chris,
                "ann",
                Role::Ambassador,
                &pass("ann passphrase"),
                fast()
            ),
            Err(Error::UserExists { .. })
        ));
        let ann = desk
            .unlock("Ann", &pass("ann passphrase"))
            .expect("ann unlocks");

        // Ambassadors cannot manage users or read the audit log, nor open others' drafts.
        assert!(matches!(
            desk.add_user(
                &ann,
                "Bob",
                Role::Ambassador,
                &pass("bob passphrase"),
                fast()
            ),
            Err(Error::NotPermitted { .. })
        ));
        assert!(matches!(
            desk.audit_log(&ann),
            Err(Error::NotPermitted { .. })
        ));
        let chris_draft = desk.create_draft(&chris, &example()).expect("draft");
        assert!(matches!(
            desk.report(&ann, chris_draft),
            Err(Error::NotPermitted { .. })
        ));
        assert!(
            desk.list_reports(&ann).expect("list").is_empty(),
            "ann sees no one else's drafts"
        );
        assert!(matches!(
            desk.set_passphrase(&ann, "Chris", &pass("new chris pass"), fast()),
            Err(Error::NotPermitted { .. })
        ));

        // Ann changes her own passphrase: the old one stops working.
        desk.set_passphrase(&ann, "Ann", &pass("ann second passphrase"), fast())
            .expect("passwd");
        assert!(matches!(
            desk.unlock("Ann", &pass("ann passphrase")),
            Err(Error::WrongPassphrase { .. })
        ));
        desk.unlock("Ann", &pass("ann second passphrase"))
            .expect("new passphrase works");

        // A removed user can no longer unlock, even with the right passphrase.
        desk.remove_user(&chris, "Ann").expect("remove");
        assert!(matches!(
            desk.unlock("Ann", &pass("ann second passphrase")),
            Err(Error::UnknownUser { .. })
        ));
        assert!(matches!(
            desk.remove_user(&chris, "Chris"),
            Err(Error::LastCoordinator { .. })
        ));
        assert!(matches!(
            desk.add_user(&chris, "Dee", Role::Ambassador, &pass("short"), fast()),
            Err(Error::WeakPassphrase(_))
        ));

        let actions: Vec<String> = desk
            .audit_log(&chris)
            .expect("log")
            .into_iter()
            .map(|e| e.action)
            .collect();
        for expected in [
            "desk_created",
            "user_added",
            "unlock_ok",
            "unlock_failed",
            "passphrase_changed",
            "user_removed",
            "draft_created",
        ] {
            assert!(
                actions.iter().any(|a| a == expected),
                "{expected} missing from {actions:?}"
            );
        }
    }

    #[test]
    fn a_wrong_passphrase_changes_nothing_but_the_audit_log() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let started = std::time::Instant::now();
        let err = desk
            .unlock("Chris", &pass("not the passphrase"))
            .expect_err("wrong");
        assert!(
            started.elapsed() >= FAILED_UNLOCK_DELAY,
            "failed unlocks are slowed down"
        );
        assert_eq!(
            err.to_string(),
            "wrong passphrase for Chris; nothing was changed"
        );
        assert!(matches!(
            desk.unlock("Nobody", &pass("whatever it is")),
            Err(Error::UnknownUser { .. })
        ));
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let log = desk.audit_log(&s).expect("log");
        let failed: Vec<_> = log.iter().filter(|e| e.action == "unlock_failed").collect();
        assert_eq!(failed.len(), 2);
        assert!(
            failed
                .iter()
                .all(|e| e.actor.as_deref() != Some("Nobody")
                    && e.detail.as_deref() != Some("Nobody"))
        );
    }

    #[test]
    fn the_recovery_code_sets_a_new_passphrase_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, code) = new_desk(dir.path());
        let typed = RecoveryCode::parse(&code.reveal().to_lowercase()).expect("parse");
        assert!(matches!(
            desk.recover(
                None,
                &RecoveryCode::generate(),
                &pass("whatever new pass"),
                fast()
            ),
            Err(Error::WrongRecoveryCode)
        ));
        let fresh = desk
            .recover(None, &typed, &pass("a brand new passphrase"), fast())
            .expect("recover");
        desk.unlock("Chris", &pass("a brand new passphrase"))
            .expect("new passphrase");
        assert!(desk.unlock("Chris", &pass("chris passphrase")).is_err());
        // The used code is replaced.
        assert!(matches!(
            desk.recover(None, &typed, &pass("yet another passphrase"), fast()),
            Err(Error::WrongRecoveryCode)
        ));
        desk.recover(
            Some("chris"),
            &fresh,
            &pass("yet another passphrase"),
            fast(),
        )
        .expect("new code works");
    }

    /// A store written by schema version 1 (made with `hirc` 0.1.0: one sealed
    /// report from the shared example, one draft). Every later migration must
    /// bring it up to date with nothing lost.
    #[test]
    fn a_version_1_store_opens_and_reads() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::copy("tests/data/desk-v1.sqlite3", dir.path().join(DESK_FILE)).expect("copy");
        let mut desk = Desk::open(dir.path()).expect("opens and migrates");
        assert_eq!(desk.info().centre_code, "FX");
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let status = desk.status(&s).expect("status");
        assert_eq!(status.schema_version, store::SCHEMA_VERSION);
        assert_eq!((status.drafts, status.sealed), (1, 1));
        let list = desk.list_reports(&s).expect("list");
        let sealed = list
            .iter()
            .find(|l| l.row.state == ReportState::Sealed)
            .expect("sealed");
        assert_eq!(sealed.row.reference.as_deref(), Some("FX-ARH3-RM"));
        let view = desk.report(&s, sealed.row.id).expect("open");
        let mut expected = example();
        expected.consent.consent_recorded_at = view
            .report
            .as_ref()
            .and_then(|r| r.consent.consent_recorded_at);
        assert_eq!(view.report, Some(expected));
        assert!(desk.verify_audit(&s).expect("read").is_ok());
    }

    #[test]
    fn a_second_init_leaves_the_first_desk_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let (desk, _) = new_desk(dir.path());
        let before = std::fs::read(desk.path()).expect("read");
        drop(desk);
        let again = Desk::create(
            dir.path(),
            &DeskSetup {
                centre_name: "Other",
                centre_code: "OT",
                coordinator: "Eve",
                passphrase: &pass("eve passphrase"),
                kdf: fast(),
            },
        );
        assert!(matches!(again, Err(Error::AlreadyInitialised { .. })));
        assert!(
            std::fs::read(dir.path().join(DESK_FILE)).expect("read") == before,
            "desk changed"
        );
    }

    /// Whether any of the store's files (database, WAL, shared memory)
    /// holds `secret`.
    fn on_disk(dir: &Path, secret: &[u8]) -> Vec<String> {
        ["", "-wal", "-shm"]
            .iter()
            .filter(|suffix| {
                let bytes =
                    std::fs::read(dir.join(format!("{DESK_FILE}{suffix}"))).unwrap_or_default();
                bytes.windows(secret.len()).any(|w| w == secret)
            })
            .map(|s| format!("{DESK_FILE}{s}"))
            .collect()
    }

    fn blob(desk: &Desk, sql: &str) -> Vec<u8> {
        let bytes: Vec<u8> = desk.conn.query_row(sql, [], |r| r.get(0)).expect("blob");
        // Enough of it to be unique (age headers carry random salts and keys).
        bytes[bytes.len() / 2..bytes.len() / 2 + 64].to_vec()
    }

    /// A copy of `desk.sqlite3` alone (what a thief, or a backup tool that
    /// skips `-wal`, takes), opened as a desk.
    fn copy_of_main_file(dir: &Path) -> (tempfile::TempDir, Desk) {
        let copy = tempfile::tempdir().expect("tmp");
        std::fs::copy(dir.join(DESK_FILE), copy.path().join(DESK_FILE)).expect("copy");
        let desk = Desk::open(copy.path()).expect("the copy opens");
        (copy, desk)
    }

    #[test]
    fn a_removed_secret_is_in_no_file_while_the_app_holds_the_store_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, code) = new_desk(dir.path());
        // The app keeps its own connection open all day.
        let app = Desk::open(dir.path()).expect("a second connection");
        assert_eq!(app.users().expect("users").len(), 1);
        let chris = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        desk.add_user(
            &chris,
            "Ann",
            Role::Ambassador,
            &pass("ann passphrase"),
            fast(),
        )
        .expect("add");
        let ann_slot = "SELECT k.wrapped FROM key_slots k JOIN users u ON u.id = k.user_id WHERE u.name = 'Ann'";

        // A changed passphrase: the old slot goes.
        let old = blob(&desk, ann_slot);
        desk.set_passphrase(&chris, "Ann", &pass("ann second passphrase"), fast())
            .expect("passwd");
        assert_eq!(
            on_disk(dir.path(), &old),
            Vec::<String>::new(),
            "old slot after passwd"
        );

        // A removed user: the slot goes, and a copy of the main file does not
        // open with their passphrase.
        let old = blob(&desk, ann_slot);
        desk.remove_user(&chris, "Ann").expect("remove");
        assert_eq!(
            on_disk(dir.path(), &old),
            Vec::<String>::new(),
            "slot after removal"
        );
        let (_copy, mut stolen) = copy_of_main_file(dir.path());
        assert!(
            stolen
                .unlock("Ann", &pass("ann second passphrase"))
                .is_err(),
            "a copy of the main file still opens with a removed user's passphrase"
        );

        // A replaced recovery code.
        let old = blob(
            &desk,
            "SELECT wrapped FROM key_slots WHERE kind = 'recovery'",
        );
        desk.recover(None, &code, &pass("a brand new passphrase"), fast())
            .expect("recover");
        assert_eq!(
            on_disk(dir.path(), &old),
            Vec::<String>::new(),
            "old recovery slot"
        );
        let chris = desk
            .unlock("Chris", &pass("a brand new passphrase"))
            .expect("unlock");

        // A deleted draft.
        let draft = desk.create_draft(&chris, &example()).expect("draft");
        let body = format!("SELECT body FROM reports WHERE id = '{draft}'");
        let old = blob(&desk, &body);
        desk.delete_draft(&chris, draft).expect("delete");
        assert_eq!(
            on_disk(dir.path(), &old),
            Vec::<String>::new(),
            "deleted draft"
        );

        // A purged report.
        let id = desk.create_draft(&chris, &example()).expect("draft");
        desk.submit(&chris, id).expect("submit");
        let hub = crate::testing::TestHub::new();
        hub.enrol(&mut desk, &chris);
        hub.deliver_all(&mut desk);
        let old = blob(
            &desk,
            &format!("SELECT body FROM reports WHERE id = '{id}'"),
        );
        desk.set_retention_days(&chris, 0).expect("retention");
        assert_eq!(desk.purge_expired(Utc::now()).expect("purge").len(), 1);
        assert_eq!(
            on_disk(dir.path(), &old),
            Vec::<String>::new(),
            "purged body"
        );
        let (_copy, mut stolen) = copy_of_main_file(dir.path());
        let s = stolen
            .unlock("Chris", &pass("a brand new passphrase"))
            .expect("unlock the copy");
        assert!(matches!(
            stolen.report(&s, id),
            Err(Error::WrongState { .. })
        ));
        drop(app);
    }

    #[test]
    fn a_body_moved_to_another_row_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = new_desk(dir.path());
        let s = desk
            .unlock("Chris", &pass("chris passphrase"))
            .expect("unlock");
        let a = desk.create_draft(&s, &example()).expect("a");
        let b = desk.create_draft(&s, &Report::default()).expect("b");
        desk.conn
            .execute(
                "UPDATE reports SET body = (SELECT body FROM reports WHERE id = ?1) WHERE id = ?2",
                params![a.to_string(), b.to_string()],
            )
            .expect("swap");
        assert!(matches!(desk.report(&s, b), Err(Error::Integrity(_))));
        desk.report(&s, a).expect("a still opens");
    }
}
