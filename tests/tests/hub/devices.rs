//! Desks and their credentials: single-use enrolment codes, tokens checked
//! and revoked, and guessing slowed and logged.

use hirc_e2e::{Backend, contains};
use hirc_proto::{DIGEST_HEADER, ErrorBody, ErrorKind, content_digest, report_path};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::{Hub, error_kind, sealed};

pub(crate) fn enrolment_codes_are_single_use_on(backend: Backend) {
    let hub = Hub::start(backend, &[]);
    let code = hub.code("Castle Point CVS");
    assert_eq!(
        hub.enrol(&code.to_lowercase()).status(),
        StatusCode::CREATED,
        "codes ignore case"
    );
    let again = hub.enrol(&code);
    assert_eq!(again.status(), StatusCode::GONE);
    assert_eq!(error_kind(again), ErrorKind::CodeUsed);
    let unknown = hub.enrol("AAAA-BBBB-CCCC");
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let garbage = hub
        .http
        .post(format!("{}/v1/enrol", hub.process.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .expect("send");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(garbage), ErrorKind::BadRequest);
    let devices = hub.admin(&["devices", "--json"]).ok();
    let devices: Value = serde_json::from_str(&devices.stdout).expect("json");
    assert_eq!(devices.as_array().map(Vec::len), Some(1));
}

pub(crate) fn tokens_are_checked_and_revoked_devices_refused_on(backend: Backend) {
    let hub = Hub::start(backend, &[]);
    let (device, token) = hub.device();
    let id = Uuid::now_v7();
    let body = sealed(&hub.recipient, id, 1, "x");
    let no_token = hub
        .http
        .put(format!("{}{}", hub.process.url, report_path(id, 1)))
        .header(DIGEST_HEADER, content_digest(&body))
        .body(body.clone())
        .send()
        .expect("send");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        hub.upload("hirc1_made_up", id, 1, &body).status(),
        StatusCode::UNAUTHORIZED
    );

    hub.admin(&["revoke", &device]).ok();
    let r = hub.upload(&token, id, 1, &body);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let message = r.json::<ErrorBody>().expect("json").message;
    assert!(message.contains("revoked"), "{message}");
    let devices = hub.admin(&["devices"]).ok();
    assert!(devices.stdout.contains("revoked"), "{}", devices.stdout);
    hub.admin(&["revoke", &Uuid::now_v7().to_string()])
        .expect_code(1);

    // Tokens are stored hashed.
    let db = hub.backend.dump(&hub.data_path());
    assert!(!contains(&db, &token));
}

/// Guessing enrolment codes or tokens from one address is slowed to a
/// trickle after a few dozen wrong tries a minute, and the hub's log says
/// so; the right answers to the wrong questions are never echoed.
#[test]
fn guessing_codes_and_tokens_is_refused_and_logged() {
    let hub = Hub::start(Backend::Sqlite, &["--auth-failures-per-minute", "20"]);
    let mut statuses = Vec::new();
    for i in 0..60 {
        let status = if i % 2 == 0 {
            hub.enrol(&format!("AAAA-BBBB-{:04}", i)).status()
        } else {
            hub.put(
                "hirc1_not-a-token",
                Uuid::now_v7(),
                1,
                b"x",
                Some(&content_digest(b"x")),
            )
            .status()
        };
        statuses.push(status.as_u16());
    }
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        statuses.iter().take(20).filter(|s| **s == 401).count(),
        20,
        "the first wrong guesses are answered as such: {statuses:?}"
    );
    assert_eq!(refused, 40, "then refused: {statuses:?}");
    let throttled = hub.enrol("AAAA-BBBB-CCCC");
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    assert_eq!(error_kind(throttled), ErrorKind::RateLimited);
    let log = hub.process.log.lock().expect("log").clone();
    assert!(log.contains("too many wrong guesses"), "{log}");
}
