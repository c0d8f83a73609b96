//! Three instances of the example service (the real binary) on one PostgreSQL database behind a
//! round-robin proxy, under CRUD and `sync-all` load; one is stopped with SIGTERM and another
//! killed with SIGKILL mid-load. Afterwards nothing a client was told is contradicted by the
//! database: no row lost or duplicated, no acknowledged patch lost, every source run exactly once
//! per `sync-all` (the runs the killed instance held fail when their lease expires, and the next
//! `sync-all` runs those sources again), no run stuck, and no client error but the requests the
//! kill cut and at most one connection reset as the stopped instance closes its listener
//! (`support/multi_instance.rs` says why those, and how each check is made).
//!
//! PostgreSQL only: instances share a queue through PostgreSQL's row locks. The figures of the
//! same scenario come from `examples/multi_instance_bench.rs`.

#[path = "support/multi_instance.rs"]
mod multi_instance;
mod support;

use multi_instance::{Settings, Timeline, fault_scenario};

#[test]
fn three_instances_lose_nothing_when_one_is_stopped_and_one_is_killed_under_load() {
    if !support::postgres_enabled() {
        eprintln!("not run: this run is SQLite-only (ENTITY_SPEC_TEST_BACKENDS)");
        return;
    }
    let report = fault_scenario(Settings::FAULTS, Timeline::FAULTS);
    eprintln!("{report}");
    assert!(report.problems.is_empty(), "{report}\n\nbroken promises:\n{}", report.problems.join("\n"));
    assert!(report.requests > 0 && report.rounds >= 2, "the load ran: {report}");
    assert!(report.terminated_held > 0, "the SIGTERM came while the instance ran syncs: {report}");
    assert!(report.killed_held > 0, "the SIGKILL came while the instance ran syncs: {report}");
    assert!(report.drain.is_some_and(|(status, _)| status.success()), "{report}");
}
