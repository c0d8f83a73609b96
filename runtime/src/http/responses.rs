//! The one way a success is answered: a JSON body with its content type and, for an
//! entity, its version as the ETag. A body that cannot be serialized becomes a
//! problem+json 500, never an empty body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::problem::ApiError;

/// `body` as JSON with `status`, and `version` (an entity's) as its ETag.
pub fn json<T: Serialize>(status: StatusCode, body: &T, version: Option<i64>) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some(version) = version {
                response.headers_mut().insert(header::ETAG, etag(version));
            }
            response
        }
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// The ETag of a version: the number, quoted.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}
