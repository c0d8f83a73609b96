//! The HTTP contract of the RawDataSource service (`specs/entities.json`), on SQLite and on
//! PostgreSQL: every route and status, the secret `connection_string`, ETags, merge patch,
//! uniqueness under concurrency, problem+json errors and the list contract (filters, sorting,
//! offset and cursor pagination, parameter errors).

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use entity_spec::{Backend, MigrateOptions};
use serde_json::{Value, json};
use support::{
    BACKENDS, TestDb, TestResponse, code_set, collect_pages, expected_order, ids, percent_encode, send, send_raw,
};
use uuid::Uuid;

/// The reference spec's entity for CRUD, without `api.tracking` and actions (whose status
/// fields become server-managed; `tests/sync.rs` covers those on the reference spec itself).
#[entity_spec::entity_spec("tests/specs/raw_data_sources_crud.json")]
pub mod model {}

const PATH: &str = "/raw-data-sources";
/// The connection string every test stores; no response may ever contain it.
const SECRET: &str = "postgres://etl:Hunter2-S3cret-Passw0rd@warehouse.internal:5432/prod";
/// A distinctive part of [`SECRET`], in case a response shows it partially or re-encoded.
const SECRET_PART: &str = "Hunter2-S3cret-Passw0rd";
/// Fields a response carries: every field but the sensitive one.
const VISIBLE_FIELDS: [&str; 13] = [
    "id",
    "name",
    "source_type",
    "schema_definition",
    "refresh_interval",
    "is_active",
    "last_sync_at",
    "sync_status",
    "error_message",
    "metadata",
    "created_at",
    "updated_at",
    "tags",
];

async fn setup(backend: Backend) -> (TestDb, Router) {
    let test_db = TestDb::new(backend).await;
    model::migrate(&test_db.db, MigrateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: migrate failed: {e}"));
    let app = support::open(model::service(test_db.db.clone()));
    (test_db, app)
}

/// Creates a source and returns the 201 response.
async fn create(app: &Router, backend: Backend, body: Value) -> TestResponse {
    let response = send(app, "POST", PATH, Some(body.clone()), &[]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{backend:?}: POST {body}: {}", response.text);
    assert_no_secret(&response, backend, "POST");
    response
}

fn id_of(response: &TestResponse) -> String {
    response.body["id"].as_str().expect("an id").to_owned()
}

fn item_path(id: &str) -> String {
    format!("{PATH}/{id}")
}

/// The secret must not appear anywhere in a response: body, headers, or as a member.
fn assert_no_secret(response: &TestResponse, backend: Backend, context: &str) {
    for secret in [SECRET, SECRET_PART, "NEW-Rotated-S3cret-Value", "Patched-S3cret-Value"] {
        assert!(
            !response.text.contains(secret),
            "{backend:?}: {context}: the secret leaked in the body: {}",
            response.text
        );
        for (name, value) in &response.headers {
            assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains(secret),
                "{backend:?}: {context}: the secret leaked in header {name}"
            );
        }
    }
    assert!(
        !response.text.contains("connection_string\":"),
        "{backend:?}: {context}: connection_string is a member of the body: {}",
        response.text
    );
}

/// The stored connection string of a source, read directly from the database.
async fn stored_connection_string(test_db: &TestDb, backend: Backend, id: &str) -> String {
    let id = Uuid::parse_str(id).expect("uuid");
    let stored = entity_spec::__private::runtime::store::get::<model::RawDataSource>(&test_db.db, id)
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: store read failed: {e}"))
        .unwrap_or_else(|| panic!("{backend:?}: row {id} is not stored"));
    stored.entity.connection_string.expose().clone()
}

fn parse_time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("`{text}`: {e}")).with_timezone(&Utc)
}

fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).expect("in range")
}

fn names(body: &Value) -> BTreeSet<String> {
    body["items"].as_array().expect("items").iter().map(|i| i["name"].as_str().expect("name").to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// Create and read
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_201_with_location_etag_server_fields_and_defaults() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let before = now_micros();
        let created = create(&app, backend, json!({"name": "warehouse", "connection_string": SECRET})).await;
        let after = now_micros();

        let id = id_of(&created);
        let uuid = Uuid::parse_str(&id).unwrap_or_else(|e| panic!("{backend:?}: id `{id}` is not a UUID: {e}"));
        assert!(!uuid.is_nil(), "{backend:?}");
        assert_eq!(created.header("location"), item_path(&id), "{backend:?}: Location");
        assert_eq!(created.header("etag"), "\"1\"", "{backend:?}: ETag of a new row");
        assert_eq!(created.header("content-type"), "application/json", "{backend:?}");

        let created_at = parse_time(&created.body["created_at"]);
        let updated_at = parse_time(&created.body["updated_at"]);
        assert_eq!(created_at, updated_at, "{backend:?}: both timestamps are set on create");
        assert!(
            before <= created_at && created_at <= after,
            "{backend:?}: created_at {created_at} not in [{before}, {after}]"
        );

        let expected = json!({
            "id": id,
            "name": "warehouse",
            "source_type": null,
            "schema_definition": null,
            "refresh_interval": 3600,
            "is_active": true,
            "last_sync_at": null,
            "sync_status": "pending",
            "error_message": null,
            "metadata": null,
            "created_at": created.body["created_at"],
            "updated_at": created.body["updated_at"],
            "tags": null,
        });
        assert_eq!(created.body, expected, "{backend:?}: defaults applied, server fields set");
        let keys: BTreeSet<&str> = created.body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, VISIBLE_FIELDS.into_iter().collect(), "{backend:?}: exactly the visible fields");

        let read = send(&app, "GET", &item_path(&id), None, &[]).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}: {}", read.text);
        assert_eq!(read.body, created.body, "{backend:?}: GET returns what POST returned");
        assert_eq!(read.header("etag"), "\"1\"", "{backend:?}");
        assert_no_secret(&read, backend, "GET");
    }
}

#[tokio::test]
async fn create_with_every_field_reads_back_the_same_values() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let body = json!({
            "name": "orders-api",
            "source_type": "api",
            "connection_string": SECRET,
            "schema_definition": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            "refresh_interval": 60,
            "is_active": false,
            "last_sync_at": "2026-01-31T12:34:56.123456Z",
            "sync_status": "failed",
            "error_message": "timeout after 30s",
            "metadata": {"owner": "data-team", "nested": {"depth": 2, "list": [1, "two", null, true]}},
            "tags": ["prod", "eu", "ünïcødé"],
        });
        let created = create(&app, backend, body.clone()).await;
        for (key, value) in body.as_object().expect("object") {
            if key == "connection_string" {
                continue;
            }
            if key == "last_sync_at" {
                assert_eq!(parse_time(&created.body[key]), parse_time(value), "{backend:?}: {key}");
            } else {
                assert_eq!(&created.body[key], value, "{backend:?}: {key} reads back as sent");
            }
        }
        let id = id_of(&created);
        let read = send(&app, "GET", &item_path(&id), None, &[]).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}");
        assert_eq!(read.body, created.body, "{backend:?}: stored values equal the response");
        assert_eq!(
            stored_connection_string(&test_db, backend, &id).await,
            SECRET,
            "{backend:?}: secret stored as sent"
        );
    }
}

