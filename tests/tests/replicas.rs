//! Hub replicas, for real: two and then three `hirc-hub` processes on one
//! PostgreSQL database behind HAProxy, as a partnership would run them.
//! Desks upload through the load balancer; one report is sent to two
//! replicas at the same moment; a replica hangs with a desk's upload on it
//! in the middle of its batch, is killed, and another started; the database
//! is restarted under load. In the
//! end every report is held once, and every desk holds the receipt the hub
//! issued, which it checked.
//!
//! Its own test binary, so that restarting the database disturbs no other
//! test. Needs HIRC_TEST_POSTGRES (and HIRC_TEST_POSTGRES_CLUSTER, "15 main",
//! to restart it; without it the database's connections are cut instead)
//! and `haproxy`; `scripts/test` provides all three (and `ss`, from
//! iproute2, to see an upload waiting on a hung replica).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use hirc_e2e::{Balancer, EXAMPLE_REPORT, HubProcess, TestDesk, fresh_postgres, hub_admin};
use hirc_proto::{DIGEST_HEADER, content_digest, report_path};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Polls `check` until it holds, or fails after `limit` (generous: the
/// machine may be busy; the test waits for what it observes, never for a
/// fixed time).
fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Replicas {
    _dir: tempfile::TempDir,
    database: String,
    key: String,
    recipient: String,
    identity: String,
    hubs: Vec<Option<HubProcess>>,
    balancer: Option<Balancer>,
    url: String,
}

impl Replicas {
    fn start(database: String) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let identity = dir
            .path()
            .join("partnership.key")
            .to_string_lossy()
            .into_owned();
        let recipient = hub_admin(&["keygen", "--out", &identity]).ok().last_line();
        let key = dir
            .path()
            .join("receipt.key")
            .to_string_lossy()
            .into_owned();
        let mut replicas = Self {
            database,
            key,
            recipient,
            identity,
            hubs: Vec::new(),
            balancer: None,
            url: String::new(),
            _dir: dir,
        };
        replicas.add_hub();
        replicas.add_hub();
        replicas.balance();
        replicas
    }

    fn add_hub(&mut self) {
        let data = self._dir.path().join(format!("hub-{}", self.hubs.len()));
        self.hubs.push(Some(HubProcess::start(
            &data,
            &self.recipient,
            &["--database", &self.database, "--receipt-key", &self.key],
        )));
    }

    /// (Re)starts HAProxy, on the same port, in front of the replicas
    /// alive now.
    fn balance(&mut self) {
        let alive: Vec<&str> = self.hubs.iter().flatten().map(|h| h.url.as_str()).collect();
        match &mut self.balancer {
            Some(balancer) => balancer.balance(&alive),
            None => {
                let balancer = Balancer::start(self._dir.path(), &alive);
                self.url = balancer.url.clone();
                self.balancer = Some(balancer);
            }
        }
    }

    fn code(&self) -> String {
        hub_admin(&[
            "enrol",
            "--database",
            &self.database,
            "--receipt-key",
            &self.key,
            "--centre",
            "Castle Point CVS",
        ])
        .ok()
        .last_line()
    }

    /// Every report the hub holds, decrypted: report id -> receipt id.
    fn held(&self) -> BTreeMap<String, String> {
        let run = hub_admin(&[
            "export",
            "--database",
            &self.database,
            "--identity",
            &self.identity,
        ])
        .ok();
        let mut out = BTreeMap::new();
        for line in run.stdout.lines() {
            let v: Value = serde_json::from_str(line).expect("json line");
            let id = v["receipt"]["report_id"].as_str().expect("id").to_string();
            let receipt = v["receipt"]["receipt_id"]
                .as_str()
                .expect("receipt")
                .to_string();
            assert!(out.insert(id.clone(), receipt).is_none(), "{id} held twice");
        }
        out
    }

    /// How many reports the replicas alive now have logged as stored.
    fn stored(&self) -> usize {
        self.hubs
            .iter()
            .flatten()
            .map(|h| {
                h.log
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .matches("report stored")
                    .count()
            })
            .sum()
    }
}

