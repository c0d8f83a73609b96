//! Request ids: every request gets one, the client's `X-Request-Id` when it is short and
//! printable, a new UUIDv7 otherwise. It is returned on every response, put in the request's
//! log span, in every problem body (`request_id`) and in audit rows, so a user's error report
//! leads to the log lines and the audit row of that request.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

/// The header carrying a request's id, both ways.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longer client ids are replaced: they end up in logs and audit rows.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The request's id, as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// The id as text (always visible ASCII).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

tokio::task_local! {
    /// The id of the request being handled, for the problem bodies its handlers build.
    static CURRENT: RequestId;
}

/// The id of the request this task is handling, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(RequestId::clone).ok()
}

/// Outermost middleware: settles the request's id (the request's `X-Request-Id` header is
/// replaced by it, so the log span reads it there), runs the request with it, and returns it.
pub async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|id| !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.as_bytes().iter().all(u8::is_ascii_graphic))
        .cloned()
        .unwrap_or_else(|| {
            let generated = Uuid::now_v7().simple().to_string();
            HeaderValue::from_str(&generated).expect("hex digits are a valid header value")
        });
    request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = CURRENT.scope(RequestId(id.clone()), next.run(request)).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}
