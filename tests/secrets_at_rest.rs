//! Sensitive fields at rest, on both databases: the raw column holds ciphertext while the API
//! and actions use the plain value; key rotation and re-encryption keep every row readable;
//! a missing key or no key at all refuses start-up; rows stored in plain text by earlier
//! versions are encrypted by the migration; new SQLite files and their key file are private.

mod support;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::__private::runtime::cipher::{Keyring, sealed_key_id};
use entity_spec::__private::runtime::db::{Pool, Sql};
use entity_spec::__private::runtime::storage::sealed_columns::reencrypt;
use entity_spec::__private::runtime::value::{SqlType, SqlValue};
use entity_spec::{ApiError, Backend, Db, MigrateError, MigrateOptions};
use serde_json::json;
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

use model::{RawDataSource, RawDataSourceTestConnectionResponse};

const KEY_A: &str = "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "b:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// `test_connection` answers with the connection string it was given: what an action sees.
struct Echo;

impl model::RawDataSourceActions for Echo {
    async fn sync(&self, _source: &mut RawDataSource) -> Result<String, String> {
        Ok("synced".to_owned())
    }

    async fn test_connection(&self, source: RawDataSource) -> Result<RawDataSourceTestConnectionResponse, ApiError> {
        Ok(RawDataSourceTestConnectionResponse {
            ok: true,
            latency_ms: 0,
            message: source.connection_string.into_inner(),
        })
    }
}

fn keyed(db: &Db, keys: &str) -> Db {
    Db::from_pool(db.pool().clone()).with_keyring(Keyring::parse(keys).unwrap())
}

async fn service(db: &Db) -> Router {
    model::migrate(db, MigrateOptions::default()).await.unwrap();
    support::open(model::service(db.clone(), Echo))
}