#[tokio::test]
async fn get_returns_404_for_unknown_and_malformed_ids_and_304_for_a_current_etag() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "a", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));

        let unknown = send(&app, "GET", &item_path(&Uuid::now_v7().to_string()), None, &[]).await;
        assert_eq!(unknown.problem(StatusCode::NOT_FOUND)["type"], "urn:entity-spec:problem:not-found", "{backend:?}");
        let malformed = send(&app, "GET", &item_path("not-a-uuid"), None, &[]).await;
        malformed.problem(StatusCode::NOT_FOUND);
        assert!(
            malformed.body["detail"].as_str().unwrap_or("").contains("not-a-uuid"),
            "{backend:?}: {}",
            malformed.text
        );

        for condition in ["\"1\"", "W/\"1\"", "*", "\"7\", \"1\""] {
            let cached = send(&app, "GET", &path, None, &[("if-none-match", condition)]).await;
            assert_eq!(
                cached.status,
                StatusCode::NOT_MODIFIED,
                "{backend:?}: If-None-Match {condition}: {}",
                cached.text
            );
            assert!(cached.text.is_empty(), "{backend:?}: a 304 has no body: {}", cached.text);
            assert_eq!(cached.header("etag"), "\"1\"", "{backend:?}: a 304 carries the ETag");
        }
        let stale = send(&app, "GET", &path, None, &[("if-none-match", "\"2\"")]).await;
        assert_eq!(stale.status, StatusCode::OK, "{backend:?}: a different ETag gets the body");
        assert_eq!(stale.body, created.body, "{backend:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The secret
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_string_never_appears_in_any_response() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "secretive", "connection_string": SECRET})).await;
        let id = id_of(&created);
        let path = item_path(&id);
        let mut responses = Vec::new();

        responses.push(("GET", send(&app, "GET", &path, None, &[]).await));
        responses.push(("list", send(&app, "GET", PATH, None, &[]).await));
        responses
            .push(("list filtered", send(&app, "GET", &format!("{PATH}?name=secretive&limit=1"), None, &[]).await));
        // A second source so that the list has a next_cursor (which encodes a row position).
        create(&app, backend, json!({"name": "other", "connection_string": SECRET})).await;
        responses.push(("list paged", send(&app, "GET", &format!("{PATH}?limit=1&sort=name"), None, &[]).await));
        // Filtering by the secret is not offered, and the refusal does not echo the value.
        responses.push((
            "list by secret",
            send(&app, "GET", &format!("{PATH}?connection_string={}", percent_encode(SECRET)), None, &[]).await,
        ));
        let replaced = send(
            &app,
            "PUT",
            &path,
            Some(json!({"name": "secretive", "connection_string": "NEW-Rotated-S3cret-Value"})),
            &[],
        )
        .await;
        assert_eq!(replaced.status, StatusCode::OK, "{backend:?}: {}", replaced.text);
        responses.push(("PUT", replaced));
        let patched = send(
            &app,
            "PATCH",
            &path,
            Some(json!({"connection_string": "Patched-S3cret-Value", "error_message": "x"})),
            &[("content-type", "application/merge-patch+json")],
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK, "{backend:?}: {}", patched.text);
        responses.push(("PATCH", patched));
        assert_eq!(stored_connection_string(&test_db, backend, &id).await, "Patched-S3cret-Value", "{backend:?}");

        // Errors while the secret is in the body.
        let invalid = send(
            &app,
            "POST",
            PATH,
            Some(json!({"name": "x".repeat(101), "connection_string": SECRET, "refresh_interval": 1})),
            &[],
        )
        .await;
        invalid.problem(StatusCode::UNPROCESSABLE_ENTITY);
        responses.push(("POST 422", invalid));
        let blank = send(&app, "POST", PATH, Some(json!({"name": "b", "connection_string": "   "})), &[]).await;
        blank.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(blank.error_codes(), [("connection_string".to_owned(), "blank".to_owned())], "{backend:?}");
        responses.push(("POST blank secret", blank));
        let duplicate =
            send(&app, "POST", PATH, Some(json!({"name": "secretive", "connection_string": SECRET})), &[]).await;
        duplicate.problem(StatusCode::CONFLICT);
        responses.push(("POST 409", duplicate));
        let mistyped = send(&app, "POST", PATH, Some(json!({"name": 1, "connection_string": SECRET})), &[]).await;
        mistyped.problem(StatusCode::UNPROCESSABLE_ENTITY);
        responses.push(("POST 422 type", mistyped));
        let put_invalid = send(
            &app,
            "PUT",
            &path,
            Some(json!({"name": "secretive", "connection_string": SECRET, "refresh_interval": 5})),
            &[],
        )
        .await;
        put_invalid.problem(StatusCode::UNPROCESSABLE_ENTITY);
        responses.push(("PUT 422", put_invalid));
        let put_stale = send(
            &app,
            "PUT",
            &path,
            Some(json!({"name": "secretive", "connection_string": SECRET})),
            &[("if-match", "\"1\"")],
        )
        .await;
        put_stale.problem(StatusCode::PRECONDITION_FAILED);
        responses.push(("PUT 412", put_stale));
        let patch_invalid =
            send(&app, "PATCH", &path, Some(json!({"connection_string": SECRET, "is_active": "yes"})), &[]).await;
        patch_invalid.problem(StatusCode::UNPROCESSABLE_ENTITY);
        responses.push(("PATCH 422", patch_invalid));
        let malformed = send_raw(
            &app,
            "POST",
            PATH,
            Some("application/json"),
            format!("{{\"name\": \"m\", \"connection_string\": \"{SECRET}\""),
            &[],
        )
        .await;
        malformed.problem(StatusCode::BAD_REQUEST);
        responses.push(("POST malformed", malformed));
        let wrong_type =
            send_raw(&app, "POST", PATH, Some("text/plain"), format!("connection_string={SECRET}"), &[]).await;
        wrong_type.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        responses.push(("POST 415", wrong_type));

        for (context, response) in &responses {
            assert_no_secret(response, backend, context);
        }
        // The list items carry every visible field and nothing else.
        let list = send(&app, "GET", PATH, None, &[]).await;
        for item in list.body["items"].as_array().expect("items") {
            let keys: BTreeSet<&str> = item.as_object().expect("object").keys().map(String::as_str).collect();
            assert_eq!(keys, VISIBLE_FIELDS.into_iter().collect(), "{backend:?}: list item fields");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PUT
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_replaces_every_field_and_keeps_an_omitted_connection_string() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let created = create(
            &app,
            backend,
            json!({
                "name": "full",
                "source_type": "database",
                "connection_string": SECRET,
                "schema_definition": {"a": 1},
                "refresh_interval": 120,
                "is_active": false,
                "last_sync_at": "2026-02-01T00:00:00Z",
                "sync_status": "success",
                "error_message": "old",
                "metadata": {"k": "v"},
                "tags": ["x"],
            }),
        )
        .await;
        let id = id_of(&created);
        let path = item_path(&id);

        let replaced = send(&app, "PUT", &path, Some(json!({"name": "renamed"})), &[]).await;
        assert_eq!(replaced.status, StatusCode::OK, "{backend:?}: {}", replaced.text);
        assert_no_secret(&replaced, backend, "PUT");
        assert_eq!(replaced.header("etag"), "\"2\"", "{backend:?}: the version moves on");
        let expected = json!({
            "id": id,
            "name": "renamed",
            "source_type": null,
            "schema_definition": null,
            "refresh_interval": 3600,
            "is_active": true,
            "last_sync_at": null,
            "sync_status": "pending",
            "error_message": null,
            "metadata": null,
            "created_at": created.body["created_at"],
            "updated_at": replaced.body["updated_at"],
            "tags": null,
        });
        assert_eq!(replaced.body, expected, "{backend:?}: omitted fields reset to default or null");
        assert!(
            parse_time(&replaced.body["updated_at"]) >= parse_time(&created.body["updated_at"]),
            "{backend:?}: updated_at moves forward"
        );
        let read = send(&app, "GET", &path, None, &[]).await;
        assert_eq!(read.body, replaced.body, "{backend:?}: the replacement is stored");
        assert_eq!(
            stored_connection_string(&test_db, backend, &id).await,
            SECRET,
            "{backend:?}: an omitted connection_string keeps the stored value"
        );

        let rotated = send(
            &app,
            "PUT",
            &path,
            Some(json!({"name": "renamed", "connection_string": "NEW-Rotated-S3cret-Value"})),
            &[],
        )
        .await;
        assert_eq!(rotated.status, StatusCode::OK, "{backend:?}: {}", rotated.text);
        assert_no_secret(&rotated, backend, "PUT rotate");
        assert_eq!(stored_connection_string(&test_db, backend, &id).await, "NEW-Rotated-S3cret-Value", "{backend:?}");

        // The rules of a create body apply, except that connection_string may be omitted.
        let missing = send(&app, "PUT", &path, Some(json!({"source_type": "api"})), &[]).await;
        missing.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(missing.error_codes(), [("name".to_owned(), "required".to_owned())], "{backend:?}");
        let null_secret = send(&app, "PUT", &path, Some(json!({"name": "n", "connection_string": null})), &[]).await;
        null_secret.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(null_secret.error_codes(), [("connection_string".to_owned(), "null".to_owned())], "{backend:?}");
        let server_fields = send(
            &app,
            "PUT",
            &path,
            Some(json!({"name": "n", "id": id, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"})),
            &[],
        )
        .await;
        server_fields.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            server_fields.error_code_set(),
            code_set(&[("id", "read_only"), ("created_at", "read_only"), ("updated_at", "read_only")]),
            "{backend:?}: {}",
            server_fields.text
        );

        let unknown = send(&app, "PUT", &item_path(&Uuid::now_v7().to_string()), Some(json!({"name": "n"})), &[]).await;
        unknown.problem(StatusCode::NOT_FOUND);
        let malformed_id = send(&app, "PUT", &item_path("not-a-uuid"), Some(json!({"name": "n"})), &[]).await;
        malformed_id.problem(StatusCode::NOT_FOUND);
        // Failed requests changed nothing.
        assert_eq!(send(&app, "GET", &path, None, &[]).await.body, rotated.body, "{backend:?}");
    }
}

#[tokio::test]
async fn put_with_if_match_is_412_when_stale_and_200_when_current() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "v", "connection_string": SECRET})).await;
        let id = id_of(&created);
        let path = item_path(&id);
        let first = send(&app, "PUT", &path, Some(json!({"name": "v2"})), &[("if-match", "\"1\"")]).await;
        assert_eq!(first.status, StatusCode::OK, "{backend:?}: current If-Match: {}", first.text);
        assert_eq!(first.header("etag"), "\"2\"", "{backend:?}");

        let stale = send(&app, "PUT", &path, Some(json!({"name": "v3"})), &[("if-match", "\"1\"")]).await;
        assert_eq!(
            stale.problem(StatusCode::PRECONDITION_FAILED)["type"],
            "urn:entity-spec:problem:precondition-failed",
            "{backend:?}"
        );
        let read = send(&app, "GET", &path, None, &[]).await;
        assert_eq!(read.body["name"], "v2", "{backend:?}: a 412 changes nothing");
        assert_eq!(read.header("etag"), "\"2\"", "{backend:?}");

        let listed = send(&app, "PUT", &path, Some(json!({"name": "v3"})), &[("if-match", "\"9\", \"2\"")]).await;
        assert_eq!(listed.status, StatusCode::OK, "{backend:?}: one of the listed tags is current: {}", listed.text);
        let any = send(&app, "PUT", &path, Some(json!({"name": "v4"})), &[("if-match", "*")]).await;
        assert_eq!(any.status, StatusCode::OK, "{backend:?}: `*` matches: {}", any.text);
        assert_eq!(any.header("etag"), "\"4\"", "{backend:?}");
        let weak = send(&app, "PUT", &path, Some(json!({"name": "v5"})), &[("if-match", "W/\"4\"")]).await;
        weak.problem(StatusCode::PRECONDITION_FAILED);
        assert_eq!(stored_connection_string(&test_db, backend, &id).await, SECRET, "{backend:?}");
    }
}

