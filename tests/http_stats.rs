//! `GET {path}/stats`, the aggregate endpoint behind the workbench's overview, on SQLite and
//! PostgreSQL: counts per enum and boolean value (zeros and `null` included, so the shape is
//! stable), the list's filters, refusals of paging and unknown parameters, and the run
//! activity of a tracked entity (queued, running, newest failures).

mod support;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::MigrateOptions;
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::order_test_actions!(catalog);

/// Syncs fail for sources whose name starts with `bad`, and succeed otherwise.
struct Picky;

impl model::RawDataSourceActions for Picky {
    async fn sync(&self, source: &mut model::RawDataSource) -> Result<String, String> {
        if source.name.starts_with("bad") { Err("connection refused".to_owned()) } else { Ok("synced".to_owned()) }
    }

    async fn test_connection(
        &self,
        _source: model::RawDataSource,
    ) -> Result<model::RawDataSourceTestConnectionResponse, entity_spec::ApiError> {
        Ok(model::RawDataSourceTestConnectionResponse { ok: true, latency_ms: 0, message: "reachable".to_owned() })
    }
}

async fn stats(app: &Router, uri: &str) -> Value {
    let response = send(app, "GET", uri, None, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text);
    response.body
}

#[tokio::test]
async fn counts_split_by_every_enum_and_boolean_value_and_follow_the_filters() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        catalog::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrates");
        let app = support::started(catalog::service(test_db.db.clone(), OrderTestActions), support::quiet_engine());

        // An empty collection already has every key, at zero.
        let empty = stats(&app, "/products/stats").await;
        assert_eq!(
            empty,
            json!({"total": 0, "counts": {
                "is_published": {"true": 0, "false": 0},
                "status": {"draft": 0, "in_review": 0, "active": 0, "archived": 0},
            }}),
            "{backend:?}"
        );

        let products = [
            ("AAA-0001", 5.0, "active", true),
            ("AAA-0002", 15.0, "active", true),
            ("AAA-0003", 25.0, "draft", false),
            ("AAA-0004", 35.0, "archived", false),
            ("AAA-0005", 45.0, "active", false),
        ];
        for (sku, price, status, published) in products {
            let body = json!({"sku": sku, "title": sku, "price": price, "status": status, "is_published": published});
            let created = send(&app, "POST", "/products", Some(body), &[]).await;
            assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        }
        let all = stats(&app, "/products/stats").await;
        assert_eq!(all["total"], 5, "{backend:?}");
        assert_eq!(all["counts"]["status"], json!({"draft": 1, "in_review": 0, "active": 3, "archived": 1}));
        assert_eq!(all["counts"]["is_published"], json!({"true": 2, "false": 3}));

        let cheap_or_active = stats(&app, "/products/stats?price__lt=30&status=active,draft").await;
        assert_eq!(cheap_or_active["total"], 3, "{backend:?}");
        assert_eq!(
            cheap_or_active["counts"]["status"],
            json!({"draft": 1, "in_review": 0, "active": 2, "archived": 0})
        );
        let unpublished = stats(&app, "/products/stats?is_published=false").await;
        assert_eq!(unpublished["counts"]["is_published"], json!({"true": 0, "false": 3}), "{backend:?}");

        // An optional field counts its missing values under `null`.
        let customer = json!({"email": "ada@example.com", "display_name": "Ada"});
        let customer_id = send(&app, "POST", "/customers", Some(customer), &[]).await.body["id"].clone();
        for gift in [json!(true), Value::Null, Value::Null] {
            let mut order = json!({"customer_id": customer_id, "total": 10.0, "placed_at": "2026-01-02T03:04:05Z",
                                   "shipping_address": {"city": "Oslo"}});
            if !gift.is_null() {
                order["gift"] = gift;
            }
            let created = send(&app, "POST", "/orders", Some(order), &[]).await;
            assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        }
        let orders = stats(&app, "/orders/stats").await;
        assert_eq!(orders["counts"]["gift"], json!({"true": 1, "false": 0, "null": 2}), "{backend:?}");
        assert_eq!(orders["total"], 3);
        assert!(orders.get("runs").is_none(), "only tracked entities report runs");
    }
}

