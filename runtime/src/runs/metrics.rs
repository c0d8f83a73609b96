//! What the workers count for `/metrics`: runs finished by outcome, how long they took, and how
//! late they were claimed ([`lag`]), per entity and action. Labels come from the spec (entity
//! and action names), so their number is bounded by it. `http/metrics.rs` renders them with the
//! HTTP figures.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::runs::queue::Outcome;
use crate::runs::table::Run;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Finished {
    entity: &'static str,
    action: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Action {
    entity: &'static str,
    action: String,
}

type Durations = Family<Action, Histogram, fn() -> Histogram>;

/// Run counters of one service, shared by its engines.
#[derive(Clone)]
pub struct RunMetrics {
    finished: Family<Finished, Counter>,
    durations: Durations,
    lags: Durations,
}

impl Default for RunMetrics {
    fn default() -> Self {
        // 50 ms to about 7 minutes: a sync is a network round trip at least, and runs time out
        // at ENTITY_SPEC_RUN_TIMEOUT_SECS (2 minutes by default).
        let durations: Durations = Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.05, 2.0, 14)));
        // 10 ms to about 44 minutes: a run queued by this instance wakes a worker at once, one
        // queued by another waits for the next poll (half a second); minutes mean a backlog.
        let lags: Durations = Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 2.0, 19)));
        RunMetrics { finished: Family::default(), durations, lags }
    }
}

impl RunMetrics {
    /// Counts a run of `action` on `entity` that ended with `outcome` after `seconds`.
    pub fn finished(&self, entity: &'static str, action: &str, outcome: Outcome, seconds: f64) {
        let outcome = outcome.run_status().as_str();
        self.finished.get_or_create(&Finished { entity, action: action.to_owned(), outcome }).inc();
        self.durations.get_or_create(&Action { entity, action: action.to_owned() }).observe(seconds);
    }

    /// Counts a run this instance just claimed, with its [`lag`].
    pub fn claimed(&self, entity: &'static str, run: &Run) {
        self.lags.get_or_create(&Action { entity, action: run.action.clone() }).observe(lag(run).as_secs_f64());
    }

    /// Adds these metrics to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "entity_spec_runs_finished",
            "Runs finished by this instance, by outcome",
            self.finished.clone(),
        );
        registry.register(
            "entity_spec_run_duration_seconds",
            "How long the runs this instance finished took",
            self.durations.clone(),
        );
        registry.register(
            "entity_spec_run_lag_seconds",
            "How long the runs this instance claimed waited after they were due (queued, or their retry's backoff over)",
            self.lags.clone(),
        );
    }
}

/// How late a claimed run was: from when it became due to when a worker claimed it. Due is when
/// it was queued (by a request, a sync-all or a scheduler pass), or for a retry when its backoff
/// ended (`not_before`). So it measures whether the workers keep up with the queue, what an
/// operator adds workers or instances for; the time a scheduled item waits for the scheduler's
/// next pass after its interval passed (at most `ENTITY_SPEC_SCHEDULE_SECS`) is not part of it,
/// nor is a retry's backoff, which is deliberate. A run handed back by a draining instance
/// counts from when it was first queued: it did start that late. Never negative, though the
/// instances that queued and claimed it may disagree a little about the time.
pub fn lag(run: &Run) -> Duration {
    let due = run.not_before.map_or(run.queued_at, |not_before| not_before.max(run.queued_at));
    let claimed = run.started_at.unwrap_or(due);
    (claimed - due).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};
    use entity_spec_contract::runs::{RunStatus, RunTrigger};
    use uuid::Uuid;

    use super::*;

    fn claimed(queued_ago: i64, not_before_ago: Option<i64>) -> Run {
        let now = Utc::now();
        Run {
            id: Uuid::now_v7(),
            item_id: Uuid::now_v7(),
            action: "sync".to_owned(),
            trigger: RunTrigger::Manual,
            status: RunStatus::Running,
            attempt: 1,
            queued_at: now - TimeDelta::seconds(queued_ago),
            not_before: not_before_ago.map(|ago| now - TimeDelta::seconds(ago)),
            started_at: Some(now),
            finished_at: None,
            duration_ms: None,
            message: None,
        }
    }

    #[test]
    fn lag_counts_from_the_queueing_or_the_end_of_the_backoff_and_is_never_negative() {
        assert_eq!(lag(&claimed(10, None)), Duration::from_secs(10));
        // A retry queued 60 s ago whose backoff ended 2 s ago was 2 s late, not a minute.
        assert_eq!(lag(&claimed(60, Some(2))), Duration::from_secs(2));
        // Another instance's clock a little ahead of this one's.
        assert_eq!(lag(&claimed(-1, None)), Duration::ZERO);
        assert_eq!(lag(&claimed(5, Some(-3))), Duration::ZERO);
    }
}
