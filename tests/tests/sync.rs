//! Desk to hub, end to end: the real `hirc` and `hirc-hub` binaries, real
//! stores, real HTTP on loopback, and faults in between. Every scenario ends
//! with every report delivered exactly once: the hub holds each once, the
//! desk holds its receipt, and the two agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hirc_e2e::{
    COORDINATOR_PASS, EXAMPLE_REPORT, Fault, FaultProxy, HubProcess, TestDesk, contains, free_port,
    hub_admin,
};
use rand::Rng;
use serde_json::Value;

struct Hub {
    _dir: tempfile::TempDir,
    /// Extra `serve` flags.
    flags: Vec<String>,
    data: PathBuf,
    identity: PathBuf,
    recipient: String,
    fingerprint: String,
    listen: String,
    process: Option<HubProcess>,
}

impl Hub {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// A hub served with extra flags (a higher rate limit, say).
    fn start_with(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let identity = dir.path().join("partnership.key");
        let run = hub_admin(&["keygen", "--out", &identity.to_string_lossy()]).ok();
        let fingerprint = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("Fingerprint (desks show it at enrolment): "))
            .expect("keygen prints the fingerprint")
            .to_string();
        let mut hub = Self {
            data: dir.path().join("hub"),
            _dir: dir,
            identity,
            recipient: run.last_line(),
            fingerprint,
            listen: format!("127.0.0.1:{}", free_port()),
            process: None,
            flags: flags.iter().map(|f| (*f).to_string()).collect(),
        };
        hub.up();
        hub
    }

    fn up(&mut self) {
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        self.process = Some(HubProcess::start_on(
            &self.data,
            &self.recipient,
            &self.listen,
            &flags,
        ));
    }

    fn down(&mut self) {
        self.process = None;
    }

    fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    fn code(&self) -> String {
        hub_admin(&[
            "enrol",
            "--data-dir",
            &self.data.to_string_lossy(),
            "--centre",
            "Castle Point CVS",
        ])
        .ok()
        .last_line()
    }

    /// Every report the hub holds, decrypted: report id -> export line.
    fn export(&self) -> BTreeMap<String, Value> {
        let run = hub_admin(&[
            "export",
            "--data-dir",
            &self.data.to_string_lossy(),
            "--identity",
            &self.identity.to_string_lossy(),
        ])
        .ok();
        let mut out = BTreeMap::new();
        for line in run.stdout.lines() {
            let v: Value = serde_json::from_str(line).expect("json line");
            let id = v["receipt"]["report_id"].as_str().expect("id").to_string();
            assert!(
                out.insert(id.clone(), v).is_none(),
                "report {id} held twice"
            );
        }
        out
    }
}

/// A desk enrolled with `url`, with `n` submitted reports whose accounts
/// carry `canary`. Returns the desk and report id -> account.
fn desk_with_reports(
    hub: &Hub,
    url: &str,
    n: usize,
    canary: &str,
) -> (TestDesk, BTreeMap<String, String>) {
    let (mut desk, _) = TestDesk::init();
    let run = desk
        .as_coordinator(&["enrol", "--hub", url, "--code", &hub.code()], "")
        .ok();
    assert!(
        run.stdout.contains(&hub.fingerprint),
        "the desk shows the same fingerprint: {}",
        run.stdout
    );
    let reports = submit(&mut desk, n, canary);
    (desk, reports)
}

fn submit(desk: &mut TestDesk, n: usize, canary: &str) -> BTreeMap<String, String> {
    let mut example: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
    let mut out = BTreeMap::new();
    let file = desk.path().join("report.json");
    for i in 0..n {
        let account = format!("{canary} account number {i} {}", rand::random::<u32>());
        example["description"] = Value::String(account.clone());
        example["person"]["name"] = Value::String(format!("{canary} name {i}"));
        std::fs::write(&file, example.to_string()).expect("write");
        let id = desk
            .as_coordinator(&["report", "new", "--from", &file.to_string_lossy()], "")
            .ok()
            .last_line();
        desk.as_coordinator(&["report", "submit", &id], "").ok();
        out.insert(id, account);
    }
    if n > 0 {
        std::fs::remove_file(&file).expect("remove input");
    }
    out
}

