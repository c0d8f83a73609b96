//! The HTTP contract on a multi-entity spec (`tests/specs/catalog.json`: Customer, Product,
//! Order), on SQLite and on PostgreSQL: every field type round-trips, defaults, constraints,
//! read-only and sensitive fields, filters and sorting on every filterable type, uniqueness
//! and the independence of the entities.

mod support;

use std::collections::BTreeSet;

use axum::Router;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use entity_spec::{Backend, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, TestResponse, code_set, collect_pages, expected_order, ids, percent_encode, send};
use uuid::Uuid;

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

const CUSTOMERS: &str = "/customers";
const PRODUCTS: &str = "/products";
const ORDERS: &str = "/orders";
/// A customer's API key; no response may contain it.
const API_KEY: &str = "ck_live_Sup3rSecretApiKey_0123456789";
const OTHER_API_KEY: &str = "ck_live_R0tatedSecretApiKey_987654";

async fn setup(backend: Backend) -> (TestDb, Router) {
    let test_db = TestDb::new(backend).await;
    catalog::migrate(&test_db.db, MigrateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: migrate failed: {e}"));
    let app = support::started(catalog::service(test_db.db.clone(), OrderTestActions), support::quiet_engine());
    (test_db, app)
}

support::order_test_actions!(catalog);

async fn create(app: &Router, backend: Backend, path: &str, body: Value) -> TestResponse {
    let response = send(app, "POST", path, Some(body.clone()), &[]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{backend:?}: POST {path} {body}: {}", response.text);
    assert_no_api_key(&response, backend, "POST");
    let id = response.body["id"].as_str().expect("id");
    assert_eq!(response.header("location"), format!("{path}/{id}"), "{backend:?}: Location");
    response
}

fn id_of(response: &TestResponse) -> String {
    response.body["id"].as_str().expect("an id").to_owned()
}

fn assert_no_api_key(response: &TestResponse, backend: Backend, context: &str) {
    for secret in [API_KEY, OTHER_API_KEY, "Sup3rSecretApiKey", "R0tatedSecretApiKey"] {
        assert!(!response.text.contains(secret), "{backend:?}: {context}: the api_key leaked: {}", response.text);
        for (name, value) in &response.headers {
            assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains(secret),
                "{backend:?}: {context}: the api_key leaked in header {name}"
            );
        }
    }
    assert!(!response.text.contains("api_key\":"), "{backend:?}: {context}: api_key is a member: {}", response.text);
}

async fn stored_api_key(test_db: &TestDb, backend: Backend, id: &str) -> Option<String> {
    let id = Uuid::parse_str(id).expect("uuid");
    let stored = entity_spec::__private::runtime::store::get::<catalog::Customer>(&test_db.db, id)
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: store read failed: {e}"))
        .unwrap_or_else(|| panic!("{backend:?}: customer {id} is not stored"));
    stored.entity.api_key.map(|key| key.expose().clone())
}

fn parse_time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("`{text}`: {e}")).with_timezone(&Utc)
}

/// Asserts that `actual` holds every member of `sent` with an equal value: floats compared
/// as numbers (`10` and `10.0` are the same float), date-times as instants, UUIDs parsed.
fn assert_matches_sent(actual: &Value, sent: &Value, backend: Backend, context: &str) {
    for (key, value) in sent.as_object().expect("object") {
        let got = &actual[key];
        match (key.as_str(), value) {
            (_, Value::Number(n)) if n.is_f64() || FLOAT_FIELDS.contains(&key.as_str()) => {
                assert_eq!(got.as_f64(), n.as_f64(), "{backend:?}: {context}: {key}");
            }
            (_, Value::String(s)) if DATETIME_FIELDS.contains(&key.as_str()) => {
                let sent_time = DateTime::parse_from_rfc3339(s).expect("valid").with_timezone(&Utc);
                assert_eq!(parse_time(got), sent_time, "{backend:?}: {context}: {key}");
            }
            (_, Value::String(s)) if UUID_FIELDS.contains(&key.as_str()) => {
                let got = Uuid::parse_str(got.as_str().expect("uuid string")).expect("uuid");
                assert_eq!(got, Uuid::parse_str(s).expect("uuid"), "{backend:?}: {context}: {key}");
            }
            _ => assert_eq!(got, value, "{backend:?}: {context}: {key} reads back as sent"),
        }
    }
}

/// An expected `(field, code)` of a 422.
type FieldCode = (&'static str, &'static str);

const FLOAT_FIELDS: [&str; 4] = ["price", "rating", "discount", "total"];
const DATETIME_FIELDS: [&str; 1] = ["placed_at"];
const UUID_FIELDS: [&str; 1] = ["customer_id"];

// ---------------------------------------------------------------------------------------------
// Round trips and defaults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn customer_round_trip_with_every_field() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let notes =
            format!("Line one\nline \"two\"\twith tab, back\\slash, ünïcødé ☃ 🦀 and more: {}", "long ".repeat(400));
        let sent = json!({
            "email": "ada@example.org",
            "display_name": "Ada Lovelace",
            "tier": "enterprise",
            "api_key": API_KEY,
            "birthday": "1815-12-10",
            "notes": notes,
        });
        let created = create(&app, backend, CUSTOMERS, sent.clone()).await;
        let id = id_of(&created);
        let path = format!("{CUSTOMERS}/{id}");
        let mut visible = sent.clone();
        visible.as_object_mut().expect("object").remove("api_key");
        assert_matches_sent(&created.body, &visible, backend, "POST customer");
        assert_eq!(created.body["created_at"], created.body["updated_at"], "{backend:?}");
        let keys: BTreeSet<&str> = created.body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["id", "email", "display_name", "tier", "birthday", "notes", "created_at", "updated_at"]
                .into_iter()
                .collect(),
            "{backend:?}: every visible field, no api_key"
        );
        let read = send(&app, "GET", &path, None, &[]).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}");
        assert_eq!(read.body, created.body, "{backend:?}: GET equals POST");
        assert_no_api_key(&read, backend, "GET");
        assert_eq!(stored_api_key(&test_db, backend, &id).await.as_deref(), Some(API_KEY), "{backend:?}");

        // PUT replaces; the omitted api_key is kept, omitted optional fields are reset.
        let replacement = json!({"email": "ada@example.com", "display_name": "A. Lovelace", "birthday": "2000-02-29"});
        let replaced = send(&app, "PUT", &path, Some(replacement.clone()), &[]).await;
        assert_eq!(replaced.status, StatusCode::OK, "{backend:?}: {}", replaced.text);
        assert_no_api_key(&replaced, backend, "PUT");
        assert_matches_sent(&replaced.body, &replacement, backend, "PUT customer");
        assert_eq!(replaced.body["tier"], "free", "{backend:?}: reset to the default");
        assert_eq!(replaced.body["notes"], Value::Null, "{backend:?}: reset to null");
        assert_eq!(replaced.body["created_at"], created.body["created_at"], "{backend:?}: created_at kept");
        assert_eq!(stored_api_key(&test_db, backend, &id).await.as_deref(), Some(API_KEY), "{backend:?}: kept");

        // PATCH changes one field; a new api_key is stored, null clears it (it is optional).
        let patched = send(
            &app,
            "PATCH",
            &path,
            Some(json!({"tier": "pro", "api_key": OTHER_API_KEY})),
            &[("content-type", "application/merge-patch+json")],
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK, "{backend:?}: {}", patched.text);
        assert_no_api_key(&patched, backend, "PATCH");
        let mut expected = replaced.body.clone();
        expected["tier"] = json!("pro");
        expected["updated_at"] = patched.body["updated_at"].clone();
        assert_eq!(patched.body, expected, "{backend:?}: only tier changed");
        assert_eq!(stored_api_key(&test_db, backend, &id).await.as_deref(), Some(OTHER_API_KEY), "{backend:?}");
        // In turn: each write and the api_key it leaves stored.
        for (method, body, stored) in [
            ("PATCH", json!({"api_key": null}), None),
            ("PUT", json!({"email": "ada@example.com", "display_name": "Ada", "api_key": API_KEY}), Some(API_KEY)),
            ("PUT", json!({"email": "ada@example.com", "display_name": "Ada", "api_key": null}), None),
        ] {
            let response = send(&app, method, &path, Some(body.clone()), &[]).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?}: {method} {body}: {}", response.text);
            assert_eq!(
                stored_api_key(&test_db, backend, &id).await.as_deref(),
                stored,
                "{backend:?}: {method} {body} leaves the key {stored:?}"
            );
        }

        let deleted = send(&app, "DELETE", &path, None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}");
        send(&app, "GET", &path, None, &[]).await.problem(StatusCode::NOT_FOUND);
    }
}

