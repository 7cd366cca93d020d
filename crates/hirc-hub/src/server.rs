//! The hub's HTTP API, protocol v1 (docs/protocol.md).
//!
//! [`router`] builds the service for in-process use; [`serve`] runs it on a
//! bound listener until a shutdown future resolves, so tests can start a
//! real hub on a loopback port. Every error is JSON ([`hirc_proto::ErrorBody`])
//! with its status code, and no request can change what is already stored.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use hirc_proto::sign::{SigningKey, is_public_key, verify_enrolment_proof};
use hirc_proto::{
    DIGEST_HEADER, EnrolRequest, EnrolResponse, ErrorBody, ErrorKind, Health, PROTOCOL_HEADER,
    PROTOCOL_VERSION, RECEIPT_KEY_PATH, Receipt, ReceiptKey, parse_content_digest,
};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::secrets;
use crate::store::{Device, HubStore, Put, Redeem};

/// What the server needs besides its store.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Shown to desks at enrolment.
    pub hub_name: String,
    /// The partnership's age recipients, given to desks at enrolment.
    pub recipients: Vec<String>,
    /// The largest upload accepted, in bytes.
    pub max_body_bytes: usize,
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
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            hub_name: "HIRC hub".into(),
            recipients: Vec::new(),
            // A report with a long account is a few KiB once encrypted;
            // 1 MiB leaves room for years of format growth.
            max_body_bytes: 1024 * 1024,
            rate_per_minute: 600,
            request_timeout: Duration::from_secs(30),
            auth_failures_per_minute: 30,
            trust_forwarded_for: false,
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
}

impl AppState {
    /// State over a store, a configuration and the key receipts are signed
    /// with.
    pub fn new(store: Arc<dyn HubStore>, config: HubConfig, receipt_key: SigningKey) -> Self {
        Self {
            store,
            config: Arc::new(config),
            receipt_key: Arc::new(receipt_key),
            windows: Arc::default(),
            failures: Arc::default(),
        }
    }
}

/// The address a request came from (set for every connection by
/// [`serve_with`]).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Most client addresses whose failures are remembered: a flood from many
/// addresses cannot grow the table without bound.
const MAX_REMEMBERED_ADDRESSES: usize = 100_000;

/// The API.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let timeout = state.config.request_timeout;
    Router::new()
        .route("/v1/health", get(health))
        // An enrolment is a few hundred bytes: a small limit, so a client
        // cannot hold a connection busy for long sending a large one.
        .route(
            "/v1/enrol",
            post(enrol).layer(DefaultBodyLimit::max(MAX_ENROL_BYTES)),
        )
        .route(RECEIPT_KEY_PATH, get(receipt_key))
        .route("/v1/reports/{report_id}/revisions/{revision}", put(upload))
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
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::map_response(stamp_protocol))
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

/// How connections are accepted.
#[derive(Clone)]
pub struct Listen {
    /// TLS (rustls), or plain HTTP when `None` (loopback only: `main` checks).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long a client may take to send its request headers (and, with
    /// TLS, its handshake): a slow-loris client is cut off after this.
    pub header_timeout: Duration,
    /// Connections open at once. At the limit a new connection takes the
    /// place of the oldest one with no request in progress (an idle or
    /// dribbling client), so a flood of idle connections can neither use up
    /// the hub's file descriptors nor keep a real request out.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold at once, so
    /// one slow client cannot take every slot; 0 for no limit (behind a
    /// load balancer on another host). Loopback is never limited.
    pub max_per_address: usize,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            tls: None,
            header_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_per_address: 64,
        }
    }
}

/// The largest enrolment request read.
const MAX_ENROL_BYTES: usize = 8 * 1024;

/// The most a request's headers may take (hyper's default is about
/// 400 KiB per connection, which a thousand unfinished requests turn into
/// hundreds of MiB).
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// One open connection: how to close it, and whether a request is in
/// progress on it.
struct Slot {
    close: tokio::sync::oneshot::Sender<()>,
    busy: Arc<AtomicUsize>,
    address: IpAddr,
}

/// The address a per-address limit counts by: the IPv4 address, or the
/// IPv6 /64 (one client is often given a whole /64).
fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(std::net::Ipv6Addr::from(octets))
        }
        v4 => v4,
    }
}

