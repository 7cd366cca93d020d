//! Faults between desk and hub: the hub down, a fault proxy on the wire, the
//! hub killed mid-batch and the desk killed during sync.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use hirc_e2e::{COORDINATOR_PASS, EXAMPLE_REPORT, Fault, FaultProxy, TestDesk};
use rand::Rng;

use crate::{Hub, assert_delivered_exactly_once, desk_with_reports, submit, sync, sync_until_done};

#[test]
fn reports_wait_while_the_hub_is_down_and_go_when_it_is_back() {
    let mut hub = Hub::start();
    let (mut desk, _) = desk_with_reports(&hub, &hub.url(), 0, "x");
    hub.down();
    let reports = submit(&mut desk, 5, "CANARY-down");
    let run = desk.as_coordinator(&["sync"], "").ok();
    assert_eq!(run.last_line(), "delivered 0, waiting 5, failed 0");
    assert!(
        run.stderr.contains("could not be reached"),
        "{}",
        run.stderr
    );
    hub.up();
    assert_eq!(sync(&mut desk), (5, 0, 0));
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}

#[test]
fn faults_on_the_wire_never_lose_or_duplicate_a_report() {
    let hub = Hub::start();
    let upstream: std::net::SocketAddr = hub.listen.parse().expect("addr");
    let proxy = FaultProxy::start(
        upstream,
        // The first connection is the enrolment itself.
        vec![
            Fault::None,
            Fault::Drop,
            Fault::ResetMidBody,
            Fault::Delay(Duration::from_millis(150)),
            Fault::TruncateResponse,
            Fault::Unavailable,
            Fault::Drop,
            Fault::TruncateResponse,
        ],
    );
    let (mut desk, reports) = desk_with_reports(&hub, &proxy.url(), 30, "CANARY-faults");
    let passes = sync_until_done(&mut desk);
    assert!(
        passes >= 3,
        "the faults really got in the way ({passes} passes)"
    );
    eprintln!("30 reports through the fault proxy in {passes} passes");
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}

/// Counts the report revisions a hub holds, read straight from its store
/// (a test's way to see progress without waiting a fixed time).
struct HubCounter(rusqlite::Connection);

impl HubCounter {
    fn new(hub: &Hub) -> Self {
        let conn = rusqlite::Connection::open_with_flags(
            hub.data.join("hub.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("hub store");
        conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
        Self(conn)
    }

    fn held(&self) -> usize {
        self.0
            .query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))
            .expect("count") as usize
    }
}

/// Waits until `done` or the child has exited, checking often: every wait
/// in these fault tests is for something observed, never a fixed time, so
/// a slow or busy machine only makes them slower.
fn wait_for(child: &mut std::process::Child, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress in two minutes"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn the_hub_killed_mid_batch_and_restarted_loses_nothing() {
    let mut hub = Hub::start();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 40, "CANARY-restart");
    let mut child = hirc_sync_child(&desk);
    // The hub goes down once it has taken some of the batch.
    let some = rand::thread_rng().gen_range(1..20);
    let counter = HubCounter::new(&hub);
    wait_for(&mut child, || counter.held() >= some);
    hub.down();
    let _ = child.wait();
    hub.up();
    eprintln!(
        "the killed hub had stored {} of 40 reports",
        hub.export().len()
    );
    sync_until_done(&mut desk);
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}

#[test]
fn the_desk_killed_during_sync_fifty_times_delivers_everything_once() {
    // Hundreds of reports in a minute: above the hub's default rate limit.
    let hub = Hub::start_with(&["--rate-per-minute", "100000"]);
    let (mut desk, _) = desk_with_reports(&hub, &hub.url(), 0, "x");
    let counter = HubCounter::new(&hub);
    let mut reports = BTreeMap::new();
    let mut rng = rand::thread_rng();
    // Each round adds a batch (made through the engine directly, to keep
    // the test quick), starts `hirc sync`, and kills it once the hub has
    // taken a chosen number of the batch: 0 (at once: opening the store,
    // encrypting payloads) or part of it (between uploads). The kills are
    // keyed on what the hub holds, not on time, so a busy machine changes
    // nothing but the test's duration.
    const BATCH: usize = 16;
    let (mut before_upload, mut mid_upload, mut rounds) = (0, 0, 0);
    while before_upload + mid_upload < 50 || mid_upload < 30 {
        rounds += 1;
        assert!(
            rounds <= 120,
            "{before_upload} + {mid_upload} of {rounds} kills landed during a sync"
        );
        reports.extend(submit_in_process(
            &desk,
            BATCH,
            &format!("CANARY-sigkill-{rounds}"),
        ));
        let before = counter.held();
        let take = if rng.gen_range(0..5) == 0 {
            0
        } else {
            rng.gen_range(1..BATCH / 2)
        };
        let mut child = hirc_sync_child(&desk);
        wait_for(&mut child, || counter.held() >= before + take);
        let _ = child.kill();
        let _ = child.wait();
        let after = counter.held();
        if after == before {
            before_upload += 1;
        } else if after < reports.len() {
            mid_upload += 1;
        }
    }
    eprintln!(
        "{rounds} kills: {before_upload} before the round's first upload, {mid_upload} between uploads; {} reports",
        reports.len()
    );
    sync_until_done(&mut desk);
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}

fn submit_in_process(desk: &TestDesk, n: usize, canary: &str) -> BTreeMap<String, String> {
    let mut engine = hirc_core::Desk::open(desk.path()).expect("open");
    let session = engine
        .unlock(
            hirc_e2e::COORDINATOR,
            &hirc_core::vault::Passphrase::new(COORDINATOR_PASS.into()),
        )
        .expect("unlock");
    let (mut report, _) =
        hirc_core::model::Report::from_json(EXAMPLE_REPORT.as_bytes()).expect("example");
    let mut out = BTreeMap::new();
    for i in 0..n {
        let account = format!("{canary} account number {i}");
        report.description = Some(account.clone());
        let id = engine.create_draft(&session, &report).expect("draft");
        engine.submit(&session, id).expect("submit");
        out.insert(id.to_string(), account);
    }
    out
}

/// `hirc sync` as a child process the test can kill.
fn hirc_sync_child(desk: &TestDesk) -> std::process::Child {
    use std::io::Write;
    let mut child = Command::new(hirc_e2e::bin("hirc"))
        .args(["--passphrase-stdin", "--user", "Chris", "sync"])
        .env("HIRC_DATA_DIR", desk.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hirc sync");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{COORDINATOR_PASS}\n").as_bytes())
        .expect("passphrase");
    child
}
