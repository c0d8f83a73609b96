//! Tracked runs of the reference spec's `sync`, with the RawDataSource service's real
//! connectors: syncs that reach PostgreSQL, SQLite files, local HTTP servers and files; the
//! status fields the runtime owns; 409s; sync-all through a bounded worker pool; two service
//! instances sharing one PostgreSQL queue; recovery of a run whose worker died. The local
//! servers are on loopback, which the egress policy refuses by default: these tests allow
//! 127.0.0.1 and the temp folder (tests/egress.rs tests the refusals).

mod support;

#[path = "../examples/raw_data_sources/connectors.rs"]
#[allow(dead_code)]
mod connectors;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::egress::{Egress, EgressPolicy, FileRoots};
use entity_spec::{Backend, EngineConfig, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

use connectors::Connectors;
use model::RawDataSource;

/// The connectors, allowed to reach the local test servers and databases (127.0.0.1) and files
/// under the temp folder (the test sources and the SQLite test databases live there).
fn local_connectors() -> Connectors {
    let policy = EgressPolicy::default().allow("127.0.0.1").unwrap();
    Connectors { egress: Egress::new(policy, FileRoots::new([std::env::temp_dir()]).unwrap()) }
}

fn engine(workers: usize) -> EngineConfig {
    EngineConfig { workers, ..support::quiet_engine() }
}

async fn service(test_db: &TestDb, workers: usize) -> Router {
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    support::started(model::service(test_db.db.clone(), local_connectors()), engine(workers))
}

async fn create(app: &Router, body: Value) -> String {
    let created = send(app, "POST", "/raw-data-sources", Some(body), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Polls the source until its status is final (bounded: 30 s).
async fn settled(app: &Router, id: &str) -> Value {
    for _ in 0..300 {
        let source = send(app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body;
        if matches!(source["sync_status"].as_str(), Some("success" | "failed")) {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source = send(app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.text;
    let runs = send(app, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await.text;
    panic!("source {id} did not finish syncing: {source}\nruns: {runs}");
}

/// A local HTTP server answering every request with JSON after `delay`, counting requests
/// and the most it served at once.
struct SlowApi {
    url: String,
    requests: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

async fn slow_api(delay: Duration) -> SlowApi {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (requests, peak, current) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, p, c) = (requests.clone(), peak.clone(), current.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (r, p, c) = (r.clone(), p.clone(), c.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                r.fetch_add(1, Ordering::SeqCst);
                let now = c.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                c.fetch_sub(1, Ordering::SeqCst);
                let body = r#"{"items": [{"id": 1, "name": "a"}], "next": null}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    SlowApi { url, requests, peak }
}

#[tokio::test]
async fn a_database_source_sync_reads_its_tables_and_records_the_run() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 2).await;
        // The source: another fresh database (PostgreSQL unless the run is SQLite-only) with a
        // table of its own.
        let source_backend = if support::postgres_enabled() { Backend::Postgres } else { Backend::Sqlite };
        let source_db = TestDb::new(source_backend).await;
        let mut ddl = entity_spec::__private::runtime::db::Sql::new(source_backend);
        ddl.push("CREATE TABLE orders (id BIGINT PRIMARY KEY, total DOUBLE PRECISION, placed_at TIMESTAMPTZ)");
        source_db.db.execute(ddl).await.unwrap();
        let id =
            create(&app, json!({"name": "warehouse", "source_type": "database", "connection_string": source_db.url}))
                .await;

        let queued = send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
        assert_eq!(queued.body["status"], "queued");
        assert_eq!(queued.body["trigger"], "manual");
        let source = settled(&app, &id).await;
        assert_eq!(source["sync_status"], "success", "{backend:?}: {source}");
        assert!(source["last_sync_at"].is_string());
        assert_eq!(source["error_message"], Value::Null);
        // PostgreSQL names tables with their schema and types as it normalises them; SQLite
        // keeps the declared type.
        let (table, id_type) = match source_backend {
            Backend::Postgres => ("public.orders", "bigint"),
            Backend::Sqlite => ("orders", "BIGINT"),
        };
        let columns = &source["schema_definition"]["tables"][table];
        assert_eq!(columns[0], json!({"name": "id", "type": id_type}), "{backend:?}: {source}");
        assert_eq!(columns.as_array().map(Vec::len), Some(3));

        let history = send(&app, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await;
        assert_eq!(history.body["total"], 1, "{}", history.text);
        let run = &history.body["items"][0];
        assert_eq!((run["status"].as_str(), run["message"].as_str()), (Some("success"), Some("read 1 table(s)")));
        assert!(run["duration_ms"].as_i64().is_some() && run["finished_at"].is_string());
        let one =
            send(&app, "GET", &format!("/raw-data-sources/{id}/syncs/{}", run["id"].as_str().unwrap()), None, &[])
                .await;
        assert_eq!(&one.body, run);
    }
}

#[tokio::test]
async fn a_failed_sync_records_a_readable_error_without_credentials() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 2).await;
        // A closed port: nothing listens on 127.0.0.1:1.
        let connection = "postgres://admin:Hunter2-Secret@127.0.0.1:1/prod";
        let id =
            create(&app, json!({"name": "down", "source_type": "database", "connection_string": connection})).await;
        send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        let source = settled(&app, &id).await;
        assert_eq!(source["sync_status"], "failed", "{backend:?}");
        let error = source["error_message"].as_str().unwrap();
        assert!(error.starts_with("cannot connect to PostgreSQL"), "{error}");
        let history = send(&app, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await;
        // The spec retries syncs, but not with retries off (support::quiet_engine): one attempt.
        assert_eq!(history.body["total"], 1, "{backend:?}: {}", history.text);
        for text in [source.to_string(), history.text.clone()] {
            assert!(!text.contains("Hunter2-Secret"), "{backend:?}: credentials leaked: {text}");
        }
        let test = send(&app, "POST", &format!("/raw-data-sources/{id}/test"), None, &[]).await;
        assert_eq!((test.status, &test.body["ok"]), (StatusCode::OK, &json!(false)), "{}", test.text);
        assert!(!test.text.contains("Hunter2-Secret"));
        // `test` does not touch the sync state.
        let after = send(&app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body;
        assert_eq!(after["last_sync_at"], source["last_sync_at"]);
    }
}

#[tokio::test]
async fn files_apis_streams_and_webhooks_are_reached_for_real() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let app = service(&test_db, 4).await;
    let dir = std::env::temp_dir().join(format!("entity-spec-sync-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("customers.csv");
    std::fs::write(&csv, "id,name,score,active\n1,Ana,9.5,true\n2,Bo,7,false\n").unwrap();
    let api = slow_api(Duration::from_millis(1)).await;
    let nats = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nats_url = format!("nats://{}", nats.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = nats.accept().await {
            let _ = socket.write_all(b"INFO {\"version\":\"2.10.0\",\"jetstream\":true}\r\n").await;
        }
    });
    let sources = [
        ("file", csv.display().to_string()),
        ("api", format!("{}/v1/items", api.url)),
        ("stream", nats_url),
        ("webhook", "https://hooks.example/incoming".to_owned()),
    ];
    let mut ids = Vec::new();
    for (kind, connection) in &sources {
        let id = create(
            &app,
            json!({"name": format!("{kind}-source"), "source_type": kind, "connection_string": connection}),
        )
        .await;
        assert_eq!(
            send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await.status,
            StatusCode::ACCEPTED
        );
        ids.push(id);
    }
    let file = settled(&app, &ids[0]).await;
    assert_eq!(file["sync_status"], "success", "{file}");
    assert_eq!(
        file["schema_definition"]["columns"],
        json!([
            {"name": "id", "type": "integer"}, {"name": "name", "type": "string"},
            {"name": "score", "type": "number"}, {"name": "active", "type": "boolean"}
        ])
    );
    let api_source = settled(&app, &ids[1]).await;
    assert_eq!(api_source["schema_definition"]["status"], 200, "{api_source}");
    assert_eq!(
        api_source["schema_definition"]["shape"],
        json!({"items": [{"id": "integer", "name": "string"}], "next": "null"})
    );
    let stream = settled(&app, &ids[2]).await;
    assert_eq!(stream["schema_definition"]["version"], "2.10.0", "{stream}");
    let webhook = settled(&app, &ids[3]).await;
    assert_eq!(webhook["sync_status"], "success");
    let history = send(&app, "GET", &format!("/raw-data-sources/{}/syncs", ids[3]), None, &[]).await;
    assert!(history.body["items"][0]["message"].as_str().unwrap().contains("push-based"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn double_triggers_inactive_sources_and_status_fields_are_refused() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 2).await;
        let api = slow_api(Duration::from_millis(800)).await;
        let id = create(&app, json!({"name": "slow", "source_type": "api", "connection_string": api.url})).await;
        assert_eq!(
            send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await.status,
            StatusCode::ACCEPTED
        );
        let again = send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        again.problem(StatusCode::CONFLICT);
        assert_eq!(again.body["type"], "urn:entity-spec:problem:already-running", "{backend:?}");
        settled(&app, &id).await;
        assert_eq!(api.requests.load(Ordering::SeqCst), 1, "{backend:?}: ran once");

        let inactive = create(
            &app,
            json!({"name": "off", "source_type": "api", "connection_string": api.url, "is_active": false}),
        )
        .await;
        let refused = send(&app, "POST", &format!("/raw-data-sources/{inactive}/sync"), None, &[]).await;
        refused.problem(StatusCode::CONFLICT);
        assert_eq!(refused.body["type"], "urn:entity-spec:problem:inactive");

        // The runtime owns the status fields.
        let body = json!({"name": "x", "connection_string": "y", "sync_status": "success", "last_sync_at": "2026-01-01T00:00:00Z", "error_message": "no"});
        let rejected = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
        rejected.problem(StatusCode::UNPROCESSABLE_ENTITY);
        let codes: Vec<String> = rejected.error_codes().into_iter().map(|(_, code)| code).collect();
        assert_eq!(codes, ["read_only", "read_only", "read_only"], "{backend:?}: {}", rejected.text);
        let patched =
            send(&app, "PATCH", &format!("/raw-data-sources/{id}"), Some(json!({"sync_status": "pending"})), &[]).await;
        patched.problem(StatusCode::UNPROCESSABLE_ENTITY);
        let missing = send(&app, "POST", &format!("/raw-data-sources/{}/sync", uuid::Uuid::nil()), None, &[]).await;
        missing.problem(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn sync_all_runs_every_active_source_through_a_bounded_pool() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 3).await;
        let api = slow_api(Duration::from_millis(150)).await;
        let mut ids = Vec::new();
        for i in 0..24 {
            let active = i % 6 != 0;
            ids.push((active, create(&app, json!({"name": format!("s{i}"), "source_type": "api", "connection_string": api.url, "is_active": active})).await));
        }
        let queued = send(&app, "POST", "/raw-data-sources/sync-all", None, &[]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
        assert_eq!(queued.body, json!({"queued": 20}), "{backend:?}");
        for (active, id) in ids.iter().filter(|(active, _)| *active) {
            assert!(active);
            assert_eq!(settled(&app, id).await["sync_status"], "success", "{backend:?}");
        }
        assert_eq!(api.requests.load(Ordering::SeqCst), 20, "{backend:?}: every active source once, no run lost");
        let peak = api.peak.load(Ordering::SeqCst);
        assert!((1..=3).contains(&peak), "{backend:?}: at most 3 at once, saw {peak}");
        for (_, id) in ids.iter().filter(|(active, _)| !active) {
            let source = send(&app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body;
            assert_eq!(source["sync_status"], "pending", "{backend:?}: inactive sources are skipped");
        }
        // A second sync-all right away queues everything again (nothing is running now).
        assert_eq!(send(&app, "POST", "/raw-data-sources/sync-all", None, &[]).await.body, json!({"queued": 20}));
        for (_, id) in ids.iter().filter(|(active, _)| *active) {
            settled(&app, id).await;
        }
    }
}

#[tokio::test]
async fn two_instances_on_one_postgres_database_share_the_queue_without_running_a_source_twice() {
    if !support::postgres_enabled() {
        eprintln!("not run: this run is SQLite-only (ENTITY_SPEC_TEST_BACKENDS)");
        return;
    }
    let test_db = TestDb::new(Backend::Postgres).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let first = support::started(model::service(test_db.db.clone(), local_connectors()), engine(2));
    let second = support::started(model::service(test_db.reconnect().await, local_connectors()), engine(2));
    let api = slow_api(Duration::from_millis(100)).await;
    let mut ids = Vec::new();
    for i in 0..16 {
        ids.push(create(&first, json!({"name": format!("shared-{i}"), "source_type": "api", "connection_string": format!("{}/{i}", api.url)})).await);
    }
    // Both instances get sync-all at once; the database lets each source be queued once.
    let (a, b) = tokio::join!(
        send(&first, "POST", "/raw-data-sources/sync-all", None, &[]),
        send(&second, "POST", "/raw-data-sources/sync-all", None, &[])
    );
    let total = a.body["queued"].as_u64().unwrap() + b.body["queued"].as_u64().unwrap();
    assert_eq!(total, 16, "{} / {}", a.text, b.text);
    for id in &ids {
        assert_eq!(settled(&second, id).await["sync_status"], "success");
    }
    assert_eq!(api.requests.load(Ordering::SeqCst), 16, "each source ran exactly once");
    assert!(api.peak.load(Ordering::SeqCst) <= 4, "two instances of two workers each");
    for id in &ids {
        let history = send(&first, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await;
        assert_eq!(history.body["total"], 1);
    }
}

#[tokio::test]
async fn a_run_whose_worker_died_is_failed_when_its_lease_expires() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 1).await;
        let id = create(&app, json!({"name": "orphan", "source_type": "webhook", "connection_string": "x"})).await;
        // A run claimed by a process that then died: running, lease already expired.
        let past = chrono::Utc::now() - chrono::Duration::minutes(5);
        let mut sql = entity_spec::__private::runtime::db::Sql::new(backend);
        let runs = entity_spec::__private::runtime::runs::RUNS_TABLE;
        use entity_spec::__private::runtime::value::SqlValue;
        sql.push(&format!("INSERT INTO \"{runs}\" (\"id\", \"entity\", \"item_id\", \"action\", \"trigger\", \"status\", \"queued_at\", \"started_at\", \"lease_owner\", \"lease_expires_at\") VALUES ("));
        let values = [
            SqlValue::Uuid(uuid::Uuid::now_v7()),
            SqlValue::Text("RawDataSource".to_owned()),
            SqlValue::Uuid(id.parse().unwrap()),
            SqlValue::Text("sync".to_owned()),
            SqlValue::Text("manual".to_owned()),
            SqlValue::Text("running".to_owned()),
            SqlValue::DateTime(past),
            SqlValue::DateTime(past),
            SqlValue::Text("dead-process".to_owned()),
            SqlValue::DateTime(past),
        ];
        sql.push_binds(values).push(")");
        test_db.db.execute(sql).await.unwrap();
        // While the orphan holds the item, a new sync is refused.
        send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await.problem(StatusCode::CONFLICT);

        // Without retries: tests/run_retries.rs recovers a run whose action retries.
        let config = engine(0);
        let engine = entity_spec::__private::runtime::runs::Engine::<RawDataSource>::new(
            test_db.db.clone(),
            Arc::new(model::RawDataSourceRunHandler(Arc::new(local_connectors()))),
            Arc::default(),
            Default::default(),
        );
        engine.try_start(config).unwrap();
        assert_eq!(engine.recover_expired().await.unwrap(), 1, "{backend:?}");
        let source = send(&app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body;
        assert_eq!(source["sync_status"], "failed", "{backend:?}");
        assert!(source["error_message"].as_str().unwrap().contains("lease expired"));
        // The item is free again.
        assert_eq!(
            send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await.status,
            StatusCode::ACCEPTED
        );
        assert_eq!(settled(&app, &id).await["sync_status"], "success");
    }
}

#[tokio::test]
async fn the_scheduler_queues_active_sources_whose_interval_has_passed() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 2).await;
        let never_synced =
            create(&app, json!({"name": "new", "source_type": "webhook", "connection_string": "x"})).await;
        let inactive = create(
            &app,
            json!({"name": "off", "source_type": "webhook", "connection_string": "x", "is_active": false}),
        )
        .await;
        let engine = entity_spec::__private::runtime::runs::Engine::<RawDataSource>::new(
            test_db.db.clone(),
            Arc::new(model::RawDataSourceRunHandler(Arc::new(local_connectors()))),
            Arc::default(),
            Default::default(),
        );
        engine.tick().await;
        let source = settled(&app, &never_synced).await;
        assert_eq!(source["sync_status"], "success", "{backend:?}");
        let history = send(&app, "GET", &format!("/raw-data-sources/{never_synced}/syncs"), None, &[]).await;
        assert_eq!(history.body["items"][0]["trigger"], "scheduled", "{backend:?}");
        // Just synced, interval 3600 s: not due again. Inactive: never scheduled.
        engine.tick().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let history = send(&app, "GET", &format!("/raw-data-sources/{never_synced}/syncs"), None, &[]).await;
        assert_eq!(history.body["total"], 1, "{backend:?}");
        let off = send(&app, "GET", &format!("/raw-data-sources/{inactive}/syncs"), None, &[]).await;
        assert_eq!(off.body["total"], 0, "{backend:?}");
    }
}

#[tokio::test]
async fn a_huge_refresh_interval_does_not_stop_the_scheduler_for_everyone_else() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, 2).await;
        // Synced once, with an interval whose end lies beyond any date either database can
        // hold: `last_sync_at + interval` must not be computed as a timestamp. The spec's
        // `max` refuses such an interval now (a 422), so the row is one stored before it was
        // there, written directly.
        let mut input = model::RawDataSourceCreate::new("forever", "x");
        input.source_type = Some(model::RawDataSourceSourceType::Webhook);
        input.refresh_interval = i64::MAX;
        let row = input.into_entity(uuid::Uuid::now_v7(), chrono::Utc::now());
        let forever = row.id.to_string();
        entity_spec::__private::runtime::store::insert(&test_db.db, &row, None).await.unwrap();
        send(&app, "POST", &format!("/raw-data-sources/{forever}/sync"), None, &[]).await;
        // Its run history, not the item: the stored interval is outside what the API documents.
        let mut last_run = Value::Null;
        for _ in 0..300 {
            last_run = send(&app, "GET", &format!("/raw-data-sources/{forever}/syncs"), None, &[]).await.body;
            if last_run["items"][0]["status"] == "success" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(last_run["items"][0]["status"], "success", "{backend:?}: {last_run}");
        let due = create(&app, json!({"name": "due", "source_type": "webhook", "connection_string": "x"})).await;

        let engine = entity_spec::__private::runtime::runs::Engine::<RawDataSource>::new(
            test_db.db.clone(),
            Arc::new(model::RawDataSourceRunHandler(Arc::new(local_connectors()))),
            Arc::default(),
            Default::default(),
        );
        engine.tick().await;
        let runs = send(&app, "GET", &format!("/raw-data-sources/{due}/syncs"), None, &[]).await;
        assert_eq!(runs.body["items"][0]["trigger"], "scheduled", "{backend:?}: {}", runs.text);
        let runs = send(&app, "GET", &format!("/raw-data-sources/{forever}/syncs"), None, &[]).await;
        assert_eq!(runs.body["total"], 1, "{backend:?}: not due for a very long time: {}", runs.text);
    }
}

/// Makes every statement that ends a run fail (an update of a run to another status than
/// `running`), or stops doing so: a failure injected into the second statement of `finish`.
async fn refuse_run_ends(db: &entity_spec::Db, refuse: bool) {
    let runs = entity_spec::__private::runtime::runs::RUNS_TABLE;
    let statements: Vec<String> = match (db.backend(), refuse) {
        (Backend::Sqlite, true) => vec![format!(
            "CREATE TRIGGER refuse_run_end BEFORE UPDATE ON \"{runs}\" WHEN NEW.\"status\" <> 'running' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
        (Backend::Sqlite, false) => vec!["DROP TRIGGER refuse_run_end".to_owned()],
        (Backend::Postgres, true) => vec![
            "CREATE FUNCTION refuse_run_end() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER refuse_run_end BEFORE UPDATE ON \"{runs}\" FOR EACH ROW \
                 WHEN (NEW.\"status\" <> 'running') EXECUTE FUNCTION refuse_run_end()"
            ),
        ],
        (Backend::Postgres, false) => vec![format!("DROP TRIGGER refuse_run_end ON \"{runs}\"")],
    };
    for statement in statements {
        let mut sql = entity_spec::__private::runtime::db::Sql::new(db.backend());
        sql.push(&statement);
        db.execute(sql).await.unwrap_or_else(|e| panic!("`{statement}`: {e}"));
    }
}

#[tokio::test]
async fn the_end_of_a_run_updates_the_item_and_the_run_together_or_not_at_all() {
    use entity_spec::__private::runtime::runs::queue::{Outcome, RunEnd, claim, finish};
    use entity_spec::__private::runtime::value::SqlValue;
    use entity_spec::Entity;
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        // No workers: the test claims and finishes the run itself.
        let app = service(&test_db, 0).await;
        let id = create(&app, json!({"name": "atomic", "source_type": "webhook", "connection_string": "x"})).await;
        let queued = send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
        let def = RawDataSource::DEF;
        let run =
            claim(&test_db.db, def, "test-worker", Duration::from_secs(30)).await.unwrap().expect("the queued run");
        let schema = def.position("schema_definition").unwrap();
        let end = RunEnd {
            outcome: Outcome::Success,
            message: "read 2 table(s)".to_owned(),
            duration_ms: 12,
            changes: vec![(schema, SqlValue::Json(json!({"tables": ["a", "b"]})))],
            retry_in: None,
        };
        let item_uri = format!("/raw-data-sources/{id}");
        let run_uri = format!("/raw-data-sources/{id}/syncs/{}", run.id);
        let before = send(&app, "GET", &item_uri, None, &[]).await;

        refuse_run_ends(&test_db.db, true).await;
        let error = finish(&test_db.db, def, &run, end.clone()).await.expect_err("the run's update is refused");
        assert!(error.to_string().contains("injected failure"), "{backend:?}: {error}");
        let after = send(&app, "GET", &item_uri, None, &[]).await;
        assert_eq!(after.body, before.body, "{backend:?}: the item's update was rolled back with the run's");
        assert_eq!(after.header("etag"), before.header("etag"), "{backend:?}");
        assert_eq!(send(&app, "GET", &run_uri, None, &[]).await.body["status"], "running", "{backend:?}");

        refuse_run_ends(&test_db.db, false).await;
        finish(&test_db.db, def, &run, end).await.unwrap();
        let item = send(&app, "GET", &item_uri, None, &[]).await.body;
        let run = send(&app, "GET", &run_uri, None, &[]).await.body;
        assert_eq!((&item["sync_status"], &run["status"]), (&json!("success"), &json!("success")), "{backend:?}");
        assert_eq!(item["last_sync_at"], run["finished_at"], "{backend:?}: both rows tell the same end");
        assert_eq!(item["schema_definition"], json!({"tables": ["a", "b"]}), "{backend:?}");
        assert_eq!(run["message"], "read 2 table(s)");
    }
}

#[tokio::test]
async fn sync_all_queues_every_idle_active_source_in_batches_with_an_exact_count() {
    use entity_spec::__private::runtime::store;
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        // No workers: the runs stay queued, so the counts below are the queue's.
        let app = service(&test_db, 0).await;
        // More sources than one batch holds; stored directly, HTTP is not what is tested here.
        let now = chrono::Utc::now();
        for i in 0..1_100 {
            let mut input = model::RawDataSourceCreate::new(format!("bulk-{i}"), "x");
            input.is_active = i % 10 != 0;
            store::insert(&test_db.db, &input.into_entity(uuid::Uuid::now_v7(), now), None).await.unwrap();
        }
        // Settled sources, so that marking them pending shows.
        let mut settle = entity_spec::__private::runtime::db::Sql::new(backend);
        settle.push("UPDATE raw_data_sources SET sync_status = 'success'");
        test_db.db.execute(settle).await.unwrap();
        // One active source already has a queued run: it is neither queued again nor counted.
        let busy =
            send(&app, "GET", "/raw-data-sources?is_active=true&limit=1", None, &[]).await.body["items"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        let queued = send(&app, "POST", &format!("/raw-data-sources/{busy}/sync"), None, &[]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);

        let all = send(&app, "POST", "/raw-data-sources/sync-all", None, &[]).await;
        assert_eq!((all.status, &all.body), (StatusCode::ACCEPTED, &json!({"queued": 989})), "{backend:?}");
        let stats = send(&app, "GET", "/raw-data-sources/stats", None, &[]).await.body;
        assert_eq!(stats["runs"]["queued"], 990, "{backend:?}: one queued run per active source");
        let statuses = &stats["counts"]["sync_status"];
        assert_eq!((&statuses["pending"], &statuses["success"]), (&json!(990), &json!(110)), "{backend:?}");
        // Every active source has its run now: nothing more to queue.
        let again = send(&app, "POST", "/raw-data-sources/sync-all", None, &[]).await;
        assert_eq!(again.body, json!({"queued": 0}), "{backend:?}");
    }
}

#[test]
fn a_router_built_outside_a_tokio_runtime_does_not_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let test_db = runtime.block_on(async {
        let test_db = TestDb::new(Backend::Sqlite).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        test_db
    });
    // No runtime here: building the router starts nothing, so nothing can panic.
    let app = support::open(model::service(test_db.db.clone(), local_connectors()));
    runtime.block_on(async {
        let id = create(&app, json!({"name": "built-early", "source_type": "webhook", "connection_string": "x"})).await;
        let source = send(&app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await;
        assert_eq!(source.status, StatusCode::OK, "{}", source.text);
    });
}

#[test]
fn starting_workers_outside_a_runtime_is_an_error_that_says_so() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let test_db = runtime.block_on(async {
        let test_db = TestDb::new(Backend::Sqlite).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        test_db
    });
    let service = model::service(test_db.db.clone(), local_connectors()).with_auth(entity_spec::AuthConfig::off());
    let error = service.start_workers(&engine(1)).unwrap_err();
    assert!(error.to_string().contains("need a Tokio runtime"), "{error}");
    // Inside one, the same service starts them, and its queued syncs run.
    let _inside = runtime.enter();
    service.start_workers(&engine(1)).unwrap();
    let app = service.router();
    runtime.block_on(async {
        let id = create(&app, json!({"name": "later", "source_type": "webhook", "connection_string": "x"})).await;
        send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        assert_eq!(settled(&app, &id).await["sync_status"], "success");
    });
}

#[tokio::test]
async fn a_router_alone_queues_runs_and_starts_no_worker() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let app = support::open(model::service(test_db.db.clone(), local_connectors()));
    let id = create(&app, json!({"name": "api-only", "source_type": "webhook", "connection_string": "x"})).await;
    let queued = send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = send(&app, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await;
    assert_eq!(runs.body["items"][0]["status"], "queued", "nobody runs it here: {}", runs.text);
    // Another instance on the same database that starts its workers runs it.
    let worker = support::started(model::service(test_db.reconnect().await, local_connectors()), engine(1));
    assert_eq!(settled(&worker, &id).await["sync_status"], "success");
}

#[tokio::test]
async fn starting_workers_again_adds_no_workers() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let service = model::service(test_db.db.clone(), local_connectors()).with_auth(entity_spec::AuthConfig::off());
    let app = service.router();
    let api = slow_api(Duration::from_millis(300)).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let body = json!({"name": format!("s{i}"), "source_type": "api", "connection_string": api.url});
        ids.push(create(&app, body).await);
    }
    service.start_workers(&engine(2)).unwrap();
    service.start_workers(&engine(2)).unwrap();
    service.start_workers(&engine(5)).unwrap();
    assert_eq!(send(&app, "POST", "/raw-data-sources/sync-all", None, &[]).await.body, json!({"queued": 6}));
    for id in &ids {
        assert_eq!(settled(&app, id).await["sync_status"], "success");
    }
    let peak = api.peak.load(Ordering::SeqCst);
    assert!((1..=2).contains(&peak), "two workers, however often started: saw {peak} runs at once");
}
