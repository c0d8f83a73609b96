//! Full-text search (`q=`) on SQLite (FTS5) and PostgreSQL (`tsvector` + GIN), with the library
//! spec (`tests/specs/library.json`: `Book.title` and `Book.blurb` are searchable, `Loan` has no
//! searchable field): what matches, the order by relevance and paging through it, `q` beside
//! `sort`, filters, counts, statistics, CSV and nested lists, the index following every write, and hostile
//! text.

mod support;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::Backend;
use serde_json::{Value, json};
use support::{BACKENDS, TestResponse, ids, percent_encode, send};

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

support::library_test_actions!(library);
support::library_setup!(library);

const BOOKS: &str = "/library/books";

/// Creates a book (`n` makes its ISBN unique) and returns its id.
async fn book(app: &Router, backend: Backend, n: u32, title: &str, blurb: Option<&str>, format: &str) -> String {
    let body = json!({"isbn": format!("978-{:010}", n), "title": title, "blurb": blurb, "format": format});
    let created = send(app, "POST", BOOKS, Some(body.clone()), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {body}: {}", created.text);
    created.body["id"].as_str().expect("id").to_owned()
}

async fn search(app: &Router, backend: Backend, query: &str) -> TestResponse {
    let uri = format!("{BOOKS}?{query}");
    let response = send(app, "GET", &uri, None, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{backend:?}: GET {uri}: {}", response.text);
    response
}

fn item_ids(response: &TestResponse) -> Vec<String> {
    ids(response.body["items"].as_array().expect("items"))
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

struct Books {
    rust_book: String,
    programming_rust: String,
    rustic: String,
    gardening: String,
    unrelated: String,
}

async fn shelf_of_books(app: &Router, backend: Backend) -> Books {
    Books {
        rust_book: book(app, backend, 1, "Rust", Some("Rust, rust and more rust."), "paperback").await,
        programming_rust: book(app, backend, 2, "Programming Rust", Some("Systems programming, fast."), "ebook").await,
        rustic: book(app, backend, 3, "Rustic Cooking", None, "hardcover").await,
        gardening: book(
            app,
            backend,
            4,
            "Gardening",
            Some(
                "Soil, seeds, compost, watering, pruning, mulching, hedges, lawns, roses, tulips, borders, sheds, \
                 and what to do about the rust on old tools.",
            ),
            "paperback",
        )
        .await,
        unrelated: book(app, backend, 5, "Knitting", Some("Wool and needles."), "paperback").await,
    }
}

#[tokio::test]
async fn a_search_finds_every_word_as_a_prefix_ignoring_case_best_match_first() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let books = shelf_of_books(&app, backend).await;

        let found = search(&app, backend, "q=rust").await;
        assert_eq!(found.body["total"], 4, "{backend:?}: title, prefix (Rustic) and blurb matches: {}", found.text);
        let order = item_ids(&found);
        assert_eq!(
            sorted(order.clone()),
            sorted(vec![
                books.rust_book.clone(),
                books.programming_rust.clone(),
                books.rustic,
                books.gardening.clone()
            ]),
            "{backend:?}"
        );
        assert_eq!(order[0], books.rust_book, "{backend:?}: the short text saying `rust` four times ranks first");
        assert_eq!(order[3], books.gardening, "{backend:?}: one mention in a long blurb ranks last");

        // Every word must match, in any field, in any case, each as a word's start.
        let both = search(&app, backend, "q=PROGRAM%20rust").await;
        assert_eq!(item_ids(&both), vec![books.programming_rust.clone()], "{backend:?}");
        let middle = search(&app, backend, "q=ustic").await;
        assert_eq!(middle.body["total"], 0, "{backend:?}: a word's middle is no match");
        let none = search(&app, backend, "q=rust%20wool").await;
        assert_eq!(none.body["items"], json!([]), "{backend:?}");
        assert!(!item_ids(&search(&app, backend, "q=wool").await).is_empty(), "{backend:?}: blurbs are searched");
        assert_eq!(item_ids(&search(&app, backend, "q=wool").await), [books.unrelated], "{backend:?}");
    }
}

#[tokio::test]
async fn a_ranked_search_pages_by_cursor_without_skipping_or_repeating() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for n in 0..12 {
            // Relevance ties (same text) are broken by id, as every list order is.
            let blurb = if n % 3 == 0 { "lighthouse lighthouse" } else { "a lighthouse on the coast of a far island" };
            book(&app, backend, 100 + n, &format!("Tale {n}"), Some(blurb), "paperback").await;
        }
        let whole = search(&app, backend, "q=lighthouse&limit=50").await;
        let expected = item_ids(&whole);
        assert_eq!(expected.len(), 12, "{backend:?}");

        let mut walked = Vec::new();
        let mut uri = "q=lighthouse&limit=5".to_owned();
        loop {
            let page = search(&app, backend, &uri).await;
            assert_eq!(page.body["total"], 12, "{backend:?}");
            walked.extend(item_ids(&page));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => uri = format!("q=lighthouse&limit=5&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(walked, expected, "{backend:?}: the pages follow the one-page order exactly");

        // A cursor belongs to its search.
        let first = search(&app, backend, "q=lighthouse&limit=5").await;
        let cursor = first.body["next_cursor"].as_str().expect("a next page");
        let other = send(&app, "GET", &format!("{BOOKS}?q=coast&limit=5&cursor={cursor}"), None, &[]).await;
        assert_eq!(other.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", other.text);
        assert_eq!(other.body["errors"][0]["field"], "cursor", "{backend:?}: {}", other.text);
    }
}

#[tokio::test]
async fn a_search_combines_with_sort_filters_counts_stats_csv_and_nested_lists() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let books = shelf_of_books(&app, backend).await;

        // With `sort`, the search is a filter and the order is the field's.
        let by_title = search(&app, backend, "q=rust&sort=title").await;
        let titles: Vec<&str> =
            by_title.body["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Gardening", "Programming Rust", "Rust", "Rustic Cooking"], "{backend:?}");
        let paged = search(&app, backend, "q=rust&sort=-title&limit=3").await;
        let cursor = paged.body["next_cursor"].as_str().expect("a second page");
        let rest = search(&app, backend, &format!("q=rust&sort=-title&limit=3&cursor={cursor}")).await;
        assert_eq!(item_ids(&rest), vec![books.gardening.clone()], "{backend:?}");

        let filtered = search(&app, backend, "q=rust&format=paperback").await;
        assert_eq!(sorted(item_ids(&filtered)), sorted(vec![books.rust_book.clone(), books.gardening.clone()]));
        assert_eq!(filtered.body["total"], 2, "{backend:?}");
        for count in ["none", "estimated"] {
            let counted = search(&app, backend, &format!("q=rust&count={count}")).await;
            let total = if count == "none" { Value::Null } else { json!(4) };
            assert_eq!(counted.body["total"], total, "{backend:?}: count={count}");
            assert_eq!(counted.body["items"].as_array().map(Vec::len), Some(4), "{backend:?}");
        }

        // Statistics count what the search (and the filters beside it) select.
        let stats = send(&app, "GET", &format!("{BOOKS}/stats?q=rust"), None, &[]).await;
        assert_eq!(stats.status, StatusCode::OK, "{backend:?}: {}", stats.text);
        assert_eq!(stats.body["total"], 4, "{backend:?}: {}", stats.text);
        let formats = &stats.body["counts"]["format"];
        assert_eq!(
            [&formats["paperback"], &formats["ebook"], &formats["hardcover"]],
            [2, 1, 1],
            "{backend:?}: {formats}"
        );
        let narrowed = send(&app, "GET", &format!("{BOOKS}/stats?format=paperback&q=RUST"), None, &[]).await;
        assert_eq!(narrowed.body["total"], 2, "{backend:?}: {}", narrowed.text);
        let wordless = send(&app, "GET", &format!("{BOOKS}/stats?q=%21%3F"), None, &[]).await;
        assert_eq!(wordless.body["total"], 5, "{backend:?}: no word, no search: {}", wordless.text);
        let sorted_stats = send(&app, "GET", &format!("{BOOKS}/stats?q=rust&sort=title"), None, &[]).await;
        assert_eq!(sorted_stats.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", sorted_stats.text);
        assert_eq!(sorted_stats.body["errors"][0]["field"], "sort", "{backend:?}: {}", sorted_stats.text);
        let unsearchable = send(&app, "GET", "/loans/stats?q=rust", None, &[]).await;
        assert_eq!(unsearchable.status, StatusCode::BAD_REQUEST, "{backend:?}: Loan has no searchable field");
        assert_eq!(unsearchable.body["errors"][0]["field"], "q", "{backend:?}: {}", unsearchable.text);

        let csv = send(&app, "GET", &format!("{BOOKS}?q=rust&sort=title"), None, &[("accept", "text/csv")]).await;
        assert_eq!(csv.status, StatusCode::OK, "{backend:?}: {}", csv.text);
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(lines.len(), 5, "{backend:?}: a header and the four matches: {}", csv.text);
        assert!(lines[1].contains("Gardening") && lines[4].contains("Rustic Cooking"), "{backend:?}: {}", csv.text);
        let ranked_csv = send(&app, "GET", &format!("{BOOKS}?q=rust"), None, &[("accept", "text/csv")]).await;
        assert!(ranked_csv.text.lines().nth(1).is_some_and(|l| l.contains(&books.rust_book)), "{backend:?}");

        let shelf = send(&app, "POST", "/library/shelves", Some(json!({"label": "Metalwork"})), &[]).await;
        let shelf = shelf.body["id"].as_str().expect("shelf id").to_owned();
        for id in [&books.programming_rust, &books.unrelated] {
            let moved = send(&app, "PATCH", &format!("{BOOKS}/{id}"), Some(json!({"shelf_id": shelf})), &[]).await;
            assert_eq!(moved.status, StatusCode::OK, "{backend:?}: {}", moved.text);
        }
        let nested = send(&app, "GET", &format!("/library/shelves/{shelf}/books?q=rust"), None, &[]).await;
        assert_eq!(nested.status, StatusCode::OK, "{backend:?}: {}", nested.text);
        assert_eq!(item_ids(&nested), [books.programming_rust], "{backend:?}: the shelf's books that match");
    }
}

