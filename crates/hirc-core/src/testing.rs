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

/// Adds ambassador Aisha ("aisha passphrase") and signs her in: someone
/// who may read only the reports she took.
pub(crate) fn ambassador(desk: &mut Desk, s: &Session) -> Session {
    desk.add_user(
        s,
        "Aisha",
        crate::model::Role::Ambassador,
        &pass("aisha passphrase"),
        fast(),
    )
    .expect("user");
    desk.unlock("Aisha", &pass("aisha passphrase"))
        .expect("unlock")
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

/// A desk, Chris's session, and a draft of the example report.
pub(crate) fn desk_with_draft(dir: &Path) -> (Desk, Session, uuid::Uuid) {
    let (mut desk, _) = new_desk(dir);
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let id = desk.create_draft(&s, &example()).expect("draft");
    (desk, s, id)
}

/// A desk, Chris's session, and one sealed report (the example).
pub(crate) fn desk_with_sealed_report(dir: &Path) -> (Desk, Session, uuid::Uuid) {
    let (mut desk, s, id) = desk_with_draft(dir);
    desk.submit(&s, id).expect("submit");
    (desk, s, id)
}

/// A hub as far as the engine's tests need one: the partnership's key, the
/// hub's receipt key, and this desk's device id there.
pub(crate) struct TestHub {
    pub(crate) partnership: age::x25519::Identity,
    pub(crate) receipts: hirc_proto::sign::SigningKey,
    pub(crate) device_id: uuid::Uuid,
}

impl TestHub {
    pub(crate) fn new() -> Self {
        Self {
            partnership: age::x25519::Identity::generate(),
            receipts: hirc_proto::sign::SigningKey::generate(),
            device_id: uuid::Uuid::now_v7(),
        }
    }

    pub(crate) fn recipients(&self) -> Vec<String> {
        vec![self.partnership.to_public().to_string()]
    }

    /// Enrols `desk` (as `s`); returns how many payloads were prepared.
    pub(crate) fn enrol(&self, desk: &mut Desk, s: &Session) -> usize {
        self.enrol_result(desk, s, false).expect("enrol")
    }

    /// Enrols `desk`, replacing pinned keys if `replace`.
    pub(crate) fn enrol_result(
        &self,
        desk: &mut Desk,
        s: &Session,
        replace: bool,
    ) -> crate::Result<usize> {
        let recipients = self.recipients();
        let key = self.receipts.public();
        desk.enrol(
            s,
            &crate::outbox::Enrolment {
                url: "http://127.0.0.1:1",
                hub_name: "Essex hub",
                device_id: self.device_id,
                token: "hirc1_token",
                recipients: &recipients,
                ca_pem: None,
                receipt_key: Some(&key),
                device_key: None,
            },
            replace,
        )
    }

    /// The hub's signed receipt for an upload of `payload`.
    pub(crate) fn receipt(
        &self,
        report_id: uuid::Uuid,
        revision: u32,
        payload: &[u8],
    ) -> hirc_proto::Receipt {
        self.receipt_with(report_id, revision, payload, &[])
    }

    /// The hub's signed receipt for an upload of `payload` naming
    /// `evidence` (held whole).
    pub(crate) fn receipt_with(
        &self,
        report_id: uuid::Uuid,
        revision: u32,
        payload: &[u8],
        evidence: &[hirc_proto::EvidenceItem],
    ) -> hirc_proto::Receipt {
        let mut r = hirc_proto::Receipt {
            receipt_id: uuid::Uuid::now_v7(),
            report_id,
            revision,
            digest: hirc_proto::content_digest(payload),
            received_at: chrono::Utc::now(),
            device_id: Some(self.device_id),
            evidence: (!evidence.is_empty())
                .then(|| hirc_proto::evidence_manifest_digest(evidence)),
            signature: None,
        };
        self.receipts.sign_receipt(&mut r);
        r
    }

    /// Delivers every due upload with a signed receipt; returns how many.
    pub(crate) fn deliver_all(&self, desk: &mut Desk) -> usize {
        let due = desk.due_uploads(chrono::Utc::now(), true).expect("due");
        for u in &due {
            desk.record_delivery(
                u.report_id,
                u.revision,
                &self.receipt_with(u.report_id, u.revision, &u.payload, &u.evidence),
            )
            .expect("delivered");
        }
        due.len()
    }
}
