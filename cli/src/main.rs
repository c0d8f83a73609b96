//! `entity-spec`: the command-line side of entity-spec.
//!
//! Spec tools (`spec check`, `spec expand`, `spec diff`, `openapi`, `init`) call the same
//! codegen library as the macro, so the CLI and `cargo build` never disagree about a spec. The
//! workflow commands (`request`, `update`, `approve`, `implement`, `status`) carry a feature
//! from a GitHub issue to a merged pull request; they talk to GitHub's REST API (and its GraphQL
//! API for auto-merge) and drive `git` and `cargo` as the user would.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod auto_merge;
mod cargo;
mod checks;
mod cmd;
mod crate_spec;
mod entity;
mod git;
mod github;
mod issue_body;
mod repo_config;
mod request_input;
mod risk;
mod spec_file;

/// Describe entities in JSON; get a web service. This command checks and expands specs,
/// scaffolds services, and takes a feature from GitHub issue to pull request.
#[derive(Parser)]
#[command(name = "entity-spec", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open a feature-request issue holding an entity definition (checked first).
    Request(cmd::request::Args),
    /// Rewrite the entity definition of a request issue (whole, or field by field).
    Update(cmd::update::Args),
    /// Approve a request issue: remove its `needs-review` label.
    Approve(cmd::approve::Args),
    /// Implement an approved request issue: branch, spec, build, test, commit, push, pull request.
    Implement(cmd::implement::Args),
    /// Where feature requests stand: approval, branch, pull request, risk, checks,
    /// mergeability. Exit 0: nothing to do; 2: something needs you; 1: error.
    Status(cmd::status::Args),
    /// Check, expand or compare spec files.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Print the OpenAPI document of the service a spec generates.
    Openapi(cmd::openapi::Args),
    /// Create a new service crate that uses the macro, with a starter spec and a test.
    Init(cmd::init::Args),
}

#[derive(Subcommand)]
enum SpecCommand {
    /// Check a spec with the macro's rules; exit 1 when it has errors.
    Check(cmd::spec_check::Args),
    /// Print the Rust code the macro generates for a spec.
    Expand(cmd::spec_expand::Args),
    /// Compare two specs and classify the change: exit 0 additive, 1 breaking, 2 error.
    Diff(cmd::spec_diff::Args),
}

/// The error and its causes on one line, `: `-separated like anyhow's `{:#}`, except that a
/// cause whose text its parent already quotes is not repeated (a library error that prints
/// its source, such as `io: Connection refused`, would otherwise appear twice).
fn error_chain(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `spec diff` follows diff(1): 1 means "breaking", so trouble must be a distinct code.
    let error_code = if matches!(cli.command, Command::Spec(SpecCommand::Diff(_))) { 2 } else { 1 };
    let result = match cli.command {
        Command::Request(args) => {
            let context = args.context.clone();
            cmd::request::exec(args, &context)
        }
        Command::Update(args) => {
            let context = args.context.clone();
            cmd::update::exec(args, &context)
        }
        Command::Approve(args) => {
            let context = args.context.clone();
            cmd::approve::exec(args, &context)
        }
        Command::Implement(args) => {
            let context = args.context.clone();
            cmd::implement::exec(args, &context)
        }
        Command::Status(args) => {
            let context = args.context.clone();
            cmd::status::exec(args, &context)
        }
        Command::Spec(SpecCommand::Check(args)) => cmd::spec_check::exec(args),
        Command::Spec(SpecCommand::Expand(args)) => cmd::spec_expand::exec(args),
        Command::Spec(SpecCommand::Diff(args)) => cmd::spec_diff::exec(args),
        Command::Openapi(args) => cmd::openapi::exec(args),
        Command::Init(args) => cmd::init::exec(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::from(error_code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_by_its_parent_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        let error = anyhow::Error::new(io)
            .context("cannot reach the GitHub API (GET /x): io: Connection refused (os error 111)")
            .context("cannot read issue #1");
        assert_eq!(
            error_chain(&error),
            "cannot read issue #1: cannot reach the GitHub API (GET /x): io: Connection refused (os error 111)"
        );
    }
}
