//! The values a run's status and trigger and a tracked item's status take: enums in Rust,
//! their snake_case names in JSON and in the database.

use serde::Serialize;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it.
    Running,
    /// It ended well.
    Success,
    /// It ended with an error, timed out, or its worker stopped.
    Failed,
}

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `POST …/{id}/sync`
    Manual,
    /// The refresh interval elapsed.
    Scheduled,
    /// `POST …/sync-all`
    SyncAll,
}

/// The tracked item's status field (`TrackingDef::status`), which the runtime owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// A run is queued.
    Pending,
    /// A run is executing.
    Syncing,
    /// The last run succeeded.
    Success,
    /// The last run failed.
    Failed,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The work returned `Ok`.
    Success,
    /// The work returned `Err`, timed out, or could not start.
    Failed,
}

macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The name used in JSON and stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),*
                }
            }

            /// The value with this name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == name)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(RunStatus { Queued => "queued", Running => "running", Success => "success", Failed => "failed" });
names!(Trigger { Manual => "manual", Scheduled => "scheduled", SyncAll => "sync_all" });
names!(ItemStatus { Pending => "pending", Syncing => "syncing", Success => "success", Failed => "failed" });

impl RunStatus {
    /// The statuses of a run that holds its item: at most one such run per item.
    pub const ACTIVE: [RunStatus; 2] = [RunStatus::Queued, RunStatus::Running];
}

impl Outcome {
    /// The run's final status.
    pub const fn run_status(self) -> RunStatus {
        match self {
            Outcome::Success => RunStatus::Success,
            Outcome::Failed => RunStatus::Failed,
        }
    }

    /// The item's status after the run.
    pub const fn item_status(self) -> ItemStatus {
        match self {
            Outcome::Success => ItemStatus::Success,
            Outcome::Failed => ItemStatus::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_form() {
        for status in RunStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(RunStatus::from_name(status.as_str()), Some(*status));
        }
        for trigger in Trigger::ALL {
            assert_eq!(serde_json::to_value(trigger).unwrap(), trigger.as_str());
            assert_eq!(Trigger::from_name(trigger.as_str()), Some(*trigger));
        }
        for status in ItemStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(ItemStatus::from_name(status.as_str()), Some(*status));
        }
        assert_eq!(RunStatus::from_name("done"), None);
    }
}
