//! Identity and permissions, on both databases: every route of the route table (and the
//! service's own guarded routes) answers 401 without a credential and 403 with one lacking its
//! scope, driven by the table so that a new route cannot be forgotten; revoked, expired and
//! unknown keys and bad JWTs are refused alike; every write and action leaves an audit row.

mod support;

use axum::Router;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use entity_spec::__private::runtime::contract::paths::{AUDIT_PATH, AUTH_ME_PATH};
use entity_spec::__private::runtime::contract::routes::routes;
use entity_spec::api_keys::{self, NewKey};
use entity_spec::{AuthConfig, Db, JwtConfig, MigrateOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::{TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

const JWT_SECRET: &str = "a test secret of at least thirty-two bytes";

/// A migrated database and the service on it with authentication on (the default) and JWTs
/// signed with [`JWT_SECRET`] for audience `registry` accepted.
async fn secured(backend: entity_spec::Backend) -> (TestDb, Router) {
    let test_db = TestDb::new(backend).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let jwt = JwtConfig::from_vars(|name| match name {
        "ENTITY_SPEC_JWT_SECRET" => Some(JWT_SECRET.to_owned()),
        "ENTITY_SPEC_JWT_AUDIENCE" => Some("registry".to_owned()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    let service = model::service(test_db.db.clone(), TestActions).with_auth(AuthConfig::api_keys().with_jwt(jwt));
    service.start_workers(&support::quiet_engine()).unwrap();
    let app = service.router();
    (test_db, app)
}

async fn key(db: &Db, name: &str, scopes: &[&str]) -> String {
    let new =
        NewKey { name: name.to_owned(), scopes: scopes.iter().map(|s| (*s).to_owned()).collect(), expires_at: None };
    let (key, _) = api_keys::create(db, new).await.unwrap();
    key.expose().clone()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn jwt(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    Utc::now().timestamp()
}

async fn create_source(app: &Router, token: &str, name: &str) -> String {
    let body = json!({"name": name, "source_type": "webhook", "connection_string": "postgres://etl:s3cret@db/x"});
    let created = send(app, "POST", "/raw-data-sources", Some(body), &[("authorization", &bearer(token))]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_needs_a_credential_and_the_scope_the_table_names() {
    for backend in support::BACKENDS {
        let (test_db, app) = secured(backend).await;
        let admin = key(&test_db.db, "admin", &["admin"]).await;
        let stranger = key(&test_db.db, "stranger", &["other_entities:read"]).await;
        let id = create_source(&app, &admin, "guarded").await;
        let def = <model::RawDataSource as entity_spec::Entity>::DEF;
        let mut checked = 0;
        let guarded = routes(def.collection_path, def.actions, def.nested)
            .into_iter()
            .map(|route| {
                let scope = def.scopes.required(&route.permission).to_owned();
                (route.method.as_str(), route.path, scope)
            })
            .chain([("GET", AUDIT_PATH.to_owned(), "admin".to_owned())]);
        for (method, template, scope) in guarded {
            let url = template.replace("{id}", &id).replace("{run_id}", &uuid::Uuid::now_v7().to_string());
            let case = format!("{backend:?} {method} {template}");
            let anonymous = send(&app, method, &url, None, &[]).await;
            anonymous.problem_for(StatusCode::UNAUTHORIZED, &case);
            assert_eq!(anonymous.header("www-authenticate"), "Bearer", "{case}");
            let lacking = send(&app, method, &url, None, &[("authorization", &bearer(&stranger))]).await;
            let problem = lacking.problem_for(StatusCode::FORBIDDEN, &case);
            assert!(problem["detail"].as_str().unwrap().contains(&format!("`{scope}`")), "{case}: {problem}");
            // The scope itself gets past the guard (whatever the handler then says).
            let holder = key(&test_db.db, &format!("holder-{checked}"), &[&scope]).await;
            let allowed = send(&app, method, &url, None, &[("authorization", &bearer(&holder))]).await;
            assert!(![401, 403].contains(&allowed.status.as_u16()), "{case}: {}", allowed.text);
            checked += 1;
        }
        assert!(checked >= 12, "the table has every CRUD, statistics, action and run route: {checked}");
        // `/auth/me` needs a credential, but no scope.
        send(&app, "GET", AUTH_ME_PATH, None, &[]).await.problem(StatusCode::UNAUTHORIZED);
        let me = send(&app, "GET", AUTH_ME_PATH, None, &[("authorization", &bearer(&stranger))]).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(
            me.body,
            json!({"subject": "key:stranger", "credential": "api_key", "scopes": ["other_entities:read"], "authentication": true})
        );
    }
}

#[tokio::test]
async fn default_scopes_split_reading_writing_and_each_action() {
    let (test_db, app) = secured(entity_spec::Backend::Sqlite).await;
    let admin = key(&test_db.db, "admin", &["admin"]).await;
    let reader = key(&test_db.db, "reader", &["raw_data_sources:read"]).await;
    let syncer = key(&test_db.db, "syncer", &["raw_data_sources:sync", "raw_data_sources:read"]).await;
    let entity_admin = key(&test_db.db, "entity-admin", &["raw_data_sources:admin"]).await;
    let id = create_source(&app, &admin, "scoped").await;
    let (reader, syncer, entity_admin) = (bearer(&reader), bearer(&syncer), bearer(&entity_admin));
    let read = send(&app, "GET", &format!("/raw-data-sources/{id}"), None, &[("authorization", reader.as_str())]).await;
    assert_eq!(read.status, StatusCode::OK);
    let write =
        send(&app, "DELETE", &format!("/raw-data-sources/{id}"), None, &[("authorization", reader.as_str())]).await;
    write.problem(StatusCode::FORBIDDEN);
    assert!(write.text.contains("raw_data_sources:write"), "{}", write.text);
    let sync =
        send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[("authorization", syncer.as_str())]).await;
    assert_eq!(sync.status, StatusCode::ACCEPTED, "{}", sync.text);
    let sync_all = send(&app, "POST", "/raw-data-sources/sync-all", None, &[("authorization", syncer.as_str())]).await;
    assert_eq!(sync_all.status, StatusCode::ACCEPTED, "sync-all needs the sync scope: {}", sync_all.text);
    let test =
        send(&app, "POST", &format!("/raw-data-sources/{id}/test"), None, &[("authorization", syncer.as_str())]).await;
    test.problem(StatusCode::FORBIDDEN);
    assert!(test.text.contains("raw_data_sources:test_connection"), "{}", test.text);
    // The entity's admin scope holds all of its scopes, but not the audit trail.
    let patch =
        send(&app, "PATCH", &format!("/raw-data-sources/{id}"), None, &[("authorization", entity_admin.as_str())])
            .await;
    assert_ne!(patch.status, StatusCode::FORBIDDEN, "{}", patch.text);
    send(&app, "GET", AUDIT_PATH, None, &[("authorization", entity_admin.as_str())])
        .await
        .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_revoked_expired_and_malformed_keys_are_refused_alike() {
    for backend in support::BACKENDS {
        let (test_db, app) = secured(backend).await;
        let revoked = key(&test_db.db, "revoked", &["admin"]).await;
        let new = NewKey {
            name: "short-lived".to_owned(),
            scopes: vec!["admin".to_owned()],
            expires_at: Some(Utc::now() + Duration::milliseconds(1200)),
        };
        let (expiring, _) = api_keys::create(&test_db.db, new).await.unwrap();
        let expiring = expiring.expose().clone();
        assert_eq!(
            send(&app, "GET", "/raw-data-sources", None, &[("authorization", &bearer(&expiring))]).await.status,
            200
        );
        api_keys::revoke(&test_db.db, "revoked").await.unwrap().expect("the key exists");
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        // A fresh router: revocation reaches a running one within the key cache's lifetime.
        let app2 = model::service(test_db.db.clone(), TestActions).router();
        let unknown = format!("esk_{}", "A".repeat(43));
        let mut details = Vec::new();
        for (case, token, app) in
            [("unknown", &unknown, &app), ("revoked", &revoked, &app2), ("expired", &expiring, &app)]
        {
            let refused = send(app, "GET", "/raw-data-sources", None, &[("authorization", &bearer(token))]).await;
            let problem = refused.problem_for(StatusCode::UNAUTHORIZED, format!("{backend:?} {case}"));
            assert_eq!(refused.header("www-authenticate"), r#"Bearer error="invalid_token""#, "{case}");
            assert!(!refused.text.contains(token.as_str()), "the key is never echoed");
            details.push(problem["detail"].clone());
        }
        assert!(details.windows(2).all(|pair| pair[0] == pair[1]), "no existence oracle: {details:?}");
        for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer two words", "esk_abc", "Bearer esk_short"] {
            let refused = send(&app, "GET", "/raw-data-sources", None, &[("authorization", header)]).await;
            refused.problem_for(StatusCode::UNAUTHORIZED, header);
        }
        // Listing shows no key and no hash; the revoked key is marked.
        let listed = api_keys::list(&test_db.db).await.unwrap();
        let debug = format!("{listed:?}");
        assert!(!debug.contains(&revoked) && !debug.contains(&revoked[12..]), "{debug}");
        assert!(listed.iter().any(|k| k.name == "revoked" && k.revoked_at.is_some()));
        assert!(listed.iter().all(|k| k.shown.starts_with("esk_") && k.shown.len() == 12));
    }
}

#[tokio::test]
async fn keys_are_stored_as_hashes_only() {
    let test_db = TestDb::new(entity_spec::Backend::Sqlite).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let secret = key(&test_db.db, "ci", &["raw_data_sources:read"]).await;
    let mut sql = entity_spec::__private::runtime::db::Sql::new(test_db.db.backend());
    sql.push("SELECT name, shown, hash, scopes FROM _entity_spec_api_keys");
    use entity_spec::__private::runtime::value::SqlType;
    let rows = test_db.db.fetch_all(sql, &[SqlType::Text, SqlType::Text, SqlType::Text, SqlType::Text]).await.unwrap();
    let stored = format!("{rows:?}");
    assert!(!stored.contains(&secret[12..]), "only a hash of the key is stored: {stored}");
    assert!(stored.contains("raw_data_sources:read"));
    let duplicate =
        api_keys::create(&test_db.db, NewKey { name: "ci".into(), scopes: vec!["admin".into()], expires_at: None })
            .await;
    assert!(duplicate.unwrap_err().to_string().contains("already exists"));
    let bad_scope =
        api_keys::create(&test_db.db, NewKey { name: "x".into(), scopes: vec!["two words".into()], expires_at: None })
            .await;
    assert!(bad_scope.unwrap_err().to_string().contains("scope"));
}

#[tokio::test]
async fn jwts_from_the_identity_provider_are_verified() {
    let (_test_db, app) = secured(entity_spec::Backend::Sqlite).await;
    let valid = jwt(json!({"sub": "alice", "aud": "registry", "exp": now() + 600, "scope": "raw_data_sources:read"}));
    let listed = send(&app, "GET", "/raw-data-sources", None, &[("authorization", &bearer(&valid))]).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let me = send(&app, "GET", AUTH_ME_PATH, None, &[("authorization", &bearer(&valid))]).await;
    assert_eq!((me.body["subject"].as_str(), me.body["credential"].as_str()), (Some("alice"), Some("jwt")));
    let scp = jwt(json!({"sub": "bob", "aud": ["registry"], "exp": now() + 600, "scp": ["raw_data_sources:write"]}));
    let created = send(
        &app,
        "POST",
        "/raw-data-sources",
        Some(json!({"name": "from-jwt", "connection_string": "x"})),
        &[("authorization", &bearer(&scp))],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let none_alg = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        base64_url(&json!({"sub": "mallory", "aud": "registry", "exp": now() + 600, "scope": "admin"}).to_string())
    );
    let wrong_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "mallory", "aud": "registry", "exp": now() + 600, "scope": "admin"}),
        &EncodingKey::from_secret(b"another secret of at least thirty-two bytes!").unwrap(),
    )
    .unwrap();
    let cases = [
        ("expired", jwt(json!({"sub": "a", "aud": "registry", "exp": now() - 3600, "scope": "admin"})), "expired"),
        ("wrong audience", jwt(json!({"sub": "a", "aud": "other", "exp": now() + 600, "scope": "admin"})), "audience"),
        ("alg none", none_alg, "algorithm"),
        ("wrong signature", wrong_key, "signature"),
    ];
    for (case, token, reason) in cases {
        let refused = send(&app, "GET", "/raw-data-sources", None, &[("authorization", &bearer(&token))]).await;
        let problem = refused.problem_for(StatusCode::UNAUTHORIZED, case);
        assert!(problem["detail"].as_str().unwrap().contains(reason), "{case}: {problem}");
        assert_eq!(refused.header("www-authenticate"), r#"Bearer error="invalid_token""#, "{case}");
    }
    // A valid token without the scope is a 403, not a 401.
    let reader = jwt(json!({"sub": "carol", "aud": "registry", "exp": now() + 600, "scope": "raw_data_sources:read"}));
    send(&app, "POST", "/raw-data-sources/sync-all", None, &[("authorization", &bearer(&reader))])
        .await
        .problem(StatusCode::FORBIDDEN);
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn every_write_and_action_leaves_an_audit_row_without_values() {
    for backend in support::BACKENDS {
        let (test_db, app) = secured(backend).await;
        let admin = key(&test_db.db, "ops", &["admin"]).await;
        let auth = [("authorization", bearer(&admin))];
        let auth: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let id = create_source(&app, &admin, "audited").await;
        let item = format!("/raw-data-sources/{id}");
        let patched = send(
            &app,
            "PATCH",
            &item,
            Some(json!({"connection_string": "postgres://new:t0psecret@db/y"})),
            &[auth[0], ("content-type", "application/merge-patch+json")],
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
        let body =
            json!({"name": "renamed", "connection_string": "postgres://etl:s3cret@db/x", "refresh_interval": 600});
        assert_eq!(send(&app, "PUT", &item, Some(body), &auth).await.status, StatusCode::OK);
        assert_eq!(send(&app, "POST", &format!("{item}/sync"), None, &auth).await.status, StatusCode::ACCEPTED);
        assert_eq!(send(&app, "POST", &format!("{item}/test"), None, &auth).await.status, StatusCode::OK);
        assert_eq!(send(&app, "POST", "/raw-data-sources/sync-all", None, &auth).await.status, StatusCode::ACCEPTED);
        assert_eq!(send(&app, "DELETE", &item, None, &auth).await.status, StatusCode::NO_CONTENT);

        let log = send(&app, "GET", &format!("{AUDIT_PATH}?entity=RawDataSource&entity_id={id}"), None, &auth).await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.text);
        assert!(!log.text.contains("s3cret") && !log.text.contains("t0psecret"), "never a value: {}", log.text);
        let rows = log.body["items"].as_array().unwrap();
        let operations: Vec<&str> = rows.iter().map(|row| row["operation"].as_str().unwrap()).collect();
        assert_eq!(operations, ["delete", "test_connection", "sync", "replace", "patch", "create"], "{backend:?}");
        assert!(rows.iter().all(|row| row["actor"] == "key:ops" && row["credential"] == "api_key"));
        assert!(rows.iter().all(|row| row["request_id"].as_str().is_some_and(|r| !r.is_empty())));
        let fields = |op: &str| rows.iter().find(|row| row["operation"] == op).unwrap()["fields"].clone();
        assert_eq!(fields("patch"), json!(["connection_string"]));
        // A replace without `source_type` clears it: that is a change too.
        assert_eq!(fields("replace"), json!(["name", "source_type", "connection_string", "refresh_interval"]));
        let created = fields("create");
        assert!(created.as_array().unwrap().contains(&json!("connection_string")), "{created}");
        assert!(!created.as_array().unwrap().contains(&json!("created_at")), "{created}");

        // sync-all has no item; paging walks the whole trail.
        let all = send(&app, "GET", &format!("{AUDIT_PATH}?entity=RawDataSource&limit=2"), None, &auth).await;
        assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
        let mut seen = 2;
        let mut cursor = all.body["next_cursor"].as_str().map(str::to_owned);
        while let Some(next) = cursor {
            let page = send(&app, "GET", &format!("{AUDIT_PATH}?limit=2&cursor={next}"), None, &auth).await;
            seen += page.body["items"].as_array().unwrap().len();
            cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, 7, "{backend:?}: six rows of the item and sync-all");
        let bad = send(&app, "GET", &format!("{AUDIT_PATH}?entity=RawDataSorce"), None, &auth).await;
        assert!(bad.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap().contains("RawDataSource"));
        send(&app, "GET", &format!("{AUDIT_PATH}?page=2"), None, &auth).await.problem(StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn a_failed_write_leaves_no_audit_row() {
    for backend in support::BACKENDS {
        let (test_db, app) = secured(backend).await;
        let admin = key(&test_db.db, "ops", &["admin"]).await;
        let auth = [("authorization", bearer(&admin))];
        let auth: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
        create_source(&app, &admin, "taken").await;
        let id = create_source(&app, &admin, "other").await;
        let duplicate = json!({"name": "taken", "connection_string": "x"});
        send(&app, "POST", "/raw-data-sources", Some(duplicate), &auth).await.problem(StatusCode::CONFLICT);
        let rename = json!({"name": "taken", "connection_string": "x"});
        let item = format!("/raw-data-sources/{id}");
        send(&app, "PUT", &item, Some(rename), &auth).await.problem(StatusCode::CONFLICT);
        let stale = [auth[0], ("if-match", "\"7\"")];
        send(&app, "DELETE", &item, None, &stale).await.problem(StatusCode::PRECONDITION_FAILED);
        let log = send(&app, "GET", AUDIT_PATH, None, &auth).await;
        let operations: Vec<&str> =
            log.body["items"].as_array().unwrap().iter().map(|row| row["operation"].as_str().unwrap()).collect();
        assert_eq!(operations, ["create", "create"], "{backend:?}: only the successful writes: {}", log.text);
        // No connection was left inside a transaction by the failures: every later write of
        // every pooled connection is committed and seen by the others.
        for i in 0..24 {
            create_source(&app, &admin, &format!("later-{i}")).await;
        }
        let listed = send(&app, "GET", "/raw-data-sources?limit=1", None, &auth).await;
        assert_eq!(listed.body["total"], 26, "{backend:?}: {}", listed.text);
        let log = send(&app, "GET", &format!("{AUDIT_PATH}?limit=100"), None, &auth).await;
        assert_eq!(log.body["items"].as_array().unwrap().len(), 26, "{backend:?}");
    }
}

/// Many writers at once (on SQLite they queue for the one write lock): each gets its answer
/// and leaves exactly its own audit row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_each_leave_their_own_audit_row() {
    const WRITERS: usize = 32;
    for backend in support::BACKENDS {
        let (test_db, app) = secured(backend).await;
        let admin = key(&test_db.db, "ops", &["admin"]).await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(WRITERS));
        let writers: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (app, admin, barrier) = (app.clone(), admin.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let id = create_source(&app, &admin, &format!("together-{i}")).await;
                    let patch = json!({"tags": [format!("writer-{i}")]});
                    let headers = [
                        ("authorization", bearer(&admin)),
                        ("content-type", "application/merge-patch+json".to_owned()),
                    ];
                    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    let patched = send(&app, "PATCH", &format!("/raw-data-sources/{id}"), Some(patch), &headers).await;
                    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
                    id
                })
            })
            .collect();
        let mut ids = Vec::new();
        for writer in writers {
            ids.push(writer.await.expect("every writer is answered"));
        }
        let auth = bearer(&admin);
        let log = send(&app, "GET", &format!("{AUDIT_PATH}?limit=100"), None, &[("authorization", &auth)]).await;
        let rows = log.body["items"].as_array().unwrap();
        assert_eq!(rows.len(), 2 * WRITERS, "{backend:?}: {}", log.text);
        for id in &ids {
            let mut operations: Vec<&str> = rows
                .iter()
                .filter(|row| row["entity_id"] == id.as_str())
                .map(|row| row["operation"].as_str().unwrap())
                .collect();
            operations.sort_unstable();
            assert_eq!(operations, ["create", "patch"], "{backend:?}: the rows of {id}");
        }
    }
}

#[tokio::test]
async fn with_the_audit_trail_off_writes_and_actions_leave_no_row() {
    for backend in support::BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let service = model::service(test_db.db.clone(), TestActions).with_auth(AuthConfig::api_keys().without_audit());
        let app = service.router();
        let admin = key(&test_db.db, "ops", &["admin"]).await;
        let auth = [("authorization", bearer(&admin))];
        let auth: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let id = create_source(&app, &admin, "unaudited").await;
        let item = format!("/raw-data-sources/{id}");
        assert_eq!(send(&app, "POST", &format!("{item}/test"), None, &auth).await.status, StatusCode::OK);
        assert_eq!(send(&app, "DELETE", &item, None, &auth).await.status, StatusCode::NO_CONTENT);
        let log = send(&app, "GET", AUDIT_PATH, None, &auth).await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.text);
        assert_eq!(log.body["items"], json!([]), "{backend:?}: {}", log.text);
    }
}
