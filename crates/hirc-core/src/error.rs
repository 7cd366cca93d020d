//! The engine's one error type.
//!
//! Every message is written for the person at the desk or the IT volunteer
//! looking after it: it says what went wrong and, where there is one, what to
//! do next. No message ever carries report content or a personal field, so an
//! error can be shown, logged or printed without leaking anything.
//!
//! The same messages reach the app and the command line, so none names a
//! command or a flag: `hirc` adds its own advice when it prints one.

use std::path::PathBuf;

use crate::model::ValidationErrors;

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the desk engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// There is no store at the given place yet.
    #[error("no desk has been set up at {} yet", path.display())]
    NotInitialised {
        /// Where the store was looked for.
        path: PathBuf,
    },
    /// `init` was asked to create a desk where one already exists.
    #[error(
        "a desk already exists at {}; it was left untouched",
        path.display()
    )]
    AlreadyInitialised {
        /// The existing store.
        path: PathBuf,
    },
    /// The file is not a SQLite database at all.
    #[error(
        "{} is not a HIRC Desk store (it is not a SQLite database); it was left untouched",
        path.display()
    )]
    NotAStore {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The file is a SQLite database that belongs to something else.
    #[error(
        "{} is a SQLite database, but not a HIRC Desk store; it was left untouched",
        path.display()
    )]
    ForeignStore {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The store was written by a newer HIRC Desk.
    #[error(
        "this desk's store has schema version {found}, but this HIRC Desk only knows up to {supported}; install the newer HIRC Desk that wrote it"
    )]
    StoreTooNew {
        /// The version in the file.
        found: i64,
        /// The newest version this build can read.
        supported: i64,
    },
    /// SQLite found the file damaged.
    #[error(
        "the desk's store is damaged and cannot be read safely ({detail}); nothing was changed: restore the data directory from a backup or ask your IT volunteer"
    )]
    Corrupt {
        /// SQLite's own description (never content).
        detail: String,
    },
    /// The disk that holds the desk has no room left.
    #[error(
        "the disk that holds the desk ({}) is full: free some space on it, then try again; everything saved before this is safe",
        path.display()
    )]
    DiskFull {
        /// The desk's data directory.
        path: PathBuf,
    },
    /// Any other database failure (made only by `classify_sqlite`, which
    /// `?` goes through, so a damaged file never arrives as this).
    #[error("the desk's store could not be used: {0}")]
    Database(rusqlite::Error),
    /// A file-system failure.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The passphrase (or recovery code) did not open the slot.
    #[error("wrong passphrase for {user}; nothing was changed")]
    WrongPassphrase {
        /// The user whose slot was tried.
        user: String,
    },
    /// The recovery code did not open the recovery slot.
    #[error("that recovery code does not open this desk; nothing was changed")]
    WrongRecoveryCode,
    /// No (active) user by that name.
    #[error("there is no user called {name:?} at this desk")]
    UnknownUser {
        /// The name that was asked for.
        name: String,
    },
    /// A user by that name already exists.
    #[error("there is already a user called {name:?} at this desk")]
    UserExists {
        /// The name that was asked for.
        name: String,
    },
    /// The acting user may not do this.
    #[error("{action} needs a coordinator; {user} is an ambassador")]
    NotPermitted {
        /// What was attempted.
        action: &'static str,
        /// The acting user.
        user: String,
    },
    /// Removing the user would leave the desk without a coordinator.
    #[error("{name} is the last coordinator; add another coordinator before removing them")]
    LastCoordinator {
        /// The coordinator who would have been removed.
        name: String,
    },
    /// A passphrase that does not meet the rules.
    #[error("{0}")]
    WeakPassphrase(&'static str),
    /// An input that is not well-formed (names, codes, ids).
    #[error("{0}")]
    InvalidInput(String),
    /// A file refused as evidence: `rule` names why (a stable word the app
    /// words in the person's language), `message` says it for the command
    /// line, with what to do instead.
    #[error("{message}")]
    EvidenceRefused {
        /// Which rule it breaks (`evidence_heic`, `evidence_file_too_large`…).
        rule: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The recovery code was used without saying which coordinator's
    /// passphrase to set, and the desk has more than one.
    #[error("this desk has several coordinators; say whose passphrase to set")]
    WhichCoordinator,
    /// Another save of the same report (another window, another process)
    /// was committed between reading the report and writing it.
    #[error(
        "the report was changed elsewhere at the same moment; open it again and repeat the change"
    )]
    Conflict {
        /// The report.
        id: String,
    },
    /// Text that is not a report reference at all.
    #[error("a reference looks like CP-7K3M-QA (the centre's code, then six letters and digits)")]
    NotAReference,
    /// A reference whose check character does not match: one character was
    /// misread or mistyped.
    #[error(
        "that reference has a mistyped character (its check character does not match); read it again from the slip"
    )]
    MistypedReference,
    /// No report with that id or reference.
    #[error("there is no report {0} at this desk")]
    UnknownReport(String),
    /// The report was erased at the person's request: only the fact of it
    /// remains.
    #[error(
        "report {reference} was erased at the person's request on {erased_on}; nothing of it is held at this desk{hub}"
    )]
    Erased {
        /// Its reference.
        reference: String,
        /// The day it was erased.
        erased_on: String,
        /// What the hub has said, if anything (", and the hub confirmed
        /// it erased its copy on …").
        hub: String,
    },
    /// A prefix that matches more than one report.
    #[error("{0} matches more than one report; give more of the id")]
    AmbiguousReport(String),
    /// The report is not in a state that allows the change.
    #[error("report {id} is {state}, so it cannot be {action}")]
    WrongState {
        /// The report.
        id: String,
        /// Its state.
        state: &'static str,
        /// What was attempted (past participle).
        action: &'static str,
    },
    /// The report does not pass validation.
    #[error("the report is not ready:\n{0}")]
    Invalid(ValidationErrors),
    /// Input JSON that could not be read as a report.
    #[error("{0}")]
    BadReportJson(String),
    /// A ciphertext failed to decrypt or did not match its row.
    #[error(
        "a stored record could not be decrypted or does not belong where it was found ({0}); the store may have been tampered with"
    )]
    Integrity(&'static str),
    /// The record was written by a newer HIRC Desk.
    #[error(
        "a report was saved by a newer HIRC Desk (format {found}, this one reads up to {supported}); upgrade HIRC Desk"
    )]
    ReportTooNew {
        /// The envelope's schema version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Re-enrolment would change the pinned partnership keys.
    #[error(
        "the hub gave different partnership keys from the ones this desk pinned, so nothing was changed; check the new fingerprint with the partnership before accepting them"
    )]
    RecipientsChanged,
    /// A hub's receipt did not check, so nothing was marked delivered.
    #[error("a receipt was refused ({0}); the report stays queued and is sent again")]
    ReceiptRefused(String),
    /// The hub holds other bytes under one of this desk's reports than the
    /// desk ever made (uploaded with its token from elsewhere): nothing is
    /// marked delivered, and asking again would get the same answer.
    #[error(
        "the hub holds other bytes under this report than this desk ever sent (its upload credential may have been used elsewhere: ask the partnership to revoke the device and enrol the desk again, then retry refused reports)"
    )]
    ForeignBytes,
    /// The desk is enrolled but its upload credential file is missing or
    /// names another enrolment.
    #[error(
        "this desk's upload credential (hub-credential.json in the data directory) is missing or out of date: if the desk was enrolled before this version, unlock it once to move the credential there; otherwise enrol it again"
    )]
    CredentialMissing,
    /// Writing an export file failed.
    #[error("could not write the export: {0}")]
    Export(String),
    /// A folder chosen for files that will not do there (other users can
    /// open it, or a file of the same name is in it); nothing was written.
    /// `rule` names why (`folder_open_to_others`, `folder_taken`: stable
    /// words the app words in the person's language), `message` says it
    /// for the command line, with the place.
    #[error("{message}")]
    UnsuitableFolder {
        /// Why the place will not do.
        rule: &'static str,
        /// What is wrong, where, and what to do.
        message: String,
    },
    /// An encryption failure (should not happen; never carries content).
    #[error("encryption failed: {0}")]
    Crypto(String),
}

