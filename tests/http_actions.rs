//! The routes of custom actions (a tracked action's queue and history, plain actions) follow
//! the same HTTP rules as the CRUD routes, on SQLite and PostgreSQL: the same status for a
//! database that cannot be reached in time, and the same paging parameters for run history
//! as for lists.

mod support;

use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::__private::runtime::db::Pool;
use entity_spec::{Backend, Db, EngineConfig, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

const PATH: &str = "/raw-data-sources";

/// No workers and no scheduler: nothing but the requests of the test touches the database.
fn no_workers() -> EngineConfig {
    EngineConfig { workers: 0, ..support::quiet_engine() }
}

async fn create(app: &Router, name: &str) -> String {
    let body = json!({"name": name, "source_type": "webhook", "connection_string": "https://hooks.example/in"});
    let created = send(app, "POST", PATH, Some(body), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().expect("an id").to_owned()
}

/// Polls the run history of `id` until it holds `count` finished runs (bounded: 30 s).
async fn finished_runs(app: &Router, id: &str, count: usize) -> Vec<Value> {
    for _ in 0..300 {
        let history = send(app, "GET", &format!("{PATH}/{id}/syncs"), None, &[]).await;
        let items = history.body["items"].as_array().cloned().unwrap_or_default();
        if items.len() == count && items.iter().all(|run| run["finished_at"].is_string()) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id}: {count} run(s) did not finish");
}

/// A connection taken from a pool and kept, so that the pool has none left.
enum Held {
    Sqlite(#[allow(dead_code)] sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(#[allow(dead_code)] sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// A second pool on the test database with a single connection, which is held: every request
/// through it waits 200 ms for a connection and gives up (`PoolTimedOut`).
async fn starved_pool(test_db: &TestDb) -> (Db, Held) {
    let wait = Duration::from_millis(200);
    match test_db.db.backend() {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&test_db.url).expect("SQLite URL");
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(wait)
                .connect_with(options)
                .await
                .expect("SQLite opens");
            let held = Held::Sqlite(pool.acquire().await.expect("the only connection"));
            (Db::from_pool(Pool::Sqlite(pool)).with_keyring(support::test_keyring()), held)
        }
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(wait)
                .connect(&test_db.url)
                .await
                .expect("PostgreSQL opens");
            let held = Held::Postgres(pool.acquire().await.expect("the only connection"));
            (Db::from_pool(Pool::Postgres(pool)).with_keyring(support::test_keyring()), held)
        }
    }
}

#[tokio::test]
async fn a_database_out_of_connections_is_503_on_action_routes_as_on_crud_routes() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrates");
        let app = support::started(model::service(test_db.db.clone(), TestActions), support::quiet_engine());
        let id = create(&app, "reachable").await;
        let queued = send(&app, "POST", &format!("{PATH}/{id}/sync"), None, &[]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
        let run = finished_runs(&app, &id, 1).await[0]["id"].as_str().expect("a run id").to_owned();

        let (db, _held) = starved_pool(&test_db).await;
        let starved = support::started(model::service(db, TestActions), no_workers());
        let requests = [
            ("GET", format!("{PATH}/{id}")),
            ("GET", format!("{PATH}/stats")),
            ("POST", format!("{PATH}/{id}/sync")),
            ("GET", format!("{PATH}/{id}/syncs")),
            ("GET", format!("{PATH}/{id}/syncs/{run}")),
            ("POST", format!("{PATH}/sync-all")),
            ("POST", format!("{PATH}/{id}/test")),
        ];
        for (method, uri) in requests {
            let response = send(&starved, method, &uri, None, &[]).await;
            response.problem(StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.body["type"], "urn:entity-spec:problem:unavailable", "{backend:?}: {method} {uri}");
        }
    }
}

