//! The store contract, run against every back end.

use super::*;

/// The store contract, run against every back end.
pub(crate) async fn exercise(store: &dyn HubStore) {
    exercise_statuses_and_reports(store).await;
    exercise_evidence(store).await;
    exercise_sweep(store).await;
}

/// Unnamed evidence over weeks: what no revision names is swept once its
/// report's items are all idle, what a stored revision names never is
/// (marked or not), and a desk still sending starts again.
async fn exercise_sweep(store: &dyn HubStore) {
    // Long ago, so that no other part of the contract's evidence is idle
    // by these cut-offs.
    let day0 = Utc::now() - chrono::Duration::days(400);
    let day = |n: i64| day0 + chrono::Duration::days(n);
    store
        .add_enrol_code("s1", "Harlow", Utc::now() + chrono::Duration::hours(1))
        .await
        .expect("code");
    let Redeem::Enrolled(d) = store
        .redeem("s1", "sweep desk", "ts1", Some("KEY-S"), day0)
        .await
        .expect("redeem")
    else {
        panic!("enrol")
    };
    let chunk = |report: Uuid, item: Uuid, offset: u64, bytes: &[u8], at| EvidenceChunk {
        device_id: d.id,
        report_id: report,
        evidence_id: item,
        length: 6,
        digest: "sha-256=:six:".into(),
        offset,
        bytes: bytes.to_vec(),
        day_quota: 1000,
        now: at,
    };
    let named = |item: Uuid| hirc_proto::EvidenceItem {
        id: item,
        length: 6,
        digest: "sha-256=:six:".into(),
    };
    let put = |c: EvidenceChunk| async move {
        assert!(
            matches!(
                store.put_evidence_chunk(c).await.expect("put"),
                ChunkPut::Stored(_)
            ),
            "stored"
        );
    };
    let whole_on = |report: Uuid, item: Uuid, at| async move {
        put(chunk(report, item, 0, b"abc", at)).await;
        put(chunk(report, item, 3, b"def", at)).await;
        store
            .settle_evidence(d.id, item, true)
            .await
            .expect("whole");
    };
    let revision = |report: Uuid| async move {
        store
            .put_with_evidence(
                d.id,
                report,
                1,
                "dk",
                b"r".to_vec(),
                Some("sha-256=:m:".into()),
                day0,
            )
            .await
            .expect("revision");
    };
    let [half, whole, kept, resumed, misnamed, unmarked, slow, slower] =
        std::array::from_fn(|_| (Uuid::now_v7(), Uuid::now_v7()));
    // Half sent on day 0, then the desk was reset.
    put(chunk(half.0, half.1, 0, b"abc", day(0))).await;
    // Whole on day 0, but the revision never came.
    whole_on(whole.0, whole.1, day(0)).await;
    whole_on(misnamed.0, misnamed.1, day(0)).await;
    // Named by a revision, which is then stored.
    whole_on(kept.0, kept.1, day(0)).await;
    assert!(
        store
            .name_evidence(d.id, kept.0, vec![named(kept.1)])
            .await
            .expect("name")
    );
    revision(kept.0).await;
    // Half sent for the same report's next revision, then the desk was
    // reset: its stored revision does not keep an item it cannot name.
    let later = (kept.0, Uuid::now_v7());
    put(chunk(later.0, later.1, 0, b"abc", day(0))).await;
    // Stored by a hub that does not mark what it names (an older one
    // beside this one on the same database).
    whole_on(unmarked.0, unmarked.1, day(0)).await;
    revision(unmarked.0).await;
    // Begun on day 0, the rest sent on day 20.
    put(chunk(resumed.0, resumed.1, 0, b"abc", day(0))).await;
    put(chunk(resumed.0, resumed.1, 3, b"de", day(20))).await;
    // One report's two items: the first whole on day 0, the second still
    // arriving on day 20.
    let slower = (slow.0, slower.1);
    whole_on(slow.0, slow.1, day(0)).await;
    put(chunk(slower.0, slower.1, 0, b"abc", day(0))).await;
    put(chunk(slower.0, slower.1, 3, b"de", day(20))).await;
    // Naming what is not held whole, as named, marks nothing.
    for wrong in [
        vec![named(misnamed.1), named(Uuid::now_v7())],
        vec![hirc_proto::EvidenceItem {
            length: 7,
            ..named(misnamed.1)
        }],
        vec![named(whole.1)],
    ] {
        assert!(
            !store
                .name_evidence(d.id, misnamed.0, wrong)
                .await
                .expect("name"),
            "not all held whole for this report: refused"
        );
    }
    assert_eq!(
        store.sweep_unnamed_evidence(day(0)).await.expect("sweep"),
        Swept::default(),
        "nothing is idle before it began"
    );
    assert_eq!(
        store.sweep_unnamed_evidence(day(10)).await.expect("sweep"),
        Swept {
            items: 4,
            bytes: 3 + 6 + 6 + 3
        },
        "idle since day 10 and named by nothing: the halves, the whole and the misnamed"
    );
    for gone in [half, whole, misnamed, later] {
        assert_eq!(store.evidence_held(d.id, gone.1).await.expect("held"), None);
    }
    for (kept, why) in [
        (kept.1, "named"),
        (unmarked.1, "its report is stored"),
        (resumed.1, "a byte on day 20"),
        (slow.1, "its report's other item had a byte on day 20"),
    ] {
        assert!(
            store
                .evidence_held(d.id, kept)
                .await
                .expect("held")
                .is_some(),
            "{why}: kept"
        );
    }
    assert_eq!(
        store.sweep_unnamed_evidence(day(30)).await.expect("sweep"),
        Swept {
            items: 3,
            bytes: 5 + 6 + 5
        },
        "by day 30 the resumed one and the slow report are idle too"
    );
    assert_eq!(
        store.sweep_unnamed_evidence(day(399)).await.expect("sweep"),
        Swept::default(),
        "what a stored revision names is never swept, a year on"
    );
    for kept in [kept.1, unmarked.1] {
        assert!(
            store
                .evidence_held(d.id, kept)
                .await
                .expect("held")
                .is_some()
        );
    }
    // The desk that was sending it starts again from the start.
    assert_eq!(
        store
            .put_evidence_chunk(chunk(resumed.0, resumed.1, 5, b"f", day(31)))
            .await
            .expect("put"),
        ChunkPut::NotAt(None)
    );
    put(chunk(resumed.0, resumed.1, 0, b"abcdef", day(31))).await;
    assert!(
        !store
            .name_evidence(d.id, whole.0, vec![named(whole.1)])
            .await
            .expect("name"),
        "a swept item cannot be named"
    );
    // More than one sweep's batch at once: all go, a few at a time.
    for _ in 0..SWEPT_AT_ONCE + 3 {
        put(chunk(Uuid::now_v7(), Uuid::now_v7(), 0, b"a", day(40))).await;
    }
    assert_eq!(
        store.sweep_unnamed_evidence(day(50)).await.expect("sweep"),
        Swept {
            items: SWEPT_AT_ONCE as u64 + 3 + 1,
            bytes: SWEPT_AT_ONCE as u64 + 3 + 6
        },
        "the batch, and the resumed one sent again on day 31"
    );
}

