//! The desk's own tests: its lifecycle, users, and what stays on disk.

use std::time::Duration;

use super::*;
use crate::model::Strand;
use crate::model::{Report, ReportState};
use crate::testing::{example, fast, new_desk, pass};

#[test]
fn a_report_goes_from_draft_to_sealed() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, _) = new_desk(dir.path());
    assert_eq!(desk.info().centre_code, "CP");
    let s = desk
        .unlock("chris", &pass("chris passphrase"))
        .expect("unlock (any case)");

    let id = desk
        .create_draft(&s, &Report::default())
        .expect("empty draft");
    desk.patch_draft(&s, id, &serde_json::json!({"strands": ["disability"]}))
        .expect("patch");
    let err = desk.submit(&s, id).expect_err("incomplete");
    assert!(matches!(err, Error::Invalid(_)));

    desk.save_draft(&s, id, &example()).expect("save");
    let view = desk.report(&s, id).expect("open");
    let consent_at = view
        .report
        .as_ref()
        .and_then(|r| r.consent.consent_recorded_at);
    assert!(
        consent_at.is_some(),
        "consent time recorded once all three answers are in"
    );
    assert_eq!(view.row.save_seq, 3);

    let reference = desk.submit(&s, id).expect("submit");
    assert!(reference.as_str().starts_with("CP-"));
    let view = desk.report(&s, id).expect("open sealed");
    assert_eq!(view.row.state, ReportState::Sealed);
    assert_eq!(view.row.revision, 1);
    assert_eq!(
        view.report.as_ref().map(|r| r.strands.clone()),
        Some(vec![Strand::ReligionBelief, Strand::RaceEthnicity])
    );
    assert!(matches!(
        desk.save_draft(&s, id, &example()),
        Err(Error::WrongState { .. })
    ));
    assert!(matches!(
        desk.delete_draft(&s, id),
        Err(Error::WrongState { .. })
    ));
    assert_eq!(
        desk.resolve(&s, &reference.as_str().to_lowercase())
            .expect("by reference"),
        id
    );
    assert_eq!(
        desk.resolve(&s, &id.to_string()[..13]).expect("by prefix"),
        id
    );

    let status = desk.status(&s).expect("status");
    assert_eq!(
        (status.drafts, status.sealed, status.waiting_for_enrolment),
        (0, 1, 1)
    );
    let list = desk.list_reports(&s).expect("list");
    assert_eq!(list.len(), 1);
    assert!(list[0].summary.starts_with("Verbal abuse, threats"));
    assert!(desk.verify_audit(&s).expect("read").is_ok());
}

#[test]
fn consent_time_is_kept_across_autosaves_and_renewed_when_consent_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, _) = new_desk(dir.path());
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let id = desk.create_draft(&s, &example()).expect("draft");
    let at = |desk: &Desk| {
        desk.report(&s, id)
            .expect("open")
            .report
            .and_then(|r| r.consent.consent_recorded_at)
    };
    let first = at(&desk).expect("recorded at creation");
    std::thread::sleep(Duration::from_millis(5));
    desk.patch_draft(&s, id, &serde_json::json!({"area": "SS7"}))
        .expect("edit");
    assert_eq!(at(&desk), Some(first), "an unrelated change keeps the time");
    desk.patch_draft(
        &s,
        id,
        &serde_json::json!({"consent": {"refer_to_support": false}}),
    )
    .expect("edit");
    let second = at(&desk).expect("still recorded");
    assert!(second > first, "changed consent is recorded again");
    desk.patch_draft(
        &s,
        id,
        &serde_json::json!({"consent": {"pass_to_police": null}}),
    )
    .expect("edit");
    assert_eq!(at(&desk), None, "incomplete consent has no time");
}

