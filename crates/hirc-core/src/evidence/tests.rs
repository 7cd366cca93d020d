use std::io::{Cursor, Read};

use image::{ImageFormat, RgbImage};

use super::*;
pub(super) use crate::testing::desk_with_draft as draft;
use crate::testing::{TestHub, ambassador, example};

/// Damages `item`'s stored ciphertext: it is given `from`'s.
pub(super) fn give_ciphertext_of(desk: &Desk, from: Uuid, item: Uuid) {
    desk.db()
        .execute(
            "UPDATE evidence_pieces SET bytes = (SELECT bytes FROM evidence_pieces WHERE evidence_id = ?1)
             WHERE evidence_id = ?2",
            params![from.to_string(), item.to_string()],
        )
        .expect("damaged");
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file of the desk's data directory (store, WAL, log), read whole.
pub(super) fn desk_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(desk_files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn read_all(desk: &mut Desk, s: &Session, id: Uuid) -> Vec<u8> {
    let mut out = Vec::new();
    desk.open_evidence(s, id)
        .expect("open")
        .read_to_end(&mut out)
        .expect("read");
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A picture `w`×`h`, left half red, as `format`.
pub(super) fn picture(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([0, 0, 255])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// EXIF (little-endian TIFF): orientation 6 (turn 90° clockwise to show),
/// an image description and a GPS block, each holding a canary.
fn exif(description: &str, gps: &str) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes());
    // IFD0 at 8: three entries, then the next-IFD offset.
    let ifd0_len = 2 + 3 * 12 + 4;
    let desc_at = 8 + ifd0_len;
    let gps_ifd_at = desc_at + description.len() as u32 + 1;
    let gps_len = 2 + 12 + 4;
    let gps_text_at = gps_ifd_at + gps_len;
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend(kind.to_le_bytes());
        e.extend(count.to_le_bytes());
        e.extend(value.to_le_bytes());
        e
    };
    t.extend(3u16.to_le_bytes());
    t.extend(entry(0x010E, 2, description.len() as u32 + 1, desc_at));
    t.extend(entry(0x0112, 3, 1, 6));
    t.extend(entry(0x8825, 4, 1, gps_ifd_at));
    t.extend(0u32.to_le_bytes());
    t.extend(description.as_bytes());
    t.push(0);
    t.extend(1u16.to_le_bytes());
    t.extend(entry(0x001C, 7, gps.len() as u32, gps_text_at));
    t.extend(0u32.to_le_bytes());
    t.extend(gps.as_bytes());
    t
}

/// A JPEG `w`×`h` carrying EXIF (with GPS), XMP and a comment, each with
/// its own canary.
fn photo_with_metadata(w: u32, h: u32) -> Vec<u8> {
    let plain = picture(w, h, ImageFormat::Jpeg);
    let segment = |marker: u8, body: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend(((body.len() + 2) as u16).to_be_bytes());
        s.extend(body);
        s
    };
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(exif("CANARY-exif-description", "CANARY-gps-area"));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>CANARY-xmp-creator</x:xmpmeta>");
    let mut out = plain[..2].to_vec(); // SOI
    out.extend(segment(0xE1, &app1));
    out.extend(segment(0xE1, &xmp));
    out.extend(segment(0xFE, b"CANARY-jpeg-comment"));
    out.extend(&plain[2..]);
    out
}

/// A PNG carrying a text chunk, an international text chunk (XMP) and
/// EXIF, each with its own canary.
fn screenshot_with_metadata() -> Vec<u8> {
    let plain = picture(8, 4, ImageFormat::Png);
    let chunk = |kind: &[u8; 4], body: &[u8]| {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        let mut typed = kind.to_vec();
        typed.extend(body);
        c.extend(&typed);
        c.extend(crc32(&typed).to_be_bytes());
        c
    };
    // After the signature and IHDR (8 + 25 bytes).
    let mut out = plain[..33].to_vec();
    out.extend(chunk(b"tEXt", b"Author\0CANARY-png-author"));
    out.extend(chunk(
        b"iTXt",
        b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>CANARY-png-xmp</x:xmpmeta>",
    ));
    out.extend(chunk(b"eXIf", &exif("CANARY-png-exif", "CANARY-png-gps")));
    out.extend(&plain[33..]);
    out
}