fn sync(desk: &mut TestDesk) -> (usize, usize, usize) {
    let run = desk.as_coordinator(&["sync"], "").ok();
    let line = run.last_line();
    let n: Vec<usize> = line
        .split(", ")
        .map(|part| {
            part.rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("odd sync line: {line}"))
        })
        .collect();
    (n[0], n[1], n[2])
}

/// Syncs until nothing waits (bounded); returns how many passes it took.
fn sync_until_done(desk: &mut TestDesk) -> usize {
    for pass in 1..=60 {
        if sync(desk).1 == 0 {
            return pass;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("reports still waiting after 60 passes");
}

/// The exactly-once check: the hub holds each report once with the entered
/// content, and the desk holds the very receipt the hub issued.
fn assert_delivered_exactly_once(
    hub: &Hub,
    desk: &mut TestDesk,
    reports: &BTreeMap<String, String>,
) {
    let held = hub.export();
    let wanted: BTreeSet<&String> = reports.keys().collect();
    let got: BTreeSet<&String> = held.keys().collect();
    assert_eq!(got, wanted, "the hub holds exactly the desk's reports");
    for (id, account) in reports {
        assert_eq!(
            held[id]["report"]["report"]["description"],
            account.as_str(),
            "content of {id}"
        );
        assert_eq!(
            held[id]["report"]["consent"]["pass_to_police"],
            "identified"
        );
    }
    let list = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    let list: Vec<Value> = serde_json::from_str(&list.stdout).expect("json");
    for row in list {
        let id = row["id"].as_str().expect("id");
        assert_eq!(row["state"], "delivered", "{id}");
        assert_eq!(
            row["upload"]["receipt"]["receipt_id"], held[id]["receipt"]["receipt_id"],
            "the desk keeps the hub's receipt for {id}"
        );
    }
    let verify = desk.as_coordinator(&["audit", "verify"], "").ok();
    assert!(verify.stdout.contains("intact"));
}

fn scan_for(dir: &Path, canary: &str) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            scan_for(&path, canary);
        } else {
            assert!(
                !contains(&std::fs::read(&path).expect("read"), canary),
                "{} holds plaintext",
                path.display()
            );
        }
    }
}

#[test]
fn fifty_reports_arrive_once_encrypted_end_to_end() {
    let hub = Hub::start();
    let canary = format!("CANARY-sync-{}", rand::random::<u32>());
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 50, &canary);
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(status.stdout.contains("50 waiting"), "{}", status.stdout);

    assert_eq!(sync(&mut desk), (50, 0, 0));
    assert_eq!(sync(&mut desk), (0, 0, 0), "nothing is sent twice");
    assert_delivered_exactly_once(&hub, &mut desk, &reports);

    // The partnership's CSV: a header and one row per report, consent first.
    let csv = hub_admin(&[
        "export",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--identity",
        &hub.identity.to_string_lossy(),
        "--format",
        "csv",
    ])
    .ok();
    let lines: Vec<&str> = csv.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 51, "header + 50 rows");
    assert!(
        lines[0].starts_with("receipt_id,received_at,device_id,consent.pass_to_police,"),
        "{}",
        lines[0]
    );
    for account in reports.values() {
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains(account.as_str()))
                .count(),
            1
        );
    }

    scan_for(&hub.data, &canary);
    let log = hub
        .process
        .as_ref()
        .expect("hub")
        .log
        .lock()
        .expect("log")
        .clone();
    assert!(!log.contains(&canary));
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(status.stdout.contains("50 delivered"), "{}", status.stdout);
}

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
fn a_revoked_desk_keeps_its_reports_queued_with_the_reason() {
    let hub = Hub::start();
    let (mut desk, _) = desk_with_reports(&hub, &hub.url(), 1, "x");
    assert_eq!(sync(&mut desk), (1, 0, 0));
    let device = device_id(&hub);
    hub_admin(&["revoke", "--data-dir", &hub.data.to_string_lossy(), &device]).ok();

    submit(&mut desk, 2, "x");
    let run = desk.as_coordinator(&["sync"], "").ok();
    assert_eq!(run.last_line(), "delivered 0, waiting 0, failed 2");
    assert!(
        run.stderr.contains("no longer accepts this desk"),
        "{}",
        run.stderr
    );
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(
        status.stdout.contains("2 refused") && status.stdout.contains("revoked"),
        "{}",
        status.stdout
    );
    // Refused reports are not retried on their own...
    assert_eq!(sync(&mut desk), (0, 0, 2));
    // ...and stay on the desk, sealed, with the reason.
    let list = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    let list: Vec<Value> = serde_json::from_str(&list.stdout).expect("json");
    let refused: Vec<&Value> = list
        .iter()
        .filter(|r| r["upload"]["refused"] == true)
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0]["state"], "sealed");
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

