//! Word back from the partnership, end to end: the desk registers its
//! status key on a sync, the partnership sets a status with its key, the
//! hub keeps only ciphertext, and the desk shows it after its next sync.

use hirc_e2e::hub_admin;
use serde_json::Value;

use crate::{Hub, desk_with_reports, sync};

#[test]
fn a_status_set_by_the_partnership_reaches_the_desk_and_no_one_between_reads_it() {
    let hub = Hub::start();
    let (mut desk, reports) = desk_with_reports(&hub, &hub.url(), 1, "CANARY-wordback");
    assert_eq!(
        sync(&mut desk),
        (1, 0, 0),
        "delivered, and the status key registered"
    );
    let id = reports.keys().next().expect("one");
    let show = |desk: &mut hirc_e2e::TestDesk| -> Value {
        let run = desk.as_coordinator(&["report", "show", id], "").ok();
        serde_json::from_str(&run.stdout).expect("json")
    };
    let reference = show(&mut desk)["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let data = hub.data.to_string_lossy().to_string();
    let identity = hub.identity.to_string_lossy().to_string();
    let set = |reference: &str, state: &str, note: Option<&str>| {
        let mut args = vec![
            "status",
            "set",
            "--data-dir",
            &data,
            "--identity",
            &identity,
            "--reference",
            reference,
            "--state",
            state,
        ];
        if let Some(note) = note {
            args.extend(["--note", note]);
        }
        hub_admin(&args)
    };

    // A reference that never arrived is named as such.
    let run = set("CP-0000-00", "received", None).expect_code(1);
    assert!(
        run.stderr.contains("no report with reference"),
        "{}",
        run.stderr
    );

    set(&reference.to_lowercase(), "received", None).ok();
    set(
        &reference,
        "passed_to_police",
        Some("CANARY-wordback-note with PC Smith"),
    )
    .ok();
    assert!(
        show(&mut desk)["statuses"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "not before a sync"
    );
    sync(&mut desk);
    let page = show(&mut desk);
    let statuses = page["statuses"].as_array().expect("statuses");
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0]["state"], "received");
    assert_eq!(statuses[1]["state"], "passed_to_police");
    assert_eq!(statuses[1]["note"], "CANARY-wordback-note with PC Smith");
    // A second sync brings nothing twice.
    sync(&mut desk);
    assert_eq!(
        show(&mut desk)["statuses"].as_array().map(Vec::len),
        Some(2)
    );

    // The partnership's export lists what it said, with the report.
    let line: Value =
        serde_json::from_str(hub.export_as("jsonl").lines().next().expect("a line")).expect("json");
    assert_eq!(line["statuses"][1]["state"], "passed_to_police");
    assert_eq!(
        line["statuses"][1]["note"],
        "CANARY-wordback-note with PC Smith"
    );

    // Neither the hub's files nor the desk's hold the note (or the report)
    // in the clear.
    let mut files = desk.files();
    files.extend(hirc_e2e::files_under(&hub.data));
    for (path, bytes) in files {
        assert!(
            !hirc_e2e::contains(&bytes, "CANARY-wordback"),
            "a canary in {}",
            path.display()
        );
    }
}
