//! `/metrics` as a Prometheus server and an operator see it, on both databases: behind the
//! `metrics` scope (a scraper's key reads no row), requests counted by route template and never
//! by raw path, runs counted by outcome and by how late they were claimed, the pool and the queue
//! read at scrape time.

mod support;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::api_keys::{self, NewKey};
use entity_spec::{AuthConfig, MigrateOptions};
use serde_json::json;
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

const PATH: &str = "/raw-data-sources";

async fn key(test_db: &TestDb, name: &str, scope: &str) -> String {
    let new = NewKey { name: name.into(), scopes: vec![scope.into()], expires_at: None };
    let (key, _) = api_keys::create(&test_db.db, new).await.unwrap();
    format!("Bearer {}", key.expose())
}

/// The value of the sample whose name and labels are exactly `series`, if present.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_runs_by_outcome_for_the_metrics_scope_only() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        // Workers start once a run is queued, so that the queue gauge can be seen holding it.
        let service = model::service(test_db.db.clone(), TestActions).with_auth(AuthConfig::api_keys());
        let app: Router = service.router();
        let admin = key(&test_db, "admin", "admin").await;
        let scraper = key(&test_db, "prometheus", "metrics").await;
        let reader = key(&test_db, "reader", "raw_data_sources:read").await;

        let created = send(
            &app,
            "POST",
            PATH,
            Some(json!({"name": "warehouse", "connection_string": "postgres://etl:s3cret@db/warehouse"})),
            &[("authorization", &admin)],
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        let id = created.body["id"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            let got = send(&app, "GET", &format!("{PATH}/{id}"), None, &[("authorization", &admin)]).await;
            assert_eq!(got.status, StatusCode::OK, "{backend:?}");
        }
        let missing = send(&app, "GET", "/no-such-thing/12345", None, &[("authorization", &admin)]).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{backend:?}");
        let queued = send(&app, "POST", &format!("{PATH}/{id}/sync"), None, &[("authorization", &admin)]).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
        let waiting = send(&app, "GET", "/metrics", None, &[("authorization", &admin)]).await;
        let gauge = |state: &str| format!("entity_spec_runs{{entity=\"RawDataSource\",state=\"{state}\"}}");
        assert_eq!(sample(&waiting.text, &gauge("queued")), Some(1.0), "{backend:?}: {}", waiting.text);
        assert_eq!(sample(&waiting.text, &gauge("running")), Some(0.0), "{backend:?}: {}", waiting.text);
        // No worker runs yet: the run waits at least this long after it was due.
        let waited = Duration::from_millis(300);
        tokio::time::sleep(waited).await;
        service.start_workers(&support::quiet_engine()).unwrap();
        let mut finished = false;
        for _ in 0..300 {
            let runs = send(&app, "GET", &format!("{PATH}/{id}/syncs"), None, &[("authorization", &admin)]).await;
            if runs.body["items"][0]["finished_at"].is_string() {
                finished = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(finished, "{backend:?}: the sync did not finish");

        // Who may read them: a scraper's key or an admin, not a key for the rows, not anonymous.
        let anonymous = send(&app, "GET", "/metrics", None, &[]).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{backend:?}");
        let refused = send(&app, "GET", "/metrics", None, &[("authorization", &reader)]).await;
        assert_eq!(refused.problem(StatusCode::FORBIDDEN)["type"], "urn:entity-spec:problem:forbidden", "{backend:?}");
        // ... and the scraper's key reads no row.
        let rows = send(&app, "GET", PATH, None, &[("authorization", &scraper)]).await;
        assert_eq!(rows.status, StatusCode::FORBIDDEN, "{backend:?}");

        let scraped = send(&app, "GET", "/metrics", None, &[("authorization", &scraper)]).await;
        assert_eq!(scraped.status, StatusCode::OK, "{backend:?}: {}", scraped.text);
        assert!(scraped.header("content-type").starts_with("application/openmetrics-text"), "{backend:?}");
        let text = &scraped.text;
        assert!(text.ends_with("# EOF\n"), "{backend:?}: {text}");
        let item_route = "{method=\"GET\",route=\"/raw-data-sources/{id}\",status=\"200\"}";
        assert_eq!(
            sample(text, &format!("entity_spec_http_requests_total{item_route}")),
            Some(3.0),
            "{backend:?}: {text}"
        );
        let created_series =
            "entity_spec_http_requests_total{method=\"POST\",route=\"/raw-data-sources\",status=\"201\"}";
        assert_eq!(sample(text, created_series), Some(1.0), "{backend:?}: {text}");
        let unmatched = "entity_spec_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";
        assert_eq!(sample(text, unmatched), Some(1.0), "{backend:?}: {text}");
        // The refused scrapes are counted too, under the route's template.
        let refused_series = "entity_spec_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"403\"}";
        assert_eq!(sample(text, refused_series), Some(1.0), "{backend:?}: {text}");
        // Bounded labels: no id, no unknown path, no secret ever becomes part of a series.
        for leak in [id.as_str(), "no-such-thing", "s3cret"] {
            assert!(!text.contains(leak), "{backend:?}: {leak} in\n{text}");
        }
        let latency =
            "entity_spec_http_request_duration_seconds_count{method=\"GET\",route=\"/raw-data-sources/{id}\"}";
        assert_eq!(sample(text, latency), Some(3.0), "{backend:?}: {text}");

        let run = "{entity=\"RawDataSource\",action=\"sync\",outcome=\"success\"}";
        assert_eq!(sample(text, &format!("entity_spec_runs_finished_total{run}")), Some(1.0), "{backend:?}: {text}");
        let duration = "entity_spec_run_duration_seconds_count{entity=\"RawDataSource\",action=\"sync\"}";
        assert_eq!(sample(text, duration), Some(1.0), "{backend:?}: {text}");
        // How late the run was claimed: the wait above, plus the moment the workers took to start.
        let lag = "{entity=\"RawDataSource\",action=\"sync\"}";
        assert_eq!(sample(text, &format!("entity_spec_run_lag_seconds_count{lag}")), Some(1.0), "{backend:?}: {text}");
        let lag = sample(text, &format!("entity_spec_run_lag_seconds_sum{lag}")).unwrap_or_default();
        assert!(lag >= waited.as_secs_f64() && lag < 10.0, "{backend:?}: lag {lag} s");
        for state in ["queued", "running"] {
            assert_eq!(sample(text, &gauge(state)), Some(0.0), "{backend:?}: {text}");
        }
        let max = sample(text, "entity_spec_db_pool_max_connections").unwrap_or_default();
        let open = ["idle", "in_use"]
            .map(|state| sample(text, &format!("entity_spec_db_pool_connections{{state=\"{state}\"}}")).unwrap())
            .iter()
            .sum::<f64>();
        assert!(max >= 1.0 && open >= 1.0 && open <= max, "{backend:?}: {text}");
        let version = format!("entity_spec_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"));
        assert_eq!(sample(text, &version), Some(1.0), "{backend:?}: {text}");

        // ENTITY_SPEC_METRICS=off: requests are not counted; runs, queue and pool still are.
        let uncounted = model::service(test_db.db.clone(), TestActions)
            .with_auth(AuthConfig::api_keys())
            .with_request_metrics(false)
            .router();
        let got = send(&uncounted, "GET", &format!("{PATH}/{id}"), None, &[("authorization", &admin)]).await;
        assert_eq!(got.status, StatusCode::OK, "{backend:?}");
        let scraped = send(&uncounted, "GET", "/metrics", None, &[("authorization", &scraper)]).await;
        assert!(!scraped.text.contains("entity_spec_http_requests_total{"), "{backend:?}: {}", scraped.text);
        assert_eq!(sample(&scraped.text, &gauge("queued")), Some(0.0), "{backend:?}: {}", scraped.text);
    }
}
