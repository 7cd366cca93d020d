//! The HIRC Desk engine: everything a reception desk does with reports, with
//! no user interface and no network.
//!
//! - [`model`]: report v1, its value lists and validation.
//! - [`vault`]: the desk key, passphrase slots and the recovery code.
//! - [`envelope`]: report bodies sealed to the desk key, bound to their row.
//! - [`desk`]: the store and what an unlocked user can do with it.
//! - [`audit`]: the hash-chained log of who did what.
//! - [`mod@reference`]: human references such as `CP-7K3M-QA`.
//!
//! Nothing here logs, prints or returns report content except through the
//! explicit read calls ([`Desk::report`]); errors never carry it.

#![forbid(unsafe_code)]

pub mod audit;
mod columns;
mod credential;
pub mod desk;
pub mod envelope;
pub mod erasure;
mod error;
pub mod evidence;
pub mod lock;
pub mod logging;
pub mod model;
pub mod outbox;
pub mod paths;
pub mod pdf;
pub mod reference;
pub mod retention;
pub mod set_aside;
pub mod slip;
mod store;
pub mod subject_access;
pub mod summary;
pub mod support;
#[cfg(test)]
mod testing;
pub mod time;
pub mod vault;
pub mod word_back;
pub mod words;

pub use credential::CREDENTIAL_FILE;
pub use desk::{
    Desk, DeskInfo, DeskSetup, DeskStatus, ReportListing, ReportRow, ReportView, Session, User,
};
pub use error::{Error, Result};
pub use store::SCHEMA_VERSION;
