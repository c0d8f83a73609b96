//! Test harness: a fresh database per test on each backend, and an in-process client for a
//! router (`tower::ServiceExt::oneshot`, no socket).
//!
//! PostgreSQL is the server on 127.0.0.1:5432 (override with `ENTITY_SPEC_TEST_POSTGRES_URL`,
//! an admin URL). Each test creates its own database and drops it afterwards. When PostgreSQL
//! is unreachable the tests fail: they never skip silently.
#![allow(dead_code)] // each test binary uses part of the harness

pub use entity_spec::testing::conformance;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity_spec::Backend;
use http_body_util::BodyExt;
use serde_json::Value;

/// The backends tests run on: both, SQLite first. `for backend in BACKENDS` iterates them.
/// `ENTITY_SPEC_TEST_BACKENDS=sqlite` (set by `cargo xtask test --quick`, the contributor's
/// inner loop) narrows them to SQLite; the full run never sets it.
pub const BACKENDS: Backends = Backends;

/// See [`BACKENDS`].
pub struct Backends;

impl IntoIterator for Backends {
    type Item = Backend;
    type IntoIter = std::vec::IntoIter<Backend>;

    fn into_iter(self) -> Self::IntoIter {
        let all = if postgres_enabled() { vec![Backend::Sqlite, Backend::Postgres] } else { vec![Backend::Sqlite] };
        all.into_iter()
    }
}

/// Whether this run includes PostgreSQL: always, unless `ENTITY_SPEC_TEST_BACKENDS` names
/// only other backends (quick mode). Tests that exist only for PostgreSQL check it and say so.
pub fn postgres_enabled() -> bool {
    match std::env::var("ENTITY_SPEC_TEST_BACKENDS") {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|name| name.trim().eq_ignore_ascii_case("postgres")),
        _ => true,
    }
}

/// That every backend of the run gave the same outcomes (one entry per backend, in
/// [`BACKENDS`] order); a SQLite-only run has nothing to compare.
pub fn assert_backends_agree<T: PartialEq + std::fmt::Debug>(outcomes: &[T], what: &str) {
    if let [first, rest @ ..] = outcomes {
        for other in rest {
            assert_eq!(first, other, "{what}");
        }
    }
}

/// A fresh database per test, the key test databases seal secrets with, the PostgreSQL
/// server tests create databases on: the runtime's `testing` layer, which the generated
/// conformance suites use too.
#[allow(unused_imports)] // each test binary uses part of them
pub use entity_spec::testing::database::{TEST_SECRET_KEY, TestDatabase as TestDb, postgres_admin_url, test_keyring};

/// A response as tests look at it: `body` and `text` decoded from the `Content-Encoding` (gzip,
/// br) when there is one, `wire_len` the body's length as sent.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
    pub wire_len: usize,
}

impl TestResponse {
    /// A header as a string ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts a problem+json error with this status; returns its body.
    pub fn problem(&self, status: StatusCode) -> &Value {
        self.problem_for(status, "response")
    }

    /// [`problem`](Self::problem) for one case of a table: every failure names `case`.
    pub fn problem_for(&self, status: StatusCode, case: impl std::fmt::Display) -> &Value {
        let text = &self.text;
        assert_eq!(self.status, status, "{case}: body: {text}");
        assert_eq!(self.header("content-type"), "application/problem+json", "{case}: body: {text}");
        assert_eq!(self.body["status"], status.as_u16(), "{case}: {text}");
        assert!(
            self.body["type"].as_str().is_some_and(|t| t.starts_with("urn:entity-spec:problem:")),
            "{case}: {text}"
        );
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()), "{case}: {text}");
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{case}: {text}");
        &self.body
    }

    /// The `field`s of a problem's `errors`, in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }

    /// The `(field, code)` pairs of a problem's `errors`, in order.
    pub fn error_codes(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `(field, code)` pairs of a problem's `errors`, as a set: for bodies with several
    /// violations, whose order the contract leaves open. Compare it with [`code_set`].
    pub fn error_code_set(&self) -> BTreeSet<(String, String)> {
        self.error_codes().into_iter().collect()
    }
}

/// The expected `(field, code)` pairs of a 422, as [`TestResponse::error_code_set`] gives them.
pub fn code_set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(field, code)| ((*field).to_owned(), (*code).to_owned())).collect()
}

/// Sends one request through `app`. `body` is sent as JSON when given.
pub async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    send_request(app, request.body(body).expect("valid request")).await
}

