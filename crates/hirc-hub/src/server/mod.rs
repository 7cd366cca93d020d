//! The hub's HTTP API, protocol v1 (docs/protocol.md).
//!
//! [`router`] builds the service for in-process use; [`serve`] runs it on a
//! bound listener until a shutdown future resolves, so tests can start a
//! real hub on a loopback port. Every error is JSON ([`hirc_proto::ErrorBody`])
//! with its status code, and no request can change what is already stored
//! (the one deletion is an erasure at the person's request, signed by the
//! desk that sent the report).

mod erasures;
mod evidence;
mod limits;
mod listen;
mod metrics;
mod routes;
mod statuses;

pub use limits::AuthDevice;
pub use listen::{Listen, serve, serve_with, tls_config};
pub use metrics::Metrics;

use listen::MAX_ENROL_BYTES;
use routes::{enrol, health, ready, receipt_key, upload};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hirc_proto::sign::SigningKey;
use hirc_proto::{ErrorBody, ErrorKind, PROTOCOL_HEADER, PROTOCOL_VERSION, RECEIPT_KEY_PATH};
use uuid::Uuid;

use crate::store::HubStore;

/// What the server needs besides its store.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Shown to desks at enrolment.
    pub hub_name: String,
    /// The partnership's age recipients, given to desks at enrolment.
    pub recipients: Vec<String>,
    /// The largest upload accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest item of evidence accepted, in bytes.
    pub max_evidence_bytes: u64,
    /// The most evidence one desk may send in any 24 hours, in bytes,
    /// counted by when the bytes arrived.
    pub evidence_bytes_per_day: u64,
    /// Uploads allowed per device per minute.
    pub rate_per_minute: u32,
    /// How long one request may take, body included (slow clients are cut off).
    pub request_timeout: Duration,
    /// Failed enrolment codes and tokens allowed per client address per
    /// minute; past it the address is answered 429 until the minute is up.
    pub auth_failures_per_minute: u32,
    /// Behind a reverse proxy on this machine: take the client's address
    /// from the proxy's `X-Forwarded-For` (only ever from a loopback peer).
    pub trust_forwarded_for: bool,
    /// The bearer token that opens `GET /metrics`; without one the metrics
    /// are off.
    pub metrics_token: Option<String>,
    /// How long an item of evidence that no revision names may go without
    /// a byte before it is swept away (`None`: never). A desk still sending
    /// it starts it again.
    pub unnamed_evidence_idle: Option<chrono::Duration>,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            hub_name: "HIRC hub".into(),
            recipients: Vec::new(),
            // A report with a long account is a few KiB once encrypted;
            // 1 MiB leaves room for years of format growth.
            max_body_bytes: 1024 * 1024,
            // A desk allows 25 MiB a file by default, and a coordinator up
            // to 2 GiB: the hub takes what any desk may send (age adds 16
            // bytes in 64 KiB).
            max_evidence_bytes: 2100 * 1024 * 1024,
            evidence_bytes_per_day: 4096 * 1024 * 1024,
            rate_per_minute: 600,
            request_timeout: Duration::from_secs(30),
            auth_failures_per_minute: 30,
            trust_forwarded_for: false,
            metrics_token: None,
            unnamed_evidence_idle: Some(chrono::Duration::days(30)),
        }
    }
}

/// Shared state of the running hub.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn HubStore>,
    config: Arc<HubConfig>,
    receipt_key: Arc<SigningKey>,
    windows: Arc<Mutex<HashMap<Uuid, (Instant, u32)>>>,
    failures: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
    metrics: Arc<Metrics>,
    /// The last minute whose first shared hit forgot the minutes before.
    limits_minute: Arc<std::sync::atomic::AtomicI64>,
    /// Places for chunks of evidence being read and stored.
    evidence_places: Arc<evidence::EvidencePlaces>,
}

impl AppState {
    /// State over a store, a configuration and the key receipts are signed
    /// with.
    pub fn new(store: Arc<dyn HubStore>, config: HubConfig, receipt_key: SigningKey) -> Self {
        let metrics = Arc::new(Metrics::new(store.clone()));
        Self {
            store,
            config: Arc::new(config),
            receipt_key: Arc::new(receipt_key),
            windows: Arc::default(),
            failures: Arc::default(),
            metrics,
            limits_minute: Arc::default(),
            evidence_places: Arc::new(evidence::EvidencePlaces::new(EVIDENCE_BODIES_AT_ONCE)),
        }
    }

