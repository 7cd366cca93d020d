//! After the report is sent: the person comes back. Follow-ups are new
//! revisions of the same report (one made after the purge), a change of
//! consent is one too; each is delivered over a real hub under a receipt
//! the desk checks, and the partnership's export shows each report's
//! history together, in order, led by the consent that holds now. Then
//! the partnership's word comes back, and the person has it all erased.

use hirc_e2e::{TestDesk, hub_admin};
use serde_json::{Value, json};

use crate::{Hub, desk_with_reports, sync};

fn show(desk: &mut TestDesk, key: &str) -> Value {
    let run = desk.as_coordinator(&["report", "show", key], "").ok();
    serde_json::from_str(&run.stdout).expect("json")
}

/// Starts a follow-up of `reference` (quoted as `quoted`) with `changes`
/// merged in, and seals it.
fn follow_up(desk: &mut TestDesk, reference: &str, quoted: &str, changes: Value) {
    let draft = desk
        .as_coordinator(&["report", "follow-up", quoted], "")
        .ok()
        .last_line();
    // Without a note of what changed it is refused, and nothing is lost.
    let run = desk
        .as_coordinator(&["report", "submit", &draft], "")
        .expect_code(4);
    assert!(run.stderr.contains("what_changed"), "{}", run.stderr);
    desk.as_coordinator(
        &["report", "edit", &draft, "--from", "-"],
        &changes.to_string(),
    )
    .ok();
    let sealed = desk
        .as_coordinator(&["report", "submit", &draft], "")
        .ok()
        .last_line();
    assert_eq!(sealed, reference, "a follow-up keeps the reference");
}

