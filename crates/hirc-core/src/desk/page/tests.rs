use chrono::{Duration, Utc};

use crate::error::Error;
use crate::model::{PassToPolice, ReportState};
use crate::testing::{TestHub, ambassador, desk_with_sealed_report};

/// The reference as a person might read it back: lower case, spaced
/// oddly, with the letter O for a zero and I or L for a one.
fn misread(reference: &str) -> String {
    reference
        .to_lowercase()
        .replace('0', "o")
        .replace('1', "l")
        .replace('-', " - ")
}

#[test]
fn a_report_is_found_by_the_reference_as_a_person_reads_it_back() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    for quoted in [reference.clone(), misread(&reference)] {
        let page = desk.find_report(&s, &quoted).expect("found");
        assert_eq!(page.id, id);
        assert_eq!(page.reference, reference);
        assert_eq!(page.state, ReportState::Sealed);
        assert_eq!(page.revision, 1);
        assert!(page.sealed_at.is_some());
        assert!(page.receipt.is_none() && page.delivered_at.is_none());
        assert_eq!(page.consent.pass_to_police, Some(PassToPolice::Identified));
        assert!(page.consent.recorded_at.is_some());
        assert!(page.readable && !page.purged);
    }
    // Every opening is audited, by reference, naming who opened it.
    let opened: Vec<_> = desk
        .audit_log(&s)
        .expect("log")
        .into_iter()
        .filter(|e| e.action == "report_opened")
        .collect();
    assert_eq!(opened.len(), 2);
    assert_eq!(opened[0].actor.as_deref(), Some("Chris"));
    assert_eq!(opened[0].detail.as_deref(), Some(reference.as_str()));
}

#[test]
fn a_mistyped_or_unknown_reference_says_which_it_is() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    // One character changed: the check character catches it.
    let mut typo: Vec<char> = reference.chars().collect();
    let i = typo.len() - 2;
    typo[i] = if typo[i] == 'X' { 'Y' } else { 'X' };
    let typo: String = typo.into_iter().collect();
    let err = desk.find_report(&s, &typo).expect_err("typo");
    assert!(matches!(err, Error::MistypedReference), "{err}");
    // A well-formed reference this desk never issued.
    let other = crate::reference::Reference::generate("CP");
    let err = desk.find_report(&s, other.as_str()).expect_err("unknown");
    assert!(matches!(err, Error::UnknownReport(_)), "{err}");
    let err = desk.find_report(&s, "hello").expect_err("not a reference");
    assert!(matches!(err, Error::NotAReference), "{err}");
    // Nothing was opened, so nothing is audited as opened.
    assert!(
        !desk
            .audit_log(&s)
            .expect("log")
            .iter()
            .any(|e| e.action == "report_opened")
    );
}

#[test]
fn the_page_outlives_the_purge_and_shows_another_ambassador_no_content() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    assert_eq!(hub.deliver_all(&mut desk), 1);
    let reference = desk.row(id).expect("row").reference.expect("sealed");

    let delivered = desk.find_report(&s, &reference).expect("found");
    assert_eq!(delivered.state, ReportState::Delivered);
    assert!(delivered.receipt_checked);
    let receipt = delivered.receipt.clone().expect("receipt");
    assert!(receipt.signature.is_some());
    assert!(delivered.delivered_at.is_some());

    // Day 31: the personal data go; the page stays, and says so.
    let purged = desk
        .purge_expired(Utc::now() + Duration::days(31))
        .expect("purge");
    assert_eq!(purged.len(), 1);
    let page = desk.find_report(&s, &reference).expect("still found");
    assert!(page.purged);
    assert_eq!(page.state, ReportState::Purged);
    assert_eq!(page.receipt, Some(receipt));
    assert_eq!(page.delivered_at, delivered.delivered_at);
    assert_eq!(page.consent, delivered.consent);

    // An ambassador who did not take it finds it too (the person may come
    // back to anyone), but may not read its content.
    let aisha = ambassador(&mut desk, &s);
    let theirs = desk.find_report(&aisha, &reference).expect("found");
    assert!(!theirs.readable);
    assert_eq!(theirs.state, ReportState::Purged);
}
