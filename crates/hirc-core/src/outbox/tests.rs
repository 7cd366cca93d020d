//! The outbox's tests: enrolment, delivery under checked receipts, refusals.

use rusqlite::params;

use super::*;
use crate::desk::{Desk, Session};
use crate::error::Error;
use crate::model::ReportState;
use crate::testing::{TestHub, desk_with_sealed_report, example, pass};
use crate::vault::encrypt_to;

fn setup() -> (tempfile::TempDir, Desk, Session, Uuid) {
    let dir = tempfile::tempdir().expect("tmp");
    let (desk, s, id) = desk_with_sealed_report(dir.path());
    (dir, desk, s, id)
}

#[test]
fn sealed_reports_wait_for_enrolment_then_upload_once_under_a_checked_receipt() {
    let (dir, mut desk, s, id) = setup();
    assert_eq!(
        desk.outbox_summary()
            .expect("summary")
            .waiting_for_enrolment,
        1
    );
    assert!(desk.due_uploads(Utc::now(), false).expect("due").is_empty());

    let hub = TestHub::new();
    assert_eq!(
        hub.enrol(&mut desk, &s),
        1,
        "the waiting report is prepared"
    );
    // The token is in the owner-only credential file, not in the store.
    let creds = desk.upload_credentials().expect("read").expect("enrolled");
    assert_eq!(creds.token(), "hirc1_token");
    assert!(!format!("{creds:?}").contains("hirc1_token"));
    let store = std::fs::read(desk.path()).expect("store");
    assert!(!store.windows(11).any(|w| w == b"hirc1_token"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(crate::CREDENTIAL_FILE))
            .expect("credential file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let due = desk.due_uploads(Utc::now(), false).expect("due");
    assert_eq!(due.len(), 1);
    let plain = age::decrypt(&hub.partnership, &due[0].payload).expect("decrypts");
    let text = String::from_utf8(plain).expect("utf8");
    assert!(
        text.find("\"consent\"") < text.find("\"report\""),
        "consent comes first"
    );
    assert!(text.contains("headscarf"));

    // A transient failure backs off; an explicit sync ignores the backoff.
    let later = Utc::now() + chrono::Duration::minutes(5);
    desk.record_upload_failure(id, 1, "the hub did not answer", Some(later))
        .expect("failure");
    assert!(desk.due_uploads(Utc::now(), false).expect("due").is_empty());
    let again = desk.due_uploads(Utc::now(), true).expect("due");
    assert_eq!(
        again[0].payload, due[0].payload,
        "a retry sends the very same bytes"
    );
    assert_eq!(again[0].attempts, 1);

    let receipt = hub.receipt(id, 1, &due[0].payload);
    assert_eq!(
        desk.record_delivery(id, 1, &receipt).expect("deliver"),
        Delivery::Recorded
    );
    assert_eq!(
        desk.record_delivery(id, 1, &receipt).expect("again"),
        Delivery::AlreadyRecorded,
        "idempotent"
    );
    let list = desk.list_reports(&s).expect("list");
    assert_eq!(list[0].row.state, ReportState::Delivered);
    let upload = list[0].upload.as_ref().expect("upload state");
    assert!(upload.checked);
    assert_eq!(
        upload.receipt.as_ref().map(|r| r.receipt_id),
        Some(receipt.receipt_id)
    );
    let summary = desk.outbox_summary().expect("summary");
    assert_eq!((summary.waiting, summary.delivered), (0, 1));
    assert!(desk.verify_audit(&s).expect("audit").is_ok());
}

/// From an outbox file (report ids, digests) anyone can write a receipt:
/// unsigned, signed with another key, for another report or another
/// desk. None marks anything delivered, so none can lead to a purge.
#[test]
fn a_forged_receipt_marks_nothing_delivered() {
    let (_dir, mut desk, s, id) = setup();
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let payload = desk.due_uploads(Utc::now(), true).expect("due")[0]
        .payload
        .clone();
    let mut unsigned = hub.receipt(id, 1, &payload);
    unsigned.signature = None;
    let forger = TestHub {
        device_id: hub.device_id,
        ..TestHub::new()
    };
    let other_desk = TestHub {
        device_id: Uuid::now_v7(),
        partnership: age::x25519::Identity::generate(),
        receipts: SigningKey::from_secret_base64(&hub.receipts.secret_base64()).expect("same hub"),
    };
    let mut altered = hub.receipt(id, 1, &payload);
    altered.received_at += chrono::Duration::seconds(1);
    for (what, receipt) in [
        // Signed by the hub, for bytes someone put under this desk's
        // name with a stolen token.
        (
            "for bytes this desk never sent",
            hub.receipt(id, 1, b"junk"),
        ),
        ("unsigned", unsigned),
        ("signed by another key", forger.receipt(id, 1, &payload)),
        ("altered after signing", altered),
        (
            "for another report",
            hub.receipt(Uuid::now_v7(), 1, &payload),
        ),
        ("for another desk", other_desk.receipt(id, 1, &payload)),
    ] {
        let err = desk
            .record_delivery(receipt.report_id, 1, &receipt)
            .expect_err(what);
        let expected = if what == "for bytes this desk never sent" {
            matches!(err, Error::ForeignBytes)
        } else {
            matches!(err, Error::ReceiptRefused(_))
        };
        assert!(expected, "{what}: {err}");
    }
    desk.set_retention_days(&s, 0).expect("retention");
    assert!(desk.purge_expired(Utc::now()).expect("purge").is_empty());
    let view = desk.report(&s, id).expect("still here");
    assert_eq!(view.row.state, ReportState::Sealed);
    assert_eq!(desk.due_uploads(Utc::now(), true).expect("due").len(), 1);
}

#[test]
fn sealing_prepares_the_upload_and_sending_needs_no_session() {
    let (_dir, mut desk, s, _) = setup();
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    hub.deliver_all(&mut desk);
    let id = desk.create_draft(&s, &example()).expect("draft");
    desk.submit(&s, id).expect("submit");
    drop(s);
    // Locked: nobody is signed in. The payload was made at sealing.
    let due = desk.due_uploads(Utc::now(), false).expect("due");
    assert_eq!(
        due.iter().map(|u| u.report_id).collect::<Vec<_>>(),
        vec![id]
    );
    assert_eq!(hub.deliver_all(&mut desk), 1);
    assert_eq!(desk.outbox_summary().expect("summary").delivered, 2);
}

/// A revision sealed but never encrypted for the hub (by an older
/// version, or set aside first) is prepared at the next unlock, so it
/// goes with nobody signed in.
#[test]
fn an_unprepared_revision_is_prepared_at_the_next_unlock() {
    let (_dir, mut desk, s, id) = setup();
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    desk.db()
        .execute("UPDATE outbox SET payload = NULL", [])
        .expect("as an older version left it");
    assert!(desk.due_uploads(Utc::now(), true).expect("due").is_empty());
    drop(s);
    desk.unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let due = desk.due_uploads(Utc::now(), true).expect("due");
    assert_eq!(
        due.iter().map(|u| u.report_id).collect::<Vec<_>>(),
        vec![id]
    );
}

#[test]
fn a_desk_enrolled_before_moves_its_token_out_at_the_next_unlock() {
    let (dir, mut desk, s, _) = setup();
    // The old layout: the token encrypted to the desk key in the store,
    // no credential file, no receipt key.
    let sealed = encrypt_to(s.keys.recipient(), b"hirc1_old_token").expect("seal");
    desk.db()
        .execute(
            "INSERT INTO hub (singleton, url, hub_name, device_id, token, recipients, enrolled_at)
             VALUES (1, 'http://127.0.0.1:1', 'hub', ?1, ?2, ?3, '2026-01-01T00:00:00.000Z')",
            params![
                Uuid::now_v7().to_string(),
                sealed,
                serde_json::to_string(&TestHub::new().recipients()).expect("json")
            ],
        )
        .expect("old enrolment");
    assert!(matches!(
        desk.upload_credentials(),
        Err(Error::CredentialMissing)
    ));
    drop(s);
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let creds = desk.upload_credentials().expect("read").expect("enrolled");
    assert_eq!(creds.token(), "hirc1_old_token");
    assert!(creds.link.receipt_key.is_none(), "to be fetched and pinned");
    let token: Vec<u8> = desk
        .db()
        .query_row("SELECT token FROM hub", [], |r| r.get(0))
        .expect("token column");
    assert!(token.is_empty(), "the store no longer holds it");
    assert!(dir.path().join(crate::CREDENTIAL_FILE).exists());
    // The receipt key is pinned once, on first sight, never replaced.
    let key = SigningKey::generate().public();
    assert!(desk.pin_receipt_key(&key).expect("pin"));
    assert!(
        !desk
            .pin_receipt_key(&SigningKey::generate().public())
            .expect("again")
    );
    assert_eq!(
        desk.hub().expect("hub").and_then(|h| h.receipt_key),
        Some(key)
    );
    assert!(desk.verify_audit(&s).expect("audit").is_ok());
}

#[test]
fn refusals_stop_retries_and_changed_keys_need_consent() {
    let (_dir, mut desk, s, id) = setup();
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let before = desk.due_uploads(Utc::now(), true).expect("due")[0]
        .payload
        .clone();
    desk.record_upload_failure(id, 1, "this desk has been revoked", None)
        .expect("refused");
    assert!(desk.due_uploads(Utc::now(), true).expect("due").is_empty());
    let summary = desk.outbox_summary().expect("summary");
    assert_eq!(summary.refused, 1);
    assert_eq!(
        summary.last_error.as_deref(),
        Some("this desk has been revoked")
    );

    let other = TestHub {
        device_id: hub.device_id,
        ..TestHub::new()
    };
    assert!(matches!(
        other.enrol_result(&mut desk, &s, false),
        Err(Error::RecipientsChanged)
    ));
    assert_eq!(
        other.enrol_result(&mut desk, &s, true).expect("replace"),
        1,
        "re-encrypted for the new keys"
    );
    let due = desk.due_uploads(Utc::now(), false).expect("due");
    assert_eq!(due.len(), 1, "and queued again");
    assert_ne!(due[0].payload, before);
    // The hub may hold the earlier encryption already: its receipt is
    // still this desk's (the bytes were its own).
    assert_eq!(
        desk.record_delivery(id, 1, &other.receipt(id, 1, &before))
            .expect("an earlier encryption of its own"),
        Delivery::Recorded
    );
    assert!(desk.due_uploads(Utc::now(), true).expect("due").is_empty());
}

#[test]
fn an_outbox_file_leaves_out_what_it_cannot_carry_and_says_why() {
    let (_dir, mut desk, s, first) = setup();
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    desk.db()
        .execute("UPDATE hub SET device_key_registered = 1", [])
        .expect("registered");
    // In this crate's tests a file carries 4 MiB. One report's evidence is
    // larger than that alone (it would make every file too large for the
    // hub), the next fits, and the one after does not fit beside it.
    let file_of = |mib: f64| {
        let mut bytes = b"%PDF-1.4\n".to_vec();
        bytes.resize((mib * 1024.0 * 1024.0) as usize, b'x');
        bytes
    };
    let mut sealed = Vec::new();
    for mib in [3.5, 1.5, 1.5] {
        let id = desk.create_draft(&s, &example()).expect("draft");
        desk.add_evidence(&s, id, std::io::Cursor::new(file_of(mib)), None)
            .expect("evidence");
        sealed.push((id, desk.submit(&s, id).expect("sealed")));
    }
    let export = desk.outbox_file(&s).expect("file");
    let carried: Vec<Uuid> = export.file.reports.iter().map(|r| r.report_id).collect();
    assert_eq!(carried, vec![first, sealed[1].0], "what fits, in order");
    assert_eq!(export.too_large, vec![sealed[0].1.to_string()]);
    assert_eq!(export.next_file, 1);
    let size: usize = export
        .file
        .reports
        .iter()
        .map(|r| r.payload.len() + r.evidence.iter().map(|e| e.payload.len()).sum::<usize>())
        .sum();
    assert!(size <= 4 * 1024 * 1024, "{size} bytes carried");
}
