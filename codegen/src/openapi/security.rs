//! Who may call what, in the document: the two credential kinds (an API key and a JWT, both
//! sent as `Authorization: Bearer …`), each operation's required scope with its 401 and 403
//! answers, and the routes about callers (`/auth/me`, `/audit-log`).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, PathsBuilder};

use entity_spec_contract::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use entity_spec_contract::paths::{AUDIT_PATH, AUTH_ME_PATH};
use entity_spec_contract::scopes::ADMIN_SCOPE;

use super::operations::{json_body, problem, query_parameter, too_many};
use super::schemas::schema_ref;

/// The security scheme of API keys.
const API_KEY: &str = "apiKey";
/// The security scheme of JWTs.
const JWT: &str = "jwt";

/// Both credential kinds as security schemes.
pub(super) fn security_schemes(components: ComponentsBuilder) -> ComponentsBuilder {
    let api_key = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("esk_…")
        .description(Some(
            "An API key (`esk_…`), created by the service binary's `keys create` (the first start creates an \
             admin key and prints it once).",
        ))
        .build();
    let jwt = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some(
            "A JWT from the configured identity provider (`ENTITY_SPEC_JWT_SECRET` or `ENTITY_SPEC_JWKS`); \
             scopes from its `scope` or `scp` claim.",
        ))
        .build();
    components.security_scheme(API_KEY, SecurityScheme::Http(api_key)).security_scheme(JWT, SecurityScheme::Http(jwt))
}

/// `operation` with its required `scope` (either credential kind; an admin scope holds it
/// too) and the answers of the guard.
pub(super) fn secured(operation: OperationBuilder, scope: &str, entity_admin: Option<&str>) -> OperationBuilder {
    let holders = match entity_admin {
        Some(ADMIN_SCOPE) => format!("`{scope}` or `{ADMIN_SCOPE}`"),
        Some(admin) => format!("`{scope}`, `{admin}` or `{ADMIN_SCOPE}`"),
        None => format!("`{scope}`"),
    };
    authenticated(operation, &[scope]).response("403", problem(&format!("The credential holds none of {holders}.")))
}

/// Why any authenticated request may be a 429 (the limits are the operator's, off by default).
pub(super) const RATE_LIMITED: &str = "the credential or the client address went past a rate limit the operator set \
     (`ENTITY_SPEC_RATE_LIMIT`, `ENTITY_SPEC_RATE_LIMIT_PER_ADDRESS`)";

/// `operation` behind a credential of either kind holding `scopes`, with the 401 answer and
/// the 429 of the rate limits (an operation with a 429 of its own names both causes in it).
fn authenticated(operation: OperationBuilder, scopes: &[&str]) -> OperationBuilder {
    let challenge = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some("`Bearer`, with `error=\"invalid_token\"` when a credential was sent but refused."))
        .build();
    let unauthenticated = ResponseBuilder::from(problem("No credential, or one that is not valid."))
        .header("WWW-Authenticate", challenge)
        .build();
    let operation = operation
        .security(SecurityRequirement::new(API_KEY, scopes.iter().copied()))
        .security(SecurityRequirement::new(JWT, scopes.iter().copied()))
        .response("401", unauthenticated)
        .build();
    let has_own = operation.responses.responses.contains_key("429");
    let operation = OperationBuilder::from(operation);
    if has_own {
        operation
    } else {
        let mut cause = RATE_LIMITED.to_owned();
        cause[..1].make_ascii_uppercase();
        operation.response("429", too_many(&format!("{cause}; retry after `Retry-After` seconds.")))
    }
}

/// `GET /auth/me` and `GET /audit-log`, with their schemas.
pub(super) fn identity_routes(
    paths: PathsBuilder,
    components: ComponentsBuilder,
    entities: &[&str],
) -> (PathsBuilder, ComponentsBuilder) {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let nullable_text = || ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::String, Type::Null]));
    let uuid = |nullable: bool| {
        let types =
            if nullable { SchemaType::Array(vec![Type::String, Type::Null]) } else { SchemaType::Type(Type::String) };
        ObjectBuilder::new().schema_type(types).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
    };
    let me_schema = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("The caller: who it is and what it may do."))
        .property("subject", text().description(Some("`key:<name>` for an API key, the token's `sub` for a JWT.")))
        .required("subject")
        .property("credential", text().enum_values(Some(["api_key", "jwt", "anonymous"])))
        .required("credential")
        .property("scopes", ArrayBuilder::new().items(text()))
        .required("scopes")
        .property(
            "authentication",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some("False when the service checks no credential.")),
        )
        .required("authentication");
    let record = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("One write or action: who, when, what (never a value), from where."))
        .property("id", uuid(false))
        .required("id")
        .property("at", text().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .required("at")
        .property("actor", text())
        .required("actor")
        .property("credential", text())
        .required("credential")
        .property("entity", text())
        .required("entity")
        .property("entity_id", uuid(true))
        .required("entity_id")
        .property("operation", text().description(Some("`create`, `replace`, `patch`, `delete` or an action's name.")))
        .required("operation")
        .property(
            "fields",
            ArrayBuilder::new().items(text()).description(Some("The names of the fields that changed.")),
        )
        .required("fields")
        .property("client", nullable_text())
        .required("client")
        .property("request_id", nullable_text())
        .required("request_id");
    let page = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("items", ArrayBuilder::new().items(schema_ref("AuditRecord")))
        .required("items")
        .property("next_cursor", nullable_text())
        .required("next_cursor");
    let components = components.schema("Me", me_schema).schema("AuditRecord", record).schema("AuditPage", page);

    let me = OperationBuilder::new()
        .operation_id(Some("getMe"))
        .summary(Some("The caller's identity and scopes"))
        .tag("Identity")
        .response("200", json_body("The caller.", schema_ref("Me"), false).build());
    // Any valid credential may ask who it is: the requirement lists no scope.
    let me = authenticated(me, &[]);
    let query = |name: &str, description: &str, schema: ObjectBuilder| {
        query_parameter(name.to_owned(), description.to_owned(), schema)
    };
    let audit = OperationBuilder::new()
        .operation_id(Some("listAuditLog"))
        .summary(Some("The audit trail of every write and action, newest first"))
        .tag("Identity")
        .parameter(query(
            "entity",
            "Only this entity's rows (its name).",
            text().enum_values(Some(entities.iter().copied())),
        ))
        .parameter(query("entity_id", "Only this item's rows.", uuid(false)))
        .parameter(query(
            "limit",
            &format!("Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."),
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE)),
        ))
        .parameter(query_parameter(
            "cursor".to_owned(),
            "The `next_cursor` of the previous page (empty: the first page).".to_owned(),
            AnyOfBuilder::new().item(uuid(false)).item(text().max_length(Some(0))),
        ))
        .response("200", json_body("A page of audit rows.", schema_ref("AuditPage"), false).build())
        .response("400", problem("An unknown parameter or a bad value."));
    let audit = secured(audit, ADMIN_SCOPE, None);
    let paths = paths
        .path(AUTH_ME_PATH, PathItemBuilder::new().operation(HttpMethod::Get, me).build())
        .path(AUDIT_PATH, PathItemBuilder::new().operation(HttpMethod::Get, audit).build());
    (paths, components)
}
