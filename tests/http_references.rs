//! References between entities (`tests/specs/library.json`: `Loan.book_id` → `Book` and
//! `Loan.member_id` → `Member` restrict, `Loan.guarantor_id` → `Member` set_null (two references
//! to one entity), `Hold` → `Book` and `Member` cascade, `Book.shelf_id` → `Shelf` set_null,
//! `Shelf.parent_id` → `Shelf` cascade (a self-reference)), on SQLite and on PostgreSQL: what
//! each answer says, and which rows are left in the database.

mod support;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::__private::runtime::storage::audit::{self, AuditQuery};
use entity_spec::{Backend, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, TestResponse, code_set, send};
use uuid::Uuid;

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

support::library_test_actions!(library);
support::library_setup!(library);

const MISSING: &str = "00000000-0000-7000-8000-0000000000de";
const BOOKS: &str = "/library/books";
const MEMBERS: &str = "/members";
const LOANS: &str = "/loans";
const HOLDS: &str = "/holds";
const SHELVES: &str = "/library/shelves";

async fn create(app: &Router, backend: Backend, path: &str, body: Value) -> String {
    let response = send(app, "POST", path, Some(body.clone()), &[]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{backend:?}: POST {path} {body}: {}", response.text);
    response.body["id"].as_str().expect("an id").to_owned()
}

async fn book(app: &Router, backend: Backend, n: u32) -> String {
    let body = json!({"isbn": format!("978-{:010}", n), "title": format!("Book {n}")});
    create(app, backend, BOOKS, body).await
}

async fn member(app: &Router, backend: Backend, n: u32) -> String {
    let body = json!({"card_number": format!("LIB-{:04}", n), "display_name": format!("Member {n}"), "tier": "adult", "joined_on": "2026-01-02"});
    create(app, backend, MEMBERS, body).await
}

async fn loan(app: &Router, backend: Backend, book: &str, member: &str, guarantor: Option<&str>) -> String {
    let body = json!({"book_id": book, "member_id": member, "guarantor_id": guarantor, "due_on": "2026-02-01"});
    create(app, backend, LOANS, body).await
}

async fn get(app: &Router, path: &str, id: &str) -> TestResponse {
    send(app, "GET", &format!("{path}/{id}"), None, &[]).await
}

async fn delete(app: &Router, path: &str, id: &str) -> TestResponse {
    send(app, "DELETE", &format!("{path}/{id}"), None, &[]).await
}

async fn total(app: &Router, path: &str) -> i64 {
    let page = send(app, "GET", path, None, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.body["total"].as_i64().expect("a total")
}

/// The `(operation, fields)` of the audit rows of `entity`'s item `id`, newest first.
async fn audited(test_db: &TestDb, entity: &str, id: &str) -> Vec<(String, Vec<String>)> {
    let query = AuditQuery {
        entity: Some(entity.to_owned()),
        entity_id: Some(Uuid::parse_str(id).expect("a uuid")),
        before: None,
        limit: 50,
    };
    let (rows, _) = audit::list(&test_db.db, &query).await.expect("the audit trail reads");
    rows.into_iter().map(|row| (row.operation, row.fields)).collect()
}

#[tokio::test]
async fn a_reference_to_a_missing_row_is_a_422_naming_the_field() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let (b, m) = (book(&app, backend, 1).await, member(&app, backend, 1).await);

        // Both references dangle: both are named, as any two violations are.
        let body = json!({"book_id": MISSING, "member_id": MISSING, "due_on": "2026-02-01"});
        let refused = send(&app, "POST", LOANS, Some(body), &[]).await;
        let problem = refused.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["type"], "urn:entity-spec:problem:validation-failed", "{backend:?}");
        assert_eq!(
            refused.error_code_set(),
            code_set(&[("book_id", "unknown_reference"), ("member_id", "unknown_reference")]),
            "{backend:?}: {}",
            refused.text
        );
        let messages: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().filter_map(|e| e["message"].as_str()).collect();
        assert!(messages.contains(&format!("no Book has id {MISSING}").as_str()), "{backend:?}: {messages:?}");
        assert!(messages.contains(&format!("no Member has id {MISSING}").as_str()), "{backend:?}: {messages:?}");

        // One dangling among good ones, and an optional reference.
        let body = json!({"book_id": b, "member_id": m, "guarantor_id": MISSING, "due_on": "2026-02-01"});
        let refused = send(&app, "POST", LOANS, Some(body), &[]).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.error_code_set(), code_set(&[("guarantor_id", "unknown_reference")]), "{backend:?}");
        assert_eq!(total(&app, LOANS).await, 0, "{backend:?}: nothing was stored");

        // Replace and merge patch alike; the row is left as it was.
        let id = loan(&app, backend, &b, &m, None).await;
        let before = get(&app, LOANS, &id).await.body;
        let put = json!({"book_id": MISSING, "member_id": m, "due_on": "2026-02-01"});
        let refused = send(&app, "PUT", &format!("{LOANS}/{id}"), Some(put), &[]).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.error_code_set(), code_set(&[("book_id", "unknown_reference")]), "{backend:?}");
        let patch = json!({"member_id": MISSING});
        let headers = [("content-type", "application/merge-patch+json")];
        let refused = send(&app, "PATCH", &format!("{LOANS}/{id}"), Some(patch), &headers).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.error_code_set(), code_set(&[("member_id", "unknown_reference")]), "{backend:?}");
        assert_eq!(get(&app, LOANS, &id).await.body, before, "{backend:?}: the loan is unchanged");

        // A self-reference, and a reference that is fine once its row exists.
        let body = json!({"label": "A", "parent_id": MISSING});
        let refused = send(&app, "POST", SHELVES, Some(body), &[]).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.error_code_set(), code_set(&[("parent_id", "unknown_reference")]), "{backend:?}");
        let root = create(&app, backend, SHELVES, json!({"label": "Root"})).await;
        create(&app, backend, SHELVES, json!({"label": "Child", "parent_id": root})).await;
    }
}

