//! The desk's HTTP client for protocol v1: one `reqwest::Client` with
//! connect and request timeouts, and one function that turns every answer
//! into a receipt or an [`UploadError`] the worker can act on.

use std::time::Duration;

use hirc_proto::sign::SigningKey;
use hirc_proto::{
    DIGEST_HEADER, EVIDENCE_DIGEST_HEADER, EVIDENCE_HEADER, EnrolRequest, EnrolResponse, ErrorBody,
    ErrorKind, EvidenceItem, EvidenceState, PROTOCOL_HEADER, PROTOCOL_VERSION, PreviousDevice,
    RECEIPT_KEY_PATH, Receipt, ReceiptKey, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER,
    content_digest, evidence_header, evidence_manifest_digest, evidence_path, report_path,
};
use reqwest::StatusCode;
use uuid::Uuid;

/// Why an upload (or an enrolment) did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UploadError {
    /// No answer: offline, refused connection, timeout, reset.
    #[error("the hub could not be reached ({0})")]
    Unreachable(String),
    /// Something answered at the hub's address with a certificate this desk
    /// does not trust (another authority, wrong name, expired): nothing was
    /// sent. Tried again later, as when offline: a certificate can be put
    /// right at the hub, or the desk enrolled again with the partnership's
    /// authority.
    #[error(
        "the hub could not be reached: its certificate is not trusted; if the partnership uses its own certificate authority, the desk must be enrolled again with that authority's certificate"
    )]
    CertificateRefused,
    /// The hub answered, but asked us to come back later (408, 429, 5xx).
    #[error("the hub is busy or failing (HTTP {status}): {message}")]
    Busy {
        /// The status code.
        status: u16,
        /// What it said.
        message: String,
        /// Its `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The hub refused, and asking again will not help (401, 409, 413, 422…).
    #[error("{message}")]
    Refused {
        /// The status code.
        status: u16,
        /// The hub's error word.
        kind: Option<ErrorKind>,
        /// What it said (or what we say it means).
        message: String,
    },
    /// The answer was not what protocol v1 promises (a proxy's page, a
    /// redirect, an empty success…): tried again later, never taken as a
    /// refusal.
    #[error("the hub's answer could not be understood ({0})")]
    BadAnswer(String),
    /// 409: this desk stored the revision earlier with other bytes (it was
    /// encrypted again after the partnership's keys were replaced); the
    /// hub's receipt for what it holds, for the desk to check.
    #[error("the hub already holds this report from this desk")]
    AlreadyHeld(Box<Receipt>),
    /// The hub's address or certificate authority cannot be used, so no
    /// request was made: the hub said nothing, and waiting will not help
    /// until the desk's settings are put right.
    #[error("{0}")]
    Config(String),
    /// The desk could not read what it was to send (its copy of an item of
    /// evidence for the hub): tried again later.
    #[error("the desk could not read the evidence to send ({0})")]
    Local(String),
}

/// The longest wait a hub's `Retry-After` can ask for: a hub (or something
/// pretending to be one) cannot park a report for years.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// The most of an error answer that is read: its message is shown, logged
/// and stored, so a hub cannot fill the desk with it.
const MAX_ERROR_BODY: usize = 16 * 1024;
/// The most of a receipt or enrolment answer that is read.
const MAX_ANSWER_BODY: usize = 64 * 1024;
/// The most a page of statuses may be: a hundred, each a short note in a
/// few kilobytes of ciphertext.
const MAX_STATUS_PAGE: usize = 1024 * 1024;

impl UploadError {
    /// Whether trying again later may succeed. A configuration error will
    /// not, but it is no refusal either: it belongs to the desk, not to a
    /// report (see [`UploadError::is_config`]).
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            Self::Refused { .. } | Self::AlreadyHeld(_) | Self::Config(_)
        )
    }

    /// Whether the desk's own hub settings are at fault, so that nothing
    /// was sent and nothing is to be recorded against a report.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config(_))
    }

    /// Whether no hub was reached (offline, or a certificate not trusted):
    /// no new uploads are started this pass.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::CertificateRefused)
    }

    /// How long the hub asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Busy { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the hub no longer accepts this desk at all (revoked/unknown).
    pub fn is_device_refused(&self) -> bool {
        matches!(self, Self::Refused { status: 401, .. })
    }
}

/// A client for one hub.
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
}