fn default_attributes() -> Value {
    json!({"color": "none", "sizes": [], "weight": {"grams": 12.5, "exact": true}, "note": null})
}

#[tokio::test]
async fn product_defaults_are_applied() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let created =
            create(&app, backend, PRODUCTS, json!({"sku": "ABC-0001", "title": "Widget", "price": 9.5})).await;
        let id = id_of(&created);
        let expected = json!({
            "id": id,
            "sku": "ABC-0001",
            "title": "Widget",
            "summary": null,
            "price": 9.5,
            "stock": 0,
            "rating": null,
            "storage_temp_c": -18,
            "discount": 0.5,
            "is_published": false,
            "attributes": default_attributes(),
            "status": "draft",
            "launched_on": null,
            "internal_code": "unassigned",
            "created_at": created.body["created_at"],
        });
        assert_eq!(created.body, expected, "{backend:?}: every default applied");
        let read = send(&app, "GET", &format!("{PRODUCTS}/{id}"), None, &[]).await;
        assert_eq!(read.body, expected, "{backend:?}: defaults stored");

        // An explicit value beats the default; the default is not merged into a given JSON.
        let given = create(
            &app,
            backend,
            PRODUCTS,
            json!({"sku": "ABC-0002", "title": "Given", "price": 1.25, "attributes": {"color": "red"}, "discount": 0.0}),
        )
        .await;
        assert_eq!(given.body["attributes"], json!({"color": "red"}), "{backend:?}");
        assert_eq!(given.body["discount"].as_f64(), Some(0.0), "{backend:?}");
    }
}

#[tokio::test]
async fn product_round_trip_with_every_field() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let attributes = json!({
            "color": "blue",
            "sizes": ["S", "M", "L"],
            "weight": {"grams": 12.5, "exact": false, "history": [1, -2, 3.25, null]},
            "unicode": "naïve ☃ 🦀 \"quoted\" back\\slash\nnewline",
            "big": 9_007_199_254_740_993u64,
            "max_u64": u64::MAX,
            "min_i64": i64::MIN,
            "tiny": 1e-7,
            "huge": 1.5e300,
            "negative": -0.25,
            "float_with_zero_fraction": 2.0,
            "empty": {},
            "nested": [[[]]],
            "note": null,
        });
        let sent = json!({
            "sku": "XYZ-9876",
            "title": "Deluxe \"widget\" – größer",
            "summary": "s".repeat(5000),
            "price": 1234.5678901234,
            "stock": i64::MAX,
            "rating": 4.75,
            "storage_temp_c": -80,
            "discount": 0.125,
            "is_published": true,
            "attributes": attributes,
            "status": "in_review",
            "launched_on": "2024-02-29",
        });
        let created = create(&app, backend, PRODUCTS, sent.clone()).await;
        assert_matches_sent(&created.body, &sent, backend, "POST product");
        assert_eq!(created.body["attributes"], attributes, "{backend:?}: JSON round trip");
        assert_eq!(created.body["internal_code"], "unassigned", "{backend:?}");
        let path = format!("{PRODUCTS}/{}", id_of(&created));
        let read = send(&app, "GET", &path, None, &[]).await;
        assert_eq!(read.body, created.body, "{backend:?}: GET equals POST");

        // Boundary values are accepted.
        let boundaries = json!({
            "sku": "XYZ-9876",
            "title": "t".repeat(200),
            "price": 1_000_000.0,
            "stock": 0,
            "rating": 5.0,
            "storage_temp_c": 40,
            "discount": 1.0,
            "is_published": false,
            "attributes": [],
            "status": "archived",
            "launched_on": "1970-01-01",
        });
        let replaced = send(&app, "PUT", &path, Some(boundaries.clone()), &[]).await;
        assert_eq!(replaced.status, StatusCode::OK, "{backend:?}: {}", replaced.text);
        assert_matches_sent(&replaced.body, &boundaries, backend, "PUT product");
        assert_eq!(replaced.body["summary"], Value::Null, "{backend:?}: omitted summary reset");
        assert_eq!(replaced.body["internal_code"], "unassigned", "{backend:?}: read-only field kept");
        assert_eq!(replaced.body["created_at"], created.body["created_at"], "{backend:?}");
        let lower = send(
            &app,
            "PATCH",
            &path,
            Some(json!({"price": 0, "rating": 0, "storage_temp_c": -80, "discount": 0})),
            &[],
        )
        .await;
        assert_eq!(lower.status, StatusCode::OK, "{backend:?}: lower bounds: {}", lower.text);
        assert_eq!(lower.body["price"].as_f64(), Some(0.0), "{backend:?}");

        // A PUT without optional fields restores their defaults, including the JSON default.
        let minimal =
            send(&app, "PUT", &path, Some(json!({"sku": "XYZ-9876", "title": "Minimal", "price": 3.5})), &[]).await;
        assert_eq!(minimal.status, StatusCode::OK, "{backend:?}: {}", minimal.text);
        assert_eq!(minimal.body["attributes"], default_attributes(), "{backend:?}");
        assert_eq!(minimal.body["stock"], 0, "{backend:?}");
        assert_eq!(minimal.body["storage_temp_c"], -18, "{backend:?}");
        assert_eq!(minimal.body["discount"].as_f64(), Some(0.5), "{backend:?}");
        assert_eq!(minimal.body["status"], "draft", "{backend:?}");
        assert_eq!(minimal.body["rating"], Value::Null, "{backend:?}");

        // Merge patch into the JSON default.
        let merged = send(
            &app,
            "PATCH",
            &path,
            Some(json!({"attributes": {"weight": {"exact": null, "unit": "g"}, "color": null, "sizes": ["XL"]}})),
            &[("content-type", "application/merge-patch+json")],
        )
        .await;
        assert_eq!(merged.status, StatusCode::OK, "{backend:?}: {}", merged.text);
        assert_eq!(
            merged.body["attributes"],
            json!({"sizes": ["XL"], "weight": {"grams": 12.5, "unit": "g"}, "note": null}),
            "{backend:?}: RFC 7396 merge"
        );
        let null_json = send(&app, "PATCH", &path, Some(json!({"attributes": null})), &[]).await;
        null_json.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(null_json.error_code_set(), code_set(&[("attributes", "null")]), "{backend:?}");
    }
}