/// Evidence: chunks taken only where the held bytes end, settled whole
/// or discarded, scoped to the desk, and erased with their report.
async fn exercise_evidence(store: &dyn HubStore) {
    let now = Utc::now();
    store
        .add_enrol_code("e1", "Harlow", now + chrono::Duration::hours(1))
        .await
        .expect("code");
    let Redeem::Enrolled(d) = store
        .redeem("e1", "evidence desk", "te1", Some("KEY-E"), now)
        .await
        .expect("redeem")
    else {
        panic!("enrol")
    };
    store
        .add_enrol_code("e2", "Harlow", now + chrono::Duration::hours(1))
        .await
        .expect("code");
    let Redeem::Enrolled(other) = store
        .redeem("e2", "another desk", "te2", Some("KEY-F"), now)
        .await
        .expect("redeem")
    else {
        panic!("enrol")
    };
    let (report, item) = (Uuid::now_v7(), Uuid::now_v7());
    let chunk = |offset: u64, bytes: &[u8]| EvidenceChunk {
        device_id: d.id,
        report_id: report,
        evidence_id: item,
        length: 6,
        digest: "sha-256=:whole:".into(),
        offset,
        bytes: bytes.to_vec(),
        day_quota: 1000,
        now,
    };
    assert_eq!(store.evidence_held(d.id, item).await.expect("held"), None);
    assert_eq!(
        store
            .put_evidence_chunk(chunk(3, b"def"))
            .await
            .expect("put"),
        ChunkPut::NotAt(None),
        "nothing held: only a chunk at 0 is taken"
    );
    let ChunkPut::Stored(first) = store
        .put_evidence_chunk(chunk(0, b"abc"))
        .await
        .expect("put")
    else {
        panic!("stored")
    };
    assert_eq!((first.received, first.complete), (3, false));
    assert_eq!(
        store
            .put_evidence_chunk(chunk(0, b"abc"))
            .await
            .expect("again"),
        ChunkPut::NotAt(Some(first.clone())),
        "a chunk sent again is not stored twice"
    );
    assert!(matches!(
        store
            .put_evidence_chunk(EvidenceChunk {
                digest: "sha-256=:other:".into(),
                ..chunk(3, b"def")
            })
            .await
            .expect("conflict"),
        ChunkPut::Conflict(_)
    ));
    // Another desk's item of the same id is its own.
    assert_eq!(
        store.evidence_held(other.id, item).await.expect("held"),
        None
    );
    let ChunkPut::Stored(all) = store
        .put_evidence_chunk(chunk(3, b"def"))
        .await
        .expect("put")
    else {
        panic!("stored")
    };
    assert_eq!(all.received, 6);
    let mut bytes = Vec::new();
    let mut seq = 0;
    while let Some(c) = store.evidence_chunk(d.id, item, seq).await.expect("chunk") {
        bytes.extend(c);
        seq += 1;
    }
    assert_eq!(bytes, b"abcdef");
    assert_eq!(
        store
            .evidence_chunk(other.id, item, 0)
            .await
            .expect("other"),
        None
    );
    store
        .settle_evidence(d.id, item, true)
        .await
        .expect("settle");
    assert!(
        store
            .evidence_held(d.id, item)
            .await
            .expect("held")
            .expect("held")
            .complete
    );
    store
        .settle_evidence(d.id, item, false)
        .await
        .expect("no-op");
    assert!(
        store
            .evidence_held(d.id, item)
            .await
            .expect("held")
            .is_some(),
        "a whole item is never discarded"
    );
    // An item whose digest did not check is discarded.
    let bad = Uuid::now_v7();
    store
        .put_evidence_chunk(EvidenceChunk {
            evidence_id: bad,
            length: 3,
            ..chunk(0, b"xyz")
        })
        .await
        .expect("put");
    store
        .settle_evidence(d.id, bad, false)
        .await
        .expect("discard");
    assert_eq!(store.evidence_held(d.id, bad).await.expect("held"), None);
    // A day's quota counts what the desk sent in items started in the last
    // 24 hours (6 bytes so far).
    let elsewhere = Uuid::now_v7();
    let small = |now| EvidenceChunk {
        report_id: elsewhere,
        evidence_id: Uuid::now_v7(),
        length: 3,
        day_quota: 10,
        now,
        ..chunk(0, b"xyz")
    };
    assert!(matches!(
        store.put_evidence_chunk(small(now)).await.expect("put"),
        ChunkPut::Stored(_)
    ));
    assert_eq!(
        store.put_evidence_chunk(small(now)).await.expect("over"),
        ChunkPut::OverQuota
    );
    assert!(
        matches!(
            store
                .put_evidence_chunk(small(now + chrono::Duration::days(2)))
                .await
                .expect("a day later"),
            ChunkPut::Stored(_)
        ),
        "a day later, the day's quota is new"
    );
    // A revision naming its evidence keeps the manifest's digest.
    let Put::Created(receipt) = store
        .put_with_evidence(
            d.id,
            report,
            1,
            "dr",
            b"r".to_vec(),
            Some("sha-256=:m:".into()),
            now,
        )
        .await
        .expect("put")
    else {
        panic!("created")
    };
    assert_eq!(receipt.evidence.as_deref(), Some("sha-256=:m:"));
    assert_eq!(
        store
            .put(d.id, report, 1, "dr", b"r".to_vec(), now)
            .await
            .expect("repeat"),
        Put::Repeat(receipt.clone())
    );
    // Erasure takes the evidence, and no chunk is taken after it.
    store.erase(d.id, report, now, now).await.expect("erase");
    assert_eq!(store.evidence_held(d.id, item).await.expect("held"), None);
    assert_eq!(
        store.evidence_chunk(d.id, item, 0).await.expect("chunk"),
        None
    );
    assert!(matches!(
        store
            .put_evidence_chunk(EvidenceChunk {
                evidence_id: Uuid::now_v7(),
                ..chunk(0, b"abc")
            })
            .await
            .expect("after"),
        ChunkPut::Erased(_)
    ));
}