/// `If-Match` that is not `*` or a list of entity tags (an empty one included) is a 400 naming
/// the header on every write, never a 412 no retry can fix; a bare `4` is taken as `"4"`.
/// An unknown id stays a 404 and a bad body a 422 whatever the header says (RFC 9110 §13.2.1).
#[tokio::test]
async fn a_malformed_if_match_is_400_after_404_and_body_errors() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let id = id_of(&create(&app, backend, json!({"name": "tagged", "connection_string": SECRET})).await);
        let path = item_path(&id);
        fn patch(value: &str) -> [(&'static str, &str); 2] {
            [("if-match", value), ("content-type", "application/merge-patch+json")]
        }
        for malformed in ["", "1", "\"1", "\"1\",,\"2\"", "*, \"1\"", "W/1"] {
            for (method, body, headers) in [
                ("PUT", Some(json!({"name": "x"})), vec![("if-match", malformed)]),
                ("PATCH", Some(json!({"name": "x"})), patch(malformed).to_vec()),
                ("DELETE", None, vec![("if-match", malformed)]),
            ] {
                let response = send(&app, method, &path, body, &headers).await;
                if malformed == "1" {
                    // A bare tag is the quoted one: the item is at version 1.
                    assert_ne!(response.status, StatusCode::BAD_REQUEST, "{backend:?}: {method} 1: {}", response.text);
                    break;
                }
                let problem =
                    response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: {method} {malformed:?}"));
                assert_eq!(problem["type"], "urn:entity-spec:problem:invalid-header", "{backend:?}");
                assert_eq!(response.error_fields(), ["If-Match"], "{backend:?}: {method} {malformed:?}");
            }
        }
        let current = send(&app, "GET", &path, None, &[]).await;
        let version = current.header("etag").trim_matches('"').to_owned();
        let bare = send(&app, "PATCH", &path, Some(json!({"name": "bare"})), &patch(&version)).await;
        assert_eq!(bare.status, StatusCode::OK, "{backend:?}: a bare current version matches: {}", bare.text);

        let unknown = item_path(&Uuid::now_v7().to_string());
        let missing = send(&app, "PUT", &unknown, Some(json!({"name": "x"})), &[("if-match", "")]).await;
        missing.problem(StatusCode::NOT_FOUND);
        let gone = send(&app, "DELETE", &unknown, None, &[("if-match", "")]).await;
        gone.problem(StatusCode::NOT_FOUND);
        let bad_body = send(&app, "PATCH", &path, Some(json!({"nope": 1})), &patch("")).await;
        bad_body.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            send(&app, "GET", &path, None, &[]).await.body["name"],
            "bare",
            "{backend:?}: nothing else was written"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PATCH
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn patch_changes_only_the_given_fields_with_either_content_type() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let created = create(
            &app,
            backend,
            json!({
                "name": "patchable",
                "source_type": "stream",
                "connection_string": SECRET,
                "refresh_interval": 120,
                "is_active": false,
                "sync_status": "failed",
                "error_message": "boom",
                "metadata": {"a": 1, "nested": {"x": 1, "y": 2}, "list": [1, 2]},
                "tags": ["t1"],
            }),
        )
        .await;
        let id = id_of(&created);
        let path = item_path(&id);

        for (content_type, patch, changes) in [
            ("application/merge-patch+json", json!({"refresh_interval": 300}), json!({"refresh_interval": 300})),
            (
                "application/json",
                json!({"sync_status": "success", "is_active": true}),
                json!({"sync_status": "success", "is_active": true}),
            ),
            ("application/merge-patch+json", json!({"error_message": null}), json!({"error_message": null})),
            ("application/json; charset=utf-8", json!({"source_type": null}), json!({"source_type": null})),
            (
                "application/merge-patch+json",
                json!({"metadata": {"nested": {"y": null, "z": 3}, "b": true, "list": [3]}}),
                json!({"metadata": {"a": 1, "nested": {"x": 1, "z": 3}, "b": true, "list": [3]}}),
            ),
            ("application/json", json!({}), json!({})),
        ] {
            let before = send(&app, "GET", &path, None, &[]).await;
            let response = send_raw(&app, "PATCH", &path, Some(content_type), patch.to_string(), &[]).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{backend:?}: PATCH {patch} as {content_type}: {}",
                response.text
            );
            assert_no_secret(&response, backend, "PATCH");
            let mut expected = before.body.clone();
            for (key, value) in changes.as_object().expect("object") {
                expected[key] = value.clone();
            }
            expected["updated_at"] = response.body["updated_at"].clone();
            assert_eq!(response.body, expected, "{backend:?}: PATCH {patch} changes only {changes}");
            assert!(
                parse_time(&response.body["updated_at"]) >= parse_time(&before.body["updated_at"]),
                "{backend:?}: updated_at moves forward"
            );
            let read = send(&app, "GET", &path, None, &[]).await;
            assert_eq!(read.body, response.body, "{backend:?}: the patch is stored");
            assert_eq!(
                stored_connection_string(&test_db, backend, &id).await,
                SECRET,
                "{backend:?}: PATCH {patch} keeps the connection_string"
            );
        }

        let rotated = send_raw(
            &app,
            "PATCH",
            &path,
            Some("application/merge-patch+json"),
            json!({"connection_string": "Patched-S3cret-Value"}).to_string(),
            &[],
        )
        .await;
        assert_eq!(rotated.status, StatusCode::OK, "{backend:?}: {}", rotated.text);
        assert_no_secret(&rotated, backend, "PATCH rotate");
        assert_eq!(stored_connection_string(&test_db, backend, &id).await, "Patched-S3cret-Value", "{backend:?}");
    }
}

#[tokio::test]
async fn patch_rejects_nulls_on_required_fields_and_invalid_values() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "strict", "connection_string": SECRET})).await;
        let id = id_of(&created);
        let path = item_path(&id);
        let merge = [("content-type", "application/merge-patch+json")];

        for (patch, expected) in [
            (json!({"name": null}), vec![("name", "null")]),
            (json!({"is_active": null}), vec![("is_active", "null")]),
            (
                json!({"refresh_interval": null, "sync_status": null}),
                vec![("refresh_interval", "null"), ("sync_status", "null")],
            ),
            (json!({"connection_string": null}), vec![("connection_string", "null")]),
            (json!({"refresh_interval": 59}), vec![("refresh_interval", "min")]),
            (json!({"name": "   "}), vec![("name", "blank")]),
            (json!({"name": "x".repeat(101)}), vec![("name", "max_length")]),
            (json!({"source_type": "ftp"}), vec![("source_type", "enum")]),
            (json!({"is_active": "yes"}), vec![("is_active", "type")]),
            (json!({"bogus": 1}), vec![("bogus", "unknown_field")]),
            (json!({"id": Uuid::now_v7().to_string()}), vec![("id", "read_only")]),
            (json!({"created_at": "2020-01-01T00:00:00Z"}), vec![("created_at", "read_only")]),
        ] {
            let response = send(&app, "PATCH", &path, Some(patch.clone()), &merge).await;
            response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: PATCH {patch}"));
            assert_eq!(response.error_code_set(), code_set(&expected), "{backend:?}: PATCH {patch}: {}", response.text);
        }
        let read = send(&app, "GET", &path, None, &[]).await;
        assert_eq!(read.body, created.body, "{backend:?}: rejected patches change nothing");
        assert_eq!(read.header("etag"), "\"1\"", "{backend:?}");
        assert_eq!(stored_connection_string(&test_db, backend, &id).await, SECRET, "{backend:?}");

        for (content_type, body, status) in [
            (Some("application/merge-patch+json"), "[1, 2]", StatusCode::BAD_REQUEST),
            (Some("application/merge-patch+json"), "{\"name\":", StatusCode::BAD_REQUEST),
            (Some("text/plain"), "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            (None, "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ] {
            let response = send_raw(&app, "PATCH", &path, content_type, body, &[]).await;
            response.problem_for(status, format_args!("{backend:?}: PATCH {body:?} as {content_type:?}"));
        }
        let unknown = send(&app, "PATCH", &item_path(&Uuid::now_v7().to_string()), Some(json!({})), &merge).await;
        unknown.problem(StatusCode::NOT_FOUND);
        let malformed_id = send(&app, "PATCH", &item_path("not-a-uuid"), Some(json!({})), &merge).await;
        malformed_id.problem(StatusCode::NOT_FOUND);
    }
}

/// Members that a PUT refuses are refused by a PATCH too, even when their value is `null`
/// (which a merge patch would otherwise treat as "remove": nothing to remove for a field
/// the client does not own or that does not exist).
#[tokio::test]
async fn patch_rejects_null_for_unknown_and_server_set_fields() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "strict", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        let merge = [("content-type", "application/merge-patch+json")];
        for (patch, field, code) in [
            (json!({"bogus": null}), "bogus", "unknown_field"),
            (json!({"id": null}), "id", "read_only"),
            (json!({"created_at": null}), "created_at", "read_only"),
            (json!({"updated_at": null}), "updated_at", "read_only"),
        ] {
            let response = send(&app, "PATCH", &path, Some(patch.clone()), &merge).await;
            response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: PATCH {patch}"));
            assert_eq!(response.error_codes(), [(field.to_owned(), code.to_owned())], "{backend:?}: PATCH {patch}");
        }
    }
}

