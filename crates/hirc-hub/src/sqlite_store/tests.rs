use super::*;

#[tokio::test]
async fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("tmp");
    crate::store::tests::exercise(&SqliteStore::open(dir.path()).expect("store")).await;
}

#[test]
fn a_store_from_a_newer_hub_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    drop(SqliteStore::open(dir.path()).expect("store"));
    Connection::open(dir.path().join("hub.sqlite3"))
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("a newer hub's schema");
    assert!(matches!(
        SqliteStore::open(dir.path()),
        Err(StoreError::Newer(_))
    ));
}

#[test]
fn a_foreign_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    Connection::open(dir.path().join("hub.sqlite3"))
        .and_then(|c| c.execute_batch("CREATE TABLE t (x);"))
        .expect("foreign");
    assert!(matches!(
        SqliteStore::open(dir.path()),
        Err(StoreError::Foreign(_))
    ));
}

/// Enrols a device straight in the store.
fn device(db: &Sqlite, code: &str) -> Uuid {
    let now = Utc::now();
    db.add_enrol_code(code, "Harlow", now + chrono::Duration::hours(1))
        .expect("code");
    match db.redeem(code, "desk", code, None, now).expect("redeem") {
        Redeem::Enrolled(d) => d.id,
        other => panic!("{other:?}"),
    }
}

fn upload(device_id: Uuid, report_id: Uuid, digest: &str) -> Upload {
    Upload {
        device_id,
        report_id,
        revision: 1,
        digest: digest.into(),
        body: digest.as_bytes().to_vec(),
        evidence: None,
        now: Utc::now(),
    }
}

/// Uploads from threads that each queue one while the connection is
/// busy (as while a commit is being flushed); returns their outcomes
/// once the connection is let go.
fn queued_while_busy(db: &Arc<Sqlite>, uploads: Vec<Upload>) -> Vec<Result<Put>> {
    let n = uploads.len();
    let busy = db.conn();
    let threads: Vec<_> = uploads
        .into_iter()
        .map(|u| {
            let db = db.clone();
            std::thread::spawn(move || db.put(u))
        })
        .collect();
    // Observed, not timed: every upload is queued.
    while db.waiting().len() < n {
        std::thread::yield_now();
    }
    drop(busy);
    threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect()
}

#[test]
fn uploads_that_arrive_together_share_one_commit() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = SqliteStore::open(dir.path()).expect("store").db;
    let (a, b) = (device(&db, "a"), device(&db, "b"));
    let same = Uuid::now_v7();
    let mut uploads: Vec<Upload> = (0..6).map(|_| upload(a, Uuid::now_v7(), "d")).collect();
    // The same revision three times in the group: the same bytes twice,
    // other bytes once.
    uploads.extend([
        upload(b, same, "d1"),
        upload(b, same, "d1"),
        upload(b, same, "d2"),
    ]);
    let outcomes = queued_while_busy(&db, uploads);
    assert_eq!(db.commits.load(Ordering::Relaxed), 1, "one commit for all");
    let outcomes: Vec<Put> = outcomes.into_iter().map(|o| o.expect("stored")).collect();
    let created = |p: &&Put| matches!(p, Put::Created(_));
    assert_eq!(outcomes.iter().filter(created).count(), 7, "{outcomes:?}");
    let receipt_of = |p: &Put| match p {
        Put::Created(r) | Put::Repeat(r) | Put::Conflict(r) => r.clone(),
        Put::Erased(_) => panic!("nothing was erased"),
    };
    let of_same: Vec<_> = outcomes[6..].iter().map(receipt_of).collect();
    assert!(
        of_same.iter().all(|r| *r == of_same[0]),
        "one receipt for the revision, whichever came first: {of_same:?}"
    );
    assert_eq!(db.reports_since(None).expect("held").len(), 7);
}

#[test]
fn an_upload_that_cannot_be_stored_does_not_fail_its_group() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = SqliteStore::open(dir.path()).expect("store").db;
    let a = device(&db, "a");
    let mut uploads: Vec<Upload> = (0..4).map(|_| upload(a, Uuid::now_v7(), "d")).collect();
    // A device the store does not know: refused by its foreign key.
    uploads.push(upload(Uuid::now_v7(), Uuid::now_v7(), "d"));
    let outcomes = queued_while_busy(&db, uploads);
    assert!(
        outcomes[..4]
            .iter()
            .all(|o| matches!(o, Ok(Put::Created(_))))
    );
    assert!(outcomes[4].is_err(), "{:?}", outcomes[4]);
    assert_eq!(db.reports_since(None).expect("held").len(), 4);
}

