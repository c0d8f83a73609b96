mod support;

use axum::http::StatusCode;
use entity_spec::MigrateOptions;
use serde_json::json;
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[tokio::test]
async fn create_then_read_on_both_backends() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let app = model::router(test_db.db.clone());
        let created =
            send(&app, "POST", "/raw-data-sources", Some(json!({"name": "a", "connection_string": "x"})), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        let location = created.header("location").to_owned();
        let read = send(&app, "GET", &location, None, &[]).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}: {}", read.text);
        assert_eq!(read.body, created.body, "{backend:?}");
    }
}
