use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::*;
use crate::testing::{TestHub, ambassador, desk_with_sealed_report};

/// The payload the hub would get for `revision`, as the partnership reads it.
fn upload(desk: &Desk, hub: &TestHub, id: Uuid, revision: u32) -> Value {
    let due = desk.due_uploads(Utc::now(), true).expect("due");
    let u = due
        .iter()
        .find(|u| u.report_id == id && u.revision == revision)
        .expect("queued");
    let plain = age::decrypt(&hub.partnership, &u.payload).expect("decrypts");
    serde_json::from_slice(&plain).expect("json")
}

fn enrolled() -> (tempfile::TempDir, Desk, Session, Uuid, String, TestHub) {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    (dir, desk, s, id, reference, hub)
}

#[test]
fn a_follow_up_is_the_next_revision_of_the_same_report_with_its_note() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    assert_eq!(hub.deliver_all(&mut desk), 1);

    let draft = desk
        .follow_up(&s, &reference.to_lowercase(), None)
        .expect("follow-up");
    assert_ne!(draft, id);
    // Asked again, the same draft comes back (one follow-up at a time).
    assert_eq!(desk.follow_up(&s, &reference, None).expect("again"), draft);
    // Pre-filled with the report as held.
    let held = desk
        .report(&s, draft)
        .expect("draft")
        .report
        .expect("content");
    assert_eq!(held.description, crate::testing::example().description);
    assert_eq!(held.what_changed, None);

    // Without a note of what changed, it is not sealed.
    let err = desk.submit(&s, draft).expect_err("no note");
    assert!(
        matches!(&err, Error::Invalid(v) if v.0.iter().any(|f| f.rule == "what_changed_missing")),
        "{err}"
    );
    desk.patch_draft(
        &s,
        draft,
        &json!({"what_changed": "The men came back a week later.", "repeat": "happened_before"}),
    )
    .expect("patch");
    assert_eq!(desk.submit(&s, draft).expect("sealed").as_str(), reference);

    let row = desk.row(id).expect("row");
    assert_eq!((row.revision, row.state), (2, ReportState::Sealed));
    assert!(desk.row(draft).is_err(), "the draft's own row is gone");
    let sent = upload(&desk, &hub, id, 2);
    assert_eq!(sent["revision"], 2);
    assert_eq!(sent["reference"], reference.as_str());
    assert_eq!(
        sent["report"]["what_changed"],
        "The men came back a week later."
    );
    assert_eq!(sent["report"]["description"], json!(held.description));

    assert_eq!(hub.deliver_all(&mut desk), 1, "only revision 2 is sent");
    let page = desk.find_report(&s, &reference).expect("page");
    assert_eq!((page.revision, page.state), (2, ReportState::Delivered));
    assert!(page.receipt_checked);
}

#[test]
fn after_the_purge_a_follow_up_carries_only_what_is_new_and_the_counts_keep_the_report() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    desk.purge_expired(Utc::now() + Duration::days(31))
        .expect("purge");
    let before = desk
        .facts_of(&s, &desk.row(id).expect("row"))
        .expect("facts");

    let draft = desk.follow_up(&s, &reference, None).expect("follow-up");
    let fresh = desk
        .report(&s, draft)
        .expect("draft")
        .report
        .expect("content");
    assert_eq!(fresh.description, None, "nothing held to pre-fill");
    assert_eq!(fresh.consent.pass_to_police, before.pass_to_police);
    desk.patch_draft(
        &s,
        draft,
        &json!({"what_changed": "A second letter arrived.", "description": "A letter through the door."}),
    )
    .expect("patch");
    desk.submit(&s, draft).expect("sealed without the rest");

    let row = desk.row(id).expect("row");
    assert_eq!((row.revision, row.state), (2, ReportState::Sealed));
    let after = desk.facts_of(&s, &row).expect("facts");
    assert_eq!(
        after.strands, before.strands,
        "the counts keep the report as taken"
    );
    let sent = upload(&desk, &hub, id, 2);
    assert_eq!(sent["report"]["description"], "A letter through the door.");
    assert!(
        sent["report"]["person"]["name"].is_null()
            && sent["report"]["offender_description"].is_null(),
        "nothing of the purged report is sent again: {sent}"
    );

    // Delivered, and on day 31 after that, purged again.
    hub.deliver_all(&mut desk);
    let purged = desk
        .purge_expired(Utc::now() + Duration::days(62))
        .expect("purge");
    assert_eq!(purged.len(), 1);
    assert!(desk.find_report(&s, &reference).expect("page").purged);
}