#[tokio::test]
async fn order_round_trip_with_every_field() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let customer_id = Uuid::new_v4();
        let sent = json!({
            "customer_id": customer_id.to_string(),
            "status": "paid",
            "total": 99.99,
            "placed_at": "2026-03-04T05:06:07.123456Z",
            "shipping_address": {"street": "1 Main St", "city": "Zürich", "lines": ["c/o", null], "zip": 8000},
            "priority": 5,
            "gift": false,
            "delivery_date": "2026-03-10",
        });
        let created = create(&app, backend, ORDERS, sent.clone()).await;
        assert_matches_sent(&created.body, &sent, backend, "POST order");
        assert_eq!(created.body["tracking_code"], Value::Null, "{backend:?}: read-only without default");
        let path = format!("{ORDERS}/{}", id_of(&created));
        assert_eq!(send(&app, "GET", &path, None, &[]).await.body, created.body, "{backend:?}");

        // Defaults and nulls.
        let minimal = json!({
            "customer_id": customer_id.to_string(),
            "total": 0.5,
            "placed_at": "2026-03-04T05:06:07Z",
            "shipping_address": "just a string is JSON too",
        });
        let defaults = create(&app, backend, ORDERS, minimal.clone()).await;
        assert_matches_sent(&defaults.body, &minimal, backend, "POST minimal order");
        assert_eq!(defaults.body["status"], "placed", "{backend:?}");
        assert_eq!(defaults.body["priority"], 3, "{backend:?}");
        assert_eq!(defaults.body["gift"], Value::Null, "{backend:?}");
        assert_eq!(defaults.body["delivery_date"], Value::Null, "{backend:?}");

        // UUIDs in other accepted spellings are stored as the same UUID.
        let upper = create(
            &app,
            backend,
            ORDERS,
            json!({"customer_id": customer_id.to_string().to_uppercase(), "total": 1.5, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}}),
        )
        .await;
        assert_eq!(upper.body["customer_id"], customer_id.to_string(), "{backend:?}: canonical lowercase UUID");

        let patched =
            send(&app, "PATCH", &path, Some(json!({"gift": null, "delivery_date": null, "status": "shipped"})), &[])
                .await;
        assert_eq!(patched.status, StatusCode::OK, "{backend:?}: {}", patched.text);
        assert_eq!(patched.body["gift"], Value::Null, "{backend:?}");
        assert_eq!(patched.body["delivery_date"], Value::Null, "{backend:?}");
        assert_eq!(patched.body["status"], "shipped", "{backend:?}");
        assert_eq!(patched.body["shipping_address"], sent["shipping_address"], "{backend:?}: untouched");
    }
}

/// Date-times are stored at microsecond precision: digits below are cut, offsets become UTC.
#[tokio::test]
async fn datetimes_keep_microseconds_and_truncate_below() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for (sent, expected) in [
            ("2026-03-04T05:06:07.123456789+02:00", "2026-03-04T03:06:07.123456Z"),
            ("2026-03-04T05:06:07.1234567Z", "2026-03-04T05:06:07.123456Z"),
            ("2026-03-04T05:06:07.999999999Z", "2026-03-04T05:06:07.999999Z"),
            ("2026-03-04T05:06:07.5-05:30", "2026-03-04T10:36:07.500000Z"),
            ("2026-03-04t05:06:07z", "2026-03-04T05:06:07Z"),
            ("2000-01-01T00:00:00.000001Z", "2000-01-01T00:00:00.000001Z"),
            ("1999-12-31T23:59:59.999999Z", "1999-12-31T23:59:59.999999Z"),
            ("1969-07-20T20:17:40Z", "1969-07-20T20:17:40Z"),
        ] {
            let body = json!({"customer_id": Uuid::new_v4().to_string(), "total": 1.0, "placed_at": sent, "shipping_address": {}});
            let created = create(&app, backend, ORDERS, body).await;
            let expected = parse_time(&json!(expected));
            assert_eq!(parse_time(&created.body["placed_at"]), expected, "{backend:?}: POST placed_at {sent}");
            let read = send(&app, "GET", &format!("{ORDERS}/{}", id_of(&created)), None, &[]).await;
            assert_eq!(parse_time(&read.body["placed_at"]), expected, "{backend:?}: stored placed_at {sent}");
            // The stored instant is found by an exact filter.
            let filter = format!("{ORDERS}?placed_at={}", percent_encode(&expected.to_rfc3339()));
            let found = send(&app, "GET", &filter, None, &[]).await;
            assert_eq!(ids(found.body["items"].as_array().expect("items")), [id_of(&created)], "{backend:?}: {filter}");
        }
    }
}

/// Truncation below microseconds must not depend on the backend or on the side of
/// 2000-01-01 (PostgreSQL's epoch) the instant is on.
#[tokio::test]
async fn datetimes_before_2000_truncate_like_after_2000() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        for (sent, expected) in [
            ("1999-12-31T23:59:59.9999995Z", "1999-12-31T23:59:59.999999Z"),
            ("1815-12-10T12:00:00.1234567Z", "1815-12-10T12:00:00.123456Z"),
        ] {
            let body = json!({"customer_id": Uuid::new_v4().to_string(), "total": 1.0, "placed_at": sent, "shipping_address": {}});
            let created = create(&app, backend, ORDERS, body).await;
            assert_eq!(
                parse_time(&created.body["placed_at"]),
                parse_time(&json!(expected)),
                "{backend:?}: placed_at {sent}"
            );
        }
    }
}