#[tokio::test]
async fn deleting_a_row_still_referenced_under_restrict_is_a_409_and_deletes_nothing() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let (b, m, other) =
            (book(&app, backend, 1).await, member(&app, backend, 1).await, member(&app, backend, 2).await);
        loan(&app, backend, &b, &m, None).await;
        loan(&app, backend, &b, &other, Some(&m)).await;
        create(&app, backend, HOLDS, json!({"book_id": b, "member_id": other})).await;

        let refused = delete(&app, BOOKS, &b).await;
        let problem = refused.problem(StatusCode::CONFLICT);
        assert_eq!(problem["type"], "urn:entity-spec:problem:still-referenced", "{backend:?}");
        assert!(
            problem["detail"].as_str().unwrap().starts_with("2 Loan rows refer to this Book through book_id"),
            "{backend:?}: {}",
            refused.text
        );
        let refused = delete(&app, MEMBERS, &m).await;
        let detail = refused.problem(StatusCode::CONFLICT)["detail"].as_str().unwrap().to_owned();
        assert!(detail.starts_with("1 Loan row refers to this Member through member_id"), "{backend:?}: {detail}");

        // Nothing went: not the book, not its hold (a cascade would have taken it), not a loan.
        assert_eq!(get(&app, BOOKS, &b).await.status, StatusCode::OK, "{backend:?}");
        assert_eq!(get(&app, MEMBERS, &m).await.status, StatusCode::OK, "{backend:?}");
        assert_eq!(total(&app, LOANS).await, 2, "{backend:?}");
        assert_eq!(total(&app, HOLDS).await, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn cascade_deletes_and_set_null_clears_in_the_same_transaction_with_an_audit_row_each() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let (b, m, guarantor) =
            (book(&app, backend, 1).await, member(&app, backend, 1).await, member(&app, backend, 2).await);
        let held = book(&app, backend, 2).await;
        let loaned = loan(&app, backend, &b, &m, Some(&guarantor)).await;
        let etag = get(&app, LOANS, &loaned).await.header("etag").to_owned();
        let hold = create(&app, backend, HOLDS, json!({"book_id": held, "member_id": m})).await;
        let guarantor_hold = create(&app, backend, HOLDS, json!({"book_id": held, "member_id": guarantor})).await;

        // set_null: the loan stays, without its guarantor, at a new version; the guarantor's
        // hold goes with it (cascade).
        assert_eq!(delete(&app, MEMBERS, &guarantor).await.status, StatusCode::NO_CONTENT, "{backend:?}");
        let kept = get(&app, LOANS, &loaned).await;
        assert_eq!(kept.status, StatusCode::OK, "{backend:?}");
        assert_eq!(kept.body["guarantor_id"], Value::Null, "{backend:?}: {}", kept.text);
        assert_eq!(kept.body["member_id"], m.as_str(), "{backend:?}");
        assert_ne!(kept.header("etag"), etag, "{backend:?}: clearing the reference is a new version");
        assert_eq!(get(&app, HOLDS, &guarantor_hold).await.status, StatusCode::NOT_FOUND, "{backend:?}");
        assert_eq!(get(&app, HOLDS, &hold).await.status, StatusCode::OK, "{backend:?}: other holds stay");
        assert_eq!(audited(&test_db, "Loan", &loaned).await[0], ("patch".to_owned(), vec!["guarantor_id".to_owned()]));
        assert_eq!(audited(&test_db, "Hold", &guarantor_hold).await[0], ("delete".to_owned(), Vec::new()));

        // cascade: deleting the held book deletes the remaining hold.
        assert_eq!(delete(&app, BOOKS, &held).await.status, StatusCode::NO_CONTENT, "{backend:?}");
        assert_eq!(get(&app, HOLDS, &hold).await.status, StatusCode::NOT_FOUND, "{backend:?}");
        assert_eq!(total(&app, HOLDS).await, 0, "{backend:?}");
        assert_eq!(audited(&test_db, "Hold", &hold).await[0].0, "delete", "{backend:?}");
        assert_eq!(total(&app, LOANS).await, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn a_self_reference_cascades_down_the_tree_and_nulls_what_refers_to_it() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let root = create(&app, backend, SHELVES, json!({"label": "Root"})).await;
        let child = create(&app, backend, SHELVES, json!({"label": "Child", "parent_id": root})).await;
        let grandchild = create(&app, backend, SHELVES, json!({"label": "Grandchild", "parent_id": child})).await;
        let elsewhere = create(&app, backend, SHELVES, json!({"label": "Elsewhere"})).await;
        let shelved =
            create(&app, backend, BOOKS, json!({"isbn": "978-0000000001", "title": "Shelved", "shelf_id": grandchild}))
                .await;
        let other =
            create(&app, backend, BOOKS, json!({"isbn": "978-0000000002", "title": "Other", "shelf_id": elsewhere}))
                .await;

        assert_eq!(delete(&app, SHELVES, &root).await.status, StatusCode::NO_CONTENT, "{backend:?}");
        for gone in [&root, &child, &grandchild] {
            assert_eq!(get(&app, SHELVES, gone).await.status, StatusCode::NOT_FOUND, "{backend:?}");
        }
        assert_eq!(total(&app, SHELVES).await, 1, "{backend:?}");
        assert_eq!(get(&app, BOOKS, &shelved).await.body["shelf_id"], Value::Null, "{backend:?}");
        assert_eq!(get(&app, BOOKS, &other).await.body["shelf_id"], elsewhere.as_str(), "{backend:?}");
        assert_eq!(audited(&test_db, "Shelf", &grandchild).await[0].0, "delete", "{backend:?}");
        assert_eq!(audited(&test_db, "Book", &shelved).await[0].1, ["shelf_id"], "{backend:?}");
    }
}

