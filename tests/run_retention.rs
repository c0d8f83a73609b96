//! The run history is pruned as the retention says, on both databases: finished runs past the
//! age limit, then each item's finished runs beyond the newest N; queued and running runs are
//! never touched, and other entities' runs neither.

mod support;

use std::sync::Arc;

use entity_spec::__private::runtime::runs::queue::{self, Outcome, RunEnd};
use entity_spec::__private::runtime::runs::{Engine, RunTrigger};
use entity_spec::{Entity, MigrateOptions, Retention};
use serde_json::json;
use support::{BACKENDS, TestDb, send};
use uuid::Uuid;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

type Def = model::RawDataSource;

/// Queues and finishes `count` runs of `item`, oldest first.
async fn finished_runs(db: &entity_spec::Db, item: Uuid, count: usize) {
    for _ in 0..count {
        queue::enqueue(db, Def::DEF, item, "sync", RunTrigger::Manual).await.unwrap();
        let run = queue::claim(db, Def::DEF, "test", std::time::Duration::from_secs(30)).await.unwrap().unwrap();
        let end = RunEnd {
            outcome: Outcome::Success,
            message: "ok".into(),
            duration_ms: 1,
            changes: Vec::new(),
            retry_in: None,
        };
        queue::finish(db, Def::DEF, &run, end).await.unwrap();
    }
}

async fn count_runs(app: &axum::Router, item: Uuid) -> Vec<String> {
    let history = send(app, "GET", &format!("/raw-data-sources/{item}/syncs?limit=500"), None, &[]).await;
    history.body["items"].as_array().unwrap().iter().map(|run| run["status"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn old_and_surplus_finished_runs_are_pruned_and_active_ones_kept() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let app = support::open(model::service(test_db.db.clone(), TestActions));
        let mut items = Vec::new();
        for name in ["busy", "quiet"] {
            let body = json!({"name": name, "source_type": "webhook", "connection_string": "x"});
            let created = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
            items.push(Uuid::parse_str(created.body["id"].as_str().unwrap()).unwrap());
        }
        let (busy, quiet) = (items[0], items[1]);
        finished_runs(&test_db.db, busy, 7).await;
        finished_runs(&test_db.db, quiet, 2).await;
        // One of `quiet`'s runs is ancient; `busy` has one queued run waiting.
        let mut age = entity_spec::__private::runtime::db::Sql::new(test_db.db.backend());
        age.push("UPDATE \"_entity_spec_runs\" SET \"finished_at\" = ")
            .push_bind(entity_spec::__private::runtime::value::SqlValue::DateTime(
                chrono::Utc::now() - chrono::Duration::days(400),
            ))
            .push(" WHERE \"id\" = (SELECT \"id\" FROM \"_entity_spec_runs\" WHERE \"item_id\" = ")
            .push_bind(entity_spec::__private::runtime::value::SqlValue::Uuid(quiet))
            .push(" ORDER BY \"queued_at\" LIMIT 1)");
        test_db.db.execute(age).await.unwrap();
        queue::enqueue(&test_db.db, Def::DEF, busy, "sync", RunTrigger::Manual).await.unwrap();

        let engine = Engine::<Def>::new(
            test_db.db.clone(),
            Arc::new(model::RawDataSourceRunHandler(Arc::new(TestActions))),
            Arc::default(),
            Default::default(),
        );
        let config = entity_spec::EngineConfig {
            workers: 0,
            schedule_interval: None,
            retention: Retention { max_age: Some(std::time::Duration::from_secs(90 * 86_400)), per_item: Some(3) },
            ..entity_spec::EngineConfig::from_env()
        };
        engine.try_start(config).unwrap();
        let pruned = engine.prune().await.unwrap();
        assert_eq!(pruned, 1 + 4, "{backend:?}: the ancient run, and busy's 4 oldest finished ones");
        assert_eq!(count_runs(&app, busy).await, ["queued", "success", "success", "success"], "{backend:?}");
        assert_eq!(count_runs(&app, quiet).await, ["success"], "{backend:?}");
        assert_eq!(engine.prune().await.unwrap(), 0, "{backend:?}: nothing more to prune");

        let keep_all = Engine::<Def>::new(
            test_db.db.clone(),
            Arc::new(model::RawDataSourceRunHandler(Arc::new(TestActions))),
            Arc::default(),
            Default::default(),
        );
        keep_all
            .try_start(entity_spec::EngineConfig {
                workers: 0,
                schedule_interval: None,
                retention: Retention::KEEP_ALL,
                ..entity_spec::EngineConfig::from_env()
            })
            .unwrap();
        assert_eq!(keep_all.prune().await.unwrap(), 0, "{backend:?}");
    }
}
