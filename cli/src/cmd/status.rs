//! `entity-spec status [N]`: where a feature request stands, for one issue or every open
//! `feature` issue: approval, branch, pull request, risk, checks (commit statuses and check
//! runs), mergeability, merged or closed, and the next step. The exit code tells a script
//! whether a person has something to do: 0 nothing (done, or waiting on CI or auto-merge),
//! 2 something, 1 the status could not be read.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use super::{Context, FEATURE, NEEDS_REVIEW, feature_branch, issue_definition, print_stdout};
use crate::checks::Checks;
use crate::github::{GitHub, Issue, PullRequest, one_line};
use crate::risk::LOW_RISK;

/// The exit code when at least one issue needs a person.
const ACTION_NEEDED: u8 = 2;

/// Flags of `entity-spec status`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub context: Context,
    /// One issue [default: every open issue labelled `feature`].
    number: Option<u64>,
    /// Print JSON (an object for one issue, an array for all) instead of text.
    #[arg(long)]
    json: bool,
}

/// Where one issue stands.
#[derive(Debug, Serialize)]
pub struct IssueStatus {
    /// The issue number.
    pub issue: u64,
    /// Its title, as one line.
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// `approved`, `needs-review` or `invalid-definition`.
    pub approval: &'static str,
    /// The entity its definition holds, when the definition is valid.
    pub entity: Option<String>,
    /// The branch `implement` uses for it, when the definition is valid.
    pub branch: Option<String>,
    /// Its newest pull request, if any.
    pub pull_request: Option<PullStatus>,
    /// Whether a person has something to do.
    pub action_needed: bool,
    /// What happens next, or what to do.
    pub next: String,
}

/// Where a pull request stands.
#[derive(Debug, Serialize)]
pub struct PullStatus {
    /// Its number.
    pub number: u64,
    /// Its page.
    pub url: String,
    /// `open`, `closed` or `merged`.
    pub state: &'static str,
    /// `low-risk`, `needs-review`, or `null` when it has neither label.
    pub risk: Option<&'static str>,
    /// The head commit's checks.
    pub checks: Checks,
    /// Whether it merges cleanly (`null`: GitHub has not worked it out yet).
    pub mergeable: Option<bool>,
    /// GitHub's `mergeable_state`.
    pub mergeable_state: Option<String>,
    /// Whether auto-merge is enabled.
    pub auto_merge: bool,
}

/// Reads and prints the status.
pub fn exec(args: Args, context: &Context) -> Result<ExitCode> {
    let github = context.github()?;
    let issues = match args.number {
        Some(number) => {
            let issue = github.issue(number).with_context(|| format!("cannot read issue #{number}"))?;
            if issue.pull_request.is_some() {
                bail!("#{number} is a pull request, not a feature-request issue");
            }
            vec![issue]
        }
        None => github.open_issues_labelled(FEATURE).context("cannot list the open feature issues")?,
    };
    let mut statuses = Vec::new();
    for issue in &issues {
        statuses.push(
            issue_status(&github, issue)
                .with_context(|| format!("cannot read the state of issue #{}", issue.number))?,
        );
    }
    if args.json {
        let value = match (args.number, statuses.as_slice()) {
            (Some(_), [one]) => serde_json::to_string_pretty(one)?,
            _ => serde_json::to_string_pretty(&statuses)?,
        };
        print_stdout(&format!("{value}\n"))?;
    } else if statuses.is_empty() {
        print_stdout(&format!("no open issues labelled `{FEATURE}` in {}\n", github.repo))?;
    } else {
        let text: Vec<String> = statuses.iter().map(render).collect();
        print_stdout(&format!("{}\n", text.join("\n")))?;
    }
    Ok(if statuses.iter().any(|s| s.action_needed) { ExitCode::from(ACTION_NEEDED) } else { ExitCode::SUCCESS })
}

/// Everything GitHub knows about one issue's way to a merged pull request.
fn issue_status(github: &GitHub, issue: &Issue) -> Result<IssueStatus> {
    let number = issue.number;
    let mut status = IssueStatus {
        issue: number,
        title: one_line(&issue.title, 120),
        state: if issue.state == "closed" { "closed".to_owned() } else { "open".to_owned() },
        approval: if issue.has_label(NEEDS_REVIEW) { "needs-review" } else { "approved" },
        entity: None,
        branch: None,
        pull_request: None,
        action_needed: false,
        next: String::new(),
    };
    let entity = match issue_definition(issue) {
        Ok((_, entity)) => entity,
        Err(error) => {
            status.approval = "invalid-definition";
            let first = format!("{error:#}");
            status.next = format!(
                "fix the definition (`entity-spec update {number}`): {}",
                one_line(first.lines().next().unwrap_or(""), 200)
            );
            status.action_needed = issue.state == "open";
            return Ok(status);
        }
    };
    let branch = feature_branch(number, &entity);
    status.entity = Some(entity.ir.name.clone());
    status.branch = Some(branch.clone());
    let pull = github.latest_pull_for_branch(&branch)?;
    status.pull_request = match &pull {
        Some(pr) => Some(pull_status(github, pr)?),
        None => None,
    };
    (status.action_needed, status.next) = next_step(issue, status.approval, status.pull_request.as_ref());
    Ok(status)
}

