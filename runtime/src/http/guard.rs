//! The guard in front of every entity, action, audit and identity route: who is calling
//! ([`authenticate`], once per request, before routing reaches a handler) and whether it may
//! use this route ([`require`], per route, with the scope the route table and the entity's
//! scopes name). The docs page, the OpenAPI document and the workbench's static files are
//! served without it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use entity_spec_contract::Scopes;
use uuid::Uuid;

use crate::auth::authenticator::{Authenticator, Refusal};
use crate::auth::principal::Principal;
use crate::http::problem::ApiError;
use crate::http::rate_limit::{Limiter, RateLimits, retry_after_secs};
use crate::http::request_id::RequestId;
use crate::model::def::EntityDef;
use crate::model::timestamp::now;
use crate::storage::audit::AuditRecord;

/// The caller of a guarded request: who, from where, and the request's id.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, with its scopes.
    pub principal: Principal,
    /// The client's address, when the server knows it.
    pub client: Option<SocketAddr>,
    /// The request's id.
    pub request_id: String,
    /// Whether the service stores audit rows.
    pub audited: bool,
}

impl Caller {
    /// An audit row of `operation` on `entity` (and item `id`) by this caller, naming the
    /// fields `fields` gives; `None` (and `fields` not called) when the service keeps none.
    pub fn audit(
        &self,
        entity: &str,
        id: Option<Uuid>,
        operation: &str,
        fields: impl FnOnce() -> Vec<String>,
    ) -> Option<AuditRecord> {
        if !self.audited {
            return None;
        }
        Some(AuditRecord {
            id: Uuid::now_v7(),
            at: now(),
            actor: self.principal.subject.to_string(),
            credential: self.principal.kind.as_str().to_owned(),
            entity: entity.to_owned(),
            entity_id: id,
            operation: operation.to_owned(),
            fields: fields(),
            client: self.client.map(|address| address.ip().to_string()),
            request_id: Some(self.request_id.clone()),
        })
    }

    /// The rows of `def` this caller is limited to, as the owner field and the value it must
    /// hold (the caller's subject); `None` when rows of `def` have no owner or the caller holds
    /// the entity's admin scope.
    pub fn owner_scope(&self, def: &EntityDef) -> Option<(&'static str, &str)> {
        let field = def.owner?;
        (!def.scopes.is_admin(&self.principal.scopes)).then_some((field, &*self.principal.subject))
    }

    /// Whether the caller holds `required`, one of the scopes in `scopes`.
    pub fn may(&self, scopes: &Scopes<'_>, required: &str) -> bool {
        scopes.allows(&self.principal.scopes, required)
    }
}

/// A handler's caller. A route mounted without [`authenticate`] in front has none: it answers
/// 401, so a route forgotten by the guard fails closed.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| ApiError::unauthenticated(&Refusal::Missing))
    }
}

/// What [`authenticate`] needs.
#[derive(Clone)]
pub struct Gate {
    /// Checks credentials.
    pub authenticator: Authenticator,
    /// Limits per client address and per credential.
    pub limits: Arc<RateLimits>,
}

/// A 429 when the key `key` gives is over `limiter`'s rate. The key is only built when a limit
/// is set: without one, a request pays nothing.
fn over_limit(limiter: Option<&Limiter>, key: impl FnOnce() -> String, whose: &str) -> Option<Response> {
    let limiter = limiter?;
    let wait = limiter.check(&key(), Instant::now()).err()?;
    Some(ApiError::rate_limited(whose, &limiter.rate().describe(), retry_after_secs(wait)).into_response())
}

/// Authenticates the request: a [`Caller`] for the handlers, or a 401 (503 when the
/// credential store is unreachable); 429 past a rate limit, per client address before the
/// credential is looked at and per credential after.
pub async fn authenticate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    if let Some(address) = client
        && let Some(refused) = over_limit(gate.limits.per_address.as_ref(), || address.ip().to_string(), "this address")
    {
        return refused;
    }
    let authenticator = &gate.authenticator;
    // Set by the outermost layer; a router used without it (tests) gets one here.
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map_or_else(|| Uuid::now_v7().simple().to_string(), |id| id.as_str().to_owned());
    let authorization = request.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    match authenticator.authenticate(authorization).await {
        Ok(principal) => {
            let credential = || format!("{}:{}", principal.kind.as_str(), principal.subject);
            if let Some(refused) = over_limit(gate.limits.per_credential.as_ref(), credential, "this credential") {
                return refused;
            }
            let audited = authenticator.audits();
            request.extensions_mut().insert(Caller { principal, client, request_id, audited });
            next.run(request).await
        }
        Err(refusal) => ApiError::unauthenticated(&refusal).into_response(),
    }
}

/// What one route needs: a scope among an entity's scopes.
#[derive(Debug, Clone, Copy)]
pub struct Requirement {
    /// The entity's scopes (its admin scope holds all of them).
    pub scopes: &'static Scopes<'static>,
    /// The scope the route needs.
    pub scope: &'static str,
}

/// Lets the request through when its caller holds the route's scope; 403 naming the scope
/// otherwise.
pub async fn require(State(requirement): State<Requirement>, request: Request, next: Next) -> Response {
    let allowed = match request.extensions().get::<Caller>() {
        None => return ApiError::unauthenticated(&Refusal::Missing).into_response(),
        Some(caller) => caller.may(requirement.scopes, requirement.scope),
    };
    if allowed { next.run(request).await } else { ApiError::forbidden(requirement.scope).into_response() }
}
