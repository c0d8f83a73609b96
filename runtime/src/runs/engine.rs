//! The workers that execute runs: a bounded pool per entity that claims queued runs, runs
//! the user's work under a timeout while renewing the lease, and records the end, with the
//! next attempt when the action retries failures; and the scheduler that queues due items and
//! recovers runs whose worker stopped. The queries themselves are in [`crate::runs::queue`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use entity_spec_contract::runs::ItemStatus;
use entity_spec_contract::text::printable;
use uuid::Uuid;

use crate::model::redact::redact;
use crate::model::timestamp::now;
use crate::model::value::SqlValue;
use crate::runs::drain::Drain;
use crate::runs::metrics::RunMetrics;
use crate::runs::queue::{self, Outcome, RunEnd};
use crate::runs::table::Run;
use crate::storage::db::Db;
use crate::storage::entity::Entity;
use crate::storage::store;

/// What a run's work returns: `Ok(message)` or `Err(message)`; messages are stored and shown,
/// so they must not contain secrets.
pub type RunResult = Result<String, String>;

/// The work of a tracked action for one item. Generated code implements it by calling the
/// user's action method; it may change the item's fields (e.g. a discovered schema).
pub trait RunHandler<E: Entity>: Send + Sync + 'static {
    /// Runs `action` on `item`.
    fn run<'a>(&'a self, action: &'a str, item: &'a mut E) -> Pin<Box<dyn Future<Output = RunResult> + Send + 'a>>;
}

/// Worker pool and scheduler settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Runs executed at once by this instance (`ENTITY_SPEC_WORKERS`, default 8).
    pub workers: usize,
    /// A run taking longer is failed (`ENTITY_SPEC_RUN_TIMEOUT_SECS`, default 120).
    pub run_timeout: Duration,
    /// How long a claimed run stays owned without renewal, renewed every third of it
    /// (`ENTITY_SPEC_RUN_LEASE_SECS`, default 30): also how long the run of a worker that died
    /// without draining waits before the scheduler's next pass fails (or retries) it.
    pub lease: Duration,
    /// How often idle workers look for queued runs (new local runs wake them at once).
    pub poll_interval: Duration,
    /// How often due items are queued and expired leases recovered
    /// (`ENTITY_SPEC_SCHEDULE_SECS`, default 10; 0 turns the scheduler off).
    pub schedule_interval: Option<Duration>,
    /// Identifies this instance in leases.
    pub owner: String,
    /// How much finished run history is kept (pruned by the scheduler).
    pub retention: Retention,
    /// Whether failed attempts are retried as the spec's `retry` says
    /// (`ENTITY_SPEC_RUN_RETRIES`, default on; off, every failure is final).
    pub retries: bool,
}

/// How much finished run history is kept; queued and running runs are never pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Finished runs older than this are deleted (`ENTITY_SPEC_RUN_RETENTION_DAYS`, default
    /// 90; 0 keeps them).
    pub max_age: Option<Duration>,
    /// Of each item's finished runs, only the newest this many are kept
    /// (`ENTITY_SPEC_RUN_RETENTION_PER_ITEM`, default 100; 0 keeps them all).
    pub per_item: Option<u64>,
}

impl Retention {
    /// Nothing is ever pruned.
    pub const KEEP_ALL: Retention = Retention { max_age: None, per_item: None };
}

