//! The worker's side of failures, against a real HTTP server on loopback that
//! answers what each test needs: `Retry-After` is honoured, other failures
//! back off, a refusal stops retries, and nothing is attempted early.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::put;
use chrono::{DateTime, Utc};
use hirc_core::model::Report;
use hirc_core::outbox::Enrolment;
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup, Session};
use hirc_sync::{PassOptions, run_pass};

/// A server whose every upload gets what `answer` makes.
async fn server_with(
    answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
    hits: Arc<AtomicUsize>,
) -> String {
    let app = axum::Router::new().route(
        "/v1/reports/{id}/revisions/{n}",
        put(move || {
            let hits = hits.clone();
            let answer = answer.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                answer()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A hub's own error answer: its protocol header and a JSON body of the
/// kind that goes with `status`.
fn hub_error(status: StatusCode, kind: &str, message: &str) -> axum::response::Response {
    let body = serde_json::json!({"error": kind, "message": message});
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert("hirc-protocol", HeaderValue::from_static("1"));
    response
}

/// A server whose every upload gets the hub's `status` (with `retry_after`
/// if set).
async fn server(
    status: StatusCode,
    retry_after: Option<&'static str>,
    hits: Arc<AtomicUsize>,
) -> String {
    let kind = match status.as_u16() {
        401 => "unauthorized",
        500 => "internal",
        _ => "unavailable",
    };
    server_with(
        move || {
            let mut response = hub_error(status, kind, "try later");
            if let Some(v) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static(v));
            }
            response
        },
        hits,
    )
    .await
}

fn desk_with_one_report(url: &str) -> (tempfile::TempDir, Arc<Mutex<Desk>>, Arc<Session>) {
    desk_pinning(url, &hirc_proto::sign::SigningKey::generate())
}

/// A desk with one sealed report, enrolled with `url` as device nil, having
/// pinned `receipt_key`.
fn desk_pinning(
    url: &str,
    receipt_key: &hirc_proto::sign::SigningKey,
) -> (tempfile::TempDir, Arc<Mutex<Desk>>, Arc<Session>) {
    let dir = tempfile::tempdir().expect("tmp");
    let pass = Passphrase::new("chris passphrase".into());
    let (mut desk, _) = Desk::create(
        dir.path(),
        &DeskSetup {
            centre_name: "C",
            centre_code: "CP",
            coordinator: "Chris",
            passphrase: &pass,
            kdf: KdfCost::fixed(10).expect("kdf"),
        },
    )
    .expect("desk");
    let s = desk.unlock("Chris", &pass).expect("unlock");
    let (report, _) =
        Report::from_json(include_bytes!("../../hirc-core/tests/data/report-v1.json"))
            .expect("example");
    let id = desk.create_draft(&s, &report).expect("draft");
    desk.submit(&s, id).expect("submit");
    let recipients = vec![age::x25519::Identity::generate().to_public().to_string()];
    desk.enrol(
        &s,
        &Enrolment {
            url,
            hub_name: "test",
            device_id: uuid::Uuid::nil(),
            token: "t",
            recipients: &recipients,
            ca_pem: None,
            receipt_key: Some(&receipt_key.public()),
            device_key: None,
        },
        false,
    )
    .expect("enrol");
    (dir, Arc::new(Mutex::new(desk)), Arc::new(s))
}

fn next_attempt(desk: &Arc<Mutex<Desk>>) -> Option<DateTime<Utc>> {
    let summary = desk
        .lock()
        .expect("desk")
        .outbox_summary()
        .expect("summary");
    summary.next_attempt_at
}

/// Checks that `next` is `wait` (milliseconds) after the moment the pass
/// failed, somewhere in `during`: bounded by the pass's start and end, so
/// a slow machine makes the window wider, never the check wrong. Stored
/// times keep milliseconds, hence one either side.
fn waits(
    next: DateTime<Utc>,
    (before, after): (DateTime<Utc>, DateTime<Utc>),
    wait: std::ops::RangeInclusive<i64>,
    what: &str,
) {
    let earliest = before + chrono::Duration::milliseconds(wait.start() - 1);
    let latest = after + chrono::Duration::milliseconds(wait.end() + 1);
    assert!(
        (earliest..=latest).contains(&next),
        "{what}: next attempt {next}, not within {earliest}..={latest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_nothing_is_tried_early() {
    let hits = Arc::new(AtomicUsize::new(0));
    let url = server(StatusCode::SERVICE_UNAVAILABLE, Some("120"), hits.clone()).await;
    let (_dir, desk, _session) = desk_with_one_report(&url);

    let before = Utc::now();
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    let after = Utc::now();
    assert_eq!((pass.delivered, pass.retrying, pass.refused), (0, 1, 0));
    assert!(pass.reached_hub, "a 503 is an answer");
    let next = next_attempt(&desk).expect("a next attempt");
    waits(next, (before, after), 120_000..=120_000, "the hub's 120 s");

    // The worker's next pass (backoff respected) does not call early...
    run_pass(&desk, PassOptions::default()).await.expect("pass");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // ...but "sync now" does.
    run_pass(
        &desk,
        PassOptions {
            ignore_backoff: true,
            ..PassOptions::default()
        },
    )
    .await
    .expect("pass");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_back_off_and_refusals_stop() {
    let hits = Arc::new(AtomicUsize::new(0));
    let url = server(StatusCode::INTERNAL_SERVER_ERROR, None, hits.clone()).await;
    let (_dir, desk, _session) = desk_with_one_report(&url);
    let before = Utc::now();
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    let after = Utc::now();
    assert_eq!(pass.retrying, 1);
    let next = next_attempt(&desk).expect("next");
    waits(
        next,
        (before, after),
        1_000..=2_000,
        "the first backoff, 1-2 s",
    );

    let hits = Arc::new(AtomicUsize::new(0));
    let url = server(StatusCode::UNAUTHORIZED, None, hits.clone()).await;
    let (_dir, desk, _session) = desk_with_one_report(&url);
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    assert_eq!((pass.retrying, pass.refused), (0, 1));
    assert!(
        pass.errors[0].contains("no longer accepts this desk"),
        "{:?}",
        pass.errors
    );
    run_pass(
        &desk,
        PassOptions {
            ignore_backoff: true,
            ..PassOptions::default()
        },
    )
    .await
    .expect("pass");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a refused report is not retried"
    );
    assert_eq!(
        desk.lock()
            .expect("desk")
            .outbox_summary()
            .expect("summary")
            .refused,
        1
    );
}

/// What a hub, a proxy in front of it, or something pretending to be one
/// can answer, and what the desk must do: never crash, never refuse a
/// report for good on a proxy's word, never follow a redirect, and never
/// keep more than a short, plain line of whatever was said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_s_answers_cannot_crash_mislead_or_redirect_the_desk() {
    // Retry-After of ten trillion seconds: capped at an hour, no panic.
    let hits = Arc::new(AtomicUsize::new(0));
    let url = server(
        StatusCode::SERVICE_UNAVAILABLE,
        Some("10000000000000"),
        hits.clone(),
    )
    .await;
    let (_dir, desk, _session) = desk_with_one_report(&url);
    let before = Utc::now();
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    let after = Utc::now();
    assert_eq!(pass.retrying, 1);
    let next = next_attempt(&desk).expect("next");
    waits(
        next,
        (before, after),
        3_600_000..=3_600_000,
        "capped at an hour",
    );

    // A proxy's 404, 403 or 204, or a hub-looking 404: tried again later.
    for (status, from_hub) in [
        (404, false),
        (403, false),
        (204, false),
        (404, true),
        (405, true),
    ] {
        let hits = Arc::new(AtomicUsize::new(0));
        let url = server_with(
            move || {
                let status = StatusCode::from_u16(status).expect("status");
                if from_hub {
                    hub_error(status, "not_found", "no such endpoint")
                } else {
                    (status, "<html>Not here</html>").into_response()
                }
            },
            hits.clone(),
        )
        .await;
        let (_dir, desk, _session) = desk_with_one_report(&url);
        let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
        assert_eq!(
            (pass.retrying, pass.refused),
            (1, 0),
            "HTTP {status} (from the hub: {from_hub}) is not a refusal: {:?}",
            pass.errors
        );
    }

    // A 307 to a plain-HTTP address elsewhere: not followed.
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let elsewhere = server(StatusCode::CREATED, None, elsewhere_hits.clone()).await;
    let hits = Arc::new(AtomicUsize::new(0));
    let url = server_with(
        move || {
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&format!("{elsewhere}/v1/reports/x/revisions/1"))
                    .expect("location"),
            );
            response
        },
        hits.clone(),
    )
    .await;
    let (_dir, desk, _session) = desk_with_one_report(&url);
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    assert_eq!((pass.retrying, pass.refused), (1, 0));
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert!(pass.errors[0].contains("redirect"), "{:?}", pass.errors);

    // A message full of terminal escapes in a real refusal (6 KB), and one
    // of 2 MB (no hub sends that: read no further, tried again later): each
    // kept as one short plain line in the outbox, the audit log and the pass.
    for size in [6 * 1024, 2 * 1024 * 1024] {
        let hits = Arc::new(AtomicUsize::new(0));
        let url = server_with(
            move || {
                let noise = "\x1b[2J\x1b[31mRED\r\n".repeat(size / 16);
                hub_error(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", &noise)
            },
            hits.clone(),
        )
        .await;
        let (_dir, desk, session) = desk_with_one_report(&url);
        let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
        assert_eq!(pass.refused, usize::from(size < 16 * 1024), "{size}");
        let d = desk.lock().expect("desk");
        let stored = d
            .outbox_summary()
            .expect("summary")
            .last_error
            .expect("a reason");
        let audited: Vec<String> = d
            .audit_log(&session)
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == "upload_refused")
            .filter_map(|e| e.detail)
            .collect();
        assert_eq!(audited.len(), pass.refused);
        for text in pass.errors.iter().chain([&stored]).chain(audited.iter()) {
            assert!(
                text.chars().count() <= 400,
                "{} characters kept",
                text.len()
            );
            assert!(
                !text.chars().any(char::is_control),
                "control characters kept"
            );
            assert!(text.contains("RED") || size > 16 * 1024, "{text}");
        }
    }
}

