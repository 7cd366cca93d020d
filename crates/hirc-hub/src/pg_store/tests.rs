use std::sync::Arc;

use super::*;

/// A connection for the test's own statements, its driver spawned.
async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to HIRC_TEST_POSTGRES");
    tokio::spawn(connection);
    client
}

/// A desk enrolled straight in the store (`code` is its code and its
/// token's hash); its device id.
async fn enrolled(store: &PgStore, code: &str) -> Uuid {
    let now = Utc::now();
    store
        .add_enrol_code(code, "Harlow", now + chrono::Duration::hours(1))
        .await
        .expect("code");
    match store.redeem(code, "desk", code, None, now).await {
        Ok(Redeem::Enrolled(d)) => d.id,
        other => panic!("enrol: {other:?}"),
    }
}

/// A fresh database on the server named by `HIRC_TEST_POSTGRES`
/// (`scripts/test` starts PostgreSQL and sets it). Without it the test
/// says so and passes, except under CI, where it must run.
pub(crate) async fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var("HIRC_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "HIRC_TEST_POSTGRES must be set under CI (scripts/test sets it)"
        );
        eprintln!("HIRC_TEST_POSTGRES is not set: the PostgreSQL store test is skipped");
        return None;
    };
    let name = format!("hirc_unit_{}", Uuid::now_v7().simple());
    admin(&base)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    Some(format!("{prefix}/{name}"))
}

#[tokio::test]
async fn the_postgres_store_keeps_the_contract() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PgStore::connect(&url).await.expect("connect");
    crate::store::tests::exercise(&store).await;
    // Connecting again finds the schema up to date.
    PgStore::connect(&url).await.expect("reconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_starting_together_on_a_new_database_all_come_up() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::connect(&url).await.map(drop) })
        })
        .collect();
    for start in starts {
        start.await.expect("task").expect("each hub comes up");
    }
    let applied: i64 = admin(&url)
        .await
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .expect("history")
        .get(0);
    assert_eq!(
        applied,
        migrate::MIGRATIONS.len() as i64,
        "each migration once"
    );
}

/// A database as the hub before refinery left it: the first two
/// migrations run, their count in `hirc_schema`, a device enrolled; and,
/// for a takeover that was cut short, refinery's history already made but
/// empty.
async fn made_before_refinery(url: &str, cut_short: bool) -> tokio_postgres::Client {
    let old = admin(url).await;
    for (_, sql) in &migrate::MIGRATIONS[..2] {
        old.batch_execute(sql).await.expect("old migration");
    }
    old.batch_execute(
        "CREATE TABLE hirc_schema (version INTEGER NOT NULL);
         INSERT INTO hirc_schema VALUES (2);
         INSERT INTO devices (id, centre, name, token_hash, created_at)
         VALUES ('0191c1f0-0000-7000-8000-000000000001', 'Harlow', 'desk', 'th', '2026-01-01T00:00:00.000Z');",
    )
    .await
    .expect("old hub's rows");
    if cut_short {
        old.batch_execute(
            "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY,
             name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))",
        )
        .await
        .expect("an empty history");
    }
    old
}

