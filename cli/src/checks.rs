//! The checks of one commit, from GitHub's two APIs for them: commit statuses (external CI
//! services) and check runs (GitHub Actions and apps). `status` shows them; `implement` waits
//! on them before merging when the repository has no auto-merge.

use serde::Serialize;

use crate::github::{CheckRuns, CombinedStatus, one_line};

/// Commit statuses and check runs of one commit, together.
#[derive(Debug, Default, Serialize)]
pub struct Checks {
    /// `success`, `pending`, `failure`, or `none` when nothing reported.
    pub state: &'static str,
    /// How many passed (or were neutral or skipped).
    pub passed: u64,
    /// How many have not finished.
    pub pending: u64,
    /// The names of those that failed.
    pub failed: Vec<String>,
}

impl Checks {
    /// Combines both APIs. A combined status with no statuses says `pending` (GitHub's rule),
    /// which for a repository that only uses Actions means nothing: it is ignored then.
    pub fn from(status: &CombinedStatus, runs: &CheckRuns) -> Checks {
        let mut checks = Checks::default();
        if status.total_count > 0 {
            for s in &status.statuses {
                match s.state.as_str() {
                    "success" => checks.passed += 1,
                    "pending" => checks.pending += 1,
                    _ => checks.failed.push(one_line(&s.context, 100)),
                }
            }
        }
        for run in &runs.check_runs {
            match (run.status.as_str(), run.conclusion.as_deref()) {
                ("completed", Some("success" | "neutral" | "skipped")) => checks.passed += 1,
                ("completed", _) => checks.failed.push(one_line(&run.name, 100)),
                _ => checks.pending += 1,
            }
        }
        checks.state = if !checks.failed.is_empty() {
            "failure"
        } else if checks.pending > 0 {
            "pending"
        } else if checks.passed > 0 {
            "success"
        } else {
            "none"
        };
        checks
    }
}
