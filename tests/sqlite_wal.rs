//! SQLite's write-ahead log stays bounded when readers keep it from restarting: the task that
//! `Db::connect` starts empties it once the readers let go, and no row is lost.

mod support;

use std::time::{Duration, Instant};

use entity_spec::__private::runtime::db::Pool;
use entity_spec::__private::runtime::sqlite_wal::{WAL_LIMIT_FRAMES, bound_wal};
use entity_spec::Backend;
use sqlx::Connection as _;
use support::TestDb;

/// Rows of 4,000 random bytes per statement; ten statements make about 10,000 log frames,
/// more than the limit of 8,192.
const ROWS_PER_STATEMENT: usize = 1_000;
const STATEMENTS: usize = 10;

fn wal_size(url: &str) -> u64 {
    let path = url.trim_start_matches("sqlite://");
    std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len())
}

#[tokio::test]
async fn a_log_held_open_by_a_reader_is_emptied_once_the_reader_ends() {
    let test = TestDb::new(Backend::Sqlite).await;
    let Pool::Sqlite(pool) = test.db.pool() else { unreachable!("a SQLite test database") };
    sqlx::query("CREATE TABLE payload (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)").execute(pool).await.unwrap();

    // A reader in the middle of a transaction: no checkpoint may copy past its snapshot, so
    // SQLite cannot start the log over.
    let mut reader = pool.acquire().await.unwrap();
    let mut snapshot = reader.begin().await.unwrap();
    let (before,): (i64,) = sqlx::query_as("SELECT count(*) FROM payload").fetch_one(&mut *snapshot).await.unwrap();
    assert_eq!(before, 0);

    let insert = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS_PER_STATEMENT}) \
         INSERT INTO payload (bytes) SELECT randomblob(4000) FROM n"
    );
    for _ in 0..STATEMENTS {
        sqlx::query(sqlx::AssertSqlSafe(insert.clone())).execute(pool).await.unwrap();
    }
    let held = wal_size(&test.url);
    assert!(held > WAL_LIMIT_FRAMES as u64 * 4096, "the reader should have kept the log growing, it is {held} bytes");

    // Give the task a look while the reader still holds on: it must give up, not fail or wait.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(wal_size(&test.url) >= held, "nothing can be truncated while the reader holds its snapshot");
    let (still,): (i64,) = sqlx::query_as("SELECT count(*) FROM payload").fetch_one(&mut *snapshot).await.unwrap();
    assert_eq!(still, 0, "the reader keeps its snapshot");
    snapshot.commit().await.unwrap();
    drop(reader);

    // SQLite alone would restart the log at the next write but never shrink the file.
    let deadline = Instant::now() + Duration::from_secs(10);
    while wal_size(&test.url) > 0 {
        assert!(
            Instant::now() < deadline,
            "the log is still {} bytes 10 s after the reader ended",
            wal_size(&test.url)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Every row made it into the database file, for this pool and for a new one.
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM payload").fetch_one(pool).await.unwrap();
    assert_eq!(rows, (ROWS_PER_STATEMENT * STATEMENTS) as i64);
    let reopened = test.reconnect().await;
    let Pool::Sqlite(second) = reopened.pool() else { unreachable!() };
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM payload").fetch_one(second).await.unwrap();
    assert_eq!(rows, (ROWS_PER_STATEMENT * STATEMENTS) as i64);
    reopened.close().await;
}

#[tokio::test]
async fn a_quiet_log_is_left_to_sqlite() {
    let test = TestDb::new(Backend::Sqlite).await;
    let Pool::Sqlite(pool) = test.db.pool() else { unreachable!("a SQLite test database") };
    sqlx::query("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)").execute(pool).await.unwrap();
    sqlx::query("INSERT INTO note (body) VALUES ('kept')").execute(pool).await.unwrap();
    // Below the limit the task only checkpoints passively: the log file keeps its frames
    // (SQLite reuses it from the start at the next write).
    let frames = bound_wal(pool).await.unwrap();
    assert!(frames > 0 && frames <= WAL_LIMIT_FRAMES, "{frames}");
    assert!(wal_size(&test.url) > 0);
    let (body,): (String,) = sqlx::query_as("SELECT body FROM note").fetch_one(pool).await.unwrap();
    assert_eq!(body, "kept");
}
