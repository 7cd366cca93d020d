use chrono::Utc;
use rusqlite::params;

use super::*;
use crate::testing::{TestHub, ambassador, desk_with_sealed_report};

fn count(desk: &Desk, sql: &str, id: Uuid) -> i64 {
    desk.db()
        .query_row(sql, params![id.to_string()], |r| r.get(0))
        .expect("count")
}

/// A desk, Chris's session, and one sealed report with its reference.
fn sealed(dir: &std::path::Path) -> (Desk, Session, Uuid, String) {
    let (desk, s, id) = desk_with_sealed_report(dir);
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    (desk, s, id, reference)
}

/// The hub's receipt for `notice`, signed with `hub`'s receipt key.
fn receipt_for(hub: &TestHub, notice: &ErasureNotice, deleted: u32) -> ErasureReceipt {
    let mut r = ErasureReceipt {
        report_id: notice.report_id,
        device_id: hub.device_id,
        erased_at: notice.erased_at,
        received_at: Utc::now(),
        revisions_deleted: deleted,
        signature: None,
    };
    hub.receipts.sign_erasure_receipt(&mut r);
    r
}

#[test]
fn an_erased_report_leaves_only_the_fact_that_it_was_erased() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id, reference) = sealed(dir.path());
    // A follow-up being typed goes with it.
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    assert_eq!(hub.deliver_all(&mut desk), 1);
    let draft = desk.follow_up(&s, &reference, None).expect("follow-up");

    // An ambassador may not erase.
    let aisha = ambassador(&mut desk, &s);
    let err = desk
        .erase_report(&aisha, &reference)
        .expect_err("not hers to erase");
    assert!(matches!(err, Error::NotPermitted { .. }), "{err}");

    let erased = desk
        .erase_report(&s, &reference.to_lowercase())
        .expect("erase");
    assert_eq!(erased.reference, reference);
    assert!(erased.for_the_hub);
    for (what, sql) in [
        ("the report", "SELECT count(*) FROM reports WHERE id = ?1"),
        (
            "its follow-up",
            "SELECT count(*) FROM reports WHERE follows = ?1",
        ),
        (
            "its outbox entries",
            "SELECT count(*) FROM outbox WHERE report_id = ?1",
        ),
        (
            "its statuses",
            "SELECT count(*) FROM statuses WHERE report_id = ?1",
        ),
    ] {
        assert_eq!(count(&desk, sql, id), 0, "{what} is still held");
    }
    assert!(
        desk.report(&s, draft).is_err(),
        "the follow-up draft is gone"
    );
    // Asked for again, the reference says what became of it.
    let err = desk.find_report(&s, &reference).expect_err("erased");
    assert!(matches!(err, Error::Erased { .. }), "{err}");
    assert!(
        err.to_string().contains("erased at the person's request"),
        "{err}"
    );
    assert!(err.to_string().contains("goes with the next sync"), "{err}");
    // Erasing it again says the same, and changes nothing.
    assert!(matches!(
        desk.erase_report(&s, &reference),
        Err(Error::Erased { .. })
    ));
    let log = desk.audit_log(&s).expect("audit");
    assert_eq!(log.iter().filter(|e| e.action == "erased").count(), 1);
    assert_eq!(desk.erasures(&s).expect("list"), vec![erased]);
}