#[test]
fn delivered_reports_are_purged_after_the_retention_period() {
    let hub = Hub::start();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 3, "CANARY-retention");
    assert_eq!(sync(&mut desk), (3, 0, 0));
    // Within the default 30 days nothing goes.
    let run = desk.as_coordinator(&["purge", "--dry-run"], "").ok();
    assert!(
        run.stderr.contains("0 report(s) would be purged"),
        "{}",
        run.stderr
    );

    let run = desk
        .as_coordinator(&["settings", "--retention-days", "0"], "")
        .ok();
    assert_eq!(
        run.stdout.lines().next(),
        Some("retention-days          0"),
        "{}",
        run.stdout
    );
    let run = desk
        .as_coordinator(&["settings", "--auto-lock-minutes", "61"], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("from 1 to 60 minutes"),
        "{}",
        run.stderr
    );
    let run = desk
        .as_coordinator(&["settings", "--auto-lock-minutes", "2"], "")
        .ok();
    assert!(
        run.stdout.contains("auto-lock-minutes       2")
            && run.stdout.contains("interview-lock-minutes  15"),
        "{}",
        run.stdout
    );
    let run = desk
        .as_coordinator(&["settings", "--interview-lock-minutes", "30"], "")
        .ok();
    assert!(
        run.stdout.contains("interview-lock-minutes  30"),
        "{}",
        run.stdout
    );
    let run = desk.as_coordinator(&["purge", "--dry-run"], "").ok();
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert_eq!(
        desk.as_coordinator(&["report", "list", "--json"], "")
            .ok()
            .stdout
            .matches("\"purged\"")
            .count(),
        0
    );

    // A sync purges by itself; a new report waits untouched.
    let waiting = submit(&mut desk, 1, "CANARY-retention-new");
    hub_admin(&[
        "revoke",
        "--data-dir",
        &hub.data.to_string_lossy(),
        &device_id(&hub),
    ])
    .ok();
    desk.as_coordinator(&["sync"], "").ok();
    let list: Vec<Value> = serde_json::from_str(
        &desk
            .as_coordinator(&["report", "list", "--json"], "")
            .ok()
            .stdout,
    )
    .expect("json");
    for row in &list {
        let id = row["id"].as_str().expect("id");
        let expected = if reports.contains_key(id) {
            "purged"
        } else {
            "sealed"
        };
        assert_eq!(row["state"], expected, "{id}");
        assert!(
            row["summary"]
                .as_str()
                .expect("summary")
                .starts_with("Verbal abuse"),
            "statistics stay"
        );
    }
    let id = reports.keys().next().expect("one");
    let run = desk
        .as_coordinator(&["report", "show", id], "")
        .expect_code(1);
    assert!(run.stderr.contains("purged"), "{}", run.stderr);
    let id = waiting.keys().next().expect("one");
    desk.as_coordinator(&["report", "show", id], "").ok();
    // The partnership still has all three, and the desk's statistics still
    // count them from the facts that survive the purge.
    assert_eq!(hub.export().len(), 3);
    let run = desk
        .summary_of_today(&["--threshold", "2", "--format", "json"])
        .ok();
    let summary: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        summary["tables"][0]["rows"][0]["cell"]["value"], 4,
        "3 purged + 1 waiting"
    );
    // Delivered 3, waiting 1: the 1 is small, and the 3 is hidden too, or
    // the total would give it away; and with a threshold of 2, "<2" could
    // only mean 1, so both are shown as [c].
    let upload = &summary["tables"][9]["rows"];
    assert_eq!(upload[0]["cell"]["kind"], "secondary");
    assert_eq!(upload[1]["cell"]["kind"], "secondary");
    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert_eq!(
        audit.stdout.matches(" purged ").count(),
        3,
        "{}",
        audit.stdout
    );
    // The purge needs no passphrase (the sync worker runs it with nobody
    // signed in): it deletes only what the retention setting says is due.
    let run = desk.run(&["purge", "--dry-run"], "").ok();
    assert!(
        run.stderr.contains("0 report(s) would be purged"),
        "{}",
        run.stderr
    );
}

