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

/// A server whose every upload gets `status` (with `retry_after` if set).
async fn server(
    status: StatusCode,
    retry_after: Option<&'static str>,
    hits: Arc<AtomicUsize>,
) -> String {
    let app = axum::Router::new().route(
        "/v1/reports/{id}/revisions/{n}",
        put(move || {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let body = serde_json::json!({"error": "unavailable", "message": "try later"});
                let mut response = (status, axum::Json(body)).into_response();
                if let Some(v) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static(v));
                }
                response
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

fn desk_with_one_report(url: &str) -> (tempfile::TempDir, Arc<Mutex<Desk>>, Arc<Session>) {
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
    summary
        .next_attempt_at
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_nothing_is_tried_early() {
    let hits = Arc::new(AtomicUsize::new(0));
    let url = server(StatusCode::SERVICE_UNAVAILABLE, Some("120"), hits.clone()).await;
    let (_dir, desk, session) = desk_with_one_report(&url);

    let before = Utc::now();
    let pass = run_pass(&desk, &session, PassOptions::default())
        .await
        .expect("pass");
    assert_eq!((pass.delivered, pass.retrying, pass.refused), (0, 1, 0));
    assert!(pass.reached_hub, "a 503 is an answer");
    let next = next_attempt(&desk).expect("a next attempt");
    let wait = (next - before).num_seconds();
    assert!(
        (118..=122).contains(&wait),
        "waits the hub's 120 s, not {wait} s"
    );

    // The worker's next pass (backoff respected) does not call early...
    run_pass(&desk, &session, PassOptions::default())
        .await
        .expect("pass");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // ...but "sync now" does.
    run_pass(
        &desk,
        &session,
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
    let (_dir, desk, session) = desk_with_one_report(&url);
    let before = Utc::now();
    let pass = run_pass(&desk, &session, PassOptions::default())
        .await
        .expect("pass");
    assert_eq!(pass.retrying, 1);
    let wait = (next_attempt(&desk).expect("next") - before).num_milliseconds();
    assert!(
        (900..=2_100).contains(&wait),
        "first backoff is 1-2 s, not {wait} ms"
    );

    let hits = Arc::new(AtomicUsize::new(0));
    let url = server(StatusCode::UNAUTHORIZED, None, hits.clone()).await;
    let (_dir, desk, session) = desk_with_one_report(&url);
    let pass = run_pass(&desk, &session, PassOptions::default())
        .await
        .expect("pass");
    assert_eq!((pass.retrying, pass.refused), (0, 1));
    assert!(
        pass.errors[0].contains("no longer accepts this desk"),
        "{:?}",
        pass.errors
    );
    run_pass(
        &desk,
        &session,
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