#[tokio::test]
async fn patch_with_a_stale_if_match_is_412() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "p", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        let merge = ("content-type", "application/merge-patch+json");
        let current =
            send(&app, "PATCH", &path, Some(json!({"refresh_interval": 61})), &[merge, ("if-match", "\"1\"")]).await;
        assert_eq!(current.status, StatusCode::OK, "{backend:?}: {}", current.text);
        assert_eq!(current.header("etag"), "\"2\"", "{backend:?}");
        let stale =
            send(&app, "PATCH", &path, Some(json!({"refresh_interval": 62})), &[merge, ("if-match", "\"1\"")]).await;
        stale.problem(StatusCode::PRECONDITION_FAILED);
        let read = send(&app, "GET", &path, None, &[]).await;
        assert_eq!(read.body["refresh_interval"], 61, "{backend:?}: a 412 changes nothing");
        assert_eq!(read.header("etag"), "\"2\"", "{backend:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// DELETE
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_is_204_then_404_and_412_with_a_stale_if_match() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "doomed", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        let keep = create(&app, backend, json!({"name": "kept", "connection_string": SECRET})).await;

        send(&app, "PATCH", &path, Some(json!({"refresh_interval": 61})), &[]).await;
        let stale = send(&app, "DELETE", &path, None, &[("if-match", "\"1\"")]).await;
        stale.problem(StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            send(&app, "GET", &path, None, &[]).await.status,
            StatusCode::OK,
            "{backend:?}: a 412 deletes nothing"
        );

        let deleted = send(&app, "DELETE", &path, None, &[("if-match", "\"2\"")]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}: {}", deleted.text);
        assert!(deleted.text.is_empty(), "{backend:?}: a 204 has no body");
        send(&app, "GET", &path, None, &[]).await.problem(StatusCode::NOT_FOUND);
        send(&app, "DELETE", &path, None, &[]).await.problem(StatusCode::NOT_FOUND);
        send(&app, "DELETE", &path, None, &[("if-match", "\"2\"")]).await.problem(StatusCode::NOT_FOUND);
        send(&app, "PUT", &path, Some(json!({"name": "doomed"})), &[]).await.problem(StatusCode::NOT_FOUND);
        send(&app, "PATCH", &path, Some(json!({})), &[]).await.problem(StatusCode::NOT_FOUND);
        send(&app, "DELETE", &item_path("not-a-uuid"), None, &[]).await.problem(StatusCode::NOT_FOUND);

        let unconditional = send(&app, "DELETE", &item_path(&id_of(&keep)), None, &[]).await;
        assert_eq!(unconditional.status, StatusCode::NO_CONTENT, "{backend:?}: {}", unconditional.text);
        let list = send(&app, "GET", PATH, None, &[]).await;
        assert_eq!(list.body["total"], 0, "{backend:?}: {}", list.text);
        // The name is free again.
        create(&app, backend, json!({"name": "doomed", "connection_string": SECRET})).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Uniqueness
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_name_is_409_naming_the_field() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        create(&app, backend, json!({"name": "dup", "connection_string": SECRET})).await;
        let other = create(&app, backend, json!({"name": "other", "connection_string": SECRET})).await;
        let other_path = item_path(&id_of(&other));

        for (method, uri, body) in [
            ("POST", PATH, json!({"name": "dup", "connection_string": "y"})),
            ("PUT", other_path.as_str(), json!({"name": "dup"})),
            ("PATCH", other_path.as_str(), json!({"name": "dup"})),
        ] {
            let response = send(&app, method, uri, Some(body), &[]).await;
            let problem = response.problem_for(StatusCode::CONFLICT, format_args!("{backend:?}: {method}"));
            assert_eq!(problem["type"], "urn:entity-spec:problem:unique-violation", "{backend:?}: {method}");
            assert_eq!(
                response.error_codes(),
                [("name".to_owned(), "unique".to_owned())],
                "{backend:?}: {method}: {}",
                response.text
            );
            assert!(
                problem["detail"].as_str().unwrap_or("").contains("`name`"),
                "{backend:?}: {method}: {}",
                response.text
            );
        }
        let read = send(&app, "GET", &other_path, None, &[]).await;
        assert_eq!(read.body, other.body, "{backend:?}: a 409 changes nothing");
        let list = send(&app, "GET", &format!("{PATH}?name=dup"), None, &[]).await;
        assert_eq!(list.body["total"], 1, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_the_same_name_yield_one_201_and_409s() {
    const TASKS: usize = 10;
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for round in 0..3 {
            let name = format!("contended-{round}");
            let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
            let mut tasks = Vec::new();
            for task in 0..TASKS {
                let app = app.clone();
                let barrier = barrier.clone();
                let body = json!({"name": name, "connection_string": format!("{SECRET}?task={task}")});
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    send(&app, "POST", PATH, Some(body), &[]).await
                }));
            }
            let mut created = 0;
            let mut conflicts = 0;
            for task in tasks {
                let response = task.await.expect("task completes");
                assert_no_secret(&response, backend, "concurrent POST");
                match response.status {
                    StatusCode::CREATED => created += 1,
                    StatusCode::CONFLICT => {
                        response.problem(StatusCode::CONFLICT);
                        assert_eq!(
                            response.error_codes(),
                            [("name".to_owned(), "unique".to_owned())],
                            "{backend:?}: {}",
                            response.text
                        );
                        conflicts += 1;
                    }
                    other => panic!("{backend:?}: concurrent create answered {other}: {}", response.text),
                }
            }
            assert_eq!((created, conflicts), (1, TASKS - 1), "{backend:?}: round {round}");
            let list = send(&app, "GET", &format!("{PATH}?name={name}"), None, &[]).await;
            assert_eq!(list.body["total"], 1, "{backend:?}: {}", list.text);
        }
    }
}

/// Concurrent PATCHes without If-Match are re-applied on the fresh row, so none is lost. With
/// five writers each PATCH can lose the compare-and-swap at most four times (once per other
/// writer), within the server's five attempts: every one must succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_without_if_match_lose_no_change() {
    const TASKS: usize = 5;
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        for round in 0..3 {
            let created = create(
                &app,
                backend,
                json!({"name": format!("merged-{round}"), "connection_string": SECRET, "metadata": {"base": true}}),
            )
            .await;
            let path = item_path(&id_of(&created));
            let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
            let mut tasks = Vec::new();
            for task in 0..TASKS {
                let (app, path, barrier) = (app.clone(), path.clone(), barrier.clone());
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let patch = json!({"metadata": {format!("k{task}"): task}});
                    send(&app, "PATCH", &path, Some(patch), &[("content-type", "application/merge-patch+json")]).await
                }));
            }
            for task in tasks {
                let response = task.await.expect("task completes");
                assert_eq!(response.status, StatusCode::OK, "{backend:?}: concurrent PATCH: {}", response.text);
            }
            let read = send(&app, "GET", &path, None, &[]).await;
            let mut expected = json!({"base": true});
            for task in 0..TASKS {
                expected[format!("k{task}")] = json!(task);
            }
            assert_eq!(read.body["metadata"], expected, "{backend:?}: round {round}: every change kept");
            assert_eq!(read.header("etag"), format!("\"{}\"", TASKS + 1), "{backend:?}: one version per PATCH");
            assert_eq!(stored_connection_string(&test_db, backend, &id_of(&created)).await, SECRET, "{backend:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Body errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn validation_failure_lists_every_violation_at_once() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let body = json!({
            "name": "n".repeat(101),
            "connection_string": SECRET,
            "refresh_interval": 59,
            "colour": "red",
            "id": Uuid::now_v7().to_string(),
        });
        let response = send(&app, "POST", PATH, Some(body), &[]).await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["type"], "urn:entity-spec:problem:validation-failed", "{backend:?}");
        assert_eq!(problem["title"], "Validation failed", "{backend:?}");
        assert_eq!(
            response.error_code_set(),
            code_set(&[
                ("name", "max_length"),
                ("refresh_interval", "min"),
                ("colour", "unknown_field"),
                ("id", "read_only")
            ]),
            "{backend:?}: all four reported: {}",
            response.text
        );
        assert_eq!(response.error_codes().len(), 4, "{backend:?}: each once");
        for error in problem["errors"].as_array().expect("errors") {
            assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{backend:?}: {error}");
        }
        assert_eq!(send(&app, "GET", PATH, None, &[]).await.body["total"], 0, "{backend:?}: nothing stored");
    }
}

