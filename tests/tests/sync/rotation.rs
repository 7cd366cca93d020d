//! The runbook's "receipt-signing key is lost or exposed", followed step by
//! step: the hub gets a new key only when told to, a desk refuses receipts
//! signed with a key it did not pin (its reports stay queued), and once it
//! is enrolled again every report is delivered exactly once, the ones
//! delivered before keeping their receipts.

use hirc_e2e::hub_admin;

use crate::{Hub, assert_delivered_exactly_once, desk_with_reports, submit, sync};

#[test]
fn a_new_receipt_key_then_every_desk_enrolled_again_delivers_everything_once() {
    let mut hub = Hub::start();
    let url = hub.url();
    let (mut desk, mut reports) = desk_with_reports(&hub, &url, 2, "CANARY-rotation");
    crate::sync_until_done(&mut desk);
    assert_delivered_exactly_once(&hub, &mut desk, &reports);

    // The key is exposed: the hub is stopped and the key taken away.
    hub.down();
    let key = hub.data.join("receipt-signing.key");
    let old_key = std::fs::read_to_string(&key).expect("the key");
    std::fs::remove_file(&key).expect("remove the key");
    // Without --new-receipt-key the hub will not make a new one while desks
    // are enrolled.
    let data = hub.data.to_string_lossy().into_owned();
    let refused = hub_admin(&[
        "serve",
        "--data-dir",
        &data,
        "--recipient",
        &hub.recipient,
        "--listen",
        "127.0.0.1:0",
    ])
    .expect_code(1);
    assert!(
        refused.stderr.contains("--new-receipt-key"),
        "{}",
        refused.stderr
    );
    assert!(!key.exists(), "nothing was made");
    hub.flags.push("--new-receipt-key".into());
    hub.up();
    let new_key = std::fs::read_to_string(&key).expect("a new key");
    assert_ne!(new_key, old_key);

    // Before the desk is enrolled again, a new report reaches the hub but
    // its receipt is signed with a key the desk never pinned: the desk does
    // not take it, and the report stays queued.
    reports.extend(submit(&mut desk, 1, "CANARY-rotation-between"));
    let (delivered, _, _) = sync(&mut desk);
    assert_eq!(delivered, 0, "a receipt under another key is not taken");
    let status = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&status.stdout).expect("json");
    assert_eq!(
        rows.iter().filter(|r| r["state"] == "delivered").count(),
        2,
        "only the two delivered before"
    );

    // Enrolling again: the changed key is refused until the coordinator,
    // having read its fingerprint back to the partnership, says so.
    let code = hub.code();
    let run = desk
        .as_coordinator(&["enrol", "--hub", &url, "--code", &code], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("--replace-recipients"),
        "{}",
        run.stderr
    );
    let code = hub.code();
    desk.as_coordinator(
        &[
            "enrol",
            "--hub",
            &url,
            "--code",
            &code,
            "--replace-recipients",
        ],
        "",
    )
    .ok();
    crate::sync_until_done(&mut desk);
    // Each report held once; the desk holds the hub's receipt for each (for
    // the one sent in between, the receipt the hub gave when it first took
    // it, now signed with the new key).
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
}
