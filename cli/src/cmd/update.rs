//! `entity-spec update N`: a new entity definition for a request issue, whole or field by
//! field. The definition block and the field table are rewritten; the rest of the body is kept.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use entity_spec_codegen::json;

use super::{Context, NEEDS_REVIEW, body_label, open_issue, print_stdout};
use crate::entity::{self, Origin, check_entity};
use crate::issue_body::{find_definition, rewrite};
use crate::request_input::EntitySource;

/// Flags of `entity-spec update`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub context: Context,
    /// The issue number.
    number: u64,
    /// Replace the whole definition with the entity in this JSON file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["add_field", "remove_field"])]
    entity: Option<PathBuf>,
    /// Add a field, as JSON: '{"name": "tags", "type": "json"}' (repeat for more).
    #[arg(long, value_name = "JSON")]
    add_field: Vec<String>,
    /// Remove a field by name (repeat for more; applied before --add-field, so both together
    /// redefine a field).
    #[arg(long, value_name = "NAME")]
    remove_field: Vec<String>,
    /// Print the new body instead of saving it.
    #[arg(long)]
    dry_run: bool,
}

/// Builds and checks the new definition, then rewrites the issue body.
pub fn exec(args: Args, context: &Context) -> Result<ExitCode> {
    if args.entity.is_none() && args.add_field.is_empty() && args.remove_field.is_empty() {
        bail!("nothing to update: pass --entity FILE, --add-field JSON or --remove-field NAME");
    }
    let github = context.github()?;
    let issue = open_issue(&github, args.number)?;
    let number = issue.number;
    let label = body_label(number);
    let body = issue.body.clone().unwrap_or_default();
    let block = find_definition(&body).map_err(|e| anyhow!("{label}: {e}"))?;

    let (entity, changes) = match &args.entity {
        Some(path) => {
            let source = EntitySource::read_file(path)?;
            let entity = check_entity(&source.text, &source.origin).context("the issue was not changed")?;
            (entity, vec![format!("definition replaced from {}", path.display())])
        }
        None => {
            // Only the JSON must be readable to edit it; the result is checked in full below.
            let origin = block.origin(&label);
            let mut value = json::parse(&block.text).map_err(|e| {
                anyhow!("{}:{}: malformed JSON in the definition block: {}", label, origin.place(e.pos), e.message)
            })?;
            let mut changes = Vec::new();
            for name in &args.remove_field {
                entity::remove_field(&mut value, name).map_err(|e| anyhow!("--remove-field {name}: {e}"))?;
                changes.push(format!("removed field `{name}`"));
            }
            for text in &args.add_field {
                let field =
                    json::parse(text).map_err(|e| anyhow!("--add-field:{}: malformed JSON: {}", e.pos, e.message))?;
                let name = entity::name_of(&field).unwrap_or("?").to_owned();
                entity::add_field(&mut value, field).map_err(|e| anyhow!("--add-field: {e}"))?;
                changes.push(format!("added field `{name}`"));
            }
            let text = entity::render(&value, 0);
            let origin = Origin::file(format!("{label} (updated definition)"));
            (check_entity(&text, &origin).context("the issue was not changed")?, changes)
        }
    };

    let (new_body, table_rewritten) = rewrite(&body, &block, &entity);
    if args.dry_run {
        print_stdout(&format!("{new_body}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    github.update_issue_body(number, &new_body).context("cannot update the issue")?;
    println!(
        "updated issue #{number}: {}; `{}` now has {} fields",
        changes.join(", "),
        entity.ir.name,
        entity.ir.fields.len()
    );
    if !table_rewritten {
        eprintln!("note: the field table's markers are gone from the body, so only the definition block was rewritten");
    }
    if !issue.has_label(NEEDS_REVIEW) {
        // The approval was for the old definition.
        github.add_labels(number, &[NEEDS_REVIEW]).with_context(|| format!("cannot add `{NEEDS_REVIEW}`"))?;
        println!(
            "issue #{number} was approved before this change: `{NEEDS_REVIEW}` is back until `entity-spec approve {number}`"
        );
    }
    println!("{}", issue.html_url);
    Ok(ExitCode::SUCCESS)
}
