//! Erasure at the person's request, end to end: a coordinator erases a
//! report by its reference; the desk deletes what it holds at once; the
//! next sync sends the desk's signed notice; the hub deletes every
//! revision and the partnership's word on it, keeps a tombstone, and
//! answers with a signed receipt the desk checks. An outbox file written
//! before the erasure and brought back later cannot put the report back.

use hirc_e2e::{TestDesk, hub_admin};
use serde_json::Value;

use crate::{Hub, desk_with_reports, submit, sync};

fn reference_of(desk: &mut TestDesk, id: &str) -> String {
    let run = desk.as_coordinator(&["report", "show", id], "").ok();
    let page: Value = serde_json::from_str(&run.stdout).expect("json");
    page["reference"].as_str().expect("reference").to_string()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Every file under `dir`, read whole.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

#[test]
fn an_erased_report_goes_from_the_desk_and_the_hub_and_an_old_stick_cannot_bring_it_back() {
    let hub = Hub::start();
    let canary = format!("CANARY-erase-{}", rand::random::<u32>());
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 2, &canary);
    assert_eq!(sync(&mut desk), (2, 0, 0));
    let mut ids = reports.keys();
    let (gone_id, kept_id) = (
        ids.next().expect("one").clone(),
        ids.next().expect("two").clone(),
    );
    let gone = reference_of(&mut desk, &gone_id);
    let gone_account = reports[&gone_id].clone();
    let data = hub.data.to_string_lossy().to_string();
    let identity = hub.identity.to_string_lossy().to_string();
    // The partnership has said something on it.
    hub_admin(&[
        "status",
        "set",
        "--data-dir",
        &data,
        "--identity",
        &identity,
        "--reference",
        &gone,
        "--state",
        "received",
    ])
    .ok();
    // A third report, sealed but not sent: it goes out on a stick first.
    let later = submit(&mut desk, 1, &canary);
    let later_id = later.keys().next().expect("one").clone();
    let later_ref = reference_of(&mut desk, &later_id);
    let stick = desk.path().join("stick-outbox.json");
    desk.as_coordinator(&["outbox", "export", &stick.to_string_lossy()], "")
        .ok();

    // Asked, and not confirmed: nothing is erased.
    let run = desk
        .as_coordinator(&["report", "erase", &gone], "n\n")
        .expect_code(1);
    assert!(run.stderr.contains("nothing was erased"), "{}", run.stderr);
    reference_of(&mut desk, &gone_id);

    // Erased as read back, and the one on the stick too.
    let run = desk
        .as_coordinator(&["report", "erase", &gone.to_lowercase(), "--yes"], "")
        .ok();
    assert!(run.stderr.contains("with the next sync"), "{}", run.stderr);
    desk.as_coordinator(&["report", "erase", &later_ref, "--yes"], "")
        .ok();
    let run = desk
        .as_coordinator(&["report", "show", &gone], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("erased at the person's request")
            && run.stderr.contains("goes with the next sync"),
        "{}",
        run.stderr
    );
    // Only the desk that sent a report can have it erased: its notice, put
    // to the hub under another desk's token, or changed on the way, is
    // refused, and the report stays stored.
    let stick2 = desk.path().join("stick-with-erasures.json");
    desk.as_coordinator(&["outbox", "export", &stick2.to_string_lossy()], "")
        .ok();
    let carried: Value =
        serde_json::from_slice(&std::fs::read(&stick2).expect("stick")).expect("json");
    let notice = carried["erasures"]
        .as_array()
        .expect("erasures")
        .iter()
        .find(|n| n["report_id"] == gone_id.as_str())
        .expect("the notice")
        .clone();
    let (other, _) = desk_with_reports(&hub, &hub.url(), 0, &canary);
    let token_of = |desk: &TestDesk| -> String {
        let file: Value = serde_json::from_slice(
            &std::fs::read(desk.path().join("hub-credential.json")).expect("credential"),
        )
        .expect("json");
        file["token"].as_str().expect("token").to_string()
    };
    let http = reqwest::blocking::Client::new();
    let put = |token: &str, id: &str, body: &Value| {
        http.post(format!("{}/v1/reports/{id}/erasure", hub.url()))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    assert_eq!(
        put(&token_of(&other), &gone_id, &notice),
        422,
        "another desk's token"
    );
    let mut moved = notice.clone();
    moved["report_id"] = Value::from(kept_id.as_str());
    assert_eq!(
        put(&token_of(&desk), &kept_id, &moved),
        422,
        "moved onto another report"
    );
    let mut late = notice.clone();
    late["erased_at"] = Value::from("2030-01-01T00:00:00.000Z");
    assert_eq!(put(&token_of(&desk), &gone_id, &late), 422, "re-dated");
    assert_eq!(put("hirc1_not-a-token", &gone_id, &notice), 401);
    assert_eq!(
        held(&hub, &gone_id),
        1,
        "nothing was erased by a refused notice"
    );

    // Nothing waits to be uploaded; the notices go with the sync.
    assert_eq!(sync(&mut desk), (0, 0, 0));
    let run = desk
        .as_coordinator(&["report", "show", &gone], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("the hub confirmed it erased its copy"),
        "{}",
        run.stderr
    );
    let audit = desk.as_coordinator(&["audit", "--json"], "").ok();
    let entries: Value = serde_json::from_str(&audit.stdout).expect("json");
    let actions: Vec<&str> = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "erased").count(), 2);
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "erasure_confirmed")
            .count(),
        2
    );

    // The stick comes back: the erased report is not stored again.
    let receipts = desk.path().join("stick-receipts.json");
    let run = hub_admin(&[
        "import",
        "--data-dir",
        &data,
        &stick.to_string_lossy(),
        "--receipts",
        &receipts.to_string_lossy(),
    ]);
    assert!(
        run.stderr.contains("erased at the person's request"),
        "{}",
        run.stderr
    );

    // The partnership's export: the other report, and two erasures.
    let lines: Vec<Value> = hub.export_lines();
    let reports: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["receipt"]["report_id"].as_str())
        .collect();
    assert_eq!(reports, [kept_id.as_str()]);
    let erased: Vec<(&str, u64)> = lines
        .iter()
        .filter_map(|l| {
            Some((
                l["erasure"]["report_id"].as_str()?,
                l["erasure"]["revisions_deleted"].as_u64()?,
            ))
        })
        .collect();
    assert_eq!(erased, [(gone_id.as_str(), 1), (later_id.as_str(), 0)]);
    assert!(!lines.iter().any(
        |l| !l["statuses"].is_null() && l["statuses"].as_array().is_some_and(|s| !s.is_empty())
    ));

    // Nothing of the erased accounts is anywhere in the hub's files, and
    // the hub's store holds no ciphertext under their ids.
    for (path, bytes) in files(&hub.data) {
        for account in [&gone_account, &later[&later_id]] {
            assert!(
                !contains(&bytes, account),
                "{} holds {account}",
                path.display()
            );
        }
    }
    let held: i64 = rusqlite::Connection::open(hub.data.join("hub.sqlite3"))
        .expect("open")
        .query_row(
            "SELECT count(*) FROM reports WHERE report_id IN (?1, ?2)",
            [&gone_id, &later_id],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(held, 0);
}