#[test]
fn a_report_followed_up_twice_its_consent_withdrawn_word_back_then_erased() {
    let hub = Hub::start();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 2, "CANARY-followup");
    assert_eq!(sync(&mut desk), (2, 0, 0));
    let id = reports.keys().next().expect("one").clone();
    let reference = show(&mut desk, &id)["reference"]
        .as_str()
        .expect("reference")
        .to_string();

    // Revision 2, the report as held with something added; quoted as read
    // back.
    follow_up(
        &mut desk,
        &reference,
        &reference.to_lowercase().replace('-', " "),
        json!({"what_changed": "They came back a week later.", "repeat": "happened_before"}),
    );
    assert_eq!(show(&mut desk, &reference)["revision"], 2);
    assert_eq!(sync(&mut desk), (1, 0, 0), "only the new revision is sent");

    // Day 31 (retention 0 here): the personal data go, the page stays.
    desk.as_coordinator(&["settings", "--retention-days", "0"], "")
        .ok();
    desk.as_coordinator(&["purge"], "").ok();
    let page = show(&mut desk, &reference);
    assert_eq!(page["purged"], true);
    assert!(page["description"].is_null());

    // Revision 3 after the purge: only what is new.
    follow_up(
        &mut desk,
        &reference,
        &reference,
        json!({"what_changed": "A letter came.", "description": "CANARY-followup a letter through the door"}),
    );
    // Revision 4: consent to pass to the police withdrawn.
    let run = desk
        .as_coordinator(
            &["report", "consent", &reference, "--pass-to-police", "no"],
            "",
        )
        .ok();
    assert!(run.stderr.contains("revision 4"), "{}", run.stderr);
    assert_eq!(sync(&mut desk), (2, 0, 0));

    // The desk holds the hub's checked receipt for the latest revision
    // (and, with retention 0, has purged it again straight after).
    let page = show(&mut desk, &reference);
    assert_eq!(page["state"], "purged");
    assert_eq!(page["revision"], 4);
    assert_eq!(page["receipt_checked"], true);
    assert_eq!(page["consent_given"]["pass_to_police"], "no");

    // The partnership's export: this report's four revisions together and
    // in order, each led by the consent that holds now.
    let lines: Vec<Value> = hub.export_lines();
    assert_eq!(lines.len(), 5);
    let ours: Vec<(usize, &Value)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l["receipt"]["report_id"] == id.as_str())
        .collect();
    let revisions: Vec<u64> = ours
        .iter()
        .map(|(_, l)| l["receipt"]["revision"].as_u64().expect("revision"))
        .collect();
    assert_eq!(revisions, [1, 2, 3, 4]);
    assert_eq!(ours[3].0 - ours[0].0, 3, "the revisions are together");
    for (_, l) in &ours {
        assert_eq!(l["current_consent"]["pass_to_police"], "no");
        assert_eq!(l["report"]["reference"], reference.as_str());
    }
    assert_eq!(
        ours[0].1["report"]["consent"]["pass_to_police"],
        "identified"
    );
    assert_eq!(
        ours[1].1["report"]["report"]["what_changed"],
        "They came back a week later."
    );
    assert_eq!(
        ours[1].1["report"]["report"]["description"],
        reports[&id].as_str(),
        "revision 2 was pre-filled"
    );
    let third = &ours[2].1["report"]["report"];
    assert_eq!(
        third["description"],
        "CANARY-followup a letter through the door"
    );
    assert!(
        third["person"]["name"].is_null(),
        "nothing purged is sent again"
    );
    assert!(
        ours[3].1["report"]["report"]["what_changed"]
            .as_str()
            .is_some_and(|t| t.starts_with("Consent changed")),
    );
    // Every revision is receipted once: five receipts, five ids.
    let receipts: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l["receipt"]["receipt_id"].as_str().expect("id"))
        .collect();
    assert_eq!(receipts.len(), 5);

    let csv = hub.export_as("csv");
    assert!(
        csv.starts_with("current_consent.pass_to_police,"),
        "the current consent leads: {}",
        csv.lines().next().unwrap_or_default()
    );

    // The partnership's word on it, with a note, seen at the desk.
    let data = hub.data.to_string_lossy().to_string();
    let identity = hub.identity.to_string_lossy().to_string();
    hub_admin(&[
        "status",
        "set",
        "--data-dir",
        &data,
        "--identity",
        &identity,
        "--reference",
        &reference,
        "--state",
        "reviewed",
        "--note",
        "CANARY-followup we will call on Monday",
    ])
    .ok();
    assert_eq!(sync(&mut desk), (0, 0, 0));
    let page = show(&mut desk, &reference);
    assert_eq!(page["statuses"][0]["state"], "reviewed", "{page}");
    assert_eq!(
        page["statuses"][0]["note"],
        "CANARY-followup we will call on Monday"
    );

    // Then the person asks for it to be erased: every revision goes, at
    // the desk and at the hub, under a receipt the desk checks.
    desk.as_coordinator(&["report", "erase", &reference, "--yes"], "")
        .ok();
    assert_eq!(sync(&mut desk), (0, 0, 0));
    let run = desk
        .as_coordinator(&["report", "show", &reference], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("the hub confirmed it erased its copy"),
        "{}",
        run.stderr
    );
    let lines: Vec<Value> = hub.export_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l["receipt"]["report_id"] == id.as_str()),
        "no revision of it is left at the hub"
    );
    let erasures: Vec<&Value> = lines.iter().filter(|l| !l["erasure"].is_null()).collect();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0]["erasure"]["report_id"], id.as_str());
    assert_eq!(erasures[0]["erasure"]["revisions_deleted"], 4);
    assert_eq!(lines.len(), 2, "the other report, and the erasure");

    let verify = desk.as_coordinator(&["audit", "verify"], "").ok();
    assert!(verify.stdout.contains("intact"));

    // Nothing of any revision, nor of the partnership's note, is readable
    // in the desk's files or the hub's.
    let mut files = desk.files();
    files.extend(hirc_e2e::files_under(&hub.data));
    assert!(files.len() > 3);
    for (path, bytes) in files {
        assert!(
            !hirc_e2e::contains(&bytes, "CANARY-followup"),
            "a canary in {}",
            path.display()
        );
    }
}
