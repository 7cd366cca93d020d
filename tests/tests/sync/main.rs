//! Desk to hub, end to end: the real `hirc` and `hirc-hub` binaries, real
//! stores, real HTTP on loopback, and faults in between. Every scenario ends
//! with every report delivered exactly once: the hub holds each once, the
//! desk holds its receipt, and the two agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use hirc_e2e::{EXAMPLE_REPORT, HubProcess, TestDesk, free_port, hub_admin};
use serde_json::Value;

mod backup;
mod delivery;
mod erasure;
mod evidence;
mod faults;
mod follow_up;
mod retention;
mod rotation;
mod tls;
mod usb;
mod word_back;

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

    /// Every revision the hub holds, decrypted, as the export lists them
    /// (in `format`, `jsonl` or `csv`).
    fn export_as(&self, format: &str) -> String {
        hub_admin(&[
            "export",
            "--data-dir",
            &self.data.to_string_lossy(),
            "--identity",
            &self.identity.to_string_lossy(),
            "--format",
            format,
        ])
        .ok()
        .stdout
    }

    /// Every line of the JSON Lines export: a line per revision held, then
    /// a line per erasure (`{"erasure": …}`).
    fn export_lines(&self) -> Vec<Value> {
        self.export_as("jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }

    /// Every report the hub holds, decrypted: report id -> export line
    /// (erasure lines are not reports).
    fn export(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for v in self.export_lines() {
            if v["receipt"].is_null() {
                continue;
            }
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
