//! The hub as a service and its admin commands: keygen, health and unknown
//! routes, a clean stop, the config file, and the admin commands' edges.

use std::path::Path;

use hirc_e2e::{Backend, hub_admin};
use hirc_proto::ErrorKind;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;
use uuid::Uuid;

use crate::{Hub, error_kind, sealed};

#[test]
fn keygen_prints_the_recipient_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("k");
    let run = hub_admin(&["keygen", "--out", &key.to_string_lossy()]).ok();
    assert!(run.last_line().starts_with("age1"));
    let before = std::fs::read(&key).expect("key");
    let again = hub_admin(&["keygen", "--out", &key.to_string_lossy()]).expect_code(1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert!(std::fs::read(&key).expect("key") == before);
}

pub(crate) fn health_and_unknown_routes_on(backend: Backend) {
    let hub = Hub::start(backend, &[]);
    let r = hub
        .http
        .get(format!("{}/v1/health", hub.process.url))
        .send()
        .expect("health");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["hirc-protocol"], "1");
    let r = hub
        .http
        .get(format!("{}/v2/anything", hub.process.url))
        .send()
        .expect("404");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_kind(r), ErrorKind::NotFound);
}

pub(crate) fn stops_cleanly_on_sigterm_on(backend: Backend) {
    let hub = Hub::start(backend, &[]);
    let (_, token) = hub.device();
    let id = Uuid::now_v7();
    assert_eq!(
        hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, "x"))
            .status(),
        StatusCode::CREATED
    );
    let log = hub.process.log.clone();
    assert!(hub.process.terminate(), "the hub exits 0 on SIGTERM");
    let log = log.lock().expect("log").clone();
    assert!(log.contains("hub stopped"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn serve_reads_a_config_file_and_flags_override_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("k");
    let recipient = hub_admin(&["keygen", "--out", &key.to_string_lossy()])
        .ok()
        .last_line();
    let data = dir.path().join("hub");
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = {:?}\nlisten = \"127.0.0.1:0\"\nrecipients = [{:?}]\nhub-name = \"From the file\"\nrate-per-minute = 5\n",
            data.to_string_lossy(),
            recipient
        ),
    )
    .expect("config");
    let start = |extra: &[&str]| {
        let mut child = std::process::Command::new(hirc_e2e::bin("hirc-hub"))
            .args(["serve", "--config", &config.to_string_lossy()])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("ready");
        (
            child,
            line.trim()
                .trim_start_matches("hirc-hub listening on ")
                .to_string(),
        )
    };
    let enrol_name = |url: &str| -> String {
        let code = hub_admin(&[
            "enrol",
            "--data-dir",
            &data.to_string_lossy(),
            "--centre",
            "C",
        ])
        .ok()
        .last_line();
        let body: Value = Client::new()
            .post(format!("{url}/v1/enrol"))
            .json(&serde_json::json!({"code": code, "device_name": "d"}))
            .send()
            .and_then(|r| r.json())
            .expect("enrol");
        body["hub_name"].as_str().expect("name").to_string()
    };
    let (mut child, url) = start(&[]);
    assert_eq!(enrol_name(&url), "From the file");
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, url) = start(&["--hub-name", "From the flag"]);
    assert_eq!(enrol_name(&url), "From the flag");
    let _ = child.kill();
    let _ = child.wait();

    std::fs::write(&config, "lisen = \"127.0.0.1:0\"\n").expect("typo");
    let run = hub_admin(&["serve", "--config", &config.to_string_lossy()]).expect_code(1);
    assert!(
        run.stderr.contains("is not valid") && run.stderr.contains("lisen"),
        "{}",
        run.stderr
    );
    std::fs::write(
        &config,
        format!(
            "data-dir = {:?}\nrecipients = [{recipient:?}]\ntls-cert = \"c.pem\"\n",
            data.to_string_lossy()
        ),
    )
    .expect("half tls");
    let run = hub_admin(&["serve", "--config", &config.to_string_lossy()]).expect_code(1);
    assert!(
        run.stderr.contains("both a certificate and its key"),
        "{}",
        run.stderr
    );
}