#[tokio::test]
async fn wrong_types_enum_values_and_missing_fields_are_422() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for (body, expected) in [
            (json!({}), vec![("name", "required"), ("connection_string", "required")]),
            (json!({"name": "a"}), vec![("connection_string", "required")]),
            (json!({"name": null, "connection_string": "x"}), vec![("name", "null")]),
            (json!({"name": "", "connection_string": "x"}), vec![("name", "blank")]),
            (
                json!({
                    "name": 5,
                    "connection_string": ["x"],
                    "refresh_interval": "60",
                    "is_active": "yes",
                    "last_sync_at": "yesterday",
                    "error_message": false,
                }),
                vec![
                    ("name", "type"),
                    ("connection_string", "type"),
                    ("refresh_interval", "type"),
                    ("is_active", "type"),
                    ("last_sync_at", "type"),
                    ("error_message", "type"),
                ],
            ),
            (
                json!({"name": "a", "connection_string": "x", "refresh_interval": 60.5}),
                vec![("refresh_interval", "type")],
            ),
            (
                json!({"name": "a", "connection_string": "x", "source_type": "ftp", "sync_status": "done"}),
                vec![("source_type", "enum"), ("sync_status", "enum")],
            ),
            (json!({"name": "a", "connection_string": "x", "sync_status": 3}), vec![("sync_status", "type")]),
            (json!({"name": "a", "connection_string": "x", "sync_status": null}), vec![("sync_status", "null")]),
            (json!({"name": "a", "connection_string": "x", "source_type": "DATABASE"}), vec![("source_type", "enum")]),
            (
                json!({"name": "a", "connection_string": "x", "last_sync_at": "2026-01-31"}),
                vec![("last_sync_at", "type")],
            ),
        ] {
            let response = send(&app, "POST", PATH, Some(body.clone()), &[]).await;
            response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: POST {body}"));
            assert_eq!(response.error_code_set(), code_set(&expected), "{backend:?}: POST {body}: {}", response.text);
        }
        // Lengths count characters, not bytes.
        create(&app, backend, json!({"name": "🦀".repeat(100), "connection_string": "x"})).await;
        let long =
            send(&app, "POST", PATH, Some(json!({"name": "é".repeat(101), "connection_string": "x"})), &[]).await;
        long.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(long.error_codes(), [("name".to_owned(), "max_length".to_owned())], "{backend:?}");
        // Explicit nulls on nullable fields are fine.
        create(
            &app,
            backend,
            json!({"name": "nulls", "connection_string": "x", "source_type": null, "metadata": null, "last_sync_at": null}),
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_non_object_and_non_json_bodies_are_400_and_415() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "target", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        for (method, uri) in [("POST", PATH), ("PUT", path.as_str()), ("PATCH", path.as_str())] {
            for body in ["{\"name\": ", "not json", "{\"name\": \"a\",}", ""] {
                let response = send_raw(&app, method, uri, Some("application/json"), body, &[]).await;
                let problem =
                    response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: {method} {body:?}"));
                assert_eq!(problem["type"], "urn:entity-spec:problem:malformed-body", "{backend:?}: {method} {body:?}");
            }
            for body in ["[]", "[{\"name\": \"a\"}]", "\"a string\"", "42", "null"] {
                let response = send_raw(&app, method, uri, Some("application/json"), body, &[]).await;
                response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: {method} {body:?}"));
            }
            for content_type in
                [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/xml")]
            {
                let response = send_raw(
                    &app,
                    method,
                    uri,
                    content_type,
                    json!({"name": "a", "connection_string": "x"}).to_string(),
                    &[],
                )
                .await;
                let problem = response.problem_for(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format_args!("{backend:?}: {method} as {content_type:?}"),
                );
                assert_eq!(
                    problem["type"], "urn:entity-spec:problem:unsupported-media-type",
                    "{backend:?}: {method} as {content_type:?}"
                );
            }
        }
        let charset = send_raw(
            &app,
            "POST",
            PATH,
            Some("application/json; charset=utf-8"),
            json!({"name": "charset", "connection_string": "x"}).to_string(),
            &[],
        )
        .await;
        assert_eq!(charset.status, StatusCode::CREATED, "{backend:?}: parameters of the media type are fine");
        assert_eq!(send(&app, "GET", &path, None, &[]).await.body, created.body, "{backend:?}: nothing changed");
    }
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "target", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        let big =
            json!({"name": "big", "connection_string": "x", "metadata": {"blob": "x".repeat(1024 * 1024)}}).to_string();
        assert!(big.len() > 1024 * 1024);
        for (method, uri) in [("POST", PATH), ("PUT", path.as_str()), ("PATCH", path.as_str())] {
            let response = send_raw(&app, method, uri, Some("application/json"), big.clone(), &[]).await;
            let problem = response.problem_for(StatusCode::PAYLOAD_TOO_LARGE, format_args!("{backend:?}: {method}"));
            assert_eq!(problem["type"], "urn:entity-spec:problem:payload-too-large", "{backend:?}: {method}");
        }
        // Just under the limit is accepted.
        let fits =
            json!({"name": "fits", "connection_string": "x", "metadata": {"blob": "x".repeat(1024 * 1024 - 200)}});
        assert!(fits.to_string().len() <= 1024 * 1024);
        create(&app, backend, fits).await;
        assert_eq!(send(&app, "GET", &path, None, &[]).await.body, created.body, "{backend:?}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_as_problems() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "r", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        for uri in ["/", "/nope", "/raw-data-source", "/raw-data-sources/x/y", &format!("{path}/sync")] {
            let response = send(&app, "GET", uri, None, &[]).await;
            let problem = response.problem_for(StatusCode::NOT_FOUND, format_args!("{backend:?}: GET {uri}"));
            assert_eq!(problem["type"], "urn:entity-spec:problem:not-found", "{backend:?}: GET {uri}");
        }
        for (method, uri) in [("DELETE", PATH), ("PUT", PATH), ("PATCH", PATH), ("POST", path.as_str())] {
            let response = send(&app, method, uri, Some(json!({})), &[]).await;
            let problem =
                response.problem_for(StatusCode::METHOD_NOT_ALLOWED, format_args!("{backend:?}: {method} {uri}"));
            assert_eq!(problem["type"], "urn:entity-spec:problem:method-not-allowed", "{backend:?}: {method} {uri}");
            // RFC 9110 §15.5.6: a 405 lists the allowed methods.
            let allowed: BTreeSet<&str> = response.header("allow").split(',').map(str::trim).collect();
            let expected: &[&str] = if uri == PATH { &["GET", "POST"] } else { &["GET", "PUT", "PATCH", "DELETE"] };
            for method in expected {
                assert!(allowed.contains(method), "{backend:?}: {uri}: Allow lists {method}: {allowed:?}");
            }
        }
        assert_eq!(send(&app, "GET", &path, None, &[]).await.body, created.body, "{backend:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// List: filters
// ---------------------------------------------------------------------------------------------

/// Creates a fixed set of sources with varied values; returns the created bodies.
async fn seed_varied(app: &Router, backend: Backend) -> Vec<Value> {
    let rows = [
        json!({"name": "db-active-pending", "source_type": "database", "is_active": true, "sync_status": "pending", "refresh_interval": 60}),
        json!({"name": "db-active-failed", "source_type": "database", "is_active": true, "sync_status": "failed", "refresh_interval": 600, "error_message": "refused"}),
        json!({"name": "db-inactive", "source_type": "database", "is_active": false, "sync_status": "success", "refresh_interval": 3600, "last_sync_at": "2026-01-02T03:04:05Z"}),
        json!({"name": "api-active", "source_type": "api", "is_active": true, "sync_status": "syncing", "refresh_interval": 900}),
        json!({"name": "api-failed", "source_type": "api", "is_active": false, "sync_status": "failed", "refresh_interval": 599, "error_message": "401"}),
        json!({"name": "file", "source_type": "file", "sync_status": "success", "refresh_interval": 86400, "last_sync_at": "2026-03-01T00:00:00Z"}),
        json!({"name": "untyped", "sync_status": "pending"}),
        json!({"name": "webhook", "source_type": "webhook", "is_active": true, "sync_status": "failed", "error_message": ""}),
    ];
    let mut created = Vec::new();
    for mut row in rows {
        row["connection_string"] = json!(SECRET);
        created.push(create(app, backend, row).await.body);
    }
    created
}

async fn assert_list(app: &Router, backend: Backend, query: &str, expected: &[&str]) {
    let response = send(app, "GET", &format!("{PATH}?{query}"), None, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{backend:?}: ?{query}: {}", response.text);
    assert_no_secret(&response, backend, query);
    let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(names(&response.body), expected, "{backend:?}: ?{query}");
    assert_eq!(response.body["total"], expected.len(), "{backend:?}: ?{query}: total");
    assert_eq!(response.body["next_cursor"], Value::Null, "{backend:?}: ?{query}: one page");
}

#[tokio::test]
async fn list_filters_return_exactly_the_matching_items_and_total() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = seed_varied(&app, backend).await;

        let all: Vec<&str> = created.iter().map(|c| c["name"].as_str().expect("name")).collect();
        let by_id = format!("id={}", created[3]["id"].as_str().expect("id"));
        let cases: &[(&str, &[&str])] = &[
            ("", &all),
            ("source_type=database&is_active=true", &["db-active-pending", "db-active-failed"]),
            ("is_active=false", &["db-inactive", "api-failed"]),
            (
                "sync_status=failed,pending",
                &["db-active-pending", "db-active-failed", "api-failed", "untyped", "webhook"],
            ),
            (
                "sync_status__in=failed,pending",
                &["db-active-pending", "db-active-failed", "api-failed", "untyped", "webhook"],
            ),
            ("sync_status=failed", &["db-active-failed", "api-failed", "webhook"]),
            ("source_type__in=api,file", &["api-active", "api-failed", "file"]),
            (
                "refresh_interval__gte=600",
                &["db-active-failed", "db-inactive", "api-active", "file", "untyped", "webhook"],
            ),
            (
                "refresh_interval__gt=600&refresh_interval__lte=3600",
                &["db-inactive", "api-active", "untyped", "webhook"],
            ),
            ("refresh_interval__lt=600", &["db-active-pending", "api-failed"]),
            ("refresh_interval=3600", &["db-inactive", "untyped", "webhook"]),
            ("error_message__isnull=true", &["db-active-pending", "db-inactive", "api-active", "file", "untyped"]),
            ("error_message__isnull=false", &["db-active-failed", "api-failed", "webhook"]),
            ("error_message=", &["webhook"]),
            ("source_type__isnull=true", &["untyped"]),
            ("last_sync_at__isnull=false", &["db-inactive", "file"]),
            ("last_sync_at__gt=2026-02-01T00:00:00Z", &["file"]),
            ("name=api-active", &["api-active"]),
            ("name__in=file,webhook,missing", &["file", "webhook"]),
            ("name=missing", &[]),
            ("sync_status=failed&is_active=true&source_type=webhook", &["webhook"]),
            (&by_id, &["api-active"]),
        ];
        for (query, expected) in cases {
            assert_list(&app, backend, query, expected).await;
        }

        // Timestamps: RFC 3339 values, percent-encoded; any offset means the same instant.
        let mut by_time: Vec<(DateTime<Utc>, String)> = created
            .iter()
            .map(|c| (parse_time(&c["created_at"]), c["name"].as_str().expect("name").to_owned()))
            .collect();
        by_time.sort();
        let threshold = by_time[4].0;
        let at_or_after: Vec<&str> = by_time.iter().filter(|(t, _)| *t >= threshold).map(|(_, n)| n.as_str()).collect();
        let before: Vec<&str> = by_time.iter().filter(|(t, _)| *t < threshold).map(|(_, n)| n.as_str()).collect();
        let utc = threshold.to_rfc3339_opts(SecondsFormat::Micros, true);
        let plus_two = threshold
            .with_timezone(&FixedOffset::east_opt(2 * 3600).expect("offset"))
            .to_rfc3339_opts(SecondsFormat::Micros, false);
        assert!(plus_two.contains("+02:00"), "{plus_two}");
        let minus_five = threshold
            .with_timezone(&FixedOffset::west_opt(5 * 3600).expect("offset"))
            .to_rfc3339_opts(SecondsFormat::Micros, false);
        for value in [&utc, &plus_two, &minus_five] {
            assert_list(&app, backend, &format!("created_at__gte={}", percent_encode(value)), &at_or_after).await;
            assert_list(&app, backend, &format!("created_at__lt={}", percent_encode(value)), &before).await;
        }
        // An unencoded `+` decodes to a space: a 400 that names the parameter, never a silent
        // wrong answer.
        let unencoded = send(&app, "GET", &format!("{PATH}?created_at__gte={plus_two}"), None, &[]).await;
        unencoded.problem(StatusCode::BAD_REQUEST);
        assert_eq!(unencoded.error_fields(), ["created_at__gte"], "{backend:?}: {}", unencoded.text);
    }
}

// ---------------------------------------------------------------------------------------------
// List: pagination
// ---------------------------------------------------------------------------------------------

/// Creates `count` sources whose names, types and statuses are not in creation order.
async fn seed_many(app: &Router, backend: Backend, count: usize) -> Vec<Value> {
    let types =
        [Value::Null, json!("database"), json!("api"), json!("file"), Value::Null, json!("stream"), json!("webhook")];
    let statuses = ["pending", "syncing", "success", "failed"];
    let mut created = Vec::new();
    for i in 0..count {
        let body = json!({
            "name": format!("src-{:03}", (i * 7) % count),
            "source_type": types[i % types.len()],
            "connection_string": SECRET,
            "is_active": i % 3 != 0,
            "sync_status": statuses[(i * 3) % statuses.len()],
        });
        created.push(create(app, backend, body).await.body);
    }
    created
}

#[tokio::test]
async fn cursor_pages_visit_every_row_once_in_order() {
    const ROWS: usize = 25;
    const LIMIT: usize = 7;
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = seed_many(&app, backend, ROWS).await;
        // Some updates so that updated_at differs from created_at order.
        for item in created.iter().step_by(4) {
            let path = item_path(item["id"].as_str().expect("id"));
            let response = send(&app, "PATCH", &path, Some(json!({"refresh_interval": 61})), &[]).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?}");
        }
        let current = send(&app, "GET", &format!("{PATH}?limit=500"), None, &[]).await.body["items"]
            .as_array()
            .expect("items")
            .clone();
        assert_eq!(current.len(), ROWS, "{backend:?}");

        for sort in [
            None,
            Some("id"),
            Some("-id"),
            Some("-created_at"),
            Some("created_at"),
            Some("name"),
            Some("-name"),
            Some("updated_at"),
            Some("-updated_at"),
            Some("source_type"),
            Some("-source_type"),
            Some("is_active"),
            Some("-is_active"),
            Some("sync_status"),
            Some("-sync_status"),
        ] {
            let query = match sort {
                Some(sort) => format!("sort={sort}&limit={LIMIT}"),
                None => format!("limit={LIMIT}"),
            };
            let items = collect_pages(&app, backend, PATH, &query, LIMIT, ROWS, |response, uri| {
                assert_no_secret(response, backend, uri)
            })
            .await;
            let got = ids(&items);
            let unique: BTreeSet<&String> = got.iter().collect();
            assert_eq!(unique.len(), got.len(), "{backend:?}: ?{query}: a row was repeated");
            assert_eq!(got.len(), ROWS, "{backend:?}: ?{query}: a row was skipped");
            assert_eq!(got, expected_order(&current, sort.unwrap_or("id")), "{backend:?}: ?{query}: order");
        }

        // With a filter, kept unchanged while paging.
        let active: Vec<Value> = current.iter().filter(|i| i["is_active"] == true).cloned().collect();
        for sort in ["name", "-created_at", "source_type", "-source_type"] {
            let query = format!("is_active=true&sort={sort}&limit={LIMIT}");
            let items = collect_pages(&app, backend, PATH, &query, LIMIT, active.len(), |response, uri| {
                assert_no_secret(response, backend, uri)
            })
            .await;
            assert_eq!(ids(&items), expected_order(&active, sort), "{backend:?}: ?{query}");
        }
        // The page size may change between pages (limit is not part of the query).
        let first = send(&app, "GET", &format!("{PATH}?sort=name&limit=5"), None, &[]).await;
        let cursor = first.body["next_cursor"].as_str().expect("a next page").to_owned();
        let second = send(&app, "GET", &format!("{PATH}?sort=name&limit=20&cursor={cursor}"), None, &[]).await;
        assert_eq!(second.status, StatusCode::OK, "{backend:?}: {}", second.text);
        let mut got = ids(first.body["items"].as_array().expect("items"));
        got.extend(ids(second.body["items"].as_array().expect("items")));
        assert_eq!(got, expected_order(&current, "name"), "{backend:?}: limit 5 then 20");
    }
}

