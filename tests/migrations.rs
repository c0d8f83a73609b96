//! Schema migrations from the spec, on both backends: additive changes keep every row,
//! destructive ones need an explicit opt-in, and unsafe ones are refused with nothing changed.

mod support;

use axum::http::StatusCode;
use entity_spec::{MigrateError, MigrateOptions};
use serde_json::json;
use support::{BACKENDS, TestDb, send};

/// The reference spec before `tags` (and its `sync_status` index) were added.
#[entity_spec::entity_spec("tests/specs/migrations/raw_data_sources_v1.json")]
pub mod before_tags {}

/// The reference spec as it is now.
#[entity_spec::entity_spec("specs/entities.json")]
pub mod with_tags {}

support::raw_data_source_test_actions!(with_tags);

#[entity_spec::entity_spec("tests/specs/migrations/gadget_v1.json")]
pub mod gadget_v1 {}

#[entity_spec::entity_spec("tests/specs/migrations/gadget_v2_destructive.json")]
pub mod gadget_v2 {}

#[entity_spec::entity_spec("tests/specs/migrations/gadget_v3_unsafe.json")]
pub mod gadget_v3 {}

#[entity_spec::entity_spec("tests/specs/migrations/gadget_v4_additive.json")]
pub mod gadget_v4 {}

#[entity_spec::entity_spec("tests/specs/migrations/gadget_v5_searchable.json")]
pub mod gadget_v5 {}

#[entity_spec::entity_spec("tests/specs/migrations/gadget_v6_searchable_rebuilt.json")]
pub mod gadget_v6 {}

#[entity_spec::entity_spec("tests/specs/migrations/shelving_v1.json")]
pub mod shelving_v1 {}

#[entity_spec::entity_spec("tests/specs/migrations/shelving_v2_references.json")]
pub mod shelving_v2 {}

const SAFE: MigrateOptions = MigrateOptions { allow_destructive: false };
const DESTRUCTIVE: MigrateOptions = MigrateOptions { allow_destructive: true };

async fn list(app: &axum::Router, path: &str) -> serde_json::Value {
    let response = send(app, "GET", &format!("{path}?limit=500"), None, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

#[tokio::test]
async fn adding_the_tags_field_keeps_every_row() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let report = before_tags::migrate(&test_db.db, SAFE).await.unwrap();
        assert_eq!(report.applied, ["raw_data_sources: create table"], "{backend:?}");
        let old = support::open(before_tags::service(test_db.db.clone()));
        for i in 0..30 {
            let body = json!({"name": format!("source-{i}"), "connection_string": format!("postgres://db{i}"), "source_type": "database"});
            let created = send(&old, "POST", "/raw-data-sources", Some(body), &[]).await;
            assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
        }
        let before = list(&old, "/raw-data-sources").await;

        // "Restart" on the new spec: a new pool, the new generated code.
        let db = test_db.reconnect().await;
        let report = with_tags::migrate(&db, SAFE).await.unwrap();
        assert_eq!(
            report.applied,
            [
                "raw_data_sources: add column tags",
                "raw_data_sources: create index raw_data_sources_sync_status_idx",
                "raw_data_sources: create full-text index raw_data_sources_fts_bac855bd over name",
            ],
            "{backend:?}"
        );
        let new = support::started(with_tags::service(db.clone(), TestActions), support::quiet_engine());
        let after = list(&new, "/raw-data-sources").await;
        assert_eq!(after["total"], 30, "{backend:?}");
        let before_items = before["items"].as_array().unwrap();
        let after_items = after["items"].as_array().unwrap();
        for (old_row, new_row) in before_items.iter().zip(after_items) {
            let mut expected = old_row.clone();
            expected["tags"] = serde_json::Value::Null;
            assert_eq!(new_row, &expected, "{backend:?}");
        }
        // The rows stored before are in the new full-text index.
        let found = send(&new, "GET", "/raw-data-sources?q=SOURCE%2012", None, &[]).await;
        assert_eq!(found.body["items"][0]["name"], "source-12", "{backend:?}: {}", found.text);
        assert_eq!(found.body["total"], 1, "{backend:?}: {}", found.text);
        // Secrets survived too, and the new field works.
        let id = after_items[0]["id"].as_str().unwrap();
        let stored = entity_spec::__private::runtime::store::get::<with_tags::RawDataSource>(&db, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.entity.connection_string.expose(), "postgres://db0", "{backend:?}");
        let patched =
            send(&new, "PATCH", &format!("/raw-data-sources/{id}"), Some(json!({"tags": ["finance"]})), &[]).await;
        assert_eq!(patched.body["tags"], json!(["finance"]), "{backend:?}: {}", patched.text);

        // Running the same spec again changes nothing.
        assert!(with_tags::migrate(&db, SAFE).await.unwrap().applied.is_empty(), "{backend:?}");
    }
}

