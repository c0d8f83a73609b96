//! A fresh, empty database per test, removed afterwards: a SQLite file in the temp folder, or
//! a PostgreSQL database created on the server [`POSTGRES_URL_VAR`] names (an admin URL).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::model::cipher::Keyring;
use crate::storage::db::{Backend, Db, Sql};

/// An admin URL of a PostgreSQL server the tests may create databases on. When it is set,
/// tests run on PostgreSQL as well as SQLite.
pub const POSTGRES_URL_VAR: &str = "ENTITY_SPEC_TEST_POSTGRES_URL";

/// The key test databases seal sensitive fields with: fixed, so that a failing test's database
/// can be read afterwards. Never use it outside tests.
pub const TEST_SECRET_KEY: &str = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The backends tests run on: SQLite, and PostgreSQL when [`POSTGRES_URL_VAR`] is set.
pub fn test_backends() -> Vec<Backend> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => vec![Backend::Sqlite, Backend::Postgres],
        _ => vec![Backend::Sqlite],
    }
}

/// The keyring of test databases.
pub fn test_keyring() -> Keyring {
    Keyring::parse(TEST_SECRET_KEY).expect("the test key parses")
}

/// The admin URL tests create PostgreSQL databases with: [`POSTGRES_URL_VAR`], or the local
/// server's default.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database that is removed when dropped.
pub struct TestDatabase {
    /// The database.
    pub db: Db,
    /// Its URL (with the admin's credentials on PostgreSQL: test servers only).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database(String),
}

impl TestDatabase {
    /// Creates a fresh database on `backend`; panics with what to do when it cannot.
    pub async fn new(backend: Backend) -> TestDatabase {
        let unique = format!(
            "{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple()
        );
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join("entity-spec-tests");
                std::fs::create_dir_all(&dir).expect("the temp folder is writable");
                let path = dir.join(format!("{unique}.db"));
                let url = format!("sqlite://{}", path.display());
                let db = Db::connect(&url).await.expect("a SQLite file opens").with_keyring(test_keyring());
                TestDatabase { db, url, cleanup: Cleanup::File(path) }
            }
            Backend::Postgres => {
                let name = format!("entity_spec_test_{unique}");
                let admin = postgres_admin_url();
                let admin_db = Db::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for these tests and is not reachable ({e}). Start it, or set \
                         {POSTGRES_URL_VAR} to an admin URL"
                    )
                });
                execute(&admin_db, &format!("CREATE DATABASE \"{name}\"")).await;
                admin_db.close().await;
                let url = replace_database(&admin, &name);
                let db =
                    Db::connect(&url).await.expect("a fresh PostgreSQL database opens").with_keyring(test_keyring());
                TestDatabase { db, url, cleanup: Cleanup::Database(name) }
            }
        }
    }

    /// A second pool on the same database, as another service instance would have.
    pub async fn reconnect(&self) -> Db {
        Db::connect(&self.url).await.expect("the database reopens").with_keyring(test_keyring())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm", ".key"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database(name) => {
                // Drop runs outside any runtime guarantee: a private one, on a plain thread.
                let name = name.clone();
                let admin = postgres_admin_url();
                let _ = std::thread::spawn(move || {
                    let runtime =
                        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime starts");
                    runtime.block_on(async {
                        if let Ok(admin_db) = Db::connect(&admin).await {
                            execute(&admin_db, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                            admin_db.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

async fn execute(db: &Db, statement: &str) {
    let mut sql = Sql::new(db.backend());
    sql.push(statement);
    db.execute(sql).await.unwrap_or_else(|e| panic!("`{statement}` failed: {e}"));
}

/// `url` with its database name replaced (query parameters kept).
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}