#[tokio::test]
async fn a_database_migrated_before_refinery_is_taken_over_as_it_is() {
    for cut_short in [false, true] {
        let Some(url) = fresh_database().await else {
            return;
        };
        let old = made_before_refinery(&url, cut_short).await;
        let store = PgStore::connect(&url).await.expect("taken over");
        assert_eq!(store.devices().await.expect("devices").len(), 1);
        // The later migrations ran (the limits' table answers), the first
        // two did not run again (they would have failed on existing tables).
        let limits = store.shared_limits().expect("shared");
        assert_eq!(limits.hit("k").await.expect("hit").hits, 1);
        let row = old
            .query_one(
                "SELECT (SELECT count(*) FROM refinery_schema_history),
                        to_regclass('hirc_schema') IS NOT NULL",
                &[],
            )
            .await
            .expect("history");
        let (versions, legacy): (i64, bool) = (row.get(0), row.get(1));
        assert_eq!(
            (versions, legacy),
            (migrate::MIGRATIONS.len() as i64, false),
            "cut short: {cut_short}"
        );
        PgStore::connect(&url).await.expect("and again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_whose_request_is_given_up_before_its_group_is_not_stored_later() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url).await.expect("connect"));
    let now = Utc::now();
    let desk = enrolled(&store, "a").await;
    // A group is being committed (the turn is held here) while an upload
    // queues; its desk hangs up.
    let turn = store.groups.turn.lock().await;
    let given_up = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put(desk, Uuid::now_v7(), 1, "d", b"d".to_vec(), now)
                .await
        })
    };
    while store.groups.waiting() < 1 {
        tokio::task::yield_now().await;
    }
    given_up.abort();
    let _ = given_up.await;
    assert_eq!(store.groups.waiting(), 0, "taken out of the queue");
    drop(turn);
    let kept = store
        .put(desk, Uuid::now_v7(), 1, "d", b"d".to_vec(), now)
        .await
        .expect("stored");
    assert!(matches!(kept, Put::Created(_)));
    assert_eq!(store.reports_since(None).await.expect("held").len(), 1);
}

#[tokio::test]
async fn a_database_from_a_newer_hub_is_refused() {
    let Some(url) = fresh_database().await else {
        return;
    };
    PgStore::connect(&url).await.expect("connect");
    admin(&url)
        .await
        .batch_execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (99, 'later', '2027-01-01T00:00:00Z', '1')",
        )
        .await
        .expect("a newer hub's migration");
    assert!(matches!(
        PgStore::connect(&url).await,
        Err(StoreError::Newer(_))
    ));
}

#[tokio::test]
async fn connections_the_database_drops_are_replaced() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PgStore::connect(&url).await.expect("connect");
    store.ping().await.expect("ping");
    let (base, name) = (
        std::env::var("HIRC_TEST_POSTGRES").expect("set"),
        url.rsplit('/').next().expect("a database name").to_string(),
    );
    // As a restart or a failover would: every connection of the hub's
    // database is cut.
    let cut = admin(&base)
        .await
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .expect("terminate");
    assert!(!cut.is_empty(), "the store had a connection");
    // Each cut connection fails once at most, is found closed and
    // replaced.
    let mut answered = false;
    for _ in 0..=POOL_SIZE + 1 {
        if store.ping().await.is_ok() {
            answered = true;
            break;
        }
    }
    assert!(answered, "the store answers again");
    for _ in 0..20 {
        store.ping().await.expect("and keeps answering");
    }
}

