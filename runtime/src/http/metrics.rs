//! `GET /metrics`: what this instance did, in Prometheus's text exposition (OpenMetrics 1.0),
//! for a credential holding the `metrics` scope (or `admin`). A Prometheus key therefore reads
//! no row.
//!
//! Labels are bounded: requests are counted by route *template* (`/raw-data-sources/{id}`,
//! never a raw path or id; `unmatched` for every path no route serves), method (the standard
//! ones, else `OTHER`) and status; runs by the spec's entity and action names. Gauges read at
//! scrape time: the database pool (open, idle, maximum) and the shared queue (queued and
//! running runs per entity, the same on every instance).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use entity_spec_contract::scopes::{ADMIN_SCOPE, METRICS_SCOPE};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::http::guard::Caller;
use crate::http::problem::ApiError;
use crate::model::def::EntityDef;
use crate::runs::history;
use crate::runs::metrics::RunMetrics;
use crate::storage::db::Db;

/// `on` (the default) or `off`: whether requests are counted (`/metrics` serves the run, queue
/// and pool figures either way).
pub const METRICS_VAR: &str = "ENTITY_SPEC_METRICS";

/// [`METRICS_VAR`]: whether requests are counted.
pub fn request_metrics_from_env() -> Result<bool, String> {
    match std::env::var(METRICS_VAR).ok().as_deref().map(str::trim) {
        None | Some("" | "on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(format!("{METRICS_VAR} must be `on` or `off`, not `{other}`")),
    }
}

/// OpenMetrics' media type, which Prometheus asks for first.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched: unknown paths never become labels.
const UNMATCHED: &str = "unmatched";

/// A route template as a label: axum's `MatchedPath` shares its text, so counting a request
/// allocates nothing (`None`: no route matched).
#[derive(Clone, Debug)]
struct RouteLabel(Option<MatchedPath>);

impl RouteLabel {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or(UNMATCHED, MatchedPath::as_str)
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl std::hash::Hash for RouteLabel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    method: &'static str,
    route: RouteLabel,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: &'static str,
    route: RouteLabel,
}

type Latencies = Family<Route, Histogram, fn() -> Histogram>;

/// The request counters of one service, updated by [`count_requests`].
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<Answered, Counter>,
    latencies: Latencies,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        // 0.5 ms to about 8 s: a read by id is well under a millisecond, a slow list seconds.
        let latencies: Latencies =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 15)));
        HttpMetrics { requests: Family::default(), latencies }
    }
}

/// A bounded method label: a client may send any token as a method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: counts every answered request and its latency by route template.
pub async fn count_requests(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = RouteLabel(request.extensions().get::<MatchedPath>().cloned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.latencies.get_or_create(&Route { method, route: route.clone() }).observe(started.elapsed().as_secs_f64());
    metrics.requests.get_or_create(&Answered { method, route, status }).inc();
    response
}

/// What `GET /metrics` reads.
#[derive(Clone)]
pub struct MetricsState {
    /// Request counters.
    pub http: HttpMetrics,
    /// Run counters, shared with the engines.
    pub runs: RunMetrics,
    /// The pool and the queue are read from here at scrape time.
    pub db: Db,
    /// The service's entities (those with tracked actions have queue gauges).
    pub entities: Arc<[&'static EntityDef]>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueState {
    entity: &'static str,
    state: &'static str,
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<MetricsState>, caller: Caller) -> Result<Response, ApiError> {
    if !caller.principal.scopes.iter().any(|scope| scope == METRICS_SCOPE || scope == ADMIN_SCOPE) {
        return Err(ApiError::forbidden(METRICS_SCOPE));
    }
    let mut registry = Registry::default();
    registry.register(
        "entity_spec_build",
        "The entity-spec runtime serving",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
    );
    registry.register("entity_spec_http_requests", "Requests answered, by route template", state.http.requests);
    registry.register(
        "entity_spec_http_request_duration_seconds",
        "Time from a request's head to its response's head",
        state.http.latencies,
    );
    state.runs.register(&mut registry);

    let pool = state.db.pool_stats();
    let connections = Family::<PoolState, Gauge>::default();
    let idle = i64::try_from(pool.idle).unwrap_or(i64::MAX);
    connections.get_or_create(&PoolState { state: "idle" }).set(idle);
    connections.get_or_create(&PoolState { state: "in_use" }).set(i64::from(pool.open) - idle);
    registry.register("entity_spec_db_pool_connections", "Database connections open, by state", connections);
    let max = Gauge::<i64>::default();
    max.set(i64::from(pool.max));
    registry.register("entity_spec_db_pool_max_connections", "The most connections the pool opens", max);

    let queue = Family::<QueueState, Gauge>::default();
    for def in state.entities.iter().filter(|def| def.tracking.is_some()) {
        let (queued, running) = history::active_counts(&state.db, def).await.map_err(ApiError::from_database)?;
        queue.get_or_create(&QueueState { entity: def.name, state: "queued" }).set(queued);
        queue.get_or_create(&QueueState { entity: def.name, state: "running" }).set(running);
    }
    registry.register("entity_spec_runs", "Runs in the shared queue, by state (every instance's)", queue);

    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &registry).map_err(|error| ApiError::internal(&error))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], body).into_response())
}
