//! Keeps SQLite's write-ahead log bounded under sustained load.
//!
//! After each commit SQLite checkpoints on its own, passively: it copies into the database
//! file the frames no reader still needs. It starts the log over only when a writer finds
//! every frame copied and no reader still on the log. Under a steady stream of overlapping
//! requests that moment may never come. The log then grows without bound, and every page
//! read gets slower as the log's index grows: under the service benchmark's create load one log
//! passed 1.7 GB within 20 seconds, and each create then cost about 65% more CPU time.
//!
//! [`keep_wal_bounded`] watches the log. Once it holds more than [`WAL_LIMIT_FRAMES`], it runs
//! a `TRUNCATE` checkpoint. That checkpoint waits for the readers of the moment, then copies
//! the rest and empties the file. New writers queue behind it while it waits, so it waits at
//! most [`TRUNCATE_WAIT`] and otherwise tries again a second later: a long reader delays the
//! truncation, never the service's writes by more than that.

use std::fmt::Display;
use std::time::Duration;

use sqlx::sqlite::SqlitePool;

/// Frames the log may hold before it is emptied: 32 MiB at SQLite's default 4 KiB pages, 32
/// times the automatic checkpoint's threshold. Below that, SQLite's own restarts keep up.
pub const WAL_LIMIT_FRAMES: i64 = 8192;

/// How often the log is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long a `TRUNCATE` checkpoint may wait for readers (and hold up writers) before it
/// gives up until the next look.
pub const TRUNCATE_WAIT: Duration = Duration::from_millis(100);

/// Spawns a task on the current Tokio runtime that runs [`bound_wal`] every second until the
/// pool is closed. [`crate::storage::db::Db::connect`] starts one for every SQLite pool. The task holds
/// the pool, so a pool that is dropped without `close()` lives until the runtime ends.
pub fn keep_wal_bounded(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(CHECK_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(error) = bound_wal(&pool).await {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(%error, "checkpointing the SQLite write-ahead log failed");
            }
        }
    });
}

/// Checkpoints passively and, if the log still holds more than [`WAL_LIMIT_FRAMES`] frames,
/// empties it with a `TRUNCATE` checkpoint. Returns the frames left in the log (0 when the
/// database is not in WAL mode).
pub async fn bound_wal(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    // Each checkpoint answers (busy, frames in the log, frames copied); -1 when not in WAL mode.
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    if frames <= WAL_LIMIT_FRAMES {
        return Ok(frames.max(0));
    }
    // The wait is the connection's busy timeout: shortened for the checkpoint, then set back
    // to whatever the pool configured. A connection whose timeout could not be set back is
    // closed rather than reused.
    let mut conn = pool.acquire().await?;
    let result = async {
        let (configured,): (i64,) = sqlx::query_as("PRAGMA busy_timeout").fetch_one(&mut *conn).await?;
        set_busy_timeout(&mut conn, TRUNCATE_WAIT.as_millis()).await?;
        let answer: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await;
        set_busy_timeout(&mut conn, configured).await?;
        answer
    }
    .await;
    let (busy, left, _) = match result {
        Ok(answer) => answer,
        Err(error) => {
            conn.close_on_drop();
            return Err(error);
        }
    };
    if busy == 0 {
        tracing::info!(frames, "emptied the SQLite write-ahead log (readers kept it from restarting)");
    }
    Ok(left.max(0))
}

async fn set_busy_timeout(conn: &mut sqlx::SqliteConnection, millis: impl Display) -> Result<(), sqlx::Error> {
    // A number, never user input.
    let pragma = format!("PRAGMA busy_timeout = {millis}");
    sqlx::query(sqlx::AssertSqlSafe(pragma)).execute(conn).await.map(drop)
}
