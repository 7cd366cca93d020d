//! Evidence end to end: photos and documents attached at the desk, sent to
//! the hub in resumable chunks before their report, and exported by the
//! partnership whole and byte for byte, with nothing of a photo's details
//! and nothing readable left on the desk or the hub.

use std::io::Cursor;
use std::path::Path;

use hirc_e2e::{EXAMPLE_REPORT, Fault, FaultProxy, TestDesk, contains, files_under, hub_admin};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Hub, desk_with_reports, sync};

/// A JPEG `w`×`h` carrying EXIF (an image description and a GPS block), XMP
/// and a comment, each holding `canary`.
fn photo_with_details(w: u32, h: u32, canary: &str) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 90]));
    let mut plain = Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::Jpeg)
        .expect("encode");
    let plain = plain.into_inner();
    let segment = |marker: u8, body: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend(((body.len() + 2) as u16).to_be_bytes());
        s.extend(body);
        s
    };
    // Little-endian TIFF: IFD0 with a description and a GPS pointer.
    let description = format!("{canary}-exif");
    let gps = format!("{canary}-gps");
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend(kind.to_le_bytes());
        e.extend(count.to_le_bytes());
        e.extend(value.to_le_bytes());
        e
    };
    let desc_at = 8 + 2 + 2 * 12 + 4;
    let gps_ifd_at = desc_at + description.len() as u32 + 1;
    let gps_text_at = gps_ifd_at + 2 + 12 + 4;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(entry(0x010E, 2, description.len() as u32 + 1, desc_at));
    tiff.extend(entry(0x8825, 4, 1, gps_ifd_at));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(description.as_bytes());
    tiff.push(0);
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(entry(0x001C, 7, gps.len() as u32, gps_text_at));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(gps.as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend(format!("<x:xmpmeta xmlns:x='adobe:ns:meta/'>{canary}-xmp</x:xmpmeta>").as_bytes());
    let mut out = plain[..2].to_vec();
    out.extend(segment(0xE1, &app1));
    out.extend(segment(0xE1, &xmp));
    out.extend(segment(0xFE, format!("{canary}-comment").as_bytes()));
    out.extend(&plain[2..]);
    out
}

/// A draft with the example report, its id.
fn draft(desk: &mut TestDesk) -> String {
    let file = desk.path().join("report.json");
    std::fs::write(&file, EXAMPLE_REPORT).expect("write");
    let id = desk
        .as_coordinator(&["report", "new", "--from", &file.to_string_lossy()], "")
        .ok()
        .last_line();
    std::fs::remove_file(&file).expect("remove input");
    id
}

/// The partnership's export of attachments into `dir`.
fn export_attachments(hub: &Hub, dir: &Path) -> hirc_e2e::Run {
    hub_admin(&[
        "export",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--identity",
        &hub.identity.to_string_lossy(),
        "--attachments-dir",
        &dir.to_string_lossy(),
        "--out",
        &dir.with_extension("jsonl").to_string_lossy(),
    ])
}

/// The export's folder for the report with `reference` (named by its
/// reference and its id).
fn report_folder(dir: &Path, reference: &str) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .expect("attachments")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{reference}_")))
        })
        .collect();
    assert_eq!(found.len(), 1, "one folder for {reference}: {found:?}");
    found[0].clone()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

