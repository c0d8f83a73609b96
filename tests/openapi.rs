//! The OpenAPI document: generated from the spec, served unchanged, valid OpenAPI 3.1, complete
//! for every constraint, and browsable offline. The HTTP suites check every response against
//! it (see `support::conformance`); the checker's own test is here.

mod support;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use entity_spec::{Backend, MigrateOptions};
use serde_json::{Value, json};
use support::{TestDb, conformance, send, served_openapi};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

support::raw_data_source_test_actions!(model);
support::order_test_actions!(catalog);

async fn app(router: impl FnOnce(entity_spec::Db) -> axum::Router) -> (TestDb, axum::Router) {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let app = router(test_db.db.clone());
    (test_db, app)
}

fn raw_router(db: entity_spec::Db) -> axum::Router {
    support::started(model::service(db, TestActions), support::quiet_engine())
}

fn catalog_router(db: entity_spec::Db) -> axum::Router {
    support::started(catalog::service(db, OrderTestActions), support::quiet_engine())
}

fn generated(spec: &str) -> Value {
    let source = std::fs::read_to_string(spec).unwrap();
    serde_json::from_str(&entity_spec_codegen::openapi_document(&source).unwrap()).unwrap()
}

#[tokio::test]
async fn the_served_document_is_the_one_codegen_generates_from_the_spec() {
    let (_db, raw) = app(raw_router).await;
    let served: Value = serde_json::from_str(&served_openapi(&raw).await).unwrap();
    assert_eq!(served, generated("specs/entities.json"));
    let (_db, catalog) = app(catalog_router).await;
    let served: Value = serde_json::from_str(&served_openapi(&catalog).await).unwrap();
    assert_eq!(served, generated("tests/specs/catalog.json"));
}

/// Validates with `openapi-spec-validator` (PyPI), the reference validator of the OpenAPI
/// community; `.ci/run` installs it. Without it this test fails rather than skips.
#[test]
fn the_documents_are_valid_openapi_3_1() {
    for (spec, name) in [("specs/entities.json", "entities"), ("tests/specs/catalog.json", "catalog")] {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.openapi.json"));
        std::fs::write(&path, generated(spec).to_string()).unwrap();
        let output = std::process::Command::new("python3")
            .args(["-m", "openapi_spec_validator"])
            .arg(&path)
            .output()
            .expect("python3 runs (install openapi-spec-validator: `pip install openapi-spec-validator`)");
        assert!(
            output.status.success(),
            "{spec}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn every_spec_constraint_is_in_the_schemas() {
    let document = generated("specs/entities.json");
    let schemas = &document["components"]["schemas"];
    let entity = &schemas["RawDataSource"]["properties"];
    let create = &schemas["RawDataSourceCreate"];
    assert_eq!(create["properties"]["name"]["maxLength"], 100);
    assert_eq!(create["properties"]["refresh_interval"]["minimum"], 60);
    assert_eq!(create["properties"]["refresh_interval"]["default"], 3600);
    // Tracked-run fields are server-managed: read-only in responses, absent from inputs.
    assert!(create["properties"].get("sync_status").is_none());
    assert_eq!(entity["sync_status"]["readOnly"], true);
    assert_eq!(entity["last_sync_at"]["readOnly"], true);
    assert_eq!(create["properties"]["connection_string"]["writeOnly"], true);
    assert_eq!(create["required"], json!(["name", "connection_string"]));
    assert_eq!(create["additionalProperties"], false);
    assert!(entity.get("connection_string").is_none(), "sensitive fields are never in responses");
    for server_set in ["id", "created_at", "updated_at"] {
        assert_eq!(entity[server_set]["readOnly"], true, "{server_set}");
    }
    assert_eq!(entity["id"]["format"], "uuid");
    assert_eq!(entity["last_sync_at"], json!({"type": ["string", "null"], "format": "date-time", "readOnly": true}));
    assert_eq!(entity["source_type"]["anyOf"][0]["enum"], json!(["database", "api", "file", "stream", "webhook"]));
    assert_eq!(entity["source_type"]["anyOf"][1], json!({"type": "null"}));
    assert_eq!(entity["tags"]["description"], "Array of tags for categorization");
    assert!(schemas["RawDataSourcePatch"].get("required").is_none(), "a merge patch requires nothing");

    let list = &document["paths"]["/raw-data-sources"]["get"];
    let parameters: Vec<&str> =
        list["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in [
        "limit",
        "offset",
        "cursor",
        "sort",
        "source_type",
        "is_active",
        "sync_status",
        "created_at__gte",
        "error_message__isnull",
    ] {
        assert!(parameters.contains(&expected), "{expected} in {parameters:?}");
    }
    assert!(!parameters.iter().any(|p| p.starts_with("connection_string")), "sensitive fields are not filterable");
    let catalog = generated("tests/specs/catalog.json");
    let product = &catalog["components"]["schemas"]["ProductCreate"]["properties"];
    assert_eq!(product["sku"]["pattern"], "^[A-Z]{3}-[0-9]{4}$");
    assert_eq!(product["price"], json!({"type": "number", "format": "double", "minimum": 0, "maximum": 1000000}));
    assert_eq!(product["storage_temp_c"]["default"], -18);
    assert_eq!(product["attributes"]["default"]["weight"]["grams"], 12.5);
    assert_eq!(product["launched_on"]["format"], "date");
    assert_eq!(catalog["components"]["schemas"]["Product"]["properties"]["internal_code"]["readOnly"], true);
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_binary() {
    let (_db, raw) = app(raw_router).await;
    let page = send(&raw, "GET", "/docs/", None, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(!page.text.contains("cdn") && !page.text.contains("https://"), "no CDN: {}", page.text);
    let bundle = send(&raw, "GET", "/docs/swagger-ui-bundle.js", None, &[]).await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert!(bundle.text.len() > 100_000, "the Swagger UI bundle is compiled in");
    let initializer = send(&raw, "GET", "/docs/swagger-initializer.js", None, &[]).await;
    assert!(initializer.text.contains("\"url\": \"/openapi.json\""), "{}", initializer.text);
}

#[tokio::test]
async fn the_conformance_checker_rejects_what_the_document_does_not_declare() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let raw = raw_router(test_db.db.clone());
    let checker = conformance::for_document(&served_openapi(&raw).await);
    let created =
        send(&raw, "POST", "/raw-data-sources", Some(json!({"name": "a", "connection_string": "x"})), &[]).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/raw-data-sources/{id}");
    let mut json_headers = HeaderMap::new();
    json_headers.insert("content-type", HeaderValue::from_static("application/json"));
    json_headers.insert("etag", HeaderValue::from_static("\"1\""));

    // The real response passes.
    checker.check("GET", &path, 200, &json_headers, created.text.as_bytes());
    let fails = |status: u16, headers: &HeaderMap, body: &str| {
        let headers = headers.clone();
        let body = body.to_owned();
        let path = path.clone();
        let checker = checker.clone();
        std::panic::catch_unwind(move || checker.check("GET", &path, status, &headers, body.as_bytes())).is_err()
    };
    let mut leaked = created.body.clone();
    leaked["connection_string"] = json!("x");
    assert!(fails(200, &json_headers, &leaked.to_string()), "an undeclared property");
    let mut wrong_type = created.body.clone();
    wrong_type["refresh_interval"] = json!("3600");
    assert!(fails(200, &json_headers, &wrong_type.to_string()), "a wrong type");
    assert!(fails(409, &json_headers, &created.text), "an undeclared status");
    assert!(fails(200, &HeaderMap::new(), &created.text), "a missing ETag and media type");
}