#[tokio::test]
async fn limit_defaults_to_50_allows_500_and_offset_skips_rows() {
    const ROWS: usize = 55;
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = seed_many(&app, backend, ROWS).await;
        let order = expected_order(&created, "id");

        let default = send(&app, "GET", PATH, None, &[]).await;
        assert_eq!(default.status, StatusCode::OK, "{backend:?}");
        assert_eq!(default.body["items"].as_array().expect("items").len(), 50, "{backend:?}: default limit");
        assert_eq!(default.body["total"], ROWS, "{backend:?}");
        assert!(default.body["next_cursor"].is_string(), "{backend:?}: there is a next page");
        assert_eq!(
            ids(default.body["items"].as_array().expect("items")),
            order[..50],
            "{backend:?}: default sort is by id"
        );

        let max = send(&app, "GET", &format!("{PATH}?limit=500"), None, &[]).await;
        assert_eq!(ids(max.body["items"].as_array().expect("items")), order, "{backend:?}: limit=500");
        assert_eq!(max.body["next_cursor"], Value::Null, "{backend:?}");

        let exact = send(&app, "GET", &format!("{PATH}?limit={ROWS}"), None, &[]).await;
        assert_eq!(exact.body["items"].as_array().expect("items").len(), ROWS, "{backend:?}");
        assert_eq!(exact.body["next_cursor"], Value::Null, "{backend:?}: no next page when the page ends exactly");

        for limit in ["501", "0", "-1", "abc", "1.5", ""] {
            let response = send(&app, "GET", &format!("{PATH}?limit={limit}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: limit={limit}"));
            assert_eq!(response.error_fields(), ["limit"], "{backend:?}: limit={limit}: {}", response.text);
        }

        let rest = send(&app, "GET", &format!("{PATH}?offset=50"), None, &[]).await;
        assert_eq!(ids(rest.body["items"].as_array().expect("items")), order[50..], "{backend:?}: offset=50");
        assert_eq!(rest.body["total"], ROWS, "{backend:?}");
        assert_eq!(rest.body["next_cursor"], Value::Null, "{backend:?}");
        let window = send(&app, "GET", &format!("{PATH}?offset=10&limit=5"), None, &[]).await;
        assert_eq!(
            ids(window.body["items"].as_array().expect("items")),
            order[10..15],
            "{backend:?}: offset=10&limit=5"
        );
        let by_name = send(&app, "GET", &format!("{PATH}?sort=-name&offset=3&limit=4"), None, &[]).await;
        assert_eq!(
            ids(by_name.body["items"].as_array().expect("items")),
            expected_order(&created, "-name")[3..7],
            "{backend:?}: offset with sort"
        );
        let beyond = send(&app, "GET", &format!("{PATH}?offset=1000"), None, &[]).await;
        assert_eq!(beyond.status, StatusCode::OK, "{backend:?}");
        assert_eq!(beyond.body["items"], json!([]), "{backend:?}");
        assert_eq!(beyond.body["total"], ROWS, "{backend:?}");
        for offset in ["-1", "x", "1.5"] {
            let response = send(&app, "GET", &format!("{PATH}?offset={offset}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: offset={offset}"));
            assert_eq!(response.error_fields(), ["offset"], "{backend:?}: offset={offset}");
        }
    }
}

