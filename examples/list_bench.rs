//! Benchmark (not a test): what the list features of references cost, on the library spec
//! (`tests/specs/library.json`), through the generated router in process (no socket, so the
//! ratios are the database and serialization work alone, the least flattering way to show them).
//!
//! ```sh
//! cargo run --release --example list_bench               # SQLite, then PostgreSQL
//! LIST_BENCH_BACKENDS=sqlite cargo run --release --example list_bench
//! LIST_BENCH_PARTS=search cargo run --release --example list_bench   # lists, search, export
//! ```
//!
//! Per backend, on a fresh database (a temporary SQLite file, or a scratch PostgreSQL database on
//! 127.0.0.1:5432 dropped at the end):
//!
//! - **expand**: 20,000 loans referring to 2,000 books and 2,000 members; `GET /loans?limit=50`
//!   against the same page with `expand=book` and with `expand=book,member` (read with one query
//!   per reference), alternating, 15 rounds of 200 requests; the table shows the median round's
//!   median latency of each and the median of the per-round ratios.
//! - **count**: the same list with `count=exact` (the default), `count=estimated` and
//!   `count=none`, the same way.
//! - **search**: 100,000 shelves (written with SQL in batches) labelled with three words of a
//!   60-word vocabulary and a number, searched with `q=` (ranked by relevance, `count=exact`,
//!   `limit=50`): a common word (about 5% of the rows), a prefix of one, two words together and
//!   a number found once; 10 rounds of 50 requests each, the median and 95th percentile.
//! - **CSV export**: 1,000,000 shelves (written with SQL, not the API), exported with
//!   `Accept: text/csv` and read to the end; the process's peak resident memory is reset before
//!   the export (`/proc/self/clear_refs`, Linux) and read after it, so the figure is what the
//!   export itself needed, the database's own memory (a separate process on PostgreSQL, SQLite's
//!   page cache in this one) included on SQLite.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use entity_spec::__private::runtime::model::value::SqlValue;
use entity_spec::__private::runtime::storage::db::Sql;
use entity_spec::testing::database::TestDatabase;
use entity_spec::{Backend, MigrateOptions};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

#[path = "shared/library_seed.rs"]
mod library_seed;

use library_seed::NoActions;

const ROUNDS: usize = 15;
const REQUESTS: usize = 200;
const LOANS: usize = 20_000;
const PARENTS: usize = 2_000;
const SHELVES: i64 = 1_000_000;

type BoxError = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let backends: Vec<Backend> = match std::env::var("LIST_BENCH_BACKENDS").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let parts = std::env::var("LIST_BENCH_PARTS").unwrap_or_else(|_| "lists,search,export".to_owned());
    for backend in backends {
        println!("\n## {backend:?}\n");
        if parts.contains("search") {
            search(backend).await?;
        }
        let test_db = TestDatabase::new(backend).await;
        library::migrate(&test_db.db, MigrateOptions::default()).await?;
        let app = library::service(test_db.db.clone(), NoActions).with_auth(entity_spec::AuthConfig::off()).router();
        if !parts.contains("lists") {
            if parts.contains("export") {
                export(&app, &test_db, backend).await?;
            }
            continue;
        }
        seed_loans(&test_db, backend).await?;
        println!("`GET /loans?limit=50` over {LOANS} loans (`count=exact`) against the same page with:\n");
        println!("| variant | plain list | variant | ratio |");
        println!("|---|---:|---:|---:|");
        let plain = "/loans?limit=50";
        let variants = [
            ("`expand=book` (one reference)", "/loans?limit=50&expand=book"),
            ("`expand=book,member` (two)", "/loans?limit=50&expand=book,member"),
            ("`count=estimated`", "/loans?limit=50&count=estimated"),
            ("`count=none`", "/loans?limit=50&count=none"),
        ];
        for (label, uri) in variants {
            let (base, other, ratio) = compare(&app, plain, uri).await?;
            println!("| {label} | {} | {} | {ratio:.2} |", micros(base), micros(other));
        }
        if parts.contains("export") {
            export(&app, &test_db, backend).await?;
        }
    }
    Ok(())
}

const SEARCHED_SHELVES: usize = 100_000;
const VOCABULARY: [&str; 60] = [
    "atlas",
    "maritime",
    "history",
    "poetry",
    "science",
    "fiction",
    "garden",
    "cooking",
    "travel",
    "music",
    "physics",
    "biology",
    "drama",
    "comics",
    "letters",
    "maps",
    "law",
    "medicine",
    "crafts",
    "sports",
    "war",
    "peace",
    "islands",
    "mountains",
    "rivers",
    "cities",
    "empire",
    "republic",
    "kings",
    "saints",
    "birds",
    "fishes",
    "trees",
    "stones",
    "stars",
    "weather",
    "ships",
    "trains",
    "bridges",
    "castles",
    "myths",
    "legends",
    "riddles",
    "games",
    "dance",
    "film",
    "theatre",
    "opera",
    "jazz",
    "folk",
    "glass",
    "silver",
    "copper",
    "iron",
    "wool",
    "silk",
    "paper",
    "ink",
    "clay",
    "wood",
];

