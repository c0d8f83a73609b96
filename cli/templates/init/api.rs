//! The generated service, exercised the way a client sees it: requests go through the router
//! in-process (`tower::ServiceExt::oneshot`, no socket) against a fresh SQLite file, with an
//! API key created the way `{{name}} keys create` does.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

/// A router over a new, migrated database in the temp directory, and an admin API key for it.
async fn app() -> (axum::Router, String) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let file = std::env::temp_dir().join(format!(
        "{{name}}-test-{}-{}.db",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&file);
    let db = entity_spec::Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("SQLite opens");
    model::migrate(&db, entity_spec::MigrateOptions::default())
        .await
        .expect("tables are created");
    let admin = entity_spec::api_keys::NewKey {
        name: "test".into(),
        scopes: vec!["admin".into()],
        expires_at: None,
    };
    let (key, _) = entity_spec::api_keys::create(&db, admin)
        .await
        .expect("the key is created");
    (model::router(db), key.expose().clone())
}

async fn send(
    app: &(axum::Router, String),
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (app, key) = app;
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .expect("the router answers");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn notes_are_created_read_and_listed() {
    let app = app().await;
    let (status, created) = send(&app, "POST", "/notes", Some(json!({"title": "Buy milk"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["pinned"], false, "the spec's default applies");

    let id = created["id"].as_str().expect("the server sets the id");
    let (status, read) = send(&app, "GET", &format!("/notes/{id}"), None).await;
    assert_eq!((status, &read), (StatusCode::OK, &created));

    let (status, list) = send(&app, "GET", "/notes?pinned=false", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
}

#[tokio::test]
async fn invalid_notes_are_rejected_with_every_problem() {
    let app = app().await;
    let (status, problem) = send(
        &app,
        "POST",
        "/notes",
        Some(json!({"title": " ", "pinned": true})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "title");
}

#[tokio::test]
async fn requests_without_a_credential_are_refused() {
    let (app, _) = app().await;
    let request = Request::builder()
        .uri("/notes")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.expect("the router answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = app().await;
    let (status, document) = send(&app, "GET", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["paths"]["/notes"].is_object(), "{document}");
}