#[tokio::test]
async fn paging_sorting_and_unknown_parameters_are_refused_by_name() {
    let test_db = TestDb::new(entity_spec::Backend::Sqlite).await;
    catalog::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrates");
    let app = support::started(catalog::service(test_db.db.clone(), OrderTestActions), support::quiet_engine());
    for parameter in ["limit=5", "offset=0", "cursor=abc", "sort=price"] {
        let response = send(&app, "GET", &format!("/products/stats?{parameter}"), None, &[]).await;
        let problem = response.problem(StatusCode::BAD_REQUEST);
        let name = parameter.split('=').next().unwrap_or_default();
        assert_eq!(response.error_fields(), [name], "{}", response.text);
        assert!(problem["detail"].as_str().unwrap_or("").contains("statistics count every matching item"));
    }
    let response = send(&app, "GET", "/products/stats?stauts=active", None, &[]).await;
    let detail = response.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap_or("").to_owned();
    assert!(detail.contains("Did you mean `status`?"), "{detail}");
    assert!(!detail.contains("limit"), "stats take no paging parameters: {detail}");
    let response = send(&app, "GET", "/products/stats?status=sold", None, &[]).await;
    let detail = response.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap_or("").to_owned();
    assert!(detail.contains("draft, in_review, active, archived"), "{detail}");
    let response = send(&app, "GET", "/products/stats?status=draft&status=active", None, &[]).await;
    assert_eq!(response.error_codes(), [("status".to_owned(), "repeated".to_owned())]);
}

#[tokio::test]
async fn a_tracked_entity_reports_its_runs_and_newest_failures() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrates");
        let app = support::started(model::service(test_db.db.clone(), Picky), support::quiet_engine());
        let mut ids = Vec::new();
        for name in ["good-one", "bad-one", "idle"] {
            let body = json!({"name": name, "source_type": "api", "connection_string": "http://127.0.0.1:9/"});
            ids.push(
                send(&app, "POST", "/raw-data-sources", Some(body), &[]).await.body["id"].as_str().unwrap().to_owned(),
            );
        }
        let before = stats(&app, "/raw-data-sources/stats").await;
        assert_eq!(before["runs"], json!({"queued": 0, "running": 0, "recent_failures": []}), "{backend:?}");
        assert_eq!(before["counts"]["sync_status"]["pending"], 3);

        for id in &ids[..2] {
            let queued = send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
            assert_eq!(queued.status, StatusCode::ACCEPTED, "{backend:?}: {}", queued.text);
        }
        let mut after = Value::Null;
        for _ in 0..200 {
            after = stats(&app, "/raw-data-sources/stats").await;
            let statuses = &after["counts"]["sync_status"];
            if statuses["success"] == 1 && statuses["failed"] == 1 && after["runs"]["running"] == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(after["counts"]["sync_status"], json!({"pending": 1, "syncing": 0, "success": 1, "failed": 1}));
        assert_eq!(after["runs"]["queued"], 0, "{backend:?}");
        let failures = after["runs"]["recent_failures"].as_array().expect("failures");
        assert_eq!(failures.len(), 1, "{backend:?}: {after}");
        assert_eq!(failures[0]["item_id"], ids[1]);
        assert_eq!(failures[0]["status"], "failed");
        assert_eq!(failures[0]["message"], "connection refused");

        // The run counts are the entity's, not narrowed by the filters; the item counts are.
        let filtered = stats(&app, "/raw-data-sources/stats?name=idle").await;
        assert_eq!(filtered["total"], 1);
        assert_eq!(filtered["runs"]["recent_failures"].as_array().map(Vec::len), Some(1));
    }
}
