//! Users, roles and passphrases: wrong passphrases, the recovery code, and
//! passphrases read from standard input.

use std::time::{Duration, Instant};

use hirc_e2e::{COORDINATOR_PASS, TestDesk};
use serde_json::Value;

use crate::{list, new_from_example};

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
fn passphrases_on_standard_input_must_be_there() {
    let (mut desk, _) = TestDesk::init();
    let run = desk.run(&["status"], "").expect_code(1);
    assert!(
        run.stderr.contains("line 1 of standard input"),
        "{}",
        run.stderr
    );
}
