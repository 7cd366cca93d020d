use super::*;
use crate::testing::{ambassador, desk_with_sealed_report, example, new_desk, pass};
use crate::words::ACCESS_TEXTS;

fn all_text(pages: &[Page]) -> String {
    pages
        .iter()
        .flatten()
        .filter_map(|op| match op {
            crate::pdf::Op::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_copy_holds_every_answer_what_was_agreed_and_where_it_went() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let copy = desk
        .subject_access(&s, &reference.to_lowercase())
        .expect("copy");
    assert_eq!(copy.reference, reference);
    assert_eq!(copy.revisions.len(), 1);
    assert_eq!(copy.revisions[0].delivered_at, None);
    let m = Measure::load().expect("fonts");
    let text = all_text(&layout(&copy, &m, &Wording::english())).replace('\n', " ");
    let held = crate::testing::example();
    for expected in [
        "Amina Example",
        "07700 900123",
        "Name",
        "Race or ethnicity",
        reference.as_str(),
        "What you agreed to",
        "not connected to the partnership's hub",
    ] {
        assert!(
            text.contains(expected),
            "the copy lacks {expected:?}:\n{text}"
        );
    }
    // The account, word for word (wrapped across lines).
    let account = held.description.expect("account");
    let flat = text.clone();
    let first_words: String = account
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains(&first_words), "{flat}");

    // In Urdu: every character drawable, right to left, the labels in Urdu.
    let urdu = Wording::bundled("ur").expect("ur");
    assert!(undrawable(&copy, &urdu).expect("fonts").is_empty());
    let text = all_text(&layout(&copy, &m, &urdu));
    assert!(text.contains(&urdu.text("field.name")), "{text}");
    let pdf = to_pdf(&copy, &urdu).expect("pdf");
    assert!(pdf.starts_with(b"%PDF"));
    // No files given: said so.
    assert!(copy.evidence.is_empty());
    let text = all_text(&layout(&copy, &m, &Wording::english()));
    assert!(text.contains("The files you gave\nNone."), "{text}");
}

#[test]
fn the_copy_lists_the_files_the_person_gave_with_their_notes() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, _) = new_desk(dir.path());
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let id = desk.create_draft(&s, &example()).expect("draft");
    let letter = "The letter pushed through the door.\n".repeat(100);
    desk.add_evidence(&s, id, letter.as_bytes(), Some("the letter, first page"))
        .expect("letter");
    desk.add_evidence(&s, id, &b"%PDF-1.4 a scan"[..], None)
        .expect("scan");
    desk.submit(&s, id).expect("submit");
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let copy = desk.subject_access(&s, &reference).expect("copy");
    assert_eq!(copy.evidence.len(), 2);
    let m = Measure::load().expect("fonts");
    let text = all_text(&layout(&copy, &m, &Wording::english())).replace('\n', " ");
    for expected in [
        "The files you gave",
        "1. Text, 4 kB, added on",
        "the letter, first page",
        "2. PDF document, 15 bytes, added on",
        "a copy of each as it keeps it",
    ] {
        assert!(
            text.contains(expected),
            "the copy lacks {expected:?}:\n{text}"
        );
    }
    // A follow-up being written, with a photo of its own: the person's
    // copy lists it too, as not sent yet; a caption that will not open
    // leaves its note out, not the copy.
    crate::testing::TestHub::new().enrol(&mut desk, &s);
    let follow = desk.follow_up(&s, &reference, None).expect("follow-up");
    desk.add_evidence(&s, follow, &b"%PDF-1.4 a second scan"[..], Some("page two"))
        .expect("second scan");
    desk.db()
        .execute(
            "UPDATE evidence SET label = x'00' WHERE report_id = ?1",
            [id.to_string()],
        )
        .expect("damage the first captions");
    let copy = desk.subject_access(&s, &reference).expect("copy");
    assert_eq!(copy.evidence.len(), 3);
    let text = all_text(&layout(&copy, &m, &Wording::english())).replace('\n', " ");
    assert!(
        text.contains("3. PDF document, 22 bytes, added on")
            && text.contains("with new information not sent yet")
            && text.contains("page two"),
        "{text}"
    );
    assert!(!text.contains("the letter, first page"), "{text}");
    for language in ["pl", "ur"] {
        let words = Wording::bundled(language).expect("bundled");
        let missing = undrawable(&copy, &words).expect("fonts");
        assert!(missing.is_empty(), "{language}: {missing:?}");
        let text = all_text(&layout(&copy, &m, &words));
        assert!(text.contains(&words.text("evidence.kind.pdf")), "{text}");
        assert!(text.contains("page two"), "{text}");
    }
}