/// The admin commands' own edges: a code's lifetime is bounded and must be
/// positive, an export never writes through a link or over a file, and a
/// new hub's data is its owner's alone whatever the umask.
#[test]
fn admin_commands_keep_to_safe_edges() {
    let hub = Hub::start(Backend::Sqlite, &[]);
    for expires in ["99999999999999d", "-5m", "0h", "91d", "12x"] {
        let run = hub.admin(&["enrol", "--centre", "C", "--expires", expires]);
        assert_eq!(run.code, 2, "{expires}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(run.stderr.contains("--expires"), "{}", run.stderr);
    }
    hub.admin(&["enrol", "--centre", "C", "--expires", "90d"])
        .ok();

    // Desks pin the receipt key: with desks enrolled, a missing key file is
    // an error to put right, never silently a new key.
    hub.device();
    let key = hub.data_path().join("receipt-signing.key");
    let kept = std::fs::read(&key).expect("the key file");
    std::fs::remove_file(&key).expect("lose it");
    let run = hub.admin(&["import", "nothing.json", "--receipts", "r.json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is missing"), "{}", run.stderr);
    assert!(!key.exists(), "no new key was made");
    std::fs::write(&key, &kept).expect("restore it");

    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&hub.data_path()), 0o700, "the data directory");
    assert_eq!(
        mode(&hub.data_path().join("hub.sqlite3")),
        0o600,
        "the store"
    );

    let out = hub.dir.path().join("out");
    std::fs::create_dir(&out).expect("dir");
    let elsewhere = out.join("elsewhere.jsonl");
    std::fs::write(&elsewhere, "keep me\n").expect("write");
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o644)).expect("mode");
    let link = out.join("link.jsonl");
    std::os::unix::fs::symlink(&elsewhere, &link).expect("link");
    let identity = hub.identity.to_string_lossy().into_owned();
    for target in [&link, &elsewhere] {
        let run = hub.admin(&[
            "export",
            "--identity",
            &identity,
            "--out",
            &target.to_string_lossy(),
        ]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(&elsewhere).expect("read"),
        "keep me\n"
    );
    let fresh = out.join("fresh.jsonl");
    hub.admin(&[
        "export",
        "--identity",
        &identity,
        "--out",
        &fresh.to_string_lossy(),
    ])
    .ok();
    assert_eq!(mode(&fresh), 0o600);
}

/// The value of one sample in a metrics text (`name{labels} value`).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

pub(crate) fn metrics_and_readiness_on(backend: Backend) {
    let metrics_token = "a-metrics-token-for-tests";
    let hub = Hub::start(backend.clone(), &["--metrics-token", metrics_token]);
    let url = &hub.process.url;
    let ready = hub
        .http
        .get(format!("{url}/v1/ready"))
        .send()
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().expect("json");
    assert_eq!(ready["status"], "ready");

    let (_, token) = hub.device();
    let id = Uuid::now_v7();
    let body = sealed(&hub.recipient, id, 1, "CANARY-metrics account");
    assert_eq!(
        hub.upload(&token, id, 1, &body).status(),
        StatusCode::CREATED
    );
    assert_eq!(hub.upload(&token, id, 1, &body).status(), StatusCode::OK);
    assert_eq!(
        hub.upload("not-a-token", id, 1, &body).status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        hub.enrol("AAAA-BBBB-CCCC").status(),
        StatusCode::UNAUTHORIZED
    );

    let scrape = hub
        .http
        .get(format!("{url}/metrics"))
        .bearer_auth(metrics_token)
        .send()
        .expect("metrics");
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        scrape.headers()
    );
    let text = scrape.text().expect("text");
    let route = "/v1/reports/{report_id}/revisions/{revision}";
    let created = format!("hirc_hub_requests_total{{route=\"{route}\",status=\"201\"}}");
    let refused = format!("hirc_hub_requests_total{{route=\"{route}\",status=\"401\"}}");
    let timed = format!("hirc_hub_request_duration_seconds_count{{route=\"{route}\"}}");
    for (series, want) in [
        ("hirc_hub_uploads_total{outcome=\"created\"}", 1.0),
        ("hirc_hub_uploads_total{outcome=\"repeat\"}", 1.0),
        ("hirc_hub_enrolments_total{outcome=\"enrolled\"}", 1.0),
        ("hirc_hub_enrolments_total{outcome=\"unknown_code\"}", 1.0),
        (
            "hirc_hub_auth_failures_total{reason=\"unknown_token\"}",
            1.0,
        ),
        (created.as_str(), 1.0),
        (refused.as_str(), 1.0),
        (timed.as_str(), 3.0),
        ("hirc_hub_store_operations_in_flight", 0.0),
        // Two uploads (stored, then the same again), one after the other:
        // a transaction each.
        ("hirc_hub_store_commits_total", 2.0),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series} in:\n{text}");
    }
    if matches!(backend, Backend::Postgres(_)) {
        // The pool: some connections open (a background tidy-up of old
        // rate-limit counts may be using one), within its size, and no
        // request waiting for one.
        assert_eq!(sample(&text, "hirc_hub_store_connections_max"), Some(8.0));
        assert_eq!(sample(&text, "hirc_hub_store_connection_waits"), Some(0.0));
        let open = sample(&text, "hirc_hub_store_connections{state=\"idle\"}")
            .zip(sample(
                &text,
                "hirc_hub_store_connections{state=\"in_use\"}",
            ))
            .map(|(idle, in_use)| idle + in_use);
        assert!(
            open.is_some_and(|n| (1.0..=8.0).contains(&n)),
            "open connections in:\n{text}"
        );
    }
    let store = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    assert!(
        text.contains(&format!("store=\"{store}\"")) && text.contains("hirc_hub_build_info"),
        "{text}"
    );
    // Counts only: no report, device or token in it.
    for secret in [
        id.to_string(),
        token.clone(),
        "CANARY".into(),
        "front desk".into(),
    ] {
        assert!(!text.contains(&secret), "{secret} in the metrics");
    }
}