/// A leap second (`23:59:60`, valid RFC 3339) must read back the same on both backends.
#[tokio::test]
async fn leap_seconds_read_back_the_same_on_both_backends() {
    let mut outcomes = Vec::new();
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let mut values = Vec::new();
        for sent in ["2016-12-31T23:59:60Z", "2016-12-31T23:59:60.5Z"] {
            let body = json!({"customer_id": Uuid::new_v4().to_string(), "total": 1.0, "placed_at": sent, "shipping_address": {}});
            let created = create(&app, backend, ORDERS, body).await;
            let read = send(&app, "GET", &format!("{ORDERS}/{}", id_of(&created)), None, &[]).await;
            assert_eq!(read.body["placed_at"], created.body["placed_at"], "{backend:?}: {sent}");
            values.push(created.body["placed_at"].clone());
        }
        outcomes.push(values);
    }
    support::assert_backends_agree(&outcomes, "SQLite and PostgreSQL return the same placed_at");
}

// ---------------------------------------------------------------------------------------------
// Constraints, read-only and sensitive fields
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn constraint_violations_are_422_with_their_codes() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let cases: Vec<(&str, Value, Vec<FieldCode>)> = vec![
            (
                CUSTOMERS,
                json!({"email": "not-an-email", "display_name": "A", "api_key": "short-key"}),
                vec![("email", "pattern"), ("display_name", "min_length"), ("api_key", "min_length")],
            ),
            (
                CUSTOMERS,
                json!({"email": "a b@c.d", "display_name": "x".repeat(81)}),
                vec![("email", "pattern"), ("display_name", "max_length")],
            ),
            (
                CUSTOMERS,
                json!({"email": "a@b@c", "display_name": "  "}),
                vec![("email", "pattern"), ("display_name", "blank")],
            ),
            (
                CUSTOMERS,
                json!({"email": format!("{}@example.com", "a".repeat(243)), "display_name": "ok"}),
                vec![("email", "max_length")],
            ),
            (
                CUSTOMERS,
                json!({"email": "a@b.c", "display_name": "ok", "tier": "gold", "birthday": "1990-02-30"}),
                vec![("tier", "enum"), ("birthday", "type")],
            ),
            (CUSTOMERS, json!({"display_name": "ok"}), vec![("email", "required")]),
            (
                PRODUCTS,
                json!({
                    "sku": "abc-1234",
                    "title": "t".repeat(201),
                    "summary": "s".repeat(5001),
                    "price": -0.01,
                    "stock": -1,
                    "rating": 5.01,
                    "storage_temp_c": -81,
                    "discount": 1.01,
                }),
                vec![
                    ("sku", "pattern"),
                    ("title", "max_length"),
                    ("summary", "max_length"),
                    ("price", "min"),
                    ("stock", "min"),
                    ("rating", "max"),
                    ("storage_temp_c", "min"),
                    ("discount", "max"),
                ],
            ),
            (
                PRODUCTS,
                json!({"sku": "ABC-12345", "title": "t", "price": 1_000_000.5, "rating": -0.5, "storage_temp_c": 41, "discount": -0.1}),
                vec![
                    ("sku", "pattern"),
                    ("price", "max"),
                    ("rating", "min"),
                    ("storage_temp_c", "max"),
                    ("discount", "min"),
                ],
            ),
            (PRODUCTS, json!({"sku": "xABC-1234", "title": "t", "price": 1}), vec![("sku", "pattern")]),
            (
                PRODUCTS,
                json!({"sku": "ABC-1234", "title": "", "price": "1"}),
                vec![("price", "type"), ("title", "blank")],
            ),
            (
                PRODUCTS,
                json!({"sku": "ABC-1234", "title": "t", "price": 1, "stock": 1.5, "launched_on": "2024-02-30", "status": "live"}),
                vec![("stock", "type"), ("launched_on", "type"), ("status", "enum")],
            ),
            (
                PRODUCTS,
                json!({"sku": "ABC-1234", "title": "t", "price": 1, "attributes": null, "is_published": null}),
                vec![("attributes", "null"), ("is_published", "null")],
            ),
            (
                ORDERS,
                json!({"customer_id": "not-a-uuid", "total": -1, "placed_at": "2026-13-01T00:00:00Z", "shipping_address": null, "priority": 0}),
                vec![
                    ("customer_id", "type"),
                    ("placed_at", "type"),
                    ("shipping_address", "null"),
                    ("total", "min"),
                    ("priority", "min"),
                ],
            ),
            (
                ORDERS,
                json!({"customer_id": Uuid::nil().to_string(), "total": -1, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}, "priority": 6}),
                vec![("total", "min"), ("priority", "max")],
            ),
            (
                ORDERS,
                json!({"customer_id": Uuid::nil().to_string(), "total": 1, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}, "priority": 0, "gift": "yes"}),
                vec![("gift", "type"), ("priority", "min")],
            ),
            (
                ORDERS,
                json!({"customer_id": Uuid::nil().to_string(), "total": 1, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}, "priority": 0}),
                vec![("priority", "min")],
            ),
            (
                ORDERS,
                json!({}),
                vec![
                    ("customer_id", "required"),
                    ("total", "required"),
                    ("placed_at", "required"),
                    ("shipping_address", "required"),
                ],
            ),
        ];
        for (path, body, expected) in cases {
            let response = send(&app, "POST", path, Some(body.clone()), &[]).await;
            response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: POST {path} {body}"));
            assert_eq!(
                response.error_code_set(),
                code_set(&expected),
                "{backend:?}: POST {path} {body}: {}",
                response.text
            );
            assert!(!response.text.contains("short-key"), "{backend:?}: messages never echo values: {}", response.text);
        }
        for path in [CUSTOMERS, PRODUCTS, ORDERS] {
            let list = send(&app, "GET", path, None, &[]).await;
            assert_eq!(list.body["total"], 0, "{backend:?}: nothing stored under {path}");
        }
    }
}

