//! `GET /healthz` and `GET /readyz`: the health routes every service serves without a
//! credential (no `security`), for load balancers and orchestrators; and `GET /metrics`, for
//! Prometheus, behind the `metrics` scope.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ComponentsBuilder, PathsBuilder};

use entity_spec_contract::paths::{HEALTHZ_PATH, METRICS_PATH, READYZ_PATH};
use entity_spec_contract::scopes::{ADMIN_SCOPE, METRICS_SCOPE};

use super::operations::{json_body, problem};
use super::schemas::schema_ref;
use super::security::secured;

pub(super) fn health_routes(paths: PathsBuilder, components: ComponentsBuilder) -> (PathsBuilder, ComponentsBuilder) {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let health = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("The outcome of a health check."))
        .property("status", text().enum_values(Some(["ok", "ready"])))
        .required("status")
        .property(
            "checks",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("Each check of `/readyz` and its outcome."))
                .additional_properties(Some(text())),
        );
    let components = components.schema("Health", health);
    let live = OperationBuilder::new()
        .operation_id(Some("getLiveness"))
        .summary(Some("Liveness: the process answers (no I/O)"))
        .tag("Health")
        .response("200", json_body("Alive.", schema_ref("Health"), false).build());
    let ready = OperationBuilder::new()
        .operation_id(Some("getReadiness"))
        .summary(Some("Readiness: the database answers within 2 s"))
        .tag("Health")
        .response("200", json_body("Ready to serve requests.", schema_ref("Health"), false).build())
        .response("503", problem("A check failed (`detail` names it); `Retry-After` says when to probe again."));
    let exposition = ResponseBuilder::new()
        .description("Prometheus's text exposition (OpenMetrics 1.0) of this instance's figures.")
        .content(
            "application/openmetrics-text",
            ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build(),
        )
        .build();
    let metrics = OperationBuilder::new()
        .operation_id(Some("getMetrics"))
        .summary(Some("Prometheus metrics of this instance"))
        .description(Some(
            "Requests by route template, method and status with latency histograms; runs finished by outcome \
             with durations; how late runs were claimed after they were due; the database pool; queued and \
             running runs. For a credential holding the `metrics` scope (or `admin`), so a scraper's key reads \
             no row.",
        ))
        .tag("Health")
        .response("200", exposition);
    let metrics = secured(metrics, METRICS_SCOPE, Some(ADMIN_SCOPE));
    let paths = paths
        .path(HEALTHZ_PATH, PathItemBuilder::new().operation(HttpMethod::Get, live).build())
        .path(READYZ_PATH, PathItemBuilder::new().operation(HttpMethod::Get, ready).build())
        .path(METRICS_PATH, PathItemBuilder::new().operation(HttpMethod::Get, metrics).build());
    (paths, components)
}
