//! Draining for a restart: once [`Drain::begin`] is called the workers claim no more runs,
//! runs in progress may finish until the deadline, and those still running then are handed
//! back to the queue (queued again, their item pending), so another instance takes them at
//! once instead of failing them when their lease expires. `/readyz` answers 503 meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// The variable giving running runs time to finish at shutdown, in seconds (default 25, under
/// the 30 s most orchestrators wait between SIGTERM and SIGKILL).
pub const DRAIN_SECS_VAR: &str = "ENTITY_SPEC_DRAIN_SECS";

/// The default of [`DRAIN_SECS_VAR`].
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(25);

/// The drain state one service's engines share.
#[derive(Debug)]
pub struct Drain {
    /// `Some(deadline)` once draining began.
    deadline: watch::Sender<Option<Instant>>,
    running: AtomicUsize,
    idle: Notify,
    handed_back: AtomicUsize,
}

/// What a drain did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Runs that were still running at the deadline and went back to the queue.
    pub handed_back: usize,
    /// Runs still running when [`Drain::wait`] gave up (their lease will expire).
    pub abandoned: usize,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            deadline: watch::Sender::new(None),
            running: AtomicUsize::new(0),
            idle: Notify::new(),
            handed_back: AtomicUsize::new(0),
        }
    }
}

impl Drain {
    /// [`DRAIN_SECS_VAR`] when it is a number of seconds, else [`DEFAULT_DRAIN`].
    pub fn grace_from_env() -> Result<Duration, String> {
        match std::env::var(DRAIN_SECS_VAR) {
            Err(_) => Ok(DEFAULT_DRAIN),
            Ok(value) => value
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("{DRAIN_SECS_VAR} must be a number of seconds, not `{}`", value.trim())),
        }
    }

    /// Stops claiming runs; running ones get `grace` to finish. Later calls keep the first
    /// deadline.
    pub fn begin(&self, grace: Duration) {
        self.deadline.send_if_modified(|deadline| {
            if deadline.is_some() {
                return false;
            }
            *deadline = Some(Instant::now() + grace);
            true
        });
    }

    /// Whether draining began.
    pub fn is_draining(&self) -> bool {
        self.deadline.borrow().is_some()
    }

    /// Resolves when draining begins.
    pub async fn started(&self) {
        let mut receiver = self.deadline.subscribe();
        let _ = receiver.wait_for(Option::is_some).await;
    }

    /// Resolves at the drain deadline (never, while not draining).
    pub async fn deadline_passed(&self) {
        let mut receiver = self.deadline.subscribe();
        let deadline = match receiver.wait_for(Option::is_some).await {
            Ok(deadline) => *deadline,
            Err(_) => None,
        };
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    }

    /// A run started; the guard ends it.
    pub fn run_started(&self) -> RunGuard<'_> {
        self.running.fetch_add(1, Ordering::AcqRel);
        RunGuard { drain: self }
    }

    /// Counts a run handed back to the queue.
    pub fn handed_back(&self) {
        self.handed_back.fetch_add(1, Ordering::AcqRel);
    }

    /// Waits until no run is running (each finished, or was handed back at the deadline), at
    /// most until the deadline plus `margin` (handing back takes a database write).
    pub async fn wait(&self, margin: Duration) -> DrainReport {
        let deadline = *self.deadline.borrow();
        let give_up = deadline.unwrap_or_else(Instant::now) + margin;
        loop {
            let notified = self.idle.notified();
            if self.running.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(give_up, notified).await.is_err() {
                break;
            }
        }
        DrainReport {
            handed_back: self.handed_back.load(Ordering::Acquire),
            abandoned: self.running.load(Ordering::Acquire),
        }
    }
}

/// Ends a run's count when dropped.
pub struct RunGuard<'a> {
    drain: &'a Drain,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if self.drain.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drain.idle.notify_waiters();
        }
    }
}
