//! After a report is submitted: finding it by the reference a person
//! brings back, the slip they take away, the centre's support services
//! printed on it, and what the command line says when adding to a report
//! cannot work yet (the hub-side follow-up is in tests/sync/follow_up.rs).

use std::process::Command;

use super::*;

fn submitted(desk: &mut TestDesk) -> String {
    let id = new_from_example(desk);
    desk.as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line()
}

#[test]
fn a_report_is_shown_by_the_reference_as_read_back_and_the_opening_is_audited() {
    let (mut desk, _) = TestDesk::init();
    let reference = submitted(&mut desk);
    // Lower case, spaces for dashes, the letter O for a zero.
    let misread = reference.to_lowercase().replace('-', " ").replace('0', "o");
    let run = desk.as_coordinator(&["report", "show", &misread], "").ok();
    let shown: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["reference"], reference.as_str());
    assert_eq!(shown["state"], "sealed");
    assert_eq!(shown["purged"], false);
    assert_eq!(shown["receipt"], Value::Null);
    assert_eq!(shown["consent_given"]["pass_to_police"], "identified");
    assert!(shown["sealed_at"].is_string());
    assert_eq!(
        shown["description"].as_str().map(|d| d.is_empty()),
        Some(false)
    );

    // One character wrong: the check character catches it.
    let mut typo: Vec<char> = reference.chars().collect();
    let i = typo.len() - 2;
    typo[i] = if typo[i] == 'X' { 'Y' } else { 'X' };
    let typo: String = typo.into_iter().collect();
    let run = desk
        .as_coordinator(&["report", "show", &typo], "")
        .expect_code(1);
    assert!(run.stderr.contains("mistyped character"), "{}", run.stderr);

    let audit = desk.as_coordinator(&["audit", "--json"], "").ok();
    let entries: Value = serde_json::from_str(&audit.stdout).expect("json");
    let opened = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "report_opened")
        .count();
    assert_eq!(opened, 1);
}