#[test]
fn consent_is_changed_by_a_revision_of_the_consent_alone() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    // Like every one of the person's rights, a coordinator's to do.
    let amb = ambassador(&mut desk, &s);
    let withdraw = ConsentChange {
        pass_to_police: Some(PassToPolice::No),
        ..ConsentChange::default()
    };
    assert!(matches!(
        desk.change_consent(&amb, &reference, withdraw),
        Err(Error::NotPermitted { .. })
    ));
    let sealed = desk
        .change_consent(
            &s,
            &reference,
            ConsentChange {
                pass_to_police: Some(PassToPolice::No),
                ..ConsentChange::default()
            },
        )
        .expect("changed");
    assert_eq!(sealed.revision, 2);
    let page = desk.find_report(&s, &reference).expect("page");
    assert_eq!(page.consent.pass_to_police, Some(PassToPolice::No));
    assert_eq!(page.state, ReportState::Sealed);
    let sent = upload(&desk, &hub, id, 2);
    assert_eq!(sent["consent"]["pass_to_police"], "no");
    assert_eq!(
        sent["consent"]["police_may_contact"], false,
        "withdrawn with it"
    );
    assert!(
        sent["report"]["what_changed"]
            .as_str()
            .is_some_and(|t| t.contains("pass to the police: no")),
        "{sent}"
    );

    // Contact by the police with no way to reach the person is refused,
    // and leaves no draft behind.
    let drafts = |desk: &Desk| {
        desk.list_reports(&s)
            .expect("list")
            .iter()
            .filter(|l| l.row.state == ReportState::Draft)
            .count()
    };
    let mut anonymous = crate::testing::example();
    anonymous.anonymous = Some(true);
    anonymous.person = crate::model::Person::default();
    anonymous.consent.pass_to_police = Some(PassToPolice::No);
    anonymous.consent.police_may_contact = Some(false);
    let other = desk.create_draft(&s, &anonymous).expect("draft");
    let other_ref = desk.submit(&s, other).expect("submit");
    let err = desk
        .change_consent(
            &s,
            other_ref.as_str(),
            ConsentChange {
                police_may_contact: Some(true),
                ..ConsentChange::default()
            },
        )
        .expect_err("contradicts the report");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(drafts(&desk), 0);
    assert_eq!(desk.row(other).expect("row").revision, 1);

    // Nothing to change is said so.
    let err = desk
        .change_consent(&s, &reference, ConsentChange::default())
        .expect_err("nothing");
    assert!(err.to_string().contains("say what changes"), "{err}");
}

#[test]
fn another_ambassador_adds_only_what_is_new_and_an_unenrolled_desk_waits() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    // Not enrolled: the first revision has not been encrypted for the hub.
    let err = desk.follow_up(&s, &reference, None).expect_err("not yet");
    assert!(err.to_string().contains("enrol the desk"), "{err}");

    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let aisha = ambassador(&mut desk, &s);
    let draft = desk.follow_up(&aisha, &reference, None).expect("follow-up");
    let fresh = desk
        .report(&aisha, draft)
        .expect("hers")
        .report
        .expect("content");
    assert_eq!(fresh.description, None, "she may not read the report");
    desk.patch_draft(&aisha, draft, &json!({"what_changed": "Seen again."}))
        .expect("patch");
    desk.submit(&aisha, draft).expect("sealed");
    let sent = upload(&desk, &hub, id, 2);
    assert_eq!(sent["ambassador"], aisha.user().id.to_string());
    assert_eq!(sent["report"]["description"], Value::Null);
    // Revision 1 is still queued too: both go.
    assert_eq!(hub.deliver_all(&mut desk), 2);
}