/// A desk enrolled through the load balancer with `n` submitted reports.
fn desk(replicas: &Replicas, n: usize) -> (TestDesk, BTreeSet<String>) {
    let (mut desk, _) = TestDesk::init();
    desk.as_coordinator(
        &["enrol", "--hub", &replicas.url, "--code", &replicas.code()],
        "",
    )
    .ok();
    let mut example: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
    let file = desk.path().join("report.json");
    let mut ids = BTreeSet::new();
    for i in 0..n {
        example["description"] = Value::String(format!("CANARY-replicas account {i}"));
        std::fs::write(&file, example.to_string()).expect("write");
        let id = desk
            .as_coordinator(&["report", "new", "--from", &file.to_string_lossy()], "")
            .ok()
            .last_line();
        desk.as_coordinator(&["report", "submit", &id], "").ok();
        ids.insert(id);
    }
    std::fs::remove_file(&file).expect("remove");
    (desk, ids)
}

/// `hirc sync` passes until nothing waits (bounded); a pass may meet a
/// replica going down or the database restarting, and says so.
fn sync_until_done(desk: &mut TestDesk) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = desk.as_coordinator(&["sync"], "");
        if run.code == 0 && run.last_line().contains("waiting 0,") {
            return;
        }
        assert!(Instant::now() < deadline, "still waiting: {}", run.stdout);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Each report id the desk holds, with its receipt id (all delivered).
fn receipts(desk: &mut TestDesk) -> BTreeMap<String, String> {
    let list = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    let list: Vec<Value> = serde_json::from_str(&list.stdout).expect("json");
    list.iter()
        .map(|row| {
            assert_eq!(row["state"], "delivered", "{row}");
            (
                row["id"].as_str().expect("id").to_string(),
                row["upload"]["receipt"]["receipt_id"]
                    .as_str()
                    .expect("receipt")
                    .to_string(),
            )
        })
        .collect()
}

/// Sends a signal (`STOP`, `KILL`…) to a process.
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

/// Whether a request has reached the hub on `port` and lies unread (the
/// hub hangs): an established connection to it with bytes in its receive
/// queue (`ss`, from iproute2).
fn request_waiting_on(port: &str) -> bool {
    let out = Command::new("ss")
        .args([
            "-Htn",
            "state",
            "established",
            &format!("( sport = :{port} )"),
        ])
        .output()
        .expect("ss (apt-get install iproute2)");
    String::from_utf8_lossy(&out.stdout).lines().any(|line| {
        line.split_whitespace()
            .next()
            .and_then(|queued| queued.parse::<u64>().ok())
            .is_some_and(|queued| queued > 0)
    })
}

fn restart_database(database: &str) {
    match std::env::var("HIRC_TEST_POSTGRES_CLUSTER") {
        Ok(cluster) => {
            let (version, name) = cluster.split_once(' ').expect("\"VERSION NAME\"");
            let status = Command::new("pg_ctlcluster")
                .args([version, name, "restart"])
                .status()
                .expect("pg_ctlcluster");
            assert!(status.success(), "the database restarted");
        }
        Err(_) => {
            // Without the right to restart it, every connection of the
            // hub's database is cut, as a restart would.
            let base = std::env::var("HIRC_TEST_POSTGRES").expect("set");
            let name = database.rsplit('/').next().expect("name");
            let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("admin");
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    &[&name],
                )
                .expect("terminate");
        }
    }
}