#[test]
fn users_roles_and_passphrases() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, _) = new_desk(dir.path());
    let chris = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    desk.add_user(
        &chris,
        "Ann",
        Role::Ambassador,
        &pass("ann passphrase"),
        fast(),
    )
    .expect("add");
    assert!(matches!(
        desk.add_user(
            &chris,
            "ann",
            Role::Ambassador,
            &pass("ann passphrase"),
            fast()
        ),
        Err(Error::UserExists { .. })
    ));
    let ann = desk
        .unlock("Ann", &pass("ann passphrase"))
        .expect("ann unlocks");

    // Ambassadors cannot manage users or read the audit log, nor open others' drafts.
    assert!(matches!(
        desk.add_user(
            &ann,
            "Bob",
            Role::Ambassador,
            &pass("bob passphrase"),
            fast()
        ),
        Err(Error::NotPermitted { .. })
    ));
    assert!(matches!(
        desk.audit_log(&ann),
        Err(Error::NotPermitted { .. })
    ));
    let chris_draft = desk.create_draft(&chris, &example()).expect("draft");
    assert!(matches!(
        desk.report(&ann, chris_draft),
        Err(Error::NotPermitted { .. })
    ));
    assert!(
        desk.list_reports(&ann).expect("list").is_empty(),
        "ann sees no one else's drafts"
    );
    assert!(matches!(
        desk.set_passphrase(&ann, "Chris", &pass("new chris pass"), fast()),
        Err(Error::NotPermitted { .. })
    ));

    // Ann changes her own passphrase: the old one stops working.
    desk.set_passphrase(&ann, "Ann", &pass("ann second passphrase"), fast())
        .expect("passwd");
    assert!(matches!(
        desk.unlock("Ann", &pass("ann passphrase")),
        Err(Error::WrongPassphrase { .. })
    ));
    desk.unlock("Ann", &pass("ann second passphrase"))
        .expect("new passphrase works");

    // A removed user can no longer unlock, even with the right passphrase.
    desk.remove_user(&chris, "Ann").expect("remove");
    assert!(matches!(
        desk.unlock("Ann", &pass("ann second passphrase")),
        Err(Error::UnknownUser { .. })
    ));
    assert!(matches!(
        desk.remove_user(&chris, "Chris"),
        Err(Error::LastCoordinator { .. })
    ));
    assert!(matches!(
        desk.add_user(&chris, "Dee", Role::Ambassador, &pass("short"), fast()),
        Err(Error::WeakPassphrase(_))
    ));

    let actions: Vec<String> = desk
        .audit_log(&chris)
        .expect("log")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for expected in [
        "desk_created",
        "user_added",
        "unlock_ok",
        "unlock_failed",
        "passphrase_changed",
        "user_removed",
        "draft_created",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[test]
fn a_wrong_passphrase_changes_nothing_but_the_audit_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, _) = new_desk(dir.path());
    let started = std::time::Instant::now();
    let err = desk
        .unlock("Chris", &pass("not the passphrase"))
        .expect_err("wrong");
    assert!(
        started.elapsed() >= FAILED_UNLOCK_DELAY,
        "failed unlocks are slowed down"
    );
    assert_eq!(
        err.to_string(),
        "wrong passphrase for Chris; nothing was changed"
    );
    assert!(matches!(
        desk.unlock("Nobody", &pass("whatever it is")),
        Err(Error::UnknownUser { .. })
    ));
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let log = desk.audit_log(&s).expect("log");
    let failed: Vec<_> = log.iter().filter(|e| e.action == "unlock_failed").collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|e| e.actor.as_deref() != Some("Nobody") && e.detail.as_deref() != Some("Nobody"))
    );
}

#[test]
fn the_recovery_code_sets_a_new_passphrase_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, code) = new_desk(dir.path());
    let typed = RecoveryCode::parse(&code.reveal().to_lowercase()).expect("parse");
    assert!(matches!(
        desk.recover(
            None,
            &RecoveryCode::generate(),
            &pass("whatever new pass"),
            fast()
        ),
        Err(Error::WrongRecoveryCode)
    ));
    let fresh = desk
        .recover(None, &typed, &pass("a brand new passphrase"), fast())
        .expect("recover");
    desk.unlock("Chris", &pass("a brand new passphrase"))
        .expect("new passphrase");
    assert!(desk.unlock("Chris", &pass("chris passphrase")).is_err());
    // The used code is replaced.
    assert!(matches!(
        desk.recover(None, &typed, &pass("yet another passphrase"), fast()),
        Err(Error::WrongRecoveryCode)
    ));
    desk.recover(
        Some("chris"),
        &fresh,
        &pass("yet another passphrase"),
        fast(),
    )
    .expect("new code works");
}

