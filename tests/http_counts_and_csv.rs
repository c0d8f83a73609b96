//! What a list counts (`count=exact|estimated|none`) and its CSV export (`Accept: text/csv`,
//! `format=csv`), on SQLite and on PostgreSQL, with the library spec (`tests/specs/library.json`:
//! `Book` has a sensitive `publisher_token` and a field named `format`, so its export is asked
//! for with `Accept` only; `Shelf` is small enough to fill past an export page).

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use entity_spec::Backend;
use serde_json::{Value, json};
use support::{BACKENDS, TestResponse, percent_encode, send};

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

support::library_test_actions!(library);
support::library_setup!(library);

const BOOKS: &str = "/library/books";
const SHELVES: &str = "/library/shelves";
const CSV: &[(&str, &str)] = &[("accept", "text/csv")];

async fn create(app: &Router, backend: Backend, path: &str, body: Value) -> Value {
    let response = send(app, "POST", path, Some(body.clone()), &[]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{backend:?}: POST {path} {body}: {}", response.text);
    response.body
}

/// Creates shelves without checking each answer against the document (thousands of them).
async fn create_shelves(app: &Router, backend: Backend, labels: impl Iterator<Item = String>) {
    use tower::ServiceExt;
    for label in labels {
        let request = Request::post(SHELVES)
            .header("content-type", "application/json")
            .body(Body::from(json!({ "label": label }).to_string()))
            .expect("valid request");
        let response = app.clone().oneshot(request).await.expect("router never fails");
        assert_eq!(response.status(), StatusCode::CREATED, "{backend:?}: create shelf {label}");
    }
}

/// The records of a CSV body, header first.
fn records(response: &TestResponse) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(response.text.as_bytes())
        .records()
        .map(|record| record.expect("RFC 4180 CSV").iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn count_exact_estimated_and_none_on_both_databases() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        create_shelves(&app, backend, (0..5).map(|i| format!("Shelf {i}"))).await;

        for (count, total) in
            [("", json!(5)), ("&count=exact", json!(5)), ("&count=estimated", json!(5)), ("&count=none", Value::Null)]
        {
            let uri = format!("{SHELVES}?limit=2{count}");
            let page = send(&app, "GET", &uri, None, &[]).await;
            assert_eq!(page.status, StatusCode::OK, "{backend:?}: {uri}: {}", page.text);
            assert_eq!(page.body["total"], total, "{backend:?}: {uri}");
            assert_eq!(page.body["items"].as_array().map(Vec::len), Some(2), "{backend:?}: {uri}");
            assert!(page.body["next_cursor"].is_string(), "{backend:?}: {uri}: paging works without a count");
        }

        // A cursor from a counted page goes on without a count: counting does not move rows.
        let first = send(&app, "GET", &format!("{SHELVES}?limit=2&sort=label"), None, &[]).await;
        let cursor = first.body["next_cursor"].as_str().expect("a next page");
        let next =
            send(&app, "GET", &format!("{SHELVES}?limit=2&sort=label&count=none&cursor={cursor}"), None, &[]).await;
        assert_eq!(next.status, StatusCode::OK, "{backend:?}: {}", next.text);
        let labels: Vec<&str> =
            next.body["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["Shelf 2", "Shelf 3"], "{backend:?}");
        assert_eq!(next.body["total"], Value::Null, "{backend:?}");

        let bad = send(&app, "GET", &format!("{SHELVES}?count=approximate"), None, &[]).await;
        bad.problem(StatusCode::BAD_REQUEST);
        assert_eq!(bad.error_codes(), [("count".to_owned(), "invalid".to_owned())], "{backend:?}: {}", bad.text);
        assert!(bad.text.contains("exact, estimated, none"), "{backend:?}: {}", bad.text);
        let repeated = send(&app, "GET", &format!("{SHELVES}?count=none&count=exact"), None, &[]).await;
        assert_eq!(repeated.error_codes(), [("count".to_owned(), "repeated".to_owned())], "{backend:?}");
    }
}

/// Above the exact-count threshold PostgreSQL's planner answers `count=estimated`; the test
/// fills the table with SQL (the API would take minutes) and runs `ANALYZE`, as autovacuum would.
#[tokio::test]
async fn estimated_counts_come_from_the_planner_on_large_postgres_tables() {
    if !support::postgres_enabled() {
        eprintln!("PostgreSQL is not in this run (ENTITY_SPEC_TEST_BACKENDS): nothing to estimate");
        return;
    }
    let (test_db, app) = setup(Backend::Postgres).await;
    for statement in [
        "INSERT INTO shelves (id, label, _version) \
         SELECT gen_random_uuid(), 'Shelf ' || n, 1 FROM generate_series(1, 30000) AS n",
        "ANALYZE shelves",
    ] {
        let mut sql = entity_spec::__private::runtime::storage::db::Sql::new(Backend::Postgres);
        sql.push(statement);
        test_db.db.execute(sql).await.expect(statement);
    }

    let exact = send(&app, "GET", &format!("{SHELVES}?limit=1&count=exact"), None, &[]).await;
    assert_eq!(exact.body["total"], 30000, "{}", exact.text);
    let estimated = send(&app, "GET", &format!("{SHELVES}?limit=1&count=estimated"), None, &[]).await;
    let estimate = estimated.body["total"].as_i64().expect("an estimate");
    assert!((27000..=33000).contains(&estimate), "the planner's estimate is near 30000: {estimate}");

    // A filter the planner expects few rows for is counted exactly.
    let narrow = format!("{SHELVES}?limit=1&count=estimated&label={}", percent_encode("Shelf 77"));
    let narrow = send(&app, "GET", &narrow, None, &[]).await;
    assert_eq!(narrow.body["total"], 1, "{}", narrow.text);
}

#[tokio::test]
async fn csv_exports_every_match_in_order_without_secrets() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let secret = "tok_3b1fNeverExported000";
        let books = [
            json!({"isbn": "978-0000000001", "title": "Plain", "pages": 120, "format": "ebook", "subjects": ["a", "b"], "publisher_token": secret}),
            json!({"isbn": "978-0000000002", "title": "Comma, \"quoted\"\nand a newline", "pages": 90, "format": "ebook"}),
            json!({"isbn": "978-0000000003", "title": "=HYPERLINK(\"http://evil.example\")", "format": "ebook"}),
            json!({"isbn": "978-0000000004", "title": "Paper", "pages": 300, "format": "paperback"}),
        ];
        for book in books {
            create(&app, backend, BOOKS, book).await;
        }

        let export = send(&app, "GET", &format!("{BOOKS}?format=ebook&sort=-pages"), None, CSV).await;
        assert_eq!(export.status, StatusCode::OK, "{backend:?}: {}", export.text);
        assert_eq!(export.header("content-type"), "text/csv; charset=utf-8; header=present", "{backend:?}");
        assert_eq!(export.header("content-disposition"), "attachment; filename=\"books.csv\"", "{backend:?}");
        assert!(!export.text.contains(secret), "{backend:?}: a sensitive value was exported");
        assert!(export.text.contains("\r\n"), "{backend:?}: RFC 4180 ends records with CRLF");

        let rows = records(&export);
        let header = &rows[0];
        assert!(!header.iter().any(|c| c == "publisher_token"), "{backend:?}: {header:?}");
        assert_eq!(header.first().map(String::as_str), Some("id"), "{backend:?}: fields in spec order");
        let column = |name: &str| header.iter().position(|c| c == name).unwrap_or_else(|| panic!("column {name}"));
        let titles: Vec<&str> = rows[1..].iter().map(|r| r[column("title")].as_str()).collect();
        // `format=ebook` filters the field (Book has one named `format`); -pages puts NULL first.
        assert_eq!(
            titles,
            ["'=HYPERLINK(\"http://evil.example\")", "Plain", "Comma, \"quoted\"\nand a newline"],
            "{backend:?}: filtered, sorted, quoted, formulas defused"
        );
        assert_eq!(rows[2][column("subjects")], r#"["a","b"]"#, "{backend:?}: JSON as compact JSON");
        assert_eq!(rows[1][column("pages")], "", "{backend:?}: null as an empty cell");
        assert_eq!(rows[2][column("pages")], "120", "{backend:?}");

        // The JSON list is unchanged by the Accept header's alternatives.
        let json_list = send(&app, "GET", BOOKS, None, &[("accept", "application/json, text/csv;q=0.9")]).await;
        assert_eq!(json_list.body["total"], 4, "{backend:?}: {}", json_list.text);

        // Paging applies as on the JSON list: `limit` is one page, `offset` and `cursor` say
        // where it starts (without `limit`, everything from there); `count` changes nothing.
        let titles_of = |response: &TestResponse| -> Vec<String> {
            let rows = records(response);
            let column = rows[0].iter().position(|c| c == "title").expect("title");
            rows[1..].iter().map(|r| r[column].clone()).collect()
        };
        let sorted = "sort=title";
        let all = titles_of(&send(&app, "GET", &format!("{BOOKS}?{sorted}&count=none"), None, CSV).await);
        assert_eq!(all.len(), 4, "{backend:?}: {all:?}");
        let page = send(&app, "GET", &format!("{BOOKS}?{sorted}&limit=2&offset=1"), None, CSV).await;
        assert_eq!(titles_of(&page), all[1..3], "{backend:?}");
        let first = send(&app, "GET", &format!("{BOOKS}?{sorted}&limit=1"), None, &[]).await;
        let cursor = first.body["next_cursor"].as_str().expect("a cursor");
        let rest = send(&app, "GET", &format!("{BOOKS}?{sorted}&cursor={cursor}"), None, CSV).await;
        assert_eq!(titles_of(&rest), all[1..], "{backend:?}: the rest after the cursor");
        // A bad filter is a problem, not a CSV body.
        send(&app, "GET", &format!("{BOOKS}?pages=many"), None, CSV).await.problem(StatusCode::BAD_REQUEST);
    }
}

