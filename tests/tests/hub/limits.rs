//! The hub's limits under abuse: oversized bodies, rate limits, slow or
//! unfinished headers, floods of idle connections, and JSON errors that echo
//! nothing.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use hirc_e2e::{Backend, HubProcess, hub_admin};
use hirc_proto::{ErrorBody, ErrorKind, content_digest, report_path};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use uuid::Uuid;

use crate::{Hub, error_kind, sealed};

pub(crate) fn oversized_bodies_get_413_without_the_hub_holding_them_on(backend: Backend) {
    let hub = Hub::start(backend, &["--max-body-bytes", "65536"]);
    let (_, token) = hub.device();
    let big = vec![b'x'; 200_000];
    let r = hub.upload(&token, Uuid::now_v7(), 1, &big);
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_kind(r), ErrorKind::TooLarge);

    // A client announcing 2 GB and sending 8 MB: refused early, memory flat.
    let rss = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    };
    let before = rss(hub.process.pid());
    let addr = hub.process.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let path = report_path(Uuid::now_v7(), 1);
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Digest: {}\r\nContent-Length: 2147483648\r\n\r\n",
        content_digest(b"")
    )
    .expect("headers");
    let chunk = vec![b'y'; 64 * 1024];
    for _ in 0..128 {
        if stream.write_all(&chunk).is_err() {
            break; // the hub stopped reading: good
        }
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.200}");
    let after = rss(hub.process.pid());
    assert!(
        after < before + 32 * 1024,
        "the hub grew from {before} kB to {after} kB"
    );
    // And it is still up.
    assert_eq!(
        hub.http
            .get(format!("{}/v1/health", hub.process.url))
            .send()
            .expect("health")
            .status(),
        StatusCode::OK
    );
}

pub(crate) fn uploads_beyond_the_rate_limit_get_429_with_retry_after_on(backend: Backend) {
    let hub = Hub::start(backend, &["--rate-per-minute", "3"]);
    // On PostgreSQL the counts are per minute of the clock: the four
    // uploads are made within one (again in the next if one ends midway,
    // by a desk of its own: the embedded store counts 60 s from a desk's
    // first upload, so the same desk would still be counted there).
    let answers = within_one_minute(|| {
        let (_, token) = hub.device();
        let bodies: Vec<(Uuid, Vec<u8>)> = (0..4)
            .map(|_| {
                let id = Uuid::now_v7();
                (id, sealed(&hub.recipient, id, 1, "x"))
            })
            .collect();
        bodies
            .iter()
            .map(|(id, body)| hub.upload(&token, *id, 1, body))
            .collect::<Vec<_>>()
    });
    for r in &answers[..3] {
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = &answers[3];
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait));
}

#[test]
fn a_client_that_dribbles_its_headers_is_cut_off() {
    let hub = Hub::start(Backend::Sqlite, &["--header-timeout", "1"]);
    let addr = hub.process.url.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&addr).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(slow, "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\n").expect("half the headers");
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    // Cut off after its 1 s, not left open: bounded generously, so a busy
    // machine cannot fail it, yet far below the read timeout above.
    assert!(
        waited < Duration::from_secs(30),
        "the hub waited {waited:?} for headers"
    );
    assert!(!String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    // Everyone else is still served.
    let ok = hub
        .http
        .get(format!("{}/v1/health", hub.process.url))
        .send()
        .expect("health");
    assert_eq!(ok.status(), StatusCode::OK);
}

/// An `http://` hub's `host:port`.
fn address(hub: &Hub) -> String {
    hub.process.url.trim_start_matches("http://").to_string()
}