/// 100,000 shelves labelled from [`VOCABULARY`], then `q=` searches of several selectivities.
async fn search(backend: Backend) -> Result<(), BoxError> {
    let test_db = TestDatabase::new(backend).await;
    library::migrate(&test_db.db, MigrateOptions::default()).await?;
    let app = library::service(test_db.db.clone(), NoActions).with_auth(entity_spec::AuthConfig::off()).router();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut word = || {
        // xorshift: the same labels on every run and backend.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        VOCABULARY[(state % VOCABULARY.len() as u64) as usize]
    };
    for batch in 0..SEARCHED_SHELVES / 500 {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO shelves (id, label, _version) VALUES ");
        for i in 0..500 {
            let label = format!("{} {} {} {}", word(), word(), word(), batch * 500 + i);
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.push_binds([SqlValue::Uuid(uuid::Uuid::now_v7()), SqlValue::Text(label)]);
            sql.push(", 1)");
        }
        test_db.db.execute(sql).await?;
    }
    if backend == Backend::Postgres {
        let mut analyze = Sql::new(backend);
        analyze.push("ANALYZE");
        test_db.db.execute(analyze).await?;
    }
    println!("`GET /library/shelves?q=…&limit=50` (ranked, `count=exact`) over {SEARCHED_SHELVES} shelves:\n");
    println!("| search | matches | p50 | p95 |");
    println!("|---|---:|---:|---:|");
    for (label, q) in [
        ("a common word", "atlas"),
        ("a prefix", "atl"),
        ("a common word, not counted", "atlas&count=none"),
        ("two words", "atlas%20maritime"),
        ("a number found once", "77777"),
    ] {
        let uri = format!("/library/shelves?q={q}&limit=50");
        let matches = total(&app, &uri.replace("&count=none", "")).await?;
        for _ in 0..20 {
            get(&app, &uri).await?;
        }
        let mut times = Vec::with_capacity(500);
        for _ in 0..500 {
            times.push(get(&app, &uri).await?);
        }
        times.sort();
        let p95 = times[times.len() * 95 / 100];
        println!("| {label} (`q={q}`) | {matches} | {} | {} |", micros(median(&mut times)), micros(p95));
    }
    println!();
    Ok(())
}

/// The `total` of a list.
async fn total(app: &Router, uri: &str) -> Result<i64, BoxError> {
    let response = app.clone().oneshot(Request::get(uri).body(Body::empty())?).await?;
    let page: Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    Ok(page["total"].as_i64().unwrap_or(-1))
}

/// 2,000 books and members and 20,000 loans through the API (so every row is as the service
/// writes it), then statistics for the planner.
async fn seed_loans(test_db: &TestDatabase, backend: Backend) -> Result<(), BoxError> {
    let app = library::service(test_db.db.clone(), NoActions).with_auth(entity_spec::AuthConfig::off()).router();
    library_seed::seed_loans(&app, PARENTS, LOANS).await.map_err(|e| e.to_string())?;
    if backend == Backend::Postgres {
        let mut analyze = Sql::new(backend);
        analyze.push("ANALYZE");
        test_db.db.execute(analyze).await?;
    }
    Ok(())
}

async fn get(app: &Router, uri: &str) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let response = app.clone().oneshot(Request::get(uri).body(Body::empty())?).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::OK {
        return Err(format!("GET {uri}: {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(started.elapsed())
}

/// Rounds alternating `a` and `b`: the median of each's round medians, and the median ratio.
async fn compare(app: &Router, a: &str, b: &str) -> Result<(Duration, Duration, f64), BoxError> {
    for _ in 0..50 {
        get(app, a).await?;
        get(app, b).await?;
    }
    let (mut medians_a, mut medians_b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (mut times_a, mut times_b) = (Vec::with_capacity(REQUESTS), Vec::with_capacity(REQUESTS));
        for i in 0..REQUESTS {
            // Alternate which goes first, so neither always finds the caches warm.
            if (i + round) % 2 == 0 {
                times_a.push(get(app, a).await?);
                times_b.push(get(app, b).await?);
            } else {
                times_b.push(get(app, b).await?);
                times_a.push(get(app, a).await?);
            }
        }
        let (ma, mb) = (median(&mut times_a), median(&mut times_b));
        ratios.push(mb.as_secs_f64() / ma.as_secs_f64());
        medians_a.push(ma);
        medians_b.push(mb);
    }
    ratios.sort_by(f64::total_cmp);
    Ok((median(&mut medians_a), median(&mut medians_b), ratios[ratios.len() / 2]))
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// One million shelves written with SQL, then exported as CSV and read to the end.
async fn export(app: &Router, test_db: &TestDatabase, backend: Backend) -> Result<(), BoxError> {
    let fill = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SHELVES}) \
             INSERT INTO shelves (id, label, _version) \
             SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-7' || substr(hex(randomblob(2)), 2) || '-8' \
             || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))), 'Shelf ' || i, 1 FROM n"
        ),
        Backend::Postgres => format!(
            "INSERT INTO shelves (id, label, _version) SELECT gen_random_uuid(), 'Shelf ' || n, 1 FROM generate_series(1, {SHELVES}) AS n"
        ),
    };
    let mut sql = Sql::new(backend);
    sql.push(&fill);
    test_db.db.execute(sql).await?;

    let before = peak_rss_kib();
    reset_peak_rss();
    let started = Instant::now();
    let request = Request::get("/library/shelves").header("accept", "text/csv").body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let mut body = response.into_body();
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            bytes += data.len();
            lines += data.iter().filter(|b| **b == b'\n').count();
        }
    }
    let elapsed = started.elapsed();
    let peak = peak_rss_kib();
    println!(
        "\nCSV export of {} shelves: {:.1} MB in {:.2} s; peak RSS of this process during the export {:.1} MiB (before it {:.1} MiB).",
        lines.saturating_sub(1),
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        peak.unwrap_or(0) as f64 / 1024.0,
        before.unwrap_or(0) as f64 / 1024.0,
    );
    Ok(())
}

/// `VmHWM` of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current resident size (Linux: `echo 5 > /proc/self/clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