#[test]
fn only_a_coordinator_makes_a_copy_and_after_the_purge_it_says_what_went() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let aisha = ambassador(&mut desk, &s);
    assert!(matches!(
        desk.subject_access(&aisha, &reference),
        Err(crate::Error::NotPermitted { .. })
    ));

    // Purged: the copy says the details went, and holds none of them.
    let hub = crate::testing::TestHub::new();
    hub.enrol(&mut desk, &s);
    hub.deliver_all(&mut desk);
    let later = desk.now() + chrono::Duration::days(400);
    desk.purge_expired(later).expect("purge");
    let copy = desk.subject_access(&s, &reference).expect("copy");
    assert!(copy.report.is_none());
    assert!(copy.revisions[0].delivered_at.is_some());
    let m = Measure::load().expect("fonts");
    let text = all_text(&layout(&copy, &m, &Wording::english())).replace('\n', " ");
    assert!(
        text.contains("were deleted after the retention period"),
        "{text}"
    );
    assert!(!text.contains("Amina Example"));
    assert!(text.contains("Any files you gave were deleted"), "{text}");
    assert!(text.contains("Essex hub"), "{text}");
}

#[test]
fn the_engines_english_is_the_apps_english() {
    let en: std::collections::HashMap<String, String> =
        serde_json::from_str(include_str!("../../../../ui/src/i18n/en.json")).expect("en.json");
    for (key, text) in ACCESS_TEXTS {
        assert_eq!(en.get(*key).map(String::as_str), Some(*text), "{key}");
    }
}

/// A desk in `dir` with one submitted report carrying `files`, its
/// coordinator signed in, and the person's copy of that report.
fn copy_with_files(dir: &std::path::Path, files: &[&[u8]]) -> (Desk, Session, SubjectAccess) {
    let (mut desk, s, id) = crate::testing::desk_with_draft(dir);
    for file in files {
        desk.add_evidence(&s, id, *file, None).expect("file");
    }
    desk.submit(&s, id).expect("submit");
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let copy = desk.subject_access(&s, &reference).expect("copy");
    (desk, s, copy)
}