/// Day 31 at every desk: once retention has purged the first delivered
/// report, later reports must still go (the purged row keeps no payload,
/// and nothing may try to encrypt it again).
#[test]
fn a_purge_never_stops_later_uploads() {
    let hub = Hub::start();
    let (mut desk, first) = desk_with_reports(&hub, &hub.url(), 1, "CANARY-day31-a");
    assert_eq!(sync(&mut desk), (1, 0, 0));
    desk.as_coordinator(&["settings", "--retention-days", "0"], "")
        .ok();
    let run = desk.as_coordinator(&["purge"], "").ok();
    assert!(run.stderr.contains("1 report(s) purged"), "{}", run.stderr);

    let second = submit(&mut desk, 1, "CANARY-day31-b");
    let status = desk.as_coordinator(&["status", "--json"], "").ok();
    let status: Value = serde_json::from_str(&status.stdout).expect("json");
    assert_eq!(status["sealed"], 1, "only the new report waits");
    assert!(
        status["waiting_for_enrolment"].as_i64() <= Some(1),
        "the purged report is not counted as waiting: {status}"
    );
    // The USB path reads the same queue.
    let file = desk.path().join("day31-outbox.json");
    desk.as_coordinator(&["outbox", "export", &file.to_string_lossy()], "")
        .ok();
    let outbox: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("outbox file")).expect("json");
    assert_eq!(outbox["reports"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        outbox["reports"][0]["report_id"].as_str(),
        second.keys().next().map(String::as_str)
    );

    assert_eq!(sync(&mut desk), (1, 0, 0), "the second report goes");
    let held = hub.export();
    assert_eq!(held.len(), 2);
    for id in first.keys().chain(second.keys()) {
        assert!(held.contains_key(id), "{id} reached the hub");
    }
}

fn device_id(hub: &Hub) -> String {
    let devices = hub_admin(&[
        "devices",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--json",
    ])
    .ok();
    let devices: Value = serde_json::from_str(&devices.stdout).expect("json");
    devices[0]["id"].as_str().expect("id").to_string()
}

