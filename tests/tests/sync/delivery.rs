//! Reports delivered over the network: fifty end to end with no plaintext at
//! the hub, a revoked desk, a damaged report set aside, and `sync --watch`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hirc_e2e::{COORDINATOR_PASS, TestDesk, contains, hub_admin};
use serde_json::Value;

use crate::{Hub, assert_delivered_exactly_once, desk_with_reports, device_id, submit, sync};

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

    // The partnership's CSV: a header and one row per report, the consent
    // that holds now first, then the receipt, then the revision's consent.
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
        lines[0].starts_with(
            "current_consent.pass_to_police,current_consent.police_may_contact,current_consent.refer_to_support,current_consent.consent_recorded_at,receipt_id,received_at,device_id,consent.pass_to_police,"
        ),
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
    // Wait for the worker's own status line to say the desk has recorded
    // both receipts: the hub holding them comes first, and a worker stopped
    // between the two would (rightly) leave "sealed" for its next pass.
    let stdout = watch.stdout.take().expect("stdout");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let done = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let delivered = line
                    .split("delivered")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse::<u32>().ok());
                seen.push(line);
                if delivered == Some(2) {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = watch.kill();
    let _ = watch.wait();
    let status = seen.join("\n");
    assert!(done, "the watching worker delivered both: {status}");
    assert!(status.contains("online"), "{status}");
    assert_eq!(hub.export().len(), 2);
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}
