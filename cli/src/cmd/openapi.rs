//! `entity-spec openapi [FILE]`: the OpenAPI 3.1 document a spec's service serves at
//! `/openapi.json`, without building it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use entity_spec_codegen::openapi_document;

use super::{print_stdout, read_spec};
use crate::entity::SpecProblems;

/// Flags of `entity-spec openapi`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec file.
    #[arg(default_value = "specs/entities.json")]
    file: PathBuf,
}

/// Prints the document as pretty JSON.
pub fn exec(args: Args) -> Result<ExitCode> {
    let (label, source) = read_spec(&args.file)?;
    let document = openapi_document(&source).map_err(|errors| SpecProblems { label, errors })?;
    print_stdout(&format!("{}\n", document.trim_end()))?;
    Ok(ExitCode::SUCCESS)
}
