//! The `hirc` command line, run as a person or a script would: real binary,
//! real store, real files.

use std::time::{Duration, Instant};

use hirc_e2e::{COORDINATOR_PASS, EXAMPLE_REPORT, TestDesk};
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn write(desk: &TestDesk, name: &str, text: &str) -> String {
    let path = desk.path().join(name);
    std::fs::write(&path, text).expect("write file");
    path.to_string_lossy().into_owned()
}

fn list(desk: &mut TestDesk) -> Vec<Value> {
    let run = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    serde_json::from_str::<Value>(&run.stdout)
        .expect("list --json is JSON")
        .as_array()
        .expect("array")
        .clone()
}

fn new_from_example(desk: &mut TestDesk) -> String {
    let file = write(desk, "example.json", EXAMPLE_REPORT);
    desk.as_coordinator(&["report", "new", "--from", &file], "")
        .ok()
        .last_line()
}

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
fn help_and_usage() {
    let mut desk = TestDesk::new();
    let run = desk.run(&["--help"], "").ok();
    for word in [
        "init",
        "user",
        "recover",
        "report",
        "audit",
        "status",
        "Exit codes",
    ] {
        assert!(run.stdout.contains(word), "--help mentions {word}");
    }
    desk.run(&[], "").expect_code(2);
    desk.run(&["report", "frobnicate"], "").expect_code(2);
}

#[test]
fn a_command_before_init_says_how_to_start() {
    let mut desk = TestDesk::new();
    let run = desk.run(&["status"], "x\n").expect_code(1);
    assert!(run.stderr.contains("hirc init"), "{}", run.stderr);
    assert!(
        !desk.path().join("desk.sqlite3").exists(),
        "nothing was created"
    );
}

