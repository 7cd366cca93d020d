//! Shared fixtures for the engine's unit tests.

use std::path::Path;

use crate::desk::{Desk, DeskSetup, Session};
use crate::model::Report;
use crate::vault::{KdfCost, MIN_SCRYPT_LOG_N, Passphrase, RecoveryCode};

/// The cheapest scrypt allowed: tests unlock often.
pub(crate) fn fast() -> KdfCost {
    KdfCost::fixed(MIN_SCRYPT_LOG_N).expect("valid")
}

/// A passphrase.
pub(crate) fn pass(text: &str) -> Passphrase {
    Passphrase::new(text.into())
}

/// The shared example report.
pub(crate) fn example() -> Report {
    Report::from_json(include_bytes!("../tests/data/report-v1.json"))
        .expect("example")
        .0
}

/// A new desk for Castle Point CVS with coordinator Chris ("chris passphrase").
pub(crate) fn new_desk(dir: &Path) -> (Desk, RecoveryCode) {
    Desk::create(
        dir,
        &DeskSetup {
            centre_name: "Castle Point CVS",
            centre_code: "cp",
            coordinator: "Chris",
            passphrase: &pass("chris passphrase"),
            kdf: fast(),
        },
    )
    .expect("desk created")
}

/// A desk, Chris's session, and one sealed report (the example).
pub(crate) fn desk_with_sealed_report(dir: &Path) -> (Desk, Session, uuid::Uuid) {
    let (mut desk, _) = new_desk(dir);
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let id = desk.create_draft(&s, &example()).expect("draft");
    desk.submit(&s, id).expect("submit");
    (desk, s, id)
}