/// A store written by schema version 1 (made with `hirc` 0.1.0: one sealed
/// report from the shared example, one draft). Every later migration must
/// bring it up to date with nothing lost.
#[test]
fn a_version_1_store_opens_and_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::copy("tests/data/desk-v1.sqlite3", dir.path().join(DESK_FILE)).expect("copy");
    let mut desk = Desk::open(dir.path()).expect("opens and migrates");
    assert_eq!(desk.info().centre_code, "FX");
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let status = desk.status(&s).expect("status");
    assert_eq!(status.schema_version, store::SCHEMA_VERSION);
    assert_eq!((status.drafts, status.sealed), (1, 1));
    let list = desk.list_reports(&s).expect("list");
    let sealed = list
        .iter()
        .find(|l| l.row.state == ReportState::Sealed)
        .expect("sealed");
    assert_eq!(sealed.row.reference.as_deref(), Some("FX-ARH3-RM"));
    let view = desk.report(&s, sealed.row.id).expect("open");
    let mut expected = example();
    expected.consent.consent_recorded_at = view
        .report
        .as_ref()
        .and_then(|r| r.consent.consent_recorded_at);
    assert_eq!(view.report, Some(expected));
    assert!(desk.verify_audit(&s).expect("read").is_ok());
}

#[test]
fn a_second_init_leaves_the_first_desk_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    let (desk, _) = new_desk(dir.path());
    let before = std::fs::read(desk.path()).expect("read");
    drop(desk);
    let again = Desk::create(
        dir.path(),
        &DeskSetup {
            centre_name: "Other",
            centre_code: "OT",
            coordinator: "Eve",
            passphrase: &pass("eve passphrase"),
            kdf: fast(),
        },
    );
    assert!(matches!(again, Err(Error::AlreadyInitialised { .. })));
    assert!(
        std::fs::read(dir.path().join(DESK_FILE)).expect("read") == before,
        "desk changed"
    );
}

/// Whether any of the store's files (database, WAL, shared memory)
/// holds `secret`.
fn on_disk(dir: &Path, secret: &[u8]) -> Vec<String> {
    ["", "-wal", "-shm"]
        .iter()
        .filter(|suffix| {
            let bytes = std::fs::read(dir.join(format!("{DESK_FILE}{suffix}"))).unwrap_or_default();
            bytes.windows(secret.len()).any(|w| w == secret)
        })
        .map(|s| format!("{DESK_FILE}{s}"))
        .collect()
}

fn blob(desk: &Desk, sql: &str) -> Vec<u8> {
    let bytes: Vec<u8> = desk.conn.query_row(sql, [], |r| r.get(0)).expect("blob");
    // Enough of it to be unique (age headers carry random salts and keys).
    bytes[bytes.len() / 2..bytes.len() / 2 + 64].to_vec()
}

/// A copy of `desk.sqlite3` alone (what a thief, or a backup tool that
/// skips `-wal`, takes), opened as a desk.
fn copy_of_main_file(dir: &Path) -> (tempfile::TempDir, Desk) {
    let copy = tempfile::tempdir().expect("tmp");
    std::fs::copy(dir.join(DESK_FILE), copy.path().join(DESK_FILE)).expect("copy");
    let desk = Desk::open(copy.path()).expect("the copy opens");
    (copy, desk)
}