#[tokio::test]
async fn hits_are_counted_per_key_in_the_databases_minute_and_old_minutes_forgotten() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PgStore::connect(&url).await.expect("connect");
    let limits = store.shared_limits().expect("PostgreSQL shares its limits");
    // Counted well inside one minute: near its end, wait (by the
    // database's clock) for the next.
    while limits.hits("uploads:a").await.expect("hits").seconds_left < 15 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let count = async |key: &str| limits.hit(key).await.expect("hit").hits;
    assert_eq!(limits.hits("uploads:a").await.expect("hits").hits, 0);
    assert_eq!(count("uploads:a").await, 1);
    assert_eq!(count("uploads:a").await, 2);
    assert_eq!(count("uploads:b").await, 1);
    let now = limits.hits("uploads:a").await.expect("hits");
    assert_eq!(now.hits, 2);
    assert!((1..=60).contains(&now.seconds_left), "{now:?}");
    // Another process on the same database counts on the same rows.
    let other = PgStore::connect(&url).await.expect("connect");
    let shared = other.shared_limits().expect("shared");
    assert_eq!(shared.hit("uploads:a").await.expect("hit").hits, 3);
    // A minute long gone is forgotten; the current one is kept.
    let admin = admin(&url).await;
    admin
        .batch_execute("INSERT INTO limit_hits (key, minute, hits) VALUES ('uploads:a', 100, 9)")
        .await
        .expect("an old minute");
    limits.forget_old_hits().await.expect("forget");
    let left: i64 = admin
        .query_one("SELECT count(*) FROM limit_hits WHERE minute = 100", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
    assert_eq!(limits.hits("uploads:a").await.expect("hits").hits, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_arrive_together_share_one_commit() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url).await.expect("connect"));
    let now = Utc::now();
    let devices = [enrolled(&store, "a").await, enrolled(&store, "b").await];
    let same = Uuid::now_v7();
    let mut uploads: Vec<(Uuid, Uuid, &str)> =
        (0..6).map(|_| (devices[0], Uuid::now_v7(), "d")).collect();
    // The same revision three times in the group: the same bytes twice,
    // other bytes once. And one from a device the database does not
    // know, refused by its foreign key without failing the others.
    uploads.extend([
        (devices[1], same, "d1"),
        (devices[1], same, "d1"),
        (devices[1], same, "d2"),
        (Uuid::now_v7(), Uuid::now_v7(), "d"),
    ]);
    // Every upload queues while a commit is under way (the turn is held
    // here); observed, not timed.
    let turn = store.groups.turn.lock().await;
    let tasks: Vec<_> = uploads
        .iter()
        .map(|&(device, report, digest)| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put(device, report, 1, digest, digest.as_bytes().to_vec(), now)
                    .await
            })
        })
        .collect();
    while store.groups.waiting() < uploads.len() {
        tokio::task::yield_now().await;
    }
    drop(turn);
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    assert!(outcomes[9].is_err(), "{:?}", outcomes[9]);
    let outcomes: Vec<Put> = outcomes[..9]
        .iter()
        .map(|o| o.as_ref().expect("stored").clone())
        .collect();
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
    assert_eq!(store.reports_since(None).await.expect("held").len(), 7);
    // The group failed on the unknown device, and each was then stored
    // alone: nine commits. Without the unknown one, one commit.
    assert_eq!(store.groups.commits(), 9);
    let turn = store.groups.turn.lock().await;
    let first = devices[0];
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put(first, Uuid::now_v7(), 1, "d", b"d".to_vec(), now)
                    .await
            })
        })
        .collect();
    while store.groups.waiting() < 5 {
        tokio::task::yield_now().await;
    }
    drop(turn);
    for task in tasks {
        assert!(matches!(task.await.expect("task"), Ok(Put::Created(_))));
    }
    assert_eq!(store.groups.commits(), 10, "five in one commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_most_uploads_waiting_one_more_is_answered_try_again_at_once() {
    use super::group::{MOST_PER_COMMIT, MOST_WAITING};
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url).await.expect("connect"));
    let now = Utc::now();
    let desk = enrolled(&store, "a").await;
    // The database is slow (a group is being committed: the turn is held
    // here) while uploads pile up to the limit.
    let turn = store.groups.turn.lock().await;
    let queued: Vec<_> = (0..MOST_WAITING)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put(desk, Uuid::now_v7(), 1, "d", b"d".to_vec(), now)
                    .await
            })
        })
        .collect();
    while store.groups.waiting() < MOST_WAITING {
        tokio::task::yield_now().await;
    }
    let refused = store
        .put(desk, Uuid::now_v7(), 1, "d", b"d".to_vec(), now)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    drop(turn);
    for task in queued {
        assert!(matches!(task.await.expect("task"), Ok(Put::Created(_))));
    }
    assert_eq!(
        store.reports_since(None).await.expect("held").len(),
        MOST_WAITING
    );
    assert_eq!(
        store.groups.commits(),
        (MOST_WAITING / MOST_PER_COMMIT) as u64,
        "full groups"
    );
}

