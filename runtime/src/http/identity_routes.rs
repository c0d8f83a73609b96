//! The routes about callers rather than entities: who the caller is (`GET /auth/me`, which the
//! workbench reads to show only what the credential may do) and the audit trail
//! (`GET /audit-log`, for the `admin` scope).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use entity_spec_contract::scopes::ADMIN_SCOPE;
use serde::Serialize;

use crate::auth::principal::CredentialKind;
use crate::http::guard::Caller;
use crate::http::params::parse_audit_query;
use crate::http::problem::ApiError;
use crate::http::responses::json;
use crate::model::def::EntityDef;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::db::Db;

#[derive(Serialize)]
struct Me<'a> {
    subject: &'a str,
    credential: &'static str,
    scopes: &'a [String],
    /// Whether the service checks credentials at all.
    authentication: bool,
}

/// `GET /auth/me`: the caller's subject, credential kind and scopes.
pub(crate) async fn me(caller: Caller) -> Response {
    let principal = &caller.principal;
    let body = Me {
        subject: &principal.subject,
        credential: principal.kind.as_str(),
        scopes: &principal.scopes,
        authentication: principal.kind != CredentialKind::Anonymous,
    };
    json(StatusCode::OK, &body, None)
}

#[derive(Serialize)]
struct AuditPage {
    items: Vec<AuditRecord>,
    next_cursor: Option<String>,
}

/// The state of the audit route: the database and the service's entities (what `entity`
/// may name).
#[derive(Clone)]
pub(crate) struct AuditState {
    /// Where the rows are.
    pub db: Db,
    /// The service's entities.
    pub entities: std::sync::Arc<[&'static EntityDef]>,
}

/// `GET /audit-log`: audit rows, newest first, filtered by `entity` and `entity_id`, with
/// keyset paging.
pub(crate) async fn audit_log(
    State(state): State<AuditState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    if !caller.principal.scopes.iter().any(|scope| scope == ADMIN_SCOPE) {
        return Err(ApiError::forbidden(ADMIN_SCOPE));
    }
    let names: Vec<&str> = state.entities.iter().map(|def| def.name).collect();
    let query = parse_audit_query(query.as_deref(), &names)?;
    let (items, more) = audit::list(&state.db, &query).await.map_err(ApiError::from_database)?;
    let next_cursor = if more { items.last().map(|row| row.id.to_string()) } else { None };
    Ok(json(StatusCode::OK, &AuditPage { items, next_cursor }, None))
}
