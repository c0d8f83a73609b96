//! `entity-spec spec diff OLD NEW`: what changed between two specs and whether it can break
//! anything, with the rules `implement` uses to label pull requests.
//!
//! Exit status, as diff(1): 0 when the change is additive (or there is none), 1 when it is
//! breaking, 2 when a spec cannot be read or checked.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{checked_spec, print_stdout};
use crate::risk::{Impact, diff_specs};

/// Flags of `entity-spec spec diff`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec before the change.
    old: PathBuf,
    /// The spec after the change.
    new: PathBuf,
}

/// Prints one line per change, then the verdict (`low-risk` or `needs-review`).
pub fn exec(args: Args) -> Result<ExitCode> {
    let (_, old) = checked_spec(&args.old)?;
    let (_, new) = checked_spec(&args.new)?;
    let diff = diff_specs(&old, &new);
    let mut report = String::new();
    for change in &diff.changes {
        let kind = match change.impact {
            Impact::Additive => "additive",
            Impact::Neutral => "neutral ",
            Impact::Breaking => "breaking",
        };
        report.push_str(&format!("{kind}  {change}\n"));
    }
    report.push_str(&format!("{}\n", diff.verdict()));
    print_stdout(&report)?;
    Ok(if diff.is_breaking() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