#[test]
fn init_twice_leaves_the_first_desk_alone() {
    let (mut desk, _) = TestDesk::init();
    let before = std::fs::read(desk.path().join("desk.sqlite3")).expect("store");
    let run = desk
        .run(
            &[
                "init",
                "--centre",
                "Other",
                "--centre-code",
                "OT",
                "--coordinator",
                "Eve",
            ],
            "eve passphrase\n",
        )
        .expect_code(1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert!(std::fs::read(desk.path().join("desk.sqlite3")).expect("store") == before);
}

#[test]
fn init_refuses_a_short_passphrase_and_a_bad_code() {
    let mut desk = TestDesk::new();
    for (code, passphrase, expected) in [
        ("CP", "short\n", "too short"),
        ("not a code", "long enough passphrase\n", "centre code"),
    ] {
        let args = [
            "init",
            "--centre",
            "C",
            "--centre-code",
            code,
            "--coordinator",
            "A",
        ];
        let run = desk.run(&args, passphrase).expect_code(1);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
    assert!(!desk.path().join("desk.sqlite3").exists());
}

#[test]
fn a_wrong_passphrase_is_slow_clear_audited_and_changes_nothing() {
    let (mut desk, _) = TestDesk::init();
    new_from_example(&mut desk);
    let started = Instant::now();
    let run = desk
        .run(
            &["--user", "Chris", "report", "list"],
            "not my passphrase\n",
        )
        .expect_code(3);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "failed unlocks are slowed"
    );
    assert_eq!(
        run.stderr.trim(),
        "error: wrong passphrase for Chris; nothing was changed"
    );
    assert!(run.stdout.is_empty());

    let run = desk
        .run(&["--user", "Nobody", "status"], "whatever it is\n")
        .expect_code(3);
    assert!(
        run.stderr.contains("no user called \"Nobody\""),
        "{}",
        run.stderr
    );

    assert_eq!(list(&mut desk).len(), 1);
    let audit = desk.as_coordinator(&["audit", "--json"], "").ok();
    let entries: Vec<Value> = serde_json::from_str(&audit.stdout).expect("json");
    let failed = entries
        .iter()
        .filter(|e| e["action"] == "unlock_failed")
        .count();
    assert_eq!(failed, 2);
    assert!(
        !audit.stdout.contains("Nobody"),
        "typed names are not recorded"
    );
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
    assert!(started.elapsed() < Duration::from_secs(5));

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
fn users_roles_and_passphrases() {
    let (mut desk, _) = TestDesk::init();
    desk.as_coordinator(
        &["user", "add", "Ann", "--role", "ambassador"],
        "ann passphrase\n",
    )
    .ok();
    let run = desk
        .as_coordinator(
            &["user", "add", "ann", "--role", "ambassador"],
            "ann passphrase\n",
        )
        .expect_code(1);
    assert!(run.stderr.contains("already a user"), "{}", run.stderr);
    let users = desk.as_coordinator(&["user", "list"], "").ok();
    assert!(
        users.stdout.contains("Ann") && users.stdout.contains("ambassador"),
        "{}",
        users.stdout
    );

    // Who is acting must be said once there are two users.
    let run = desk
        .run(&["status"], &format!("{COORDINATOR_PASS}\n"))
        .expect_code(1);
    assert!(run.stderr.contains("--user NAME"), "{}", run.stderr);

    let coordinators_draft = new_from_example(&mut desk);
    let ann = |desk: &mut TestDesk, args: &[&str], pass: &str, more: &str| {
        let mut full = vec!["--user", "Ann"];
        full.extend_from_slice(args);
        desk.run(&full, &format!("{pass}\n{more}"))
    };
    let run = ann(
        &mut desk,
        &["user", "add", "Bob", "--role", "ambassador"],
        "ann passphrase",
        "bob passphrase\n",
    )
    .expect_code(1);
    assert!(run.stderr.contains("needs a coordinator"), "{}", run.stderr);
    ann(&mut desk, &["audit"], "ann passphrase", "").expect_code(1);
    let run = ann(
        &mut desk,
        &["report", "show", &coordinators_draft],
        "ann passphrase",
        "",
    )
    .expect_code(1);
    assert!(
        run.stderr.contains("another ambassador's report"),
        "{}",
        run.stderr
    );
    let run = ann(
        &mut desk,
        &["report", "list", "--json"],
        "ann passphrase",
        "",
    )
    .ok();
    assert_eq!(run.stdout.trim(), "[]");

    ann(
        &mut desk,
        &["user", "passwd"],
        "ann passphrase",
        "ann new passphrase\n",
    )
    .ok();
    ann(&mut desk, &["status"], "ann passphrase", "").expect_code(3);
    ann(&mut desk, &["status"], "ann new passphrase", "").ok();
    // A coordinator can reset it.
    desk.as_coordinator(&["user", "passwd", "Ann"], "ann reset passphrase\n")
        .ok();
    ann(&mut desk, &["status"], "ann reset passphrase", "").ok();

    desk.as_coordinator(&["user", "remove", "Ann"], "").ok();
    ann(&mut desk, &["status"], "ann reset passphrase", "").expect_code(3);
    let run = desk
        .as_coordinator(&["user", "remove", "Chris"], "")
        .expect_code(1);
    assert!(run.stderr.contains("last coordinator"), "{}", run.stderr);
}

#[test]
fn the_recovery_code_sets_a_new_passphrase_and_is_replaced() {
    let (mut desk, code) = TestDesk::init();
    let run = desk
        .run(
            &["recover"],
            "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA\nnew coordinator pass\n",
        )
        .expect_code(3);
    assert!(
        run.stderr.contains("recovery code does not open"),
        "{}",
        run.stderr
    );
    let run = desk
        .run(
            &["recover"],
            &format!("{}\nnew coordinator pass\n", code.to_lowercase()),
        )
        .ok();
    let fresh = run
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 35 && l.matches('-').count() == 5)
        .expect("a new recovery code")
        .to_string();
    assert_ne!(fresh, code);
    desk.run(&["status"], "new coordinator pass\n").ok();
    desk.run(&["status"], &format!("{COORDINATOR_PASS}\n"))
        .expect_code(3);
    desk.run(&["recover"], &format!("{code}\nanother new pass\n"))
        .expect_code(3);
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

#[test]
fn audit_lists_events_and_verify_finds_tampering() {
    let (mut desk, _) = TestDesk::init();
    let id = new_from_example(&mut desk);
    desk.as_coordinator(&["report", "submit", &id], "").ok();
    let run = desk.as_coordinator(&["audit"], "").ok();
    for action in [
        "desk_created",
        "user_added",
        "unlock_ok",
        "draft_created",
        "submitted",
    ] {
        assert!(run.stdout.contains(action), "{action}: {}", run.stdout);
    }
    let run = desk.as_coordinator(&["audit", "verify"], "").ok();
    assert!(run.stdout.contains("intact"), "{}", run.stdout);

    // Someone edits the file behind the app's back.
    let conn = rusqlite::Connection::open(desk.path().join("desk.sqlite3")).expect("open");
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'Eve' WHERE seq = 3;",
    )
    .expect("tamper");
    drop(conn);
    let run = desk.as_coordinator(&["audit", "verify"], "").expect_code(5);
    assert!(run.stderr.contains("damaged at entry 3"), "{}", run.stderr);
}

#[test]
fn corrupt_and_foreign_files_are_clear_errors_and_left_untouched() {
    // A store damaged in the middle.
    let (mut desk, _) = TestDesk::init();
    new_from_example(&mut desk);
    let store = desk.path().join("desk.sqlite3");
    let mut bytes = std::fs::read(&store).expect("store");
    for b in bytes.iter_mut().skip(4096).take(16384) {
        *b = 0xA5;
    }
    std::fs::write(&store, &bytes).expect("damage");
    let run = desk.as_coordinator(&["report", "list"], "");
    assert!(run.code == 5 || run.code == 1, "{run:?}");
    assert!(
        run.stderr.contains("damaged") || run.stderr.contains("not a HIRC Desk store"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked") && !run.stderr.contains("backtrace"));
    assert!(
        std::fs::read(&store).expect("store") == bytes,
        "the damaged file was not changed"
    );

    // Not a database at all.
    let mut other = TestDesk::new();
    std::fs::write(other.path().join("desk.sqlite3"), b"hello").expect("write");
    let run = other.run(&["status"], "x\n").expect_code(1);
    assert!(
        run.stderr.contains("not a HIRC Desk store"),
        "{}",
        run.stderr
    );

    // Someone else's SQLite database.
    let mut foreign = TestDesk::new();
    let path = foreign.path().join("desk.sqlite3");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);"))
        .expect("foreign db");
    let before = std::fs::read(&path).expect("read");
    let run = foreign.run(&["status"], "x\n").expect_code(1);
    assert!(
        run.stderr.contains("not a HIRC Desk store"),
        "{}",
        run.stderr
    );
    assert!(std::fs::read(&path).expect("read") == before);
}

/// A page of random bytes in the middle of the store: every command says
/// the store is damaged (never an SQLite error code), and none of them,
/// not even `audit verify`'s unlock, writes into the damaged file.
#[test]
fn a_page_of_random_bytes_is_named_as_damage_and_nothing_writes_into_it() {
    let (mut desk, _) = TestDesk::init();
    for _ in 0..12 {
        new_from_example(&mut desk);
    }
    let store = desk.path().join("desk.sqlite3");
    let clean = std::fs::read(&store).expect("store");
    let pages = clean.len() / 4096;
    assert!(pages > 6, "the store spans several pages ({pages})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(31);
    for page in [2, pages / 2, pages - 2] {
        let mut bytes = clean.clone();
        rng.fill(&mut bytes[page * 4096..(page + 1) * 4096]);
        std::fs::write(&store, &bytes).expect("damage");
        for args in [&["report", "list"][..], &["audit", "verify"], &["status"]] {
            let run = desk.as_coordinator(args, "").expect_code(5);
            assert!(
                run.stderr.contains("damaged") && !run.stderr.contains("Error code"),
                "page {page}, {args:?}: {}",
                run.stderr
            );
            assert!(
                std::fs::read(&store).expect("store") == bytes,
                "page {page}, {args:?} wrote into the damaged file"
            );
        }
    }
}

/// A small file system, mounted for one test and unmounted after it.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// None where mounting is not allowed (not root).
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tmp").keep();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Fills the file system holding `dir` to the last byte.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
    path
}

/// The disk fills up at the desk: the next save says the disk is full (not
/// "disk I/O error", not a code), nothing already saved is lost, and once
/// there is room again the same command works.
#[test]
fn a_full_disk_is_named_and_loses_nothing() {
    if unsafe_to_mount() {
        return;
    }
    let Some(disk) = SmallDisk::mount("4m") else {
        panic!("could not mount a small tmpfs; this test needs root (CI runs as root)");
    };
    let (mut desk, _) = TestDesk::init_in(Some(&disk.0));
    let kept = new_from_example(&mut desk);
    let file = write(&desk, "patch.json", r#"{"area": "SS8"}"#);
    let filler = fill(&disk.0);

    let mut failures = Vec::new();
    for args in [
        &["report", "new", "--from", file.as_str()][..],
        &["report", "edit", kept.as_str(), "--from", file.as_str()],
    ] {
        let run = desk.as_coordinator(args, "");
        if run.code != 0 {
            failures.push(run);
        }
    }
    assert!(!failures.is_empty(), "a save failed on the full disk");
    for run in &failures {
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains("is full") && !run.stderr.contains("Error code"),
            "{}",
            run.stderr
        );
    }

    std::fs::remove_file(filler).expect("make room");
    let listed = list(&mut desk);
    assert!(
        listed.iter().any(|r| r["id"] == kept.as_str()),
        "the report saved before the disk filled is there"
    );
    desk.as_coordinator(&["report", "edit", &kept, "--from", &file], "")
        .ok();
    let shown = desk.as_coordinator(&["report", "show", &kept], "").ok();
    assert!(
        shown.stdout.contains("SS8"),
        "the edit went in once there was room"
    );
    desk.as_coordinator(&["audit", "verify"], "").ok();
    drop(desk);
}

/// Mounting is for root; elsewhere this test says so and stops.
fn unsafe_to_mount() -> bool {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        eprintln!("skipped: a full disk is simulated with a small tmpfs, which needs root");
        return true;
    }
    false
}

#[test]
fn passphrases_on_standard_input_must_be_there() {
    let (mut desk, _) = TestDesk::init();
    let run = desk.run(&["status"], "").expect_code(1);
    assert!(
        run.stderr.contains("line 1 of standard input"),
        "{}",
        run.stderr
    );
}

#[test]
fn summaries_count_submitted_reports_and_are_audited() {
    let (mut desk, _) = TestDesk::init();
    for _ in 0..3 {
        let id = new_from_example(&mut desk);
        desk.as_coordinator(&["report", "submit", &id], "").ok();
    }
    new_from_example(&mut desk); // a draft: not counted
    let today = hirc_e2e::today_utc();
    let out = desk.path().join("summary.csv");
    let run = desk
        .as_coordinator(
            &[
                "summary",
                "--from",
                &today,
                "--to",
                &today,
                "--out",
                &out.to_string_lossy(),
            ],
            "",
        )
        .ok();
    assert!(run.stderr.contains("Summary written"), "{}", run.stderr);
    let csv = std::fs::read_to_string(&out).expect("summary");
    assert!(
        csv.contains("Reports,All reports,<5,"),
        "3 reports are a small number:\n{csv}"
    );
    assert!(csv.contains("About,Suppression threshold,5,"));
    let run = desk
        .summary_of_today(&["--threshold", "2", "--format", "json"])
        .ok();
    assert!(
        run.stderr.contains("recorded in the audit log"),
        "{}",
        run.stderr
    );
    let json: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        json["tables"][0]["rows"][0]["cell"],
        serde_json::json!({"kind": "count", "value": 3})
    );
    // A workbook goes to a file (never to the terminal).
    desk.as_coordinator(
        &[
            "summary", "--from", &today, "--to", &today, "--format", "xlsx",
        ],
        "",
    )
    .expect_code(1);
    let book = desk.path().join("summary.xlsx");
    desk.as_coordinator(
        &[
            "summary",
            "--from",
            &today,
            "--to",
            &today,
            "--format",
            "xlsx",
            "--out",
            &book.to_string_lossy(),
        ],
        "",
    )
    .ok();
    assert!(
        std::fs::read(&book).expect("workbook").starts_with(b"PK"),
        "an xlsx is a zip"
    );
    // Never overwrites; coordinators only; every export audited.
    desk.as_coordinator(
        &[
            "summary",
            "--from",
            &today,
            "--to",
            &today,
            "--out",
            &out.to_string_lossy(),
        ],
        "",
    )
    .expect_code(1);
    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert_eq!(
        audit.stdout.matches("summary ").count(),
        3,
        "{}",
        audit.stdout
    );
    assert!(
        audit.stdout.contains("summary_threshold"),
        "{}",
        audit.stdout
    );
    desk.as_coordinator(
        &["user", "add", "Ann", "--role", "ambassador"],
        "ann passphrase\n",
    )
    .ok();
    desk.run(
        &["--user", "Ann", "summary", "--from", &today, "--to", &today],
        "ann passphrase\n",
    )
    .expect_code(1);
}