impl HubClient {
    /// A client for the hub at `base` (e.g. `https://hub.example.org`),
    /// trusting the public web's certificate authorities plus `ca_pem` (a
    /// partnership's own authority), if given. Plain `http://` is allowed to
    /// loopback only: reports are encrypted end to end, but tokens are not.
    pub fn new(base: &str, ca_pem: Option<&str>) -> Result<Self, UploadError> {
        let base = base.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base)
            .map_err(|_| UploadError::Config(format!("{base} is not a URL; use https://…")))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(UploadError::Config(format!(
                "{base} must use https:// (plain http:// is allowed only to this computer)"
            )));
        }
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|_| {
                UploadError::Config(
                    "the hub's certificate authority file is not a PEM certificate".into(),
                )
            })?;
            builder = builder.add_root_certificate(cert);
        }
        // Redirects are not followed: a 307 to another address (plain HTTP,
        // say) would take the token and the ciphertext there.
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("hirc-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                // Building contacts no one: what fails here is the
                // certificate authority given (a PEM block that is not a
                // certificate) or this computer's TLS set-up.
                tracing::warn!("the HTTP client could not be built: {e:?}");
                UploadError::Config(if ca_pem.is_some() {
                    "the hub's certificate authority file holds no certificate that can be trusted"
                        .into()
                } else {
                    "this computer could not set up a secure connection to the hub".into()
                })
            })?;
        Ok(Self { http, base })
    }

    /// Registers this desk with a single-use code, and its device key with
    /// proof that it holds it.
    pub async fn enrol(
        &self,
        code: &str,
        device_name: &str,
        device_key: &SigningKey,
        previous: Option<PreviousDevice>,
    ) -> Result<EnrolResponse, UploadError> {
        let code = code.trim();
        let response = self
            .http
            .post(format!("{}/v1/enrol", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .json(&EnrolRequest {
                code: code.into(),
                device_name: device_name.into(),
                device_key: Some(device_key.public()),
                key_proof: Some(device_key.enrolment_proof(code)),
                previous,
            })
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status == StatusCode::CREATED || status == StatusCode::OK {
            let body = read_limited(response, MAX_ANSWER_BODY).await?;
            return serde_json::from_slice(&body)
                .map_err(|_| UploadError::BadAnswer("the enrolment answer is not JSON".into()));
        }
        Err(error_from(response).await)
    }

    /// The hub's receipt key, for a desk enrolled before receipts were
    /// signed (asked with the desk's own token).
    pub async fn receipt_key(&self, token: &str) -> Result<String, UploadError> {
        let response = self
            .http
            .get(format!("{}{RECEIPT_KEY_PATH}", self.base))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() == StatusCode::OK {
            let body = read_limited(response, MAX_ANSWER_BODY).await?;
            let key: ReceiptKey = serde_json::from_slice(&body)
                .map_err(|_| UploadError::BadAnswer("the receipt key answer is not JSON".into()))?;
            return Ok(key.receipt_key);
        }
        Err(error_from(response).await)
    }

    /// Registers this desk's status key: the partnership's word back on
    /// its reports is encrypted to it.
    pub async fn register_status_key(
        &self,
        token: &str,
        recipient: &str,
    ) -> Result<(), UploadError> {
        let response = self
            .http
            .put(format!("{}/v1/status-key", self.base))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .json(&hirc_proto::StatusKey {
                recipient: recipient.to_owned(),
            })
            .send()
            .await
            .map_err(unreachable)?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(error_from(response).await)
    }

    /// Sends an erasure notice (signed by the desk when a coordinator
    /// erased the report); the hub's receipt is the engine's to check.
    pub async fn erase(
        &self,
        token: &str,
        notice: &hirc_proto::ErasureNotice,
    ) -> Result<hirc_proto::ErasureReceipt, UploadError> {
        let response = self
            .http
            .post(format!(
                "{}/v1/reports/{}/erasure",
                self.base, notice.report_id
            ))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .json(notice)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() == StatusCode::OK {
            let body = read_limited(response, MAX_ANSWER_BODY).await?;
            return serde_json::from_slice(&body)
                .map_err(|_| UploadError::BadAnswer("the erasure's receipt is not JSON".into()));
        }
        Err(error_from(response).await)
    }

    /// The statuses on this desk's reports after `after`, a page at a time
    /// (the signatures are the engine's to check).
    pub async fn statuses(
        &self,
        token: &str,
        after: i64,
    ) -> Result<Vec<hirc_proto::StatusNotice>, UploadError> {
        let response = self
            .http
            .get(format!("{}/v1/statuses?after={after}", self.base))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() == StatusCode::OK {
            let body = read_limited(response, MAX_STATUS_PAGE).await?;
            let list: hirc_proto::StatusList = serde_json::from_slice(&body)
                .map_err(|_| UploadError::BadAnswer("the statuses answer is not JSON".into()))?;
            if list.statuses.len() > hirc_proto::MAX_STATUSES_PER_PAGE
                || list.statuses.iter().any(|n| n.seq <= after)
            {
                return Err(UploadError::BadAnswer(
                    "the statuses answer is not the page asked for".into(),
                ));
            }
            return Ok(list.statuses);
        }
        Err(error_from(response).await)
    }

    /// How much of an item of evidence the hub holds.
    pub async fn evidence_state(
        &self,
        token: &str,
        report_id: Uuid,
        evidence_id: Uuid,
    ) -> Result<EvidenceState, UploadError> {
        let response = self
            .http
            .get(format!(
                "{}{}",
                self.base,
                evidence_path(report_id, evidence_id)
            ))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .send()
            .await
            .map_err(unreachable)?;
        evidence_answer(response).await
    }

    /// Sends one chunk of an item of evidence, from `offset`, with its
    /// `Content-Digest` value (`digest`, made where the chunk was read);
    /// returns how much the hub holds now (which may not be what was sent:
    /// the desk goes on from what the hub says).
    pub async fn put_evidence_chunk(
        &self,
        token: &str,
        report_id: Uuid,
        item: &EvidenceItem,
        offset: u64,
        chunk: Vec<u8>,
        digest: &str,
    ) -> Result<EvidenceState, UploadError> {
        let response = self
            .http
            .put(format!(
                "{}{}",
                self.base,
                evidence_path(report_id, item.id)
            ))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .header(DIGEST_HEADER, digest)
            .header(UPLOAD_OFFSET_HEADER, offset)
            .header(UPLOAD_LENGTH_HEADER, item.length)
            .header(EVIDENCE_DIGEST_HEADER, &item.digest)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(chunk)
            .send()
            .await
            .map_err(unreachable)?;
        evidence_answer(response).await
    }

    /// Uploads one revision (after its evidence, named in `evidence`);
    /// returns the hub's receipt (its signature is the engine's to check),
    /// after checking it names what was sent.
    pub async fn upload(
        &self,
        token: &str,
        report_id: Uuid,
        revision: u32,
        payload: Vec<u8>,
        evidence: &[EvidenceItem],
    ) -> Result<Receipt, UploadError> {
        let digest = content_digest(&payload);
        let mut request = self
            .http
            .put(format!("{}{}", self.base, report_path(report_id, revision)))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION)
            .header(DIGEST_HEADER, &digest)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream");
        if !evidence.is_empty() {
            request = request.header(EVIDENCE_HEADER, evidence_header(evidence));
        }
        let response = request.body(payload).send().await.map_err(unreachable)?;
        let status = response.status();
        if status == StatusCode::CREATED || status == StatusCode::OK {
            let body = read_limited(response, MAX_ANSWER_BODY).await?;
            let receipt: Receipt = serde_json::from_slice(&body)
                .map_err(|_| UploadError::BadAnswer("the receipt is not JSON".into()))?;
            let manifest = (!evidence.is_empty()).then(|| evidence_manifest_digest(evidence));
            if receipt.report_id != report_id
                || receipt.revision != revision
                || receipt.digest != digest
                || (manifest.is_some() && receipt.evidence != manifest)
            {
                return Err(UploadError::BadAnswer(
                    "the receipt is for another upload".into(),
                ));
            }
            return Ok(receipt);
        }
        Err(error_from(response).await)
    }
}