/// An export reads the table in pages of a thousand: every row once, in order, across pages,
/// with ties on the sort field and NULLs at the page boundaries.
#[tokio::test]
async fn csv_exports_span_pages_in_keyset_order() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let count = 2_345;
        create_shelves(&app, backend, (0..count).map(|i| format!("L{:02}", i % 17))).await;

        for query in ["format=csv&sort=-label", "format=csv", "format=csv&label__startswith=L1"] {
            let export = send(&app, "GET", &format!("{SHELVES}?{query}"), None, &[]).await;
            assert_eq!(export.status, StatusCode::OK, "{backend:?}: {query}: {}", export.text);
            let rows = records(&export);
            assert_eq!(rows[0], ["id", "label", "parent_id"], "{backend:?}: {query}");
            let body: Vec<Value> =
                rows[1..].iter().map(|r| json!({"id": r[0], "label": r[1], "parent_id": Value::Null})).collect();
            let expected =
                if query.contains("startswith") { (0..count).filter(|i| (i % 17) >= 10).count() } else { count };
            assert_eq!(body.len(), expected, "{backend:?}: {query}: every matching row, once");
            let sort = query.split("sort=").nth(1).unwrap_or("id");
            assert_eq!(support::ids(&body), support::expected_order(&body, sort), "{backend:?}: {query}: in order");
            let mut unique = support::ids(&body);
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), expected, "{backend:?}: {query}: no row twice");
        }
    }
}

#[tokio::test]
async fn the_document_declares_count_format_and_the_csv_body() {
    let (_db, app) = setup(Backend::Sqlite).await;
    let document: Value = serde_json::from_str(&support::served_openapi(&app).await).expect("JSON");
    let parameters = |path: &str| -> Vec<String> {
        document["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let shelves = parameters(SHELVES);
    assert!(shelves.contains(&"count".to_owned()) && shelves.contains(&"format".to_owned()), "{shelves:?}");
    // Book's own `format` field keeps the name: one `format` parameter, the filter.
    let books = parameters(BOOKS);
    assert_eq!(books.iter().filter(|p| *p == "format").count(), 1, "{books:?}");
    let book_format = document["paths"][BOOKS]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "format")
        .unwrap();
    assert!(book_format["description"].as_str().unwrap().contains("equals"), "{book_format}");
    let ok = &document["paths"][SHELVES]["get"]["responses"]["200"]["content"];
    assert_eq!(ok["text/csv"]["schema"]["type"], "string", "{ok}");
}