/// 1,500 idle connections against a hub limited, as a service manager
/// would, to 1,024 open files: the hub keeps within its file descriptors,
/// and a real request still gets in and is answered.
#[test]
fn a_flood_of_idle_connections_cannot_shut_the_hub_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let identity = dir.path().join("partnership.key");
    let recipient = hub_admin(&["keygen", "--out", &identity.to_string_lossy()])
        .ok()
        .last_line();
    let process = HubProcess::start_under(
        &["prlimit", "--nofile=1024:1024", "--"],
        &dir.path().join("hub"),
        &recipient,
        "127.0.0.1:0",
        &[],
    );
    let addr = process.url.trim_start_matches("http://").to_string();
    let idle: Vec<std::net::TcpStream> = (0..1_500)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(idle.len() > 1_024, "{} idle connections opened", idle.len());
    let started = Instant::now();
    let health = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
        .get(format!("{}/v1/health", process.url))
        .send()
        .expect("the health check is answered while the flood holds on");
    assert_eq!(health.status(), StatusCode::OK);
    eprintln!(
        "health answered in {:?} under 1,500 idle connections",
        started.elapsed()
    );
    let open = process.open_files();
    assert!(open < 1_000, "the hub holds {open} files open");
    // The log is read by a thread of its own: waited for, bounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !process
        .log
        .lock()
        .expect("log")
        .contains("connection limit reached")
    {
        assert!(
            Instant::now() < deadline,
            "the hub says why it closes connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(idle);
}

/// A thousand requests whose headers never end (400 KB each): the hub
/// reads no more than 16 KiB of headers per request, so its memory stays
/// small, during and after.
#[test]
fn unfinished_headers_cannot_swell_the_hub() {
    let hub = Hub::start(Backend::Sqlite, &[]);
    let addr = address(&hub);
    let before = hub.process.rss_kib();
    let filler = vec![b'a'; 400 * 1024];
    let mut peak = before;
    let mut open = Vec::new();
    for i in 0..1_000 {
        let Ok(mut stream) = std::net::TcpStream::connect(&addr) else {
            continue;
        };
        stream
            .set_write_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let _ = write!(
            stream,
            "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nX-Fill: "
        );
        // Once the hub has had enough it stops reading (and closes): the
        // rest of the write times out or fails, which is the point.
        let _ = stream.write_all(&filler);
        open.push(stream);
        if i % 100 == 99 {
            peak = peak.max(hub.process.rss_kib());
        }
    }
    peak = peak.max(hub.process.rss_kib());
    drop(open);
    let grew = peak.saturating_sub(before) / 1024;
    eprintln!("hub memory: {before} KiB before, peak +{grew} MiB with 1,000 unfinished requests");
    assert!(grew < 64, "the hub grew by {grew} MiB");
    let ok = hub
        .http
        .get(format!("{}/v1/health", hub.process.url))
        .send()
        .expect("health");
    assert_eq!(ok.status(), StatusCode::OK);
}

/// Every answer is the protocol's JSON, whatever went wrong, and none
/// repeats what the client sent.
#[test]
fn every_error_is_json_and_echoes_nothing() {
    // The default request timeout: a commit slowed by a busy disk must not
    // turn an enrolment into a 408 (the timeout has a hub of its own below).
    let hub = Hub::start(Backend::Sqlite, &[]);
    let (_, token) = hub.device();
    let bad_id = hub
        .http
        .put(format!(
            "{}/v1/reports/ECHO-ME-not-an-id/revisions/1",
            hub.process.url
        ))
        .bearer_auth(&token)
        .body("x")
        .send()
        .expect("send");
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    let text = bad_id.text().expect("body");
    assert!(!text.contains("ECHO-ME"), "{text}");
    let body: ErrorBody = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body.error, ErrorKind::BadRequest);

    // An enrolment is small: a large one is refused at once.
    let big = hub
        .http
        .post(format!("{}/v1/enrol", hub.process.url))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"code\": \"{}\", \"device_name\": \"x\"}}",
            "A".repeat(100_000)
        ))
        .send()
        .expect("send");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The body was never read: the hub says it closes the connection, so
    // the client sends its next request on a new one (else it goes down
    // the closing one and fails).
    assert_eq!(
        big.headers()
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );
    assert_eq!(error_kind(big), ErrorKind::TooLarge);

    // So is a status key: a large one is refused as too large, and a key
    // that is not one is named, without echoing it.
    let big_key = hub
        .http
        .put(format!("{}/v1/status-key", hub.process.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"recipient\": \"{}\"}}", "A".repeat(100_000)))
        .send()
        .expect("send");
    assert_eq!(big_key.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_kind(big_key), ErrorKind::TooLarge);
    let not_a_key = hub
        .http
        .put(format!("{}/v1/status-key", hub.process.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"recipient": "ECHO-ME"}))
        .send()
        .expect("send");
    assert_eq!(not_a_key.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!not_a_key.text().expect("body").contains("ECHO-ME"));

    let wrong_method = hub
        .http
        .delete(format!("{}/v1/health", hub.process.url))
        .send()
        .expect("send");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_kind(wrong_method), ErrorKind::BadRequest);

    // A body announced and never sent: 408 after the request timeout.
    let hub = Hub::start(Backend::Sqlite, &["--request-timeout", "1"]);
    let (_, token) = hub.device();
    let mut slow = std::net::TcpStream::connect(address(&hub)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        slow,
        "PUT {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Digest: {}\r\nContent-Length: 100\r\n\r\nab",
        report_path(Uuid::now_v7(), 1),
        content_digest(b"x")
    )
    .expect("write");
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: ErrorBody =
        serde_json::from_str(json.trim()).unwrap_or_else(|_| panic!("JSON: {answer}"));
    assert_eq!(body.error, ErrorKind::BadRequest);
}