/// The hub's answer about an item of evidence.
async fn evidence_answer(response: reqwest::Response) -> Result<EvidenceState, UploadError> {
    let from_hub = response
        .headers()
        .get(PROTOCOL_HEADER)
        .is_some_and(|v| v.as_bytes() == PROTOCOL_VERSION.as_bytes());
    if response.status() == StatusCode::NOT_FOUND && from_hub {
        // A hub older than evidence: the report waits (it is not refused)
        // until the partnership upgrades it.
        return Err(UploadError::Busy {
            status: 404,
            message: "the hub does not take evidence yet (it is older than this desk): the partnership upgrades it, and the report goes then".into(),
            retry_after: None,
        });
    }
    if response.status() == StatusCode::OK {
        let body = read_limited(response, MAX_ANSWER_BODY).await?;
        return serde_json::from_slice(&body).map_err(|_| {
            UploadError::BadAnswer("the hub's answer about evidence is not JSON".into())
        });
    }
    Err(error_from(response).await)
}

fn unreachable(e: reqwest::Error) -> UploadError {
    // Never include the URL's token or body; say only what kind of failure.
    tracing::debug!(error = ?e, "the hub could not be reached");
    if certificate_refused(&e) {
        return UploadError::CertificateRefused;
    }
    UploadError::Unreachable(if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the connection failed".into()
    })
}