/// Waits until another session is waiting for a lock in `url`'s database
/// or `task` has finished (whichever is observed first; bounded
/// generously, never timed).
async fn lock_wait_or_done<T>(admin: &tokio_postgres::Client, task: &tokio::task::JoinHandle<T>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .expect("activity")
            .get(0);
        if waiting > 0 || task.is_finished() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "neither waited nor finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_in_flight_when_its_report_is_erased_is_erased_with_it() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url).await.expect("connect"));
    let desk = enrolled(&store, "a").await;
    let report = Uuid::now_v7();
    let now = Utc::now();
    // Another hub's upload of the report, inserted and not yet committed.
    let other_hub = admin(&url).await;
    other_hub.batch_execute("BEGIN").await.expect("begin");
    other_hub
        .execute(
            "INSERT INTO reports (report_id, revision, device_id, digest, size, body, receipt_id, received_at)
             VALUES ($1, 1, $2, 'd', 1, 'x', $3, $4)",
            &[
                &report.to_string(),
                &desk.to_string(),
                &Uuid::now_v7().to_string(),
                &crate::store::text(now),
            ],
        )
        .await
        .expect("insert");
    let erasing = {
        let store = store.clone();
        tokio::spawn(async move { store.erase(desk, report, now, now).await })
    };
    lock_wait_or_done(&admin(&url).await, &erasing).await;
    other_hub.batch_execute("COMMIT").await.expect("commit");
    let tombstone = erasing.await.expect("task").expect("erased");
    assert_eq!(tombstone.revisions_deleted, 1, "the upload was erased");
    let left: i64 = other_hub
        .query_one(
            "SELECT count(*) FROM reports WHERE report_id = $1",
            &[&report.to_string()],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "nothing of the report outlives its tombstone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_arrives_during_an_erasure_finds_the_tombstone() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url).await.expect("connect"));
    let desk = enrolled(&store, "a").await;
    let report = Uuid::now_v7();
    let now = Utc::now();
    // Another hub's erasure, as erase_in makes it, not yet committed.
    let other_hub = admin(&url).await;
    other_hub
        .batch_execute("BEGIN; LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE")
        .await
        .expect("lock");
    other_hub
        .execute(
            "INSERT INTO erasures (desk, report_id, device_id, erased_at, received_at, revisions_deleted)
             VALUES ($1, $2, $1, $3, $3, 0)",
            &[&desk.to_string(), &report.to_string(), &crate::store::text(now)],
        )
        .await
        .expect("tombstone");
    let uploading = {
        let store = store.clone();
        tokio::spawn(async move { store.put(desk, report, 1, "d", b"d".to_vec(), now).await })
    };
    lock_wait_or_done(&admin(&url).await, &uploading).await;
    other_hub.batch_execute("COMMIT").await.expect("commit");
    let put = uploading.await.expect("task").expect("answered");
    assert!(matches!(put, Put::Erased(_)), "{put:?}");
    assert!(store.reports_since(None).await.expect("held").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_arriving_together_never_take_a_desk_past_its_days_amount() {
    use crate::store::{ChunkPut, EvidenceChunk};
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url).await.expect("connect"));
    let device = enrolled(&store, "q").await;
    // Eight first chunks of eight items at once, room for three: each
    // counts what the others sent, whatever the order.
    let puts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put_evidence_chunk(EvidenceChunk {
                        device_id: device,
                        report_id: Uuid::now_v7(),
                        evidence_id: Uuid::now_v7(),
                        length: 2000,
                        digest: "sha-256=:x:".into(),
                        offset: 0,
                        bytes: vec![1; 1000],
                        day_quota: 3000,
                        now: Utc::now(),
                    })
                    .await
                    .expect("put")
            })
        })
        .collect();
    let mut stored = 0;
    for put in puts {
        match put.await.expect("task") {
            ChunkPut::Stored(_) => stored += 1,
            ChunkPut::OverQuota => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(stored, 3, "exactly the day's amount, never more");
}
