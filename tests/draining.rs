//! Draining for a restart, on both databases: once draining begins `/readyz` answers 503 and
//! the workers claim nothing more; a run that finishes within the grace period is recorded as
//! usual, and one that does not is handed back to the queue (queued again, its item pending),
//! so another instance on the same database runs it at once: no failed run, no run lost. With a
//! shutdown delay the service keeps serving for a while after the signal, `/readyz` already
//! failing, before it drains. A worker that dies without draining leaves its run to its lease
//! (`ENTITY_SPEC_RUN_LEASE_SECS`).

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use entity_spec::{AuthConfig, EngineConfig, MigrateOptions, ServerLimits, Service, serve_with};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

/// Syncs that take `0` to finish.
struct Syncs(Duration);

impl model::RawDataSourceActions for Syncs {
    async fn sync(&self, _item: &mut model::RawDataSource) -> Result<String, String> {
        tokio::time::sleep(self.0).await;
        Ok(format!("synced after {} ms", self.0.as_millis()))
    }

    async fn test_connection(
        &self,
        _item: model::RawDataSource,
    ) -> Result<model::RawDataSourceTestConnectionResponse, entity_spec::ApiError> {
        Ok(model::RawDataSourceTestConnectionResponse { ok: true, latency_ms: 0, message: "reachable".to_owned() })
    }
}

fn started(db: entity_spec::Db, sync_takes: Duration) -> (Service, Router) {
    let service = model::service(db, Syncs(sync_takes)).with_auth(AuthConfig::off());
    service.start_workers(&support::quiet_engine()).unwrap();
    let router = service.router();
    (service, router)
}

