//! One route table (`entity_spec_contract::routes`) feeds the router, the OpenAPI document and
//! the CLI: the served router answers exactly the table's routes, no others on those paths,
//! and the served document lists exactly them. A route added to the table without a handler,
//! or documented without being served, fails here.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use entity_spec::__private::runtime::contract::paths::{
    AUDIT_PATH, AUTH_ME_PATH, HEALTHZ_PATH, METRICS_PATH, READYZ_PATH,
};
use entity_spec::__private::runtime::contract::routes::{Method, routes};
use entity_spec::__private::runtime::def::EntityDef;
use entity_spec::{Backend, MigrateOptions};
use serde_json::Value;
use support::{TestDb, send, served_openapi};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

support::raw_data_source_test_actions!(model);
support::order_test_actions!(catalog);
support::library_test_actions!(library);

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

/// Every (method, path template) of the table for these entities, and the service's own
/// documented routes (the caller's identity, the audit trail, health).
fn table(entities: &[&EntityDef]) -> BTreeSet<(String, String)> {
    entities
        .iter()
        .flat_map(|def| routes(def.collection_path, def.actions, def.nested))
        .map(|route| (route.method.as_str().to_owned(), route.path))
        .chain(
            [AUTH_ME_PATH, AUDIT_PATH, HEALTHZ_PATH, READYZ_PATH, METRICS_PATH]
                .map(|path| ("GET".to_owned(), path.to_owned())),
        )
        .collect()
}

/// A concrete URL for a path template: fresh UUIDs for `{id}` and `{run_id}`.
fn concrete(template: &str) -> String {
    template.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace("{run_id}", &uuid::Uuid::new_v4().to_string())
}

async fn check_router(app: &axum::Router, entities: &[&EntityDef]) {
    let table = table(entities);
    assert!(!table.is_empty());
    let mut methods_by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (method, path) in &table {
        methods_by_path.entry(path).or_default().insert(method);
    }
    for (path, methods) in &methods_by_path {
        for method in Method::ALL.map(Method::as_str) {
            let url = concrete(path);
            let response = send(app, method, &url, None, &[]).await;
            let detail = response.body["detail"].as_str().unwrap_or_default().to_owned();
            if methods.contains(method) {
                // Answered by the route's handler: whatever it says, not the router's fallbacks.
                assert_ne!(response.status, 405, "{method} {path} is in the table but not served: {}", response.text);
                assert!(
                    !detail.starts_with("no route for"),
                    "{method} {path} is in the table but not served: {detail}"
                );
            } else {
                assert_eq!(response.status, 405, "{method} {path} is not in the table but answered: {}", response.text);
            }
        }
    }
}

fn documented(document: &str) -> BTreeSet<(String, String)> {
    let document: Value = serde_json::from_str(document).unwrap();
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys().filter(|k| *k != "parameters") {
            found.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    found
}

#[tokio::test]
async fn the_raw_data_source_service_answers_and_documents_exactly_its_route_table() {
    for backend in support::BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let app = support::open(model::service(test_db.db.clone(), TestActions));
        check_router(&app, model::SPEC_ENTITIES).await;
        assert_eq!(documented(&served_openapi(&app).await), table(model::SPEC_ENTITIES), "{backend:?}");
    }
}

#[tokio::test]
async fn the_catalog_service_answers_and_documents_exactly_its_route_table() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    catalog::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let app = support::open(catalog::service(test_db.db.clone(), OrderTestActions));
    check_router(&app, catalog::SPEC_ENTITIES).await;
    assert_eq!(documented(&served_openapi(&app).await), table(catalog::SPEC_ENTITIES));
    // Both of the catalog's actions are in it, the GET collection action included.
    let table = table(catalog::SPEC_ENTITIES);
    assert!(table.contains(&("GET".to_owned(), "/orders/export".to_owned())), "{table:?}");
    assert!(table.contains(&("POST".to_owned(), "/orders/{id}/cancel".to_owned())), "{table:?}");
}

#[tokio::test]
async fn the_library_service_answers_and_documents_its_nested_lists() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    library::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let app = support::open(library::service(test_db.db.clone(), Renewals));
    check_router(&app, library::SPEC_ENTITIES).await;
    assert_eq!(documented(&served_openapi(&app).await), table(library::SPEC_ENTITIES));
    // One list per reference under the item it points at; two references to one entity get
    // one list each, a self-reference lists the children.
    let table = table(library::SPEC_ENTITIES);
    for path in [
        "/library/books/{id}/loans",
        "/members/{id}/loans-as-member",
        "/members/{id}/loans-as-guarantor",
        "/library/books/{id}/holds",
        "/members/{id}/holds",
        "/library/shelves/{id}/books",
        "/library/shelves/{id}/shelves",
    ] {
        assert!(table.contains(&("GET".to_owned(), path.to_owned())), "{path}: {table:?}");
    }
}