#[test]
fn evidence_reaches_the_partnership_whole_with_nothing_of_the_person_left_behind() {
    const CANARY: &str = "CANARY-evidence-Q7";
    let hub = Hub::start();
    let (mut desk, _) = desk_with_reports(&hub, &hub.url(), 0, "x");
    let id = draft(&mut desk);
    // The person's own files, as they would bring them (the name too tells
    // something about them).
    let outside = tempfile::tempdir().expect("tmp");
    let photo = outside.path().join(format!("{CANARY}-name-of-photo.jpg"));
    std::fs::write(&photo, photo_with_details(120, 80, CANARY)).expect("photo");
    let note = outside.path().join("message.txt");
    let note_text = format!("you are not welcome here {CANARY}-text\n");
    std::fs::write(&note, &note_text).expect("note");
    // A PDF is kept as it came (docs/threat-model.md): its metadata is
    // encrypted like the rest, and reaches only the partnership.
    let letter = outside.path().join("letter.pdf");
    std::fs::write(
        &letter,
        format!("%PDF-1.4\n1 0 obj << /Author ({CANARY}-pdf) >> endobj\n%%EOF\n"),
    )
    .expect("letter");
    let spare = outside.path().join("spare.png");
    let mut png = Cursor::new(Vec::new());
    image::RgbImage::new(4, 4)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    std::fs::write(&spare, png.into_inner()).expect("png");

    let added = desk
        .as_coordinator(
            &[
                "report",
                "attach",
                &id,
                &photo.to_string_lossy(),
                &note.to_string_lossy(),
                &letter.to_string_lossy(),
                "--caption",
                "the wall by the bus stop",
            ],
            "",
        )
        .ok();
    assert!(added.stderr.contains("Added 3 file(s)"), "{}", added.stderr);
    desk.as_coordinator(&["report", "attach", &id, &spare.to_string_lossy()], "")
        .ok();
    desk.as_coordinator(&["report", "detach", &id, "4"], "")
        .ok();
    let listed: Vec<Value> = serde_json::from_str(
        &desk
            .as_coordinator(&["report", "evidence", &id, "--json"], "")
            .ok()
            .stdout,
    )
    .expect("json");
    assert_eq!(
        listed
            .iter()
            .map(|e| e["kind"].as_str().expect("kind"))
            .collect::<Vec<_>>(),
        ["jpeg", "text", "pdf"],
        "the fourth was removed"
    );
    // Not a picture and not text: refused, saying what to do.
    let odd = outside.path().join("clip.bin");
    std::fs::write(&odd, [0u8, 1, 2, 3, 0xFF, 0xFE, 0, 9]).expect("odd");
    let refused = desk
        .as_coordinator(&["report", "attach", &id, &odd.to_string_lossy()], "")
        .expect_code(1);
    assert!(
        refused.stderr.contains("clip.bin was not added"),
        "{}",
        refused.stderr
    );

    let reference = desk
        .as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line();
    assert_eq!(sync(&mut desk), (1, 0, 0));
    let shown: Value = serde_json::from_str(
        &desk
            .as_coordinator(&["report", "evidence", &reference, "--json"], "")
            .ok()
            .stdout,
    )
    .expect("json");
    assert!(
        shown
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["revision"] == 1)
    );

    // Nothing readable of the person at the desk or the hub.
    let canaries = [
        format!("{CANARY}-exif"),
        format!("{CANARY}-gps"),
        format!("{CANARY}-xmp"),
        format!("{CANARY}-comment"),
        format!("{CANARY}-text"),
        format!("{CANARY}-name"),
        format!("{CANARY}-pdf"),
    ];
    for (path, bytes) in desk.files().into_iter().chain(files_under(&hub.data)) {
        for canary in &canaries {
            assert!(!contains(&bytes, canary), "{canary} in {}", path.display());
        }
    }

    // The partnership's export: a folder for the report, each file checked.
    let out = tempfile::tempdir().expect("tmp");
    let dir = out.path().join("attachments");
    let run = export_attachments(&hub, &dir).ok();
    assert!(
        run.stderr
            .contains("Wrote 3 item(s) of evidence for 1 report(s)"),
        "{}",
        run.stderr
    );
    let folder = report_folder(&dir, &reference);
    let exported = std::fs::read(folder.join("r1-1.jpg")).expect("photo exported");
    let picture = image::load_from_memory(&exported).expect("a picture");
    assert_eq!((picture.width(), picture.height()), (120, 80));
    for canary in &canaries {
        assert!(
            !contains(&exported, canary),
            "{canary} in the exported photo"
        );
    }
    assert!(
        contains(
            &std::fs::read(folder.join("r1-3.pdf")).expect("letter exported"),
            &format!("{CANARY}-pdf")
        ),
        "a PDF reaches the partnership as it came"
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("r1-2.txt")).expect("note exported"),
        note_text,
        "text is kept as it came"
    );
    let listing: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(folder.join("evidence.json")).expect("list"))
            .expect("json");
    assert_eq!(listing[0]["caption"], "the wall by the bus stop");
    assert_eq!(listing[1]["kind"], "text");
    #[cfg(unix)]
    for (path, _) in files_under(&dir) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is owner-only", path.display());
    }
    // An export never writes over an earlier one.
    let again = export_attachments(&hub, &dir).expect_code(1);
    assert!(again.stderr.contains("is not empty"), "{}", again.stderr);
}

