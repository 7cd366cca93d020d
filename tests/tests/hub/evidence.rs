//! Evidence at the hub over real HTTP, on every back end: chunks taken from
//! where the held bytes end, an item whole only when its digest checks, a
//! revision stored only once it holds every item it names, and what a desk
//! may send bounded.

use std::io::{Read, Write};

use hirc_e2e::Backend;
use hirc_proto::{
    DIGEST_HEADER, EVIDENCE_DIGEST_HEADER, EVIDENCE_HEADER, ErrorKind, EvidenceItem, EvidenceState,
    Receipt, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, content_digest, evidence_header,
    evidence_manifest_digest, evidence_path,
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{Hub, error_kind, sealed};

/// Sends `chunk` of the item (`whole`) from `offset`.
fn put_chunk(
    hub: &Hub,
    token: &str,
    report: Uuid,
    item: &EvidenceItem,
    offset: u64,
    chunk: &[u8],
) -> reqwest::blocking::Response {
    hub.http
        .put(format!(
            "{}{}",
            hub.process.url,
            evidence_path(report, item.id)
        ))
        .bearer_auth(token)
        .header(DIGEST_HEADER, content_digest(chunk))
        .header(UPLOAD_OFFSET_HEADER, offset)
        .header(UPLOAD_LENGTH_HEADER, item.length)
        .header(EVIDENCE_DIGEST_HEADER, &item.digest)
        .body(chunk.to_vec())
        .send()
        .expect("chunk")
}

fn held(hub: &Hub, token: &str, report: Uuid, item: Uuid) -> EvidenceState {
    let response = hub
        .http
        .get(format!(
            "{}{}",
            hub.process.url,
            evidence_path(report, item)
        ))
        .bearer_auth(token)
        .send()
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().expect("state")
}

fn item_of(bytes: &[u8]) -> EvidenceItem {
    EvidenceItem {
        id: Uuid::now_v7(),
        length: bytes.len() as u64,
        digest: content_digest(bytes),
    }
}

pub(crate) fn evidence_is_held_whole_before_its_revision_on(backend: Backend) {
    let hub = Hub::start(backend, &["--evidence-mib-per-day", "1"]);
    let (_, token) = hub.device();
    let (_, other) = hub.device();
    let report = Uuid::now_v7();
    let recipient: age::x25519::Recipient = hub.recipient.parse().expect("recipient");
    let photo = age::encrypt(&recipient, &vec![7u8; 300_000]).expect("encrypt");
    let item = item_of(&photo);

    // Nothing held; a chunk that does not start where the held bytes end
    // is not stored, and the answer says where to go on from.
    assert_eq!(held(&hub, &token, report, item.id).received, 0);
    let late = put_chunk(&hub, &token, report, &item, 1000, &photo[1000..2000]);
    assert_eq!(late.status(), StatusCode::OK);
    assert_eq!(late.json::<EvidenceState>().expect("state").received, 0);
    // A chunk damaged on the way, or not an age file, is refused.
    let damaged = hub
        .http
        .put(format!(
            "{}{}",
            hub.process.url,
            evidence_path(report, item.id)
        ))
        .bearer_auth(&token)
        .header(DIGEST_HEADER, content_digest(b"something else"))
        .header(UPLOAD_OFFSET_HEADER, 0)
        .header(UPLOAD_LENGTH_HEADER, item.length)
        .header(EVIDENCE_DIGEST_HEADER, &item.digest)
        .body(photo[..1000].to_vec())
        .send()
        .expect("put");
    assert_eq!(damaged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let plain = item_of(b"a plain file, not encrypted");
    assert_eq!(
        put_chunk(
            &hub,
            &token,
            report,
            &plain,
            0,
            b"a plain file, not encrypted"
        )
        .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The revision naming it is refused until it is whole.
    let body = sealed(&hub.recipient, report, 1, "with a photo");
    let revision = |manifest: &[EvidenceItem]| {
        hub.http
            .put(format!(
                "{}{}",
                hub.process.url,
                hirc_proto::report_path(report, 1)
            ))
            .bearer_auth(&token)
            .header(DIGEST_HEADER, content_digest(&body))
            .header(EVIDENCE_HEADER, evidence_header(manifest))
            .body(body.clone())
            .send()
            .expect("revision")
    };
    let early = revision(std::slice::from_ref(&item));
    assert_eq!(early.status(), StatusCode::CONFLICT);
    assert_eq!(error_kind(early), ErrorKind::EvidenceIncomplete);

    // Sent in two chunks; the first sent twice is stored once.
    let half = photo.len() / 2;
    for _ in 0..2 {
        let first = put_chunk(&hub, &token, report, &item, 0, &photo[..half]);
        assert_eq!(
            first.json::<EvidenceState>().expect("state").received,
            half as u64
        );
    }
    // Another desk's item of the same id is its own: it holds nothing.
    assert_eq!(held(&hub, &other, report, item.id).received, 0);
    let rest = put_chunk(&hub, &token, report, &item, half as u64, &photo[half..]);
    let state: EvidenceState = rest.json().expect("state");
    assert!(state.complete, "{state:?}");

    // Now the revision is stored, and its receipt names the manifest.
    let stored = revision(std::slice::from_ref(&item));
    assert_eq!(stored.status(), StatusCode::CREATED);
    let receipt: Receipt = stored.json().expect("receipt");
    assert_eq!(
        receipt.evidence,
        Some(evidence_manifest_digest(std::slice::from_ref(&item)))
    );
    // A desk reset half way through an item never names it: the sweep
    // (hourly in `serve`, after 30 idle days; here by hand, at once) takes
    // it and nothing a report names, and the desk, if it comes back, sends
    // it again from the start.
    let abandoned = age::encrypt(&recipient, &vec![3u8; 200_000]).expect("encrypt");
    let gone = item_of(&abandoned);
    let orphan = Uuid::now_v7();
    put_chunk(&hub, &token, orphan, &gone, 0, &abandoned[..100_000]);
    let month = hub.admin(&["sweep"]).ok();
    assert!(
        month.stdout.contains("Nothing to sweep"),
        "{}",
        month.stdout
    );
    let now = hub.admin(&["sweep", "--idle-days", "0"]).ok();
    assert!(
        now.stdout
            .contains("Swept 1 item of evidence no report names (0.1 MiB)"),
        "{}",
        now.stdout
    );
    assert_eq!(held(&hub, &token, orphan, gone.id).received, 0);
    assert!(held(&hub, &token, report, item.id).complete, "named: kept");
    let again = put_chunk(&hub, &token, orphan, &gone, 100_000, &abandoned[100_000..]);
    assert_eq!(again.json::<EvidenceState>().expect("state").received, 0);
    assert!(
        hub.admin(&["sweep", "--idle-days", "0"])
            .ok()
            .stdout
            .contains("Nothing to sweep")
    );

    // A manifest that does not read is refused.
    let odd = hub
        .http
        .put(format!(
            "{}{}",
            hub.process.url,
            hirc_proto::report_path(report, 2)
        ))
        .bearer_auth(&token)
        .header(DIGEST_HEADER, content_digest(&body))
        .header(EVIDENCE_HEADER, "not a manifest")
        .body(body.clone())
        .send()
        .expect("revision");
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);

    // An item whose bytes do not match its digest is discarded whole.
    let liar = EvidenceItem {
        digest: content_digest(b"other"),
        ..item_of(&photo)
    };
    assert_eq!(
        put_chunk(&hub, &token, report, &liar, 0, &photo).status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(held(&hub, &token, report, liar.id).received, 0);

    // A chunk over the limit is refused before it is read: the answer
    // comes to the headers alone, not one byte of the body sent. (Sent
    // whole, the body races the answer: the hub may close before the
    // client has written it all.)
    let big = vec![0u8; hirc_proto::MAX_EVIDENCE_CHUNK + 1];
    let over = item_of(&big);
    let addr = hub.process.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    write!(
        stream,
        "PUT {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n{DIGEST_HEADER}: {}\r\n{UPLOAD_OFFSET_HEADER}: 0\r\n{UPLOAD_LENGTH_HEADER}: {}\r\n{EVIDENCE_DIGEST_HEADER}: {}\r\nContent-Length: {}\r\n\r\n",
        evidence_path(report, over.id),
        content_digest(&big),
        over.length,
        over.digest,
        big.len()
    )
    .expect("headers");
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).expect("an answer");
    assert_eq!(
        &answer,
        b"HTTP/1.1 413",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // One desk holds at most 8 places at once: of ten chunks whose bodies
    // never come, eight hold theirs and two are told at once to come back
    // in a moment (read from their own sockets, whichever order the hub
    // took them in), and another desk is not held back.
    let tiny = |what: &[u8]| {
        let bytes = age::encrypt(&recipient, what).expect("encrypt");
        (item_of(&bytes), bytes)
    };
    let mut slow: Vec<std::net::TcpStream> = (0..10)
        .map(|_| {
            let (item, bytes) = tiny(b"slow");
            let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
            write!(
                stream,
                "PUT {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n{DIGEST_HEADER}: {}\r\n{UPLOAD_OFFSET_HEADER}: 0\r\n{UPLOAD_LENGTH_HEADER}: {}\r\n{EVIDENCE_DIGEST_HEADER}: {}\r\nContent-Length: {}\r\n\r\n",
                evidence_path(report, item.id),
                content_digest(&bytes),
                item.length,
                item.digest,
                bytes.len()
            )
            .expect("headers");
            stream
                .set_read_timeout(Some(std::time::Duration::from_millis(100)))
                .expect("timeout");
            stream
        })
        .collect();
    // Waited for as observed: polled until two have their answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut answers: Vec<Option<String>> = vec![None; slow.len()];
    while answers.iter().flatten().count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no answer came: {answers:?}"
        );
        for (stream, answer) in slow.iter_mut().zip(answers.iter_mut()) {
            let mut buf = [0u8; 1024];
            if answer.is_none()
                && let Ok(n) = stream.read(&mut buf)
                && n > 0
            {
                *answer = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    }
    let told: Vec<&String> = answers.iter().flatten().collect();
    assert_eq!(told.len(), 2, "{answers:?}");
    for answer in told {
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("retry-after: 5"),
            "{answer}"
        );
    }
    // The eight hold theirs still: one more from the desk is told the same,
    // while another desk is not held back.
    let (item, bytes) = tiny(b"one more");
    assert_eq!(
        put_chunk(&hub, &token, report, &item, 0, &bytes).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (theirs, bytes) = tiny(b"another desk");
    assert_eq!(
        put_chunk(&hub, &other, Uuid::now_v7(), &theirs, 0, &bytes).status(),
        StatusCode::OK
    );
    // Gone, they give their places back (polled a few times a second,
    // within the desk's rate, until the hub has seen them go).
    drop(slow);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (item, bytes) = tiny(b"again");
        let status = put_chunk(&hub, &token, report, &item, 0, &bytes).status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            std::time::Instant::now() < deadline,
            "the places never came back"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // A desk sends at most a day's amount (1 MiB here; 300 KB held so far).
    let mut refused = None;
    for _ in 0..4 {
        let next = age::encrypt(&recipient, &vec![9u8; 300_000]).expect("encrypt");
        let response = put_chunk(&hub, &token, report, &item_of(&next), 0, &next);
        if response.status() != StatusCode::OK {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the day's amount runs out");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().get("retry-after").is_some());
    // Another desk's day is its own.
    let theirs = age::encrypt(&recipient, b"theirs").expect("encrypt");
    assert_eq!(
        put_chunk(&hub, &other, Uuid::now_v7(), &item_of(&theirs), 0, &theirs).status(),
        StatusCode::OK
    );
}

/// A running hub sweeps, by itself, what a desk left half sent a month
/// ago, and keeps what was sent since. The month passes in the store: the
/// item's times are set back, as a clock the test controls.
#[test]
fn a_running_hub_sweeps_evidence_left_idle_for_a_month() {
    let mut hub = Hub::start(Backend::Sqlite, &[]);
    let (_, token) = hub.device();
    let recipient: age::x25519::Recipient = hub.recipient.parse().expect("recipient");
    let scan = age::encrypt(&recipient, &vec![5u8; 100_000]).expect("encrypt");
    let (old, recent) = (item_of(&scan), item_of(&scan));
    let (old_report, recent_report) = (Uuid::now_v7(), Uuid::now_v7());
    for (report, item) in [(old_report, &old), (recent_report, &recent)] {
        let first = put_chunk(&hub, &token, report, item, 0, &scan[..50_000]);
        assert_eq!(first.status(), StatusCode::OK);
    }
    // 31 days pass for the first one.
    let month_ago = (chrono::Utc::now() - chrono::Duration::days(31))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let db = rusqlite::Connection::open(hub.data_path().join("hub.sqlite3")).expect("store");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("timeout");
    db.execute(
        "UPDATE evidence SET started_at = ?1 WHERE id = ?2",
        rusqlite::params![month_ago, old.id.to_string()],
    )
    .expect("set back");
    db.execute(
        "UPDATE evidence_chunks SET received_at = ?1 WHERE id = ?2",
        rusqlite::params![month_ago, old.id.to_string()],
    )
    .expect("set back");
    drop(db);
    // Started again (as after an upgrade or a reboot), the hub sweeps at
    // once; then every hour.
    hub.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while held(&hub, &token, old_report, old.id).received != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the month-old item was never swept"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        held(&hub, &token, recent_report, recent.id).received,
        50_000,
        "sent today: kept"
    );
}
