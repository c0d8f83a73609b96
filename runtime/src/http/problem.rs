//! Every error a generated service returns: one type, rendered as
//! `application/problem+json` (RFC 9457) with a stable `type` URI; the one mapping from store
//! and database errors to it; and the "did you mean" suggestions of its messages (client text
//! is shown through the contract's `printable`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity_spec_contract::text::printable;
use serde::Serialize;

use crate::auth::authenticator::Refusal;
use crate::http::request_id;
use crate::model::validation::{FieldViolation, ValidationErrors};
use crate::storage::store::{DanglingReference, Referral, StoreError};

/// The media type of error responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP error with everything the client needs to fix its request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable identifier of the problem kind, e.g. `validation-failed`; rendered as
    /// `urn:entity-spec:problem:<kind>`.
    pub kind: &'static str,
    /// Short human summary of the kind.
    pub title: &'static str,
    /// What went wrong with this request.
    pub detail: String,
    /// Per-field (or per-parameter) problems, if any.
    pub errors: Vec<FieldViolation>,
    /// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3).
    pub challenge: Option<&'static str>,
    /// Seconds for the `Retry-After` header of a 429 or 503 (RFC 9110 §10.2.3).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, kind, title, detail: detail.into(), errors: Vec::new(), challenge: None, retry_after: None }
    }

    /// 400: a query parameter is unknown or has a bad value.
    pub fn invalid_parameter(parameter: &str, code: &'static str, message: String) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid query parameter",
            format!("`{parameter}`: {message}"),
        );
        error.errors.push(FieldViolation { field: parameter.to_owned().into(), code: code.into(), message });
        error
    }

    /// 400: a request header has a value its grammar does not allow.
    pub fn invalid_header(header: &str, message: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-header",
            "Invalid request header",
            format!("`{header}`: {message}"),
        );
        error.errors.push(FieldViolation {
            field: header.to_owned().into(),
            code: "invalid".into(),
            message: message.to_owned(),
        });
        error
    }

    /// 400: the body is not valid JSON, or not a JSON object.
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed-body", "Malformed request body", detail)
    }

    /// A request refused before any handler saw it (by the router or an extractor), with the
    /// refusing layer's text as the detail.
    pub fn rejected(status: StatusCode, text: &str) -> Self {
        let title = status.canonical_reason().unwrap_or("Request rejected");
        let detail = match text.trim() {
            "" => title.to_owned(),
            text => printable(text),
        };
        Self::new(status, "request-rejected", title, detail)
    }

    /// A request the HTTP parser refused before routing (malformed, target or head too
    /// large), with our own explanation.
    pub(crate) fn unparsable(status: StatusCode, detail: &'static str) -> Self {
        Self::new(status, "request-rejected", status.canonical_reason().unwrap_or("Request rejected"), detail)
    }

    /// 401: no credential, or one that is not valid (503 when it could not be checked). The
    /// detail never says whether a key exists.
    pub fn unauthenticated(refusal: &Refusal) -> Self {
        let challenge = match refusal {
            Refusal::Missing => "Bearer",
            Refusal::Malformed => "Bearer error=\"invalid_request\"",
            Refusal::InvalidKey | Refusal::InvalidToken(_) => "Bearer error=\"invalid_token\"",
            Refusal::Unavailable => return Self::unavailable(&"the credential store is unreachable"),
        };
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Unauthenticated", refusal.to_string());
        error.challenge = Some(challenge);
        error
    }

    /// 403: the credential lacks the scope this route needs.
    pub fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!("this route needs the `{scope}` scope (or an admin scope), which the credential does not hold"),
        )
    }

    /// 403: `?expand=` names a reference to an entity the caller may not read.
    pub fn forbidden_to_expand(expansion: &str, scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "`expand={expansion}` embeds items that need the `{scope}` scope (or an admin scope), which the credential does not hold"
            ),
        )
    }

    /// 404: no such item (also for ids that are not UUIDs: they cannot exist).
    pub fn not_found(entity: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("no {entity} with id `{}`", printable(id)))
    }

    /// 404 for a path no route serves.
    pub fn no_route(path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("no route for `{}`", printable(path)))
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("`{method}` is not allowed on `{}`", printable(path)),
        )
    }

    /// 429: the caller sent more than `rate` (`whose`: "this credential", "this address"); it
    /// may retry after `retry_after` seconds.
    pub fn rate_limited(whose: &str, rate: &str, retry_after: u32) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("{whose} sent more than {rate}, the most this service allows; retry in {retry_after} s"),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 429: `what` is already running as often as this instance allows at once; the client
    /// may retry after `retry_after` seconds.
    pub fn too_many_requests(what: &str, limit: usize, retry_after: u32) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
            format!(
                "{what} is already running {limit} time(s) at once, the most this service allows; retry in {retry_after} s"
            ),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 409: a unique constraint would be violated.
    pub fn unique_violation(entity: &str, fields: &[&str]) -> Self {
        let list = fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
        let mut error = Self::new(
            StatusCode::CONFLICT,
            "unique-violation",
            "Unique constraint violated",
            format!("another {entity} already has this value of {list}"),
        );
        let message = if fields.len() == 1 {
            "must be unique".to_owned()
        } else {
            format!("the combination of {list} must be unique")
        };
        for field in fields {
            error.errors.push(FieldViolation {
                field: (*field).to_owned().into(),
                code: "unique".into(),
                message: message.clone(),
            });
        }
        error
    }

    /// 422: references name rows that do not exist, one violation per field, like any other
    /// field that breaks a rule.
    pub fn unknown_reference(dangling: &[DanglingReference]) -> Self {
        let mut errors = ValidationErrors::new();
        for reference in dangling {
            errors.add(
                reference.field,
                "unknown_reference",
                format!("no {} has id {}", reference.entity, reference.id),
            );
        }
        Self::validation(errors)
    }

    /// 409: the row cannot be deleted while rows refer to it (or to one the delete would
    /// remove with it) through a reference with `on_delete: restrict`.
    pub fn still_referenced(entity: &str, referral: &Referral) -> Self {
        let Referral { entity: referring, field, referenced, rows } = referral;
        let rows_refer =
            if *rows == 1 { format!("1 {referring} row refers") } else { format!("{rows} {referring} rows refer") };
        let detail = if *referenced == entity {
            format!("{rows_refer} to this {entity} through {field}; delete them or change their {field} first")
        } else {
            format!(
                "{rows_refer} through {field} to a {referenced} that deleting this {entity} would delete; delete them or change their {field} first"
            )
        };
        Self::new(StatusCode::CONFLICT, "still-referenced", "Still referenced", detail)
    }

    /// 412: `If-Match` names a version that is no longer current.
    pub fn precondition_failed(entity: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "Precondition failed",
            format!("the {entity} was changed since the version in If-Match; fetch it again and retry"),
        )
    }

    /// 409: the item's state does not allow the request (e.g. `inactive`, `already-running`).
    pub fn conflict(kind: &'static str, detail: String) -> Self {
        Self::new(StatusCode::CONFLICT, kind, "Conflict", detail)
    }

    /// 409: other writes kept changing the item while this one was being applied.
    pub fn concurrent_modification(entity: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "concurrent-modification",
            "Concurrent modification",
            format!("the {entity} kept changing while this request was applied; retry it"),
        )
    }

    /// 413: the body exceeds the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("request bodies are limited to {limit} bytes"),
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("send the body as `{expected}`"),
        )
    }

    /// 422: the body is well-formed JSON but breaks the entity's rules.
    pub fn validation(errors: ValidationErrors) -> Self {
        let count = errors.violations().len();
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "Validation failed",
            format!("{count} field{} failed validation", if count == 1 { "" } else { "s" }),
        );
        error.errors = errors.into_iter().collect();
        error
    }

    /// 500: logged with its cause; the client learns nothing internal.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal server error",
            "the server failed to handle the request; see its logs",
        )
    }

    /// The answer to a failed store operation on an `entity`: 409 naming the fields of a
    /// unique violation or who still refers to a row being deleted, 422 naming references to
    /// missing rows, otherwise as [`ApiError::from_database`]. Every route maps store
    /// errors through here, so CRUD and actions answer alike.
    pub fn from_store(entity: &str, error: StoreError) -> Self {
        match error {
            StoreError::Unique(fields) => Self::unique_violation(entity, &fields),
            StoreError::UnknownReference(dangling) => Self::unknown_reference(&dangling),
            StoreError::StillReferenced(referral) => Self::still_referenced(entity, &referral),
            StoreError::Decode(e) => Self::internal(&e),
            StoreError::Database(e) => Self::from_database(e),
        }
    }

    /// The answer to a failed database call: 503 when the database could not be reached in
    /// time (no connection free before the pool's timeout, or the connection failed), 500
    /// otherwise.
    pub fn from_database(error: sqlx::Error) -> Self {
        match error {
            e @ (sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => Self::unavailable(&e),
            e => Self::internal(&e),
        }
    }

    /// 503: the database could not be reached in time.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "the database is not reachable; retry later",
        )
    }
}

impl ApiError {
    /// 503 from `/readyz`: the named check failed. The cause is logged, not shown: the route
    /// is open to anyone who reaches the port.
    pub fn not_ready(check: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(%cause, check, "readiness check failed");
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            format!("the `{check}` check failed; the service cannot serve requests now"),
        );
        error.retry_after = Some(5);
        error
    }
}

/// The closest known name, for "did you mean" (the rule the spec checker uses too).
pub use entity_spec_contract::suggest::did_you_mean as closest;

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldViolation],
    /// The request's id (also in the `X-Request-Id` header and the log lines), so that a
    /// problem a user reports leads to the server's side of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ApiError {
    /// The problem document (RFC 9457) of this error.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let body = ProblemBody {
            kind: format!("urn:entity-spec:problem:{}", self.kind),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
            request_id: request_id::current().map(|id| id.as_str().to_owned()),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let bytes = self.to_json();
        let mut response = (self.status, bytes).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.title, self.detail)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names() {
        assert_eq!(closest("nmae", ["name", "source_type"]), Some("name"));
        assert_eq!(closest("zzz", ["name"]), None);
    }
}