/// Whether the connection failed because the hub's certificate was not
/// trusted (unknown authority, wrong name, expired…), by rustls's own error
/// in the chain. The TLS layers wrap it in `io::Error`s, whose `source()`
/// skips what they wrap, so those are opened with `get_ref()` instead.
fn certificate_refused(e: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

/// Reads at most `limit` bytes of a body; more is an answer no hub gives.
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, UploadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > limit {
            return Err(UploadError::BadAnswer(format!(
                "the answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` in seconds (the form hubs send), capped.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// The error kind a HIRC hub sends with each status it refuses with for
/// good; anything else (a proxy's 403 or 404, a page of HTML) is not the
/// hub's refusal and is tried again later.
fn refusal_kind(status: u16) -> Option<ErrorKind> {
    match status {
        400 => Some(ErrorKind::BadRequest),
        401 => Some(ErrorKind::Unauthorized),
        409 => Some(ErrorKind::Conflict),
        // An upload of a report erased at the person's request.
        410 => Some(ErrorKind::Erased),
        413 => Some(ErrorKind::TooLarge),
        422 => Some(ErrorKind::Unprocessable),
        _ => None,
    }
}

async fn error_from(response: reqwest::Response) -> UploadError {
    let status = response.status();
    let code = status.as_u16();
    let wait = retry_after(response.headers());
    let from_hub = response
        .headers()
        .get(PROTOCOL_HEADER)
        .is_some_and(|v| v.as_bytes() == PROTOCOL_VERSION.as_bytes());
    let body: Option<ErrorBody> = match read_limited(response, MAX_ERROR_BODY).await {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(_) => None,
    };
    if code == 409
        && from_hub
        && let Some(receipt) = body.as_ref().and_then(|b| b.receipt.clone())
    {
        return UploadError::AlreadyHeld(Box::new(receipt));
    }
    let kind = body.as_ref().map(|b| b.error);
    // Evidence not whole at the hub yet: the next pass sends what is
    // missing, then the report again.
    if code == 409 && from_hub && kind == Some(ErrorKind::EvidenceIncomplete) {
        return UploadError::Busy {
            status: code,
            message: body
                .map(|b| hirc_core::outbox::tidy_reason(&b.message))
                .unwrap_or_default(),
            retry_after: wait,
        };
    }
    let said = body
        .as_ref()
        .map(|b| hirc_core::outbox::tidy_reason(&b.message))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    match code {
        408 | 429 | 500..=599 => UploadError::Busy {
            status: code,
            message: said,
            retry_after: wait,
        },
        // 410 is also an enrolment code used or expired.
        _ if from_hub
            && kind.is_some()
            && (kind == refusal_kind(code)
                || (code == 410 && kind == Some(ErrorKind::CodeUsed))) =>
        {
            if code == 401 {
                UploadError::Refused {
                    status: 401,
                    kind,
                    message: format!("the hub no longer accepts this desk: {said}"),
                }
            } else if kind == Some(ErrorKind::Erased) {
                // The report is back at a desk restored from an older copy:
                // the person's wish stands, and the desk must honour it too.
                UploadError::Refused {
                    status: code,
                    kind,
                    message: format!(
                        "the hub refused this report: {said}. This desk holds it again (it was restored from a copy made before the erasure): a coordinator erases it here too (Find the report, then Erase this report; or hirc report erase with its reference)"
                    ),
                }
            } else {
                UploadError::Refused {
                    status: code,
                    kind,
                    message: format!("the hub refused this report (HTTP {code}): {said}"),
                }
            }
        }
        300..=399 => UploadError::BadAnswer(format!(
            "HTTP {code}: the hub's address redirects elsewhere, which is not followed; check the address"
        )),
        _ => UploadError::BadAnswer(format!(
            "HTTP {code} without the hub's own answer: a proxy or another service may be in the way"
        )),
    }
}
