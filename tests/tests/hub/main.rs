//! The hub over real HTTP on loopback: a real `hirc-hub` process, its real
//! admin commands and its real SQLite file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hirc_e2e::{Backend, HubProcess, hub_admin};
use hirc_proto::sign::SigningKey;
use hirc_proto::{DIGEST_HEADER, ErrorBody, ErrorKind, content_digest, report_path};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use uuid::Uuid;

mod devices;
mod evidence;
mod limits;
mod on_each_backend;
mod service;
mod uploads;

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

pub(crate) fn launch(
    backend: &Backend,
    data_dir: &Path,
    recipient: &str,
    extra: &[&str],
) -> HubProcess {
    let mut args: Vec<&str> = extra.to_vec();
    let store = match backend {
        Backend::Sqlite => Vec::new(),
        Backend::Postgres(url) => vec!["--database".to_string(), url.clone()],
    };
    args.extend(store.iter().map(String::as_str));
    HubProcess::start(data_dir, recipient, &args)
}