/// Creates a source and queues its sync; its id.
async fn queue_sync(app: &Router) -> String {
    let name = format!("source {}", uuid::Uuid::new_v4());
    let body = json!({"name": name, "source_type": "webhook", "connection_string": "https://hooks.example/x"});
    let created = send(app, "POST", "/raw-data-sources", Some(body), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let queued = send(app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    id
}

/// Polls the source until its status is `status` (bounded: 20 s).
async fn wait_for_status(app: &Router, id: &str, status: &str) -> Value {
    for _ in 0..400 {
        let source = send(app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body;
        if source["sync_status"] == status {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("source {id} never reached `{status}`");
}

async fn runs(app: &Router, id: &str) -> Vec<Value> {
    let history = send(app, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    history.body["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_the_grace_period_goes_back_to_the_queue_for_another_instance() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let (draining, draining_app) = started(test_db.db.clone(), Duration::from_secs(600));
        let id = queue_sync(&draining_app).await;
        wait_for_status(&draining_app, &id, "syncing").await;

        draining.begin_drain(Duration::from_millis(200));
        let ready = send(&draining_app, "GET", "/readyz", None, &[]).await;
        let problem = ready.problem(StatusCode::SERVICE_UNAVAILABLE);
        assert!(problem["detail"].as_str().unwrap().contains("`draining`"), "{backend:?}: {problem}");
        let report = draining.finish_drain(Duration::from_secs(5)).await;
        assert_eq!((report.handed_back, report.abandoned), (1, 0), "{backend:?}");

        // Back in the queue, unstarted; the item pending, not failed.
        let history = runs(&draining_app, &id).await;
        assert_eq!(history.len(), 1, "{backend:?}: {history:?}");
        assert_eq!(history[0]["status"], "queued", "{backend:?}: {history:?}");
        let source = send(&draining_app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body;
        assert_eq!(source["sync_status"], "pending", "{backend:?}: {source}");

        // Another instance takes it at once (no lease to wait for) and finishes it.
        let (_other, other_app) = started(test_db.reconnect().await, Duration::ZERO);
        let source = wait_for_status(&other_app, &id, "success").await;
        assert_eq!(source["error_message"], Value::Null, "{backend:?}: {source}");
        let history = runs(&other_app, &id).await;
        assert_eq!(history.len(), 1, "{backend:?}: one run, not a failed one and a retry: {history:?}");
        assert_eq!(history[0]["status"], "success", "{backend:?}: {history:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_within_the_grace_period_finishes_and_nothing_new_is_claimed() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let (draining, app) = started(test_db.db.clone(), Duration::from_millis(500));
        let id = queue_sync(&app).await;
        wait_for_status(&app, &id, "syncing").await;

        draining.begin_drain(Duration::from_secs(10));
        let report = draining.finish_drain(Duration::from_secs(5)).await;
        assert_eq!((report.handed_back, report.abandoned), (0, 0), "{backend:?}");
        assert_eq!(wait_for_status(&app, &id, "success").await["sync_status"], "success", "{backend:?}");

        // Queued after draining began: the draining instance leaves it for another.
        let later = queue_sync(&app).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let history = runs(&app, &later).await;
        assert_eq!(history[0]["status"], "queued", "{backend:?}: {history:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_run_is_reclaimed_as_soon_as_a_shorter_lease_expires() {
    let lease = Duration::from_secs(5);
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        // The instance that dies runs its workers on a runtime of its own: dropping that runtime
        // stops them mid-run as a SIGKILL would, with no drain and no hand-back.
        let doomed = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let dying =
            model::service(test_db.reconnect().await, Syncs(Duration::from_secs(600))).with_auth(AuthConfig::off());
        {
            let _inside = doomed.enter();
            dying.start_workers(&EngineConfig { lease, ..support::quiet_engine() }).unwrap();
        }
        let dying_app = dying.router();
        let id = queue_sync(&dying_app).await;
        wait_for_status(&dying_app, &id, "syncing").await;
        doomed.shutdown_background();
        let died = Instant::now();

        // A live instance whose scheduler looks for expired leases every second.
        let config = EngineConfig { lease, schedule_interval: Some(Duration::from_secs(1)), ..support::quiet_engine() };
        let live = model::service(test_db.db.clone(), Syncs(Duration::ZERO)).with_auth(AuthConfig::off());
        live.start_workers(&config).unwrap();
        let app = live.router();
        let failed = loop {
            let history = runs(&app, &id).await;
            if let Some(run) = history.iter().find(|run| run["status"] == "failed") {
                break run.clone();
            }
            assert!(died.elapsed() < Duration::from_secs(20), "{backend:?}: never reclaimed: {history:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let waited = died.elapsed();
        assert!(failed["message"].as_str().unwrap().contains("lease expired"), "{backend:?}: {failed}");
        // The dead worker renewed its lease at most a third of it before it died, and the live
        // scheduler passes every second: the run is free after two thirds of the lease to the
        // lease and a pass, where the default 30 s would have held it for 20 s at least.
        assert!(
            waited >= lease / 2 && waited <= lease + Duration::from_secs(4),
            "{backend:?}: reclaimed after {waited:?}"
        );
    }
}

/// `GET path` on a new loopback connection: the status, or `None` when nothing accepts it.
async fn status_on_new_connection(address: std::net::SocketAddr, path: &str) -> Option<u16> {
    let url = format!("http://{address}{path}");
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        agent.get(&url).call().ok().map(|response| response.status().as_u16())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_signal_readiness_fails_at_once_and_requests_are_served_for_the_shutdown_delay() {
    let delay = Duration::from_millis(1500);
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let (service, app) = started(test_db.db.clone(), Duration::ZERO);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
        let service = std::sync::Arc::new(service);
        let server = tokio::spawn({
            let service = service.clone();
            async move {
                let shutdown = service.stop_when(
                    async {
                        let _ = signalled.await;
                    },
                    delay,
                    Duration::from_secs(5),
                );
                serve_with(listener, app, ServerLimits::default(), shutdown).await.unwrap();
            }
        });
        assert_eq!(status_on_new_connection(address, "/readyz").await, Some(200), "{backend:?}");

        signal.send(()).unwrap();
        let signalled_at = Instant::now();
        // Not ready at once, yet new connections are accepted and answered, API requests too.
        assert_eq!(status_on_new_connection(address, "/readyz").await, Some(503), "{backend:?}");
        assert_eq!(status_on_new_connection(address, "/healthz").await, Some(200), "{backend:?}");
        assert_eq!(status_on_new_connection(address, "/raw-data-sources").await, Some(200), "{backend:?}");
        tokio::time::sleep(delay / 2).await;
        assert_eq!(status_on_new_connection(address, "/raw-data-sources").await, Some(200), "{backend:?}");
        assert!(signalled_at.elapsed() < delay, "{backend:?}: the checks above took the whole delay");

        // Then the drain: the server stops accepting and ends, no sooner than the delay.
        tokio::time::timeout(delay + Duration::from_secs(10), server).await.expect("the server stops").unwrap();
        assert!(signalled_at.elapsed() >= delay, "{backend:?}: stopped after {:?}", signalled_at.elapsed());
        assert_eq!(status_on_new_connection(address, "/healthz").await, None, "{backend:?}");
        let ready = send(&service.router(), "GET", "/readyz", None, &[]).await;
        assert!(ready.problem(StatusCode::SERVICE_UNAVAILABLE)["detail"].as_str().unwrap().contains("`draining`"));
    }
}
