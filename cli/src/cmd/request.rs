//! `entity-spec request`: a feature request becomes a GitHub issue, once its entity passes the
//! macro's checks (a spec that would not build never becomes an issue).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::{Context, FEATURE, NEEDS_REVIEW, print_stdout};
use crate::entity::check_entity;
use crate::issue_body::render_body;
use crate::request_input::{self, Flags};

/// Flags of `entity-spec request`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub context: Context,
    /// A request file, JSON or TOML (by extension), with any of: title, description,
    /// user_story, acceptance_criteria, api_endpoints, ui_requirements, and the entity as
    /// entity_definition (JSON) or entity_file (a JSON file). Flags override it.
    #[arg(long, short, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The issue title [default: "<Entity> entity and API"].
    #[arg(long)]
    title: Option<String>,
    /// What the feature is.
    #[arg(long)]
    description: Option<String>,
    /// "As a …, I want … so that …".
    #[arg(long, value_name = "TEXT")]
    user_story: Option<String>,
    /// An acceptance criterion (repeat for more).
    #[arg(long = "criterion", value_name = "TEXT")]
    acceptance_criteria: Vec<String>,
    /// A JSON file holding the entity definition (one entity object, as in specs/entities.json).
    #[arg(long, value_name = "FILE")]
    entity: Option<PathBuf>,
    /// An endpoint, e.g. "POST /raw-data-sources/{id}/sync - Trigger a sync" (repeat for more)
    /// [default: the routes the service will serve for the entity].
    #[arg(long = "endpoint", value_name = "TEXT")]
    endpoints: Vec<String>,
    /// What the UI should offer.
    #[arg(long = "ui", value_name = "TEXT")]
    ui_requirements: Option<String>,
    /// Print the issue instead of creating it.
    #[arg(long)]
    dry_run: bool,
}

/// Checks the entity, writes the body, creates the issue labelled `needs-review` and `feature`.
pub fn exec(args: Args, context: &Context) -> Result<ExitCode> {
    let flags = Flags {
        file: args.file,
        title: args.title,
        description: args.description,
        user_story: args.user_story,
        acceptance_criteria: args.acceptance_criteria,
        endpoints: args.endpoints,
        ui_requirements: args.ui_requirements,
        entity: args.entity,
    };
    let (mut request, source) = request_input::load(flags)?;
    let entity = check_entity(&source.text, &source.origin).context("no issue was created")?;
    if request.title.trim().is_empty() {
        request.title = format!("{} entity and API", entity.ir.name);
    }
    let body = render_body(&request, &entity);
    let labels = [NEEDS_REVIEW, FEATURE];
    if args.dry_run {
        print_stdout(&format!("title: {}\nlabels: {}\n\n{body}", request.title, labels.join(", ")))?;
        return Ok(ExitCode::SUCCESS);
    }
    let github = context.github()?;
    let issue = github.create_issue(&request.title, &body, &labels).context("cannot create the issue")?;
    let number = issue.number;
    println!("created issue #{number}: {}", issue.html_url);
    println!("labels: {}", labels.join(", "));
    println!(
        "next: review it (`entity-spec update {number}` to change the entity), then `entity-spec approve {number}` and `entity-spec implement {number}`"
    );
    Ok(ExitCode::SUCCESS)
}
