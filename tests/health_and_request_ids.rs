//! What an operator's load balancer and support desk rely on, on both databases: `/healthz`
//! and `/readyz` without a credential (readiness failing with a 503 problem when the database
//! is gone), and a request id on every response, in every problem body and in the audit row
//! of the write it identifies.

mod support;

use std::collections::BTreeSet;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::api_keys::{self, NewKey};
use entity_spec::{AuthConfig, MigrateOptions};
use serde_json::json;
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

/// A migrated database, the service on it with authentication on, and an admin key.
async fn secured(backend: entity_spec::Backend) -> (TestDb, Router, String) {
    let test_db = TestDb::new(backend).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let new = NewKey { name: "admin".into(), scopes: vec!["admin".into()], expires_at: None };
    let (key, _) = api_keys::create(&test_db.db, new).await.unwrap();
    let app = model::service(test_db.db.clone(), TestActions).with_auth(AuthConfig::api_keys()).router();
    (test_db, app, format!("Bearer {}", key.expose()))
}

type Headers<'a> = &'a [(&'a str, &'a str)];

fn is_generated_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn health_routes_answer_without_a_credential_and_readiness_follows_the_database() {
    for backend in BACKENDS {
        let (test_db, app, _) = secured(backend).await;
        let live = send(&app, "GET", "/healthz", None, &[]).await;
        assert_eq!((live.status, &live.body), (StatusCode::OK, &json!({"status": "ok"})), "{backend:?}");
        let ready = send(&app, "GET", "/readyz", None, &[]).await;
        assert_eq!(ready.status, StatusCode::OK, "{backend:?}: {}", ready.text);
        assert_eq!(ready.body, json!({"status": "ready", "checks": {"database": "ok"}}), "{backend:?}");

        // The database goes away: the process is still alive, but not ready.
        test_db.db.close().await;
        let live = send(&app, "GET", "/healthz", None, &[]).await;
        assert_eq!(live.status, StatusCode::OK, "{backend:?}");
        let not_ready = send(&app, "GET", "/readyz", None, &[]).await;
        let problem = not_ready.problem(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem["type"], "urn:entity-spec:problem:not-ready", "{backend:?}");
        assert!(problem["detail"].as_str().unwrap().contains("`database`"), "{backend:?}: {problem}");
        assert_eq!(not_ready.header("retry-after"), "5", "{backend:?}");
        // What failed inside is for the log: the route is open to anyone.
        assert!(!not_ready.text.to_lowercase().contains("pool"), "{backend:?}: {}", not_ready.text);
    }
}

#[tokio::test]
async fn every_response_and_problem_carries_the_request_id() {
    for backend in BACKENDS {
        let (_db, app, auth) = secured(backend).await;
        let auth = auth.as_str();
        // A usable client id comes back on successes, problems (in the body too), refusals
        // before authentication and routes served without a credential.
        let sent = "support-ticket-4711";
        let cases: [(&str, &str, Headers, StatusCode); 5] = [
            ("GET", "/raw-data-sources", &[("authorization", auth), ("x-request-id", sent)], StatusCode::OK),
            (
                "GET",
                "/raw-data-sources/nope",
                &[("authorization", auth), ("x-request-id", sent)],
                StatusCode::NOT_FOUND,
            ),
            ("GET", "/raw-data-sources", &[("x-request-id", sent)], StatusCode::UNAUTHORIZED),
            ("GET", "/no-such-route", &[("x-request-id", sent)], StatusCode::NOT_FOUND),
            ("GET", "/healthz", &[("x-request-id", sent)], StatusCode::OK),
        ];
        for (method, path, headers, status) in cases {
            let response = send(&app, method, path, None, headers).await;
            assert_eq!(response.status, status, "{backend:?}: {method} {path}: {}", response.text);
            assert_eq!(response.header("x-request-id"), sent, "{backend:?}: {method} {path}");
            if !status.is_success() {
                assert_eq!(response.body["request_id"], sent, "{backend:?}: {method} {path}: {}", response.text);
            }
        }

        // Absent, empty, too long or not printable: a fresh id instead, different every time.
        let long = "x".repeat(129);
        let mut seen = BTreeSet::new();
        for replaced in [None, Some(""), Some(long.as_str()), Some("two words"), Some("tab\there")] {
            let mut headers = vec![("authorization", auth)];
            headers.extend(replaced.map(|id| ("x-request-id", id)));
            let response = send(&app, "GET", "/raw-data-sources/nope", None, &headers).await;
            let id = response.header("x-request-id").to_owned();
            assert!(is_generated_id(&id), "{backend:?}: {replaced:?} gave {id:?}");
            assert_eq!(response.body["request_id"], id.as_str(), "{backend:?}");
            assert!(seen.insert(id), "{backend:?}: ids are unique");
        }
    }
}

#[tokio::test]
async fn the_audit_row_of_a_write_has_its_request_id() {
    for backend in BACKENDS {
        let (_db, app, auth) = secured(backend).await;
        let body = json!({"name": "traced", "connection_string": "postgres://u:p@db/x"});
        let created = send(
            &app,
            "POST",
            "/raw-data-sources",
            Some(body),
            &[("authorization", &auth), ("x-request-id", "deploy-check-1")],
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        let id = created.body["id"].as_str().unwrap();
        let audit = send(&app, "GET", &format!("/audit-log?entity_id={id}"), None, &[("authorization", &auth)]).await;
        assert_eq!(audit.status, StatusCode::OK, "{backend:?}: {}", audit.text);
        assert_eq!(audit.body["items"][0]["operation"], "create", "{backend:?}: {}", audit.text);
        assert_eq!(audit.body["items"][0]["request_id"], "deploy-check-1", "{backend:?}: {}", audit.text);
    }
}

/// Cross-origin access is off by default; with origins configured, a browser's preflight is
/// answered without a credential and answers carry the CORS headers for those origins only.
#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    for backend in BACKENDS {
        let (test_db, closed, auth) = secured(backend).await;
        let origin = "https://app.example.com";
        let plain = send(&closed, "GET", "/healthz", None, &[("origin", origin)]).await;
        assert_eq!(plain.header("access-control-allow-origin"), "", "{backend:?}: off by default");

        let origins = entity_spec::CorsOrigins::parse(origin).unwrap();
        let open = model::service(test_db.db.clone(), TestActions)
            .with_auth(AuthConfig::api_keys())
            .with_cors(origins)
            .router();
        let preflight = send(
            &open,
            "OPTIONS",
            "/raw-data-sources",
            None,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization, content-type"),
            ],
        )
        .await;
        assert!(preflight.status.is_success(), "{backend:?}: {}", preflight.status);
        assert_eq!(preflight.header("access-control-allow-origin"), origin, "{backend:?}");
        assert!(preflight.header("access-control-allow-methods").contains("POST"), "{backend:?}");
        assert!(preflight.header("access-control-allow-headers").contains("authorization"), "{backend:?}");
        assert_eq!(preflight.header("access-control-allow-credentials"), "", "{backend:?}: never credentials");

        let read = send(&open, "GET", "/raw-data-sources", None, &[("origin", origin), ("authorization", &auth)]).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}: {}", read.text);
        assert_eq!(read.header("access-control-allow-origin"), origin, "{backend:?}");
        assert!(read.header("access-control-expose-headers").contains("x-request-id"), "{backend:?}");

        let stranger = send(
            &open,
            "GET",
            "/raw-data-sources",
            None,
            &[("origin", "https://evil.example"), ("authorization", &auth)],
        )
        .await;
        assert_eq!(stranger.header("access-control-allow-origin"), "", "{backend:?}: other origins get nothing");
    }
}