async fn create(app: &Router, name: &str, dsn: &str) -> String {
    let body = json!({"name": name, "source_type": "database", "connection_string": dsn});
    let created = send(app, "POST", "/raw-data-sources", Some(body), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert!(!created.text.contains(dsn), "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// What the action sees as the connection string of `id`.
async fn seen_by_action(app: &Router, id: &str) -> String {
    let tested = send(app, "POST", &format!("/raw-data-sources/{id}/test"), None, &[]).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.text);
    tested.body["message"].as_str().unwrap().to_owned()
}

/// `connection_string` of every row as stored, by id.
async fn raw_values(db: &Db) -> Vec<(String, String)> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT id, connection_string FROM raw_data_sources ORDER BY name");
    let rows = db.fetch_all(sql, &[SqlType::Uuid, SqlType::Text]).await.unwrap();
    rows.into_iter()
        .map(|row| match &row[..] {
            [SqlValue::Uuid(id), SqlValue::Text(text)] => (id.to_string(), text.clone()),
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}

async fn set_raw(db: &Db, id: &str, value: &str) {
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE raw_data_sources SET connection_string = ")
        .push_bind(SqlValue::Text(value.to_owned()))
        .push(" WHERE id = ")
        .push_bind(SqlValue::Uuid(id.parse().unwrap()));
    db.execute(sql).await.unwrap();
}

#[tokio::test]
async fn raw_columns_hold_ciphertext_while_actions_see_the_plain_value() {
    for backend in BACKENDS {
        let test = TestDb::new(backend).await;
        let app = service(&test.db).await;
        let dsn = "postgres://admin:hunter2@db.internal/prod";
        let id = create(&app, "warehouse", dsn).await;

        let [(_, stored)] = &raw_values(&test.db).await[..] else { panic!("one row") };
        assert!(stored.starts_with("esv1:test:"), "{backend:?}: {stored}");
        assert!(!stored.contains("hunter2") && !stored.contains("db.internal"), "{backend:?}: {stored}");
        assert_eq!(seen_by_action(&app, &id).await, dsn, "{backend:?}");

        // A PUT that omits the secret keeps it (sealed again, with a fresh nonce).
        let put = json!({"name": "warehouse 2", "source_type": "database"});
        let replaced = send(&app, "PUT", &format!("/raw-data-sources/{id}"), Some(put), &[]).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
        let [(_, restored)] = &raw_values(&test.db).await[..] else { panic!("one row") };
        assert_ne!(restored, stored, "{backend:?}: a fresh nonce per write");
        assert_eq!(seen_by_action(&app, &id).await, dsn, "{backend:?}");

        // Ciphertext copied into another row does not decrypt there: it is bound to its row.
        let other = create(&app, "other", "sqlite://other.db").await;
        set_raw(&test.db, &other, restored).await;
        let moved = send(&app, "POST", &format!("/raw-data-sources/{other}/test"), None, &[]).await;
        assert_eq!(moved.status, StatusCode::INTERNAL_SERVER_ERROR, "{backend:?}: {}", moved.text);
        assert!(!moved.text.contains("hunter2") && !moved.text.contains("esv1"), "{}", moved.text);
    }
}

#[tokio::test]
async fn rotation_and_reencryption_keep_every_row_readable() {
    for backend in BACKENDS {
        let test = TestDb::new(backend).await;
        let under_a = keyed(&test.db, KEY_A);
        let app = service(&under_a).await;
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(create(&app, &format!("source {n}"), &format!("postgres://u:p{n}@h/db")).await);
        }
        assert!(raw_values(&test.db).await.iter().all(|(_, v)| sealed_key_id(v) == Some("a")));

        // Restart with B first: A's rows still read, new writes use B.
        let rotated = keyed(&test.db, &format!("{KEY_B},{KEY_A}"));
        let app = service(&rotated).await;
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(seen_by_action(&app, id).await, format!("postgres://u:p{n}@h/db"), "{backend:?}");
        }
        let counts = reencrypt(&rotated, &[<RawDataSource as entity_spec::Entity>::DEF]).await.unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!(
            (counts[0].column.as_str(), counts[0].reencrypted, counts[0].current),
            ("raw_data_sources.connection_string", 3, 0)
        );
        assert!(raw_values(&test.db).await.iter().all(|(_, v)| sealed_key_id(v) == Some("b")), "{backend:?}");
        let again = reencrypt(&rotated, &[<RawDataSource as entity_spec::Entity>::DEF]).await.unwrap();
        assert_eq!((again[0].reencrypted, again[0].current), (0, 3), "{backend:?}: nothing left to do");

        // A can go now.
        let only_b = keyed(&test.db, KEY_B);
        let app = service(&only_b).await;
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(seen_by_action(&app, id).await, format!("postgres://u:p{n}@h/db"), "{backend:?}");
        }
    }
}

#[tokio::test]
async fn a_missing_key_refuses_start_up_and_names_it() {
    for backend in BACKENDS {
        let test = TestDb::new(backend).await;
        let under_a = keyed(&test.db, KEY_A);
        let app = service(&under_a).await;
        create(&app, "warehouse", "postgres://u:hunter2@h/db").await;

        let error = model::migrate(&keyed(&test.db, KEY_B), MigrateOptions::default()).await.unwrap_err();
        assert!(matches!(error, MigrateError::Secrets(_)), "{backend:?}: {error:?}");
        let message = error.to_string();
        assert!(message.contains("key `a` (raw_data_sources.connection_string)"), "{backend:?}: {message}");
        assert!(message.contains("ENTITY_SPEC_SECRET_KEY"), "{message}");
        assert!(!message.contains("hunter2") && !message.contains("esv1:a:"), "{message}");

        // No key at all (PostgreSQL without ENTITY_SPEC_SECRET_KEY): refused, saying what to set.
        let keyless = Db::from_pool(test.db.pool().clone());
        let error = model::migrate(&keyless, MigrateOptions::default()).await.unwrap_err().to_string();
        assert!(error.contains("no key is configured: set ENTITY_SPEC_SECRET_KEY"), "{backend:?}: {error}");
        assert!(error.contains("raw_data_sources.connection_string"), "{error}");
    }
}