impl Error {
    /// The wrapped I/O error with what we were doing.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether this error means the person typed the wrong secret.
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            Self::WrongPassphrase { .. } | Self::WrongRecoveryCode | Self::UnknownUser { .. }
        )
    }

    /// Whether this error is about the report's content failing validation.
    pub fn is_validation(&self) -> bool {
        matches!(self, Self::Invalid(_) | Self::BadReportJson(_))
    }
}

/// Every SQLite error passes through `classify_sqlite`, so `?` on a
/// rusqlite call can never skip the classification.
impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        classify_sqlite(err)
    }
}

/// Maps SQLite's "this file is damaged/not a database" codes to [`Error::Corrupt`]
/// so callers never see them as a generic database failure.
pub(crate) fn classify_sqlite(err: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    // A column that does not hold what the store writes (see `columns`).
    match &err {
        rusqlite::Error::FromSqlConversionFailure(_, _, e) => {
            return Error::Integrity(match e.downcast_ref::<crate::columns::Unreadable>() {
                Some(what) => what.0,
                None => "a stored value is not of its kind",
            });
        }
        rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::IntegralValueOutOfRange(..) => {
            return Error::Integrity("a stored value is not of its kind");
        }
        _ => {}
    }
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => Error::Corrupt {
            detail: plain_detail(&err),
        },
        _ => Error::Database(err),
    }
}

/// SQLite's description without its numeric code, which means nothing to
/// the person reading it.
fn plain_detail(err: &rusqlite::Error) -> String {
    match err {
        rusqlite::Error::SqliteFailure(e, _) => match e.code {
            rusqlite::ErrorCode::DatabaseCorrupt => "a page of the file is damaged".into(),
            rusqlite::ErrorCode::NotADatabase => "the file is not a database".into(),
            _ => err.to_string(),
        },
        other => other.to_string(),
    }
}

/// Below this much free space, a failed write is put down to a full disk.
const NEARLY_FULL_BYTES: u64 = 1024 * 1024;

/// Says "the disk is full" where that is why a store operation failed:
/// SQLite reports a full disk as SQLITE_FULL, or (when the WAL index cannot
/// grow) as one of many I/O errors, so the free space is checked too.
pub(crate) fn explain_disk(err: Error, data_dir: &std::path::Path) -> Error {
    let suspicious = match &err {
        Error::Database(e) => matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
        ),
        Error::Io { source, .. } => {
            source.raw_os_error() == Some(28) || source.kind() == std::io::ErrorKind::StorageFull
        }
        _ => false,
    };
    let full = match &err {
        Error::Database(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) => true,
        _ => suspicious && free_space(data_dir).is_some_and(|free| free < NEARLY_FULL_BYTES),
    };
    if full {
        tracing::error!("the disk holding the desk is full");
        Error::DiskFull {
            path: data_dir.to_path_buf(),
        }
    } else {
        err
    }
}

/// Bytes free for this user on the file system holding `dir`.
#[cfg(unix)]
fn free_space(dir: &std::path::Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Elsewhere the error is shown as SQLite gave it.
#[cfg(not(unix))]
fn free_space(_dir: &std::path::Path) -> Option<u64> {
    None
}
