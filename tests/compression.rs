//! Response compression on both databases, in process: JSON lists, items, the OpenAPI
//! document and the workbench's files come gzip- or br-encoded when the client asks, and decode
//! to exactly the bytes an identity response carries; a client that does not ask gets identity;
//! small answers and media that are not text stay as they are; ETags and `If-Match` work the
//! same whatever the encoding; `with_compression(false)` (`ENTITY_SPEC_COMPRESSION=off`) turns
//! it off.

mod support;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::MigrateOptions;
use serde_json::json;
use support::{BACKENDS, TestDb, TestResponse, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

const PATH: &str = "/raw-data-sources";

/// A migrated database with `rows` sources, each with a kilobyte or two of metadata (so that
/// one item is worth compressing), and its service with compression `on` or off.
async fn service(test_db: &TestDb, rows: usize, on: bool) -> (Router, Vec<String>) {
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let app = support::open(model::service(test_db.db.clone(), TestActions).with_compression(on));
    let mut ids = Vec::new();
    for i in 0..rows {
        let notes: Vec<String> = (0..40).map(|n| format!("column {n} of source {i} holds customer data")).collect();
        let body = json!({"name": format!("source-{i}"), "connection_string": "x", "metadata": {"notes": notes}});
        let created = send(&app, "POST", PATH, Some(body), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    (app, ids)
}

async fn get(app: &Router, uri: &str, encoding: Option<&str>) -> TestResponse {
    let headers: Vec<(&str, &str)> = encoding.map(|e| ("accept-encoding", e)).into_iter().collect();
    send(app, "GET", uri, None, &headers).await
}

/// Asserts `response` came encoded as `coding`, said so to caches, and is smaller on the wire
/// than `plain` and the same once decoded.
fn assert_encoded(response: &TestResponse, coding: &str, plain: &TestResponse, what: &str) {
    assert_eq!(response.status, plain.status, "{what}");
    assert_eq!(response.header("content-encoding"), coding, "{what}");
    assert!(response.header("vary").to_ascii_lowercase().contains("accept-encoding"), "{what}: {:?}", response.headers);
    assert_eq!(response.header("content-type"), plain.header("content-type"), "{what}");
    assert_eq!(response.text, plain.text, "{what}: decodes to the identity body");
    assert!(response.wire_len < plain.wire_len / 2, "{what}: {} bytes of {}", response.wire_len, plain.wire_len);
}

#[tokio::test]
async fn json_comes_compressed_as_the_client_asks_and_decodes_to_the_same_bytes() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let (app, ids) = service(&test_db, 30, true).await;
        for uri in [format!("{PATH}?limit=50"), format!("{PATH}/{}", ids[0])] {
            let plain = get(&app, &uri, None).await;
            assert_eq!(plain.status, StatusCode::OK, "{backend:?} {uri}: {}", plain.text);
            assert_eq!(plain.header("content-encoding"), "", "{backend:?} {uri}: no Accept-Encoding, no encoding");
            assert!(plain.wire_len >= 1024, "{backend:?} {uri}: {} bytes is too small to test", plain.wire_len);
            for (accept, coding) in
                [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br, zstd", "br"), ("br;q=0, gzip", "gzip")]
            {
                let encoded = get(&app, &uri, Some(accept)).await;
                assert_encoded(&encoded, coding, &plain, &format!("{backend:?} {uri} Accept-Encoding: {accept}"));
            }
            let refused = get(&app, &uri, Some("identity")).await;
            assert_eq!((refused.header("content-encoding"), &refused.text), ("", &plain.text), "{backend:?} {uri}");
        }
    }
}

#[tokio::test]
async fn etags_and_if_match_do_not_depend_on_the_encoding() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let (app, ids) = service(&test_db, 1, true).await;
        let uri = format!("{PATH}/{}", ids[0]);
        let plain = get(&app, &uri, None).await;
        let gzipped = get(&app, &uri, Some("gzip")).await;
        assert_eq!(gzipped.header("content-encoding"), "gzip", "{backend:?}");
        assert_eq!(gzipped.header("etag"), plain.header("etag"), "{backend:?}: the item's version, not the bytes'");
        let revalidated =
            send(&app, "GET", &uri, None, &[("accept-encoding", "gzip"), ("if-none-match", plain.header("etag"))])
                .await;
        assert_eq!((revalidated.status, revalidated.wire_len), (StatusCode::NOT_MODIFIED, 0), "{backend:?}");
        let patch = json!({"tags": ["compressed"]});
        let patched =
            send(&app, "PATCH", &uri, Some(patch), &[("accept-encoding", "br"), ("if-match", gzipped.header("etag"))])
                .await;
        assert_eq!(patched.status, StatusCode::OK, "{backend:?}: {}", patched.text);
        assert_eq!((patched.header("content-encoding"), &patched.body["tags"]), ("br", &json!(["compressed"])));
    }
}