#[tokio::test]
async fn a_runs_table_from_before_retries_gets_their_columns_and_keeps_its_runs() {
    use entity_spec::__private::runtime::db::Sql;
    use entity_spec::__private::runtime::runs::RUNS_TABLE;
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        with_tags::migrate(&test_db.db, SAFE).await.unwrap();
        let app = support::started(with_tags::service(test_db.db.clone(), TestActions), support::quiet_engine());
        let body = json!({"name": "old", "source_type": "webhook", "connection_string": "x"});
        let id = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await.body["id"].as_str().unwrap().to_owned();
        send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        let history = format!("/raw-data-sources/{id}/syncs");
        let mut finished = json!(null);
        for _ in 0..300 {
            finished = send(&app, "GET", &history, None, &[]).await.body["items"][0].clone();
            if finished["status"] == "success" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(finished["status"], "success", "{backend:?}: {finished}");
        // The table as a version before retries left it: without their columns.
        for column in ["attempt", "not_before"] {
            let mut drop = Sql::new(backend);
            drop.push(&format!("ALTER TABLE \"{RUNS_TABLE}\" DROP COLUMN \"{column}\""));
            test_db.db.execute(drop).await.unwrap();
        }

        let db = test_db.reconnect().await;
        let report = with_tags::migrate(&db, SAFE).await.unwrap();
        assert_eq!(
            report.applied,
            ["_entity_spec_runs: add column attempt", "_entity_spec_runs: add column not_before"],
            "{backend:?}"
        );
        let app = support::started(with_tags::service(db.clone(), TestActions), support::quiet_engine());
        let kept = send(&app, "GET", &history, None, &[]).await;
        let mut expected = finished.clone();
        (expected["attempt"], expected["not_before"]) = (json!(1), json!(null));
        assert_eq!(kept.body["items"], json!([expected]), "{backend:?}: a first attempt, due when queued");
        // The queue works on the caught-up table.
        let queued = send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
        assert_eq!((queued.status, &queued.body["attempt"]), (StatusCode::ACCEPTED, &json!(1)), "{backend:?}");
        assert!(with_tags::migrate(&db, SAFE).await.unwrap().applied.is_empty(), "{backend:?}");
    }
}

#[tokio::test]
async fn destructive_changes_stop_startup_unless_opted_in() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        gadget_v1::migrate(&test_db.db, SAFE).await.unwrap();
        let v1 = support::open(gadget_v1::service(test_db.db.clone()));
        for (name, weight) in [("a", 3), ("b", 4)] {
            let created =
                send(&v1, "POST", "/gadgets", Some(json!({"name": name, "weight": weight, "note": "keep me"})), &[])
                    .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        }

        let error = gadget_v2::migrate(&test_db.db, SAFE).await.unwrap_err();
        let MigrateError::Refused(changes) = &error else { panic!("{backend:?}: {error}") };
        assert!(changes.iter().any(|c| c.starts_with("gadgets.weight: change type")), "{backend:?}: {changes:?}");
        assert!(changes.iter().any(|c| c.starts_with("gadgets.note: drop column")), "{backend:?}: {changes:?}");
        assert!(error.to_string().contains("ENTITY_SPEC_ALLOW_DESTRUCTIVE=1"), "{error}");
        // Nothing changed: the old service still reads every row, notes included.
        let rows = list(&v1, "/gadgets").await;
        assert_eq!(rows["total"], 2, "{backend:?}");
        assert!(rows["items"].as_array().unwrap().iter().all(|r| r["note"] == "keep me"), "{backend:?}");

        let report = gadget_v2::migrate(&test_db.db, DESTRUCTIVE).await.unwrap();
        assert!(
            report.applied.iter().any(|c| c.starts_with("gadgets.note: drop column")),
            "{backend:?}: {:?}",
            report.applied
        );
        let v2 = support::open(gadget_v2::service(test_db.reconnect().await));
        let rows = list(&v2, "/gadgets").await;
        let mut weights: Vec<f64> =
            rows["items"].as_array().unwrap().iter().map(|r| r["weight"].as_f64().unwrap()).collect();
        weights.sort_by(f64::total_cmp);
        assert_eq!(weights, [3.0, 4.0], "{backend:?}: integers were converted to floats");
    }
}