#[tokio::test]
async fn read_only_fields_are_rejected_in_every_body() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let product = create(&app, backend, PRODUCTS, json!({"sku": "RDO-0001", "title": "t", "price": 1.5})).await;
        let product_path = format!("{PRODUCTS}/{}", id_of(&product));
        let order = create(
            &app,
            backend,
            ORDERS,
            json!({"customer_id": Uuid::new_v4().to_string(), "total": 2.5, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}}),
        )
        .await;
        let order_path = format!("{ORDERS}/{}", id_of(&order));

        let product_body = json!({"sku": "RDO-0002", "title": "t", "price": 1.5, "internal_code": "X-1"});
        let order_body = json!({"customer_id": Uuid::new_v4().to_string(), "total": 2.5, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}, "tracking_code": "1Z999"});
        for (method, path, body, field) in [
            ("POST", PRODUCTS.to_owned(), product_body.clone(), "internal_code"),
            ("PUT", product_path.clone(), product_body, "internal_code"),
            ("PATCH", product_path.clone(), json!({"internal_code": "X-1"}), "internal_code"),
            ("POST", ORDERS.to_owned(), order_body.clone(), "tracking_code"),
            ("PUT", order_path.clone(), order_body, "tracking_code"),
            ("PATCH", order_path.clone(), json!({"tracking_code": "1Z999"}), "tracking_code"),
            (
                "POST",
                PRODUCTS.to_owned(),
                json!({"sku": "RDO-0003", "title": "t", "price": 1.5, "created_at": "2020-01-01T00:00:00Z"}),
                "created_at",
            ),
            ("PATCH", order_path.clone(), json!({"updated_at": "2020-01-01T00:00:00Z"}), "updated_at"),
            ("PATCH", product_path.clone(), json!({"id": Uuid::new_v4().to_string()}), "id"),
            (
                "POST",
                ORDERS.to_owned(),
                json!({"customer_id": Uuid::new_v4().to_string(), "total": 2.5, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}, "tracking_code": null}),
                "tracking_code",
            ),
        ] {
            let response = send(&app, method, &path, Some(body.clone()), &[]).await;
            response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: {method} {path} {body}"));
            assert_eq!(
                response.error_code_set(),
                code_set(&[(field, "read_only")]),
                "{backend:?}: {method} {path} {body}: {}",
                response.text
            );
        }
        assert_eq!(send(&app, "GET", &product_path, None, &[]).await.body, product.body, "{backend:?}: unchanged");
        assert_eq!(send(&app, "GET", &order_path, None, &[]).await.body, order.body, "{backend:?}: unchanged");
        assert_eq!(send(&app, "GET", PRODUCTS, None, &[]).await.body["total"], 1, "{backend:?}");
        assert_eq!(send(&app, "GET", ORDERS, None, &[]).await.body["total"], 1, "{backend:?}");
    }
}

/// A merge patch that sets a read-only field to `null` is as invalid as one that sets it
/// to a value; a PUT or POST with the same member is refused.
#[tokio::test]
async fn patch_with_null_read_only_fields_is_422() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let product = create(&app, backend, PRODUCTS, json!({"sku": "RDO-0001", "title": "t", "price": 1.5})).await;
        let order = create(
            &app,
            backend,
            ORDERS,
            json!({"customer_id": Uuid::new_v4().to_string(), "total": 2.5, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}}),
        )
        .await;
        for (path, body, field) in [
            (format!("{PRODUCTS}/{}", id_of(&product)), json!({"internal_code": null}), "internal_code"),
            (format!("{ORDERS}/{}", id_of(&order)), json!({"tracking_code": null}), "tracking_code"),
        ] {
            let response = send(&app, "PATCH", &path, Some(body.clone()), &[]).await;
            response.problem_for(StatusCode::UNPROCESSABLE_ENTITY, format_args!("{backend:?}: PATCH {path} {body}"));
            assert_eq!(
                response.error_code_set(),
                code_set(&[(field, "read_only")]),
                "{backend:?}: PATCH {path} {body}"
            );
        }
    }
}

