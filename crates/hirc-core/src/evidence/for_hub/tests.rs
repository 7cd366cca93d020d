//! Copies for the hub: made from the desk's copy for the partnership,
//! named by the manifest, never piling up, gone once the hub holds them.

use std::io::{Cursor, Read};

use image::ImageFormat;
use uuid::Uuid;

use crate::desk::Desk;
use crate::error::Error;
use crate::evidence::tests::{desk_files, draft, give_ciphertext_of, picture};
use crate::testing::TestHub;

#[test]
fn evidence_goes_to_the_hub_as_copies_for_the_partnership_named_in_the_manifest() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    let photo = picture(8, 8, ImageFormat::Png);
    let mut letter = b"%PDF-1.4\n".to_vec();
    letter.extend((0..1_500_000u32).map(|n| (n % 251) as u8));
    let items = [
        desk.add_evidence(&s, id, Cursor::new(photo), Some("the wall"))
            .expect("photo"),
        desk.add_evidence(&s, id, Cursor::new(letter.clone()), None)
            .expect("letter"),
    ];
    desk.submit(&s, id).expect("sealed");
    let due = desk.due_uploads(chrono::Utc::now(), true).expect("due");
    assert_eq!(due.len(), 1);
    let manifest = &due[0].evidence;
    assert_eq!(manifest.len(), 2, "both items, in order");
    // Each copy is what the manifest says, opens with the partnership's key
    // (not the desk's), names its item, report and revision, and holds the
    // item's content.
    for (item, named) in items.iter().zip(manifest) {
        let copy = desk
            .evidence_chunk_for_hub(named.id, 0, usize::MAX)
            .expect("copy");
        assert_eq!(copy.len() as u64, named.length);
        assert_eq!(hirc_proto::content_digest(&copy), named.digest);
        let middle = desk
            .evidence_chunk_for_hub(named.id, named.length / 2, 10)
            .expect("from an offset");
        let at = (named.length / 2) as usize;
        assert_eq!(middle, copy[at..at + 10], "read from where the hub stands");
        let plain = age::decrypt(&hub.partnership, &copy).expect("the partnership's");
        let header = hirc_proto::evidence_copy_header(named.id, item.id, id, 1, item.kind.as_str());
        assert!(plain.starts_with(header.as_bytes()));
        let mut kept = Vec::new();
        desk.open_evidence(&s, item.id)
            .expect("open")
            .read_to_end(&mut kept)
            .expect("read");
        assert_eq!(&plain[header.len()..], &kept[..]);
    }
    // The payload lists them for the partnership, with the caption.
    let payload: serde_json::Value =
        serde_json::from_slice(&age::decrypt(&hub.partnership, &due[0].payload).expect("payload"))
            .expect("json");
    assert_eq!(payload["evidence"][0]["caption"], "the wall");
    assert_eq!(payload["evidence"][1]["id"], manifest[1].id.to_string());
    // A receipt that does not say the hub holds the evidence is no delivery.
    let bare = hub.receipt(id, 1, &due[0].payload);
    assert!(matches!(
        desk.record_delivery(id, 1, &bare),
        Err(Error::ReceiptRefused(_))
    ));
    let held = |desk: &Desk| -> i64 {
        desk.db()
            .query_row("SELECT count(*) FROM evidence_outbox_pieces", [], |r| {
                r.get(0)
            })
            .expect("count")
    };
    assert!(held(&desk) > 0);
    assert_eq!(hub.deliver_all(&mut desk), 1);
    assert_eq!(
        held(&desk),
        0,
        "the copies for the hub go once it holds them"
    );
    // Their pages were left unzeroed (ciphertext to the partnership); every
    // other deletion still zeroes its pages.
    let zeroing: i64 = desk
        .db()
        .pragma_query_value(None, "secure_delete", |r| r.get(0))
        .expect("pragma");
    assert_eq!(zeroing, 1);
}

/// The copies for the hub the desk holds, by id.
fn copies_held(desk: &Desk) -> Vec<Uuid> {
    let mut stmt = desk
        .db()
        .prepare("SELECT id FROM evidence_outbox ORDER BY id")
        .expect("query");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|r| Uuid::parse_str(&r.expect("row")).expect("id"))
        .collect()
}