/// Revisions of `id` the hub's embedded store holds.
fn held(hub: &Hub, id: &str) -> i64 {
    rusqlite::Connection::open(hub.data.join("hub.sqlite3"))
        .expect("open")
        .query_row(
            "SELECT count(*) FROM reports WHERE report_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("count")
}

#[test]
fn a_hub_restored_from_a_backup_older_than_an_erasure_erases_again_when_the_desk_resends() {
    let mut hub = Hub::start();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 1, "CANARY-restore-erase");
    assert_eq!(sync(&mut desk), (1, 0, 0));
    let id = reports.keys().next().expect("one").clone();
    let reference = reference_of(&mut desk, &id);
    // Backed up while it still held the report.
    let place = tempfile::tempdir().expect("tmp");
    let backup = place.path().join("before-erasure");
    let data = hub.data.to_string_lossy().to_string();
    hub_admin(&[
        "backup",
        "--data-dir",
        &data,
        "--out",
        &backup.to_string_lossy(),
    ])
    .ok();
    desk.as_coordinator(&["report", "erase", &reference, "--yes"], "")
        .ok();
    assert_eq!(sync(&mut desk), (0, 0, 0));
    assert_eq!(held(&hub, &id), 0);
    let list = desk.as_coordinator(&["report", "erasures"], "").ok();
    assert!(list.stdout.contains("the hub confirmed"), "{}", list.stdout);

    // The hub's machine is lost and comes back from the older backup: it
    // holds the report again, without its tombstone.
    hub.down();
    let restored = place.path().join("restored");
    hub_admin(&[
        "restore",
        "--from",
        &backup.to_string_lossy(),
        "--data-dir",
        &restored.to_string_lossy(),
    ])
    .ok();
    hub.data = restored;
    hub.up();
    assert_eq!(held(&hub, &id), 1, "the restored hub holds it again");

    // The coordinator has the hub erase it again.
    let run = desk
        .as_coordinator(&["report", "erase", &reference, "--resend"], "")
        .ok();
    assert_eq!(run.last_line(), reference);
    assert!(
        run.stderr.contains("goes to the hub again"),
        "{}",
        run.stderr
    );
    let list = desk
        .as_coordinator(&["report", "erasures", "--json"], "")
        .ok();
    let list: Value = serde_json::from_str(&list.stdout).expect("json");
    assert!(list[0]["confirmed_at"].is_null(), "{list}");
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(
        status.stdout.contains("Erasures:      1 not yet confirmed"),
        "{}",
        status.stdout
    );
    assert_eq!(sync(&mut desk), (0, 0, 0));
    assert_eq!(held(&hub, &id), 0, "erased again");
    let status = desk.as_coordinator(&["status"], "").ok();
    assert!(!status.stdout.contains("Erasures:"), "{}", status.stdout);
    let list = desk
        .as_coordinator(&["report", "erasures", "--json"], "")
        .ok();
    let list: Value = serde_json::from_str(&list.stdout).expect("json");
    assert!(list[0]["confirmed_at"].is_string(), "{list}");
    let erased: Vec<Value> = hub
        .export_lines()
        .into_iter()
        .filter(|l| !l["erasure"].is_null())
        .collect();
    assert_eq!(erased.len(), 1, "{erased:?}");
    assert_eq!(erased[0]["erasure"]["report_id"], id.as_str());
    assert_eq!(erased[0]["erasure"]["revisions_deleted"], 1);

    // Sending every erasure again to a hub that kept its tombstones gets
    // the same receipts back.
    let run = desk
        .as_coordinator(&["report", "erasures", "--resend"], "")
        .ok();
    assert!(run.stderr.contains("1 erasure(s)"), "{}", run.stderr);
    assert_eq!(sync(&mut desk), (0, 0, 0));
    let list = desk.as_coordinator(&["report", "erasures"], "").ok();
    assert!(list.stdout.contains("the hub confirmed"), "{}", list.stdout);
    let audit = desk.as_coordinator(&["audit", "--json"], "").ok();
    let resent = serde_json::from_str::<Value>(&audit.stdout)
        .expect("json")
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "erasure_resent")
        .count();
    assert_eq!(resent, 2);
}