#[test]
fn the_notice_is_signed_by_the_desk_and_only_a_receipt_from_the_pinned_key_confirms_it() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id, reference) = sealed(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    // Not delivered yet: the notice still goes (the report may have left
    // on a stick, or an upload may be on its way).
    desk.erase_report(&s, &reference).expect("erase");
    assert_eq!(desk.due_uploads(Utc::now(), true).expect("due").len(), 0);
    let pending = desk.pending_erasures().expect("pending");
    assert_eq!(pending.len(), 1);
    let notice = &pending[0];
    assert_eq!(notice.report_id, id);
    let device_key = desk.device_key(&s).expect("key").public();
    assert_eq!(
        hirc_proto::sign::verify_erasure(&device_key, notice),
        Ok(())
    );

    // Changed after signing, signed by another key, or for another report:
    // not a confirmation.
    let mut forged = receipt_for(&hub, notice, 0);
    forged.revisions_deleted = 1;
    assert!(!desk.record_erasure_receipt(&forged).expect("forged"));
    let stranger = TestHub::new();
    assert!(
        !desk
            .record_erasure_receipt(&receipt_for(&stranger, notice, 0))
            .expect("stranger")
    );
    let mut another = notice.clone();
    another.report_id = Uuid::now_v7();
    assert!(
        !desk
            .record_erasure_receipt(&receipt_for(&hub, &another, 0))
            .expect("another")
    );
    assert_eq!(desk.pending_erasures().expect("pending").len(), 1);

    // A refusal is kept with its reason, and waits for the next enrolment.
    desk.record_erasure_failure(id, "the hub refused (HTTP 422): enrol again", true)
        .expect("refused");
    assert!(desk.pending_erasures().expect("pending").is_empty());
    assert_eq!(
        desk.erasures(&s).expect("list")[0].last_error.as_deref(),
        Some("the hub refused (HTTP 422): enrol again")
    );
    hub.enrol(&mut desk, &s);
    assert_eq!(desk.pending_erasures().expect("pending").len(), 1);

    assert!(
        desk.record_erasure_receipt(&receipt_for(&hub, notice, 0))
            .expect("receipt")
    );
    assert!(desk.pending_erasures().expect("pending").is_empty());
    let err = desk.find_report(&s, &reference).expect_err("erased");
    assert!(
        err.to_string()
            .contains("the hub confirmed it erased its copy"),
        "{err}"
    );
    let log = desk.audit_log(&s).expect("audit");
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "erasure_confirmed")
            .count(),
        1
    );
    // The same receipt again changes nothing.
    assert!(
        !desk
            .record_erasure_receipt(&receipt_for(&hub, notice, 0))
            .expect("again")
    );
}

#[test]
fn a_desk_never_enrolled_erases_at_home_and_sends_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, _, reference) = sealed(dir.path());
    let erased = desk.erase_report(&s, &reference).expect("erase");
    assert!(!erased.for_the_hub);
    assert!(desk.pending_erasures().expect("pending").is_empty());
    // Enrolled later, there is still nothing to send: nothing ever left.
    TestHub::new().enrol(&mut desk, &s);
    assert!(desk.pending_erasures().expect("pending").is_empty());
    let err = desk.find_report(&s, &reference).expect_err("erased");
    assert!(!err.to_string().contains("hub"), "{err}");
}

#[test]
fn a_report_that_will_not_open_is_erased_all_the_same() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id, reference) = sealed(dir.path());
    // Its body and facts damaged: it would be set aside.
    desk.db()
        .execute(
            "UPDATE reports SET body = x'00', facts = x'00' WHERE id = ?1",
            [id.to_string()],
        )
        .expect("damage");
    desk.erase_report(&s, &reference).expect("erased");
    assert_eq!(
        count(&desk, "SELECT count(*) FROM reports WHERE id = ?1", id),
        0
    );
}

#[test]
fn a_receipt_that_erased_fewer_revisions_than_were_delivered_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, _, reference) = sealed(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    assert_eq!(hub.deliver_all(&mut desk), 1);
    desk.erase_report(&s, &reference).expect("erase");
    let notice = desk.pending_erasures().expect("pending").remove(0);
    // The hub this desk is enrolled with now never held it (another hub,
    // or another enrolment held it): it erased nothing.
    assert!(
        desk.record_erasure_receipt(&receipt_for(&hub, &notice, 0))
            .expect("receipt")
    );
    let err = desk.find_report(&s, &reference).expect_err("erased");
    assert!(
        err.to_string()
            .contains("the hub erased 0 of the 1 revision(s)"),
        "{err}"
    );
    assert!(desk.pending_erasures().expect("pending").is_empty());
}

#[test]
fn an_enrolment_with_another_device_key_signs_the_waiting_notices_again() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, _, reference) = sealed(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    desk.erase_report(&s, &reference).expect("erase");
    // An enrolment file brings a key the hub made for this desk.
    let new_key = hirc_proto::sign::SigningKey::generate();
    desk.store_device_key(&s, &new_key).expect("new key");
    hub.enrol(&mut desk, &s);
    let notice = desk.pending_erasures().expect("pending").remove(0);
    assert_eq!(
        hirc_proto::sign::verify_erasure(&new_key.public(), &notice),
        Ok(())
    );
}

