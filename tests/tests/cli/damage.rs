//! Tampering and damage: the audit chain, corrupt and foreign stores, random
//! bytes in a page, and a full disk.

use hirc_e2e::TestDesk;
use rand::{Rng, SeedableRng};

use crate::{list, new_from_example, write};

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