#[tokio::test]
async fn the_schema_has_real_foreign_keys() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let (b, m) = (book(&app, backend, 1).await, member(&app, backend, 1).await);
        loan(&app, backend, &b, &m, None).await;
        // Written past the service, the database itself refuses a dangling reference and a
        // delete under restrict.
        let insert = format!(
            "INSERT INTO loans (id, book_id, member_id, due_on, created_at) VALUES ('{}', '{MISSING}', '{m}', '2026-02-01', '2026-01-01T00:00:00Z')",
            Uuid::now_v7()
        );
        let delete_book = format!("DELETE FROM books WHERE id = '{b}'");
        for statement in [insert, delete_book] {
            let mut sql = entity_spec::__private::runtime::db::Sql::new(backend);
            sql.push(&statement);
            let error = test_db.db.execute(sql).await.expect_err(&format!("{backend:?}: {statement}")).to_string();
            assert!(error.to_lowercase().contains("foreign key"), "{backend:?}: {error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_racing_the_delete_of_the_row_it_names_never_leaves_a_dangling_reference() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let m = member(&app, backend, 1).await;
        for n in 1..=10 {
            let b = book(&app, backend, n).await;
            let body = json!({"book_id": b, "member_id": m, "due_on": "2026-02-01"});
            let (created, deleted) = tokio::join!(send(&app, "POST", LOANS, Some(body), &[]), delete(&app, BOOKS, &b));
            match (created.status, deleted.status) {
                // The loan first: the book is protected by it.
                (StatusCode::CREATED, StatusCode::CONFLICT) => {
                    assert_eq!(get(&app, BOOKS, &b).await.status, StatusCode::OK, "{backend:?}");
                }
                // The delete first: the loan names nothing.
                (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NO_CONTENT) => {
                    assert_eq!(created.error_code_set(), code_set(&[("book_id", "unknown_reference")]), "{backend:?}");
                }
                other => panic!("{backend:?}: {other:?}: {} / {}", created.text, deleted.text),
            }
        }
        // Whatever the order, no loan names a missing book.
        let loans = send(&app, "GET", &format!("{LOANS}?limit=100"), None, &[]).await;
        for loan in loans.body["items"].as_array().unwrap() {
            let book = loan["book_id"].as_str().unwrap();
            assert_eq!(get(&app, BOOKS, book).await.status, StatusCode::OK, "{backend:?}: {loan}");
        }
    }
}