async fn exercise_statuses_and_reports(store: &dyn HubStore) {
    let now = Utc::now();
    let in_an_hour = now + chrono::Duration::hours(1);
    store
        .add_enrol_code("c1", "Castle Point", in_an_hour)
        .await
        .expect("code");
    let Redeem::Enrolled(a) = store
        .redeem("c1", "desk a", "t1", Some("KEY-A"), now)
        .await
        .expect("redeem")
    else {
        panic!("enrol")
    };
    assert_eq!(a.device_key.as_deref(), Some("KEY-A"));
    assert_eq!(
        store
            .redeem("c1", "desk b", "t2", None, now)
            .await
            .expect("again"),
        Redeem::UsedOrExpired
    );
    assert_eq!(
        store
            .redeem("nope", "desk b", "t2", None, now)
            .await
            .expect("unknown"),
        Redeem::Unknown
    );
    store
        .add_enrol_code("c2", "Basildon", now - chrono::Duration::seconds(1))
        .await
        .expect("code");
    assert_eq!(
        store
            .redeem("c2", "desk b", "t2", None, now)
            .await
            .expect("expired"),
        Redeem::UsedOrExpired
    );
    store
        .add_enrol_code("c3", "Basildon", in_an_hour)
        .await
        .expect("code");
    let Redeem::Enrolled(b) = store
        .redeem("c3", "desk b", "t3", None, now)
        .await
        .expect("redeem")
    else {
        panic!("enrol")
    };
    // Desk a enrolled again, with the same device key.
    store
        .add_enrol_code("c4", "Castle Point", in_an_hour)
        .await
        .expect("code");
    let Redeem::Enrolled(a2) = store
        .redeem("c4", "desk a again", "t4", Some("KEY-A"), now)
        .await
        .expect("redeem")
    else {
        panic!("enrol")
    };
    assert_eq!(
        store
            .device(a2.id)
            .await
            .expect("lookup")
            .map(|d| (d.id, d.device_key)),
        Some((a2.id, Some("KEY-A".to_string())))
    );

    let r = Uuid::now_v7();
    let Put::Created(first) = store
        .put(a.id, r, 1, "d1", b"x".to_vec(), now)
        .await
        .expect("put")
    else {
        panic!("created")
    };
    assert_eq!(first.device_id, Some(a.id));
    assert_eq!(
        store
            .put(a.id, r, 1, "d1", b"x".to_vec(), now)
            .await
            .expect("repeat"),
        Put::Repeat(first.clone())
    );
    assert_eq!(
        store
            .put(a.id, r, 1, "d2", b"y".to_vec(), now)
            .await
            .expect("other body"),
        Put::Conflict(first.clone()),
        "another body from the same desk: the receipt of what is held"
    );
    // The same desk under its new enrolment finds what it stored.
    assert_eq!(
        store
            .put(a2.id, r, 1, "d1", b"x".to_vec(), now)
            .await
            .expect("re-enrolled"),
        Put::Repeat(first.clone())
    );
    assert_eq!(
        store
            .put(a2.id, r, 1, "d3", b"z".to_vec(), now)
            .await
            .expect("re-enrolled"),
        Put::Conflict(first.clone())
    );
    // Another desk's ids are its own: the same id neither conflicts nor
    // touches desk a's report.
    let Put::Created(other) = store
        .put(b.id, r, 1, "d9", b"junk".to_vec(), now)
        .await
        .expect("put")
    else {
        panic!("another desk's id is its own")
    };
    assert_eq!(other.device_id, Some(b.id));
    assert_eq!(
        store
            .put(a.id, r, 1, "d1", b"x".to_vec(), now)
            .await
            .expect("repeat"),
        Put::Repeat(first.clone())
    );
    let all = store.reports_since(None).await.expect("list");
    assert_eq!(all.len(), 2);
    let held_a = all.iter().find(|s| s.device_id == a.id).expect("a's");
    assert_eq!(held_a.body, b"x");
    assert_eq!(held_a.receipt, first);
    assert!(
        store
            .reports_since(Some(now + chrono::Duration::hours(1)))
            .await
            .expect("later")
            .is_empty()
    );

    // Word back: a status key per desk, statuses in order, paged, seen
    // by the same desk enrolled again and by no other desk.
    assert_eq!(store.status_key(a.id).await.expect("key"), None);
    store
        .set_status_key(a.id, "age1first", now)
        .await
        .expect("set");
    store
        .set_status_key(a2.id, "age1second", now)
        .await
        .expect("replace");
    assert_eq!(
        store.status_key(a.id).await.expect("key").as_deref(),
        Some("age1second"),
        "one key per desk, the latest"
    );
    assert_eq!(store.status_key(b.id).await.expect("key"), None);
    let notice = |body: &str| StatusNotice {
        status_id: Uuid::now_v7(),
        seq: 0,
        report_id: r,
        set_at: now,
        body: body.into(),
        signature: "sig".into(),
    };
    let s1 = store
        .add_status(a.id, &notice("one"))
        .await
        .expect("add")
        .expect("stored");
    let s2 = store
        .add_status(a2.id, &notice("two"))
        .await
        .expect("add")
        .expect("stored");
    assert!(s2 > s1);
    let held = store.statuses_after(a2.id, 0, 10).await.expect("list");
    assert_eq!(
        held.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(held[0].seq, s1);
    assert_eq!(held[0].set_at, time(&text(now)).expect("ms"));
    assert_eq!(
        store
            .statuses_after(a.id, s1, 10)
            .await
            .expect("page")
            .len(),
        1
    );
    assert_eq!(
        store.statuses_after(a.id, 0, 1).await.expect("limit").len(),
        1
    );
    assert!(
        store
            .statuses_after(b.id, 0, 10)
            .await
            .expect("other")
            .is_empty()
    );
    assert_eq!(store.all_statuses().await.expect("all").len(), 2);

    // Erasure: every revision the desk stored (under any of its
    // enrolments) and the statuses on it go; a tombstone stays; the
    // same erasure again changes nothing; an upload is refused.
    let gone = Uuid::now_v7();
    for (device, revision) in [(a.id, 1), (a2.id, 2)] {
        assert!(matches!(
            store
                .put(device, gone, revision, "g", b"secret".to_vec(), now)
                .await
                .expect("put"),
            Put::Created(_)
        ));
    }
    store
        .add_status(
            a.id,
            &StatusNotice {
                report_id: gone,
                ..notice("three")
            },
        )
        .await
        .expect("status")
        .expect("stored");
    let later = now + chrono::Duration::minutes(5);
    let tomb = store.erase(a2.id, gone, now, later).await.expect("erase");
    assert_eq!(
        (tomb.report_id, tomb.device_id, tomb.revisions_deleted),
        (gone, a2.id, 2)
    );
    assert_eq!(tomb.received_at, time(&text(later)).expect("ms"));
    assert!(
        store
            .reports_since(None)
            .await
            .expect("list")
            .iter()
            .all(|s| s.receipt.report_id != gone)
    );
    assert_eq!(store.all_statuses().await.expect("all").len(), 2);
    assert_eq!(
        store
            .erase(a.id, gone, now, later + chrono::Duration::hours(1))
            .await
            .expect("again"),
        tomb,
        "the same erasure again finds its tombstone"
    );
    assert_eq!(
        store
            .put(a.id, gone, 1, "g", b"secret".to_vec(), now)
            .await
            .expect("put after"),
        Put::Erased(tomb.clone())
    );
    // No word is left on an erased report.
    assert_eq!(
        store
            .add_status(
                a.id,
                &StatusNotice {
                    report_id: gone,
                    ..notice("after")
                },
            )
            .await
            .expect("status after"),
        None
    );
    assert_eq!(store.all_statuses().await.expect("all").len(), 2);
    // Another desk erasing the same id erases only its own.
    let theirs = store
        .erase(b.id, r, now, later + chrono::Duration::minutes(1))
        .await
        .expect("b erases");
    assert_eq!(theirs.revisions_deleted, 1);
    assert_eq!(
        store
            .put(a.id, r, 1, "d1", b"x".to_vec(), now)
            .await
            .expect("a's still held"),
        Put::Repeat(first.clone())
    );
    assert_eq!(store.erasures().await.expect("list"), vec![tomb, theirs]);

    assert!(store.revoke(a.id, now).await.expect("revoke"));
    assert!(
        store
            .device_by_token("t1")
            .await
            .expect("lookup")
            .and_then(|d| d.revoked_at)
            .is_some()
    );
    assert!(!store.revoke(Uuid::now_v7(), now).await.expect("unknown"));
    assert_eq!(store.devices().await.expect("devices")[0].reports, Some(1));
    assert_eq!(
        store
            .device_by_token("t1")
            .await
            .expect("lookup")
            .map(|d| d.reports),
        Some(None),
        "not counted on the way of every upload"
    );
}
