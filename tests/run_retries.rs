//! Retries of tracked actions, on both databases, through the HTTP API and real workers: each
//! attempt is a run of its own in the history (`attempt` 1, 2, …), the item stays `pending`
//! while a retry waits and ends as the last attempt did, a retry is claimed by no instance
//! before its backoff has passed, and a run whose worker died is retried like a failed one.
//! `tests/specs/retries.json`: `Feed.pull` retries quickly (3 attempts, 1 s), `Mirror.copy`
//! slowly (2 attempts, an hour).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use entity_spec::__private::runtime::db::Sql;
use entity_spec::__private::runtime::runs::{Engine, RUNS_TABLE, queue};
use entity_spec::__private::runtime::value::SqlValue;
use entity_spec::{Backend, EngineConfig, Entity, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, send};
use uuid::Uuid;

#[entity_spec::entity_spec("tests/specs/retries.json")]
pub mod model {}

/// The work of both actions: an item named `fails-N` fails its first N attempts, then
/// succeeds; one named `always` never succeeds. Counts the attempts of each item.
#[derive(Clone, Default)]
struct Flaky {
    attempts: Arc<Mutex<HashMap<Uuid, u32>>>,
}

impl Flaky {
    fn attempt(&self, id: Uuid, name: &str) -> Result<String, String> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let count = attempts.entry(id).or_default();
            *count += 1;
            *count
        };
        let fails = match name.strip_prefix("fails-") {
            Some(n) => n.parse().unwrap(),
            None => u32::MAX,
        };
        if attempt <= fails {
            Err(format!("upstream refused attempt {attempt}"))
        } else {
            Ok(format!("done on attempt {attempt}"))
        }
    }

    fn attempts_of(&self, id: &str) -> u32 {
        self.attempts.lock().unwrap().get(&id.parse().unwrap()).copied().unwrap_or(0)
    }
}

impl model::FeedActions for Flaky {
    async fn pull(&self, item: &mut model::Feed) -> Result<String, String> {
        self.attempt(item.id, &item.name)
    }
}

impl model::MirrorActions for Flaky {
    async fn copy(&self, item: &mut model::Mirror) -> Result<String, String> {
        self.attempt(item.id, &item.name)
    }
}

/// The test engine with retries on (`support::quiet_engine` turns them off).
fn retrying(workers: usize) -> EngineConfig {
    EngineConfig { workers, retries: true, ..support::quiet_engine() }
}

/// A migrated database and its service with `workers` retrying workers.
async fn service(backend: Backend, workers: usize) -> (TestDb, Router, Flaky) {
    let test_db = TestDb::new(backend).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let flaky = Flaky::default();
    let app = support::started(model::service(test_db.db.clone(), flaky.clone(), flaky.clone()), retrying(workers));
    (test_db, app, flaky)
}

