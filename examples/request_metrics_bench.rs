//! Benchmark (not a test): what counting a request for `/metrics` costs, in CPU per request,
//! with no database and no network in the way.
//!
//! ```sh
//! cargo run --release --example request_metrics_bench
//! ```
//!
//! `service_bench` (`SERVICE_BENCH_CALIBRATE=metrics`) measures the same cost end to end, as a
//! ratio of requests per second; on a machine other work shares, its round-to-round noise is
//! larger than the cost. Here the generated RawDataSource router (authentication off) answers
//! in this process, through `tower::ServiceExt::oneshot`, a request of a real entity route
//! that is refused before any database work (`GET /raw-data-sources/{id}?expand=…` naming no
//! reference: 400), sent by two tasks at once on a two-thread runtime, so the counters are
//! shared as in a server. Blocks of requests alternate between the router without request
//! metrics and the one with them; each block's cost is this process's CPU time (which other
//! processes do not change) over its requests. Printed: the median per request of each, and
//! the difference, the cost of counting a request (a counter and a latency histogram by
//! route template), to compare with a get by id's service CPU in `service_bench` (about
//! 85-90 µs on SQLite).

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use entity_spec::{AuthConfig, Db, MigrateOptions};
use tower::ServiceExt as _;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[path = "shared/reference_actions.rs"]
mod reference_actions;

use reference_actions::NoActions;

type BoxError = Box<dyn Error + Send + Sync>;

/// Requests per block, split between the two tasks.
const BLOCK: usize = 40_000;
/// Blocks per router.
const ROUNDS: usize = 15;
/// A route the service matches, answered without the database.
const PATH: &str = "/raw-data-sources/00000000-0000-0000-0000-000000000000?expand=no_such_reference";

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<(), BoxError> {
    let file = std::env::temp_dir().join(format!("request_metrics_bench_{}.db", std::process::id()));
    let db = Db::connect(&format!("sqlite://{}", file.display())).await?;
    model::migrate(&db, MigrateOptions::default()).await?;
    let router = |counted: bool| {
        model::service(db.clone(), NoActions).with_auth(AuthConfig::off()).with_request_metrics(counted).router()
    };
    let routers = [router(false), router(true)];
    for router in &routers {
        block(router, BLOCK).await;
    }
    let mut costs = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        // Alternating which goes first, so that a drift of the machine falls on both.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            costs[i].push(block(&routers[i], BLOCK).await);
        }
    }
    db.close().await;
    for suffix in ["", "-wal", "-shm", ".key"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }

    let [off, on] = costs.map(median);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!("## What counting a request costs: {ROUNDS} blocks of {BLOCK} requests each, two tasks, median");
    println!();
    println!("| request metrics | CPU per request |");
    println!("|---|---:|");
    println!("| off | {:.2} µs |", micros(off));
    println!("| on | {:.2} µs |", micros(on));
    println!("| cost of counting | {:+.2} µs |", micros(on) - micros(off));
    Ok(())
}

/// This process's CPU time per request over `count` requests, sent by two tasks at once.
async fn block(router: &Router, count: usize) -> Duration {
    let before = process_cpu();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let router = router.clone();
            tokio::spawn(async move {
                for _ in 0..count / 2 {
                    let request = Request::get(PATH).body(Body::empty()).expect("a request");
                    let response = router.clone().oneshot(request).await.expect("infallible");
                    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "the route answers before the database");
                    axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("the task finishes");
    }
    process_cpu().saturating_sub(before) / u32::try_from(count).unwrap_or(u32::MAX)
}

/// CPU time this process used so far, all threads.
fn process_cpu() -> Duration {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given, which lives for the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    assert_eq!(status, 0, "the process CPU clock is readable");
    Duration::new(u64::try_from(time.tv_sec).unwrap_or(0), u32::try_from(time.tv_nsec).unwrap_or(0))
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}