#[tokio::test]
async fn cursors_are_bound_to_their_query_and_exclusive_with_offset() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        seed_many(&app, backend, 10).await;
        let first = send(&app, "GET", &format!("{PATH}?sort=name&is_active=true&limit=2"), None, &[]).await;
        let cursor = first.body["next_cursor"].as_str().expect("a next page").to_owned();

        let same =
            send(&app, "GET", &format!("{PATH}?is_active=true&limit=2&sort=name&cursor={cursor}"), None, &[]).await;
        assert_eq!(same.status, StatusCode::OK, "{backend:?}: same query, other parameter order: {}", same.text);

        for changed in [
            "sort=-name&is_active=true",
            "sort=name&is_active=false",
            "sort=name",
            "sort=name&is_active=true&sync_status=failed",
            "is_active=true",
        ] {
            let response = send(&app, "GET", &format!("{PATH}?{changed}&limit=2&cursor={cursor}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: ?{changed}"));
            assert_eq!(
                response.error_codes(),
                [("cursor".to_owned(), "mismatch".to_owned())],
                "{backend:?}: ?{changed}"
            );
        }
        let both =
            send(&app, "GET", &format!("{PATH}?sort=name&is_active=true&offset=2&cursor={cursor}"), None, &[]).await;
        both.problem(StatusCode::BAD_REQUEST);
        assert_eq!(both.error_fields(), ["cursor"], "{backend:?}: offset and cursor: {}", both.text);
        assert!(both.body["detail"].as_str().unwrap_or("").contains("offset"), "{backend:?}: {}", both.text);
        for garbage in ["garbage", "eyJ4IjoxfQ", "%00", "AAAA"] {
            let response = send(&app, "GET", &format!("{PATH}?cursor={garbage}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: cursor={garbage}"));
            assert_eq!(response.error_fields(), ["cursor"], "{backend:?}: cursor={garbage}: {}", response.text);
        }
        // An empty cursor is the first page (what a client sends before it has a next_cursor),
        // also next to `offset=0`.
        let first = send(&app, "GET", &format!("{PATH}?sort=name&limit=2"), None, &[]).await;
        for empty in ["cursor=", "offset=0&cursor="] {
            let response = send(&app, "GET", &format!("{PATH}?sort=name&limit=2&{empty}"), None, &[]).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?}: {empty}: {}", response.text);
            assert_eq!(response.body["items"], first.body["items"], "{backend:?}: {empty}");
        }
    }
}

#[tokio::test]
async fn a_body_with_a_duplicate_key_is_400_naming_it_and_changes_nothing() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let duplicate = r#"{"name": "a", "name": "b", "connection_string": "https://x.example/in"}"#;
        let created = send_raw(&app, "POST", PATH, Some("application/json"), duplicate, &[]).await;
        let problem = created.problem(StatusCode::BAD_REQUEST);
        assert!(
            problem["detail"].as_str().unwrap_or("").contains("duplicate key `name`"),
            "{backend:?}: {}",
            created.text
        );
        assert_eq!(send(&app, "GET", PATH, None, &[]).await.body["total"], 0, "{backend:?}: nothing was created");

        let body = json!({"name": "kept", "connection_string": "https://x.example/in", "metadata": {"k": 1}});
        let id = send(&app, "POST", PATH, Some(body), &[]).await.body["id"].as_str().unwrap().to_owned();
        let path = format!("{PATH}/{id}");
        let nested = r#"{"metadata": {"k": 2, "k": 3}}"#;
        let patched = send_raw(&app, "PATCH", &path, Some("application/merge-patch+json"), nested, &[]).await;
        let problem = patched.problem(StatusCode::BAD_REQUEST);
        assert!(
            problem["detail"].as_str().unwrap_or("").contains("duplicate key `k`"),
            "{backend:?}: {}",
            patched.text
        );
        let replaced = send_raw(&app, "PUT", &path, Some("application/json"), duplicate, &[]).await;
        replaced.problem(StatusCode::BAD_REQUEST);
        let stored = send(&app, "GET", &path, None, &[]).await;
        assert_eq!((&stored.body["name"], &stored.body["metadata"]), (&json!("kept"), &json!({"k": 1})), "{backend:?}");
    }
}

#[tokio::test]
async fn a_bad_body_is_its_4xx_before_a_stale_if_match_is_412() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let body = json!({"name": "pre", "connection_string": "https://x.example/in"});
        let id = send(&app, "POST", PATH, Some(body), &[]).await.body["id"].as_str().unwrap().to_owned();
        let path = format!("{PATH}/{id}");
        let stale = [("if-match", "\"7\"")];
        let patch = send(&app, "PATCH", &path, Some(json!({"colour": "red"})), &stale).await;
        patch.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(patch.error_fields(), ["colour"], "{backend:?}: {}", patch.text);
        let put = send(&app, "PUT", &path, Some(json!({"name": ""})), &stale).await;
        put.problem(StatusCode::UNPROCESSABLE_ENTITY);
        // A good body with the stale version is still refused, and nothing changed.
        let good = send(&app, "PATCH", &path, Some(json!({"name": "post"})), &stale).await;
        good.problem(StatusCode::PRECONDITION_FAILED);
        assert_eq!(send(&app, "GET", &path, None, &[]).await.body["name"], "pre", "{backend:?}");
    }
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_a_problem_not_plain_text() {
    let (_db, app) = setup(Backend::Sqlite).await;
    // An item path (the id extractor) and a workbench page (axum's own Path rejection, which
    // the service rewrites as a problem).
    for (method, path) in
        [("GET", "/raw-data-sources/%FF%FE"), ("DELETE", "/raw-data-sources/%C3%28/syncs"), ("GET", "/ui/%FF%FE")]
    {
        let response = send(&app, method, path, None, &[]).await;
        let status = response.status;
        assert!(status.is_client_error(), "{method} {path}: {status}");
        let problem = response.problem(status);
        assert_eq!(problem["status"], status.as_u16(), "{method} {path}: {}", response.text);
    }
}

#[tokio::test]
async fn a_cursor_whose_position_was_tampered_with_is_400_on_both_databases() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        seed_many(&app, backend, 6).await;
        // Sorted by a timestamp, then by a string: each position gets values of other types.
        for (sort, wrong) in [
            ("-created_at", vec![json!(true), json!(1.5), json!(7), json!({"a": 1}), json!("not a time")]),
            ("name", vec![json!(true), json!(1.5), json!(7), json!([1])]),
        ] {
            let first = send(&app, "GET", &format!("{PATH}?sort={sort}&limit=2"), None, &[]).await;
            let cursor = first.body["next_cursor"].as_str().expect("a next page");
            let mut body: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
            for value in wrong {
                body["v"] = value.clone();
                let tampered = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap());
                let response =
                    send(&app, "GET", &format!("{PATH}?sort={sort}&limit=2&cursor={tampered}"), None, &[]).await;
                response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: sort={sort}, v={value}"));
                assert_eq!(response.error_fields(), ["cursor"], "{backend:?}: v={value}: {}", response.text);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// List: parameter errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_parameters_are_400_naming_them_and_listing_valid_ones() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for parameter in [
            "colour",
            "connection_string",
            "metadata",
            "tags",
            "schema_definition",
            "name__gte",
            "is_active__isnull",
            "is_active__gt",
            "refresh_interval__between",
            "page",
            "Sort",
        ] {
            let response = send(&app, "GET", &format!("{PATH}?{parameter}=x"), None, &[]).await;
            let problem = response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: {parameter}"));
            assert_eq!(problem["type"], "urn:entity-spec:problem:invalid-parameter", "{backend:?}: {parameter}");
            assert_eq!(
                response.error_codes(),
                [(parameter.to_owned(), "unknown_parameter".to_owned())],
                "{backend:?}: {parameter}: {}",
                response.text
            );
            let detail = problem["detail"].as_str().unwrap_or("");
            assert!(detail.contains(&format!("`{parameter}`")), "{backend:?}: detail names {parameter}: {detail}");
            for valid in
                ["limit", "offset", "cursor", "sort", "name", "source_type", "is_active", "sync_status", "created_at"]
            {
                assert!(detail.contains(valid), "{backend:?}: detail lists `{valid}`: {detail}");
            }
            assert!(!detail.contains("connection_string,"), "{backend:?}: the secret is not a filter: {detail}");
        }
        let typo = send(&app, "GET", &format!("{PATH}?nmae=x"), None, &[]).await;
        typo.problem(StatusCode::BAD_REQUEST);
        assert!(typo.text.contains("Did you mean `name`"), "{backend:?}: {}", typo.text);
    }
}

