//! The states and triggers of tracked runs (e.g. a data source's sync), as stored in the runs
//! table, shown by the API, documented in OpenAPI and required of the spec's status field.

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
}