#[test]
fn a_removed_secret_is_in_no_file_while_the_app_holds_the_store_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, code) = new_desk(dir.path());
    // The app keeps its own connection open all day.
    let app = Desk::open(dir.path()).expect("a second connection");
    assert_eq!(app.users().expect("users").len(), 1);
    let chris = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    desk.add_user(
        &chris,
        "Ann",
        Role::Ambassador,
        &pass("ann passphrase"),
        fast(),
    )
    .expect("add");
    let ann_slot =
        "SELECT k.wrapped FROM key_slots k JOIN users u ON u.id = k.user_id WHERE u.name = 'Ann'";

    // A changed passphrase: the old slot goes.
    let old = blob(&desk, ann_slot);
    desk.set_passphrase(&chris, "Ann", &pass("ann second passphrase"), fast())
        .expect("passwd");
    assert_eq!(
        on_disk(dir.path(), &old),
        Vec::<String>::new(),
        "old slot after passwd"
    );

    // A removed user: the slot goes, and a copy of the main file does not
    // open with their passphrase.
    let old = blob(&desk, ann_slot);
    desk.remove_user(&chris, "Ann").expect("remove");
    assert_eq!(
        on_disk(dir.path(), &old),
        Vec::<String>::new(),
        "slot after removal"
    );
    let (_copy, mut stolen) = copy_of_main_file(dir.path());
    assert!(
        stolen
            .unlock("Ann", &pass("ann second passphrase"))
            .is_err(),
        "a copy of the main file still opens with a removed user's passphrase"
    );

    // A replaced recovery code.
    let old = blob(
        &desk,
        "SELECT wrapped FROM key_slots WHERE kind = 'recovery'",
    );
    desk.recover(None, &code, &pass("a brand new passphrase"), fast())
        .expect("recover");
    assert_eq!(
        on_disk(dir.path(), &old),
        Vec::<String>::new(),
        "old recovery slot"
    );
    let chris = desk
        .unlock("Chris", &pass("a brand new passphrase"))
        .expect("unlock");

    // A deleted draft.
    let draft = desk.create_draft(&chris, &example()).expect("draft");
    let body = format!("SELECT body FROM reports WHERE id = '{draft}'");
    let old = blob(&desk, &body);
    desk.delete_draft(&chris, draft).expect("delete");
    assert_eq!(
        on_disk(dir.path(), &old),
        Vec::<String>::new(),
        "deleted draft"
    );

    // A purged report.
    let id = desk.create_draft(&chris, &example()).expect("draft");
    desk.submit(&chris, id).expect("submit");
    let hub = crate::testing::TestHub::new();
    hub.enrol(&mut desk, &chris);
    hub.deliver_all(&mut desk);
    let old = blob(
        &desk,
        &format!("SELECT body FROM reports WHERE id = '{id}'"),
    );
    desk.set_retention_days(&chris, 0).expect("retention");
    assert_eq!(desk.purge_expired(Utc::now()).expect("purge").len(), 1);
    assert_eq!(
        on_disk(dir.path(), &old),
        Vec::<String>::new(),
        "purged body"
    );
    let (_copy, mut stolen) = copy_of_main_file(dir.path());
    let s = stolen
        .unlock("Chris", &pass("a brand new passphrase"))
        .expect("unlock the copy");
    assert!(matches!(
        stolen.report(&s, id),
        Err(Error::WrongState { .. })
    ));
    drop(app);
}

#[test]
fn a_body_moved_to_another_row_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut desk, _) = new_desk(dir.path());
    let s = desk
        .unlock("Chris", &pass("chris passphrase"))
        .expect("unlock");
    let a = desk.create_draft(&s, &example()).expect("a");
    let b = desk.create_draft(&s, &Report::default()).expect("b");
    desk.conn
        .execute(
            "UPDATE reports SET body = (SELECT body FROM reports WHERE id = ?1) WHERE id = ?2",
            params![a.to_string(), b.to_string()],
        )
        .expect("swap");
    assert!(matches!(desk.report(&s, b), Err(Error::Integrity(_))));
    desk.report(&s, a).expect("a still opens");
}