#[test]
fn replicas_behind_a_load_balancer_deliver_every_report_exactly_once() {
    let Some(database) = fresh_postgres() else {
        eprintln!("HIRC_TEST_POSTGRES is not set: the replica test is skipped");
        return;
    };
    if !Balancer::available() {
        eprintln!("haproxy is not installed: the replica test is skipped");
        return;
    }
    let mut replicas = Replicas::start(database.clone());

    // Three desks, through the load balancer.
    let mut desks: Vec<(TestDesk, BTreeSet<String>)> =
        (0..3).map(|_| desk(&replicas, 12)).collect();

    // One report sent to both replicas at the same moment: one row, the
    // same receipt from each, no error.
    let enrolled: Value = reqwest::blocking::Client::new()
        .post(format!("{}/v1/enrol", replicas.url))
        .json(&json!({"code": replicas.code(), "device_name": "twice"}))
        .send()
        .expect("enrol")
        .json()
        .expect("json");
    let token = enrolled["token"].as_str().expect("token").to_string();
    let id = Uuid::now_v7();
    let r: age::x25519::Recipient = replicas.recipient.parse().expect("recipient");
    let body = age::encrypt(&r, b"{\"report\":\"sent twice\"}").expect("encrypt");
    let targets: Vec<String> = replicas
        .hubs
        .iter()
        .flatten()
        .map(|h| h.url.clone())
        .collect();
    let answers: Vec<(StatusCode, String)> = std::thread::scope(|s| {
        let sends: Vec<_> = targets
            .iter()
            .map(|url| {
                let (token, body) = (&token, &body);
                s.spawn(move || {
                    let r = reqwest::blocking::Client::new()
                        .put(format!("{url}{}", report_path(id, 1)))
                        .bearer_auth(token)
                        .header(DIGEST_HEADER, content_digest(body))
                        .body(body.clone())
                        .send()
                        .expect("put");
                    let status = r.status();
                    let receipt: Value = r.json().expect("json");
                    (
                        status,
                        receipt["receipt_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
            })
            .collect();
        sends
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    });
    let statuses: BTreeSet<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.is_subset(&BTreeSet::from([StatusCode::CREATED, StatusCode::OK])),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|(s, _)| *s == StatusCode::CREATED),
        "{answers:?}"
    );
    assert_eq!(answers[0].1, answers[1].1, "the same receipt from both");

    // A replica dies in the middle of the first desk's batch, one of its
    // uploads in flight on it: the replica hangs (frozen, and HAProxy, no
    // longer checking it, still sends it every other request), an upload is
    // seen waiting on it, and it is killed. A new replica then joins.
    let (mut first, first_ids) = desks.remove(0);
    let doomed = replicas.hubs[0].as_ref().expect("alive");
    let (doomed_url, doomed_pid) = (doomed.url.clone(), doomed.pid());
    let others: Vec<String> = replicas.hubs[1..]
        .iter()
        .flatten()
        .map(|h| h.url.clone())
        .collect();
    let mut servers = vec![(doomed_url.as_str(), false)];
    servers.extend(others.iter().map(|u| (u.as_str(), true)));
    replicas
        .balancer
        .as_mut()
        .expect("balancer")
        .balance_checking(&servers);
    signal(doomed_pid, "STOP");
    let syncing = std::thread::spawn(move || {
        let run = first.as_coordinator(&["sync"], "");
        (first, run)
    });
    let port = doomed_url.rsplit(':').next().expect("port").to_string();
    wait_for(
        "an upload of the first desk waiting on the hung replica",
        Duration::from_secs(60),
        || request_waiting_on(&port),
    );
    replicas.hubs[0] = None;
    let (mut first, run) = syncing.join().expect("sync thread");
    let waiting = run
        .last_line()
        .split(", ")
        .find_map(|part| part.strip_prefix("waiting "))
        .and_then(|n| n.parse::<usize>().ok());
    assert!(
        run.code == 0 && waiting.is_some_and(|n| n >= 1),
        "the pass ran, and met the replica's death mid-batch (an upload still to send): {}{}",
        run.stdout,
        run.stderr
    );
    replicas.add_hub();
    replicas.balance();
    sync_until_done(&mut first);

    // The database restarts while the second desk uploads.
    let (mut second, second_ids) = desks.remove(0);
    let before = replicas.stored();
    let syncing = std::thread::spawn(move || {
        let run = second.as_coordinator(&["sync"], "");
        (second, run)
    });
    wait_for(
        "the second desk's first report stored",
        Duration::from_secs(60),
        || replicas.stored() > before,
    );
    restart_database(&database);
    let (mut second, _) = syncing.join().expect("sync thread");
    sync_until_done(&mut second);
    let (mut third, third_ids) = desks.remove(0);
    sync_until_done(&mut third);

    // Exactly once: every report held once, and each desk holds the receipt
    // the hub issued for it.
    let held = replicas.held();
    let mut wanted: BTreeSet<String> = first_ids.union(&second_ids).cloned().collect();
    wanted.extend(third_ids);
    wanted.insert(id.to_string());
    assert_eq!(held.keys().cloned().collect::<BTreeSet<_>>(), wanted);
    for desk in [&mut first, &mut second, &mut third] {
        for (report, receipt) in receipts(desk) {
            assert_eq!(held[&report], receipt, "the desk's receipt for {report}");
        }
    }
}
