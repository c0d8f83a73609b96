//! What happens to a pull request after `implement` opens it. A low-risk change gets GitHub's
//! auto-merge (squash), so it lands once the repository's required checks pass; where the
//! repository does not allow auto-merge, the command waits for the checks itself (bounded) and
//! merges through the REST API. A change that needs review never merges by itself: auto-merge
//! left on from an earlier low-risk run is turned off, and a review is requested from the
//! person who approved the issue.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use crate::checks::Checks;
use crate::github::{GitHub, GitHubError, PullRequest, one_line};

/// How long to wait for checks without auto-merge, unless `ENTITY_SPEC_CHECKS_WAIT` (seconds)
/// says otherwise: CI of a new service takes minutes, not hours.
const DEFAULT_CHECKS_WAIT: Duration = Duration::from_secs(30 * 60);

/// How often the checks are read while waiting (`ENTITY_SPEC_CHECKS_POLL`, seconds).
const DEFAULT_CHECKS_POLL: Duration = Duration::from_secs(15);

/// How long to wait for the first check to appear: a repository without CI reports none, and
/// nothing then vouches for the change.
const FIRST_CHECK_GRACE: Duration = Duration::from_secs(120);

/// Where a low-risk pull request stands after [`land`].
#[derive(Debug, PartialEq, Eq)]
pub enum Landing {
    /// GitHub merges it once the checks pass.
    AutoMergeEnabled,
    /// It was merged through the REST API after its checks passed.
    Merged,
    /// It stays open; the text says why and what to do.
    NotMerged(String),
}

/// Enables auto-merge on a low-risk pull request, or, where the repository does not allow it
/// (or the pull request is already mergeable, which auto-merge refuses), waits for its checks
/// and merges it.
pub fn land(github: &GitHub, pr: &PullRequest, issue: u64) -> Result<Landing, GitHubError> {
    if pr.auto_merge.is_some() {
        return Ok(Landing::AutoMergeEnabled);
    }
    match github.enable_auto_merge(&pr.node_id) {
        Ok(()) => return Ok(Landing::AutoMergeEnabled),
        Err(GitHubError::GraphQl { message, .. }) if auto_merge_unavailable(&message) => {
            println!(
                "      auto-merge is not available ({}): waiting for the checks to merge it here",
                one_line(&message, 120)
            );
        }
        Err(error) => return Err(error),
    }
    wait_and_merge(github, pr.number, issue)
}

/// GitHub's refusals that mean "merge it yourself": auto-merge is off in the repository's
/// settings, or there is nothing to wait for (the pull request is already in clean status).
fn auto_merge_unavailable(message: &str) -> bool {
    let message = message.to_lowercase();
    message.contains("auto merge is not allowed") || message.contains("clean status")
}

fn seconds_from_env(name: &str, default: Duration) -> Duration {
    std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok()).map_or(default, Duration::from_secs)
}

/// Waits for the head commit's checks, then squash-merges that commit. A failed check, a
/// repository without checks, or a wait that runs out leaves the pull request open.
fn wait_and_merge(github: &GitHub, number: u64, issue: u64) -> Result<Landing, GitHubError> {
    let wait = seconds_from_env("ENTITY_SPEC_CHECKS_WAIT", DEFAULT_CHECKS_WAIT);
    let poll = seconds_from_env("ENTITY_SPEC_CHECKS_POLL", DEFAULT_CHECKS_POLL).max(Duration::from_millis(200));
    let grace = FIRST_CHECK_GRACE.min(wait);
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    loop {
        let pr = github.pull(number)?;
        if pr.merged_at.is_some() {
            return Ok(Landing::Merged);
        }
        let Some(head) = &pr.head else {
            return Ok(Landing::NotMerged(format!(
                "GitHub did not say which commit #{number} is at: merge it on GitHub"
            )));
        };
        let checks = Checks::from(&github.combined_status(&head.sha)?, &github.check_runs(&head.sha)?);
        let elapsed = started.elapsed();
        match checks.state {
            "failure" => {
                return Ok(Landing::NotMerged(format!(
                    "checks failed on #{number} ({}): not merged. Fix them, then `entity-spec implement {issue}`",
                    checks.failed.join(", ")
                )));
            }
            "success" => {
                let title = format!("{} (#{number})", pr_title(&pr));
                return match github.merge_pull(number, &head.sha, &title) {
                    Ok(()) => Ok(Landing::Merged),
                    Err(GitHubError::Status { message, status, .. }) => Ok(Landing::NotMerged(format!(
                        "GitHub refused to merge #{number} ({status}: {message}); see the pull request page"
                    ))),
                    Err(error) => Err(error),
                };
            }
            "none" if elapsed >= grace => {
                return Ok(Landing::NotMerged(format!(
                    "no checks reported on #{number} within {}s: not merged, as nothing vouches for the change. Merge it on GitHub yourself, or add CI (`entity-spec init` scaffolds .github/workflows/ci.yml)",
                    grace.as_secs()
                )));
            }
            _ if elapsed >= wait => {
                return Ok(Landing::NotMerged(format!(
                    "checks still running on #{number} after {}s: not merged. `entity-spec status {issue}` follows them; merge it when they pass",
                    wait.as_secs()
                )));
            }
            _ => {}
        }
        if terminal {
            eprint!(
                "\r      waiting for checks on #{number}: {} passed, {} pending, {}s",
                checks.passed,
                checks.pending,
                elapsed.as_secs()
            );
        }
        std::thread::sleep(poll);
        if terminal {
            eprint!("\r\x1b[2K");
        }
    }
}

/// The title GitHub would give the squash commit.
fn pr_title(pr: &PullRequest) -> String {
    one_line(pr.title.as_deref().unwrap_or("Merge pull request"), 200)
}

/// For a pull request that needs review: turns off an auto-merge an earlier low-risk run left
/// on (else GitHub would merge a breaking change once its checks pass), and asks the person
/// who approved the issue for a review. Returns the lines to print.
pub fn hold_for_review(
    github: &GitHub,
    pr: &PullRequest,
    issue: u64,
    approval_label: &str,
) -> Result<Vec<String>, GitHubError> {
    let mut lines = Vec::new();
    if pr.auto_merge.is_some() {
        github.disable_auto_merge(&pr.node_id)?;
        lines.push(format!("auto-merge turned off on #{}: it needs review now", pr.number));
    }
    let author = pr.user.as_ref().map(|u| u.login.as_str());
    lines.push(match github.last_unlabeled_by(issue, approval_label)? {
        None => format!("nobody removed `{approval_label}` from #{issue} on record: request a review on GitHub"),
        Some(login) if Some(login.as_str()) == author => format!(
            "#{issue} was approved by @{}, who also opened #{}: GitHub takes no review request from a pull request's author, so ask another reviewer",
            one_line(&login, 40),
            pr.number
        ),
        Some(login) => match github.request_review(pr.number, &login) {
            Ok(()) => format!("review requested from @{}, who approved #{issue}", one_line(&login, 40)),
            Err(GitHubError::Status { message, status, .. }) => {
                format!("could not request a review from @{} ({status}: {message}); ask on GitHub", one_line(&login, 40))
            }
            Err(error) => return Err(error),
        },
    });
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_that_mean_merge_it_yourself_are_recognised() {
        assert!(auto_merge_unavailable("Auto merge is not allowed for this repository"));
        assert!(auto_merge_unavailable("Pull request Pull request is in clean status"));
        assert!(!auto_merge_unavailable("Pull request User is not allowed to push to this repository"));
    }
}