const PHOTO_CANARIES: [&str; 4] = [
    "CANARY-exif-description",
    "CANARY-gps-area",
    "CANARY-xmp-creator",
    "CANARY-jpeg-comment",
];
const PNG_CANARIES: [&str; 4] = [
    "CANARY-png-author",
    "CANARY-png-xmp",
    "CANARY-png-exif",
    "CANARY-png-gps",
];

#[test]
fn a_photo_keeps_its_pixels_upright_and_nothing_of_its_metadata() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let photo = photo_with_metadata(40, 20);
    for canary in PHOTO_CANARIES {
        assert!(contains(&photo, canary), "the test photo carries {canary}");
    }
    // The photo reads as it is, metadata and all.
    image::load_from_memory(&photo).expect("a valid photo");
    let added = desk
        .add_evidence(
            &s,
            id,
            Cursor::new(&photo),
            Some("  The wall by the bus stop "),
        )
        .expect("added");
    assert_eq!(added.kind, Kind::Jpeg);
    assert_eq!(added.caption.as_deref(), Some("The wall by the bus stop"));
    let kept = read_all(&mut desk, &s, added.id);
    assert_eq!(kept.len() as u64, added.size);
    for canary in PHOTO_CANARIES {
        assert!(!contains(&kept, canary), "{canary} kept");
    }
    assert!(!contains(&kept, "Exif"), "no EXIF block at all");
    // Turned as EXIF said: 40×20 shows as 20×40, red at the top.
    let shown = image::load_from_memory_with_format(&kept, ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_rgb8();
    assert_eq!(shown.dimensions(), (20, 40));
    assert!(
        shown.get_pixel(10, 5)[0] > 200,
        "red on top: {:?}",
        shown.get_pixel(10, 5)
    );
    assert_eq!(desk.evidence(&s, id).expect("list"), vec![added]);
    // Nothing readable in the desk's files: not the photo's metadata, not
    // the caption.
    drop(desk);
    for (path, bytes) in desk_files(dir.path()) {
        for canary in PHOTO_CANARIES.iter().chain(&["bus stop"]) {
            assert!(!contains(&bytes, canary), "{canary} in {}", path.display());
        }
    }
}

#[test]
fn a_screenshot_keeps_its_pixels_and_nothing_of_its_text_chunks_and_a_webp_becomes_a_png() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let shot = screenshot_with_metadata();
    image::load_from_memory(&shot).expect("a valid PNG");
    let added = desk
        .add_evidence(&s, id, Cursor::new(&shot), None)
        .expect("added");
    assert_eq!(added.kind, Kind::Png);
    let kept = read_all(&mut desk, &s, added.id);
    for canary in PNG_CANARIES {
        assert!(!contains(&kept, canary), "{canary} kept");
    }
    for chunk in ["tEXt", "iTXt", "zTXt", "eXIf"] {
        assert!(!contains(&kept, chunk), "a {chunk} chunk kept");
    }
    // Without loss, and turned as its EXIF said (a quarter turn).
    let before = image::load_from_memory(&shot).expect("png").to_rgb8();
    let after = image::load_from_memory(&kept).expect("png").to_rgb8();
    assert_eq!(
        image::imageops::rotate90(&before),
        after,
        "a screenshot is kept without loss, upright"
    );

    let webp = picture(6, 6, ImageFormat::WebP);
    let added = desk
        .add_evidence(&s, id, Cursor::new(&webp), None)
        .expect("webp");
    assert_eq!(added.kind, Kind::Png);
    let kept = read_all(&mut desk, &s, added.id);
    assert_eq!(
        image::guess_format(&kept).expect("format"),
        ImageFormat::Png
    );
}