#[tokio::test]
async fn changes_that_would_break_stored_rows_are_refused_even_with_opt_in() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        gadget_v1::migrate(&test_db.db, SAFE).await.unwrap();
        let v1 = support::open(gadget_v1::service(test_db.db.clone()));
        let created = send(&v1, "POST", "/gadgets", Some(json!({"name": "a", "color": "blue"})), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

        let error = gadget_v3::migrate(&test_db.db, DESTRUCTIVE).await.unwrap_err();
        let MigrateError::Refused(changes) = &error else { panic!("{backend:?}: {error}") };
        assert_eq!(changes.len(), 2, "{backend:?}: {changes:?}");
        assert!(changes[0].starts_with("gadgets.color: 1 row(s) hold values that are no longer"), "{changes:?}");
        assert!(changes[1].starts_with("gadgets.serial: new required field without a default"), "{changes:?}");
        assert_eq!(list(&v1, "/gadgets").await["total"], 1, "{backend:?}");
    }
}

#[tokio::test]
async fn additive_changes_apply_in_place_with_defaults_for_existing_rows() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        gadget_v1::migrate(&test_db.db, SAFE).await.unwrap();
        let v1 = support::open(gadget_v1::service(test_db.db.clone()));
        let created = send(&v1, "POST", "/gadgets", Some(json!({"name": "old", "color": "red"})), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

        let report = gadget_v4::migrate(&test_db.db, SAFE).await.unwrap();
        assert_eq!(
            report.applied,
            [
                "gadgets: add column rating",
                "gadgets: add column in_stock",
                "gadgets: add column label",
                "gadgets: add column specs",
                "gadgets: add column created_at",
                "gadgets: create index gadgets_name_key",
                "gadgets: create index gadgets_color_idx",
                "gadgets: create index gadgets_created_at_id_idx",
            ],
            "{backend:?}"
        );
        let v4 = support::open(gadget_v4::service(test_db.reconnect().await));
        let rows = list(&v4, "/gadgets").await;
        let row = &rows["items"][0];
        assert_eq!(row["name"], "old");
        assert_eq!(row["rating"], serde_json::Value::Null, "{backend:?}");
        assert_eq!(row["in_stock"], true, "{backend:?}");
        assert_eq!(row["label"], "it's \"new\"", "{backend:?}: quotes in defaults are escaped");
        assert_eq!(row["specs"], json!({"v": 1}), "{backend:?}");
        assert!(row["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{backend:?}: {row}");
        // The new unique index is enforced.
        let duplicate = send(&v4, "POST", "/gadgets", Some(json!({"name": "old"})), &[]).await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT, "{backend:?}: {}", duplicate.text);
    }
}

#[tokio::test]
async fn a_reference_added_to_an_existing_column_refuses_orphans_then_keeps_every_row() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        shelving_v1::migrate(&test_db.db, SAFE).await.unwrap();
        let old = support::open(shelving_v1::service(test_db.db.clone()));
        let shelf = send(&old, "POST", "/shelfs", Some(json!({"label": "A"})), &[]).await;
        let shelf = shelf.body["id"].as_str().unwrap().to_owned();
        let shelved = send(&old, "POST", "/items", Some(json!({"name": "kept", "shelf_id": shelf})), &[]).await;
        assert_eq!(shelved.status, StatusCode::CREATED, "{backend:?}: {}", shelved.text);
        let orphan = json!({"name": "orphan", "shelf_id": "00000000-0000-7000-8000-0000000000de"});
        let orphan = send(&old, "POST", "/items", Some(orphan), &[]).await.body["id"].as_str().unwrap().to_owned();

        let db = test_db.reconnect().await;
        let error = shelving_v2::migrate(&db, SAFE).await.expect_err("an orphan stops the migration");
        let MigrateError::Refused(changes) = &error else { panic!("{backend:?}: {error}") };
        assert_eq!(
            changes,
            &["items.shelf_id: now refers to Shelf, but 1 row(s) hold ids no Shelf has; fix or clear them first"],
            "{backend:?}"
        );

        let deleted = send(&old, "DELETE", &format!("/items/{orphan}"), None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}");
        let report = shelving_v2::migrate(&db, SAFE).await.unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert!(
            report.applied.contains(&"items.shelf_id: add foreign key to shelfs (on delete cascade)".to_owned()),
            "{backend:?}: {:?}",
            report.applied
        );
        // SQLite rebuilt both tables (the referenced one for its relaxed NOT NULL) without
        // touching the rows that refer to it.
        let new = support::open(shelving_v2::service(db.clone()));
        let items = list(&new, "/items").await;
        assert_eq!(items["total"], 1, "{backend:?}: {items}");
        assert_eq!(items["items"][0]["shelf_id"], shelf.as_str(), "{backend:?}");
        let refused = send(&new, "POST", "/items", Some(json!({"name": "x", "shelf_id": orphan})), &[]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {}", refused.text);
        let deleted = send(&new, "DELETE", &format!("/shelfs/{shelf}"), None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{backend:?}");
        assert_eq!(list(&new, "/items").await["total"], 0, "{backend:?}: the cascade holds after the migration");
        // Migrating again finds nothing to do.
        assert_eq!(shelving_v2::migrate(&db, SAFE).await.unwrap().applied, Vec::<String>::new(), "{backend:?}");
    }
}

