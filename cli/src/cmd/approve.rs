//! `entity-spec approve N`: a reviewer's go-ahead, recorded by removing `needs-review`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::{Context, NEEDS_REVIEW, issue_definition, open_issue};

/// Flags of `entity-spec approve`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub context: Context,
    /// The issue number.
    number: u64,
}

/// Removes `needs-review` from an open request whose definition is valid (approving one that
/// `implement` would refuse helps nobody).
pub fn exec(args: Args, context: &Context) -> Result<ExitCode> {
    let github = context.github()?;
    let issue = open_issue(&github, args.number)?;
    let (_, entity) = issue_definition(&issue).context("not approved")?;
    let number = issue.number;
    if !issue.has_label(NEEDS_REVIEW) {
        println!("issue #{number} has no `{NEEDS_REVIEW}` label: already approved");
    } else {
        github.remove_label(number, NEEDS_REVIEW).with_context(|| format!("cannot remove `{NEEDS_REVIEW}`"))?;
        println!("approved issue #{number} ({}): removed `{NEEDS_REVIEW}`", entity.ir.name);
    }
    println!("next: `entity-spec implement {number}`");
    Ok(ExitCode::SUCCESS)
}