#[test]
fn what_a_file_is_is_decided_by_its_bytes_and_refusals_say_what_to_do() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let refused = |desk: &mut Desk, bytes: &[u8]| {
        desk.add_evidence(&s, id, Cursor::new(bytes.to_vec()), None)
            .expect_err("refused")
            .to_string()
    };
    assert!(refused(&mut desk, b"").contains("empty"));
    assert!(refused(&mut desk, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0").contains("not accepted"));
    assert!(refused(&mut desk, b"PK\x03\x04zip file here").contains("not accepted"));
    assert!(refused(&mut desk, b"\0\0\0\x18ftypheic\0\0\0\0").contains("as JPEG"));
    assert!(refused(&mut desk, b"\0\0\0\x18ftypmp42\0\0\0\0").contains("videos"));
    // Text with a NUL after the first bytes: not text, and nothing kept.
    let mut fake = b"Dear neighbour, ".repeat(10_000);
    fake.extend(b"\0\x01\x02");
    assert!(refused(&mut desk, &fake).contains("not plain text"));
    // A damaged picture.
    let mut cut = picture(50, 50, ImageFormat::Png);
    cut.truncate(60);
    assert!(refused(&mut desk, &cut).contains("damaged"));
    assert!(desk.evidence(&s, id).expect("list").is_empty());
    let pieces: i64 = desk
        .db()
        .query_row("SELECT count(*) FROM evidence_pieces", [], |r| r.get(0))
        .expect("count");
    assert_eq!(pieces, 0);

    // Plain text in Urdu, past several reads, with characters cut at every
    // boundary: kept byte for byte.
    let letter = "ہم تمہیں یہاں نہیں چاہتے\n".repeat(20_000);
    let added = desk
        .add_evidence(&s, id, Cursor::new(letter.clone().into_bytes()), None)
        .expect("text");
    assert_eq!(added.kind, Kind::Text);
    assert_eq!(read_all(&mut desk, &s, added.id), letter.as_bytes());
    // A PDF goes as it came.
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
    let added = desk
        .add_evidence(&s, id, Cursor::new(pdf.clone()), None)
        .expect("pdf");
    assert_eq!(added.kind, Kind::Pdf);
    assert_eq!(read_all(&mut desk, &s, added.id), pdf);
}

/// A PDF whose reading fails after `fail_at` bytes (a USB stick pulled
/// out).
struct Failing {
    sent: usize,
    fail_at: usize,
}

impl Read for Failing {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.sent >= self.fail_at {
            return Err(std::io::Error::other("the stick was pulled out"));
        }
        let n = out.len().min(self.fail_at - self.sent);
        for (i, b) in out[..n].iter_mut().enumerate() {
            *b = b"%PDF-".get(self.sent + i).copied().unwrap_or(b'x');
        }
        self.sent += n;
        Ok(n)
    }
}

#[test]
fn a_large_file_streams_through_in_pieces_and_a_failed_one_leaves_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    // 5 MiB and a bit: more than one read, more than one piece.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..5 * 1024 * 1024 + 123).map(|i| (i * 7 % 251) as u8));
    let added = desk
        .add_evidence(&s, id, Cursor::new(pdf.clone()), None)
        .expect("added");
    assert_eq!(added.size, pdf.len() as u64);
    let pieces: i64 = desk
        .db()
        .query_row(
            "SELECT count(*) FROM evidence_pieces WHERE evidence_id = ?1",
            [added.id.to_string()],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(pieces, 6, "pieces of at most 1 MiB");
    assert!(read_all(&mut desk, &s, added.id) == pdf, "byte for byte");

    // Cut off after 3 MiB: nothing of it is kept, and what was there stays.
    let err = desk
        .add_evidence(
            &s,
            id,
            Failing {
                sent: 0,
                fail_at: 3 * 1024 * 1024,
            },
            None,
        )
        .expect_err("failed");
    assert!(err.to_string().contains("pulled out"), "{err}");
    assert_eq!(desk.evidence(&s, id).expect("list").len(), 1);
    let pieces: i64 = desk
        .db()
        .query_row("SELECT count(*) FROM evidence_pieces", [], |r| r.get(0))
        .expect("count");
    assert_eq!(pieces, 6);
}