#[test]
fn metrics_are_off_without_a_token_even_from_this_machine() {
    let hub = Hub::start(Backend::Sqlite, &[]);
    let r = hub
        .http
        .get(format!("{}/metrics", hub.process.url))
        .send()
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: hirc_proto::ErrorBody = r.json().expect("json");
    assert!(body.message.contains("--metrics-token"), "{}", body.message);
}

#[test]
fn metrics_need_the_token_and_refuse_a_short_one() {
    let token = "a-metrics-token-for-tests";
    let hub = Hub::start(Backend::Sqlite, &["--metrics-token", token]);
    let url = &hub.process.url;
    let without = hub
        .http
        .get(format!("{url}/metrics"))
        .send()
        .expect("metrics");
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_kind(without), ErrorKind::Unauthorized);
    let wrong = hub
        .http
        .get(format!("{url}/metrics"))
        .bearer_auth("a-wrong-token-of-some-length")
        .send()
        .expect("metrics");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let with = hub
        .http
        .get(format!("{url}/metrics"))
        .bearer_auth(token)
        .send()
        .expect("metrics");
    assert_eq!(with.status(), StatusCode::OK);
    assert!(with.text().expect("text").contains("hirc_hub_build_info"));

    let dir = tempfile::tempdir().expect("tmp");
    let run = hub_admin(&[
        "serve",
        "--data-dir",
        &dir.path().to_string_lossy(),
        "--recipient",
        &hub.recipient,
        "--listen",
        "127.0.0.1:0",
        "--metrics-token",
        "short",
    ])
    .expect_code(1);
    assert!(run.stderr.contains("16 characters"), "{}", run.stderr);
}

#[test]
fn logs_are_json_lines_when_asked_each_with_its_request_id_and_never_content() {
    let hub = Hub::start(Backend::Sqlite, &["--log-format", "json"]);
    let (_, token) = hub.device();
    let id = Uuid::now_v7();
    let body = sealed(&hub.recipient, id, 1, "CANARY-json-log account");
    let stored = hub
        .http
        .put(format!(
            "{}{}",
            hub.process.url,
            hirc_proto::report_path(id, 1)
        ))
        .bearer_auth(&token)
        .header(hirc_proto::DIGEST_HEADER, hirc_proto::content_digest(&body))
        .header("x-request-id", "desk-req-42")
        .body(body)
        .send()
        .expect("put");
    assert_eq!(stored.status(), StatusCode::CREATED);
    assert_eq!(stored.headers()["x-request-id"], "desk-req-42");
    // An id that could be anything (long, or with odd characters) is not
    // kept: the hub gives the request its own.
    for lie in ["x".repeat(200), "a b".to_string()] {
        let answered = hub
            .http
            .get(format!("{}/v1/health", hub.process.url))
            .header("x-request-id", &lie)
            .send()
            .expect("health");
        let given = answered.headers()["x-request-id"].to_str().expect("text");
        assert!(Uuid::parse_str(given).is_ok(), "{given}");
    }

    // The line is written before the answer; the reader may lag behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let log = loop {
        let log = hub
            .process
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if log.contains("report stored") || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let stored = lines
        .iter()
        .find(|l| l["fields"]["message"] == "report stored")
        .unwrap_or_else(|| panic!("no 'report stored' line in:\n{log}"));
    assert_eq!(stored["span"]["request_id"], "desk-req-42", "{stored}");
    assert_eq!(stored["fields"]["report"], id.to_string());
    for secret in ["CANARY", token.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
