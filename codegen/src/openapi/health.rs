//! `GET /healthz` and `GET /readyz`: the health routes every service serves without a
//! credential (no `security`), for load balancers and orchestrators.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ComponentsBuilder, PathsBuilder};

use entity_spec_contract::paths::{HEALTHZ_PATH, READYZ_PATH};

use super::operations::{json_body, problem};
use super::schemas::schema_ref;

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
    let paths = paths
        .path(HEALTHZ_PATH, PathItemBuilder::new().operation(HttpMethod::Get, live).build())
        .path(READYZ_PATH, PathItemBuilder::new().operation(HttpMethod::Get, ready).build());
    (paths, components)
}