/// `?expand=`: each embedded item is what its own route shows (sensitive fields left out),
/// `null` for a reference to nothing, on lists and reads, self-references included.
#[tokio::test]
async fn expand_embeds_the_referenced_items_as_their_own_routes_show_them() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let (b1, b2) = (book(&app, backend, 1).await, book(&app, backend, 2).await);
        let token = json!({"publisher_token": "tok_0123456789abcdefXYZ"});
        assert_eq!(send(&app, "PATCH", &format!("{BOOKS}/{b1}"), Some(token), &[]).await.status, StatusCode::OK);
        let (m1, m2) = (member(&app, backend, 1).await, member(&app, backend, 2).await);
        let with_guarantor = loan(&app, backend, &b1, &m1, Some(&m2)).await;
        let without = loan(&app, backend, &b2, &m1, None).await;
        let same_book = loan(&app, backend, &b1, &m2, None).await;

        let page = send(&app, "GET", &format!("{LOANS}?expand=book,guarantor,member&sort=id"), None, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}: {}", page.text);
        let items = page.body["items"].as_array().expect("items");
        assert_eq!(items.len(), 3, "{backend:?}");
        for item in items {
            for (expansion, field, path) in
                [("book", "book_id", BOOKS), ("member", "member_id", MEMBERS), ("guarantor", "guarantor_id", MEMBERS)]
            {
                match item[field].as_str() {
                    Some(id) => assert_eq!(item[expansion], get(&app, path, id).await.body, "{backend:?}: {expansion}"),
                    None => assert_eq!(item[expansion], Value::Null, "{backend:?}: {expansion} of {item}"),
                }
            }
            assert!(item["book"].get("publisher_token").is_none(), "{backend:?}: secrets stay out: {item}");
        }
        let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        let mut expected = vec![with_guarantor.as_str(), without.as_str(), same_book.as_str()];
        expected.sort();
        assert_eq!(ids, expected, "{backend:?}: the page is the same page");
        // Without `expand`, nothing is embedded.
        let plain = send(&app, "GET", LOANS, None, &[]).await;
        assert!(plain.body["items"][0].get("book").is_none(), "{backend:?}: {}", plain.text);

        // A read expands the same way, keeps its ETag, and is never a 304 (embedded items
        // change without the item's version).
        let read = send(&app, "GET", &format!("{LOANS}/{with_guarantor}?expand=guarantor"), None, &[]).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}: {}", read.text);
        assert_eq!(read.body["guarantor"], get(&app, MEMBERS, &m2).await.body, "{backend:?}");
        assert!(read.body.get("book").is_none(), "{backend:?}: only what was asked for");
        let etag = read.header("etag").to_owned();
        assert!(!etag.is_empty(), "{backend:?}");
        let again =
            send(&app, "GET", &format!("{LOANS}/{with_guarantor}?expand=guarantor"), None, &[("if-none-match", &etag)])
                .await;
        assert_eq!(again.status, StatusCode::OK, "{backend:?}");
        let plain = send(&app, "GET", &format!("{LOANS}/{with_guarantor}"), None, &[("if-none-match", &etag)]).await;
        assert_eq!(plain.status, StatusCode::NOT_MODIFIED, "{backend:?}");

        // A self-reference: a shelf and its parent.
        let top = create(&app, backend, SHELVES, json!({"label": "Top"})).await;
        let inner = create(&app, backend, SHELVES, json!({"label": "Inner", "parent_id": top})).await;
        let shelf = send(&app, "GET", &format!("{SHELVES}/{inner}?expand=parent"), None, &[]).await;
        assert_eq!(shelf.body["parent"]["label"], "Top", "{backend:?}: {}", shelf.text);
        assert!(shelf.body["parent"].get("parent").is_none(), "{backend:?}: one level deep");
        let top_page = send(&app, "GET", &format!("{SHELVES}?expand=parent&label=Top"), None, &[]).await;
        assert_eq!(top_page.body["items"][0]["parent"], Value::Null, "{backend:?}");
    }
}