fn pull_status(github: &GitHub, listed: &PullRequest) -> Result<PullStatus> {
    // Only the single-pull answer carries mergeability.
    let pr = github.pull(listed.number)?;
    let state = if pr.merged_at.is_some() {
        "merged"
    } else if pr.state == "closed" {
        "closed"
    } else {
        "open"
    };
    let risk = [LOW_RISK, NEEDS_REVIEW].into_iter().find(|risk| pr.labels.iter().any(|l| l.name == *risk));
    let checks = match (&pr.head, state) {
        (Some(head), "open") => Checks::from(&github.combined_status(&head.sha)?, &github.check_runs(&head.sha)?),
        _ => Checks { state: "none", ..Checks::default() },
    };
    Ok(PullStatus {
        number: pr.number,
        url: pr.html_url.clone(),
        state,
        risk,
        checks,
        mergeable: pr.mergeable,
        mergeable_state: pr.mergeable_state.clone(),
        auto_merge: pr.auto_merge.is_some(),
    })
}

/// Whether a person must act, and the sentence saying what happens next.
fn next_step(issue: &Issue, approval: &str, pull: Option<&PullStatus>) -> (bool, String) {
    let number = issue.number;
    if issue.state == "closed" {
        return (false, "done: the issue is closed".to_owned());
    }
    if approval == NEEDS_REVIEW {
        return (true, format!("review the definition, then `entity-spec approve {number}`"));
    }
    let Some(pr) = pull else {
        return (true, format!("`entity-spec implement {number}`"));
    };
    let n = pr.number;
    match pr.state {
        "merged" => (true, format!("pull request #{n} is merged but the issue is open: close it")),
        "closed" => {
            (true, format!("pull request #{n} was closed unmerged: reopen it or run `entity-spec implement {number}`"))
        }
        _ if pr.mergeable == Some(false) || pr.mergeable_state.as_deref() == Some("dirty") => (
            true,
            format!(
                "pull request #{n} conflicts with its base: run `entity-spec implement {number}` to merge the base into it"
            ),
        ),
        _ if pr.checks.state == "failure" => (
            true,
            format!(
                "checks failed on #{n} ({}): fix them, then `entity-spec implement {number}`",
                pr.checks.failed.join(", ")
            ),
        ),
        _ if pr.risk == Some(NEEDS_REVIEW) => (true, format!("review and merge pull request #{n} ({})", pr.url)),
        _ if pr.checks.state == "pending" => {
            (false, format!("waiting for checks on #{n}{}", if pr.auto_merge { "; auto-merge is on" } else { "" }))
        }
        _ if pr.auto_merge => (false, format!("waiting for auto-merge of #{n}")),
        _ => (true, format!("merge pull request #{n} ({})", pr.url)),
    }
}

/// The text form: one block per issue.
fn render(status: &IssueStatus) -> String {
    let mut lines = vec![format!("#{} {} ({})", status.issue, status.title, status.state)];
    let approval = match status.approval {
        "approved" => "approved".to_owned(),
        "needs-review" => "needs review".to_owned(),
        _ => "the definition is not valid".to_owned(),
    };
    lines.push(format!("  approval:     {approval}"));
    if let (Some(entity), Some(branch)) = (&status.entity, &status.branch) {
        lines.push(format!("  entity:       {entity} on branch {branch}"));
    }
    match &status.pull_request {
        None if status.branch.is_some() => lines.push("  pull request: none".to_owned()),
        None => {}
        Some(pr) => {
            let risk = pr.risk.map_or_else(String::new, |r| format!(", {r}"));
            lines.push(format!("  pull request: #{} {} ({}{risk})", pr.number, pr.url, pr.state));
            if pr.state == "open" {
                let failed = if pr.checks.failed.is_empty() {
                    String::new()
                } else {
                    format!(", failed: {}", pr.checks.failed.join(", "))
                };
                lines.push(format!(
                    "  checks:       {} ({} passed, {} pending{failed})",
                    pr.checks.state, pr.checks.passed, pr.checks.pending
                ));
                let mergeable = match pr.mergeable {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "not known yet",
                };
                let state =
                    pr.mergeable_state.as_deref().map_or_else(String::new, |s| format!(" ({})", one_line(s, 40)));
                let auto = if pr.auto_merge { "; auto-merge on" } else { "" };
                lines.push(format!("  mergeable:    {mergeable}{state}{auto}"));
            }
        }
    }
    let marker = if status.action_needed { "next (you):  " } else { "next:        " };
    lines.push(format!("  {marker} {}", status.next));
    lines.join("\n")
}