#[test]
fn a_follow_up_from_someone_who_may_not_read_the_report_never_replaces_it() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    let before = desk.report(&s, id).expect("held").report.expect("content");
    let aisha = ambassador(&mut desk, &s);
    // Police contact when the report does not go to the police: refused
    // (and consent is a coordinator's to change in any case).
    let contradicts = ConsentChange {
        pass_to_police: Some(PassToPolice::No),
        police_may_contact: Some(true),
        ..ConsentChange::default()
    };
    let err = desk
        .change_consent(&aisha, &reference, contradicts)
        .expect_err("an ambassador");
    assert!(matches!(err, Error::NotPermitted { .. }), "{err}");
    let err = desk
        .change_consent(&s, &reference, contradicts)
        .expect_err("contradicts the report");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    let draft = desk.follow_up(&aisha, &reference, None).expect("follow-up");
    desk.patch_draft(
        &aisha,
        draft,
        &json!({"what_changed": "Seen again.", "description": "Seen again at the bus stop."}),
    )
    .expect("patch");
    desk.submit(&aisha, draft).expect("sealed");
    // Chris, who took it, still reads the whole report he took.
    let after = desk.report(&s, id).expect("held").report.expect("content");
    assert_eq!(after.description, before.description);
    assert_eq!(after.person, before.person);
    assert_eq!(desk.row(id).expect("row").revision, 2);
    // Only the new words went to the partnership.
    assert_eq!(
        upload(&desk, &hub, id, 2)["report"]["description"],
        "Seen again at the bus stop."
    );
}

#[test]
fn consent_answered_as_before_keeps_the_time_it_was_given() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    let given = desk
        .facts_of(&s, &desk.row(id).expect("row"))
        .expect("facts")
        .consent_recorded_at;
    assert!(given.is_some());
    let draft = desk.follow_up(&s, &reference, None).expect("follow-up");
    let held = desk
        .report(&s, draft)
        .expect("draft")
        .report
        .expect("content");
    assert_eq!(held.consent.consent_recorded_at, given);
}

#[test]
fn each_revision_is_delivered_on_its_own_and_nothing_is_purged_until_every_one_is() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    // Revision 1 still waiting when revision 2 is sealed.
    let draft = desk.follow_up(&s, &reference, None).expect("follow-up");
    desk.patch_draft(&s, draft, &json!({"what_changed": "More."}))
        .expect("patch");
    desk.submit(&s, draft).expect("sealed");
    let due = desk.due_uploads(Utc::now(), true).expect("due");
    assert_eq!(due.len(), 2);
    let first = due.iter().find(|u| u.revision == 1).expect("rev 1");
    let second = due.iter().find(|u| u.revision == 2).expect("rev 2");
    // Revision 1's receipt: the follow-up still waits.
    desk.record_delivery(id, 1, &hub.receipt(id, 1, &first.payload))
        .expect("rev 1");
    assert_eq!(desk.row(id).expect("row").state, ReportState::Sealed);
    // Replacing the partnership's keys waits for it: it would be made
    // again from the body the desk holds.
    let err = TestHub::new()
        .enrol_result(&mut desk, &s, true)
        .expect_err("waits");
    assert!(err.to_string().contains("follow-up"), "{err}");
    desk.record_delivery(id, 2, &hub.receipt(id, 2, &second.payload))
        .expect("rev 2");
    assert_eq!(desk.row(id).expect("row").state, ReportState::Delivered);
    assert_eq!(
        desk.purge_expired(Utc::now() + Duration::days(31))
            .expect("purge")
            .len(),
        1
    );
}

#[test]
fn the_purge_waits_while_a_follow_up_is_being_typed() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    let draft = desk.follow_up(&s, &reference, None).expect("follow-up");
    assert!(
        desk.purge_expired(Utc::now() + Duration::days(31))
            .expect("purge")
            .is_empty()
    );
    desk.delete_draft(&s, draft).expect("abandoned");
    assert_eq!(
        desk.purge_expired(Utc::now() + Duration::days(31))
            .expect("purge")
            .len(),
        1
    );
    assert_eq!(desk.row(id).expect("row").state, ReportState::Purged);
}