async fn create(app: &Router, path: &str, name: &str) -> String {
    let created = send(app, "POST", path, Some(json!({"name": name})), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Polls the item until its state is final (bounded: 30 s).
async fn settled(app: &Router, item: &str, history: &str) -> Value {
    for _ in 0..300 {
        let body = send(app, "GET", item, None, &[]).await.body;
        if matches!(body["state"].as_str(), Some("success" | "failed")) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs = send(app, "GET", history, None, &[]).await.text;
    panic!("{item} did not settle; runs: {runs}");
}

/// Polls the history until it holds `count` runs (bounded: 30 s); newest first.
async fn runs(app: &Router, history: &str, count: usize) -> Vec<Value> {
    for _ in 0..300 {
        let page = send(app, "GET", history, None, &[]).await.body;
        if page["total"] == count {
            return page["items"].as_array().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{history} never held {count} runs: {}", send(app, "GET", history, None, &[]).await.text);
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("not a time: {value}"))).unwrap().to_utc()
}

/// The backoff a retry waited: from the end of the attempt before it to its `not_before`.
fn backoff(retry: &Value, failed: &Value) -> chrono::Duration {
    time(&retry["not_before"]) - time(&failed["finished_at"])
}

/// Asserts `wait` lies within half and all of `ceiling` (the equal jitter), give or take the
/// microsecond timestamps are stored with.
fn assert_jittered(wait: chrono::Duration, ceiling: chrono::Duration, what: &str) {
    let slack = chrono::Duration::milliseconds(1);
    assert!(wait >= ceiling / 2 - slack && wait <= ceiling + slack, "{what}: waited {wait} for a ceiling of {ceiling}");
}

#[tokio::test]
async fn a_pull_that_fails_twice_then_succeeds_shows_three_attempts_and_ends_in_success() {
    for backend in BACKENDS {
        let (_db, app, flaky) = service(backend, 2).await;
        let id = create(&app, "/feeds", "fails-2").await;
        let queued = send(&app, "POST", &format!("/feeds/{id}/pull"), None, &[]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
        assert_eq!((&queued.body["attempt"], &queued.body["not_before"]), (&json!(1), &Value::Null), "{backend:?}");

        let history = format!("/feeds/{id}/pulls");
        let feed = settled(&app, &format!("/feeds/{id}"), &history).await;
        assert_eq!((&feed["state"], &feed["error"]), (&json!("success"), &Value::Null), "{backend:?}: {feed}");
        let runs = runs(&app, &history, 3).await;
        let seen: Vec<(&Value, &Value, &Value)> =
            runs.iter().map(|run| (&run["attempt"], &run["status"], &run["message"])).collect();
        assert_eq!(
            seen,
            [
                (&json!(3), &json!("success"), &json!("done on attempt 3")),
                (&json!(2), &json!("failed"), &json!("upstream refused attempt 2")),
                (&json!(1), &json!("failed"), &json!("upstream refused attempt 1")),
            ],
            "{backend:?}: newest first"
        );
        assert!(runs.iter().all(|run| run["trigger"] == "manual"), "{backend:?}: a retry keeps its trigger");
        assert_eq!(runs[2]["not_before"], Value::Null, "{backend:?}: the first attempt was due at once");
        // Backoff 1 s: the first retry waits 0.5-1 s, the second 1-2 s; neither started early.
        for (retry, failed, ceiling) in [(&runs[1], &runs[2], 1), (&runs[0], &runs[1], 2)] {
            assert_jittered(backoff(retry, failed), chrono::Duration::seconds(ceiling), &format!("{backend:?}"));
            assert!(time(&retry["started_at"]) >= time(&retry["not_before"]), "{backend:?}: started early: {retry}");
        }
        assert_eq!(flaky.attempts_of(&id), 3, "{backend:?}");
    }
}

#[tokio::test]
async fn a_pull_that_always_fails_stops_after_its_attempts_and_ends_failed() {
    for backend in BACKENDS {
        let (_db, app, flaky) = service(backend, 2).await;
        let id = create(&app, "/feeds", "always").await;
        send(&app, "POST", &format!("/feeds/{id}/pull"), None, &[]).await;
        let history = format!("/feeds/{id}/pulls");
        let feed = settled(&app, &format!("/feeds/{id}"), &history).await;
        assert_eq!(feed["state"], "failed", "{backend:?}: {feed}");
        assert_eq!(feed["error"], "upstream refused attempt 3", "{backend:?}: the last attempt's error");
        let runs = runs(&app, &history, 3).await;
        let attempts: Vec<(&Value, &Value)> = runs.iter().map(|run| (&run["attempt"], &run["status"])).collect();
        assert_eq!(
            attempts,
            [(&json!(3), &json!("failed")), (&json!(2), &json!("failed")), (&json!(1), &json!("failed"))],
            "{backend:?}"
        );
        // Nothing more is queued: three attempts were all the spec allows.
        let stats = send(&app, "GET", "/feeds/stats", None, &[]).await.body;
        assert_eq!((&stats["runs"]["queued"], &stats["runs"]["running"]), (&json!(0), &json!(0)), "{backend:?}");
        assert_eq!(flaky.attempts_of(&id), 3, "{backend:?}");
    }
}

#[tokio::test]
async fn a_retry_is_claimed_by_no_instance_before_its_backoff_has_passed() {
    for backend in BACKENDS {
        let (test_db, app, flaky) = service(backend, 1).await;
        let id = create(&app, "/mirrors", "always").await;
        send(&app, "POST", &format!("/mirrors/{id}/copy"), None, &[]).await;
        let history = format!("/mirrors/{id}/copies");
        let waiting = runs(&app, &history, 2).await;
        let (retry, failed) = (&waiting[0], &waiting[1]);
        assert_eq!((&retry["attempt"], &retry["status"]), (&json!(2), &json!("queued")), "{backend:?}: {retry}");
        assert_eq!((&failed["attempt"], &failed["status"]), (&json!(1), &json!("failed")), "{backend:?}");
        assert_jittered(backoff(retry, failed), chrono::Duration::hours(1), &format!("{backend:?}"));
        let mirror = send(&app, "GET", &format!("/mirrors/{id}"), None, &[]).await.body;
        assert_eq!(
            (&mirror["state"], &mirror["error"]),
            (&json!("pending"), &json!("upstream refused attempt 1")),
            "{backend:?}: pending while the retry waits, with the failure that caused it"
        );
        // The waiting retry is the item's one active run.
        let again = send(&app, "POST", &format!("/mirrors/{id}/copy"), None, &[]).await;
        again.problem(StatusCode::CONFLICT);

        // Neither this instance nor another one on the same database takes it early.
        let other = test_db.reconnect().await;
        for db in [&test_db.db, &other] {
            let claimed = queue::claim(db, model::Mirror::DEF, "another-instance", Duration::from_secs(30)).await;
            assert!(claimed.unwrap().is_none(), "{backend:?}: claimed before its backoff");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(flaky.attempts_of(&id), 1, "{backend:?}: the workers left it alone too");

        // An hour later (its `not_before` moved back), the instance's worker runs it: the last
        // attempt fails, and so does the item.
        let mut due = Sql::new(backend);
        due.push(&format!("UPDATE \"{RUNS_TABLE}\" SET \"not_before\" = "));
        due.push_bind(SqlValue::DateTime(Utc::now() - chrono::Duration::seconds(1)));
        due.push(" WHERE \"id\" = ").push_bind(SqlValue::Uuid(retry["id"].as_str().unwrap().parse().unwrap()));
        assert_eq!(test_db.db.execute(due).await.unwrap(), 1);
        let mirror = settled(&app, &format!("/mirrors/{id}"), &history).await;
        assert_eq!((&mirror["state"], &mirror["error"]), (&json!("failed"), &json!("upstream refused attempt 2")));
        let ended = runs(&app, &history, 2).await;
        assert_eq!((&ended[0]["attempt"], &ended[0]["status"]), (&json!(2), &json!("failed")), "{backend:?}");
        assert_eq!(flaky.attempts_of(&id), 2, "{backend:?}");
    }
}

#[tokio::test]
async fn a_run_whose_worker_died_is_retried_like_a_failed_one() {
    for backend in BACKENDS {
        let (test_db, app, flaky) = service(backend, 1).await;
        let id = create(&app, "/feeds", "fails-0").await;
        // A run claimed by a process that then died: running, lease expired.
        let past = Utc::now() - chrono::Duration::minutes(5);
        let mut orphan = Sql::new(backend);
        orphan.push(&format!("INSERT INTO \"{RUNS_TABLE}\" (\"id\", \"entity\", \"item_id\", \"action\", \"trigger\", \"status\", \"queued_at\", \"started_at\", \"lease_owner\", \"lease_expires_at\") VALUES ("));
        let values = [
            SqlValue::Uuid(Uuid::now_v7()),
            SqlValue::Text("Feed".to_owned()),
            SqlValue::Uuid(id.parse().unwrap()),
            SqlValue::Text("pull".to_owned()),
            SqlValue::Text("scheduled".to_owned()),
            SqlValue::Text("running".to_owned()),
            SqlValue::DateTime(past),
            SqlValue::DateTime(past),
            SqlValue::Text("dead-process".to_owned()),
            SqlValue::DateTime(past),
        ];
        orphan.push_binds(values).push(")");
        test_db.db.execute(orphan).await.unwrap();

        let recovery = Engine::<model::Feed>::new(
            test_db.db.clone(),
            Arc::new(model::FeedRunHandler(Arc::new(flaky.clone()))),
            Arc::default(),
            Default::default(),
        );
        recovery.try_start(retrying(0)).unwrap();
        assert_eq!(recovery.recover_expired().await.unwrap(), 1, "{backend:?}");
        let history = format!("/feeds/{id}/pulls");
        let feed = send(&app, "GET", &format!("/feeds/{id}"), None, &[]).await.body;
        assert_eq!(feed["state"], "pending", "{backend:?}: its retry waits: {feed}");
        assert!(feed["error"].as_str().unwrap().contains("lease expired"), "{backend:?}: {feed}");

        // The retry (attempt 2, same trigger) runs once due, and succeeds.
        let feed = settled(&app, &format!("/feeds/{id}"), &history).await;
        assert_eq!((&feed["state"], &feed["error"]), (&json!("success"), &Value::Null), "{backend:?}");
        let runs = runs(&app, &history, 2).await;
        let seen: Vec<(&Value, &Value, &Value)> =
            runs.iter().map(|run| (&run["attempt"], &run["status"], &run["trigger"])).collect();
        assert_eq!(
            seen,
            [(&json!(2), &json!("success"), &json!("scheduled")), (&json!(1), &json!("failed"), &json!("scheduled"))],
            "{backend:?}"
        );
        assert_jittered(backoff(&runs[0], &runs[1]), chrono::Duration::seconds(1), &format!("{backend:?}"));
        assert_eq!(flaky.attempts_of(&id), 1, "{backend:?}: the dead worker's attempt never reached this process");
    }
}
