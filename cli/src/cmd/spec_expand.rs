//! `entity-spec spec expand [FILE]`: the Rust the macro generates, pretty-printed (what
//! `ENTITY_SPEC_DEBUG=1 cargo build` shows, without building).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use entity_spec_codegen::{expand_spec, pretty_print};

use super::{print_stdout, read_spec};
use crate::entity::SpecProblems;

/// Flags of `entity-spec spec expand`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec file.
    #[arg(default_value = "specs/entities.json")]
    file: PathBuf,
}

/// Prints the generated items of the module.
pub fn exec(args: Args) -> Result<ExitCode> {
    let (label, source) = read_spec(&args.file)?;
    let tokens = expand_spec(&source).map_err(|errors| SpecProblems { label, errors })?;
    print_stdout(&pretty_print(&tokens))?;
    Ok(ExitCode::SUCCESS)
}
