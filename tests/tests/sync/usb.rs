//! Delivery by USB stick for a centre that is never online: outbox and
//! receipt files, forged files, and a desk enrolled again.

use hirc_e2e::{TestDesk, contains, hub_admin};
use hirc_hub::store::HubStore;
use serde_json::Value;

use crate::{Hub, assert_delivered_exactly_once, desk_with_reports, submit};

/// A desk enrolled with the hub by file (`hirc-hub enrol --offline-file`
/// written to `file`, then `hirc enrol --file`), showing the hub's
/// fingerprint as it does so.
fn offline_desk(hub: &Hub, file: &str) -> TestDesk {
    hub_admin(&[
        "enrol",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--centre",
        "Canvey Island",
        "--offline-file",
        file,
        "--recipient",
        &hub.recipient,
    ])
    .ok();
    let (mut desk, _) = TestDesk::init();
    let run = desk.as_coordinator(&["enrol", "--file", file], "").ok();
    assert!(run.stdout.contains(&hub.fingerprint), "{}", run.stdout);
    desk
}

/// `hirc-hub import FILE --receipts RECEIPTS` into the hub at `data`.
fn import(data: &str, file: &str, receipts: &str) -> hirc_e2e::Run {
    hub_admin(&["import", "--data-dir", data, file, "--receipts", receipts])
}

#[test]
fn a_centre_that_is_never_online_delivers_by_usb_stick_exactly_once() {
    let hub = Hub::start();
    let data = hub.data.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tmp");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();

    // Offline enrolment: a file instead of a code.
    let mut desk = offline_desk(&hub, &path("enrol.json"));
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
    let run = import(&data, &path("outbox.json"), &path("receipts.json")).ok();
    assert!(
        run.stderr
            .contains("Stored 5 report(s); 0 were already here"),
        "{}",
        run.stderr
    );
    let run = import(&data, &path("outbox.json"), &path("receipts2.json")).ok();
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
    let run = import(&data, &path("damaged.json"), &path("r3.json")).expect_code(1);
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
                    evidence: None,
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
            erasures: Vec::new(),
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
        let run = import(&data, &path(name), &path(&format!("r-{name}"))).expect_code(1);
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
    import(&data, &path("o1.json"), &path("r1.json")).ok();
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
    let run = import(&data, &path("o2.json"), &path("r2.json")).ok();
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

/// A centre that is never online erases a report at the person's request:
/// the notice goes on the stick with the outbox, the hub erases its copy
/// and the receipt comes back on the stick.
#[test]
fn an_erasure_travels_by_usb_stick_and_comes_back_confirmed() {
    let hub = Hub::start();
    let data = hub.data.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tmp");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let mut desk = offline_desk(&hub, &path("enrol.json"));
    let reports = submit(&mut desk, 2, "CANARY-usb-erase");
    let import = |outbox: &str, receipts: &str| import(&data, &path(outbox), &path(receipts));
    desk.as_coordinator(&["outbox", "export", &path("out1.json")], "")
        .ok();
    import("out1.json", "rec1.json").ok();
    desk.as_coordinator(&["outbox", "receipts", &path("rec1.json")], "")
        .ok();

    let gone_id = reports.keys().next().expect("one").clone();
    let page: Value = serde_json::from_str(
        &desk
            .as_coordinator(&["report", "show", &gone_id], "")
            .ok()
            .stdout,
    )
    .expect("json");
    let gone = page["reference"].as_str().expect("reference").to_string();
    desk.as_coordinator(&["report", "erase", &gone, "--yes"], "")
        .ok();

    // The next stick carries the erasure (and no report).
    let run = desk
        .as_coordinator(&["outbox", "export", &path("out2.json")], "")
        .ok();
    assert!(run.stdout.contains("1 erasure(s)"), "{}", run.stdout);
    let run = import("out2.json", "rec2.json").ok();
    assert!(run.stderr.contains("Erased 1 report(s)"), "{}", run.stderr);
    // Carried twice: the same receipt, nothing more erased.
    let again = import("out2.json", "rec2b.json").ok();
    assert!(
        again.stderr.contains("Erased 1 report(s)"),
        "{}",
        again.stderr
    );
    let run = desk
        .as_coordinator(&["outbox", "receipts", &path("rec2.json")], "")
        .ok();
    assert!(
        run.stdout.contains("1 erasure(s) confirmed by the hub"),
        "{}",
        run.stdout
    );
    let run = desk
        .as_coordinator(&["report", "show", &gone], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("the hub confirmed it erased its copy"),
        "{}",
        run.stderr
    );
    // The stick after that carries nothing more of it.
    let run = desk
        .as_coordinator(&["outbox", "export", &path("out3.json")], "")
        .ok();
    assert!(!run.stdout.contains("erasure"), "{}", run.stdout);

    let lines: Vec<Value> = hub.export_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l["receipt"]["report_id"] == gone_id.as_str()),
        "the hub still holds the erased report"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["erasure"]["report_id"] == gone_id.as_str())
            .count(),
        1
    );
}