#[tokio::test]
async fn plain_text_rows_are_encrypted_by_the_migration_once() {
    for backend in BACKENDS {
        let test = TestDb::new(backend).await;
        let app = service(&test.db).await;
        let id = create(&app, "legacy", "placeholder").await;
        let untouched = create(&app, "new", "sqlite://new.db").await;
        // As a version before encryption stored it.
        set_raw(&test.db, &id, "postgres://u:hunter2@old/db").await;

        let report = model::migrate(&test.db, MigrateOptions::default()).await.unwrap();
        assert_eq!(report.applied, ["raw_data_sources.connection_string: encrypted 1 stored value(s)"], "{backend:?}");
        let stored = raw_values(&test.db).await;
        assert!(stored.iter().all(|(_, v)| v.starts_with("esv1:test:") && !v.contains("hunter2")), "{stored:?}");
        assert_eq!(seen_by_action(&app, &id).await, "postgres://u:hunter2@old/db", "{backend:?}");
        assert_eq!(seen_by_action(&app, &untouched).await, "sqlite://new.db", "{backend:?}");

        let report = model::migrate(&test.db, MigrateOptions::default()).await.unwrap();
        assert!(report.applied.is_empty(), "{backend:?}: {:?}", report.applied);
        assert_eq!(raw_values(&test.db).await, stored, "{backend:?}: sealed values are left as they are");
    }
}

#[tokio::test]
async fn writing_a_sensitive_value_without_a_key_fails_closed() {
    for backend in BACKENDS {
        let test = TestDb::new(backend).await;
        model::migrate(&test.db, MigrateOptions::default()).await.unwrap();
        let keyless = Db::from_pool(test.db.pool().clone());
        let app = support::open(model::service(keyless, Echo));
        let body = json!({"name": "x", "connection_string": "postgres://u:hunter2@h/db"});
        let refused = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
        assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR, "{backend:?}: {}", refused.text);
        assert!(!refused.text.contains("hunter2"), "{}", refused.text);
        assert!(raw_values(&test.db).await.is_empty(), "{backend:?}: nothing stored");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_database_and_its_key_file_are_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = std::env::temp_dir().join(format!("entity-spec-private-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("service.db");
    let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    let key_file = dir.join("service.db.key");
    if std::env::var_os("ENTITY_SPEC_SECRET_KEY").is_none() && std::env::var_os("ENTITY_SPEC_SECRET_KEY_FILE").is_none()
    {
        assert_eq!(mode(&key_file), 0o600);
        let app = service(&db).await;
        let id = create(&app, "warehouse", "postgres://u:hunter2@h/db").await;
        let wal = dir.join("service.db-wal");
        assert_eq!(mode(&wal), 0o600, "the write-ahead log follows the database file");
        db.close().await;
        // The next start finds the same key file and reads the rows.
        let reopened = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let app = service(&reopened).await;
        assert_eq!(seen_by_action(&app, &id).await, "postgres://u:hunter2@h/db");
        reopened.close().await;
    } else {
        db.close().await;
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_without_a_configured_key_has_none() {
    if !support::postgres_enabled() || std::env::var_os("ENTITY_SPEC_SECRET_KEY").is_some() {
        return;
    }
    let test = TestDb::new(Backend::Postgres).await;
    let db = Db::connect(&test.url).await.unwrap();
    assert!(db.keyring().is_none(), "no key file is invented for a server database");
    assert!(matches!(db.pool(), Pool::Postgres(_)));
    let error = model::migrate(&db, MigrateOptions::default()).await.unwrap_err().to_string();
    assert!(error.contains("set ENTITY_SPEC_SECRET_KEY"), "{error}");
    db.close().await;
}