/// Runs executed at once by this instance.
pub const WORKERS_VAR: &str = "ENTITY_SPEC_WORKERS";
/// [`WORKERS_VAR`] when unset.
pub const DEFAULT_WORKERS: u64 = 8;
/// Seconds a run may take before it is failed.
pub const RUN_TIMEOUT_SECS_VAR: &str = "ENTITY_SPEC_RUN_TIMEOUT_SECS";
/// [`RUN_TIMEOUT_SECS_VAR`] when unset.
pub const DEFAULT_RUN_TIMEOUT_SECS: u64 = 120;
/// Seconds between the scheduler's passes (0: no scheduler).
pub const SCHEDULE_SECS_VAR: &str = "ENTITY_SPEC_SCHEDULE_SECS";
/// [`SCHEDULE_SECS_VAR`] when unset.
pub const DEFAULT_SCHEDULE_SECS: u64 = 10;
/// Days finished runs are kept (0: no age limit).
pub const RETENTION_DAYS_VAR: &str = "ENTITY_SPEC_RUN_RETENTION_DAYS";
/// [`RETENTION_DAYS_VAR`] when unset.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;
/// Finished runs kept per item and action (0: no count limit).
pub const RETENTION_PER_ITEM_VAR: &str = "ENTITY_SPEC_RUN_RETENTION_PER_ITEM";
/// [`RETENTION_PER_ITEM_VAR`] when unset.
pub const DEFAULT_RETENTION_PER_ITEM: u64 = 100;
/// `off`: failed attempts are never retried, whatever the spec's `retry` says.
pub const RUN_RETRIES_VAR: &str = "ENTITY_SPEC_RUN_RETRIES";
/// Seconds a claimed run stays its worker's without a renewal.
pub const RUN_LEASE_SECS_VAR: &str = "ENTITY_SPEC_RUN_LEASE_SECS";
/// [`RUN_LEASE_SECS_VAR`] when unset.
pub const DEFAULT_RUN_LEASE_SECS: u64 = 30;
/// What [`RUN_LEASE_SECS_VAR`] may be. Under 5 s, a database that stalls for a couple of
/// seconds (the lease is renewed every third of it) would take running runs from live workers;
/// over an hour, a dead worker's run would hold its item for longer than anyone waits.
pub const RUN_LEASE_SECS_RANGE: std::ops::RangeInclusive<u64> = 5..=3600;

/// [`RUN_LEASE_SECS_VAR`]: the lease of claimed runs.
pub fn run_lease_from_env() -> Result<Duration, String> {
    run_lease(std::env::var(RUN_LEASE_SECS_VAR).ok().as_deref())
}

/// The lease a [`RUN_LEASE_SECS_VAR`] value gives, or why it is refused.
fn run_lease(value: Option<&str>) -> Result<Duration, String> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(Duration::from_secs(DEFAULT_RUN_LEASE_SECS));
    };
    match value.parse::<u64>() {
        Ok(secs) if RUN_LEASE_SECS_RANGE.contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "{RUN_LEASE_SECS_VAR} must be a number of seconds from {} to {}, not `{}`",
            RUN_LEASE_SECS_RANGE.start(),
            RUN_LEASE_SECS_RANGE.end(),
            printable(value)
        )),
    }
}

/// [`RUN_RETRIES_VAR`]: whether failed attempts are retried (`on`, the default, or `off`).
pub fn run_retries_from_env() -> Result<bool, String> {
    match std::env::var(RUN_RETRIES_VAR).ok().as_deref().map(str::trim) {
        None | Some("" | "on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(format!("{RUN_RETRIES_VAR} must be `on` or `off`, not `{}`", printable(other))),
    }
}

impl EngineConfig {
    /// Settings from the environment, with the defaults above (a [`RUN_RETRIES_VAR`] that is
    /// neither `on` nor `off` counts as on here, a [`RUN_LEASE_SECS_VAR`] out of its range as
    /// the default; a service's start refuses both).
    pub fn from_env() -> Self {
        let number =
            |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default);
        let schedule = number(SCHEDULE_SECS_VAR, DEFAULT_SCHEDULE_SECS);
        EngineConfig {
            workers: number(WORKERS_VAR, DEFAULT_WORKERS).max(1) as usize,
            run_timeout: Duration::from_secs(number(RUN_TIMEOUT_SECS_VAR, DEFAULT_RUN_TIMEOUT_SECS).max(1)),
            lease: run_lease_from_env().unwrap_or(Duration::from_secs(DEFAULT_RUN_LEASE_SECS)),
            poll_interval: Duration::from_millis(500),
            schedule_interval: (schedule > 0).then(|| Duration::from_secs(schedule)),
            owner: format!("{}-{}", std::process::id(), Uuid::new_v4().simple()),
            retention: Retention {
                max_age: Some(number(RETENTION_DAYS_VAR, DEFAULT_RETENTION_DAYS))
                    .filter(|&days| days > 0)
                    .map(|days| Duration::from_secs(days.saturating_mul(86_400))),
                per_item: Some(number(RETENTION_PER_ITEM_VAR, DEFAULT_RETENTION_PER_ITEM)).filter(|&n| n > 0),
            },
            retries: run_retries_from_env().unwrap_or(true),
        }
    }
}

