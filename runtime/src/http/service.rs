//! The whole HTTP service around the entity and action routes: the OpenAPI document and
//! its docs page, the workbench, problem+json for unknown routes and methods, the body
//! limit, and request logging.

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{HeaderValue, Method, header};
use axum::routing::get;
use entity_spec_contract::limits::BODY_LIMIT;
use entity_spec_contract::paths::{DOCS_PATH, OPENAPI_PATH};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::http::problem::ApiError;
use crate::http::workbench;

/// Wraps entity routes into a service: the OpenAPI document and its docs page, the workbench
/// UI, problem+json for unknown routes and methods, the body limit, and request logging (method, path,
/// status, latency; never bodies or query strings, which could carry secrets).
pub fn service(routes: Router, openapi_json: &'static str, workbench_json: &'static str) -> Router {
    let docs = utoipa_swagger_ui::SwaggerUi::new(DOCS_PATH).config(utoipa_swagger_ui::Config::new([OPENAPI_PATH]));
    routes
        .route(
            OPENAPI_PATH,
            get(move || async move { ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], openapi_json) }),
        )
        .merge(Router::from(docs))
        .merge(workbench::routes(workbench_json))
        .fallback(|uri: OriginalUri| async move { ApiError::no_route(uri.path()) })
        .method_not_allowed_fallback(|method: Method, uri: OriginalUri| async move {
            ApiError::method_not_allowed(method.as_str(), uri.path())
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}