/// The ids a search finds, in relevance order.
async fn found(app: &axum::Router, path: &str, q: &str) -> Vec<String> {
    let response = send(app, "GET", &format!("{path}?q={q}"), None, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    support::ids(response.body["items"].as_array().expect("items"))
}

#[tokio::test]
async fn a_full_text_index_is_filled_from_stored_rows_kept_through_a_rebuild_and_dropped() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        gadget_v1::migrate(&test_db.db, SAFE).await.unwrap();
        let v1 = support::open(gadget_v1::service(test_db.db.clone()));
        let mut ids = Vec::new();
        for (name, note) in [("Copper kettle", "whistles when it boils"), ("Steel kettle", "quiet"), ("Lamp", "bright")]
        {
            let created = send(&v1, "POST", "/gadgets", Some(json!({"name": name, "note": note})), &[]).await;
            assert_eq!(created.status, StatusCode::CREATED, "{backend:?}: {}", created.text);
            ids.push(created.body["id"].as_str().unwrap().to_owned());
        }

        // Searchable fields added: the index is created and filled from the stored rows.
        let report = gadget_v5::migrate(&test_db.db, SAFE).await.unwrap();
        assert_eq!(report.applied.len(), 1, "{backend:?}: {:?}", report.applied);
        assert!(
            report.applied[0].starts_with("gadgets: create full-text index gadgets_fts_")
                && report.applied[0].ends_with(" over name, note"),
            "{backend:?}: {:?}",
            report.applied
        );
        let v5 = support::open(gadget_v5::service(test_db.reconnect().await));
        let mut kettles = found(&v5, "/gadgets", "kettle").await;
        kettles.sort();
        assert_eq!(kettles, [ids[0].clone(), ids[1].clone()], "{backend:?}");
        assert_eq!(found(&v5, "/gadgets", "whistle").await, vec![ids[0].clone()], "{backend:?}");
        assert!(gadget_v5::migrate(&test_db.db, SAFE).await.unwrap().applied.is_empty(), "{backend:?}: nothing to do");

        // A change SQLite makes by rebuilding the table keeps the index and its triggers.
        let report = gadget_v6::migrate(&test_db.db, SAFE).await.unwrap();
        assert!(report.applied.iter().all(|change| !change.contains("full-text")), "{backend:?}: {:?}", report.applied);
        let v6 = support::open(gadget_v6::service(test_db.reconnect().await));
        assert_eq!(found(&v6, "/gadgets", "boils").await, vec![ids[0].clone()], "{backend:?}: after the rebuild");
        let lamp =
            send(&v6, "PATCH", &format!("/gadgets/{}", ids[2]), Some(json!({"note": "a kettle-shaped lamp"})), &[])
                .await;
        assert_eq!(lamp.status, StatusCode::OK, "{backend:?}: {}", lamp.text);
        let added = send(&v6, "POST", "/gadgets", Some(json!({"name": "Iron", "note": "kettle descaler"})), &[]).await;
        assert_eq!(added.status, StatusCode::CREATED, "{backend:?}: {}", added.text);
        assert_eq!(
            found(&v6, "/gadgets", "kettle").await.len(),
            4,
            "{backend:?}: writes after the rebuild are indexed"
        );

        // A text of a megabyte of distinct words (more than a PostgreSQL `tsvector` holds) is
        // stored; its first 100,000 characters are searchable there, all of it on SQLite.
        let words: Vec<String> = (0..120_000).map(|i| format!("w{i:06x}")).collect();
        let note = format!("leviathan {}", words.join(" "));
        assert!(note.len() > 900_000, "{}", note.len());
        let big = send(&v6, "POST", "/gadgets", Some(json!({"name": "Tome", "note": note})), &[]).await;
        assert_eq!(big.status, StatusCode::CREATED, "{backend:?}: {}", &big.text[..big.text.len().min(300)]);
        assert_eq!(found(&v6, "/gadgets", "leviathan").await.len(), 1, "{backend:?}");

        // No searchable field left: the index goes, and `q` with it.
        let report = gadget_v1::migrate(&test_db.db, SAFE).await.unwrap();
        assert!(
            report.applied.iter().any(|change| change.starts_with("gadgets: drop full-text index gadgets_fts_")),
            "{backend:?}: {:?}",
            report.applied
        );
        let v1 = support::open(gadget_v1::service(test_db.reconnect().await));
        let refused = send(&v1, "GET", "/gadgets?q=kettle", None, &[]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", refused.text);
        let listed = list(&v1, "/gadgets").await;
        assert_eq!(listed["total"], 5, "{backend:?}: every row kept");
    }
}
