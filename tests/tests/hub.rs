//! The hub over real HTTP on loopback: a real `hirc-hub` process, its real
//! admin commands and its real SQLite file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hirc_e2e::{Backend, HubProcess, backends, contains, hub_admin};
use hirc_proto::sign::{SigningKey, verify_receipt};
use hirc_proto::{DIGEST_HEADER, ErrorBody, ErrorKind, Receipt, content_digest, report_path};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use uuid::Uuid;

struct Hub {
    dir: tempfile::TempDir,
    identity: PathBuf,
    recipient: String,
    backend: Backend,
    process: HubProcess,
    http: Client,
}

impl Hub {
    fn start(backend: Backend, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let identity = dir.path().join("partnership.key");
        let run = hub_admin(&["keygen", "--out", &identity.to_string_lossy()]).ok();
        let recipient = run.last_line();
        assert!(recipient.starts_with("age1"), "{recipient}");
        let process = launch(&backend, &dir.path().join("hub"), &recipient, extra);
        Self {
            dir,
            identity,
            recipient,
            backend,
            process,
            http: Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
        }
    }

    fn data_path(&self) -> PathBuf {
        self.dir.path().join("hub")
    }

    /// Runs an admin command on this hub's store.
    fn admin(&self, args: &[&str]) -> hirc_e2e::Run {
        let store = self.backend.args(&self.data_path());
        let mut all: Vec<&str> = args.to_vec();
        all.extend(store.iter().map(String::as_str));
        hub_admin(&all)
    }

    fn restart(&mut self) {
        self.process = launch(&self.backend, &self.data_path(), &self.recipient, &[]);
    }

    fn code(&self, centre: &str) -> String {
        self.admin(&["enrol", "--centre", centre]).ok().last_line()
    }

    fn enrol(&self, code: &str) -> reqwest::blocking::Response {
        self.http
            .post(format!("{}/v1/enrol", self.process.url))
            .json(&json!({"code": code, "device_name": "front desk"}))
            .send()
            .expect("enrol")
    }

    /// Enrols a new desk; returns (device id, token).
    fn device(&self) -> (String, String) {
        let body = self.enrolled(None);
        (
            body["device_id"].as_str().expect("id").into(),
            body["token"].as_str().expect("token").into(),
        )
    }

    /// Enrols a new desk, with its device key (and proof) if given; returns
    /// the hub's answer.
    fn enrolled(&self, key: Option<&SigningKey>) -> Value {
        self.enrolled_after(key, None)
    }

    /// Enrols, naming the device (and its token) the desk was before.
    fn enrolled_after(&self, key: Option<&SigningKey>, previous: Option<(&str, &str)>) -> Value {
        let code = self.code("Castle Point CVS");
        let mut request = json!({"code": code, "device_name": "front desk"});
        if let Some(key) = key {
            request["device_key"] = json!(key.public());
            request["key_proof"] = json!(key.enrolment_proof(&code));
        }
        if let Some((device_id, token)) = previous {
            request["previous"] = json!({"device_id": device_id, "token": token});
        }
        let response = self
            .http
            .post(format!("{}/v1/enrol", self.process.url))
            .json(&request)
            .send()
            .expect("enrol");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().expect("json");
        assert_eq!(body["recipients"], json!([self.recipient]));
        assert!(
            body["receipt_key"].is_string(),
            "the hub gives its receipt key"
        );
        body
    }

    fn put(
        &self,
        token: &str,
        id: Uuid,
        revision: u32,
        body: &[u8],
        digest: Option<&str>,
    ) -> reqwest::blocking::Response {
        let mut request = self
            .http
            .put(format!("{}{}", self.process.url, report_path(id, revision)))
            .bearer_auth(token)
            .body(body.to_vec());
        if let Some(d) = digest {
            request = request.header(DIGEST_HEADER, d);
        }
        request.send().expect("put")
    }

    fn upload(
        &self,
        token: &str,
        id: Uuid,
        revision: u32,
        body: &[u8],
    ) -> reqwest::blocking::Response {
        self.put(token, id, revision, body, Some(&content_digest(body)))
    }
}

fn sealed(recipient: &str, id: Uuid, revision: u32, text: &str) -> Vec<u8> {
    let r: age::x25519::Recipient = recipient.parse().expect("recipient");
    let plain = json!({"report_id": id, "revision": revision, "description": text}).to_string();
    age::encrypt(&r, plain.as_bytes()).expect("encrypt")
}

