//! Row ownership (`api.access.owner`), on both databases: a caller without the entity's admin
//! scope lists, counts, reads, changes, runs and deletes only the rows it created; another
//! owner's row is a 404 (not a 403: no existence oracle), and run-all queues only its rows.

mod support;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::api_keys::{self, NewKey};
use entity_spec::{ApiError, Db, MigrateOptions};
use serde_json::{Value, json};
use support::{TestDb, send};

#[entity_spec::entity_spec("tests/specs/owned.json")]
pub mod owned {}

struct Runner;

impl owned::PipelineActions for Runner {
    async fn run(&self, _pipeline: &mut owned::Pipeline) -> Result<String, String> {
        Ok("ran".to_owned())
    }

    async fn peek(&self, pipeline: owned::Pipeline) -> Result<owned::PipelinePeekResponse, ApiError> {
        Ok(owned::PipelinePeekResponse { name: pipeline.name })
    }
}

const MEMBER: &[&str] = &["pipelines:read", "pipelines:write", "pipelines:run", "pipelines:peek"];

async fn key(db: &Db, name: &str, scopes: &[&str]) -> String {
    let new =
        NewKey { name: name.to_owned(), scopes: scopes.iter().map(|s| (*s).to_owned()).collect(), expires_at: None };
    format!("Bearer {}", api_keys::create(db, new).await.unwrap().0.expose())
}

async fn call(app: &Router, who: &str, method: &str, uri: &str, body: Option<Value>) -> support::TestResponse {
    send(app, method, uri, body, &[("authorization", who)]).await
}

async fn create(app: &Router, who: &str, name: &str) -> String {
    let created = call(app, who, "POST", "/pipelines", Some(json!({"name": name}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

fn names(page: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn callers_see_and_change_only_their_own_rows() {
    for backend in support::BACKENDS {
        let test_db = TestDb::new(backend).await;
        owned::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let service = owned::service(test_db.db.clone(), Runner);
        service.start_workers(&support::quiet_engine()).unwrap();
        let app = service.router();
        let alice = key(&test_db.db, "alice", MEMBER).await;
        let bob = key(&test_db.db, "bob", MEMBER).await;
        let admin = key(&test_db.db, "ops", &["admin"]).await;
        let entity_admin = key(&test_db.db, "lead", &["pipelines:admin"]).await;

        let a1 = create(&app, &alice, "a1").await;
        create(&app, &alice, "a2").await;
        let b1 = create(&app, &bob, "b1").await;
        let read = call(&app, &alice, "GET", &format!("/pipelines/{a1}"), None).await;
        assert_eq!(read.body["owner"], "key:alice", "{backend:?}: the server sets the owner");
        let forged = call(&app, &alice, "POST", "/pipelines", Some(json!({"name": "x", "owner": "key:bob"}))).await;
        assert_eq!(forged.problem(StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["code"], "read_only");

        // Lists and counts.
        assert_eq!(names(&call(&app, &alice, "GET", "/pipelines", None).await.body), ["a1", "a2"], "{backend:?}");
        assert_eq!(names(&call(&app, &bob, "GET", "/pipelines?sort=-created_at", None).await.body), ["b1"]);
        let stats = call(&app, &alice, "GET", "/pipelines/stats", None).await;
        assert_eq!(stats.body["total"], 2, "{}", stats.text);
        assert!(stats.body.get("runs").is_none(), "other owners' run activity stays hidden: {}", stats.text);
        for who in [&admin, &entity_admin] {
            assert_eq!(names(&call(&app, who, "GET", "/pipelines", None).await.body), ["a1", "a2", "b1"]);
            assert_eq!(call(&app, who, "GET", "/pipelines/stats", None).await.body["total"], 3);
        }

        // Another owner's row is a 404 on every item route, and nothing changes.
        let item = format!("/pipelines/{b1}");
        for (method, uri, body) in [
            ("GET", item.clone(), None),
            ("PUT", item.clone(), Some(json!({"name": "stolen"}))),
            ("PATCH", item.clone(), Some(json!({"name": "stolen"}))),
            ("DELETE", item.clone(), None),
            ("POST", format!("{item}/run"), None),
            ("POST", format!("{item}/peek"), None),
            ("GET", format!("{item}/runs"), None),
            ("GET", format!("{item}/runs/{}", uuid::Uuid::now_v7()), None),
        ] {
            let refused = call(&app, &alice, method, &uri, body).await;
            refused.problem_for(StatusCode::NOT_FOUND, format!("{backend:?} {method} {uri}"));
        }
        let unknown = call(&app, &alice, "GET", &format!("/pipelines/{}", uuid::Uuid::now_v7()), None).await;
        let other = call(&app, &alice, "GET", &item, None).await;
        assert_eq!(unknown.body["title"], other.body["title"], "a missing row and another owner's look alike");
        assert_eq!(call(&app, &bob, "GET", &item, None).await.body["name"], "b1", "{backend:?}: untouched");

        // Their own rows work as usual.
        let own = format!("/pipelines/{a1}");
        assert_eq!(call(&app, &alice, "PATCH", &own, Some(json!({"name": "a1b"}))).await.status, StatusCode::OK);
        assert_eq!(call(&app, &alice, "POST", &format!("{own}/peek"), None).await.body["name"], "a1b");

        // Run-all queues only the caller's rows; an admin's queues the rest.
        let queued = call(&app, &alice, "POST", "/pipelines/run-all", None).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
        assert_eq!(queued.body["queued"], 2, "{backend:?}: {}", queued.text);
        let runs = call(&app, &bob, "GET", &format!("{item}/runs"), None).await;
        assert_eq!(runs.body["total"], 0, "{backend:?}: bob's row was not queued by alice: {}", runs.text);

        // An owner deletes its own row; the admin deletes anyone's.
        assert_eq!(call(&app, &alice, "DELETE", &own, None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(call(&app, &admin, "DELETE", &item, None).await.status, StatusCode::NO_CONTENT);
    }
}