#[tokio::test]
async fn small_answers_and_other_media_go_out_as_they_are() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let (app, _) = service(&test_db, 0, true).await;
        let empty = get(&app, PATH, Some("gzip")).await;
        assert_eq!(
            (empty.status, empty.header("content-encoding")),
            (StatusCode::OK, ""),
            "{backend:?}: {}",
            empty.text
        );
        assert!(empty.wire_len < 1024, "{backend:?}");
        let missing = get(&app, &format!("{PATH}/{}", uuid::Uuid::nil()), Some("gzip, br")).await;
        missing.problem(StatusCode::NOT_FOUND);
        assert_eq!(missing.header("content-encoding"), "", "{backend:?}: a small problem");
        let page = get(&app, "/ui", Some("gzip")).await;
        assert_eq!(
            (page.status, page.header("content-encoding")),
            (StatusCode::OK, ""),
            "{backend:?}: {}",
            page.wire_len
        );
        let health = get(&app, "/healthz", Some("gzip")).await;
        assert_eq!((health.status, health.header("content-encoding")), (StatusCode::OK, ""), "{backend:?}");
        // The Prometheus exposition is text, but not one of the compressed types.
        let metrics = get(&app, "/metrics", Some("gzip")).await;
        assert_eq!(metrics.status, StatusCode::OK, "{backend:?}");
        assert!(metrics.wire_len >= 1024, "{backend:?}: {} bytes", metrics.wire_len);
        assert_eq!(metrics.header("content-encoding"), "", "{backend:?}");
    }
}

#[tokio::test]
async fn the_openapi_document_and_the_workbench_files_come_compressed() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let (app, _) = service(&test_db, 0, true).await;
        // (The workbench's page itself, under a kilobyte, is one of the small answers.)
        let files =
            ["/ui/workbench.json", "/ui/assets/detail.js", "/ui/assets/workbench.css", "/docs/swagger-ui-bundle.js"];
        for uri in ["/openapi.json"].into_iter().chain(files) {
            let plain = get(&app, uri, None).await;
            assert_eq!(plain.status, StatusCode::OK, "{backend:?} {uri}");
            for coding in ["gzip", "br"] {
                let encoded = get(&app, uri, Some(coding)).await;
                assert_encoded(&encoded, coding, &plain, &format!("{backend:?} {uri} {coding}"));
            }
        }
    }
}

#[tokio::test]
async fn off_answers_every_client_in_identity() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let (app, ids) = service(&test_db, 30, false).await;
        let uris = [format!("{PATH}?limit=50"), format!("{PATH}/{}", ids[0]), "/openapi.json".to_owned()];
        for uri in uris.into_iter().chain(["/ui/assets/detail.js".to_owned()]) {
            let response = get(&app, &uri, Some("gzip, br")).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?} {uri}");
            assert_eq!(response.header("content-encoding"), "", "{backend:?} {uri}");
            assert!(response.wire_len >= 1024, "{backend:?} {uri}");
        }
    }
}
