//! A hub restored from its backup carries on: every receipt still verifies,
//! and a desk that sends a report again gets the receipt it was first given.

use std::collections::BTreeMap;

use hirc_e2e::{TestDesk, hub_admin};
use serde_json::Value;

use crate::{Hub, assert_delivered_exactly_once, desk_with_reports, submit, sync, sync_until_done};

/// Each report's receipt id, as the desk holds it.
fn receipts(desk: &mut TestDesk) -> BTreeMap<String, String> {
    let list = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    let list: Vec<Value> = serde_json::from_str(&list.stdout).expect("json");
    list.iter()
        .filter_map(|row| {
            Some((
                row["id"].as_str()?.to_string(),
                row["upload"]["receipt"]["receipt_id"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_hub_restored_from_its_backup_carries_on() {
    let mut hub = Hub::start();
    let url = hub.url();
    let (mut desk, reports) = desk_with_reports(&hub, &url, 3, "CANARY-backup");
    // The desk as it was before it synced: a desk whose disk lost the
    // receipts after the hub had stored the reports sends them again.
    let mut earlier = desk.copy();
    sync_until_done(&mut desk);
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
    let first = receipts(&mut desk);
    assert_eq!(first.len(), 3);

    // Backed up while the hub is serving.
    let place = tempfile::tempdir().expect("tmp");
    let out = place.path().join("hub-backup");
    let data = hub.data.to_string_lossy().into_owned();
    let run = hub_admin(&[
        "backup",
        "--data-dir",
        &data,
        "--out",
        &out.to_string_lossy(),
    ])
    .ok();
    assert!(
        run.stdout.contains("1 desk(s) and 3 report revision(s)"),
        "{}",
        run.stdout
    );
    #[cfg(unix)]
    for name in ["", "hub.sqlite3", "receipt-signing.key", "BACKUP.txt"] {
        let want = if name.is_empty() { 0o700 } else { 0o600 };
        assert_eq!(mode(&out.join(name)), want, "{name}: owner-only");
    }
    // A backup never goes over another one.
    let again = hub_admin(&[
        "backup",
        "--data-dir",
        &data,
        "--out",
        &out.to_string_lossy(),
    ])
    .expect_code(1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    // Without the key the desks pinned, a backup is refused (it could not
    // be restored into a hub they trust).
    let keyless = place.path().join("keyless");
    let run = hub_admin(&[
        "backup",
        "--data-dir",
        &data,
        "--receipt-key",
        &place.path().join("no-such.key").to_string_lossy(),
        "--out",
        &keyless.to_string_lossy(),
    ])
    .expect_code(1);
    assert!(run.stderr.contains("pinned it"), "{}", run.stderr);
    // A backup that failed leaves nothing that looks like one: no folder of
    // its name, and no half-written `.partial` beside it.
    assert!(!keyless.exists(), "a failed backup left its folder");
    assert!(!place.path().join("keyless.partial").exists());
    // One cut short earlier (its `.partial` left behind) is named, not
    // mixed into a new one.
    let cut = place.path().join("cut");
    std::fs::create_dir(place.path().join("cut.partial")).expect("dir");
    let run = hub_admin(&[
        "backup",
        "--data-dir",
        &data,
        "--out",
        &cut.to_string_lossy(),
    ])
    .expect_code(1);
    assert!(run.stderr.contains("cut short"), "{}", run.stderr);
    assert!(!cut.exists());

    // A leftover SQLite log where the store is to go would be replayed over
    // it: refused, nothing made.
    let crashed = place.path().join("crashed");
    std::fs::create_dir(&crashed).expect("dir");
    std::fs::write(crashed.join("hub.sqlite3-wal"), b"an old store's log").expect("wal");
    let run = hub_admin(&[
        "restore",
        "--from",
        &out.to_string_lossy(),
        "--data-dir",
        &crashed.to_string_lossy(),
    ])
    .expect_code(1);
    assert!(run.stderr.contains("hub.sqlite3-wal"), "{}", run.stderr);
    assert!(!crashed.join("hub.sqlite3").exists());

    // A damaged copy of the backup is refused, and nothing is made.
    let damaged = place.path().join("damaged");
    std::fs::create_dir(&damaged).expect("dir");
    let bytes = std::fs::read(out.join("hub.sqlite3")).expect("read");
    std::fs::write(damaged.join("hub.sqlite3"), &bytes[..bytes.len() / 2]).expect("half");
    let nowhere = place.path().join("nowhere");
    let run = hub_admin(&[
        "restore",
        "--from",
        &damaged.to_string_lossy(),
        "--data-dir",
        &nowhere.to_string_lossy(),
    ])
    .expect_code(1);
    assert!(run.stderr.contains("cannot be restored"), "{}", run.stderr);
    assert!(!nowhere.join("hub.sqlite3").exists());

    // The hub's machine is lost: it comes back from the backup, at the
    // same address.
    hub.down();
    let restored = place.path().join("restored");
    let run = hub_admin(&[
        "restore",
        "--from",
        &out.to_string_lossy(),
        "--data-dir",
        &restored.to_string_lossy(),
    ])
    .ok();
    assert!(
        run.stdout.contains("1 desk(s) and 3 report revision(s)"),
        "{}",
        run.stdout
    );
    // Restoring over a store is refused.
    let run = hub_admin(&[
        "restore",
        "--from",
        &out.to_string_lossy(),
        "--data-dir",
        &restored.to_string_lossy(),
    ])
    .expect_code(1);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    hub.data = restored;
    hub.up();

    // The desk that lost its receipts sends the three again: the restored
    // hub answers with the very receipts it gave first, signed by the key it
    // was restored with, which the desk checks before it marks anything
    // delivered.
    assert_eq!(sync(&mut earlier), (3, 0, 0));
    assert_eq!(receipts(&mut earlier), first);
    assert_delivered_exactly_once(&hub, &mut earlier, &reports);

    // The desk that kept its receipts carries on with the restored hub.
    let more = submit(&mut desk, 1, "CANARY-backup-after");
    sync_until_done(&mut desk);
    let mut all = reports.clone();
    all.extend(more);
    assert_delivered_exactly_once(&hub, &mut desk, &all);
}

#[test]
fn a_postgres_hub_restored_from_pg_dump_carries_on() {
    let Some(database) = hirc_e2e::fresh_postgres() else {
        eprintln!("HIRC_TEST_POSTGRES is not set: the PostgreSQL backup test is skipped");
        return;
    };
    let place = tempfile::tempdir().expect("tmp");
    let key = place
        .path()
        .join("receipt.key")
        .to_string_lossy()
        .into_owned();
    let mut hub = Hub::start_with(&["--database", &database, "--receipt-key", &key]);
    let url = hub.url();
    let code = hub_admin(&[
        "enrol",
        "--database",
        &database,
        "--receipt-key",
        &key,
        "--centre",
        "Castle Point CVS",
    ])
    .ok()
    .last_line();
    let (mut desk, _) = TestDesk::init();
    desk.as_coordinator(&["enrol", "--hub", &url, "--code", &code], "")
        .ok();
    let reports = submit(&mut desk, 2, "CANARY-pg-backup");
    let mut earlier = desk.copy();
    sync_until_done(&mut desk);
    let first = receipts(&mut desk);
    assert_eq!(first.len(), 2);

    // pg_dump while the hub serves; the password never on a command line.
    let out = place.path().join("pg-backup");
    let run = hub_admin(&[
        "backup",
        "--database",
        &database,
        "--receipt-key",
        &key,
        "--out",
        &out.to_string_lossy(),
    ])
    .ok();
    assert!(
        run.stdout.contains("1 desk(s) and 2 report revision(s)"),
        "{}",
        run.stdout
    );
    #[cfg(unix)]
    for name in ["hub.dump", "receipt-signing.key", "BACKUP.txt"] {
        assert_eq!(mode(&out.join(name)), 0o600, "{name}: owner-only");
    }

    // The database is lost: a new one, restored from the dump, and the key
    // put where the hub processes read it.
    hub.down();
    let restored_db = hirc_e2e::fresh_postgres().expect("a second database");
    let restored_key = place
        .path()
        .join("restored.key")
        .to_string_lossy()
        .into_owned();
    let restore = |db: &str, key: &str| {
        hub_admin(&[
            "restore",
            "--from",
            &out.to_string_lossy(),
            "--database",
            db,
            "--receipt-key",
            key,
        ])
    };
    let run = restore(&restored_db, &restored_key).ok();
    assert!(
        run.stdout.contains("1 desk(s) and 2 report revision(s)"),
        "{}",
        run.stdout
    );
    // A database that holds a hub already is never restored over.
    let other_key = place
        .path()
        .join("other.key")
        .to_string_lossy()
        .into_owned();
    let run = restore(&restored_db, &other_key).expect_code(1);
    assert!(run.stderr.contains("not empty"), "{}", run.stderr);
    hub.flags = ["--database", &restored_db, "--receipt-key", &restored_key]
        .iter()
        .map(|f| (*f).to_string())
        .collect();
    hub.up();

    // The desk that lost its receipts gets the originals, signed by the
    // restored key, which it checks before it marks anything delivered.
    assert_eq!(sync(&mut earlier), (2, 0, 0));
    assert_eq!(receipts(&mut earlier), first);
    let held = hub_admin(&[
        "export",
        "--database",
        &restored_db,
        "--identity",
        &hub.identity.to_string_lossy(),
    ])
    .ok();
    for (id, account) in &reports {
        assert!(
            held.stdout.contains(id.as_str()),
            "{id} in the restored hub"
        );
        assert!(held.stdout.contains(account.as_str()), "{id}'s account");
    }
}