#[test]
fn the_persons_files_go_into_a_new_folder_of_their_own_whole_or_not_at_all() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, copy) = copy_with_files(
        &dir.path().join("desk"),
        &[b"a message, typed out", b"%PDF-1.4 a scan"],
    );
    let reference = copy.reference.clone();
    // The place chosen is open to others, as a folder anyone makes is.
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).expect("stick");
    std::fs::set_permissions(&stick, std::fs::Permissions::from_mode(0o755)).expect("mode");
    let folder = stick.join(format!("files-for-the-person-{reference}"));
    let paths = new_folder_for_the_files(&copy, &folder).expect("folder");
    assert_eq!(
        std::fs::metadata(&folder)
            .expect("made")
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    // A run killed part way left its hidden piece: it is replaced.
    std::fs::write(
        folder.join(format!(".{reference}-1.txt.part")),
        b"half of it",
    )
    .expect("stale");
    assert_eq!(
        desk.write_files_for_the_person(&s, &copy, &paths)
            .expect("written"),
        2
    );
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [format!("{reference}-1.txt"), format!("{reference}-2.pdf")]
    );
    assert_eq!(
        std::fs::read(&paths[0]).expect("note"),
        b"a message, typed out"
    );
    for p in &paths {
        assert_eq!(
            std::fs::metadata(p).expect("file").permissions().mode() & 0o777,
            0o600
        );
    }
    // The same name again (or a link planted under it) is refused, and
    // nothing is written.
    assert!(matches!(
        new_folder_for_the_files(&copy, &folder),
        Err(crate::Error::UnsuitableFolder {
            rule: "folder_taken",
            ..
        })
    ));
    let planted = stick.join("planted");
    std::os::unix::fs::symlink(dir.path().join("desk"), &planted).expect("link");
    assert!(matches!(
        new_folder_for_the_files(&copy, &planted),
        Err(crate::Error::UnsuitableFolder {
            rule: "folder_taken",
            ..
        })
    ));
    // A file that cannot be written (its name taken meanwhile) undoes the
    // ones written before it.
    let again = stick.join("again");
    let paths = new_folder_for_the_files(&copy, &again).expect("folder");
    std::fs::write(&paths[1], b"someone else's").expect("taken");
    assert!(matches!(
        desk.write_files_for_the_person(&s, &copy, &paths),
        Err(crate::Error::Export(_))
    ));
    assert!(!paths[0].exists(), "the first file was left behind");
    assert_eq!(std::fs::read(&paths[1]).expect("kept"), b"someone else's");
    let audit: Vec<String> = desk
        .audit_log(&s)
        .expect("audit")
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert!(
        audit
            .iter()
            .filter(|d| d.starts_with("2 file(s) of evidence for the person of"))
            .count()
            == 2,
        "each run is audited before it writes: {audit:?}"
    );
    assert!(
        audit.iter().any(|d| d.contains("were not all written")),
        "{audit:?}"
    );
    // An ambassador writes none.
    let ambassador = ambassador(&mut desk, &s);
    assert!(
        desk.write_file_for_the_person(&ambassador, &copy.evidence[0], &again.join("x"))
            .is_err()
    );
}

#[test]
fn a_folder_open_to_all_is_taken_only_where_others_cannot_reach_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let (_desk, _s, copy) = copy_with_files(&dir.path().join("desk"), &[b"a message"]);
    let mode = |p: &std::path::Path, m| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("mode")
    };
    // An existing folder everyone may open, under folders everyone may
    // pass through (as a temporary directory is): refused.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("open");
    mode(dir.path(), 0o755);
    mode(&open, 0o777);
    assert!(matches!(
        where_the_files_go(&copy, &open),
        Err(crate::Error::UnsuitableFolder {
            rule: "folder_open_to_others",
            ..
        })
    ));
    // The same folder under one only its owner may enter (a stick mounted
    // under /media/USER, whose disk keeps no modes): taken.
    mode(dir.path(), 0o700);
    assert_eq!(where_the_files_go(&copy, &open).expect("taken").len(), 1);
}

#[test]
fn the_persons_files_are_counted_without_an_opening_in_the_audit_log() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, copy) = copy_with_files(&dir.path().join("desk"), &[b"one", b"two"]);
    let reference = copy.reference.clone();
    let openings = |desk: &Desk| {
        desk.audit_log(&s)
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == crate::audit::AuditAction::ReportOpened.as_str())
            .count()
    };
    let before = openings(&desk);
    assert_eq!(
        desk.files_the_person_gave(&s, &reference.to_lowercase())
            .expect("counted"),
        2
    );
    assert_eq!(
        desk.subject_access(&s, &reference)
            .expect("copy")
            .evidence
            .len(),
        2
    );
    assert_eq!(openings(&desk), before + 1, "only the copy is an opening");
    // Coordinators only; a reference not held is said so.
    let ambassador = ambassador(&mut desk, &s);
    assert!(matches!(
        desk.files_the_person_gave(&ambassador, &reference),
        Err(crate::Error::NotPermitted { .. })
    ));
    assert!(desk.files_the_person_gave(&s, "HIRC-0000-0000").is_err());
}