#[test]
fn the_summary_pdf_renders_and_holds_the_csvs_numbers() {
    let (mut desk, _) = TestDesk::init();
    for _ in 0..12 {
        let id = new_from_example(&mut desk);
        desk.as_coordinator(&["report", "submit", &id], "").ok();
    }
    let year = &hirc_e2e::today_utc()[..4];
    let csv = desk
        .as_coordinator(&["summary", "--period", year], "")
        .ok()
        .stdout;
    let pdf = desk.path().join("summary.pdf");
    desk.as_coordinator(&["summary", "--period", year, "--format", "pdf"], "")
        .expect_code(1);
    desk.as_coordinator(
        &[
            "summary",
            "--period",
            year,
            "--format",
            "pdf",
            "--out",
            &pdf.to_string_lossy(),
        ],
        "",
    )
    .ok();

    // Every count of the CSV is on a line of the PDF beside its label.
    let text = hirc_e2e::pdf_text(&pdf);
    assert!(text.contains("Castle Point CVS (CP)"), "{text}");
    assert!(text.contains(&format!("1 January {year} to 31 December {year}")));
    assert!(text.contains("Small numbers are suppressed"));
    assert!(text.contains("Reports taken: 12"), "{text}");
    let mut checked = 0;
    for line in csv.lines().skip(5) {
        let cells = csv_fields(line);
        let (section, item, count) = (&*cells[0], &*cells[1], &*cells[2]);
        if section == "Reports" {
            continue;
        }
        let found = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(item) && l[item.len()..].split_whitespace().next() == Some(count)
        });
        assert!(
            found,
            "{section} / {item} = {count} is not in the PDF:\n{text}"
        );
        checked += 1;
    }
    assert!(checked > 40, "only {checked} rows checked");

    // It renders: poppler draws every page, and the first has ink on it.
    let out = desk.path().join("page");
    let run = std::process::Command::new("pdftoppm")
        .args(["-r", "40", "-gray"])
        .arg(&pdf)
        .arg(&out)
        .output()
        .expect("pdftoppm (Debian's poppler-utils) runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let first = std::fs::read_dir(desk.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("page-"))
        })
        .min()
        .expect("a page image");
    let pgm = std::fs::read(&first).expect("page");
    // A binary PGM: "P5\nW H\n255\n" then one byte per pixel.
    let mut header_lines = 0;
    let start = pgm
        .iter()
        .position(|b| {
            header_lines += usize::from(*b == b'\n');
            header_lines == 3
        })
        .expect("a PGM header")
        + 1;
    let pixels = &pgm[start..];
    let dark = pixels.iter().filter(|p| **p < 128).count();
    assert!(
        dark * 1000 > pixels.len() && dark * 4 < pixels.len(),
        "page 1 looks blank or black: {dark} dark of {}",
        pixels.len()
    );
}

/// The fields of one RFC 4180 line.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("a field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().expect("a field").push(c),
        }
    }
    fields
}