fn error_kind(response: reqwest::blocking::Response) -> ErrorKind {
    let body: ErrorBody = response.json().expect("every error is JSON");
    body.error
}

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

fn health_and_unknown_routes_on(backend: Backend) {
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

fn enrolment_codes_are_single_use_on(backend: Backend) {
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

fn uploads_are_stored_once_with_a_receipt_and_never_changed_on(backend: Backend) {
    let hub = Hub::start(backend, &[]);
    let desk_key = SigningKey::generate();
    let enrolled = hub.enrolled(Some(&desk_key));
    let token = enrolled["token"].as_str().expect("token").to_string();
    let receipt_key = enrolled["receipt_key"].as_str().expect("key").to_string();
    let id = Uuid::now_v7();
    let body = sealed(&hub.recipient, id, 1, "first");

    let first = hub.upload(&token, id, 1, &body);
    assert_eq!(first.status(), StatusCode::CREATED);
    let receipt: Receipt = first.json().expect("receipt");
    assert_eq!((receipt.report_id, receipt.revision), (id, 1));
    assert_eq!(receipt.digest, content_digest(&body));
    assert_eq!(
        receipt.device_id.map(|d| d.to_string()).as_deref(),
        enrolled["device_id"].as_str()
    );
    verify_receipt(&receipt_key, &receipt).expect("the hub signs its receipts");

    let repeat = hub.upload(&token, id, 1, &body);
    assert_eq!(repeat.status(), StatusCode::OK);
    assert_eq!(
        repeat.json::<Receipt>().expect("receipt"),
        receipt,
        "a repeat gets the same receipt"
    );

    let other = sealed(&hub.recipient, id, 1, "replayed with another body");
    let conflict = hub.upload(&token, id, 1, &other);
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let error: ErrorBody = conflict.json().expect("JSON");
    assert_eq!(error.error, ErrorKind::Conflict);
    assert_eq!(
        error.receipt.as_ref(),
        Some(&receipt),
        "the desk is told what the hub holds of its own report"
    );

    // Ids are scoped to the desk: a second desk using the first desk's id
    // (ids are visible in outbox files) stores under its own name, and
    // neither overwrites nor blocks the first desk's report.
    let (device2, token2) = hub.device();
    let junk = sealed(&hub.recipient, id, 1, "junk from another desk");
    let theirs = hub.upload(&token2, id, 1, &junk);
    assert_eq!(theirs.status(), StatusCode::CREATED);
    let theirs: Receipt = theirs.json().expect("receipt");
    assert_eq!(theirs.device_id.map(|d| d.to_string()), Some(device2));
    let again = hub.upload(&token, id, 1, &body);
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the first desk is not blocked"
    );
    assert_eq!(again.json::<Receipt>().expect("receipt"), receipt);

    // The same desk enrolled again (same device key, new device): a retry
    // of bytes the hub holds gets the original receipt, not a false 409.
    let re_enrolled = hub.enrolled(Some(&desk_key));
    let token3 = re_enrolled["token"].as_str().expect("token");
    let retry = hub.upload(token3, id, 1, &body);
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.json::<Receipt>().expect("receipt"), receipt);

    // Junk put under a desk's id with its stolen token, before the
    // partnership revoked that device, neither blocks the desk once it is
    // enrolled again nor passes for its report.
    let victim_key = SigningKey::generate();
    let stolen = hub.enrolled(Some(&victim_key));
    let theirs_id = Uuid::now_v7();
    let junk = sealed(&hub.recipient, theirs_id, 1, "junk with a stolen token");
    let stolen_token = stolen["token"].as_str().expect("token");
    assert_eq!(
        hub.upload(stolen_token, theirs_id, 1, &junk).status(),
        StatusCode::CREATED
    );
    hub.admin(&["revoke", stolen["device_id"].as_str().expect("id")])
        .ok();
    let again = hub.enrolled(Some(&victim_key));
    let real = sealed(&hub.recipient, theirs_id, 1, "the real report");
    let delivered = hub.upload(again["token"].as_str().expect("token"), theirs_id, 1, &real);
    assert_eq!(
        delivered.status(),
        StatusCode::CREATED,
        "not blocked by the junk"
    );
    let delivered: Receipt = delivered.json().expect("receipt");
    assert_eq!(delivered.digest, content_digest(&real));

    // A desk enrolled before device keys, enrolled again with its first
    // key and its old token as proof: what it stored stays its own, so a
    // report it sends again gets its original receipt, not a second copy.
    let (legacy, legacy_token) = hub.device();
    let old_id = Uuid::now_v7();
    let old_body = sealed(&hub.recipient, old_id, 1, "sent before the upgrade");
    let stored = hub.upload(&legacy_token, old_id, 1, &old_body);
    assert_eq!(stored.status(), StatusCode::CREATED);
    let stored: Receipt = stored.json().expect("receipt");
    let upgraded = hub.enrolled_after(
        Some(&SigningKey::generate()),
        Some((legacy.as_str(), legacy_token.as_str())),
    );
    let again = hub.upload(
        upgraded["token"].as_str().expect("token"),
        old_id,
        1,
        &old_body,
    );
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Receipt>().expect("receipt"), stored);

    // A device key is taken only with proof the desk holds it.
    let code = hub.code("Castle Point CVS");
    let stranger = SigningKey::generate();
    let claim = hub
        .http
        .post(format!("{}/v1/enrol", hub.process.url))
        .json(
            &json!({"code": code, "device_name": "x", "device_key": desk_key.public(),
                      "key_proof": stranger.enrolment_proof(&code)}),
        )
        .send()
        .expect("send");
    assert_eq!(claim.status(), StatusCode::BAD_REQUEST);

    // Bad bodies and headers.
    let r = hub.put(
        &token,
        Uuid::now_v7(),
        1,
        &body,
        Some(&content_digest(b"something else")),
    );
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let garbage = b"this is not an age file at all";
    let r = hub.upload(&token, Uuid::now_v7(), 1, garbage);
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_kind(r), ErrorKind::Unprocessable);
    assert_eq!(
        hub.put(&token, Uuid::now_v7(), 1, &body, None).status(),
        StatusCode::BAD_REQUEST
    );
    let r = hub.put(&token, Uuid::now_v7(), 1, &body, Some("sha-256=:nonsense:"));
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Export decrypts exactly the one stored report, with its receipt.
    let out = hub
        .admin(&[
            "export",
            "--identity",
            &hub.identity.to_string_lossy(),
            "--format",
            "jsonl",
        ])
        .ok();
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "the first desk's report, the other desk's own, the two of the desk whose token was stolen, and the upgraded desk's one"
    );
    let first_desk = lines
        .iter()
        .find(|l| l["receipt"]["receipt_id"] == receipt.receipt_id.to_string())
        .expect("the first desk's report");
    assert_eq!(first_desk["report"]["description"], "first");
}

