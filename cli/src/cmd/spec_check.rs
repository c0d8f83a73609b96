//! `entity-spec spec check [FILE]`: the macro's checks without a build, with the same messages.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::checked_spec;

/// Flags of `entity-spec spec check`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec file.
    #[arg(default_value = "specs/entities.json")]
    file: PathBuf,
}

/// Prints a one-line summary, or every problem as `file:line:column: context: message`.
pub fn exec(args: Args) -> Result<ExitCode> {
    let (label, ir) = checked_spec(&args.file)?;
    let names: Vec<String> =
        ir.entities.iter().map(|e| format!("{} ({} fields, {})", e.name, e.fields.len(), e.collection_path)).collect();
    let count = ir.entities.len();
    let noun = if count == 1 { "entity" } else { "entities" };
    println!("{label}: ok, {count} {noun}{}{}", if names.is_empty() { "" } else { ": " }, names.join(", "));
    Ok(ExitCode::SUCCESS)
}