#[tokio::test]
async fn api_key_is_never_returned() {
    for backend in BACKENDS {
        let (test_db, app) = setup(backend).await;
        let created = create(
            &app,
            backend,
            CUSTOMERS,
            json!({"email": "k@example.org", "display_name": "Key", "api_key": API_KEY}),
        )
        .await;
        let id = id_of(&created);
        let path = format!("{CUSTOMERS}/{id}");
        create(
            &app,
            backend,
            CUSTOMERS,
            json!({"email": "l@example.org", "display_name": "Lee", "api_key": OTHER_API_KEY}),
        )
        .await;
        let merge = [("content-type", "application/merge-patch+json")];
        let responses = [
            ("GET", send(&app, "GET", &path, None, &[]).await),
            ("list", send(&app, "GET", CUSTOMERS, None, &[]).await),
            ("list paged", send(&app, "GET", &format!("{CUSTOMERS}?sort=email&limit=1"), None, &[]).await),
            ("list filter", send(&app, "GET", &format!("{CUSTOMERS}?api_key={API_KEY}"), None, &[]).await),
            ("list sort", send(&app, "GET", &format!("{CUSTOMERS}?sort=api_key"), None, &[]).await),
            (
                "PUT",
                send(&app, "PUT", &path, Some(json!({"email": "k@example.org", "display_name": "Key"})), &[]).await,
            ),
            ("PATCH", send(&app, "PATCH", &path, Some(json!({"notes": "n"})), &merge).await),
            ("PATCH key", send(&app, "PATCH", &path, Some(json!({"api_key": OTHER_API_KEY})), &merge).await),
            (
                "POST 409",
                send(
                    &app,
                    "POST",
                    CUSTOMERS,
                    Some(json!({"email": "k@example.org", "display_name": "Dup", "api_key": API_KEY})),
                    &[],
                )
                .await,
            ),
            (
                "POST 422",
                send(
                    &app,
                    "POST",
                    CUSTOMERS,
                    Some(json!({"email": "bad", "display_name": "Bad", "api_key": API_KEY})),
                    &[],
                )
                .await,
            ),
            ("PATCH 422", send(&app, "PATCH", &path, Some(json!({"api_key": API_KEY, "tier": "gold"})), &merge).await),
            (
                "PUT 412",
                send(
                    &app,
                    "PUT",
                    &path,
                    Some(json!({"email": "k@example.org", "display_name": "Key", "api_key": API_KEY})),
                    &[("if-match", "\"1\"")],
                )
                .await,
            ),
        ];
        for (context, response) in &responses {
            assert!(!response.status.is_server_error(), "{backend:?}: {context}: {}", response.text);
            assert_no_api_key(response, backend, context);
        }
        assert_eq!(
            responses[3].1.problem(StatusCode::BAD_REQUEST)["errors"][0]["code"],
            "unknown_parameter",
            "{backend:?}: not a filter"
        );
        assert_eq!(
            responses[4].1.problem(StatusCode::BAD_REQUEST)["errors"][0]["field"],
            "sort",
            "{backend:?}: not sortable"
        );
        responses[8].1.problem(StatusCode::CONFLICT);
        responses[9].1.problem(StatusCode::UNPROCESSABLE_ENTITY);
        responses[10].1.problem(StatusCode::UNPROCESSABLE_ENTITY);
        responses[11].1.problem(StatusCode::PRECONDITION_FAILED);
        assert_eq!(stored_api_key(&test_db, backend, &id).await.as_deref(), Some(OTHER_API_KEY), "{backend:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Uniqueness and independence
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unique_email_and_sku_conflicts_are_409_naming_the_field() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        create(&app, backend, CUSTOMERS, json!({"email": "u@example.org", "display_name": "U1"})).await;
        let other = create(&app, backend, CUSTOMERS, json!({"email": "v@example.org", "display_name": "V1"})).await;
        create(&app, backend, PRODUCTS, json!({"sku": "UNQ-0001", "title": "t", "price": 1.5})).await;
        let other_product =
            create(&app, backend, PRODUCTS, json!({"sku": "UNQ-0002", "title": "t", "price": 1.5})).await;
        let customer_path = format!("{CUSTOMERS}/{}", id_of(&other));
        let product_path = format!("{PRODUCTS}/{}", id_of(&other_product));

        for (method, path, body, field) in [
            ("POST", CUSTOMERS.to_owned(), json!({"email": "u@example.org", "display_name": "U2"}), "email"),
            ("PUT", customer_path.clone(), json!({"email": "u@example.org", "display_name": "V1"}), "email"),
            ("PATCH", customer_path.clone(), json!({"email": "u@example.org"}), "email"),
            ("POST", PRODUCTS.to_owned(), json!({"sku": "UNQ-0001", "title": "other", "price": 2.5}), "sku"),
            ("PUT", product_path.clone(), json!({"sku": "UNQ-0001", "title": "t", "price": 1.5}), "sku"),
            ("PATCH", product_path.clone(), json!({"sku": "UNQ-0001"}), "sku"),
        ] {
            let response = send(&app, method, &path, Some(body.clone()), &[]).await;
            let problem = response.problem_for(StatusCode::CONFLICT, format_args!("{backend:?}: {method} {path}"));
            assert_eq!(problem["type"], "urn:entity-spec:problem:unique-violation", "{backend:?}: {method} {path}");
            assert_eq!(
                response.error_code_set(),
                code_set(&[(field, "unique")]),
                "{backend:?}: {method} {path} {body}: {}",
                response.text
            );
            assert!(response.body["detail"].as_str().unwrap_or("").contains(&format!("`{field}`")), "{backend:?}");
        }
        assert_eq!(send(&app, "GET", &customer_path, None, &[]).await.body, other.body, "{backend:?}: unchanged");
        assert_eq!(
            send(&app, "GET", &product_path, None, &[]).await.body,
            other_product.body,
            "{backend:?}: unchanged"
        );
        // Not unique: two products may share a title, two orders a customer.
        create(&app, backend, PRODUCTS, json!({"sku": "UNQ-0003", "title": "t", "price": 1.5})).await;
    }
}

#[tokio::test]
async fn entities_are_independent() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let customer = create(&app, backend, CUSTOMERS, json!({"email": "i@example.org", "display_name": "Ind"})).await;
        let product = create(&app, backend, PRODUCTS, json!({"sku": "IND-0001", "title": "t", "price": 1.5})).await;
        let order = create(
            &app,
            backend,
            ORDERS,
            json!({"customer_id": id_of(&customer), "total": 1.5, "placed_at": "2026-01-01T00:00:00Z", "shipping_address": {}}),
        )
        .await;
        for (path, created) in [(CUSTOMERS, &customer), (PRODUCTS, &product), (ORDERS, &order)] {
            let list = send(&app, "GET", path, None, &[]).await;
            assert_eq!(list.status, StatusCode::OK, "{backend:?}");
            assert_eq!(list.body["total"], 1, "{backend:?}: {path} lists only its own rows");
            assert_eq!(list.body["items"][0], created.body, "{backend:?}: {path}");
        }
        // An id belongs to one collection only.
        for (path, created) in [(PRODUCTS, &customer), (ORDERS, &product), (CUSTOMERS, &order)] {
            let uri = format!("{path}/{}", id_of(created));
            send(&app, "GET", &uri, None, &[])
                .await
                .problem_for(StatusCode::NOT_FOUND, format_args!("{backend:?}: GET {uri}"));
            send(&app, "DELETE", &uri, None, &[])
                .await
                .problem_for(StatusCode::NOT_FOUND, format_args!("{backend:?}: DELETE {uri}"));
        }
        // Deleting a customer leaves its orders alone (no implicit relation).
        let deleted = send(&app, "DELETE", &format!("{CUSTOMERS}/{}", id_of(&customer)), None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}");
        assert_eq!(
            send(&app, "GET", &format!("{ORDERS}/{}", id_of(&order)), None, &[]).await.status,
            StatusCode::OK,
            "{backend:?}"
        );
        assert_eq!(send(&app, "GET", PRODUCTS, None, &[]).await.body["total"], 1, "{backend:?}");
        // Parameters are checked against each entity's own fields.
        let foreign = send(&app, "GET", &format!("{CUSTOMERS}?sku=IND-0001"), None, &[]).await;
        foreign.problem(StatusCode::BAD_REQUEST);
        assert_eq!(foreign.error_fields(), ["sku"], "{backend:?}");
        for uri in ["/customer", "/catalog", "/products/x/y", "/raw-data-sources"] {
            send(&app, "GET", uri, None, &[])
                .await
                .problem_for(StatusCode::NOT_FOUND, format_args!("{backend:?}: GET {uri}"));
        }
        send(&app, "DELETE", ORDERS, None, &[]).await.problem(StatusCode::METHOD_NOT_ALLOWED);
    }
}

// ---------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------