#[test]
fn evidence_travels_by_usb_stick_with_its_report_and_arrives_whole() {
    let hub = Hub::start();
    let data = hub.data.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tmp");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let mut desk = offline_desk(&hub, &path("enrol.json"));
    let file = desk.path().join("report.json");
    std::fs::write(&file, hirc_e2e::EXAMPLE_REPORT).expect("write");
    let id = desk
        .as_coordinator(&["report", "new", "--from", &file.to_string_lossy()], "")
        .ok()
        .last_line();
    let canary = format!("CANARY-usb-evidence-{}", rand::random::<u32>());
    let note = work.path().join("message.txt");
    std::fs::write(&note, format!("a message that says {canary}\n")).expect("note");
    let mut scan = b"%PDF-1.4\n".to_vec();
    scan.extend((0..5_000_000u32).map(|n| (n % 253) as u8));
    std::fs::write(work.path().join("scan.pdf"), &scan).expect("scan");
    desk.as_coordinator(
        &[
            "report",
            "attach",
            &id,
            &note.to_string_lossy(),
            &path("scan.pdf"),
        ],
        "",
    )
    .ok();
    let reference = desk
        .as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line();
    let out = desk
        .as_coordinator(&["outbox", "export", &path("outbox.json")], "")
        .ok();
    assert!(
        out.stdout.contains("It carries 2 item(s) of evidence"),
        "{}",
        out.stdout
    );
    let stick = std::fs::read(path("outbox.json")).expect("outbox file");
    assert!(!contains(&stick, &canary), "the stick holds no plaintext");

    // A stick whose evidence was damaged stores nothing of the report.
    let mut damaged: Value = serde_json::from_slice(&stick).expect("json");
    damaged["reports"][0]["evidence"][1]["payload"] = Value::String("AAAA".into());
    std::fs::write(path("damaged.json"), damaged.to_string()).expect("write");
    let run = import(&data, &path("damaged.json"), &path("r0.json")).expect_code(1);
    assert!(
        run.stderr.contains("not signed") || run.stderr.contains("does not match"),
        "{}",
        run.stderr
    );

    // An upload of the same item over the network got every byte to the
    // hub, but not checked (the hub stopped first), and those bytes are
    // not what its digest says: the import checks what it did not write,
    // discards it, and the next import sends it whole.
    let good: Value = serde_json::from_slice(&stick).expect("json");
    // (The second item: the damaged stick stored the first whole.)
    let second = &good["reports"][0]["evidence"][1];
    let uuid = |v: &Value| uuid::Uuid::parse_str(v.as_str().expect("id")).expect("uuid");
    let length = second["length"].as_u64().expect("length");
    let planted = tokio::runtime::Runtime::new().expect("runtime").block_on(
        hirc_hub::sqlite_store::SqliteStore::open(&hub.data)
            .expect("hub store")
            .put_evidence_chunk(hirc_hub::store::EvidenceChunk {
                device_id: uuid(&good["device_id"]),
                report_id: uuid(&good["reports"][0]["report_id"]),
                evidence_id: uuid(&second["id"]),
                length,
                digest: second["digest"].as_str().expect("digest").into(),
                offset: 0,
                bytes: vec![b'?'; length as usize],
                day_quota: u64::MAX,
                now: chrono::Utc::now(),
            }),
    );
    assert!(
        matches!(planted, Ok(hirc_hub::store::ChunkPut::Stored(_))),
        "{planted:?}"
    );
    let run = import(&data, &path("outbox.json"), &path("r1.json")).expect_code(1);
    assert!(
        run.stderr
            .contains("did not match its digest; it was discarded"),
        "{}",
        run.stderr
    );

    // Nothing of that report was stored: the good stick stores it now.
    let run = import(&data, &path("outbox.json"), &path("receipts.json")).ok();
    assert!(
        run.stderr
            .contains("Stored 1 report(s); 0 were already here"),
        "{}",
        run.stderr
    );
    let back = desk
        .as_coordinator(&["outbox", "receipts", &path("receipts.json")], "")
        .ok();
    assert!(
        back.stdout.contains("1 report(s) marked delivered"),
        "{}",
        back.stdout
    );
    // What a stick carried in is named by its report: no sweep takes it.
    let sweep = hub_admin(&["sweep", "--data-dir", &data, "--idle-days", "0"]).ok();
    assert!(
        sweep
            .stdout
            .contains("Nothing to sweep: every item of evidence here is named by a report."),
        "{}",
        sweep.stdout
    );
    let attachments = work.path().join("attachments");
    hub_admin(&[
        "export",
        "--data-dir",
        &data,
        "--identity",
        &hub.identity.to_string_lossy(),
        "--attachments-dir",
        &attachments.to_string_lossy(),
        "--out",
        &path("export.jsonl"),
    ])
    .ok();
    let folder = std::fs::read_dir(&attachments)
        .expect("attachments")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().contains(&reference))
        .expect("the report's folder");
    assert_eq!(
        std::fs::read(folder.join("r1-2.pdf")).expect("scan"),
        scan,
        "byte for byte"
    );
    assert!(
        std::fs::read_to_string(folder.join("r1-1.txt"))
            .expect("note")
            .contains(&canary)
    );
    for (path, bytes) in desk
        .files()
        .into_iter()
        .chain(hirc_e2e::files_under(&hub.data))
    {
        assert!(!contains(&bytes, &canary), "{canary} in {}", path.display());
    }
}