#[test]
fn limits_are_kept_and_only_a_coordinator_changes_them() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    assert_eq!(
        desk.evidence_limits().expect("limits"),
        EvidenceLimits::default()
    );
    let aisha = ambassador(&mut desk, &s);
    let small = EvidenceLimits {
        file_mib: 1,
        report_mib: 2,
    };
    assert!(matches!(
        desk.set_evidence_limits(&aisha, small),
        Err(Error::NotPermitted { .. })
    ));
    assert!(
        desk.set_evidence_limits(
            &s,
            EvidenceLimits {
                file_mib: 3,
                report_mib: 2
            }
        )
        .is_err()
    );
    assert!(
        desk.set_evidence_limits(
            &s,
            EvidenceLimits {
                file_mib: 0,
                report_mib: 2
            }
        )
        .is_err()
    );
    desk.set_evidence_limits(&s, small).expect("set");
    let mib = |n: usize| {
        let mut f = b"%PDF-".to_vec();
        f.resize(n * 1024 * 1024 - 100, b'a');
        f
    };
    let mut over = mib(1);
    over.resize(1024 * 1024 + 1, b'a');
    let err = desk
        .add_evidence(&s, id, Cursor::new(over), None)
        .expect_err("too large");
    assert!(err.to_string().contains("largest allowed (1 MiB"), "{err}");
    desk.add_evidence(&s, id, Cursor::new(mib(1)), None)
        .expect("one");
    desk.add_evidence(&s, id, Cursor::new(mib(1)), None)
        .expect("two");
    let err = desk
        .add_evidence(&s, id, Cursor::new(mib(1)), None)
        .expect_err("full");
    assert!(err.to_string().contains("already carries"), "{err}");
    assert_eq!(desk.evidence(&s, id).expect("list").len(), 2);
    let log = desk.audit_log(&s).expect("audit");
    assert_eq!(
        log.iter().filter(|e| e.action == "evidence_added").count(),
        2
    );
}

#[test]
fn evidence_is_bound_to_its_item_and_damage_is_caught() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let a = desk
        .add_evidence(&s, id, Cursor::new(b"first letter".to_vec()), Some("one"))
        .expect("a");
    let b = desk
        .add_evidence(&s, id, Cursor::new(b"second letter".to_vec()), Some("two"))
        .expect("b");
    // Ciphertext moved from one item onto another is not taken for it.
    give_ciphertext_of(&desk, a.id, b.id);
    assert!(matches!(
        desk.open_evidence(&s, b.id),
        Err(Error::Integrity(_))
    ));
    // A caption moved likewise.
    desk.db()
        .execute(
            "UPDATE evidence SET label = (SELECT label FROM evidence WHERE id = ?1) WHERE id = ?2",
            params![a.id.to_string(), b.id.to_string()],
        )
        .expect("moved");
    assert!(matches!(desk.evidence(&s, id), Err(Error::Integrity(_))));
    // A piece missing, at the end or in the middle, fails the read: never
    // a shorter file taken for the whole.
    for missing in [2, 1] {
        let long = desk
            .add_evidence(&s, id, Cursor::new(b"x".repeat(2560 * 1024)), None)
            .expect("long");
        desk.db()
            .execute(
                "DELETE FROM evidence_pieces WHERE evidence_id = ?1 AND seq = ?2",
                params![long.id.to_string(), missing],
            )
            .expect("cut");
        let mut out = Vec::new();
        let read = desk
            .open_evidence(&s, long.id)
            .and_then(|mut r| r.read_to_end(&mut out).map_err(|e| Error::io("reading", e)));
        assert!(
            read.is_err(),
            "piece {missing} gone, yet {} bytes read",
            out.len()
        );
    }
    // The kind changed in the clear row: caught by the header.
    let text = desk
        .add_evidence(&s, id, Cursor::new(b"a letter".to_vec()), None)
        .expect("text");
    desk.db()
        .execute(
            "UPDATE evidence SET kind = 'pdf' WHERE id = ?1",
            [text.id.to_string()],
        )
        .expect("relabel");
    assert!(matches!(
        desk.open_evidence(&s, text.id),
        Err(Error::Integrity(_))
    ));
    // No such report: said.
    let none = desk
        .add_evidence(&s, Uuid::nil(), Cursor::new(b"x".to_vec()), None)
        .expect_err("no such report");
    assert!(matches!(none, Error::UnknownReport(_)), "{none}");
}