#[test]
fn a_centre_that_is_never_online_delivers_by_usb_stick_exactly_once() {
    let hub = Hub::start();
    let data = hub.data.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tmp");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();

    // Offline enrolment: a file instead of a code.
    hub_admin(&[
        "enrol",
        "--data-dir",
        &data,
        "--centre",
        "Canvey Island",
        "--offline-file",
        &path("enrol.json"),
        "--recipient",
        &hub.recipient,
    ])
    .ok();
    let (mut desk, _) = TestDesk::init();
    let run = desk
        .as_coordinator(&["enrol", "--file", &path("enrol.json")], "")
        .ok();
    assert!(run.stdout.contains(&hub.fingerprint), "{}", run.stdout);
    let canary = format!("CANARY-usb-{}", rand::random::<u32>());
    let reports = submit(&mut desk, 5, &canary);

    // Out on a stick: still ciphertext.
    desk.as_coordinator(&["outbox", "export", &path("outbox.json")], "")
        .ok();
    let stick = std::fs::read(path("outbox.json")).expect("outbox file");
    assert!(!contains(&stick, &canary), "the stick holds no plaintext");
    desk.as_coordinator(&["outbox", "export", &path("outbox.json")], "")
        .expect_code(1); // never overwritten

    // In at the hub, twice: stored once.
    let run = hub_admin(&[
        "import",
        "--data-dir",
        &data,
        &path("outbox.json"),
        "--receipts",
        &path("receipts.json"),
    ])
    .ok();
    assert!(
        run.stderr
            .contains("Stored 5 report(s); 0 were already here"),
        "{}",
        run.stderr
    );
    let run = hub_admin(&[
        "import",
        "--data-dir",
        &data,
        &path("outbox.json"),
        "--receipts",
        &path("receipts2.json"),
    ])
    .ok();
    assert!(
        run.stderr
            .contains("Stored 0 report(s); 5 were already here"),
        "{}",
        run.stderr
    );

    // A damaged copy is refused, and changes nothing.
    let mut damaged: Value = serde_json::from_slice(&stick).expect("json");
    damaged["reports"][0]["payload"] = Value::String("AAAA".into());
    std::fs::write(path("damaged.json"), damaged.to_string()).expect("write");
    let run = hub_admin(&[
        "import",
        "--data-dir",
        &data,
        &path("damaged.json"),
        "--receipts",
        &path("r3.json"),
    ])
    .expect_code(1);
    assert!(
        run.stderr.contains("does not match its digest"),
        "{}",
        run.stderr
    );

    // Receipts back on the desk.
    let run = desk
        .as_coordinator(&["outbox", "receipts", &path("receipts.json")], "")
        .ok();
    assert!(
        run.stdout.contains("5 report(s) marked delivered"),
        "{}",
        run.stdout
    );
    let run = desk
        .as_coordinator(&["outbox", "receipts", &path("receipts2.json")], "")
        .ok();
    assert!(
        run.stdout.contains("0 report(s) marked delivered"),
        "{}",
        run.stdout
    );
    assert_delivered_exactly_once(&hub, &mut desk, &reports);

    // Another desk's receipts are refused.
    let (mut other, _) = desk_with_reports(&hub, &hub.url(), 0, "x");
    let run = other
        .as_coordinator(&["outbox", "receipts", &path("receipts.json")], "")
        .expect_code(1);
    assert!(run.stderr.contains("not this desk"), "{}", run.stderr);
}