#[test]
fn the_slip_is_a_pdf_in_the_persons_language_with_no_personal_details() {
    let (mut desk, _) = TestDesk::init();
    let reference = submitted(&mut desk);
    let example: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
    let personal = [
        example["description"].as_str().expect("description"),
        example["person"]["name"].as_str().expect("name"),
        example["offender_description"].as_str().expect("offender"),
    ];
    for lang in ["en", "pl", "ur"] {
        let out = desk.path().join(format!("slip-{lang}.pdf"));
        let run = desk
            .as_coordinator(
                &[
                    "report",
                    "slip",
                    &reference,
                    "--out",
                    &out.to_string_lossy(),
                    "--lang",
                    lang,
                ],
                "",
            )
            .ok();
        assert!(
            run.stderr.contains("Print it for the person"),
            "{}",
            run.stderr
        );
        let text = hirc_e2e::pdf_text(&out);
        assert!(text.contains(&reference), "{lang}: {text}");
        assert!(
            text.contains("999") && text.contains("101"),
            "{lang}: {text}"
        );
        assert!(
            text.contains("0800 138 1625"),
            "{lang}: the national services"
        );
        for p in personal {
            for word in p.split_whitespace().filter(|w| w.len() > 5) {
                assert!(!text.contains(word), "{lang}: the slip shows `{word}`");
            }
        }
        // It renders: poppler draws the page.
        let png = desk.path().join(format!("slip-{lang}"));
        let status = Command::new("pdftoppm")
            .args(["-png", "-r", "30", "-singlefile"])
            .arg(&out)
            .arg(&png)
            .status()
            .expect("pdftoppm runs");
        assert!(status.success());
        let drawn = std::fs::metadata(png.with_extension("png"))
            .expect("png")
            .len();
        assert!(drawn > 1000, "{lang}: the page is drawn");
    }
    let urdu = hirc_e2e::pdf_text(&desk.path().join("slip-ur.pdf"));
    assert!(urdu.contains("پرچی"), "the Urdu slip is in Urdu: {urdu}");
    let english = hirc_e2e::pdf_text(&desk.path().join("slip-en.pdf"));
    assert!(english.contains("Your reference"), "{english}");

    // A file already there is not overwritten; an unknown language is named.
    let out = desk.path().join("slip-en.pdf");
    let run = desk
        .as_coordinator(
            &[
                "report",
                "slip",
                &reference,
                "--out",
                &out.to_string_lossy(),
            ],
            "",
        )
        .expect_code(1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    let other = desk.path().join("slip-fr.pdf");
    let run = desk
        .as_coordinator(
            &[
                "report",
                "slip",
                &reference,
                "--out",
                &other.to_string_lossy(),
                "--lang",
                "fr",
            ],
            "",
        )
        .expect_code(1);
    assert!(
        run.stderr.contains("English, Polish or Urdu"),
        "{}",
        run.stderr
    );
    assert!(!other.exists());
}

#[test]
fn a_coordinator_confirms_the_centres_support_services_and_slips_list_them() {
    let (mut desk, _) = TestDesk::init();
    let run = desk.run(&["services"], "").ok();
    assert!(run.stdout.contains("Victim Support"), "{}", run.stdout);
    assert!(run.stderr.contains("not yet confirmed"), "{}", run.stderr);

    let bad = write(
        &desk,
        "bad-services.json",
        r#"[{"name": "Helpline", "phone": "call us"}]"#,
    );
    let run = desk
        .as_coordinator(&["services", "--from", &bad], "")
        .expect_code(1);
    assert!(run.stderr.contains("digits, spaces"), "{}", run.stderr);
    let broken = write(&desk, "broken.json", "{");
    let run = desk
        .as_coordinator(&["services", "--from", &broken], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("not a list of services"),
        "{}",
        run.stderr
    );

    let good = write(
        &desk,
        "services.json",
        r#"[{"name": "Castle Point Hate Crime Advocate", "phone": "01268 000 000",
             "website": "example.org/advocate", "languages": "English, Polish"},
            {"name": "Samaritans", "phone": "116 123"}]"#,
    );
    let run = desk.as_coordinator(&["services", "--from", &good], "").ok();
    assert!(
        run.stderr.contains("2 support service(s) confirmed"),
        "{}",
        run.stderr
    );
    let run = desk.run(&["services", "--json"], "").ok();
    let list: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(list["confirmed_by"], "Chris");
    assert_eq!(list["services"].as_array().map(Vec::len), Some(2));

    let reference = submitted(&mut desk);
    let out = desk.path().join("slip.pdf");
    desk.as_coordinator(
        &[
            "report",
            "slip",
            &reference,
            "--out",
            &out.to_string_lossy(),
        ],
        "",
    )
    .ok();
    let text = hirc_e2e::pdf_text(&out);
    assert!(text.contains("Castle Point Hate Crime Advocate"), "{text}");
    assert!(text.contains("Languages: English, Polish"), "{text}");
    assert!(
        !text.contains("Stop Hate UK"),
        "the defaults were replaced: {text}"
    );

    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert!(
        audit.stdout.contains("support_services"),
        "{}",
        audit.stdout
    );
    assert!(
        audit.stdout.contains(&format!("slip {reference} (en)")),
        "{}",
        audit.stdout
    );
}

#[test]
fn adding_to_a_report_says_plainly_what_stands_in_the_way() {
    let (mut desk, _) = TestDesk::init();
    let reference = submitted(&mut desk);
    // Not enrolled: the first revision is not yet encrypted for the hub.
    let run = desk
        .as_coordinator(&["report", "follow-up", &reference], "")
        .expect_code(1);
    assert!(run.stderr.contains("enrol the desk"), "{}", run.stderr);
    let run = desk
        .as_coordinator(
            &["report", "consent", &reference, "--pass-to-police", "maybe"],
            "",
        )
        .expect_code(1);
    assert!(
        run.stderr.contains("identified, anonymous_only or no"),
        "{}",
        run.stderr
    );
    let run = desk
        .as_coordinator(&["report", "consent", &reference], "")
        .expect_code(1);
    assert!(run.stderr.contains("say what changes"), "{}", run.stderr);
    // Nothing was left half-made.
    let rows = list(&mut desk);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["revision"], 1);
}