#[test]
fn evidence_follows_the_report_and_goes_with_its_personal_data() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let photo = picture(8, 8, ImageFormat::Png);
    let first = desk
        .add_evidence(&s, id, Cursor::new(photo.clone()), None)
        .expect("added");
    // An ambassador may not open another's report's evidence.
    let aisha = ambassador(&mut desk, &s);
    assert!(matches!(
        desk.open_evidence(&aisha, first.id),
        Err(Error::NotPermitted { .. })
    ));
    let reference = desk.submit(&s, id).expect("sealed").to_string();
    // Opening a submitted report's evidence is audited; a draft's is not.
    let opened = |desk: &Desk| {
        desk.audit_log(&s)
            .expect("audit")
            .iter()
            .filter(|e| e.action == "evidence_opened")
            .count()
    };
    assert_eq!(opened(&desk), 0);
    read_all(&mut desk, &s, first.id);
    assert_eq!(opened(&desk), 1);
    let sealed = desk.evidence(&s, id).expect("list");
    assert_eq!(sealed[0].revision, 1, "it went with revision 1");
    let err = desk.remove_evidence(&s, first.id).expect_err("sealed");
    assert!(err.to_string().contains("stays with it"), "{err}");
    assert!(matches!(
        desk.add_evidence(&s, id, Cursor::new(photo.clone()), None),
        Err(Error::WrongState { .. })
    ));

    // A follow-up's own evidence goes with revision 2, on the report.
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    hub.deliver_all(&mut desk);
    let follow = desk.follow_up(&s, &reference, None).expect("follow-up");
    let second = desk
        .add_evidence(&s, follow, Cursor::new(photo.clone()), None)
        .expect("added");
    let removed = desk
        .add_evidence(&s, follow, Cursor::new(photo.clone()), None)
        .expect("added");
    desk.remove_evidence(&s, removed.id).expect("removed");
    desk.patch_draft(&s, follow, &serde_json::json!({"what_changed": "A photo."}))
        .expect("patch");
    desk.submit(&s, follow).expect("sealed");
    let all: Vec<(Uuid, u32)> = desk
        .evidence(&s, id)
        .expect("list")
        .iter()
        .map(|e| (e.id, e.revision))
        .collect();
    assert_eq!(all, [(first.id, 1), (second.id, 2)]);

    // A draft deleted takes its evidence with it.
    let other = desk.create_draft(&s, &example()).expect("draft");
    desk.add_evidence(&s, other, Cursor::new(photo.clone()), None)
        .expect("added");
    desk.delete_draft(&s, other).expect("deleted");

    // Delivered and past its retention: the evidence goes with the rest.
    hub.deliver_all(&mut desk);
    desk.set_retention_days(&s, 0).expect("retention");
    desk.purge_expired(Utc::now() + chrono::Duration::days(1))
        .expect("purged");
    let left: i64 = desk
        .db()
        .query_row(
            "SELECT (SELECT count(*) FROM evidence) + (SELECT count(*) FROM evidence_pieces)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "no evidence outlives the personal data");
}

#[test]
fn an_erased_report_takes_its_evidence_with_it() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    desk.add_evidence(&s, id, Cursor::new(b"an erased letter".to_vec()), None)
        .expect("added");
    let reference = desk.submit(&s, id).expect("sealed").to_string();
    desk.erase_report(&s, &reference).expect("erased");
    let left: i64 = desk
        .db()
        .query_row(
            "SELECT (SELECT count(*) FROM evidence) + (SELECT count(*) FROM evidence_pieces)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
}