/// Anyone holding an outbox file (report ids and digests) could write a
/// receipt file for it, or an outbox file in another desk's name. Neither
/// marks a report delivered (so none is ever purged undelivered), and
/// neither stores anything at the hub.
#[test]
fn forged_receipt_and_outbox_files_change_nothing() {
    let hub = Hub::start();
    let data = hub.data.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tmp");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 2, "CANARY-forged");
    desk.as_coordinator(&["outbox", "export", &path("outbox.json")], "")
        .ok();
    let outbox: Value =
        serde_json::from_slice(&std::fs::read(path("outbox.json")).expect("read")).expect("json");

    // Receipts made from the outbox file alone: unsigned, and signed with a
    // key that is not the hub's.
    let forger = hirc_proto::sign::SigningKey::generate();
    for (name, sign) in [("unsigned.json", false), ("signed-by-another.json", true)] {
        let receipts: Vec<hirc_proto::Receipt> = outbox["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .map(|e| {
                let mut r = hirc_proto::Receipt {
                    receipt_id: uuid::Uuid::now_v7(),
                    report_id: e["report_id"].as_str().expect("id").parse().expect("uuid"),
                    revision: 1,
                    digest: e["digest"].as_str().expect("digest").into(),
                    received_at: chrono::Utc::now(),
                    device_id: outbox["device_id"].as_str().and_then(|d| d.parse().ok()),
                    signature: None,
                };
                if sign {
                    forger.sign_receipt(&mut r);
                }
                r
            })
            .collect();
        let file = hirc_proto::ReceiptFile {
            format: hirc_proto::RECEIPT_FILE_FORMAT.into(),
            device_id: outbox["device_id"]
                .as_str()
                .expect("device")
                .parse()
                .expect("uuid"),
            receipts,
        };
        std::fs::write(path(name), serde_json::to_string(&file).expect("json")).expect("write");
        let run = desk
            .as_coordinator(&["outbox", "receipts", &path(name)], "")
            .expect_code(1);
        assert!(
            run.stdout.contains("0 report(s) marked delivered")
                && run.stderr.contains("signature does not check"),
            "{name}: {}{}",
            run.stdout,
            run.stderr
        );
    }
    desk.as_coordinator(&["settings", "--retention-days", "0"], "")
        .ok();
    let run = desk.run(&["purge"], "").ok();
    assert!(run.stderr.contains("0 report(s) purged"), "{}", run.stderr);
    let status = desk.as_coordinator(&["status", "--json"], "").ok();
    let status: Value = serde_json::from_str(&status.stdout).expect("json");
    assert_eq!(status["sealed"], 2, "both still wait, whole");

    // An outbox file in another desk's name, an unsigned one, and a signed
    // one with an entry slipped in: the hub imports none of them.
    let (mut other, _) = desk_with_reports(&hub, &hub.url(), 1, "CANARY-forged-other");
    other
        .as_coordinator(&["outbox", "export", &path("other.json")], "")
        .ok();
    let theirs: Value =
        serde_json::from_slice(&std::fs::read(path("other.json")).expect("read")).expect("json");
    let mut renamed = theirs.clone();
    renamed["device_id"] = outbox["device_id"].clone();
    let mut unsigned = outbox.clone();
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("signature");
    let mut stuffed = outbox.clone();
    stuffed["reports"]
        .as_array_mut()
        .expect("reports")
        .push(theirs["reports"][0].clone());
    for (name, forged) in [
        ("renamed.json", renamed),
        ("unsigned-outbox.json", unsigned),
        ("stuffed.json", stuffed),
    ] {
        std::fs::write(path(name), forged.to_string()).expect("write");
        let run = hub_admin(&[
            "import",
            "--data-dir",
            &data,
            &path(name),
            "--receipts",
            &path(&format!("r-{name}")),
        ])
        .expect_code(1);
        assert!(
            run.stderr.contains("is not signed by device"),
            "{name}: {}",
            run.stderr
        );
        assert!(!work.path().join(format!("r-{name}")).exists());
    }
    assert!(hub.export().is_empty(), "the hub stored nothing");

    // The real way still works, with nobody signed in.
    desk.as_coordinator(&["settings", "--retention-days", "30"], "")
        .ok();
    let run = desk.run(&["sync"], "").ok();
    assert_eq!(run.last_line(), "delivered 2, waiting 0, failed 0");
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}

