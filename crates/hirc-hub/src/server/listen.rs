//! Listening: connections, their limits and slots, TLS, and the peer's
//! address handed to the handlers.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{AppState, Peer, router};
use axum::Router;
use axum::response::Response;
use tokio::net::TcpListener;

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
pub(super) const MAX_ENROL_BYTES: usize = 8 * 1024;

/// The most a request's headers may take (hyper's default is about
/// 400 KiB per connection, which a thousand unfinished requests turn into
/// hundreds of MiB).
pub(super) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// One open connection: how to close it, and whether a request is in
/// progress on it.
pub(super) struct Slot {
    close: tokio::sync::oneshot::Sender<()>,
    busy: Arc<AtomicUsize>,
    address: IpAddr,
}

/// The address a per-address limit counts by: the IPv4 address, or the
/// IPv6 /64 (one client is often given a whole /64).
pub(super) fn client_network(address: IpAddr) -> IpAddr {
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
pub(super) struct SlotGuard {
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
    // Stopped with the server, however it ends (a dropped future included).
    let _sweeper = AbortOnDrop(tokio::spawn(super::evidence::sweep_unnamed_hourly(
        state.clone(),
    )));
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
pub(super) fn with_peer(
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

pub(super) async fn serve_connection<I, S>(
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

/// A background task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