async fn assert_list(app: &Router, backend: Backend, path: &str, query: &str, expected: &[&Value]) {
    let uri = format!("{path}?{query}");
    let response = send(app, "GET", &uri, None, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{backend:?}: {uri}: {}", response.text);
    assert_no_api_key(&response, backend, &uri);
    let got: BTreeSet<String> = ids(response.body["items"].as_array().expect("items")).into_iter().collect();
    let want: BTreeSet<String> = expected.iter().map(|v| v["id"].as_str().expect("id").to_owned()).collect();
    assert_eq!(got, want, "{backend:?}: {uri}");
    assert_eq!(response.body["total"], expected.len(), "{backend:?}: {uri}: total");
}

/// [`assert_list`] for each `(query, expected)` case of a table, `expected` given as indices
/// into `rows` (the created bodies, in creation order).
async fn assert_lists(
    app: &Router,
    backend: Backend,
    path: &str,
    rows: &[Value],
    cases: &[(impl AsRef<str>, &[usize])],
) {
    for (query, expected) in cases {
        let expected: Vec<&Value> = expected.iter().map(|&i| &rows[i]).collect();
        assert_list(app, backend, path, query.as_ref(), &expected).await;
    }
}

#[tokio::test]
async fn filters_on_every_type() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        let mut products = Vec::new();
        for (sku, price, published, status, launched, rating) in [
            ("FLT-0001", 5.0, true, "active", Some("2024-01-15"), Some(4.5)),
            ("FLT-0002", 19.99, false, "draft", Some("2024-06-01"), None),
            ("FLT-0003", 20.0, true, "archived", Some("2024-06-02"), Some(3.0)),
            ("FLT-0004", 20.01, true, "active", None, None),
            ("FLT-0005", 150.5, false, "in_review", Some("2025-12-31"), Some(5.0)),
        ] {
            let body = json!({"sku": sku, "title": sku, "price": price, "is_published": published, "status": status, "launched_on": launched, "rating": rating});
            products.push(create(&app, backend, PRODUCTS, body).await.body);
        }
        // Expected rows are indices into `products`.
        let product_cases: &[(&str, &[usize])] = &[
            ("launched_on__gte=2024-06-01", &[1, 2, 4]),
            ("launched_on__gt=2024-06-01", &[2, 4]),
            ("launched_on__lt=2024-06-01", &[0]),
            ("launched_on=2024-06-02", &[2]),
            ("launched_on__isnull=true", &[3]),
            ("launched_on__in=2024-01-15,2025-12-31", &[0, 4]),
            ("price__lt=20", &[0, 1]),
            ("price__lte=20", &[0, 1, 2]),
            ("price__gt=20&price__lt=200", &[3, 4]),
            ("price__gte=19.99&price__lte=20.01", &[1, 2, 3]),
            ("price=20", &[2]),
            ("price=19.99", &[1]),
            ("price__gte=1e2", &[4]),
            ("rating__gte=4.5", &[0, 4]),
            ("rating__isnull=true", &[1, 3]),
            ("is_published=true", &[0, 2, 3]),
            ("is_published=false", &[1, 4]),
            ("status__in=active,archived", &[0, 2, 3]),
            ("status=draft,in_review", &[1, 4]),
            ("status=active&is_published=true&price__lt=10", &[0]),
            ("sku=FLT-0003", &[2]),
            ("internal_code=unassigned", &[0, 1, 2, 3, 4]),
            ("stock=0&storage_temp_c__lt=0&discount=0.5", &[0, 1, 2, 3, 4]),
        ];
        assert_lists(&app, backend, PRODUCTS, &products, product_cases).await;

        let alice = Uuid::new_v4();
        let bob = Uuid::new_v4();
        let mut orders = Vec::new();
        for (customer, status, placed, gift, delivery, priority, total) in [
            (alice, "placed", "2026-01-01T10:00:00Z", Some(true), Some("2026-01-05"), 1, 10.0),
            (alice, "paid", "2026-01-02T10:00:00.5Z", Some(false), None, 3, 20.5),
            (bob, "shipped", "2026-01-03T10:00:00+02:00", None, Some("2026-01-10"), 5, 30.25),
            (bob, "cancelled", "2026-01-04T00:00:00Z", Some(false), None, 4, 0.0),
        ] {
            let body = json!({
                "customer_id": customer.to_string(),
                "status": status,
                "placed_at": placed,
                "gift": gift,
                "delivery_date": delivery,
                "priority": priority,
                "total": total,
                "shipping_address": {"customer": customer.to_string()},
            });
            orders.push(create(&app, backend, ORDERS, body).await.body);
        }
        let order_cases: &[(String, &[usize])] = &[
            (format!("customer_id={alice}"), &[0, 1]),
            (format!("customer_id={}", bob.to_string().to_uppercase()), &[2, 3]),
            (format!("customer_id__in={alice},{bob}"), &[0, 1, 2, 3]),
            (format!("customer_id={}", Uuid::new_v4()), &[]),
            (format!("customer_id={alice}&status=paid"), &[1]),
            ("gift=false".to_owned(), &[1, 3]),
            ("gift__isnull=true".to_owned(), &[2]),
            ("gift__isnull=false&gift=true".to_owned(), &[0]),
            ("status__in=paid,shipped".to_owned(), &[1, 2]),
            ("priority__gte=4".to_owned(), &[2, 3]),
            ("total__lte=20.5&total__gt=0".to_owned(), &[0, 1]),
            ("delivery_date__gte=2026-01-06".to_owned(), &[2]),
            ("delivery_date__isnull=true".to_owned(), &[1, 3]),
            // 2026-01-03T10:00:00+02:00 is 08:00 UTC.
            (format!("placed_at__lte={}", percent_encode("2026-01-03T09:00:00+01:00")), &[0, 1, 2]),
            (format!("placed_at__lt={}", percent_encode("2026-01-03T09:00:00+01:00")), &[0, 1]),
            (format!("placed_at__gt={}", percent_encode("2026-01-03T08:00:00Z")), &[3]),
            (format!("placed_at={}", percent_encode("2026-01-02T10:00:00.500Z")), &[1]),
            (format!("placed_at__gte={}", percent_encode("2026-01-02T10:00:00.500001Z")), &[2, 3]),
        ];
        assert_lists(&app, backend, ORDERS, &orders, order_cases).await;

        let mut customers = Vec::new();
        for (email, tier, birthday) in [
            ("c1@example.org", "free", Some("1990-05-01")),
            ("c2@example.org", "pro", None),
            ("c3@example.org", "pro", Some("2001-01-01")),
        ] {
            let body = json!({"email": email, "display_name": email, "tier": tier, "birthday": birthday, "notes": format!("notes of {email}")});
            customers.push(create(&app, backend, CUSTOMERS, body).await.body);
        }
        let customer_cases: &[(&str, &[usize])] = &[
            ("tier=pro", &[1, 2]),
            ("birthday__lt=2000-01-01", &[0]),
            ("birthday__isnull=false", &[0, 2]),
            ("email=c3%40example.org", &[2]),
            ("notes=notes+of+c2%40example.org", &[1]),
        ];
        assert_lists(&app, backend, CUSTOMERS, &customers, customer_cases).await;

        for (path, query, parameter) in [
            (ORDERS, "customer_id=not-a-uuid", "customer_id"),
            (ORDERS, "customer_id__in=a,b", "customer_id__in"),
            (ORDERS, "gift=yes", "gift"),
            (ORDERS, "placed_at__gte=2026-01-01", "placed_at__gte"),
            (ORDERS, "shipping_address=x", "shipping_address"),
            (ORDERS, "tracking_code__gt=a", "tracking_code__gt"),
            (ORDERS, "priority__gte=high", "priority__gte"),
            (PRODUCTS, "launched_on__gte=2024-13-01", "launched_on__gte"),
            (PRODUCTS, "launched_on=2024-02-30", "launched_on"),
            (PRODUCTS, "price__lt=abc", "price__lt"),
            (PRODUCTS, "price__lt=NaN", "price__lt"),
            (PRODUCTS, "price__lt=inf", "price__lt"),
            (PRODUCTS, "status__in=active,live", "status__in"),
            (PRODUCTS, "attributes=x", "attributes"),
            (PRODUCTS, "stock__isnull=true", "stock__isnull"),
            (CUSTOMERS, "birthday__gte=yesterday", "birthday__gte"),
            (CUSTOMERS, "api_key=x", "api_key"),
        ] {
            let response = send(&app, "GET", &format!("{path}?{query}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: {path}?{query}"));
            assert_eq!(response.error_fields(), [parameter], "{backend:?}: {path}?{query}: {}", response.text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sorting and cursor pagination
// ---------------------------------------------------------------------------------------------

async fn assert_sorted_pages(app: &Router, backend: Backend, path: &str, filter: &str, sort: &str, all: &[Value]) {
    const LIMIT: usize = 3;
    let query = if filter.is_empty() {
        format!("sort={sort}&limit={LIMIT}")
    } else {
        format!("{filter}&sort={sort}&limit={LIMIT}")
    };
    let items = collect_pages(app, backend, path, &query, LIMIT, all.len(), |_, _| {}).await;
    let got = ids(&items);
    let unique: BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "{backend:?}: {path}?{query}: a row was repeated");
    assert_eq!(got.len(), all.len(), "{backend:?}: {path}?{query}: a row was skipped");
    assert_eq!(got, expected_order(all, sort), "{backend:?}: {path}?{query}: order");
    // Offset pagination agrees with cursor pagination.
    let mut by_offset = Vec::new();
    for offset in (0..all.len()).step_by(LIMIT) {
        let response = send(app, "GET", &format!("{path}?{query}&offset={offset}"), None, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{backend:?}: {}", response.text);
        by_offset.extend(ids(response.body["items"].as_array().expect("items")));
    }
    assert_eq!(by_offset, got, "{backend:?}: {path}?{query}: offset pages");
}

#[tokio::test]
async fn sorting_with_cursor_pages_on_floats_datetimes_enums_booleans_and_uuids() {
    for backend in BACKENDS {
        let (_db, app) = setup(backend).await;
        // Ties on every sort field, so that the id must break them.
        let mut products = Vec::new();
        for i in 0..13u32 {
            let price = [19.99, 5.0, 1000.25, 19.99, 0.0, 42.0, 5.0][i as usize % 7];
            let status = ["draft", "in_review", "active", "archived"][i as usize % 4];
            let body = json!({"sku": format!("SRT-{:04}", (i * 5) % 13), "title": "t", "price": price, "is_published": i % 2 == 0, "status": status});
            products.push(create(&app, backend, PRODUCTS, body).await.body);
        }
        for sort in [
            "-price",
            "price",
            "sku",
            "-sku",
            "status",
            "-status",
            "is_published",
            "-is_published",
            "created_at",
            "-created_at",
            "id",
            "-id",
        ] {
            assert_sorted_pages(&app, backend, PRODUCTS, "", sort, &products).await;
        }
        let published: Vec<Value> = products.iter().filter(|p| p["is_published"] == true).cloned().collect();
        assert_sorted_pages(&app, backend, PRODUCTS, "is_published=true", "-price", &published).await;
        let cheap: Vec<Value> = products.iter().filter(|p| p["price"].as_f64() < Some(20.0)).cloned().collect();
        assert_sorted_pages(&app, backend, PRODUCTS, "price__lt=20", "price", &cheap).await;

        let customers_ids = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let mut orders = Vec::new();
        for i in 0..11usize {
            let placed = [
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00.000001Z",
                "2025-12-31T23:59:59.999999Z",
                "2026-01-01T00:00:00Z",
                "2026-06-15T12:30:00+05:30",
            ][i % 5];
            let status = ["placed", "paid", "shipped", "cancelled"][i % 4];
            let body = json!({
                "customer_id": customers_ids[i % 3].to_string(),
                "status": status,
                "total": i as f64,
                "placed_at": placed,
                "shipping_address": {"n": i},
            });
            orders.push(create(&app, backend, ORDERS, body).await.body);
        }
        // Indexed fields and, reading every matching row, unindexed ones (`total`, `priority`).
        for sort in [
            "placed_at",
            "-placed_at",
            "customer_id",
            "-customer_id",
            "status",
            "-status",
            "updated_at",
            "-created_at",
            "total",
            "-total",
        ] {
            assert_sorted_pages(&app, backend, ORDERS, "", sort, &orders).await;
        }
        let first: Vec<Value> =
            orders.iter().filter(|o| o["customer_id"] == customers_ids[0].to_string()).cloned().collect();
        assert_sorted_pages(&app, backend, ORDERS, &format!("customer_id={}", customers_ids[0]), "-placed_at", &first)
            .await;

        let mut customers = Vec::new();
        for i in 0..7usize {
            let tier = ["free", "pro", "enterprise"][i % 3];
            let body =
                json!({"email": format!("user{}@example.org", (i * 3) % 7), "display_name": "Name", "tier": tier});
            customers.push(create(&app, backend, CUSTOMERS, body).await.body);
        }
        for sort in ["email", "-email", "tier", "-tier"] {
            assert_sorted_pages(&app, backend, CUSTOMERS, "", sort, &customers).await;
        }

        // JSON documents (no order) and secrets (an order would leak them) are not sortable; a
        // cursor is bound to its entity's query.
        for (path, sort) in [(ORDERS, "shipping_address"), (ORDERS, "-shipping_address"), (CUSTOMERS, "api_key")] {
            let response = send(&app, "GET", &format!("{path}?sort={sort}"), None, &[]).await;
            response.problem_for(StatusCode::BAD_REQUEST, format_args!("{backend:?}: {path}?sort={sort}"));
            assert_eq!(response.error_fields(), ["sort"], "{backend:?}: {path}?sort={sort}");
        }
        let page = send(&app, "GET", &format!("{PRODUCTS}?sort=-price&limit=2"), None, &[]).await;
        let cursor = page.body["next_cursor"].as_str().expect("next page").to_owned();
        let other = send(&app, "GET", &format!("{PRODUCTS}?sort=price&limit=2&cursor={cursor}"), None, &[]).await;
        other.problem(StatusCode::BAD_REQUEST);
        assert_eq!(other.error_fields(), ["cursor"], "{backend:?}");
    }
}
