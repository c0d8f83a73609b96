//! Benchmark (not a test): the example service as several instances on one PostgreSQL database,
//! behind the round-robin proxy of `tests/support/multi_instance.rs` and driven by its CRUD and
//! `sync-all` clients. First the throughput through one instance and through three, each on a
//! fresh database under the same load; then the fault scenario of `tests/multi_instance.rs`
//! (SIGTERM to one instance and SIGKILL to another, mid-load) with what it lost and duplicated,
//! the drain time and the recovery of the killed instance's runs.
//!
//! ```sh
//! cargo build --release --example raw_data_sources --example multi_instance_bench
//! ./target/release/examples/multi_instance_bench
//! ```
//!
//! The instances are the release build of `examples/raw_data_sources` beside this binary,
//! started as child processes. PostgreSQL is the server `ENTITY_SPEC_TEST_POSTGRES_URL` names
//! (an admin URL; default the local server): each phase creates a database there and drops it.
//! `MULTI_INSTANCE_BENCH_SECONDS` sets the length of each throughput phase (default 15).

#[path = "../tests/support/multi_instance.rs"]
mod multi_instance;

use std::time::Duration;

use multi_instance::{Settings, Throughput, Timeline, fault_scenario, throughput};

/// The load of every phase: eight CRUD clients, 48 API sources whose sync takes half a second,
/// four workers per instance.
const LOAD: Settings =
    Settings { instances: 3, workers: 4, clients: 8, api_sources: 48, sync_takes: Duration::from_millis(500) };

fn main() {
    let seconds = std::env::var("MULTI_INSTANCE_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let phase = Duration::from_secs(seconds);
    println!(
        "{} CRUD clients and one sync-all client through a round-robin proxy; {} API sources of {} ms each; {} \
         workers per instance; {seconds} s per phase",
        LOAD.clients,
        LOAD.api_sources,
        LOAD.sync_takes.as_millis(),
        LOAD.workers
    );
    // Other work on the machine moves the CRUD figures: say how much there was.
    let load = || std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split(' ').next().map(str::to_owned));
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("load average (1 min) before: {} on {cores} cores", load().unwrap_or_else(|| "-".to_owned()));
    let one = throughput(Settings { instances: 1, ..LOAD }, phase);
    let three = throughput(LOAD, phase);
    println!("load average (1 min) after: {}", load().unwrap_or_else(|| "-".to_owned()));
    println!();
    println!("| instances | CRUD requests/s | API syncs/s | all runs/s | client errors |");
    println!("|---:|---:|---:|---:|---:|");
    for Throughput { instances, requests_per_second, api_syncs_per_second, runs_per_second, errors } in [one, three] {
        println!(
            "| {instances} | {requests_per_second:.0} | {api_syncs_per_second:.1} | {runs_per_second:.0} | {errors} |"
        );
    }
    println!(
        "| three / one | {:.2} | {:.2} | {:.2} | |",
        three.requests_per_second / one.requests_per_second,
        three.api_syncs_per_second / one.api_syncs_per_second,
        three.runs_per_second / one.runs_per_second
    );

    let report = fault_scenario(LOAD, Timeline::FAULTS);
    let (status, drain) = report.drain.expect("the scenario terminates an instance");
    println!();
    println!("| fault scenario: 3 instances, SIGTERM to one, SIGKILL to another | |");
    println!("|---|---:|");
    println!("| CRUD requests answered | {} in {:.1} s |", report.requests, report.load_seconds);
    println!("| `sync-all` rounds / runs they acknowledged | {} / {} |", report.rounds, report.runs_acknowledged);
    println!("| runs lost | {} |", report.runs_lost);
    println!("| runs duplicated | {} |", report.runs_duplicated);
    println!("| sources a `sync-all` skipped | {} |", report.sources_skipped);
    println!("| runs stuck | {} |", report.runs_stuck);
    println!(
        "| rows lost / duplicated / updates lost | {} / {} / {} |",
        report.rows_lost, report.rows_duplicated, report.updates_lost
    );
    println!(
        "| drain time (SIGTERM with {} syncs running → {status}) | {:.2} s |",
        report.terminated_held,
        drain.as_secs_f64()
    );
    println!(
        "| recovery of the {} runs the killed instance held (lease expiry) | {} |",
        report.killed_held,
        report.recovery.map_or("-".to_owned(), |took| format!("{:.1} s", took.as_secs_f64()))
    );
    println!("| requests reset as the terminated instance closed its listener | {} |", report.lost_at_terminate);
    println!(
        "| requests cut by the kill (connections open to it: {}) | {} |",
        report.open_at_kill, report.lost_at_kill
    );
    println!("| other client errors and broken promises | {} |", report.problems.len());
    for problem in &report.problems {
        println!("  {problem}");
    }
}
