//! One module per subcommand, each an `Args` (its flags) and a short `exec`.

pub mod approve;
pub mod implement;
pub mod init;
pub mod openapi;
pub mod request;
pub mod spec_check;
pub mod spec_diff;
pub mod spec_expand;
pub mod status;
pub mod update;

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};

use crate::entity::{CheckedEntity, check_entity};
use crate::git::{Git, repo_from_remote_url};
use crate::github::{GitHub, Issue, Repo};
use crate::issue_body::{DefinitionBlock, find_definition};

/// The label every new request carries until someone approves it.
pub const NEEDS_REVIEW: &str = crate::risk::NEEDS_REVIEW;
/// The label that marks an issue as a feature request.
pub const FEATURE: &str = "feature";

/// What every GitHub command shares: which repository to talk to. A flag of the commands that
/// talk to GitHub only (flattened into their `Args`), so no other command lists it.
#[derive(clap::Args, Clone, Debug)]
pub struct Context {
    /// The GitHub repository, instead of the one the `origin` remote points at (also
    /// `ENTITY_SPEC_GITHUB_REPO`).
    #[arg(long = "repo", value_name = "OWNER/REPO")]
    repo_flag: Option<String>,
}

impl Context {
    /// The repository: `--repo`, else `ENTITY_SPEC_GITHUB_REPO`, else the `origin` remote of
    /// the repository around the current directory.
    pub fn repo(&self) -> Result<Repo> {
        let explicit = self.repo_flag.clone().or_else(|| std::env::var("ENTITY_SPEC_GITHUB_REPO").ok());
        if let Some(text) = explicit.filter(|t| !t.trim().is_empty()) {
            return Repo::parse(&text).ok_or_else(|| anyhow!("`{text}` is not a repository; expected OWNER/REPO"));
        }
        let git =
            Git::open(Path::new(".")).context("cannot tell which GitHub repository to use (pass --repo OWNER/REPO)")?;
        let url = git.origin_url().context("cannot tell which GitHub repository to use (pass --repo OWNER/REPO)")?;
        repo_from_remote_url(&url).ok_or_else(|| {
            anyhow!("the `origin` remote ({url}) is not a GitHub repository URL; pass --repo OWNER/REPO or set ENTITY_SPEC_GITHUB_REPO")
        })
    }

    /// A GitHub client for [`Context::repo`].
    pub fn github(&self) -> Result<GitHub> {
        Ok(GitHub::from_env(self.repo()?)?)
    }
}

/// Fetches an issue that the workflow may act on: a real issue (not a pull request), open.
pub fn open_issue(github: &GitHub, number: u64) -> Result<Issue> {
    let issue = github.issue(number).with_context(|| format!("cannot read issue #{number}"))?;
    if issue.pull_request.is_some() {
        bail!("#{number} is a pull request, not a feature-request issue");
    }
    if issue.state != "open" {
        bail!("issue #{number} is {}; reopen it to work on it", issue.state);
    }
    Ok(issue)
}

/// The branch `implement` works on for an issue: one per issue and entity, so a rerun finds
/// it and `status` can look up its pull request.
pub fn feature_branch(number: u64, entity: &CheckedEntity) -> String {
    format!("feat/issue-{number}-{}", entity.ir.snake_name.replace('_', "-"))
}

/// How messages name an issue body, as the file of `file:line:column`.
pub fn body_label(number: u64) -> String {
    format!("issue #{number}")
}

/// The definition block of an issue and the entity it holds, checked with the macro's rules;
/// positions in errors are lines and columns of the issue body.
pub fn issue_definition(issue: &Issue) -> Result<(DefinitionBlock, CheckedEntity)> {
    let label = body_label(issue.number);
    let body = issue.body.as_deref().unwrap_or("");
    let block = find_definition(body).map_err(|e| anyhow!("{label}: {e}"))?;
    let entity = check_entity(&block.text, &block.origin(&label)).with_context(|| {
        format!(
            "the entity definition in issue #{} is not valid (positions are line:column in the issue body)",
            issue.number
        )
    })?;
    Ok((block, entity))
}

/// Reads a spec file; the label is the path as the user wrote it, as the macro prints it.
pub fn read_spec(path: &Path) -> Result<(String, String)> {
    let label = path.display().to_string();
    let source = std::fs::read_to_string(path).with_context(|| format!("cannot read spec file `{label}`"))?;
    Ok((label, source))
}

/// Checks a spec file with the macro's rules.
pub fn checked_spec(path: &Path) -> Result<(String, entity_spec_codegen::SpecIr)> {
    let (label, source) = read_spec(path)?;
    let ir = entity_spec_codegen::check_spec(&source)
        .map_err(|errors| crate::entity::SpecProblems { label: label.clone(), errors })?;
    Ok((label, ir))
}

/// Prints a command's main output. A reader that stops early (`entity-spec spec expand | head`)
/// is not an error: the rest is simply not wanted.
pub fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}
