//! The states and triggers of tracked runs (e.g. a data source's sync), as stored in the runs
//! table, shown by the API, documented in OpenAPI and required of the spec's status field; and
//! how a failed run is retried.

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every wire name, in order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The wire name (JSON and database).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// The value with this wire name.
            pub fn parse(wire: &str) -> Option<$name> {
                match wire {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Other modules' wire enums use the same shape.
pub(crate) use wire_enum;

wire_enum! {
    /// Where a run is.
    RunStatus {
        /// Waiting for a worker.
        Queued = "queued",
        /// A worker holds it.
        Running = "running",
        /// It ended well.
        Success = "success",
        /// It ended badly, timed out, or its worker stopped.
        Failed = "failed",
    }
}

impl RunStatus {
    /// Queued or running: the item may have only one such run at a time.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

wire_enum! {
    /// Why a run was started.
    RunTrigger {
        /// `POST {path}/{id}/{action}`.
        Manual = "manual",
        /// The item's refresh interval elapsed.
        Scheduled = "scheduled",
        /// The collection action that queues every active item.
        SyncAll = "sync_all",
    }
}

wire_enum! {
    /// What an item's status field (`api.tracking.status`) says about its runs; the spec's enum
    /// must hold these values.
    ItemStatus {
        /// A run is queued.
        Pending = "pending",
        /// A run is running.
        Syncing = "syncing",
        /// The last run succeeded.
        Success = "success",
        /// The last run failed.
        Failed = "failed",
    }
}

impl From<RunStatus> for ItemStatus {
    fn from(status: RunStatus) -> ItemStatus {
        match status {
            RunStatus::Queued => ItemStatus::Pending,
            RunStatus::Running => ItemStatus::Syncing,
            RunStatus::Success => ItemStatus::Success,
            RunStatus::Failed => ItemStatus::Failed,
        }
    }
}

/// How a tracked action retries a failed attempt: the spec's `retry` object, e.g.
/// `{"attempts": 3, "backoff_secs": 30}`. The generator checks it against the bounds here and
/// documents it; the runtime's workers follow it. Each attempt is a run of its own in the
/// history, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    /// Attempts in all, the first included: 1 never retries.
    pub attempts: u32,
    /// The longest wait before the first retry, in seconds; it doubles for each later one.
    pub backoff_secs: u32,
}

impl RetryPolicy {
    /// The most attempts a spec may ask for: past that, a failing upstream is not coming back
    /// soon, and the scheduler's next pass is a better retry.
    pub const MAX_ATTEMPTS: u32 = 10;
    /// The longest `backoff_secs` a spec may ask for (a day).
    pub const MAX_BACKOFF_SECS: u32 = 86_400;
    /// `backoff_secs` when the spec leaves it out.
    pub const DEFAULT_BACKOFF_SECS: u32 = 30;
    /// No wait is longer than this (a day), however often the backoff doubled.
    pub const MAX_WAIT_SECS: u64 = 86_400;

    /// Whether failed attempt number `attempt` (1 for the first) is followed by another.
    pub fn retries_after(self, attempt: u32) -> bool {
        attempt < self.attempts
    }

    /// The longest wait after failed attempt `attempt`: `backoff_secs · 2^(attempt − 1)`, at
    /// most [`RetryPolicy::MAX_WAIT_SECS`].
    pub fn ceiling_secs(self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        u64::from(self.backoff_secs).saturating_mul(1u64 << doublings).min(Self::MAX_WAIT_SECS)
    }

    /// The wait after failed attempt `attempt`, with "equal jitter": half of
    /// [`ceiling_secs`](RetryPolicy::ceiling_secs) for certain, the other half scaled by
    /// `jitter` (in `0.0..=1.0`, drawn at random by the caller). Items that failed together,
    /// because the upstream they share went down, so come back spread out rather than all at
    /// once, and no retry comes sooner than half its ceiling.
    pub fn wait_after(self, attempt: u32, jitter: f64) -> std::time::Duration {
        let ceiling_ms = self.ceiling_secs(attempt) * 1000;
        let half = ceiling_ms / 2;
        let spread = ((ceiling_ms - half) as f64 * jitter.clamp(0.0, 1.0)).round() as u64;
        std::time::Duration::from_millis(half + spread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(RunTrigger::NAMES, ["manual", "scheduled", "sync_all"]);
        assert_eq!(ItemStatus::NAMES, ["pending", "syncing", "success", "failed"]);
        assert_eq!(ItemStatus::from(RunStatus::Running), ItemStatus::Syncing);
        assert_eq!(RunStatus::parse("done"), None);
    }

    #[test]
    fn retries_wait_between_half_and_all_of_a_doubling_ceiling_capped_at_a_day() {
        let policy = RetryPolicy { attempts: 4, backoff_secs: 30 };
        assert!(policy.retries_after(1) && policy.retries_after(3) && !policy.retries_after(4));
        assert_eq!([1, 2, 3].map(|attempt| policy.ceiling_secs(attempt)), [30, 60, 120]);
        assert_eq!(policy.wait_after(1, 0.0).as_secs(), 15);
        assert_eq!(policy.wait_after(2, 1.0).as_secs(), 60);
        assert_eq!(policy.wait_after(3, 0.5).as_millis(), 90_000);
        assert_eq!(policy.wait_after(3, 7.0), policy.wait_after(3, 1.0), "jitter beyond 1 is clamped");
        let slow = RetryPolicy { attempts: RetryPolicy::MAX_ATTEMPTS, backoff_secs: RetryPolicy::MAX_BACKOFF_SECS };
        assert_eq!(slow.ceiling_secs(RetryPolicy::MAX_ATTEMPTS - 1), RetryPolicy::MAX_WAIT_SECS);
        assert_eq!(RetryPolicy { attempts: 2, backoff_secs: 1 }.ceiling_secs(u32::MAX), RetryPolicy::MAX_WAIT_SECS);
    }
}