#[tokio::test]
async fn run_history_takes_the_paging_parameters_of_lists_with_the_same_rules() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrates");
        let app = support::started(model::service(test_db.db.clone(), TestActions), support::quiet_engine());
        let id = create(&app, "paged").await;
        for count in 1..=3 {
            let queued = send(&app, "POST", &format!("{PATH}/{id}/sync"), None, &[]).await;
            assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
            finished_runs(&app, &id, count).await;
        }
        let history = format!("{PATH}/{id}/syncs");

        // Pages: newest first, `total` counts every run.
        let all = send(&app, "GET", &history, None, &[]).await.body;
        let newest_first: Vec<&Value> = all["items"].as_array().expect("items").iter().map(|run| &run["id"]).collect();
        let page = send(&app, "GET", &format!("{history}?limit=2&offset=1"), None, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}: {}", page.text);
        assert_eq!(page.body["total"], 3);
        let paged: Vec<&Value> = page.body["items"].as_array().expect("items").iter().map(|run| &run["id"]).collect();
        assert_eq!(paged, newest_first[1..], "{backend:?}");

        // The same parameter errors as a list, with the same problem members.
        for query in ["limit=5&limit=6", "offset=1&offset=2", "limit=0", "limit=501", "limit=x", "offset=-1"] {
            let list = send(&app, "GET", &format!("{PATH}?{query}"), None, &[]).await;
            list.problem(StatusCode::BAD_REQUEST);
            let runs = send(&app, "GET", &format!("{history}?{query}"), None, &[]).await;
            runs.problem(StatusCode::BAD_REQUEST);
            assert_eq!(runs.body["errors"], list.body["errors"], "{backend:?}: ?{query}");
            assert_eq!(runs.body["detail"], list.body["detail"], "{backend:?}: ?{query}");
        }
        let unknown = send(&app, "GET", &format!("{history}?sort=-queued_at"), None, &[]).await;
        unknown.problem(StatusCode::BAD_REQUEST);
        assert_eq!(unknown.error_codes(), [("sort".to_owned(), "unknown_parameter".to_owned())], "{backend:?}");
    }
}

/// `test_connection` waits for the gate: each call holds its slot until the test opens it.
struct GatedActions {
    entered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    gate: std::sync::Arc<tokio::sync::Semaphore>,
}

impl model::RawDataSourceActions for GatedActions {
    async fn sync(&self, _item: &mut model::RawDataSource) -> Result<String, String> {
        Ok("synced".to_owned())
    }

    async fn test_connection(
        &self,
        _item: model::RawDataSource,
    ) -> Result<model::RawDataSourceTestConnectionResponse, entity_spec::ApiError> {
        self.entered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _open = self.gate.acquire().await.expect("the gate stays open");
        Ok(model::RawDataSourceTestConnectionResponse { ok: true, latency_ms: 0, message: "reachable".to_owned() })
    }
}

#[tokio::test]
async fn a_plain_action_beyond_its_concurrency_bound_is_429_with_retry_after_and_nothing_waits() {
    let limit = entity_spec::DEFAULT_ACTION_CONCURRENCY;
    let test_db = TestDb::new(Backend::Sqlite).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrates");
    let entered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let actions = GatedActions { entered: entered.clone(), gate: gate.clone() };
    let app = support::started(model::service(test_db.db.clone(), actions), no_workers());
    let id = create(&app, "slow").await;
    let uri = format!("{PATH}/{id}/test");

    let mut held = Vec::new();
    for _ in 0..limit {
        let (app, uri) = (app.clone(), uri.clone());
        held.push(tokio::spawn(async move { send(&app, "POST", &uri, None, &[]).await }));
    }
    while entered.load(std::sync::atomic::Ordering::SeqCst) < limit {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let refused = send(&app, "POST", &uri, None, &[]).await;
    refused.problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["type"], "urn:entity-spec:problem:too-many-requests");
    assert_eq!(refused.header("retry-after"), "1");
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("`test_connection`") && detail.contains(&limit.to_string()), "{detail}");
    assert_eq!(entered.load(std::sync::atomic::Ordering::SeqCst), limit, "the refused call never reached the action");

    gate.add_permits(limit + 1);
    for call in held {
        assert_eq!(call.await.expect("the call finishes").status, StatusCode::OK);
    }
    let again = send(&app, "POST", &uri, None, &[]).await;
    assert_eq!(again.status, StatusCode::OK, "a slot is free again once the calls end: {}", again.text);
}