#[test]
fn an_erasure_is_sent_again_with_its_date_after_the_hub_lost_it() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, _, reference) = sealed(dir.path());
    // Not enrolled: nothing went to a hub, so nothing goes again.
    let err = desk
        .resend_erasures(&s, Some(&reference))
        .expect_err("not enrolled");
    assert!(err.to_string().contains("not enrolled"), "{err}");
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    // Not erased: said, with what to do.
    let err = desk
        .resend_erasures(&s, Some(&reference))
        .expect_err("not erased");
    assert!(err.to_string().contains("has not been erased"), "{err}");
    let erased = desk.erase_report(&s, &reference).expect("erase");
    let notice = desk.pending_erasures().expect("pending").remove(0);
    assert!(
        desk.record_erasure_receipt(&receipt_for(&hub, &notice, 0))
            .expect("receipt")
    );
    assert!(desk.pending_erasures().expect("pending").is_empty());
    // Ambassadors may not.
    let amb = ambassador(&mut desk, &s);
    assert!(matches!(
        desk.resend_erasures(&amb, None),
        Err(Error::NotPermitted { .. })
    ));

    // The hub was restored from a backup older than the erasure.
    let again = desk.resend_erasures(&s, None).expect("resend").again;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].reference, reference);
    assert_eq!(again[0].confirmed_at, None);
    let resent = desk.pending_erasures().expect("pending");
    assert_eq!(resent.len(), 1, "the notice goes with the next sync");
    assert_eq!(resent[0].erased_at, erased.erased_at, "dated when erased");
    let device_key = desk.device_key(&s).expect("key").public();
    assert_eq!(
        hirc_proto::sign::verify_erasure(&device_key, &resent[0]),
        Ok(())
    );
    let listed = desk.erasures(&s).expect("list");
    assert_eq!(listed[0].confirmed_at, None);
    assert!(!listed[0].refused);
    // The restored hub erases it again and confirms.
    assert!(
        desk.record_erasure_receipt(&receipt_for(&hub, &resent[0], 1))
            .expect("receipt")
    );
    assert!(desk.erasures(&s).expect("list")[0].confirmed_at.is_some());
    let log = desk.audit_log(&s).expect("audit");
    let resend = log
        .iter()
        .find(|e| e.action == "erasure_resent")
        .expect("audited");
    assert!(
        resend
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("had confirmed"),
        "{resend:?}"
    );
    // A reference never erased nor held is unknown.
    let other = crate::reference::Reference::generate("CP");
    assert!(matches!(
        desk.resend_erasures(&s, Some(other.as_str())),
        Err(Error::UnknownReport(_))
    ));
}

#[test]
fn an_erasure_made_under_an_earlier_device_key_is_not_sent_again() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, _, reference) = sealed(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    desk.erase_report(&s, &reference).expect("erase");
    let notice = desk.pending_erasures().expect("pending").remove(0);
    assert!(
        desk.record_erasure_receipt(&receipt_for(&hub, &notice, 0))
            .expect("receipt")
    );
    // Enrolled again since, with a key the hub made: the hub knows the
    // erasure under the old key, and would take a notice under the new one
    // for another desk's (erasing nothing, and saying so wrongly).
    let new_key = hirc_proto::sign::SigningKey::generate();
    desk.store_device_key(&s, &new_key).expect("new key");
    hub.enrol(&mut desk, &s);
    let err = desk
        .resend_erasures(&s, Some(&reference))
        .expect_err("another key");
    assert!(err.to_string().contains("another device key"), "{err}");
    let resent = desk.resend_erasures(&s, None).expect("all");
    assert!(resent.again.is_empty());
    assert_eq!(resent.under_another_key, [reference]);
    // Left as it was: still confirmed, nothing to send.
    assert!(desk.pending_erasures().expect("pending").is_empty());
    assert!(desk.erasures(&s).expect("list")[0].confirmed_at.is_some());
}