/// One damaged report (its body, or its facts) never stops the others: not
/// the enrolment that encrypts the waiting reports, not the upload, the
/// list, the summary or the status. Each is set aside with its reason for a
/// coordinator to retry or discard.
#[test]
fn a_damaged_report_is_set_aside_and_the_rest_are_delivered() {
    let hub = Hub::start();
    let (mut desk, _) = TestDesk::init();
    let reports = submit(&mut desk, 4, "CANARY-damaged");
    let ids: Vec<&String> = reports.keys().collect();
    {
        let store = rusqlite::Connection::open(desk.path().join("desk.sqlite3")).expect("store");
        for (column, id) in [("body", ids[0]), ("facts", ids[1])] {
            let mut bytes: Vec<u8> = store
                .query_row(
                    &format!("SELECT {column} FROM reports WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .expect("blob");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xA5;
            store
                .execute(
                    &format!("UPDATE reports SET {column} = ?1 WHERE id = ?2"),
                    rusqlite::params![bytes, id],
                )
                .expect("damage");
        }
    }
    let run = desk
        .as_coordinator(&["enrol", "--hub", &hub.url(), "--code", &hub.code()], "")
        .ok();
    assert!(
        run.stdout.contains("3 waiting report(s) are now encrypted"),
        "{}",
        run.stdout
    );
    assert_eq!(sync(&mut desk).0, 3, "the rest are delivered");
    let held = hub.export();
    assert!(!held.contains_key(ids[0].as_str()));
    assert!(held.contains_key(ids[1].as_str()), "its body was fine");

    let list = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    let list: Vec<Value> = serde_json::from_str(&list.stdout).expect("json");
    assert_eq!(list.len(), 4);
    desk.summary_of_today(&["--format", "csv"]).ok();
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(
        status.stdout.contains("2 report(s) would not open"),
        "{}",
        status.stdout
    );
    let aside = desk
        .as_coordinator(&["report", "set-aside", "--json"], "")
        .ok();
    let aside: Vec<Value> = serde_json::from_str(&aside.stdout).expect("json");
    assert_eq!(aside.len(), 2);
    assert!(
        aside
            .iter()
            .all(|a| !a["reason"].as_str().unwrap_or("").is_empty())
    );

    let run = desk
        .as_coordinator(&["report", "retry", ids[0]], "")
        .expect_code(5);
    assert!(
        run.stderr.contains("could not be decrypted"),
        "{}",
        run.stderr
    );
    desk.as_coordinator(&["report", "discard", ids[0], "--yes"], "")
        .ok();
    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert!(audit.stdout.contains("discarded"), "{}", audit.stdout);
    desk.as_coordinator(&["audit", "verify"], "").ok();
}

/// A never-online desk enrolled again with a new file (`--same-desk-as`)
/// is still the same desk to the hub: reports it carries again (their
/// receipts were lost) are recognised, not stored a second time.
#[test]
fn an_offline_desk_enrolled_again_keeps_what_it_stored() {
    let hub = Hub::start();
    let data = hub.data.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tmp");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let enrol_file = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "enrol",
            "--data-dir",
            &data,
            "--centre",
            "Canvey Island",
            "--recipient",
            &hub.recipient,
        ];
        let file = path(name);
        args.extend(["--offline-file", &file]);
        args.extend_from_slice(extra);
        hub_admin(&args).ok().last_line()
    };
    let first = enrol_file("enrol-1.json", &[]);
    let (mut desk, _) = TestDesk::init();
    desk.as_coordinator(&["enrol", "--file", &path("enrol-1.json")], "")
        .ok();
    let reports = submit(&mut desk, 2, "CANARY-again");
    desk.as_coordinator(&["outbox", "export", &path("o1.json")], "")
        .ok();
    hub_admin(&[
        "import",
        "--data-dir",
        &data,
        &path("o1.json"),
        "--receipts",
        &path("r1.json"),
    ])
    .ok();
    // The receipts never make it back; the desk is enrolled again.
    let second = enrol_file("enrol-2.json", &["--same-desk-as", &first]);
    assert_ne!(second, first);
    let file: Value =
        serde_json::from_slice(&std::fs::read(path("enrol-2.json")).expect("read")).expect("json");
    assert!(
        file.get("device_key_secret").is_none(),
        "the desk keeps its own key"
    );
    desk.as_coordinator(&["enrol", "--file", &path("enrol-2.json")], "")
        .ok();
    desk.as_coordinator(&["outbox", "export", &path("o2.json")], "")
        .ok();
    let run = hub_admin(&[
        "import",
        "--data-dir",
        &data,
        &path("o2.json"),
        "--receipts",
        &path("r2.json"),
    ])
    .ok();
    assert!(
        run.stderr
            .contains("Stored 0 report(s); 2 were already here"),
        "{}",
        run.stderr
    );
    let run = desk
        .as_coordinator(&["outbox", "receipts", &path("r2.json")], "")
        .ok();
    assert!(
        run.stdout.contains("2 report(s) marked delivered"),
        "{}",
        run.stdout
    );
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
    let run = hub_admin(&[
        "enrol",
        "--data-dir",
        &data,
        "--centre",
        "X",
        "--recipient",
        &hub.recipient,
        "--offline-file",
        &path("enrol-3.json"),
        "--same-desk-as",
        "01a23b9c-abfe-76f7-9751-5beddc70d411",
    ])
    .expect_code(1);
    assert!(run.stderr.contains("there is no device"), "{}", run.stderr);
}