/// Frees a connection's slot when its task ends, however it ends (a panic
/// in a handler included), so a slot can never leak.
struct SlotGuard {
    slots: Arc<Mutex<BTreeMap<u64, Slot>>>,
    id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Serves plain HTTP on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Listen::default(), shutdown).await
}

/// Serves on `listener` as `listen` says until `shutdown` resolves, then
/// lets requests in flight finish (up to 10 s).
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    listen: Listen,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(state);
    let acceptor = listen.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let slots: Arc<Mutex<BTreeMap<u64, Slot>>> = Arc::default();
    let mut next_id = 0u64;
    let last_warned = AtomicU64::new(0);
    let started = Instant::now();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: pause, don't spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let busy = Arc::new(AtomicUsize::new(0));
                let (close_tx, close_rx) = tokio::sync::oneshot::channel::<()>();
                {
                    let mut open = slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let address = client_network(peer.ip());
                    if listen.max_per_address > 0
                        && !address.is_loopback()
                        && open.values().filter(|s| s.address == address).count() >= listen.max_per_address
                    {
                        // That client's own oldest idle connection makes room;
                        // if all of them are mid-request, this one is refused.
                        let idle = open
                            .iter()
                            .find(|(_, s)| s.address == address && s.busy.load(Ordering::SeqCst) == 0)
                            .map(|(id, _)| *id);
                        match idle.and_then(|id| open.remove(&id)) {
                            Some(oldest) => {
                                let _ = oldest.close.send(());
                            }
                            None => {
                                let now = started.elapsed().as_secs() + 10;
                                if last_warned.swap(now, Ordering::SeqCst) + 10 <= now {
                                    tracing::warn!(client = %address, limit = listen.max_per_address, "one client holds too many connections, all busy: refusing more from it");
                                }
                                drop(stream);
                                continue;
                            }
                        }
                    }
                    if open.len() >= listen.max_connections.max(1) {
                        // At most one warning every ten seconds.
                        let now = started.elapsed().as_secs() + 10;
                        if last_warned.swap(now, Ordering::SeqCst) + 10 <= now {
                            tracing::warn!(limit = listen.max_connections, "connection limit reached: closing the oldest idle connections");
                        }
                        let idle = open
                            .iter()
                            .find(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
                            .map(|(id, _)| *id);
                        match idle.and_then(|id| open.remove(&id)) {
                            Some(oldest) => {
                                let _ = oldest.close.send(());
                            }
                            None => {
                                // Every connection is mid-request: this one is
                                // refused and its client tries again.
                                drop(stream);
                                continue;
                            }
                        }
                    }
                    open.insert(next_id, Slot { close: close_tx, busy: busy.clone(), address });
                }
                let id = next_id;
                next_id += 1;
                let service = with_peer(router.clone(), peer, busy);
                let (acceptor, stop, timeout, slots) = (acceptor.clone(), stop_rx.clone(), listen.header_timeout, slots.clone());
                connections.spawn(async move {
                    let _slot = SlotGuard { slots, id };
                    let serve = async move {
                        match acceptor {
                            Some(acceptor) => {
                                if let Ok(Ok(tls)) = tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                                    serve_connection(hyper_util::rt::TokioIo::new(tls), service, timeout, stop).await;
                                }
                            }
                            None => serve_connection(hyper_util::rt::TokioIo::new(stream), service, timeout, stop).await,
                        }
                    };
                    tokio::select! {
                        () = serve => {}
                        _ = close_rx => {}
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// The router for one connection: every request learns the client's
/// address, and the connection's `busy` count says whether a request is in
/// progress (an idle connection may be closed to make room).
fn with_peer(
    router: Router,
    peer: SocketAddr,
    busy: Arc<AtomicUsize>,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
        axum::http::Request<hyper::body::Incoming>,
        Response = Response,
        Error = std::convert::Infallible,
        Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send,
    > + Clone
    + Send
    + 'static,
> {
    let done = busy.clone();
    let service = tower::ServiceBuilder::new()
        .map_response(move |response: Response| {
            done.fetch_sub(1, Ordering::SeqCst);
            response
        })
        .map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                busy.fetch_add(1, Ordering::SeqCst);
                request.extensions_mut().insert(Peer(peer));
                request
            },
        )
        .service(router);
    hyper_util::service::TowerToHyperService::new(service)
}

async fn serve_connection<I, S>(
    io: I,
    service: S,
    header_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A rustls server configuration from PEM files (ring provider: no C
/// toolchain needed beyond what SQLite needs).
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| anyhow::anyhow!("could not read the certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("could not read the private key {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| anyhow::anyhow!("the certificate and key do not work together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

async fn stamp_protocol(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from_static(PROTOCOL_VERSION));
    response
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        protocol: PROTOCOL_VERSION.into(),
    })
}

async fn enrol(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    body: Result<Json<EnrolRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let client = state.client(peer.as_deref(), &headers);
    state.check_guessing(client)?;
    let Json(request) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge,
                "an enrolment request is a few hundred bytes; this one is far larger",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                format!("the enrolment request is not valid: {}", e.body_text()),
            )
        }
    })?;
    let name = request.device_name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::BadRequest,
            "device_name must be 1 to 100 printable characters",
        ));
    }
    // A device key is registered only with proof that the desk holds it:
    // nobody can claim another desk's key (and so its report ids).
    let device_key = match (&request.device_key, &request.key_proof) {
        (None, _) => None,
        (Some(key), Some(proof))
            if is_public_key(key) && verify_enrolment_proof(key, &request.code, proof).is_ok() =>
        {
            Some(key.trim().to_string())
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "the device key is not a key, or its proof does not match the code",
            ));
        }
    };
    let code_hash = secrets::hash(&secrets::normalise_code(&request.code));
    let token = secrets::new_token();
    let token_hash = secrets::hash(&token);
    let store = state.store.clone();
    let previous = request.previous.clone();
    let outcome = blocking(move || {
        let outcome = store.redeem(
            &code_hash,
            &name,
            &token_hash,
            device_key.as_deref(),
            Utc::now(),
        )?;
        // The desk was this device before: proved by that device's token
        // (not a revoked one), a device from before device keys takes the
        // desk's key. The enrolment stands even if this fails.
        if let (Redeem::Enrolled(_), Some(key), Some(previous)) = (&outcome, &device_key, &previous)
        {
            let adopted = store
                .device_by_token(&secrets::hash(previous.token.trim()))
                .and_then(|old| match old {
                    Some(old) if old.id == previous.device_id && old.revoked_at.is_none() => {
                        store.adopt_key(old.id, key)
                    }
                    _ => Ok(()),
                });
            if let Err(e) = adopted {
                tracing::warn!(error = %e, "the previous device could not take the desk's key");
            }
        }
        Ok(outcome)
    })
    .await?;
    match outcome {
        Redeem::Enrolled(device) => {
            tracing::info!(device = %device.id, centre = %device.centre, "device enrolled");
            let body = EnrolResponse {
                device_id: device.id,
                token,
                hub_name: state.config.hub_name.clone(),
                recipients: state.config.recipients.clone(),
                receipt_key: Some(state.receipt_key.public()),
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Redeem::Unknown => {
            state.failed_guess(client, "unknown enrolment code");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorKind::Unauthorized,
                "unknown enrolment code; check it, or ask the partnership for a new one",
            ))
        }
        Redeem::UsedOrExpired => {
            state.failed_guess(client, "used or expired enrolment code");
            Err(ApiError::new(
                StatusCode::GONE,
                ErrorKind::CodeUsed,
                "this enrolment code was already used or has expired; ask the partnership for a new one",
            ))
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    Path((report_id, revision)): Path<(Uuid, u32)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.check_rate(device.id)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge,
                format!(
                    "the report is larger than this hub accepts ({} bytes)",
                    state.config.max_body_bytes
                ),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "the request body could not be read",
            )
        }
    })?;
    let digest_header = headers
        .get(DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "a Content-Digest header (sha-256) is required",
            )
        })?;
    let claimed = parse_content_digest(digest_header).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the Content-Digest header has no valid sha-256 value",
        )
    })?;
    if Sha256::digest(&body).as_slice() != claimed.as_slice() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the body does not match its Content-Digest; it was damaged on the way",
        ));
    }
    if age::Decryptor::new_buffered(&body[..]).is_err() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the body is not an age-encrypted file",
        ));
    }
    let digest = hirc_proto::content_digest(&body);
    let store = state.store.clone();
    let device_id = device.id;
    let size = body.len();
    let outcome =
        blocking(move || store.put(device_id, report_id, revision, &digest, &body, Utc::now()))
            .await?;
    let sign = |mut receipt: Receipt| {
        state.receipt_key.sign_receipt(&mut receipt);
        receipt
    };
    match outcome {
        Put::Created(receipt) => {
            tracing::info!(device = %device_id, report = %report_id, revision, bytes = size, "report stored");
            Ok((StatusCode::CREATED, Json(sign(receipt))).into_response())
        }
        Put::Repeat(receipt) => Ok((StatusCode::OK, Json(sign(receipt))).into_response()),
        Put::Conflict(held) => {
            tracing::warn!(device = %device_id, report = %report_id, revision, "conflicting upload refused");
            let mut error = ApiError::new(
                StatusCode::CONFLICT,
                ErrorKind::Conflict,
                "this desk stored this report revision earlier with a different body; nothing was changed",
            );
            error.body.receipt = Some(sign(held));
            Err(error)
        }
    }
}