#[tokio::test]
async fn repeated_parameters_are_400() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for (query, parameter) in [
            ("limit=5&limit=6", "limit"),
            ("is_active=true&is_active=false", "is_active"),
            ("sort=name&sort=-name", "sort"),
            ("offset=1&offset=1", "offset"),
            ("sync_status=failed&sync_status=pending", "sync_status"),
            ("refresh_interval__gte=60&refresh_interval__gte=61", "refresh_interval__gte"),
        ] {
            let response = send(&app, "GET", &format!("{PATH}?{query}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: ?{query}"));
            assert_eq!(
                response.error_codes(),
                [(parameter.to_owned(), "repeated".to_owned())],
                "{backend:?}: ?{query}: {}",
                response.text
            );
        }
    }
}

#[tokio::test]
async fn bad_parameter_values_are_400_naming_the_parameter() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for (query, parameter) in [
            ("limit=abc", "limit"),
            ("is_active=maybe", "is_active"),
            ("is_active=1", "is_active"),
            ("source_type=ftp", "source_type"),
            ("sync_status=failed,ftp", "sync_status"),
            ("sync_status__in=failed,", "sync_status__in"),
            ("created_at__gte=notadate", "created_at__gte"),
            ("created_at__lt=2026-01-01", "created_at__lt"),
            ("refresh_interval__gte=1.5", "refresh_interval__gte"),
            ("refresh_interval=ten", "refresh_interval"),
            ("error_message__isnull=maybe", "error_message__isnull"),
            ("id=not-a-uuid", "id"),
            ("sort=connection_string", "sort"),
            ("sort=metadata", "sort"),
            ("sort=-tags", "sort"),
            ("sort=nope", "sort"),
            ("sort=", "sort"),
        ] {
            let response = send(&app, "GET", &format!("{PATH}?{query}"), None, &[]).await;
            let problem = response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: ?{query}"));
            assert_eq!(response.error_fields(), [parameter], "{backend:?}: ?{query}: {}", response.text);
            let detail = problem["detail"].as_str().unwrap_or("");
            assert!(
                detail.contains(&format!("`{parameter}`")),
                "{backend:?}: ?{query}: detail names the parameter: {detail}"
            );
            assert_no_secret(&response, backend, query);
        }
        let sort = send(&app, "GET", &format!("{PATH}?sort=metadata"), None, &[]).await;
        let detail = sort.body["detail"].as_str().unwrap_or("");
        for sortable in
            ["id", "name", "created_at", "updated_at", "source_type", "is_active", "sync_status", "refresh_interval"]
        {
            assert!(detail.contains(sortable), "{backend:?}: sort error lists `{sortable}`: {detail}");
        }
    }
}

#[tokio::test]
async fn a_cursor_stays_valid_when_rows_change_between_pages() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = seed_many(&app, backend, 12).await;
        let order = expected_order(&created, "name");
        let first = send(&app, "GET", &format!("{PATH}?sort=name&limit=4"), None, &[]).await;
        assert_eq!(ids(first.body["items"].as_array().expect("items")), order[..4], "{backend:?}");
        let cursor = first.body["next_cursor"].as_str().expect("next page").to_owned();

        // The last row of the page (the cursor's position) is deleted, a row sorting before the
        // position is added, and a row after it is renamed to sort before it.
        let deleted = send(&app, "DELETE", &item_path(&order[3]), None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}");
        create(&app, backend, json!({"name": "src-000-new", "connection_string": SECRET})).await;
        let moved = send(&app, "PATCH", &item_path(&order[8]), Some(json!({"name": "a-moved"})), &[]).await;
        assert_eq!(moved.status, StatusCode::OK, "{backend:?}");

        let rest = send(&app, "GET", &format!("{PATH}?sort=name&limit=100&cursor={cursor}"), None, &[]).await;
        assert_eq!(rest.status, StatusCode::OK, "{backend:?}: {}", rest.text);
        let mut expected: Vec<String> = order[4..].to_vec();
        expected.retain(|id| *id != order[8]);
        assert_eq!(
            ids(rest.body["items"].as_array().expect("items")),
            expected,
            "{backend:?}: the next page starts right after the position, whatever changed before it"
        );
        assert_eq!(rest.body["total"], 12, "{backend:?}: total counts the current rows");
    }
}

/// PostgreSQL cannot store U+0000 in `text` or `jsonb`; SQLite can. A value one backend
/// cannot store must be a client error (or be accepted) the same way on both, never a 500.
#[tokio::test]
async fn strings_with_nul_characters_are_never_a_server_error() {
    let mut outcomes: Vec<Vec<StatusCode>> = Vec::new();
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created = create(&app, backend, json!({"name": "target", "connection_string": SECRET})).await;
        let path = item_path(&id_of(&created));
        let mut statuses = Vec::new();
        for (method, uri, body, field) in [
            ("POST", PATH, json!({"name": "nul\u{0}name", "connection_string": "x"}), "name"),
            ("POST", PATH, json!({"name": "nul-secret", "connection_string": "x\u{0}y"}), "connection_string"),
            (
                "POST",
                PATH,
                json!({"name": "nul-json", "connection_string": "x", "metadata": {"k": "a\u{0}b"}}),
                "metadata",
            ),
            ("PUT", path.as_str(), json!({"name": "target", "error_message": "\u{0}"}), "error_message"),
            ("PATCH", path.as_str(), json!({"tags": ["\u{0}"]}), "tags"),
        ] {
            let response = send(&app, method, uri, Some(body.clone()), &[]).await;
            assert!(!response.status.is_server_error(), "{backend:?}: {method} {body}: {}", response.text);
            if response.status.is_client_error() {
                response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: {method} {body}"));
                assert!(
                    response.error_fields().iter().any(|f| f == field),
                    "{backend:?}: {method} {body}: {}",
                    response.text
                );
            }
            assert_no_secret(&response, backend, method);
            statuses.push(response.status);
        }
        outcomes.push(statuses);
    }
    support::assert_backends_agree(&outcomes, "SQLite and PostgreSQL answer alike");
}

#[tokio::test]
async fn filter_values_with_nul_characters_are_never_a_server_error() {
    let mut outcomes: Vec<Vec<StatusCode>> = Vec::new();
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        create(&app, backend, json!({"name": "a", "connection_string": SECRET})).await;
        let mut statuses = Vec::new();
        for (query, parameter) in
            [("name=a%00b", "name"), ("name__in=b,%00", "name__in"), ("error_message=%00", "error_message")]
        {
            let response = send(&app, "GET", &format!("{PATH}?{query}"), None, &[]).await;
            assert!(!response.status.is_server_error(), "{backend:?}: ?{query}: {}", response.text);
            if response.status.is_client_error() {
                response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: ?{query}"));
                assert_eq!(response.error_fields(), [parameter], "{backend:?}: ?{query}");
            } else {
                assert_eq!(response.body["total"], 0, "{backend:?}: ?{query}: nothing matches");
            }
            statuses.push(response.status);
        }
        outcomes.push(statuses);
    }
    support::assert_backends_agree(&outcomes, "SQLite and PostgreSQL answer alike");
}

#[tokio::test]
async fn integers_may_be_written_with_a_zero_fraction() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, entity_spec::MigrateOptions::default()).await.unwrap();
        let app = support::open(model::service(test_db.db.clone()));
        let body = json!({"name": "floaty", "connection_string": "x", "refresh_interval": 600.0});
        let created = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        assert_eq!(created.body["refresh_interval"], json!(600), "{backend:?}");
        let body = json!({"name": "fraction", "connection_string": "x", "refresh_interval": 600.5});
        let rejected = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
        rejected.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rejected.error_codes(), [("refresh_interval".to_owned(), "type".to_owned())], "{backend:?}");
    }
}

/// `__contains` and `__startswith` count case, `__icontains` does not; `%`, `_` and `\` in
/// the searched text are literal (never LIKE wildcards); text operators exist only on text.
#[tokio::test]
async fn text_search_operators_match_literally() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let mut by_name = std::collections::BTreeMap::new();
        for name in ["50% off_sale", "a_b\\c", "Warehouse Case", "warehouse lower"] {
            let created = create(&app, backend, json!({"name": name, "connection_string": SECRET})).await;
            by_name.insert(name, id_of(&created));
        }
        let found = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| by_name[n].clone()).collect() };
        let cases: [(&str, &str, &[&str]); 9] = [
            ("name__contains", "Case", &["Warehouse Case"]),
            ("name__contains", "case", &[]),
            ("name__icontains", "WAREHOUSE", &["Warehouse Case", "warehouse lower"]),
            ("name__startswith", "ware", &["warehouse lower"]),
            ("name__contains", "%", &["50% off_sale"]),
            ("name__icontains", "_", &["50% off_sale", "a_b\\c"]),
            ("name__icontains", "%off", &[]),
            ("name__contains", "\\", &["a_b\\c"]),
            ("name__startswith", "a_", &["a_b\\c"]),
        ];
        for (parameter, text, expected) in cases {
            let listed = send(&app, "GET", &format!("{PATH}?{parameter}={}", percent_encode(text)), None, &[]).await;
            assert_eq!(listed.status, StatusCode::OK, "{backend:?}: {parameter}={text}: {}", listed.text);
            let items = listed.body["items"].as_array().cloned().unwrap_or_default();
            let got: BTreeSet<String> = ids(&items).into_iter().collect();
            assert_eq!(got, found(expected), "{backend:?}: {parameter}={text:?}");
        }
        let not_text = send(&app, "GET", &format!("{PATH}?refresh_interval__contains=6"), None, &[]).await;
        assert_eq!(not_text.error_fields(), ["refresh_interval__contains"], "{backend:?}: {}", not_text.text);
    }
}