#[test]
fn a_second_incident_is_a_new_report_that_names_the_first() {
    let (mut desk, _) = TestDesk::init();
    let first = submitted(&mut desk);
    let run = desk
        .as_coordinator(&["report", "related", &first.to_lowercase()], "")
        .ok();
    assert!(run.stderr.contains(&first), "{}", run.stderr);
    let id = run.last_line();
    // The person is carried over; what happened is asked afresh.
    let draft: Value = serde_json::from_str(
        &desk
            .as_coordinator(&["report", "show", &id], "")
            .ok()
            .stdout,
    )
    .expect("json");
    assert_eq!(draft["related_reference"], first.as_str());
    assert_eq!(draft["person"]["name"], "Amina Example");
    assert_eq!(draft["description"], Value::Null);

    // Filled in from the example, but the earlier reference read back with
    // one character wrong: the check character catches it at submit.
    let mut example: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
    let mut typo: Vec<char> = first.chars().collect();
    let i = typo.len() - 2;
    typo[i] = if typo[i] == 'X' { 'Y' } else { 'X' };
    example["related_reference"] = Value::from(typo.into_iter().collect::<String>());
    let file = write(&desk, "second.json", &example.to_string());
    desk.as_coordinator(&["report", "edit", &id, "--from", &file], "")
        .ok();
    let run = desk
        .as_coordinator(&["report", "submit", &id], "")
        .expect_code(4);
    assert!(run.stderr.contains("related_reference"), "{}", run.stderr);

    // Read back as spoken: accepted, and written as printed.
    let spoken = first.to_lowercase().replace('-', " ");
    let file = write(
        &desk,
        "fix.json",
        &serde_json::json!({ "related_reference": spoken }).to_string(),
    );
    desk.as_coordinator(&["report", "edit", &id, "--from", &file], "")
        .ok();
    let second = desk
        .as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line();
    assert_ne!(second, first);
    let shown: Value = serde_json::from_str(
        &desk
            .as_coordinator(&["report", "show", &second], "")
            .ok()
            .stdout,
    )
    .expect("json");
    assert_eq!(shown["related_reference"], first.as_str());
}