/// An embedded item is written exactly as its own route writes it, byte for byte, whatever its
/// fields hold: text needing escapes, whole and inexact floats, JSON, dates, timestamps with no
/// fraction, a short one and six digits, and NULL in every nullable field.
#[tokio::test]
async fn an_embedded_item_is_its_own_route_byte_for_byte_for_every_field_type() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let member = member(&app, backend, 1).await;
        let bodies = [
            json!({
                "isbn": "978-0000000001", "barcode": "AB123456",
                "title": "Quote \" back\\slash\ttab é ✓ 𝄞 \u{2028}", "blurb": "line\nnext \u{1} <b>&amp;</b>",
                "pages": 321, "price": 0.30000000000000004, "lendable": false, "format": "ebook",
                "subjects": {"tags": ["maps", "seas"], "level": 2.5, "whole": 3.0, "nested": {"none": null}},
                "published_on": "2026-01-31", "last_borrowed_at": "2026-01-31T12:00:00.5+01:00",
                "publisher_token": "tok_0123456789abcdefXYZ",
            }),
            json!({"isbn": "978-0000000002", "title": "Whole", "price": 5.0, "subjects": [],
                   "last_borrowed_at": "2026-01-31T12:00:00Z"}),
            json!({"isbn": "978-0000000003", "title": "Fine", "price": 999.99, "subjects": "text",
                   "last_borrowed_at": "0001-01-01T00:00:00.123456789Z", "published_on": "9999-12-31"}),
            json!({"isbn": "978-0000000004", "title": "Nulls"}),
        ];
        for body in bodies {
            let book = create(&app, backend, BOOKS, body).await;
            let own = get(&app, BOOKS, &book).await;
            let loan = loan(&app, backend, &book, &member, None).await;
            let read = send(&app, "GET", &format!("{LOANS}/{loan}?expand=book"), None, &[]).await;
            let page = send(&app, "GET", &format!("{LOANS}?expand=book&id={loan}"), None, &[]).await;
            assert_eq!(page.body["items"][0]["id"], loan.as_str(), "{backend:?}: {}", page.text);
            for (what, response) in [("read", &read), ("list", &page)] {
                assert!(
                    response.text.contains(&format!("\"book\":{}", own.text)),
                    "{backend:?}: {what}: the book as its route writes it\n{}\nin\n{}",
                    own.text,
                    response.text
                );
                assert!(!response.text.contains("tok_"), "{backend:?}: {what}: secrets stay out");
            }
        }
    }
}

/// Every page of `path` (no `limit` in it) walked 4 at a time by its cursors.
async fn walk(app: &Router, backend: Backend, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut uri = format!("{path}&limit=4");
    loop {
        let page = send(app, "GET", &uri, None, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}: {uri}: {}", page.text);
        items.extend(page.body["items"].as_array().expect("items").iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{path}&limit=4&cursor={cursor}"),
            None => return items,
        }
    }
}

