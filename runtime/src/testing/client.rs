//! An in-process client for a service's router (no socket: `tower::ServiceExt::oneshot`),
//! whose every answer to a documented operation is checked against the service's own OpenAPI
//! document, and [`each_backend`], which runs one test body on a fresh database per backend.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::storage::db::{Backend, Db};
use crate::testing::conformance::{self, Conformance};
use crate::testing::database::{TestDatabase, test_backends};

/// Builds the service under test on a fresh, empty database: migrate, then the router.
pub type AppFactory = fn(Db) -> Pin<Box<dyn Future<Output = Router> + Send>>;

/// Runs `test` once per backend of [`test_backends`], each time with a fresh database and the
/// router `app` builds on it, on a runtime of its own (so it can be the body of a plain
/// `#[test]`).
pub fn each_backend<F, Fut>(app: AppFactory, test: F)
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a test runtime starts");
    runtime.block_on(async {
        for backend in test_backends() {
            let database = TestDatabase::new(backend).await;
            let router = app(database.db.clone()).await;
            let client = Client::new(router, backend).await;
            test(client).await;
            database.db.close().await;
        }
    });
}

/// A client for one router, with the document it serves.
#[derive(Clone)]
pub struct Client {
    router: Router,
    document: Arc<Conformance>,
    /// The backend the service runs on, for messages.
    pub backend: Backend,
}

impl Client {
    /// A client for `router`, which serves its OpenAPI document at `/openapi.json`.
    pub async fn new(router: Router, backend: Backend) -> Client {
        let request = Request::builder().uri("/openapi.json").body(Body::empty()).expect("a valid request");
        let response = router.clone().oneshot(request).await.expect("the router never fails");
        let bytes = response.into_body().collect().await.expect("the body reads").to_bytes();
        let document = conformance::for_document(&String::from_utf8_lossy(&bytes));
        Client { router, document, backend }
    }

    /// Sends a request with an optional JSON body (`Content-Type: application/json` unless a
    /// header says otherwise) and checks the answer against the document.
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        let mut typed = false;
        for (name, value) in headers {
            typed |= name.eq_ignore_ascii_case("content-type");
            request = request.header(*name, *value);
        }
        if body.is_some() && !typed {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("a valid request"))
            .await
            .expect("the router never fails");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("the body reads").to_bytes();
        let request_path = path.split('?').next().unwrap_or(path);
        let document_problem = self.document.verify(method, request_path, status, &headers, &bytes).err();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
            text,
            context: format!("{method} {path} on {:?}", self.backend),
            document_problem: std::cell::RefCell::new(document_problem),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, &[]).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(body), &[]).await
    }
}

/// An answer, with the request it answers (for messages).
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as JSON (`null` when it is not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
    /// `METHOD path on Backend`.
    pub context: String,
    /// How the answer breaks the OpenAPI document, reported after the test's own assertion
    /// on the status (whose message names the spec's promise) or, failing that, when the
    /// reply is dropped: no answer escapes the check.
    document_problem: std::cell::RefCell<Option<String>>,
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(problem) = self.document_problem.get_mut().take()
            && !std::thread::panicking()
        {
            panic!("{problem}");
        }
    }
}

impl Reply {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Panics unless the status is `status`; `why` says what the spec promised.
    #[track_caller]
    pub fn expect_status(&self, status: u16, why: &str) -> &Self {
        assert_eq!(self.status, status, "{why}\n{}: answered {}: {}", self.context, self.status, self.text);
        if let Some(problem) = self.document_problem.borrow_mut().take() {
            panic!("{why}\nthe answer breaks the OpenAPI document: {problem}");
        }
        self
    }

    /// Panics unless this is a problem (`application/problem+json`) with `status` whose `errors`
    /// name `field` with `code`.
    #[track_caller]
    pub fn expect_violation(&self, status: u16, field: &str, code: &str, why: &str) -> &Self {
        self.expect_status(status, why);
        assert_eq!(self.header("content-type"), "application/problem+json", "{why}\n{}: {}", self.context, self.text);
        let named = self.body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field && e["code"] == code));
        assert!(named, "{why}\n{}: expected a `{code}` problem for `{field}`, got: {}", self.context, self.text);
        self
    }

    /// Panics unless this is a problem with `status` whose `errors` name `field` (whatever
    /// the code).
    #[track_caller]
    pub fn expect_field_problem(&self, status: u16, field: &str, why: &str) -> &Self {
        self.expect_status(status, why);
        let named = self.body["errors"].as_array().is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
        assert!(named, "{why}\n{}: expected a problem naming `{field}`, got: {}", self.context, self.text);
        self
    }

    /// The `id` of a created or read item.
    #[track_caller]
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{}: no `id` in {}", self.context, self.text))
    }
}

/// A query-string value, percent-encoded.
pub fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The order a list sorts JSON values of one field in, ascending: numbers by value, text by
/// code point, booleans `false` first, `null` last (as the service sorts on both databases).
pub fn compare_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or_default().partial_cmp(&y.as_f64().unwrap_or_default()).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// A short wait between polls of something a worker does in the background.
pub async fn pause() {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}

/// Both futures, polled at once (two requests in flight together).
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