#[tokio::test]
async fn the_index_follows_creates_updates_and_deletes() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let id = book(&app, backend, 1, "Moby Dick", Some("A whale of a tale."), "paperback").await;
        assert_eq!(item_ids(&search(&app, backend, "q=whale").await), vec![id.clone()], "{backend:?}");

        let patched =
            send(&app, "PATCH", &format!("{BOOKS}/{id}"), Some(json!({"blurb": "Call me Ishmael."})), &[]).await;
        assert_eq!(patched.status, StatusCode::OK, "{backend:?}: {}", patched.text);
        assert_eq!(search(&app, backend, "q=whale").await.body["total"], 0, "{backend:?}: the old words are gone");
        assert_eq!(item_ids(&search(&app, backend, "q=ishmael").await), vec![id.clone()], "{backend:?}");

        // An update of a field outside the index leaves the words where they are.
        let priced = send(&app, "PATCH", &format!("{BOOKS}/{id}"), Some(json!({"price": 9.5})), &[]).await;
        assert_eq!(priced.status, StatusCode::OK, "{backend:?}: {}", priced.text);
        assert_eq!(item_ids(&search(&app, backend, "q=moby%20ishmael").await), vec![id.clone()], "{backend:?}");

        let cleared = send(&app, "PATCH", &format!("{BOOKS}/{id}"), Some(json!({"blurb": null})), &[]).await;
        assert_eq!(cleared.status, StatusCode::OK, "{backend:?}: {}", cleared.text);
        assert_eq!(search(&app, backend, "q=ishmael").await.body["total"], 0, "{backend:?}");

        let deleted = send(&app, "DELETE", &format!("{BOOKS}/{id}"), None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}: {}", deleted.text);
        assert_eq!(search(&app, backend, "q=moby").await.body["total"], 0, "{backend:?}");
    }
}