/// An expanded list is the same list: the same items in the same order, page by page, in every
/// sort order (NULLs of a nullable sort field included) and ranked by a search, each embedded
/// item what its own route shows.
#[tokio::test]
async fn an_expanded_list_pages_and_sorts_as_the_plain_one() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let books = [book(&app, backend, 1).await, book(&app, backend, 2).await, book(&app, backend, 3).await];
        let members = [member(&app, backend, 1).await, member(&app, backend, 2).await];
        for n in 0..11 {
            // Every third loan has no guarantor; due dates repeat, so the key breaks ties.
            let guarantor = (n % 3 != 0).then(|| members[(n + 1) % 2].as_str());
            let body = json!({
                "book_id": books[n % 3], "member_id": members[n % 2], "guarantor_id": guarantor,
                "due_on": format!("2026-02-0{}", 1 + n % 4),
            });
            create(&app, backend, LOANS, body).await;
        }
        for sort in ["sort=id", "sort=-due_on", "sort=due_on", "sort=guarantor_id", "sort=-guarantor_id"] {
            let plain = walk(&app, backend, &format!("{LOANS}?{sort}")).await;
            let expanded = walk(&app, backend, &format!("{LOANS}?{sort}&expand=guarantor,book")).await;
            assert_eq!(plain.len(), 11, "{backend:?}: {sort}");
            assert_eq!(expanded.len(), plain.len(), "{backend:?}: {sort}");
            for (plain, expanded) in plain.iter().zip(&expanded) {
                let mut own = expanded.clone();
                let own_fields = own.as_object_mut().expect("an object");
                let book = own_fields.remove("book").expect("book");
                let guarantor = own_fields.remove("guarantor").expect("guarantor");
                assert_eq!(&own, plain, "{backend:?}: {sort}: the same item at the same place");
                assert_eq!(book, get(&app, BOOKS, plain["book_id"].as_str().unwrap()).await.body, "{backend:?}");
                match plain["guarantor_id"].as_str() {
                    Some(id) => assert_eq!(guarantor, get(&app, MEMBERS, id).await.body, "{backend:?}"),
                    None => assert_eq!(guarantor, Value::Null, "{backend:?}: {sort}"),
                }
            }
        }
        // Ranked by a search (no `sort`): the same order too.
        // The first shelf holds the others.
        let top = create(&app, backend, SHELVES, json!({"label": "maps of islands"})).await;
        for label in ["islands", "island maps and more maps", "rivers"] {
            create(&app, backend, SHELVES, json!({"label": label, "parent_id": top})).await;
        }
        let plain = walk(&app, backend, &format!("{SHELVES}?q=island")).await;
        let expanded = walk(&app, backend, &format!("{SHELVES}?q=island&expand=parent")).await;
        assert_eq!(plain.len(), 3, "{backend:?}: {plain:?}");
        let labels = |items: &[Value]| items.iter().map(|i| i["label"].clone()).collect::<Vec<_>>();
        assert_eq!(labels(&expanded), labels(&plain), "{backend:?}: ranked the same");
        for item in &expanded {
            match item["parent_id"].as_str() {
                Some(id) => assert_eq!(item["parent"], get(&app, SHELVES, id).await.body, "{backend:?}"),
                None => assert_eq!(item["parent"], Value::Null, "{backend:?}"),
            }
        }
    }
}

#[tokio::test]
async fn expand_names_only_references_and_is_refused_by_name_otherwise() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let (b, m) = (book(&app, backend, 1).await, member(&app, backend, 1).await);
        let id = loan(&app, backend, &b, &m, None).await;
        for (uri, code, needle) in [
            (format!("{LOANS}?expand=boook"), "invalid", "can expand: book, member, guarantor; did you mean `book`?"),
            (format!("{LOANS}?expand=book,book"), "repeated", "names `book` twice"),
            (format!("{LOANS}?expand=book_id"), "invalid", "is not a reference of Loan"),
            (format!("{LOANS}/{id}?expand=shelf"), "invalid", "can expand: book, member, guarantor"),
            (format!("{MEMBERS}?expand=loans"), "invalid", "Member refers to no other entity"),
        ] {
            let refused = send(&app, "GET", &uri, None, &[]).await;
            let problem = refused.problem_for(StatusCode::BAD_REQUEST, &uri);
            assert_eq!(refused.error_codes(), [("expand".to_owned(), code.to_owned())], "{backend:?}: {uri}");
            assert!(problem["detail"].as_str().unwrap().contains(needle), "{backend:?}: {uri}: {problem}");
        }
        // A CSV export carries the expanded items as JSON columns after the fields.
        let csv = send(&app, "GET", &format!("{LOANS}?expand=book&format=csv"), None, &[]).await;
        assert_eq!(csv.status, StatusCode::OK, "{backend:?}: {}", csv.text);
        let header = csv.text.lines().next().unwrap_or_default();
        assert!(header.ends_with(",book"), "{backend:?}: {header}");
        assert!(csv.text.contains(&format!("\"\"id\"\":\"\"{b}\"\"")), "{backend:?}: {}", csv.text);
        // A read takes no other parameter.
        let refused = send(&app, "GET", &format!("{LOANS}/{id}?fields=id"), None, &[]).await;
        refused.problem(StatusCode::BAD_REQUEST);
        assert_eq!(refused.error_codes(), [("fields".to_owned(), "unknown_parameter".to_owned())], "{backend:?}");
        // `expand=` with nothing expands nothing.
        let plain = send(&app, "GET", &format!("{LOANS}/{id}?expand="), None, &[]).await;
        assert_eq!(plain.status, StatusCode::OK, "{backend:?}: {}", plain.text);
        assert!(plain.body.get("book").is_none(), "{backend:?}");
    }
}