#[test]
fn a_partial_follow_up_is_held_to_the_reference_rules_and_a_withdrawal_is_dated_now() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    let given = desk
        .facts_of(&s, &desk.row(id).expect("row"))
        .expect("facts")
        .consent_recorded_at
        .expect("given");
    let aisha = ambassador(&mut desk, &s);
    // Someone who may not read the report adds only what is new; a
    // reference that is not one is refused all the same.
    let partial: Report = serde_json::from_value(json!({
        "what_changed": "They no longer want the police involved.",
        "related_reference": "hello",
        "consent": {"pass_to_police": "no"}
    }))
    .expect("report");
    let draft = desk
        .follow_up(&aisha, &reference, Some(&partial))
        .expect("follow-up");
    let err = desk.submit(&aisha, draft).expect_err("not a reference");
    assert!(
        matches!(&err, Error::Invalid(v) if v.0.iter().any(|f| f.rule == "related_reference_invalid")),
        "{err}"
    );
    // The consent is a coordinator's to change: she puts it back, and the
    // rest goes.
    desk.patch_draft(
        &aisha,
        draft,
        &json!({"related_reference": null, "consent": {"pass_to_police": null}}),
    )
    .expect("patch");
    desk.submit(&aisha, draft).expect("sealed");
    desk.change_consent(
        &s,
        &reference,
        ConsentChange {
            pass_to_police: Some(PassToPolice::No),
            ..ConsentChange::default()
        },
    )
    .expect("withdrawn");
    // The withdrawal is consent given now, and takes the police's contact
    // with it.
    let sent = upload(&desk, &hub, id, 3);
    assert_eq!(sent["report"]["consent"]["pass_to_police"], "no");
    assert_eq!(sent["report"]["consent"]["police_may_contact"], false);
    let at: chrono::DateTime<Utc> =
        serde_json::from_value(sent["report"]["consent"]["consent_recorded_at"].clone())
            .expect("a time");
    assert!(
        at > given,
        "the withdrawal is dated {at}, the first consent {given}"
    );
}

#[test]
fn an_ambassador_s_follow_up_cannot_change_what_the_person_agreed_to() {
    let (_dir, mut desk, s, id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    let aisha = ambassador(&mut desk, &s);
    let withdrawn: Report = serde_json::from_value(json!({
        "what_changed": "They no longer want the police to have it.",
        "consent": {"pass_to_police": "no"}
    }))
    .expect("report");
    let draft = desk
        .follow_up(&aisha, &reference, Some(&withdrawn))
        .expect("follow-up");
    let err = desk.submit(&aisha, draft).expect_err("needs a coordinator");
    let Error::Invalid(v) = &err else {
        panic!("{err}")
    };
    let rules: Vec<&str> = v.0.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["consent_needs_coordinator"], "{err}");
    assert_eq!(desk.row(id).expect("row").revision, 1, "nothing sealed");
    // Put back as it was, the rest of the follow-up goes, consent unchanged.
    desk.patch_draft(&aisha, draft, &json!({"consent": {"pass_to_police": null}}))
        .expect("patch");
    desk.submit(&aisha, draft).expect("sealed");
    let page = desk.find_report(&s, &reference).expect("page");
    assert_eq!(page.consent.pass_to_police, Some(PassToPolice::Identified));
}

#[test]
fn a_consent_that_does_not_fit_is_refused_without_telling_a_non_reader_why() {
    let (_dir, mut desk, s, _id, reference, hub) = enrolled();
    hub.deliver_all(&mut desk);
    let aisha = ambassador(&mut desk, &s);
    let partial: Report = serde_json::from_value(json!({
        "what_changed": "Changed their mind.",
        "consent": {"pass_to_police": "no", "police_may_contact": true}
    }))
    .expect("report");
    let draft = desk
        .follow_up(&aisha, &reference, Some(&partial))
        .expect("follow-up");
    let err = desk.submit(&aisha, draft).expect_err("does not fit");
    let Error::Invalid(v) = &err else {
        panic!("{err}")
    };
    let rules: Vec<&str> = v.0.iter().map(|f| f.rule).collect();
    // From an ambassador, a change of consent is refused as such, and
    // nothing says whether it would fit the report.
    assert_eq!(rules, ["consent_needs_coordinator"], "{err}");
}