/// A PNG whose header declares `w`×`h` pixels of 16-bit RGBA (8 bytes
/// each) and whose data is next to nothing: a few hundred bytes that would
/// ask for gigabytes when decoded.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let chunk = |kind: &[u8; 4], body: &[u8]| {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        let mut typed = kind.to_vec();
        typed.extend(body);
        c.extend(&typed);
        c.extend(crc32(&typed).to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([16, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    // zlib: one empty stored block, and the checksum of nothing.
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0, 0, 0, 1],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

#[test]
fn a_small_picture_that_would_decode_to_gigabytes_is_refused_before_decoding() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    // 10,000 × 10,000 at 8 bytes a pixel: 800 MB, within the sides' limit.
    let bomb = png_bomb(10_000, 10_000);
    assert!(bomb.len() < 200);
    let err = desk
        .add_evidence(&s, id, Cursor::new(bomb), None)
        .expect_err("refused");
    assert!(err.to_string().contains("too large to take"), "{err}");
    // Wider than any camera: refused by its sides.
    let err = desk
        .add_evidence(&s, id, Cursor::new(png_bomb(30_000, 10)), None)
        .expect_err("refused");
    assert!(err.to_string().contains("too large to take"), "{err}");
    assert!(desk.evidence(&s, id).expect("list").is_empty());
}

#[test]
fn a_follow_up_s_evidence_counts_with_the_report_s() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    desk.set_evidence_limits(
        &s,
        EvidenceLimits {
            file_mib: 1,
            report_mib: 2,
        },
    )
    .expect("limits");
    let nearly_mib = || {
        let mut f = b"%PDF-".to_vec();
        f.resize(1024 * 1024 - 100, b'a');
        Cursor::new(f)
    };
    desk.add_evidence(&s, id, nearly_mib(), None).expect("one");
    let reference = desk.submit(&s, id).expect("sealed").to_string();
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    hub.deliver_all(&mut desk);
    let follow = desk.follow_up(&s, &reference, None).expect("follow-up");
    desk.add_evidence(&s, follow, nearly_mib(), None)
        .expect("two, with the report's");
    let err = desk
        .add_evidence(&s, follow, nearly_mib(), None)
        .expect_err("the report is full");
    assert!(err.to_string().contains("already carries"), "{err}");
}

#[test]
fn a_picture_has_a_small_thumbnail_and_a_document_none() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let photo = desk
        .add_evidence(
            &s,
            id,
            Cursor::new(picture(400, 100, ImageFormat::Jpeg)),
            None,
        )
        .expect("photo");
    let letter = desk
        .add_evidence(&s, id, Cursor::new(b"%PDF-1.4\n%%EOF\n".to_vec()), None)
        .expect("letter");
    let thumb = desk
        .evidence_thumbnail(&s, photo.id, 80)
        .expect("thumbnail")
        .expect("a picture has one");
    let small = image::load_from_memory(&thumb).expect("png");
    assert_eq!((small.width(), small.height()), (80, 20), "its shape kept");
    assert_eq!(
        desk.evidence_thumbnail(&s, letter.id, 80).expect("none"),
        None
    );
    let aisha = ambassador(&mut desk, &s);
    assert!(matches!(
        desk.evidence_thumbnail(&aisha, photo.id, 80),
        Err(Error::NotPermitted { .. })
    ));
}

#[test]
fn a_draft_takes_at_most_fifty_files_so_the_hub_is_told_them_in_one_header() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    for n in 0..MOST_ITEMS {
        desk.add_evidence(&s, id, Cursor::new(format!("note {n}").into_bytes()), None)
            .expect("added");
    }
    let err = desk
        .add_evidence(&s, id, Cursor::new(b"one more".to_vec()), None)
        .expect_err("too many");
    assert!(err.to_string().contains("at most 50 files"), "{err}");
    assert_eq!(desk.evidence(&s, id).expect("list").len(), MOST_ITEMS);
    // Sealed with all fifty, the manifest reads back.
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    desk.submit(&s, id).expect("sealed");
    let due = desk.due_uploads(chrono::Utc::now(), true).expect("due");
    assert_eq!(due[0].evidence.len(), MOST_ITEMS);
    assert!(hirc_proto::evidence_header(&due[0].evidence).len() < 8 * 1024);
}