#[test]
fn over_tls_with_the_partnerships_own_certificate_authority() {
    // The partnership's own certificate authority, and the hub's certificate
    // signed by it, as a partnership without a public certificate would do.
    let work = tempfile::tempdir().expect("tmp");
    let at = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let (ca, cert, key) = (at("ca.pem"), at("cert.pem"), at("key.pem"));
    std::fs::write(
        at("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    let (ca_key, csr, ext) = (at("ca.key"), at("hub.csr"), at("ext.cnf"));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "2",
                "-subj",
                "/CN=Partnership test CA",
                "-keyout",
                &ca_key,
                "-out",
                &ca,
            ],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    ];
    for args in steps {
        let made = Command::new("openssl")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(made.success(), "openssl {}", args.join(" "));
    }
    let (cert, key, ca) = (PathBuf::from(cert), PathBuf::from(key), PathBuf::from(ca));

    let mut hub = Hub::start();
    hub.down();
    let tls = HubProcess::start_on(
        &hub.data,
        &hub.recipient,
        "127.0.0.1:0",
        &[
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &key.to_string_lossy(),
        ],
    );
    assert!(tls.url.starts_with("https://"), "{}", tls.url);
    let url = tls.url.clone();
    let code = hub.code();

    let (mut desk, _) = TestDesk::init();
    // Without the partnership's authority the certificate is not trusted,
    // and the code is not spent.
    let run = desk
        .as_coordinator(&["enrol", "--hub", &url, "--code", &code], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("certificate is not trusted"),
        "{}",
        run.stderr
    );
    desk.as_coordinator(
        &[
            "enrol",
            "--hub",
            &url,
            "--code",
            &code,
            "--hub-ca",
            &ca.to_string_lossy(),
        ],
        "",
    )
    .ok();
    let reports = submit(&mut desk, 3, "CANARY-tls");
    assert_eq!(
        sync(&mut desk),
        (3, 0, 0),
        "the pinned authority is used for every sync"
    );
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
    drop(tls);

    // Plain HTTP is for loopback only, on both sides.
    let run = hub_admin(&[
        "serve",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--listen",
        "0.0.0.0:0",
        "--recipient",
        &hub.recipient,
    ])
    .expect_code(1);
    assert!(run.stderr.contains("loopback only"), "{}", run.stderr);
    let run = desk
        .as_coordinator(
            &[
                "enrol",
                "--hub",
                "http://hub.example.org",
                "--code",
                "AAAA-BBBB-CCCC",
            ],
            "",
        )
        .expect_code(1);
    assert!(run.stderr.contains("must use https://"), "{}", run.stderr);
}

#[test]
fn sync_watch_delivers_reports_as_they_are_submitted() {
    use std::io::Write;
    let hub = Hub::start();
    let (mut desk, _) = desk_with_reports(&hub, &hub.url(), 0, "x");
    let mut watch = Command::new(hirc_e2e::bin("hirc"))
        .args([
            "--passphrase-stdin",
            "--user",
            "Chris",
            "sync",
            "--watch",
            "--poll",
            "1",
        ])
        .env("HIRC_DATA_DIR", desk.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hirc sync --watch");
    watch
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{COORDINATOR_PASS}\n").as_bytes())
        .expect("passphrase");
    // Submitted by another process while the worker runs.
    let reports = submit(&mut desk, 2, "CANARY-watch");
    let mut held = 0;
    for _ in 0..100 {
        held = hub.export().len();
        if held == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = watch.kill();
    let out = watch.wait_with_output().expect("output");
    assert_eq!(held, 2, "the watching worker delivered both");
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("online") && status.contains("delivered"),
        "{status}"
    );
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}
