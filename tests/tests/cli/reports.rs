//! Reports from the command line: imported from files, edited, submitted,
//! deleted, and taken by the question-by-question interview.

use std::time::{Duration, Instant};

use hirc_e2e::{EXAMPLE_REPORT, TestDesk};
use serde_json::Value;

use crate::{list, new_from_example, write};

/// Every field of `expected` has the same value in `actual` (which may
/// have more, such as explicit nulls and the app's own fields).
fn assert_fields_match(expected: &Value, actual: &Value, path: &str) {
    match expected {
        Value::Object(fields) => {
            for (key, value) in fields {
                assert_fields_match(value, &actual[key], &format!("{path}.{key}"));
            }
        }
        other => assert_eq!(actual, other, "{path}"),
    }
}

#[test]
fn the_shared_example_imports_shows_and_round_trips() {
    let (mut desk, _) = TestDesk::init();
    let id = new_from_example(&mut desk);
    assert_eq!(id.len(), 36, "prints the draft id: {id}");
    let shown = desk.as_coordinator(&["report", "show", &id], "").ok();
    let shown: Value = serde_json::from_str(&shown.stdout).expect("show prints JSON");
    let example: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
    assert_fields_match(&example, &shown, "");
    assert_eq!(shown["state"], "draft");
    assert_eq!(shown["centre_code"], "CP");
    assert!(shown["consent"]["consent_recorded_at"].is_string());

    // `show` output can be fed back in as a new report.
    let again = write(&desk, "shown.json", &shown.to_string());
    let run = desk
        .as_coordinator(&["report", "new", "--from", &again], "")
        .ok();
    assert!(
        run.stderr.contains("ignored fields the app sets itself"),
        "{}",
        run.stderr
    );
    assert_eq!(list(&mut desk).len(), 2);
}

