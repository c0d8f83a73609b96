//! What the workers count for `/metrics`: runs finished by outcome and how long they took, per
//! entity and action. Labels come from the spec (entity and action names), so their number is
//! bounded by it. `http/metrics.rs` renders them with the HTTP figures.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::runs::queue::Outcome;

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
}

impl Default for RunMetrics {
    fn default() -> Self {
        // 50 ms to about 7 minutes: a sync is a network round trip at least, and runs time out
        // at ENTITY_SPEC_RUN_TIMEOUT_SECS (2 minutes by default).
        let durations: Durations = Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.05, 2.0, 14)));
        RunMetrics { finished: Family::default(), durations }
    }
}

impl RunMetrics {
    /// Counts a run of `action` on `entity` that ended with `outcome` after `seconds`.
    pub fn finished(&self, entity: &'static str, action: &str, outcome: Outcome, seconds: f64) {
        let outcome = outcome.run_status().as_str();
        self.finished.get_or_create(&Finished { entity, action: action.to_owned(), outcome }).inc();
        self.durations.get_or_create(&Action { entity, action: action.to_owned() }).observe(seconds);
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
    }
}
