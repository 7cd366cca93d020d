//! Help, usage, and setting up a desk with `hirc init`.

use hirc_e2e::TestDesk;

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
