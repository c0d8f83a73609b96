//! The whole HTTP service around the entity and action routes: the guard in front of them, the
//! caller's identity and the audit trail, health routes, metrics, the OpenAPI document and its
//! docs page, the workbench, problem+json for unknown routes and methods, the body limit,
//! request ids, request counting, response compression and request logging.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use entity_spec_contract::limits::BODY_LIMIT;
use entity_spec_contract::paths::{
    AUDIT_PATH, AUTH_ME_PATH, DOCS_PATH, HEALTHZ_PATH, METRICS_PATH, OPENAPI_PATH, READYZ_PATH,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::authenticator::Authenticator;
use crate::http::compression;
use crate::http::cors::CorsOrigins;
use crate::http::guard::{Gate, authenticate};
use crate::http::health::{Readiness, Stopping, healthz, readyz};
use crate::http::identity_routes::{AuditState, audit_log, me};
use crate::http::metrics::{CountRequests, HttpMetrics, MetricsState, metrics};
use crate::http::problem::ApiError;
use crate::http::rate_limit::RateLimits;
use crate::http::request_id::{REQUEST_ID, assign_request_id};
use crate::http::workbench;
use crate::model::def::EntityDef;
use crate::runs::drain::Drain;
use crate::runs::metrics::RunMetrics;
use crate::storage::db::Db;

/// What the guarded part of a service needs besides its routes.
pub struct Guarded {
    /// Checks credentials.
    pub authenticator: Authenticator,
    /// The service's database (the audit trail).
    pub db: Db,
    /// The service's entities.
    pub entities: Arc<[&'static EntityDef]>,
    /// Whether the service was told to stop (`/readyz` says so).
    pub stopping: Arc<Stopping>,
    /// Whether the service is draining for a restart (`/readyz` says so).
    pub drain: Arc<Drain>,
    /// What the engines count, for `/metrics`.
    pub runs: RunMetrics,
    /// Whether requests are counted for `/metrics`.
    pub count_requests: bool,
    /// Whether responses are compressed for clients that accept it.
    pub compression: bool,
    /// Rate limits per client address and per credential.
    pub limits: Arc<RateLimits>,
}

/// Wraps entity routes into a service: the guard in front of them (each route already requires
/// its scope, see `http::router`), `/auth/me`, `/audit-log` and `/metrics`, the OpenAPI document and its
/// docs page, the workbench UI, problem+json for unknown routes and methods, the body limit,
/// response compression, and request logging (method, path, status, latency; never bodies,
/// query strings or credentials).
pub fn service(
    routes: Router,
    guarded: Guarded,
    openapi_json: &'static str,
    workbench_json: &'static str,
    cors: Option<&CorsOrigins>,
) -> Router {
    // The Authorize button comes from the document's security schemes. Authorization is not
    // persisted: Swagger UI would keep the key in localStorage, where any script could read it.
    let docs = utoipa_swagger_ui::SwaggerUi::new(DOCS_PATH).config(utoipa_swagger_ui::Config::new([OPENAPI_PATH]));
    let ready = Readiness { db: guarded.db.clone(), stopping: guarded.stopping, drain: guarded.drain };
    let http = HttpMetrics::default();
    let counted = MetricsState {
        http: http.clone(),
        runs: guarded.runs,
        db: guarded.db.clone(),
        entities: guarded.entities.clone(),
    };
    let audit = AuditState { db: guarded.db.clone(), entities: guarded.entities.clone() };
    let router = routes
        .route(AUTH_ME_PATH, get(me))
        .route(AUDIT_PATH, get(audit_log).with_state(audit))
        .route(METRICS_PATH, get(metrics).with_state(counted))
        // Everything above needs a caller; what is merged below (docs, workbench files) does not.
        .layer(from_fn_with_state(Gate { authenticator: guarded.authenticator, limits: guarded.limits }, authenticate))
        .route(HEALTHZ_PATH, get(healthz))
        .route(READYZ_PATH, get(readyz).with_state(ready))
        .route(
            OPENAPI_PATH,
            get(move || async move {
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], openapi_json)
            }),
        )
        .merge(Router::from(docs))
        .merge(workbench::routes(workbench_json))
        .fallback(|uri: OriginalUri| async move { ApiError::no_route(uri.path()) })
        .method_not_allowed_fallback(|method: Method, uri: OriginalUri| async move {
            ApiError::method_not_allowed(method.as_str(), uri.path())
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(map_response(plain_errors_as_problems));
    // Inside the routes' layers, so each request's matched route template is known.
    let router = if guarded.count_requests { router.layer(CountRequests::new(http)) } else { router };
    // Outside the routes, the problem rewrite and the counting, so every answer is compressed
    // once it is complete, whoever made it; inside the log span and the request id, which only
    // read and set headers.
    let router = if guarded.compression { router.layer(compression::layer()) } else { router };
    let router = router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    // The id the layer below settled (visible ASCII, at most 128 bytes).
                    let id = request.headers().get(&REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id = id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        // Outermost: every response, the log span and every problem body carry the request id.
        .layer(from_fn(assign_request_id));
    let router = match cors {
        // Outside the guard: a browser's preflight carries no credential.
        Some(origins) => router.layer(origins.layer()),
        None => router,
    };
    // Handlers without a state of their own (`/healthz`, `/auth/me`, the document, …) become
    // routes here, once: axum would otherwise apply every layer above to them again on each
    // request, and the request counting would find their series afresh each time.
    router.with_state(())
}

/// Rejections axum writes before a handler runs (a path segment that is not UTF-8, say) are
/// `text/plain`; every error of the service is problem+json, so they are rewritten as one,
/// with their text as the detail. Successful and problem+json responses pass untouched.
async fn plain_errors_as_problems(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    // axum's rejection texts are a line or two; anything longer is cut, not buffered whole.
    let text = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    ApiError::rejected(status, &text).into_response()
}