/// Expanding needs the embedded entity's read scope: a caller who may read loans but not
/// books gets a 403 naming `books:read`, not the books.
#[tokio::test]
async fn expand_needs_the_read_scope_of_what_it_embeds() {
    use entity_spec::api_keys::{self, NewKey};
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        library::migrate(&test_db.db, MigrateOptions::default()).await.expect("migrate");
        let service = library::service(test_db.db.clone(), Renewals).with_auth(entity_spec::AuthConfig::api_keys());
        let app = service.router();
        let key = |name: &str, scopes: &[&str]| {
            let new = NewKey {
                name: name.into(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                expires_at: None,
            };
            let db = test_db.db.clone();
            async move { api_keys::create(&db, new).await.expect("key").0.expose().clone() }
        };
        let admin = format!("Bearer {}", key("admin", &["admin"]).await);
        let loans_only = format!("Bearer {}", key("loans", &["loans:read"]).await);
        let both = format!("Bearer {}", key("both", &["loans:read", "books:read"]).await);
        let as_admin = [("authorization", admin.as_str())];
        let book =
            send(&app, "POST", BOOKS, Some(json!({"isbn": "978-0000000009", "title": "Tidings"})), &as_admin).await;
        let member = send(
            &app,
            "POST",
            MEMBERS,
            Some(json!({"card_number": "LIB-0001", "display_name": "M", "tier": "adult", "joined_on": "2026-01-02"})),
            &as_admin,
        )
        .await;
        assert_eq!(book.status, StatusCode::CREATED, "{backend:?}: {}", book.text);
        assert_eq!(member.status, StatusCode::CREATED, "{backend:?}: {}", member.text);
        let body = json!({"book_id": book.body["id"], "member_id": member.body["id"], "due_on": "2026-02-01"});
        let loan = send(&app, "POST", LOANS, Some(body), &as_admin).await;
        assert_eq!(loan.status, StatusCode::CREATED, "{backend:?}: {}", loan.text);

        let refused = send(&app, "GET", &format!("{LOANS}?expand=book"), None, &[("authorization", &loans_only)]).await;
        let problem = refused.problem(StatusCode::FORBIDDEN);
        assert!(problem["detail"].as_str().unwrap().contains("`books:read`"), "{backend:?}: {problem}");
        assert!(!refused.text.contains("978-0000000009"), "{backend:?}: nothing of the book leaks");
        let plain = send(&app, "GET", LOANS, None, &[("authorization", &loans_only)]).await;
        assert_eq!(plain.status, StatusCode::OK, "{backend:?}: the list itself is allowed");
        let allowed = send(&app, "GET", &format!("{LOANS}?expand=book"), None, &[("authorization", &both)]).await;
        assert_eq!(allowed.status, StatusCode::OK, "{backend:?}: {}", allowed.text);
        assert_eq!(allowed.body["items"][0]["book"]["isbn"], "978-0000000009", "{backend:?}");

        // A nested list needs the read scopes of both entities.
        let nested = format!("{BOOKS}/{}/loans", book.body["id"].as_str().unwrap());
        let refused = send(&app, "GET", &nested, None, &[("authorization", &loans_only)]).await;
        let problem = refused.problem(StatusCode::FORBIDDEN);
        assert!(problem["detail"].as_str().unwrap().contains("`books:read`"), "{backend:?}: {problem}");
        let listed = send(&app, "GET", &nested, None, &[("authorization", &both)]).await;
        assert_eq!(listed.body["total"], 1, "{backend:?}: {}", listed.text);
    }
}