/// The minute now (since the Unix epoch): the window the shared counts use.
fn minute_now() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

/// Runs `burst` within one minute: if a minute ends during it, waits for
/// the next minute to begin (observed on the clock) and runs it again
/// there, fresh.
fn within_one_minute<T>(mut burst: impl FnMut() -> T) -> T {
    loop {
        let started = minute_now();
        let out = burst();
        if minute_now() == started {
            return out;
        }
        let now = minute_now();
        while minute_now() == now {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn limits_hold_across_hub_processes_on_one_database() {
    let Some(backend) = hirc_e2e::fresh_postgres().map(Backend::Postgres) else {
        eprintln!("HIRC_TEST_POSTGRES is not set: the shared-limits test is skipped");
        return;
    };
    let flags = ["--rate-per-minute", "4", "--auth-failures-per-minute", "3"];
    let hub = Hub::start(backend.clone(), &flags);
    // A second hub process on the same database, as behind a load balancer.
    let second = crate::launch(&backend, &hub.data_path(), &hub.recipient, &flags);
    let urls = [hub.process.url.clone(), second.url.clone()];
    let (_, token) = hub.device();

    // Eight uploads, in turn to each process: four in the minute, counted
    // together, so four are refused (each process alone would take four).
    let statuses = within_one_minute(|| {
        (0..8)
            .map(|i| {
                let id = Uuid::now_v7();
                let body = sealed(&hub.recipient, id, 1, "shared limits");
                let r = hub
                    .http
                    .put(format!("{}{}", urls[i % 2], report_path(id, 1)))
                    .bearer_auth(&token)
                    .header(hirc_proto::DIGEST_HEADER, content_digest(&body))
                    .body(body)
                    .send()
                    .expect("put");
                let wait: Option<u64> = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                (r.status(), wait)
            })
            .collect::<Vec<_>>()
    });
    let created = statuses
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 4, "{statuses:?}");
    for (status, wait) in statuses.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
        assert!(wait.is_some_and(|w| (1..=60).contains(&w)), "{wait:?}");
    }

    // Wrong enrolment codes, in turn to each process: three in the minute
    // together, then both refuse the address.
    let answers = within_one_minute(|| {
        (0..5)
            .map(|i| {
                hub.http
                    .post(format!("{}/v1/enrol", urls[i % 2]))
                    .json(&serde_json::json!({"code": "AAAA-BBBB-CCCC", "device_name": "guess"}))
                    .send()
                    .expect("enrol")
                    .status()
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(
        answers,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}