fn tokens_are_checked_and_revoked_devices_refused_on(backend: Backend) {
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

fn oversized_bodies_get_413_without_the_hub_holding_them_on(backend: Backend) {
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

fn uploads_beyond_the_rate_limit_get_429_with_retry_after_on(backend: Backend) {
    let hub = Hub::start(backend, &["--rate-per-minute", "3"]);
    let (_, token) = hub.device();
    for _ in 0..3 {
        let id = Uuid::now_v7();
        assert_eq!(
            hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, "x"))
                .status(),
            StatusCode::CREATED
        );
    }
    let id = Uuid::now_v7();
    let r = hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, "x"));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait));
}

fn export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext_on(backend: Backend) {
    let mut hub = Hub::start(backend, &[]);
    let (_, token) = hub.device();
    let canary = format!("CANARY-hub-{}", Uuid::now_v7());
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = Uuid::now_v7();
        assert_eq!(
            hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, &canary))
                .status(),
            StatusCode::CREATED
        );
        ids.push(id);
    }
    // One encrypted to a key the partnership does not have.
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    let lost = Uuid::now_v7();
    assert_eq!(
        hub.upload(&token, lost, 1, &sealed(&stranger, lost, 1, &canary))
            .status(),
        StatusCode::CREATED
    );
    // One whose content names another report (a swapped body).
    let swapped = Uuid::now_v7();
    assert_eq!(
        hub.upload(
            &token,
            swapped,
            1,
            &sealed(&hub.recipient, ids[0], 1, &canary)
        )
        .status(),
        StatusCode::CREATED
    );

    let out_file = hub.dir.path().join("export.jsonl");
    let run = hub
        .admin(&[
            "export",
            "--identity",
            &hub.identity.to_string_lossy(),
            "--out",
            &out_file.to_string_lossy(),
        ])
        .expect_code(1);
    assert!(
        run.stderr.contains("Exported 5 report(s)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("does not decrypt"), "{}", run.stderr);
    assert!(run.stderr.contains("another report"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&out_file)
            .expect("export")
            .lines()
            .count(),
        5
    );

    // Restarting the hub keeps everything: a repeat still gets its receipt.
    let first_log = hub.process.log.lock().expect("log").clone();
    hub.restart();
    let id = ids[1];
    assert_eq!(
        hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, &canary))
            .status(),
        StatusCode::CONFLICT,
        "fresh ciphertext of the same revision is another body"
    );

    // Nothing readable on the hub: not in its files, not in its log.
    let started = Instant::now();
    assert!(
        !contains(&hub.backend.dump(&hub.data_path()), &canary),
        "the hub's store holds plaintext"
    );
    let log = first_log + &hub.process.log.lock().expect("log");
    assert!(log.contains("report stored"), "the hub logs events: {log}");
    assert!(!log.contains(&canary) && !log.contains(&token));
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn stops_cleanly_on_sigterm_on(backend: Backend) {
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

/// Every scenario above, on every back end.
mod on_each_backend {
    use super::*;

    #[test]
    fn stops_cleanly_on_sigterm() {
        for backend in backends() {
            super::stops_cleanly_on_sigterm_on(backend);
        }
    }

    #[test]
    fn health_and_unknown_routes() {
        for backend in backends() {
            super::health_and_unknown_routes_on(backend);
        }
    }

    #[test]
    fn enrolment_codes_are_single_use() {
        for backend in backends() {
            super::enrolment_codes_are_single_use_on(backend);
        }
    }

    #[test]
    fn uploads_are_stored_once_with_a_receipt_and_never_changed() {
        for backend in backends() {
            super::uploads_are_stored_once_with_a_receipt_and_never_changed_on(backend);
        }
    }

    #[test]
    fn tokens_are_checked_and_revoked_devices_refused() {
        for backend in backends() {
            super::tokens_are_checked_and_revoked_devices_refused_on(backend);
        }
    }

    #[test]
    fn oversized_bodies_get_413_without_the_hub_holding_them() {
        for backend in backends() {
            super::oversized_bodies_get_413_without_the_hub_holding_them_on(backend);
        }
    }

    #[test]
    fn uploads_beyond_the_rate_limit_get_429_with_retry_after() {
        for backend in backends() {
            super::uploads_beyond_the_rate_limit_get_429_with_retry_after_on(backend);
        }
    }

    #[test]
    fn export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext() {
        for backend in backends() {
            super::export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext_on(
                backend,
            );
        }
    }
}

fn launch(backend: &Backend, data_dir: &Path, recipient: &str, extra: &[&str]) -> HubProcess {
    let mut args: Vec<&str> = extra.to_vec();
    let store = match backend {
        Backend::Sqlite => Vec::new(),
        Backend::Postgres(url) => vec!["--database".to_string(), url.clone()],
    };
    args.extend(store.iter().map(String::as_str));
    HubProcess::start(data_dir, recipient, &args)
}

#[test]
fn a_client_that_dribbles_its_headers_is_cut_off() {
    let hub = Hub::start(Backend::Sqlite, &["--header-timeout", "1"]);
    let addr = hub.process.url.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&addr).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(slow, "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\n").expect("half the headers");
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
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
        .timeout(Duration::from_secs(8))
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
    assert!(
        process
            .log
            .lock()
            .expect("log")
            .contains("connection limit reached"),
        "the hub says why it closes connections"
    );
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

/// Every answer is the protocol's JSON, whatever went wrong, and none
/// repeats what the client sent.
#[test]
fn every_error_is_json_and_echoes_nothing() {
    let hub = Hub::start(Backend::Sqlite, &["--request-timeout", "1"]);
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

    let wrong_method = hub
        .http
        .delete(format!("{}/v1/health", hub.process.url))
        .send()
        .expect("send");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_kind(wrong_method), ErrorKind::BadRequest);

    // A body announced and never sent: 408 after the request timeout.
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