/// Why [`Engine::try_start`] could not start the workers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineStartError {
    /// There is no Tokio runtime to spawn the workers on.
    #[error(
        "the workers for `{entity}` runs need a Tokio runtime and none is running here: start them from async code \
         (e.g. under `#[tokio::main]`) or inside `Runtime::enter`"
    )]
    NoRuntime {
        /// The entity whose runs the workers would execute.
        entity: &'static str,
    },
}

/// The runs of one entity: the database, the work, and a wake-up for idle workers.
pub struct Engine<E: Entity> {
    db: Db,
    handler: Arc<dyn RunHandler<E>>,
    drain: Arc<Drain>,
    metrics: RunMetrics,
    /// Set once, by the first successful start.
    config: std::sync::OnceLock<EngineConfig>,
    wake: tokio::sync::Notify,
    started: AtomicBool,
    last_prune: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the scheduler prunes the run history: the per-item rule ranks every finished run
/// of the entity, which is too much work for every tick.
pub const PRUNE_EVERY: Duration = Duration::from_secs(300);

impl<E: Entity> Engine<E> {
    /// An engine whose routes can queue runs; [`Engine::try_start`] runs its workers.
    /// `drain` and `metrics` are shared by every engine of a service.
    pub fn new(db: Db, handler: Arc<dyn RunHandler<E>>, drain: Arc<Drain>, metrics: RunMetrics) -> Arc<Self> {
        Arc::new(Engine {
            db,
            handler,
            drain,
            metrics,
            config: std::sync::OnceLock::new(),
            wake: tokio::sync::Notify::new(),
            started: AtomicBool::new(false),
            last_prune: std::sync::Mutex::new(None),
        })
    }

