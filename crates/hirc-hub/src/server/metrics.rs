//! What the hub counts, for its operators: `GET /metrics` in the
//! Prometheus (OpenMetrics) text format. Counts, durations and states only:
//! no report, token, device name or centre ever becomes a label.
//!
//! - `hirc_hub_requests_total{route, status}` and
//!   `hirc_hub_request_duration_seconds{route}`: every answer, by the
//!   route's template (never the path a client sent) and its status.
//! - `hirc_hub_uploads_total{outcome}`: stored (`created`), the same body
//!   again (`repeat`), other bytes for a held revision (`conflict`).
//! - `hirc_hub_enrolments_total{outcome}`: `enrolled`, `unknown_code`,
//!   `used_or_expired`.
//! - `hirc_hub_auth_failures_total{reason}`: uploads without a token, with
//!   an unknown one, or from a revoked desk.
//! - `hirc_hub_rate_limited_total{limit}`: `device_uploads` (a desk past its
//!   uploads per minute) and `address_guesses` (an address past its wrong
//!   codes or tokens).
//! - `hirc_hub_store_operations_in_flight` and `hirc_hub_store_errors_total`:
//!   the storage's state (operations waiting on it, and failures).
//! - `hirc_hub_store_commits_total`: transactions that stored (or found
//!   already held) uploads: fewer than the uploads when commits are grouped.
//! - `hirc_hub_store_connections{state}`, `hirc_hub_store_connections_max`,
//!   `hirc_hub_store_connection_waits`: the PostgreSQL pool (`in_use`,
//!   `idle`), its size, and requests waiting for a connection.
//! - `hirc_hub_build_info{version, store}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::store::HubStore;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Limit {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionState {
    state: &'static str,
}

/// The storage's own figures, read at each scrape.
struct StoreFigures(Arc<dyn HubStore>);

impl std::fmt::Debug for StoreFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreFigures")
    }
}

impl Collector for StoreFigures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        let commits = ConstCounter::new(stats.commits);
        commits.encode(encoder.encode_descriptor(
            "store_commits",
            "Transactions that stored (or found already held) uploads: fewer than the uploads when commits are grouped",
            None,
            commits.metric_type(),
        )?)?;
        let Some(pool) = stats.pool else {
            return Ok(());
        };
        let as_gauge = |n: usize| ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
        let mut family = encoder.encode_descriptor(
            "store_connections",
            "Database connections open, by state",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (state, n) in [
            ("in_use", pool.open.saturating_sub(pool.idle)),
            ("idle", pool.idle),
        ] {
            as_gauge(n).encode(family.encode_family(&ConnectionState { state })?)?;
        }
        let max = as_gauge(pool.max);
        max.encode(encoder.encode_descriptor(
            "store_connections_max",
            "The most database connections the pool opens",
            None,
            max.metric_type(),
        )?)?;
        let waiting = as_gauge(pool.waiting);
        waiting.encode(encoder.encode_descriptor(
            "store_connection_waits",
            "Requests waiting for a database connection now",
            None,
            waiting.metric_type(),
        )?)?;
        Ok(())
    }
}

fn latency() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The hub's counters, shared by every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    durations: Family<Route, Histogram>,
    uploads: Family<Outcome, Counter>,
    enrolments: Family<Outcome, Counter>,
    auth_failures: Family<Reason, Counter>,
    rate_limited: Family<Limit, Counter>,
    store_in_flight: Gauge,
    store_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Counters at zero, for a hub on `store`.
    pub fn new(store: Arc<dyn HubStore>) -> Self {
        let backend = store.backend();
        let mut registry = Registry::with_prefix("hirc_hub");
        let requests = Family::<RouteStatus, Counter>::default();
        let durations = Family::<Route, Histogram>::new_with_constructor(latency);
        let uploads = Family::<Outcome, Counter>::default();
        let enrolments = Family::<Outcome, Counter>::default();
        let auth_failures = Family::<Reason, Counter>::default();
        let rate_limited = Family::<Limit, Counter>::default();
        let store_in_flight = Gauge::default();
        let store_errors = Counter::default();
        registry.register(
            "requests",
            "Requests answered, by route template and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by route template",
            durations.clone(),
        );
        registry.register(
            "uploads",
            "Uploads that reached the store, by outcome",
            uploads.clone(),
        );
        registry.register(
            "enrolments",
            "Enrolment attempts, by outcome",
            enrolments.clone(),
        );
        registry.register(
            "auth_failures",
            "Requests refused for their token, by reason",
            auth_failures.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by limit",
            rate_limited.clone(),
        );
        registry.register(
            "store_operations_in_flight",
            "Storage operations running or waiting now",
            store_in_flight.clone(),
        );
        registry.register(
            "store_errors",
            "Storage operations that failed",
            store_errors.clone(),
        );
        registry.register(
            "build",
            "This hub's version and storage",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("store", backend),
            ]),
        );
        registry.register_collector(Box::new(StoreFigures(store)));
        Self {
            registry,
            requests,
            durations,
            uploads,
            enrolments,
            auth_failures,
            rate_limited,
            store_in_flight,
            store_errors,
        }
    }

    /// The text a scrape gets.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub(super) fn upload(&self, outcome: &'static str) {
        self.uploads.get_or_create(&Outcome { outcome }).inc();
    }

    pub(super) fn enrolment(&self, outcome: &'static str) {
        self.enrolments.get_or_create(&Outcome { outcome }).inc();
    }

    pub(super) fn auth_failure(&self, reason: &'static str) {
        self.auth_failures.get_or_create(&Reason { reason }).inc();
    }

    pub(super) fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.get_or_create(&Limit { limit }).inc();
    }

    pub(super) fn store_started(&self) -> StoreOperation<'_> {
        self.store_in_flight.inc();
        StoreOperation(self)
    }

    pub(super) fn store_failed(&self) {
        self.store_errors.inc();
    }
}

/// A storage operation counted as in flight until it is dropped (finished,
/// failed or abandoned).
pub(super) struct StoreOperation<'a>(&'a Metrics);

impl Drop for StoreOperation<'_> {
    fn drop(&mut self) {
        self.0.store_in_flight.dec();
    }
}

/// Counts and times every answer by its route's template.
pub(super) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RouteStatus {
            route: route.clone(),
            status: response.status().as_u16().to_string(),
        })
        .inc();
    metrics
        .durations
        .get_or_create(&Route { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: only to a client presenting the metrics token. There is
/// no unauthenticated way in: "from this machine" cannot be told apart from
/// "through a proxy on this machine", which is how the hub is usually run.
pub(super) async fn metrics(State(state): State<AppState>, request: Request<Body>) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let allowed = match (&state.config.metrics_token, given) {
        // Hashes compared, so the time taken says nothing of the token.
        (Some(token), Some(given)) => crate::secrets::hash(given) == crate::secrets::hash(token),
        _ => false,
    };
    if !allowed {
        let message = if state.config.metrics_token.is_some() {
            "the hub's metrics are for its operators: send the metrics token"
        } else {
            "the hub's metrics are off: start it with --metrics-token TOKEN and scrape with that token"
        };
        return super::ApiError::new(
            StatusCode::FORBIDDEN,
            hirc_proto::ErrorKind::Unauthorized,
            message,
        )
        .into_response();
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
