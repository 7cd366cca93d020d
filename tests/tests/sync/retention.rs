//! Retention: delivered reports purged when their time comes, and later
//! reports still delivered after a purge.

use hirc_e2e::hub_admin;
use serde_json::Value;

use crate::{Hub, desk_with_reports, device_id, submit, sync};

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
    // Its page outlives the purge: state, dates and the hub's receipt stay,
    // the personal content is gone.
    let run = desk.as_coordinator(&["report", "show", id], "").ok();
    assert!(run.stderr.contains("purged"), "{}", run.stderr);
    let page: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(page["state"], "purged");
    assert_eq!(page["purged"], true);
    assert!(page["receipt"]["signature"].is_string(), "{page}");
    assert!(
        page["description"].is_null(),
        "no content after the purge: {page}"
    );
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