    fn config(&self) -> &EngineConfig {
        // Workers only exist after `try_start` set it.
        self.config.get_or_init(EngineConfig::from_env)
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Wakes an idle worker (after queueing).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// Spawns the workers and the scheduler on the current Tokio runtime; they stop with it.
    /// Idempotent: once started, later calls do nothing. Outside a runtime nothing is
    /// started and the error says so (a later call from inside one can still start them).
    pub fn try_start(self: &Arc<Self>, config: EngineConfig) -> Result<(), EngineStartError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| EngineStartError::NoRuntime { entity: E::DEF.name })?;
        if self.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let config = self.config.get_or_init(|| config);
        for _ in 0..config.workers {
            let engine = self.clone();
            runtime.spawn(async move { engine.work().await });
        }
        if let Some(interval) = config.schedule_interval {
            let engine = self.clone();
            runtime.spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                while !engine.drain.is_draining() {
                    ticker.tick().await;
                    engine.tick().await;
                }
            });
        }
        Ok(())
    }

    /// Whether the workers were started.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// One scheduler pass: fail runs whose lease expired, queue items that are due, and (at
    /// most every [`PRUNE_EVERY`]) prune the history as [`EngineConfig::retention`] says.
    pub async fn tick(&self) {
        if let Err(error) = self.recover_expired().await {
            tracing::warn!(%error, "recovering expired runs failed");
        }
        let prune_due = match self.last_prune.lock() {
            Ok(mut last) if last.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) => {
                *last = Some(std::time::Instant::now());
                true
            }
            _ => false,
        };
        if prune_due {
            match self.prune().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(entity = E::DEF.name, pruned, "pruned run history"),
                Err(error) => tracing::warn!(%error, "pruning run history failed"),
            }
        }
        let Some(action) = E::DEF.tracked_action() else { return };
        match queue::enqueue_due(&self.db, E::DEF, action, now()).await {
            Ok(0) => {}
            Ok(queued) => {
                tracing::info!(entity = E::DEF.name, queued, "scheduled runs");
                self.wake();
            }
            Err(error) => tracing::warn!(%error, "scheduling failed"),
        }
    }

    async fn work(self: Arc<Self>) {
        // A draining instance claims nothing more; the scheduler's ticks stop with it.
        while !self.drain.is_draining() {
            // Counted from before the claim, so a drain never sees "nothing running" while a
            // run is being claimed.
            let running = self.drain.run_started();
            match queue::claim(&self.db, E::DEF, &self.config().owner, self.config().lease).await {
                Ok(Some(run)) => {
                    self.metrics.claimed(E::DEF.name, &run);
                    self.execute(run).await;
                }
                Ok(None) => {
                    drop(running);
                    // Sleep until woken by a local enqueue, the poll interval (other
                    // instances' runs) or the start of draining, whichever comes first.
                    let wait = tokio::time::timeout(self.config().poll_interval, self.wake.notified());
                    tokio::select! {
                        _ = wait => {}
                        () = self.drain.started() => {}
                    }
                }
                Err(error) => {
                    drop(running);
                    tracing::warn!(%error, "claiming a run failed");
                    tokio::time::sleep(self.config().poll_interval).await;
                }
            }
        }
    }

    /// How long the attempt after failed attempt `attempt` waits, or `None` when that was the
    /// last one (or retries are off). The jitter comes from the OS's random source; without it
    /// the wait is the longest, never shorter than asked for.
    fn retry_wait(&self, attempt: u32) -> Option<Duration> {
        let policy = E::DEF.retry_policy().filter(|_| self.config().retries)?;
        let jitter = getrandom::u64().map_or(1.0, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64);
        policy.retries_after(attempt).then(|| policy.wait_after(attempt, jitter))
    }

    async fn execute(&self, run: Run) {
        let started = std::time::Instant::now();
        let outcome = match store::get::<E>(&self.db, run.item_id).await {
            Ok(Some(stored)) => {
                if let Some(tracking) = E::DEF.tracking
                    && let Err(error) =
                        queue::set_item_status(&self.db, E::DEF, tracking, run.item_id, ItemStatus::Syncing).await
                {
                    tracing::warn!(%error, "marking the item as running failed");
                }
                let mut item = stored.entity;
                let before = item.to_row();
                let renew = self.renew_lease(run.id);
                let work = tokio::time::timeout(self.config().run_timeout, self.handler.run(&run.action, &mut item));
                let result = tokio::select! {
                    result = work => result.unwrap_or_else(|_| Err(format!("timed out after {} s", self.config().run_timeout.as_secs()))),
                    () = renew => Err("the lease could not be renewed".to_owned()),
                    () = self.drain.deadline_passed() => {
                        // The work is dropped unfinished and its changes with it: the run goes
                        // back to the queue whole, for another instance to do.
                        self.hand_back(&run).await;
                        return;
                    }
                };
                let changes: Vec<(usize, SqlValue)> =
                    item.to_row().into_iter().enumerate().filter(|(i, value)| before.get(*i) != Some(value)).collect();
                Some((result, changes))
            }
            Ok(None) => None,
            Err(error) => Some((Err(format!("the item could not be read: {error}")), Vec::new())),
        };
        let elapsed = started.elapsed();
        let duration_ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        let (outcome, message, changes, retry_in) = match outcome {
            Some((Ok(message), changes)) => (Outcome::Success, message, changes, None),
            Some((Err(message), changes)) => (Outcome::Failed, message, changes, self.retry_wait(run.attempt)),
            // Nothing left to retry.
            None => (Outcome::Failed, "the item was deleted before the run started".to_owned(), Vec::new(), None),
        };
        // Stored, shown in the history and copied to the item's error field: whatever the
        // user's work or a driver put in it, no credential goes further.
        let message = redact(&message).into_owned();
        let end = RunEnd { outcome, message, duration_ms, changes, retry_in };
        let retry = match queue::finish(&self.db, E::DEF, &run, end).await {
            Ok(retry) => retry,
            Err(error) => {
                tracing::error!(%error, run = %run.id, "recording the end of a run failed");
                None
            }
        };
        self.metrics.finished(E::DEF.name, &run.action, outcome, elapsed.as_secs_f64());
        let status = outcome.run_status().as_str();
        let (attempt, action) = (run.attempt, run.action.as_str());
        match retry.and_then(|retry| retry.not_before) {
            Some(not_before) => {
                tracing::info!(entity = E::DEF.name, item = %run.item_id, action, status, attempt, duration_ms, %not_before, "run failed; next attempt queued")
            }
            None => {
                tracing::info!(entity = E::DEF.name, item = %run.item_id, action, status, attempt, duration_ms, "run finished")
            }
        }
    }

    /// Puts an unfinished run back in the queue at the drain deadline.
    async fn hand_back(&self, run: &Run) {
        match queue::hand_back(&self.db, E::DEF, run, &self.config().owner).await {
            Ok(true) => {
                self.drain.handed_back();
                tracing::info!(entity = E::DEF.name, item = %run.item_id, run = %run.id, "run handed back to the queue (draining)");
            }
            Ok(false) => {}
            // The lease expires in the end and another instance recovers the run.
            Err(error) => tracing::warn!(%error, run = %run.id, "handing a run back failed"),
        }
    }

    /// Extends the lease until the run ends; resolves only if renewal fails.
    async fn renew_lease(&self, run_id: Uuid) {
        let period = self.config().lease / 3;
        loop {
            tokio::time::sleep(period).await;
            if !matches!(queue::renew_lease(&self.db, run_id, self.config().lease).await, Ok(true)) {
                return;
            }
        }
    }

    /// Deletes finished runs past the retention (by age, then beyond the newest per item), in
    /// bounded batches; how many.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let retention = self.config().retention;
        let cutoff = retention.max_age.and_then(|age| chrono::Duration::from_std(age).ok()).map(|age| now() - age);
        queue::prune(&self.db, E::DEF, cutoff, retention.per_item).await
    }

    /// Fails runs whose lease expired (their process stopped) and releases their items, or
    /// queues their next attempt when the action retries failures.
    pub async fn recover_expired(&self) -> Result<u64, sqlx::Error> {
        let recovered = queue::recover_expired(&self.db, E::DEF, |attempt| self.retry_wait(attempt)).await?;
        if recovered > 0 {
            tracing::warn!(entity = E::DEF.name, runs = recovered, "failed runs whose worker stopped");
        }
        Ok(recovered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_is_a_bounded_number_of_seconds_or_an_error_naming_the_variable() {
        assert_eq!(run_lease(None), Ok(Duration::from_secs(DEFAULT_RUN_LEASE_SECS)));
        assert_eq!(run_lease(Some(" ")), Ok(Duration::from_secs(DEFAULT_RUN_LEASE_SECS)));
        assert_eq!(run_lease(Some("5")), Ok(Duration::from_secs(5)));
        assert_eq!(run_lease(Some(" 3600 ")), Ok(Duration::from_secs(3600)));
        for refused in ["4", "3601", "0", "-5", "30s", "1e3"] {
            let error = run_lease(Some(refused)).unwrap_err();
            assert!(error.contains(RUN_LEASE_SECS_VAR) && error.contains("5 to 3600"), "{error}");
            assert!(error.contains(&format!("`{refused}`")), "{error}");
        }
    }
}