/// A 409 whose signed receipt is for bytes this desk never sent (someone
/// uploaded junk under its name with a stolen token): nothing is marked
/// delivered, asking again would get the same answer, so the report stops
/// and waits, whole, with the reason for a coordinator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_over_bytes_the_desk_never_sent_stops_and_says_why() {
    let key = hirc_proto::sign::SigningKey::generate();
    let secret = key.secret_base64().to_string();
    let app = axum::Router::new().route(
        "/v1/reports/{id}/revisions/{n}",
        put(
            move |axum::extract::Path((id, n)): axum::extract::Path<(uuid::Uuid, u32)>| {
                let secret = secret.clone();
                async move {
                    let key = hirc_proto::sign::SigningKey::from_secret_base64(&secret)
                        .expect("key");
                    let mut receipt = hirc_proto::Receipt {
                        receipt_id: uuid::Uuid::now_v7(),
                        report_id: id,
                        revision: n,
                        digest: hirc_proto::content_digest(b"junk"),
                        received_at: Utc::now(),
                        device_id: Some(uuid::Uuid::nil()),
                        evidence: None,
                        signature: None,
                    };
                    key.sign_receipt(&mut receipt);
                    let body = serde_json::json!({"error": "conflict", "message": "held", "receipt": receipt});
                    let mut response = (StatusCode::CONFLICT, axum::Json(body)).into_response();
                    response
                        .headers_mut()
                        .insert("hirc-protocol", HeaderValue::from_static("1"));
                    response
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (_dir, desk, session) = desk_pinning(&url, &key);
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    assert_eq!((pass.delivered, pass.refused), (0, 1));
    let d = desk.lock().expect("desk");
    let summary = d.outbox_summary().expect("summary");
    assert_eq!((summary.delivered, summary.refused), (0, 1));
    assert!(
        summary
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("than this desk ever sent")),
        "{summary:?}"
    );
    let list = d.list_reports(&session).expect("list");
    assert_eq!(list[0].row.state, hirc_core::model::ReportState::Sealed);
}