    /// Awaits a store call, counted in the metrics; a store failure is a
    /// 500 the desk retries.
    pub(super) async fn stored<T>(
        &self,
        call: impl Future<Output = crate::store::Result<T>>,
    ) -> Result<T, ApiError> {
        let _counted = self.metrics.store_started();
        call.await.map_err(|e| {
            self.metrics.store_failed();
            tracing::error!(error = %e, "store failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorKind::Internal,
                "the hub could not reach its storage; try again later",
            )
            .retry_after(30)
        })
    }
}

/// The address a request came from (set for every connection by
/// [`serve_with`]).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Most client addresses whose failures are remembered: a flood from many
/// addresses cannot grow the table without bound.
const MAX_REMEMBERED_ADDRESSES: usize = 100_000;

/// The least time a request about evidence may take, body included.
const EVIDENCE_TIMEOUT: Duration = Duration::from_secs(180);
/// Chunks of evidence read at once: each is held whole (at most
/// [`hirc_proto::MAX_EVIDENCE_CHUNK`]) until stored.
const EVIDENCE_BODIES_AT_ONCE: usize = 16;

/// The API.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let timeout = state.config.request_timeout;
    // A chunk of evidence is megabytes: a desk on a slow line (a hotspot
    // in a village hall) needs minutes for one, which the API's timeout
    // would cut off every time. Its body is read only once the desk is
    // known and a place is free (`evidence::put_chunk`).
    let evidence = Router::new()
        .route(
            "/v1/reports/{report_id}/evidence/{evidence_id}",
            get(evidence::held).put(evidence::put_chunk),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout.max(EVIDENCE_TIMEOUT),
        ));
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ready", get(ready))
        .route("/metrics", get(metrics::metrics))
        // An enrolment is a few hundred bytes: a small limit, so a client
        // cannot hold a connection busy for long sending a large one.
        .route(
            "/v1/enrol",
            post(enrol).layer(DefaultBodyLimit::max(MAX_ENROL_BYTES)),
        )
        .route(RECEIPT_KEY_PATH, get(receipt_key))
        .route("/v1/reports/{report_id}/revisions/{revision}", put(upload))
        .route(
            "/v1/status-key",
            put(statuses::set_status_key).layer(DefaultBodyLimit::max(MAX_ENROL_BYTES)),
        )
        .route("/v1/statuses", get(statuses::statuses))
        .route(
            "/v1/reports/{report_id}/erasure",
            post(erasures::erase).layer(DefaultBodyLimit::max(MAX_ENROL_BYTES)),
        )
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorKind::NotFound,
                "no such endpoint in protocol v1",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .merge(evidence)
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::map_response(stamp_protocol))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(with_request_id))
        .with_state(state)
}

/// Every error answer is the protocol's JSON, whoever made it: axum's own
/// rejections (a bad id in the path, a wrong method) and the timeout layer
/// answer in plain text or with an empty body, and plain text can echo
/// what the client sent.
async fn json_errors(mut response: Response) -> Response {
    let status = response.status();
    // Refused before its body was read (too large, too slow): the
    // connection cannot carry another request, and the client must be told,
    // or it sends the next one down a connection the hub is closing.
    if matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
    ) {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (kind, message) = match status {
        StatusCode::NOT_FOUND => (ErrorKind::NotFound, "no such endpoint in protocol v1"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorKind::BadRequest,
            "that method is not allowed on this endpoint",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorKind::BadRequest,
            "the request took too long to arrive; try again",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorKind::TooLarge, "the request is too large"),
        StatusCode::UNPROCESSABLE_ENTITY => {
            (ErrorKind::Unprocessable, "the request could not be read")
        }
        s if s.is_server_error() => (ErrorKind::Internal, "the hub failed; try again later"),
        _ => (
            ErrorKind::BadRequest,
            "the request is not valid for protocol v1",
        ),
    };
    let mut fixed = ApiError::new(status, kind, message).into_response();
    for name in [header::RETRY_AFTER, header::CONNECTION] {
        if let Some(value) = response.headers().get(&name) {
            fixed.headers_mut().insert(name, value.clone());
        }
    }
    fixed
}

/// The header a request's id travels in, both ways.
const REQUEST_ID: &str = "x-request-id";

/// Every request has an id, in every log line it causes and in its
/// answer's `X-Request-Id`: the one a proxy or client gave, if it is a
/// short plain token (it may lie, so nothing else is kept), or a new one.
async fn with_request_id(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use tracing::Instrument as _;
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_string);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

pub(super) async fn stamp_protocol(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from_static(PROTOCOL_VERSION));
    response
}

/// An error answer: a status, a JSON body and maybe `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Box<ErrorBody>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: kind,
                message: message.into(),
                receipt: None,
            }),
            retry_after: None,
        }
    }

    pub(super) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(*self.body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