/// A desk enrolled through a proxy whose first sync is cut `cut` bytes
/// into the evidence, with a submitted report carrying one generated
/// document of `size` bytes: the hub, the proxy, the desk, the document and
/// the report's reference.
fn cut_delivery(cut: usize, size: usize) -> (Hub, FaultProxy, TestDesk, Vec<u8>, String) {
    let hub = Hub::start();
    let upstream: std::net::SocketAddr = hub.listen.parse().expect("addr");
    // The enrolment, then the cut sync, then clean connections.
    let mut faults = vec![Fault::None, Fault::ResetAfter(cut)];
    faults.extend([Fault::None; 20]);
    let proxy = FaultProxy::start(upstream, faults);
    let (mut desk, _) = desk_with_reports(&hub, &proxy.url(), 0, "x");
    let id = draft(&mut desk);
    let outside = tempfile::tempdir().expect("tmp");
    let scan = outside.path().join("scan.pdf");
    let mut document = b"%PDF-1.4\n".to_vec();
    document.extend((0..size - document.len()).map(|_| rand::random::<u8>()));
    std::fs::write(&scan, &document).expect("scan");
    desk.as_coordinator(&["report", "attach", &id, &scan.to_string_lossy()], "")
        .ok();
    let reference = desk
        .as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line();
    (hub, proxy, desk, document, reference)
}

/// The partnership's export holds `document`, byte for byte, as the first
/// file of the report with `reference`.
fn exported_whole(hub: &Hub, reference: &str, document: &[u8]) {
    let out = tempfile::tempdir().expect("tmp");
    let dir = out.path().join("attachments");
    export_attachments(hub, &dir).ok();
    let exported =
        std::fs::read(report_folder(&dir, reference).join("r1-1.pdf")).expect("exported");
    assert_eq!(sha256(&exported), sha256(document), "byte for byte");
}

/// `hirc-hub sweep --idle-days 0` on `hub`'s store: what it printed.
fn sweep_now(hub: &Hub) -> String {
    hub_admin(&[
        "sweep",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--idle-days",
        "0",
    ])
    .ok()
    .stdout
}

#[test]
fn a_large_file_cut_part_way_is_resumed_from_where_the_hub_stands() {
    const MIB: usize = 1024 * 1024;
    let size = 20 * MIB;
    // Cut 9 MiB into the evidence (in its fifth 2 MiB chunk).
    let (hub, proxy, mut desk, document, reference) = cut_delivery(9 * MIB, size);
    let before = proxy.bytes_up();
    let first = sync(&mut desk);
    assert_eq!(first, (0, 1, 0), "the cut pass delivers nothing");
    assert_eq!(sync(&mut desk), (1, 0, 0));
    let sent = proxy.bytes_up() - before;
    eprintln!(
        "{} MiB sent for a {} MiB file cut at 9 MiB",
        sent as f64 / MIB as f64,
        size / MIB
    );
    // What the hub held was not sent again: at most the cut chunk twice
    // (and the encryption's few bytes per 64 KiB).
    assert!(sent >= size as u64, "{sent}");
    assert!(
        sent < (size + 5 * MIB) as u64,
        "resumed, not restarted: {sent} bytes sent"
    );
    exported_whole(&hub, &reference, &document);
}

#[test]
fn evidence_the_hub_swept_while_the_desk_was_away_is_sent_again_whole() {
    const MIB: usize = 1024 * 1024;
    // Cut 3 MiB into the evidence: the hub holds its first 2 MiB chunk.
    let (hub, proxy, mut desk, document, reference) = cut_delivery(3 * MIB, 5 * MIB);
    assert_eq!(sync(&mut desk), (0, 1, 0), "the cut pass delivers nothing");
    // The desk stays away; the hub's sweep takes what no report names (in
    // `serve` after 30 idle days, here at once).
    let swept = sweep_now(&hub);
    assert!(
        swept.contains("Swept 1 item of evidence no report names (2.0 MiB)"),
        "{swept}"
    );
    // Back, the desk finds the hub holds none of it and sends it all.
    let before = proxy.bytes_up();
    assert_eq!(sync(&mut desk), (1, 0, 0));
    assert!(proxy.bytes_up() - before >= document.len() as u64);
    exported_whole(&hub, &reference, &document);
    // Named by the stored report now: never swept.
    assert!(sweep_now(&hub).contains("Nothing to sweep"));
}
