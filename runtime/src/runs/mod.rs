//! Layer 3: tracked runs (e.g. a data source's sync): a queue and history in the database, a
//! bounded worker pool, leases, a scheduler, draining for restarts, and the counts `/metrics`
//! shows. Imports only [`crate::storage`] and
//! [`crate::model`].

pub mod drain;
pub mod engine;
pub mod history;
pub mod metrics;
pub mod queue;
pub mod table;

pub use drain::{Drain, DrainReport};
pub use engine::{Engine, EngineConfig, EngineStartError, Retention, RunHandler, RunResult};
pub use entity_spec_contract::runs::{ItemStatus, RunStatus, RunTrigger};
pub use history::Activity;
pub use metrics::RunMetrics;
pub use queue::{Enqueued, Outcome, RunEnd};
pub use table::{RUNS_TABLE, Run};