#[tokio::test]
async fn hostile_or_odd_search_text_is_words_or_nothing_never_syntax() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let books = shelf_of_books(&app, backend).await;
        let all = 5;

        // Each index's query syntax is only punctuation to a search: the words are searched.
        let by_title = [&books.gardening, &books.programming_rust, &books.rust_book, &books.rustic];
        for (text, expected) in [
            ("\"rust", by_title.to_vec()),
            ("rust\" OR \"wool", vec![]),
            ("NEAR(rust programming)", vec![]),
            ("rust* programming:* & !systems", vec![&books.programming_rust]),
            ("') OR 1=1 --", vec![]),
            ("systems -- ; DROP TABLE books", vec![]),
        ] {
            let response = search(&app, backend, &format!("q={}&sort=title", percent_encode(text))).await;
            assert_eq!(item_ids(&response), expected.into_iter().cloned().collect::<Vec<_>>(), "{backend:?}: {text}");
        }
        // `%` and `_` are no wildcards.
        assert_eq!(search(&app, backend, "q=r%25st").await.body["total"], 0, "{backend:?}: `r%st` is the words r, st");
        assert_eq!(search(&app, backend, "q=r_st").await.body["total"], 0, "{backend:?}");

        // Text without a letter or digit searches for nothing: the whole list, as blank text.
        for text in ["", "%20%20", "%22%2A%28%29", "%E2%80%94"] {
            assert_eq!(search(&app, backend, &format!("q={text}")).await.body["total"], all, "{backend:?}: q={text}");
        }
        // Characters Unicode calls alphabetic or numeric that a tokenizer may still drop
        // (combining marks, letter numbers, superscripts): an answer, never an error.
        for text in ["\u{0345}", "\u{0903}", "\u{2177}", "\u{00B2}", "\u{16EE}", "a\u{0301}", "\u{0301}"] {
            let response = search(&app, backend, &format!("q={}", percent_encode(text))).await;
            assert!(response.body["total"].is_number(), "{backend:?}: {text:?}: {}", response.text);
        }
        // Letters beyond ASCII are letters.
        let cafe = book(&app, backend, 9, "Café Society", Some("Straße und Ärger"), "ebook").await;
        assert_eq!(item_ids(&search(&app, backend, "q=caf%C3%A9").await), vec![cafe.clone()], "{backend:?}");
        assert_eq!(item_ids(&search(&app, backend, "q=%C3%84RGER").await), [cafe], "{backend:?}: case folds");

        let long = "a".repeat(201);
        let refused = send(&app, "GET", &format!("{BOOKS}?q={long}"), None, &[]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend:?}");
        assert_eq!(refused.header("content-type"), "application/problem+json", "{backend:?}");
        assert_eq!(refused.body["errors"][0]["field"], "q", "{backend:?}: {}", refused.text);
        let repeated = send(&app, "GET", &format!("{BOOKS}?q=a&q=b"), None, &[]).await;
        assert_eq!(repeated.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", repeated.text);

        // An entity without searchable fields has no `q`.
        let loans = send(&app, "GET", "/loans?q=rust", None, &[]).await;
        assert_eq!(loans.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", loans.text);
        assert_eq!(loans.body["errors"][0]["field"], "q", "{backend:?}: {}", loans.text);
    }
}