#[test]
fn a_backup_copies_the_store_as_it_is_and_changes_nothing() {
    // A store made by an older hub: the first schema only, one desk.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("hub.sqlite3");
    let old = Connection::open(&path).expect("old store");
    old.execute_batch(MIGRATIONS[0]).expect("schema 1");
    old.pragma_update(None, "application_id", APPLICATION_ID)
        .expect("id");
    old.pragma_update(None, "user_version", 1).expect("version");
    old.execute_batch(
        "PRAGMA journal_mode = WAL;
         INSERT INTO devices (id, centre, name, token_hash, created_at)
         VALUES ('0191c1f0-0000-7000-8000-000000000001', 'Harlow', 'desk', 'th', '2026-01-01T00:00:00.000Z');",
    )
    .expect("a desk");
    let to = dir.path().join("copy.sqlite3");
    let held = SqliteStore::back_up(dir.path(), &to).expect("backup");
    assert_eq!(
        held,
        Held {
            desks: 1,
            revisions: 0
        }
    );
    let version = |c: &Connection| -> i64 {
        c.pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version")
    };
    assert_eq!(version(&old), 1, "the store was not migrated");
    assert_eq!(version(&Connection::open(&to).expect("copy")), 1);
    SqliteStore::check_file(&to).expect("a whole store");
    // A second backup to the same file is refused, the first kept.
    assert!(SqliteStore::back_up(dir.path(), &to).is_err());
    SqliteStore::check_file(&to).expect("still whole");
    // With no hub running (SQLite's -wal and -shm files gone) too.
    drop(old);
    assert!(!dir.path().join("hub.sqlite3-wal").exists());
    let again = dir.path().join("again.sqlite3");
    SqliteStore::back_up(dir.path(), &again).expect("backup of a closed store");
    SqliteStore::check_file(&again).expect("whole");
    // Something else than a hub store is not copied.
    let other = tempfile::tempdir().expect("tmp");
    Connection::open(other.path().join("hub.sqlite3"))
        .and_then(|c| c.execute_batch("CREATE TABLE t (x);"))
        .expect("foreign");
    assert!(matches!(
        SqliteStore::back_up(other.path(), &other.path().join("copy")),
        Err(StoreError::Foreign(_))
    ));
    assert!(!other.path().join("copy").exists());
}

#[test]
fn a_store_from_before_the_sweep_keeps_the_evidence_it_held_whole() {
    // A store made by the hub before items were marked as named: schema 5,
    // one desk, one item whole (its revision may or may not have come) and
    // one half sent, both long idle.
    let dir = tempfile::tempdir().expect("tmp");
    let old = Connection::open(dir.path().join("hub.sqlite3")).expect("old store");
    for schema in &MIGRATIONS[..5] {
        old.execute_batch(schema).expect("schema");
    }
    old.pragma_update(None, "application_id", APPLICATION_ID)
        .expect("id");
    old.pragma_update(None, "user_version", 5).expect("version");
    old.execute_batch(
        "INSERT INTO devices (id, centre, name, token_hash, created_at)
         VALUES ('0191c1f0-0000-7000-8000-000000000001', 'Harlow', 'desk', 'th', '2025-01-01T00:00:00.000Z');
         INSERT INTO evidence (desk, id, report_id, device_id, length, digest, received, complete, started_at)
         VALUES ('0191c1f0-0000-7000-8000-000000000001', '0191c1f0-0000-7000-8000-0000000000a1',
                 '0191c1f0-0000-7000-8000-0000000000b1', '0191c1f0-0000-7000-8000-000000000001',
                 3, 'sha-256=:w:', 3, 1, '2025-01-01T00:00:00.000Z'),
                ('0191c1f0-0000-7000-8000-000000000001', '0191c1f0-0000-7000-8000-0000000000a2',
                 '0191c1f0-0000-7000-8000-0000000000b2', '0191c1f0-0000-7000-8000-000000000001',
                 6, 'sha-256=:h:', 3, 0, '2025-01-01T00:00:00.000Z');
         INSERT INTO evidence_chunks (desk, id, seq, bytes, size, received_at, metered)
         VALUES ('0191c1f0-0000-7000-8000-000000000001', '0191c1f0-0000-7000-8000-0000000000a1', 0, x'616263', 3, '2025-01-01T00:00:00.000Z', 1),
                ('0191c1f0-0000-7000-8000-000000000001', '0191c1f0-0000-7000-8000-0000000000a2', 0, x'646566', 3, '2025-01-01T00:00:00.000Z', 1);",
    )
    .expect("evidence");
    drop(old);
    let store = SqliteStore::open(dir.path()).expect("migrated");
    let swept = store
        .db
        .sweep_unnamed_evidence(chrono::Utc::now())
        .expect("sweep");
    assert_eq!(
        swept,
        Swept { items: 1, bytes: 3 },
        "the half-sent item goes; the whole one is kept as named"
    );
    let left: Vec<String> = store
        .db
        .conn()
        .prepare("SELECT id FROM evidence")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("left");
    assert_eq!(
        left,
        vec!["0191c1f0-0000-7000-8000-0000000000a1".to_string()]
    );
}