#[test]
fn bad_report_files_get_clear_errors_and_nothing_is_saved() {
    let (mut desk, _) = TestDesk::init();
    new_from_example(&mut desk);
    let cases = [
        ("{\"description\": \"cut short", "not valid JSON (line 1"),
        ("[1, 2]", "must be a JSON object"),
        (
            "{\"strands\": [\"racism\"]}",
            "strands[0]: not one of the allowed values",
        ),
        ("{\"descripton\": \"typo\"}", "unknown field `descripton`"),
        ("{\"occurred_on\": \"2nd November\"}", "occurred_on:"),
        ("{\"occurred_time\": \"tea time\"}", "HH:MM"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = write(&desk, &format!("bad{i}.json"), text);
        let run = desk
            .as_coordinator(&["report", "new", "--from", &file], "")
            .expect_code(4);
        assert!(run.stderr.contains(expected), "{text}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
    }

    // A 2 GB file is refused before it is read (sparse, so it costs no disk).
    let huge = desk.path().join("huge.json");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(2 * 1024 * 1024 * 1024))
        .expect("sparse file");
    let started = Instant::now();
    let run = desk
        .as_coordinator(&["report", "new", "--from", &huge.to_string_lossy()], "")
        .expect_code(4);
    assert!(
        run.stderr.contains("probably the wrong file"),
        "{}",
        run.stderr
    );
    // Read whole, 2 GB would take minutes in a debug build (and 2 GB of
    // memory); refused before reading, it takes a process start.
    assert!(started.elapsed() < Duration::from_secs(30));

    let missing = desk
        .as_coordinator(&["report", "new", "--from", "/nonexistent/r.json"], "")
        .expect_code(1);
    assert!(
        missing
            .stderr
            .contains("could not open /nonexistent/r.json"),
        "{}",
        missing.stderr
    );
    assert_eq!(list(&mut desk).len(), 1, "only the good report is there");
}

#[test]
fn edit_merges_submit_validates_then_seals_with_a_reference() {
    let (mut desk, _) = TestDesk::init();
    let empty = write(&desk, "empty.json", "{}");
    let id = desk
        .as_coordinator(&["report", "new", "--from", &empty], "")
        .ok()
        .last_line();

    let run = desk
        .as_coordinator(&["report", "submit", &id], "")
        .expect_code(4);
    for field in [
        "reporter_role",
        "strands",
        "description",
        "occurred_on",
        "consent.pass_to_police",
    ] {
        assert!(
            run.stderr.contains(field),
            "submit names {field}: {}",
            run.stderr
        );
    }

    // Fill it in: the patch reads from standard input after the passphrase.
    let run = desk
        .as_coordinator(&["report", "edit", &id, "--from", "-"], EXAMPLE_REPORT)
        .ok();
    assert_eq!(run.last_line(), id);
    let patch = write(
        &desk,
        "patch.json",
        r#"{"area": null, "strands": ["disability", "other"]}"#,
    );
    desk.as_coordinator(&["report", "edit", &id[..13], "--from", &patch], "")
        .ok();
    let run = desk
        .as_coordinator(&["report", "submit", &id], "")
        .expect_code(4);
    assert!(run.stderr.contains("strand_other"), "{}", run.stderr);
    let patch = write(&desk, "patch2.json", r#"{"strand_other": "Their accent"}"#);
    desk.as_coordinator(&["report", "edit", &id, "--from", &patch], "")
        .ok();

    let run = desk.as_coordinator(&["report", "submit", &id], "").ok();
    let reference = run.last_line();
    assert!(
        reference.starts_with("CP-") && reference.len() == 10,
        "{reference}"
    );
    assert!(run.stderr.contains("Give the person this reference"));

    let rows = list(&mut desk);
    assert_eq!(rows[0]["state"], "sealed");
    assert_eq!(rows[0]["reference"], reference.as_str());
    let shown = desk
        .as_coordinator(&["report", "show", &reference.to_lowercase()], "")
        .ok();
    let shown: Value = serde_json::from_str(&shown.stdout).expect("json");
    assert_eq!(shown["strands"], serde_json::json!(["disability", "other"]));
    assert_eq!(shown["area"], Value::Null);
    assert_eq!(shown["revision"], 1);

    let run = desk
        .as_coordinator(&["report", "delete", &id], "")
        .expect_code(1);
    assert!(run.stderr.contains("already submitted"), "{}", run.stderr);
    let run = desk
        .as_coordinator(&["report", "edit", &id, "--from", &patch], "")
        .expect_code(1);
    assert!(run.stderr.contains("cannot be edited"), "{}", run.stderr);
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(
        status.stdout.contains("1 waiting to upload"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("until this desk is enrolled"),
        "{}",
        status.stdout
    );
}

#[test]
fn drafts_can_be_deleted_and_ids_are_checked() {
    let (mut desk, _) = TestDesk::init();
    let id = new_from_example(&mut desk);
    // Without a terminal to ask on, deleting needs --yes.
    let run = desk
        .as_coordinator(&["report", "delete", &id], "")
        .expect_code(1);
    assert!(run.stderr.contains("nothing was deleted"), "{}", run.stderr);
    assert_eq!(list(&mut desk).len(), 1);
    desk.as_coordinator(&["report", "delete", &id, "--yes"], "")
        .ok();
    assert!(list(&mut desk).is_empty());
    let run = desk
        .as_coordinator(&["report", "show", &id], "")
        .expect_code(1);
    assert!(run.stderr.contains("there is no report"), "{}", run.stderr);
    desk.as_coordinator(&["report", "show", "zz"], "")
        .expect_code(1);
}

#[test]
fn the_interview_saves_after_every_answer() {
    let (mut desk, _) = TestDesk::init();
    // Passed on anonymously, so the police-contact question is not asked.
    let answers = "1\n1,9\nwent to the shop\n3\nHe shouted at me\nyesterday\nn\n4\nSS8\nn\nBob\n07700 900123\n\n2\ny\n";
    let id = desk
        .as_coordinator(&["report", "new"], answers)
        .ok()
        .last_line();
    let shown = desk.as_coordinator(&["report", "show", &id], "").ok();
    let shown: Value = serde_json::from_str(&shown.stdout).expect("json");
    assert_eq!(shown["consent"]["pass_to_police"], "anonymous_only");
    assert_eq!(shown["consent"]["police_may_contact"], false);
    assert_eq!(shown["consent"]["refer_to_support"], true);
    assert_eq!(shown["person"]["phone"], "07700 900123");
    desk.as_coordinator(&["report", "submit", &id], "").ok();

    // Input ending half way keeps what was answered.
    let id = desk
        .as_coordinator(&["report", "new"], "2\n9\nnot a number\n")
        .ok()
        .last_line();
    let shown = desk.as_coordinator(&["report", "show", &id], "").ok();
    let shown: Value = serde_json::from_str(&shown.stdout).expect("json");
    assert_eq!(shown["reporter_role"], "witness");
    assert_eq!(shown["strands"], serde_json::json!(["other"]));
    assert_eq!(shown["strand_other"], "not a number");
}