/// The receipt key, for a desk enrolled before receipts were signed (it
/// pins it on first sight, over its authenticated connection).
async fn receipt_key(State(state): State<AppState>, AuthDevice(_): AuthDevice) -> Json<ReceiptKey> {
    Json(ReceiptKey {
        receipt_key: state.receipt_key.public(),
    })
}

impl AppState {
    /// The client's address as the guessing throttle sees it: the peer, or
    /// behind a trusted local proxy the address it forwarded.
    fn client(&self, peer: Option<&Peer>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.0.ip();
        if self.config.trust_forwarded_for && peer.is_loopback() {
            let forwarded = headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Some(ip);
            }
        }
        Some(peer)
    }

    /// Refuses, until its minute is up, an address that has sent too many
    /// wrong enrolment codes or tokens: guessing is slowed to a trickle.
    fn check_guessing(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = client else { return Ok(()) };
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match failures.get(&ip) {
            Some((since, n)) if *n >= self.config.auth_failures_per_minute => {
                let left = 60u64.saturating_sub(since.elapsed().as_secs());
                if left == 0 {
                    return Ok(());
                }
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorKind::RateLimited,
                    "too many wrong enrolment codes or tokens from this address; wait a minute",
                )
                .retry_after(left.max(1)))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong enrolment code or token, and says so in the log once
    /// an address reaches the limit.
    fn failed_guess(&self, client: Option<IpAddr>, what: &'static str) {
        let Some(ip) = client else { return };
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failures.len() >= MAX_REMEMBERED_ADDRESSES {
            failures.retain(|_, (since, _)| since.elapsed() < Duration::from_secs(60));
            if failures.len() >= MAX_REMEMBERED_ADDRESSES {
                failures.clear();
            }
        }
        let now = Instant::now();
        let entry = failures.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 == self.config.auth_failures_per_minute {
            tracing::warn!(client = %ip, limit = entry.1, "{what}: too many wrong guesses in a minute from one address; refusing it for the rest of the minute");
        } else {
            tracing::debug!(client = %ip, "{what}");
        }
    }

    /// A fixed one-minute window per device.
    fn check_rate(&self, device: Uuid) -> Result<(), ApiError> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let entry = windows.entry(device).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        if entry.1 >= self.config.rate_per_minute {
            let wait = 60u64
                .saturating_sub(now.duration_since(entry.0).as_secs())
                .max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::RateLimited,
                "too many uploads from this desk; it will retry by itself",
            )
            .retry_after(wait));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The device behind a valid, unrevoked bearer token.
pub struct AuthDevice(pub Device);

impl FromRequestParts<AppState> for AuthDevice {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized =
            |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Unauthorized, m);
        let client = state.client(parts.extensions.get::<Peer>(), &parts.headers);
        state.check_guessing(client)?;
        let Some(token) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            state.failed_guess(client, "upload without a token");
            return Err(unauthorized(
                "a bearer token is required; enrol the desk first",
            ));
        };
        let token_hash = secrets::hash(token.trim());
        let store = state.store.clone();
        let Some(device) = blocking(move || store.device_by_token(&token_hash)).await? else {
            state.failed_guess(client, "unknown token");
            return Err(unauthorized("this desk is not enrolled with this hub"));
        };
        if device.revoked_at.is_some() {
            return Err(unauthorized(
                "this desk has been revoked by the partnership; ask them to enrol it again",
            ));
        }
        Ok(AuthDevice(device))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "store failed");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorKind::Internal,
                "the hub could not reach its storage; try again later",
            )
            .retry_after(30))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Internal,
            "the hub failed; try again later",
        )),
    }
}

/// An error answer: a status, a JSON body and maybe `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Box<ErrorBody>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
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

    fn retry_after(mut self, seconds: u64) -> Self {
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