#[test]
fn a_sealing_that_failed_or_raced_leaves_no_copy_behind_and_the_next_one_lands() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let hub = TestHub::new();
    hub.enrol(&mut desk, &s);
    desk.add_evidence(&s, id, Cursor::new(b"first letter".to_vec()), None)
        .expect("a");
    desk.add_evidence(&s, id, Cursor::new(b"second letter".to_vec()), None)
        .expect("b");
    let keys: Vec<age::x25519::Recipient> = hub
        .recipients()
        .iter()
        .map(|r| r.parse().expect("key"))
        .collect();
    // Two tries whose sealing transaction never landed (a conflict, the
    // app killed, the disk full), or another process sealing the same
    // draft at once, left their copies.
    for _ in 0..2 {
        desk.copies_for_hub(&s, &keys, id, 0, id, 1)
            .expect("copies");
    }
    assert_eq!(copies_held(&desk).len(), 4);
    // The next sealing lands, and keeps only the copies it names.
    desk.submit(&s, id).expect("sealed after failed tries");
    let due = desk.due_uploads(chrono::Utc::now(), true).expect("due");
    let mut named: Vec<Uuid> = due[0].evidence.iter().map(|i| i.id).collect();
    named.sort_unstable();
    assert_eq!(copies_held(&desk), named);
    assert_eq!(hub.deliver_all(&mut desk), 1);
    assert!(copies_held(&desk).is_empty());
}

#[test]
fn evidence_that_will_not_open_sets_its_report_aside_and_leaves_no_copies_at_each_unlock() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let a = desk
        .add_evidence(&s, id, Cursor::new(b"first letter".to_vec()), None)
        .expect("a");
    let b = desk
        .add_evidence(&s, id, Cursor::new(b"second letter".to_vec()), None)
        .expect("b");
    // Sealed before the desk enrolled: its copies are made at enrolment.
    desk.submit(&s, id).expect("sealed");
    // The second item's ciphertext is damaged (here, another item's).
    give_ciphertext_of(&desk, a.id, b.id);
    let hub = TestHub::new();
    assert_eq!(hub.enrol(&mut desk, &s), 0, "nothing prepared");
    // A coordinator sees it aside, and why; the first item's copy went.
    let aside = desk.set_aside_reports(&s).expect("aside");
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].id, id);
    assert!(copies_held(&desk).is_empty());
    // Each unlock after (it prepares what waits) adds nothing.
    for _ in 0..3 {
        assert_eq!(desk.prepare_uploads(&s).expect("prepare"), 0);
    }
    assert!(copies_held(&desk).is_empty());
    // Trying it again says it is still damaged, and it stays aside.
    let again = desk.retry_set_aside(&s, id).expect_err("still damaged");
    assert!(again.to_string().contains("set aside again"), "{again}");
    assert_eq!(desk.set_aside_count().expect("count"), 1);
    assert!(copies_held(&desk).is_empty());
}

#[test]
fn replaced_keys_leave_only_the_copies_for_the_new_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = draft(dir.path());
    let old = TestHub::new();
    old.enrol(&mut desk, &s);
    desk.add_evidence(&s, id, Cursor::new(b"a letter".to_vec()), None)
        .expect("a");
    desk.submit(&s, id).expect("sealed");
    let first = copies_held(&desk);
    assert_eq!(first.len(), 1);
    let leaked = desk
        .evidence_chunk_for_hub(first[0], 0, usize::MAX)
        .expect("copy");
    // The partnership's key leaked: the desk is enrolled again, with new
    // keys, and the revision is encrypted again.
    let new = TestHub {
        device_id: old.device_id,
        ..TestHub::new()
    };
    assert_eq!(new.enrol_result(&mut desk, &s, true).expect("enrolled"), 1);
    let due = desk.due_uploads(chrono::Utc::now(), true).expect("due");
    let now = copies_held(&desk);
    assert_eq!(now, vec![due[0].evidence[0].id]);
    assert_ne!(now, first, "the copy for the leaked key is gone");
    let copy = desk
        .evidence_chunk_for_hub(now[0], 0, usize::MAX)
        .expect("copy");
    assert!(age::decrypt(&new.partnership, &copy).is_ok());
    assert!(age::decrypt(&old.partnership, &copy).is_err());
    // Never delivered, and to a key that leaked: its pages were zeroed, so
    // no file of the desk holds it once the log is written back.
    desk.db()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    let tail = &leaked[leaked.len() - 48..];
    for (path, bytes) in desk_files(dir.path()) {
        assert!(
            !bytes.windows(tail.len()).any(|w| w == tail),
            "{} holds the copy for the leaked key",
            path.display()
        );
    }
}