/// `GET {parent}/{id}/{segment}`: the rows referring to one item, with every list parameter;
/// two references to one entity get a list each, a self-reference lists the children.
#[tokio::test]
async fn nested_lists_hold_the_rows_referring_to_one_item() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let (b1, b2) = (book(&app, backend, 1).await, book(&app, backend, 2).await);
        let (m1, m2) = (member(&app, backend, 1).await, member(&app, backend, 2).await);
        let mut by_m1 = Vec::new();
        for due in ["2026-02-03", "2026-02-01", "2026-02-02"] {
            let body = json!({"book_id": b1, "member_id": m1, "guarantor_id": m2, "due_on": due});
            by_m1.push(create(&app, backend, LOANS, body).await);
        }
        let other = loan(&app, backend, &b2, &m2, None).await;

        let listed = send(&app, "GET", &format!("{MEMBERS}/{m1}/loans-as-member?sort=due_on&limit=2"), None, &[]).await;
        assert_eq!(listed.status, StatusCode::OK, "{backend:?}: {}", listed.text);
        assert_eq!(listed.body["total"], 3, "{backend:?}: only m1's loans");
        let dues: Vec<&str> =
            listed.body["items"].as_array().unwrap().iter().map(|i| i["due_on"].as_str().unwrap()).collect();
        assert_eq!(dues, ["2026-02-01", "2026-02-02"], "{backend:?}: sorted and paged");
        let cursor = listed.body["next_cursor"].as_str().expect("a second page");
        let rest = send(
            &app,
            "GET",
            &format!("{MEMBERS}/{m1}/loans-as-member?sort=due_on&limit=2&cursor={cursor}"),
            None,
            &[],
        )
        .await;
        assert_eq!(rest.body["items"][0]["due_on"], "2026-02-03", "{backend:?}: {}", rest.text);

        // The same member as guarantor: the other reference's list.
        let guaranteed = send(&app, "GET", &format!("{MEMBERS}/{m2}/loans-as-guarantor"), None, &[]).await;
        assert_eq!(guaranteed.body["total"], 3, "{backend:?}: {}", guaranteed.text);
        let as_member = send(&app, "GET", &format!("{MEMBERS}/{m2}/loans-as-member?expand=book"), None, &[]).await;
        assert_eq!(support::ids(as_member.body["items"].as_array().unwrap()), [other.as_str()], "{backend:?}");
        assert_eq!(as_member.body["items"][0]["book"]["id"], b2, "{backend:?}: expand works on nested lists");
        // Filters combine with the nesting.
        let filtered = send(&app, "GET", &format!("{BOOKS}/{b1}/loans?due_on__gte=2026-02-02"), None, &[]).await;
        assert_eq!(filtered.body["total"], 2, "{backend:?}: {}", filtered.text);
        let csv = send(&app, "GET", &format!("{BOOKS}/{b1}/loans"), None, &[("accept", "text/csv")]).await;
        assert_eq!(csv.text.lines().count(), 4, "{backend:?}: a header and the three loans: {}", csv.text);

        // A self-reference: the shelves inside one.
        let top = create(&app, backend, SHELVES, json!({"label": "Top"})).await;
        create(&app, backend, SHELVES, json!({"label": "A", "parent_id": top})).await;
        create(&app, backend, SHELVES, json!({"label": "B", "parent_id": top})).await;
        let children = send(&app, "GET", &format!("{SHELVES}/{top}/shelves?sort=label"), None, &[]).await;
        let labels: Vec<&str> =
            children.body["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["A", "B"], "{backend:?}");

        // An item that does not exist: a 404 naming the referenced entity, whatever the id.
        for id in [MISSING, "not-a-uuid"] {
            let missing = send(&app, "GET", &format!("{MEMBERS}/{id}/loans-as-member"), None, &[]).await;
            let problem = missing.problem(StatusCode::NOT_FOUND);
            assert!(problem["detail"].as_str().unwrap().contains("no Member"), "{backend:?}: {problem}");
        }
        // A bad list parameter is the list's 400.
        let bad = send(&app, "GET", &format!("{MEMBERS}/{m1}/loans-as-member?sort=nope"), None, &[]).await;
        assert_eq!(bad.error_fields(), ["sort"], "{backend:?}");
        assert_eq!(by_m1.len(), 3);
    }
}
