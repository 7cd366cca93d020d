use chrono::SubsecRound;

use super::*;
use crate::testing::{TestHub, desk_with_sealed_report, pass};

/// A status as `hirc-hub status set` makes it: encrypted to the desk's
/// status key, signed with the hub's receipt key.
fn notice(
    hub: &TestHub,
    recipient: &str,
    report_id: Uuid,
    reference: &str,
    seq: i64,
    state: StatusState,
    note: Option<&str>,
) -> StatusNotice {
    let status_id = Uuid::now_v7();
    let set_at = Utc::now().trunc_subsecs(3);
    let plain = serde_json::to_vec(&StatusPlain {
        format: "hirc-status".into(),
        status_id,
        report_id,
        reference: reference.into(),
        state,
        note: note.map(str::to_owned),
        set_at,
    })
    .expect("json");
    let to: age::x25519::Recipient = recipient.parse().expect("recipient");
    let body = encrypt_to(&to, &plain).expect("encrypt");
    let mut n = StatusNotice {
        status_id,
        seq,
        report_id,
        set_at,
        body: STANDARD.encode(body),
        signature: String::new(),
    };
    hub.receipts.sign_status(&mut n);
    n
}

#[test]
fn word_back_is_kept_as_it_came_and_opens_on_the_reports_page() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    // Not enrolled: nothing to register.
    assert_eq!(desk.status_key_to_register().expect("key"), None);
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    hub.deliver_all(&mut desk);

    // The worker makes and registers the key with nobody signed in.
    let recipient = desk.status_key_to_register().expect("key").expect("made");
    assert!(recipient.starts_with("age1"));
    assert_eq!(
        desk.status_key_to_register().expect("again").as_deref(),
        Some(recipient.as_str()),
        "the same key until the hub has it"
    );
    desk.status_key_registered().expect("registered");
    assert_eq!(desk.status_key_to_register().expect("done"), None);

    let said = notice(
        &hub,
        &recipient,
        id,
        &reference,
        7,
        StatusState::PassedToPolice,
        Some("PC Smith has it"),
    );
    assert_eq!(
        desk.record_statuses(std::slice::from_ref(&said))
            .expect("kept"),
        1
    );
    assert_eq!(
        desk.record_statuses(std::slice::from_ref(&said))
            .expect("again"),
        0,
        "kept once"
    );
    assert_eq!(desk.statuses_after().expect("seq"), 7);
    let page = desk.find_report(&s, &reference).expect("page");
    assert_eq!(page.statuses.len(), 1);
    assert_eq!(page.statuses[0].state, "passed_to_police");
    assert_eq!(page.statuses[0].note.as_deref(), Some("PC Smith has it"));
    assert_eq!(page.statuses[0].set_at, said.set_at);
    // In the store it is ciphertext.
    let raw: Vec<u8> = desk
        .db()
        .query_row("SELECT body FROM statuses", [], |r| r.get(0))
        .expect("row");
    assert!(!raw.windows(8).any(|w| w == b"PC Smith"));
}

#[test]
fn word_back_that_does_not_check_is_skipped_and_not_asked_for_again() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let recipient = desk.status_key_to_register().expect("key").expect("made");

    // Signed by someone else; about a report this desk never sent; a body
    // that is not base64; a status naming another report inside.
    let mut forged = notice(
        &hub,
        &recipient,
        id,
        &reference,
        1,
        StatusState::Closed,
        None,
    );
    forged.signature = TestHub::new().receipts.public();
    let foreign = notice(
        &hub,
        &recipient,
        Uuid::now_v7(),
        &reference,
        2,
        StatusState::Closed,
        None,
    );
    let mut junk = notice(
        &hub,
        &recipient,
        id,
        &reference,
        3,
        StatusState::Closed,
        None,
    );
    junk.body = "!!".into();
    hub.receipts.sign_status(&mut junk);
    let swapped = notice(
        &hub,
        &recipient,
        id,
        "CP-0000-00",
        4,
        StatusState::Closed,
        None,
    );
    assert_eq!(
        desk.record_statuses(&[forged, foreign, junk, swapped])
            .expect("record"),
        1,
        "only the well-signed one about this desk's report is kept"
    );
    assert_eq!(desk.statuses_after().expect("seq"), 4, "read past all four");
    // The one kept names another reference inside: it is left out.
    assert!(
        desk.find_report(&s, &reference)
            .expect("page")
            .statuses
            .is_empty()
    );
}

#[test]
fn home_lists_the_reports_with_news_since_the_last_sign_in() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let recipient = desk.status_key_to_register().expect("key").expect("made");
    desk.record_statuses(&[notice(
        &hub,
        &recipient,
        id,
        &reference,
        1,
        StatusState::Received,
        None,
    )])
    .expect("record");
    // Chris signs in again: the status came before that sign-in, but after
    // the one before it.
    let again = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let news = desk.news(&again).expect("news");
    assert_eq!(news.len(), 1);
    assert_eq!(news[0].reference, reference);
    assert_eq!(news[0].state, "received");
    // And once more: nothing new since.
    let third = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    assert!(desk.news(&third).expect("news").is_empty());
}
