//! `GET /metrics`: what this instance did, in Prometheus's text exposition (OpenMetrics 1.0),
//! for a credential holding the `metrics` scope (or `admin`). A Prometheus key therefore reads
//! no row.
//!
//! Labels are bounded: requests are counted by route *template* (`/raw-data-sources/{id}`,
//! never a raw path or id; `unmatched` for every path no route serves), method (the standard
//! ones, else `OTHER`) and status; runs by the spec's entity and action names. Gauges read at
//! scrape time: the database pool (open, idle, maximum) and the shared queue (queued and
//! running runs per entity, the same on every instance).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity_spec_contract::scopes::{ADMIN_SCOPE, METRICS_SCOPE};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use tower::{Layer, Service};

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

/// The request counters of one service, updated by [`CountRequests`].
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

impl HttpMetrics {
    /// The latency histogram of `method` on `route`, from the family (created on first use).
    fn latency(&self, method: usize, route: RouteLabel) -> Histogram {
        self.latencies.get_or_create_owned(&Route { method: METHOD_LABELS[method], route })
    }

    /// The counter of `method` on `route` answered with `status`, from the family.
    fn answered(&self, method: usize, route: RouteLabel, status: u16) -> Counter {
        self.requests.get_or_create_owned(&Answered { method: METHOD_LABELS[method], route, status })
    }
}

/// The method labels: the standard methods, and `OTHER` for any other token a client sends
/// (a method is any token, so it could not be a label as it is).
const METHOD_LABELS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"];

/// A request's method label, as its index in [`METHOD_LABELS`].
fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::PATCH => 4,
        Method::DELETE => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Kinds of answer (method and status) one handler keeps counters for. A route answers a
/// handful (200, 304, 401, 403, 404, 412, 429, …); one answering more counts the rest through
/// the family, as correctly and a little slower.
const ANSWER_SLOTS: usize = 16;

/// Counts every answered request and its latency by route template: a layer `http::service`
/// puts inside the routes' layers, where each request's matched route is known.
#[derive(Clone)]
pub struct CountRequests {
    metrics: HttpMetrics,
}

impl CountRequests {
    /// Counts into `metrics`.
    pub fn new(metrics: HttpMetrics) -> Self {
        CountRequests { metrics }
    }
}

impl<S> Layer<S> for CountRequests {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, series: Arc::new(HandlerSeries::new(self.metrics.clone())) }
    }
}

/// A route's handler, counted.
#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    series: Arc<HandlerSeries>,
}

/// The series of the requests one handler answers, looked up in the families once and kept.
///
/// axum applies a router's layer to each route's handler on its own (one per path and method,
/// and one for the fallback), so every request a [`Counted`] handler sees has the route
/// template of its first. Its series are found in the families on first use and kept here:
/// counting a request then takes no lock on a family and hashes no label set. They stay the
/// families' own series, so `/metrics` shows exactly what it showed when each request looked
/// them up. A request under another template (which axum never sends) is counted through the
/// families, so a wrong guess here would cost speed, never a wrong count.
struct HandlerSeries {
    families: HttpMetrics,
    /// The route of the first request; the series below are that route's.
    route: OnceLock<RouteLabel>,
    /// Latency histograms by method label (a GET route answers HEAD too).
    latencies: [OnceLock<Histogram>; METHOD_LABELS.len()],
    /// Counters by method label and status, in the order first answered.
    answers: [OnceLock<(usize, u16, Counter)>; ANSWER_SLOTS],
}

impl HandlerSeries {
    fn new(families: HttpMetrics) -> Self {
        HandlerSeries { families, route: OnceLock::new(), latencies: Default::default(), answers: Default::default() }
    }

    /// Whether a request matched to `matched` is this handler's route (the first request's).
    fn is_route(&self, matched: Option<&MatchedPath>) -> bool {
        let route = self.route.get_or_init(|| RouteLabel(matched.cloned()));
        route.0.as_ref().map(MatchedPath::as_str) == matched.map(MatchedPath::as_str)
    }

    fn route(&self) -> RouteLabel {
        self.route.get().cloned().unwrap_or(RouteLabel(None))
    }

    /// Counts a request of this handler's route.
    fn observe(&self, method: usize, status: u16, seconds: f64) {
        let latency = self.latencies[method].get_or_init(|| self.families.latency(method, self.route()));
        latency.observe(seconds);
        let answered = self
            .answers
            .iter()
            .map(|slot| slot.get_or_init(|| (method, status, self.families.answered(method, self.route(), status))))
            .find(|(m, s, _)| (*m, *s) == (method, status));
        match answered {
            Some((_, _, counter)) => counter.inc(),
            None => self.families.answered(method, self.route(), status).inc(),
        };
    }
}

impl<S> Service<Request> for Counted<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_index(request.method());
        let matched = request.extensions().get::<MatchedPath>();
        let other_route = (!self.series.is_route(matched)).then(|| RouteLabel(matched.cloned()));
        let series = self.series.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let Ok(response) = answer.await;
            let (status, seconds) = (response.status().as_u16(), started.elapsed().as_secs_f64());
            match other_route {
                None => series.observe(method, status, seconds),
                Some(route) => {
                    series.families.latency(method, route.clone()).observe(seconds);
                    series.families.answered(method, route, status).inc();
                }
            }
            Ok(response)
        })
    }
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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::Path;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// The families as `/metrics` shows them.
    fn exposition(metrics: &HttpMetrics) -> String {
        let mut registry = Registry::default();
        registry.register("requests", "Requests", metrics.requests.clone());
        registry.register("latency", "Latency", metrics.latencies.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }

    #[tokio::test]
    async fn every_method_and_status_is_counted_apart_also_beyond_the_series_a_handler_keeps() {
        let metrics = HttpMetrics::default();
        let answer = |Path(status): Path<u16>| async move { StatusCode::from_u16(status).unwrap() };
        let app: Router =
            Router::new().route("/answers/{status}", get(answer)).layer(CountRequests::new(metrics.clone()));
        // GET and HEAD (which a GET route answers too) of 20 statuses: more kinds of answer than
        // ANSWER_SLOTS, each sent twice.
        let statuses = 200..220_u16;
        for status in statuses.clone() {
            for method in [Method::GET, Method::HEAD] {
                for _ in 0..2 {
                    let request =
                        Request::builder().method(method.clone()).uri(format!("/answers/{status}")).body(Body::empty());
                    let response = app.clone().oneshot(request.unwrap()).await.unwrap();
                    assert_eq!(response.status().as_u16(), status);
                }
            }
        }
        let unknown = Request::builder().uri("/no-such-route/12").body(Body::empty()).unwrap();
        assert_eq!(app.clone().oneshot(unknown).await.unwrap().status(), StatusCode::NOT_FOUND);

        let text = exposition(&metrics);
        for status in statuses {
            for method in ["GET", "HEAD"] {
                let series =
                    format!("requests_total{{method=\"{method}\",route=\"/answers/{{status}}\",status=\"{status}\"}}");
                assert_eq!(sample(&text, &series), Some(2.0), "{series} in\n{text}");
            }
        }
        for method in ["GET", "HEAD"] {
            let series = format!("latency_count{{method=\"{method}\",route=\"/answers/{{status}}\"}}");
            assert_eq!(sample(&text, &series), Some(40.0), "{series} in\n{text}");
        }
        let unmatched = "requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";
        assert_eq!(sample(&text, unmatched), Some(1.0), "{text}");
        assert!(!text.contains("no-such-route"), "{text}");
    }
}