/// Sends a prepared request through `app`.
///
/// Every response to an operation the service documents is checked against its OpenAPI
/// document (see [`conformance`]), so each test also proves the document true.
pub async fn send_request(app: &Router, request: Request<Body>) -> TestResponse {
    use tower::ServiceExt;
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let response = app.clone().oneshot(request).await.expect("router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let wire = response.into_body().collect().await.expect("body reads").to_bytes();
    let bytes = decoded(&headers, &wire);
    if path != "/openapi.json" && !path.starts_with("/docs") {
        // Checked as the client reads it: decoded.
        conformance::for_document(&served_openapi(app).await).check(&method, &path, status.as_u16(), &headers, &bytes);
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse { status, headers, body, text, wire_len: wire.len() }
}

/// A body as sent, decoded from its `Content-Encoding` (none, `gzip` or `br`).
pub fn decoded(headers: &axum::http::HeaderMap, wire: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut plain = Vec::new();
    match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().expect("ASCII")) {
        None => plain.extend_from_slice(wire),
        Some("gzip") => {
            flate2::read::GzDecoder::new(wire).read_to_end(&mut plain).expect("a gzip body decodes");
        }
        Some("br") => {
            brotli::Decompressor::new(wire, 4096).read_to_end(&mut plain).expect("a br body decodes");
        }
        Some(other) => panic!("unexpected Content-Encoding `{other}`"),
    }
    plain
}

/// The OpenAPI document `app` serves.
pub async fn served_openapi(app: &Router) -> String {
    use tower::ServiceExt;
    let request = Request::builder().uri("/openapi.json").body(Body::empty()).expect("valid request");
    let response = app.clone().oneshot(request).await.expect("router never fails");
    assert_eq!(response.status(), StatusCode::OK, "the service serves /openapi.json");
    let bytes = response.into_body().collect().await.expect("body reads").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("the document is UTF-8")
}

/// Sends raw bytes through `app` with an optional `Content-Type` (for malformed bodies, wrong
/// media types and oversized bodies, which [`send`] cannot produce).
pub async fn send_raw(
    app: &Router,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send_request(app, request.body(body.into()).expect("valid request")).await
}

/// Percent-encodes a query parameter value (everything but unreserved characters), so that
/// e.g. the `+` of an RFC 3339 offset survives form decoding.
pub fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A service's router with the workers of its tracked actions started on this runtime (with
/// `config`), as a service's `main` does, with authentication off (tests/auth.rs tests it).
pub fn started(service: entity_spec::Service, config: entity_spec::EngineConfig) -> Router {
    let service = service.with_auth(entity_spec::AuthConfig::off());
    service.start_workers(&config).expect("tests run inside a Tokio runtime");
    service.router()
}

/// A service's router without workers, with authentication off (tests/auth.rs tests it).
pub fn open(service: entity_spec::Service) -> Router {
    service.with_auth(entity_spec::AuthConfig::off()).router()
}

/// Worker-pool settings for tests: two workers, no scheduler (tests trigger runs themselves),
/// and every failure final, so a test that makes a run fail sees `failed` at once instead of
/// after the spec's retries (tests/run_retries.rs turns them on).
pub fn quiet_engine() -> entity_spec::EngineConfig {
    entity_spec::EngineConfig {
        workers: 2,
        schedule_interval: None,
        retries: false,
        ..entity_spec::EngineConfig::from_env()
    }
}

/// `TestActions` for a module generated from `specs/entities.json`: syncs succeed without
/// reaching anything (tests/sync.rs uses the real connectors).
#[allow(unused_macros)]
macro_rules! raw_data_source_test_actions {
    ($model:ident) => {
        pub struct TestActions;

        impl $model::RawDataSourceActions for TestActions {
            async fn sync(&self, _item: &mut $model::RawDataSource) -> Result<String, String> {
                Ok("synced".to_owned())
            }

            async fn test_connection(
                &self,
                _item: $model::RawDataSource,
            ) -> Result<$model::RawDataSourceTestConnectionResponse, entity_spec::ApiError> {
                Ok($model::RawDataSourceTestConnectionResponse {
                    ok: true,
                    latency_ms: 0,
                    message: "reachable".to_owned(),
                })
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use raw_data_source_test_actions;

/// `OrderActions` for a module generated from `tests/specs/catalog.json`: `cancel` echoes its
/// reason, `export` reports a fixed row count.
#[allow(unused_macros)]
macro_rules! order_test_actions {
    ($catalog:ident) => {
        pub struct OrderTestActions;

        impl $catalog::OrderActions for OrderTestActions {
            async fn cancel(
                &self,
                item: $catalog::Order,
                request: $catalog::OrderCancelRequest,
            ) -> Result<serde_json::Value, entity_spec::ApiError> {
                Ok(serde_json::json!({"order": item.id, "cancelled": true, "reason": request.reason}))
            }

            async fn export(&self) -> Result<$catalog::OrderExportResponse, entity_spec::ApiError> {
                Ok($catalog::OrderExportResponse { format: $catalog::OrderExportResponseFormat::Json, rows: 3 })
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use order_test_actions;

/// `MemberActions` for a module generated from `tests/specs/library.json`: `renew` answers a
/// value of its declared response (it is not under test where this is used).
#[allow(unused_macros)]
macro_rules! library_test_actions {
    ($library:ident) => {
        pub struct Renewals;

        impl $library::MemberActions for Renewals {
            async fn renew(
                &self,
                item: $library::Member,
                _request: $library::MemberRenewRequest,
            ) -> Result<$library::MemberRenewResponse, entity_spec::ApiError> {
                Ok($library::MemberRenewResponse {
                    valid_until: item.joined_on,
                    tier: $library::MemberRenewResponseTier::Adult,
                })
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use library_test_actions;

/// `setup(backend)`: a fresh database migrated to the library spec, and the spec's service on
/// it without authentication (after `library_test_actions!`, whose `Renewals` it serves).
#[allow(unused_macros)]
macro_rules! library_setup {
    ($library:ident) => {
        async fn setup(backend: entity_spec::Backend) -> (support::TestDb, axum::Router) {
            let test_db = support::TestDb::new(backend).await;
            $library::migrate(&test_db.db, entity_spec::MigrateOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{backend:?}: migrate failed: {e}"));
            let app = support::open($library::service(test_db.db.clone(), Renewals));
            (test_db, app)
        }
    };
}
#[allow(unused_imports)]
pub(crate) use library_setup;

/// The `id`s of list items, in order.
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().expect("id").to_owned()).collect()
}

/// Orders JSON values as the store does ascending: NULLs last, timestamps as instants.
pub fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()).expect("comparable"),
        (Value::String(a), Value::String(b)) => {
            match (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b)) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.cmp(b),
            }
        }
        _ => panic!("cannot compare {a} and {b}"),
    }
}

/// The order a list must have: by `field` (`-field` descending), then by id the same way.
pub fn expected_order(items: &[Value], sort: &str) -> Vec<String> {
    let (field, descending) = match sort.strip_prefix('-') {
        Some(field) => (field, true),
        None => (sort, false),
    };
    let mut sorted = items.to_vec();
    sorted.sort_by(|a, b| {
        let ordering = compare_values(&a[field], &b[field]).then_with(|| {
            let a = uuid::Uuid::parse_str(a["id"].as_str().expect("id")).expect("uuid");
            let b = uuid::Uuid::parse_str(b["id"].as_str().expect("id")).expect("uuid");
            a.cmp(&b)
        });
        if descending { ordering.reverse() } else { ordering }
    });
    ids(&sorted)
}

/// Follows `next_cursor` from the first page of `path?query` to the end and returns every
/// item, checking on each page the status, `total`, full pages until the last, no empty last
/// page, and whatever `check` adds (given the response and its URI).
pub async fn collect_pages(
    app: &Router,
    backend: Backend,
    path: &str,
    query: &str,
    limit: usize,
    total: usize,
    check: impl Fn(&TestResponse, &str),
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page <= total / limit + 1, "{backend:?}: {path}?{query}: more pages than rows");
        let uri = match &cursor {
            None => format!("{path}?{query}"),
            Some(cursor) => format!("{path}?{query}&cursor={cursor}"),
        };
        let response = send(app, "GET", &uri, None, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{backend:?}: {uri}: {}", response.text);
        check(&response, &uri);
        assert_eq!(response.body["total"], total, "{backend:?}: {uri}: total counts every match on every page");
        let page_items = response.body["items"].as_array().expect("items");
        items.extend(page_items.iter().cloned());
        match &response.body["next_cursor"] {
            Value::String(next) => {
                assert_eq!(page_items.len(), limit, "{backend:?}: {uri}: only the last page is short");
                cursor = Some(next.clone());
            }
            Value::Null => {
                assert!(!page_items.is_empty() || total == 0, "{backend:?}: {uri}: no empty last page");
                break;
            }
            other => panic!("{backend:?}: {uri}: next_cursor is {other}"),
        }
    }
    items
}