#[test]
fn a_copy_for_the_person_holds_everything_the_desk_holds_and_only_a_coordinator_makes_it() {
    use std::os::unix::fs::PermissionsExt;
    let (mut desk, _) = TestDesk::init();
    let reference = submitted(&mut desk);
    let example: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
    let out = desk.path().join("copy-en.pdf");
    let run = desk
        .as_coordinator(
            &[
                "report",
                "access",
                &reference.to_lowercase(),
                "--out",
                &out.to_string_lossy(),
            ],
            "",
        )
        .ok();
    assert!(run.stderr.contains("give it to them"), "{}", run.stderr);
    assert_eq!(
        std::fs::metadata(&out).expect("pdf").permissions().mode() & 0o777,
        0o600
    );
    let text = hirc_e2e::pdf_text(&out);
    for expected in [
        reference.as_str(),
        example["person"]["name"].as_str().expect("name"),
        "What you told us",
        "What you agreed to",
    ] {
        assert!(text.contains(expected), "the copy lacks {expected}: {text}");
    }
    // Never over a file that is there.
    desk.as_coordinator(
        &[
            "report",
            "access",
            &reference,
            "--out",
            &out.to_string_lossy(),
        ],
        "",
    )
    .expect_code(1);
    // In Urdu too.
    let urdu = desk.path().join("copy-ur.pdf");
    desk.as_coordinator(
        &[
            "report",
            "access",
            &reference,
            "--out",
            &urdu.to_string_lossy(),
            "--lang",
            "ur",
        ],
        "",
    )
    .ok();
    assert!(hirc_e2e::pdf_text(&urdu).contains(&reference));

    // An ambassador may not make one.
    desk.as_coordinator(
        &["user", "add", "Ann", "--role", "ambassador"],
        "ann passphrase\n",
    )
    .ok();
    let not_hers = desk.path().join("copy-ann.pdf");
    let run = desk.run(
        &[
            "--user",
            "Ann",
            "report",
            "access",
            &reference,
            "--out",
            &not_hers.to_string_lossy(),
        ],
        "ann passphrase\n",
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(!not_hers.exists());
    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert!(
        audit.stdout.contains("copy for the person of"),
        "{}",
        audit.stdout
    );
}

#[test]
fn the_persons_copy_lists_their_files_and_can_hand_them_over_as_the_desk_keeps_them() {
    use std::os::unix::fs::PermissionsExt;
    let (mut desk, _) = TestDesk::init();
    let id = new_from_example(&mut desk);
    let letter = "The letter pushed through the door on the 2nd.\n".repeat(50);
    let file = write(&desk, "letter from Amina.txt", &letter);
    desk.as_coordinator(
        &["report", "attach", &id, &file, "--caption", "the letter"],
        "",
    )
    .ok();
    let reference = desk
        .as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line();
    let out = desk.path().join("copy.pdf");
    let files = desk.path().join("for the person");
    let run = access(&mut desk, &reference, &out, &files).ok();
    assert!(
        run.stderr.contains("1 file(s) the person gave"),
        "{}",
        run.stderr
    );
    let text = hirc_e2e::pdf_text(&out);
    for expected in [
        "The files you gave",
        "1. Text, 2 kB, added on",
        "the letter",
    ] {
        assert!(text.contains(expected), "the copy lacks {expected}: {text}");
    }
    // The file as the desk keeps it, under the reference, never its name;
    // owner-only, in an owner-only folder.
    let given = files.join(format!("{reference}-1.txt"));
    assert_eq!(std::fs::read_to_string(&given).expect("file"), letter);
    assert_eq!(
        std::fs::read_dir(&files).expect("dir").count(),
        1,
        "only the person's file"
    );
    for (path, mode) in [(&given, 0o600), (&files, 0o700)] {
        let meta = std::fs::metadata(path).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{path:?}");
    }
    // Again into the same folder: refused, nothing overwritten.
    let again = desk.path().join("copy-again.pdf");
    let run = access(&mut desk, &reference, &again, &files);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("is there already"), "{}", run.stderr);
    assert!(!again.exists(), "checked before the PDF is written");
    assert_eq!(std::fs::read_to_string(&given).expect("file"), letter);
    // A folder others may open, and reach (every folder above it lets them
    // pass), is refused.
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o755)).expect("mode");
    let open_folder = outside.path().join("shared");
    std::fs::create_dir(&open_folder).expect("dir");
    std::fs::set_permissions(&open_folder, std::fs::Permissions::from_mode(0o755)).expect("mode");
    let run = access(&mut desk, &reference, &again, &open_folder);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("other users"), "{}", run.stderr);
    assert!(!again.exists());
    assert_eq!(std::fs::read_dir(&open_folder).expect("dir").count(), 0);
    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert!(
        audit
            .stdout
            .contains("1 file(s) of evidence for the person of"),
        "{}",
        audit.stdout
    );
}

/// `hirc report access REFERENCE --out OUT --evidence-dir DIR`, as the
/// coordinator.
fn access(
    desk: &mut TestDesk,
    reference: &str,
    out: &std::path::Path,
    dir: &std::path::Path,
) -> hirc_e2e::Run {
    desk.as_coordinator(
        &[
            "report",
            "access",
            reference,
            "--out",
            &out.to_string_lossy(),
            "--evidence-dir",
            &dir.to_string_lossy(),
        ],
        "",
    )
}