#[test]
fn a_desk_restored_from_before_an_erasure_is_told_to_erase_it_again_and_the_hub_confirms() {
    let hub = Hub::start();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 1, "CANARY-restored");
    // A copy of the desk made before its report went (a backup).
    let mut earlier = desk.copy();
    assert_eq!(sync(&mut desk), (1, 0, 0));
    let id = reports.keys().next().expect("one").clone();
    let reference = reference_of(&mut desk, &id);
    desk.as_coordinator(&["report", "erase", &reference, "--yes"], "")
        .ok();
    assert_eq!(sync(&mut desk), (0, 0, 0));

    // The desk comes back from that copy and sends the report again: the
    // hub refuses it, and the desk says what the coordinator must do.
    assert_eq!(sync(&mut earlier), (0, 0, 1));
    assert_eq!(held(&hub, &id), 0, "never stored again");
    let list = earlier
        .as_coordinator(&["report", "list", "--json"], "")
        .ok();
    let list: Value = serde_json::from_str(&list.stdout).expect("json");
    let why = list[0]["upload"]["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("erased at the person's request") && why.contains("erases it here too"),
        "{list}"
    );
    // Erased there too: the hub answers with the receipt of its erasure.
    earlier
        .as_coordinator(&["report", "erase", &reference, "--yes"], "")
        .ok();
    assert_eq!(sync(&mut earlier), (0, 0, 0));
    let run = earlier
        .as_coordinator(&["report", "show", &reference], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("the hub confirmed it erased its copy"),
        "{}",
        run.stderr
    );
    let list = earlier
        .as_coordinator(&["report", "list", "--json"], "")
        .ok();
    assert_eq!(
        list.stdout.trim(),
        "[]",
        "nothing of it is held there either"
    );
}
