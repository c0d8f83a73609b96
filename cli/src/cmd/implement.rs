//! `entity-spec implement N`: an approved request issue becomes a pull request, in seven steps
//! with a progress line each: (1) read and check the issue, (2) fetch `origin` and branch from
//! its base (a rerun merges the moved base into the existing branch), (3) merge the entity into
//! the spec the crate's macro reads, (4) `cargo build`, (5) `cargo test`, (6) commit and push,
//! (7) open or update the pull request, then land it (auto-merge) when it is low-risk or hold
//! it for the approver's review when it is not. Running it again updates the same branch and
//! pull request; a failure before the commit puts the work tree back as it was.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use entity_spec_codegen::SpecIr;
use entity_spec_codegen::ir::EntityIr;

use super::{Context, NEEDS_REVIEW, feature_branch, issue_definition, open_issue};
use crate::auto_merge::{self, Landing};
use crate::cargo::{self, TestCounts, parse_test_counts};
use crate::crate_spec;
use crate::entity::{self, CheckedEntity, SpecProblems};
use crate::git::Git;
use crate::github::one_line;
use crate::github::{GitHub, PullRequest};
use crate::issue_body::{endpoint_line, field_table};
use crate::repo_config::{self, RepoConfig};
use crate::risk::{Impact, LOW_RISK, SpecDiff, diff_specs};
use crate::spec_file::merge_entity;

/// Flags of `entity-spec implement`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub context: Context,
    /// The issue number.
    number: u64,
    /// The branch to start from and to open the pull request against [default: origin's
    /// default branch, else the current branch unless it is a feat/issue-… branch, else main or
    /// master].
    #[arg(long, value_name = "BRANCH")]
    base: Option<String>,
    /// The spec file, relative to the crate's directory as in `#[entity_spec("…")]` [default:
    /// the file the crate's `#[entity_spec]` attribute reads, else specs/entities.json]. The
    /// crate is the one around the current directory, as `cargo build` finds it.
    #[arg(long, value_name = "PATH")]
    spec: Option<String>,
    /// Show every step without changing anything (GitHub is only read).
    #[arg(long)]
    dry_run: bool,
    /// Stop before the network: commit on the branch, but no push and no pull request.
    #[arg(long)]
    no_push: bool,
    /// Leave a low-risk pull request for a person to merge instead of enabling GitHub's
    /// auto-merge (also `auto_merge = false` under `[implement]` in entity-spec.toml).
    #[arg(long)]
    no_auto_merge: bool,
}

fn step(number: u8, text: impl AsRef<str>) {
    println!("[{number}/7] {}", text.as_ref());
}

/// What the run says about the entity's generated conformance tests (`conformance_tests!`).
fn generated_line(entity: &str, generated: Option<u64>) -> String {
    match generated {
        Some(0) | None => format!(
            "{entity}: no generated tests ran (add `entity_spec::conformance_tests!(\"specs/entities.json\");` to a test file)"
        ),
        Some(n) => format!("{entity}: {n} generated tests passed"),
    }
}

/// Runs the seven steps; the first failure stops the run with what to do next.
pub fn exec(args: Args, context: &Context) -> Result<ExitCode> {
    let dry = args.dry_run;
    let number = args.number;

    // 1. The issue: open, approved, and its definition valid. Only the checked entity goes on.
    let github = context.github()?;
    let issue = open_issue(&github, number)?;
    if issue.has_label(NEEDS_REVIEW) {
        bail!(
            "issue #{number} still has the `{NEEDS_REVIEW}` label: review its definition, then `entity-spec approve {number}`"
        );
    }
    let (_, entity) = issue_definition(&issue)?;
    let name = entity.ir.name.clone();
    let title = one_line(&issue.title, 80);
    step(1, format!("issue #{number} \"{title}\": approved; `{name}` is valid ({} fields)", entity.ir.fields.len()));

    // 2. The branch, brought up to date with the base as it is on the remote now.
    let git = Git::open(Path::new("."))?;
    let dirty = git.tracked_changes()?;
    if !dirty.is_empty() {
        bail!("the work tree has uncommitted changes; commit or stash them first:\n{}", dirty.join("\n"));
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let spec = crate_spec::locate(&cwd, args.spec.as_deref())?;
    let spec_label = spec.label.clone();
    let in_repo = repo_path(&git, &spec.path)?;
    let fetched = git.has_origin();
    if fetched {
        git.fetch_origin().context("cannot fetch from origin, so the base branch may be out of date; nothing was changed. Check the remote and your network, then run this again")?;
    }
    let branch = feature_branch(number, &entity);
    let (base, base_ref) = base_branch(&git, args.base.as_deref(), &branch)?;
    let local = git.ref_exists(&format!("refs/heads/{branch}"));
    let remote_ref = format!("origin/{branch}");
    let remote = !local && git.ref_exists(&format!("refs/remotes/{remote_ref}"));
    let tip = if local {
        branch.as_str()
    } else if remote {
        remote_ref.as_str()
    } else {
        base_ref.as_str()
    };
    let dry_note = if dry { " (dry run)" } else { "" };

    // A rerun merges the base into the branch (a merge, not a rebase: the branch may already
    // be pushed and reviewed, and a merge never needs a force push). The merge is worked out
    // before anything is touched, so a conflict stops the run with nothing changed.
    let behind = (local || remote) && !git.is_ancestor(&base_ref, tip)?;
    let merged_tree = if behind {
        let preview = git.preview_merge(tip, &base_ref)?;
        if !preview.conflicts.is_empty() {
            bail!("{}", merge_conflict_message(number, &branch, local, &base_ref, &preview.conflicts, &in_repo));
        }
        Some(preview.tree)
    } else {
        None
    };
    let current = git.show_file(merged_tree.as_deref().unwrap_or(tip), &in_repo)?;
    if current.is_none() && spec.path.exists() && git.show_file("HEAD", &in_repo)?.is_none() {
        bail!("{spec_label} is not committed; commit it first, so the branch starts from it");
    }
    let merged = merge_entity(current.as_deref(), &entity.json, &name, &spec_label)
        .with_context(|| format!("cannot merge `{name}` into {spec_label}"))?;
    let old = match git.show_file(&base_ref, &in_repo)? {
        Some(text) => entity_spec_codegen::check_spec(&text)
            .map_err(|errors| SpecProblems { label: format!("{base_ref}:{spec_label}"), errors })
            .context("the base branch's spec does not pass the checks, so the change cannot be rated")?,
        None => SpecIr::default(),
    };
    let old_entity = old.entities.iter().find(|e| e.name == name);
    let verb = if old_entity.is_some() { "update" } else { "add" };
    let diff = diff_specs(&old, &merged.ir);

    // Where the run started, so a failed build or test can put everything back.
    let started = Start { branch: git.current_branch()?, commit: git.commit_id("HEAD")? };
    let fetch_note = if fetched { "fetched origin; " } else { "" };
    let update_note = if behind { format!(", merging {base_ref} into it") } else { String::new() };
    if local || remote {
        if !dry {
            if local {
                git.switch(&branch)?;
            } else {
                git.switch_create(&branch, &remote_ref)?;
            }
        }
        let from = if local { "exists" } else { "exists on origin" };
        step(2, format!("{fetch_note}branch {branch} {from}: updating it{update_note}{dry_note}"));
    } else {
        if !dry {
            git.switch_create(&branch, &base_ref)?;
        }
        step(2, format!("{fetch_note}created branch {branch} from {base_ref}{dry_note}"));
    }
    let branch_tip = if dry { None } else { Some(git.commit_id("HEAD")?) };
    if behind && !dry {
        let message = format!("Merge {base_ref} into {branch}");
        if let Err(error) = git.merge(&base_ref, &message) {
            let state = rollback(&git, &started, &branch, !local, branch_tip.as_deref());
            return Err(error.context(format!("merging {base_ref} into {branch} failed; {state}")));
        }
    }

    // 3. The spec.
    if !dry {
        let written = spec
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&spec.path, &merged.text));
        if let Err(error) = written {
            let state = rollback(&git, &started, &branch, !local, branch_tip.as_deref());
            return Err(anyhow::Error::new(error).context(format!("cannot write {spec_label}; {state}")));
        }
    }
    let done = if merged.replaced { "replaced" } else { "added" };
    step(3, format!("{spec_label}: {done} `{name}`{dry_note}; against {base_ref}: {}", diff.verdict()));
    for change in &diff.changes {
        println!("      {} {change}", impact_word(change.impact));
    }

    // 4 and 5. Build and test, as CI would. A failure puts the tree back as it was.
    let counts = if dry {
        step(4, "would run `cargo build` (dry run)");
        step(5, "would run `cargo test` (dry run)");
        None
    } else {
        let failed = |what: String, run: &cargo::CargoRun| {
            let state = rollback(&git, &started, &branch, !local, branch_tip.as_deref());
            anyhow::anyhow!(
                "{what} with `{name}` merged into {spec_label}:\n{}\n\n{state}\nNext: fix what the output above shows (a definition problem: `entity-spec update {number}`, then `entity-spec approve {number}`; a problem in the service's code: fix and commit it on {}), then run `entity-spec implement {number}` again.",
                run.failure_tail(40),
                started.name(),
            )
        };
        let build = cargo::run_with_progress(&spec.crate_dir, &["build"], "cargo build")?;
        if !build.status.success() {
            return Err(failed("`cargo build` failed".to_owned(), &build));
        }
        step(4, format!("cargo build: ok ({:.1}s)", build.elapsed.as_secs_f64()));
        let test = cargo::run_with_progress(&spec.crate_dir, &["test"], "cargo test")?;
        let mut counts = parse_test_counts(&test.stdout);
        if !test.status.success() {
            return Err(failed(format!("`cargo test` failed ({counts})"), &test));
        }
        counts.generated = Some(cargo::count_generated(&test.stdout, &entity.ir.snake_name));
        step(
            5,
            format!(
                "cargo test: {counts} ({:.1}s); {}",
                test.elapsed.as_secs_f64(),
                generated_line(&name, counts.generated)
            ),
        );
        Some(counts)
    };

    // 6. Commit (only what the workflow changed) and push.
    let message = format!("feat({name}): {verb} entity and API (#{number})");
    let mut head = None;
    if dry {
        let push = if args.no_push { "" } else { " and push to origin" };
        step(6, format!("would commit \"{message}\"{push} (dry run)"));
    } else {
        // A build may refresh the lock file; it belongs with the change that caused it.
        let changes = git.tracked_changes()?;
        let locks =
            changes.iter().filter_map(|l| l.get(3..)).filter(|p| *p == "Cargo.lock" || p.ends_with("/Cargo.lock"));
        let paths: Vec<&str> = std::iter::once(in_repo.as_str()).chain(locks).collect();
        git.add(&paths)?;
        let committed = git.has_staged_changes()?;
        if committed {
            git.commit(&message)?;
        }
        let id = git.head_short()?;
        let what =
            if committed { format!("committed {id} \"{message}\"") } else { format!("nothing new to commit ({id})") };
        if args.no_push {
            step(6, format!("{what}; not pushed (--no-push)"));
        } else {
            git.push(&branch).with_context(|| format!("cannot push {branch} to origin"))?;
            step(6, format!("{what}; pushed to origin/{branch}"));
        }
        head = Some(id);
    }

    // 7. The pull request: found by its head branch, so a re-run updates it.
    let mut pull = None;
    let mut merge_state = None;
    let auto_merge = auto_merge_choice(&args, &spec.crate_dir, git.root())?;
    if args.no_push {
        step(7, format!("no pull request (--no-push); run `entity-spec implement {number}` again to push and open it"));
    } else {
        let body = pull_body(number, &entity, old_entity, &diff, counts);
        let label = diff.label();
        let existing = github.open_pull_for_branch(&branch).context("cannot look for an existing pull request")?;
        if dry {
            match &existing {
                Some(pr) => step(7, format!("would update pull request #{} and label it {label} (dry run)", pr.number)),
                None => step(7, format!("would open a pull request {branch} → {base} labelled {label} (dry run)")),
            }
            let then = match (label == LOW_RISK, &auto_merge) {
                (true, Ok(())) => "would enable auto-merge (squash)".to_owned(),
                (true, Err(why)) => format!("would leave it for a person to merge ({why})"),
                (false, _) => "would request a review from whoever approved the issue".to_owned(),
            };
            println!("      {then} (dry run)");
        } else {
            let (pr, action) = match &existing {
                Some(pr) => (github.update_pull(pr.number, &message, &body)?, "updated"),
                None => (github.create_pull(&message, &branch, &base, &body)?, "opened"),
            };
            // The risk may have changed since the last run; one risk label at a time.
            let stale = if label == LOW_RISK { NEEDS_REVIEW } else { LOW_RISK };
            let labels = existing.as_ref().map_or(&pr.labels, |e| &e.labels);
            if labels.iter().any(|l| l.name == stale) {
                github.remove_label(pr.number, stale)?;
            }
            github.add_labels(pr.number, &[label])?;
            step(7, format!("{action} pull request #{}: {} (label {label})", pr.number, pr.html_url));
            merge_state = Some(after_pull_request(&github, &pr, number, label, &auto_merge)?);
            pull = Some(pr);
        }
    }

    println!("\nsummary");
    println!("  issue:        #{number} {title}");
    println!(
        "  branch:       {branch}{}",
        head.map_or_else(|| " (not created: dry run)".to_owned(), |id| format!(" at {id}"))
    );
    let done = if old_entity.is_some() { "updated" } else { "added" };
    println!("  spec:         {done} `{name}` in {spec_label} ({} fields)", entity.ir.fields.len());
    println!("  risk:         {}", diff.verdict());
    println!("  tests:        {}", counts.map_or_else(|| "not run (dry run)".to_owned(), |c| c.to_string()));
    match pull {
        Some(pr) => println!("  pull request: #{} {}", pr.number, pr.html_url),
        None => println!("  pull request: none"),
    }
    if let Some(state) = merge_state {
        println!("  merge:        {state}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a low-risk pull request may merge by itself: `Err` says who turned it off.
fn auto_merge_choice(args: &Args, crate_dir: &Path, root: &Path) -> Result<Result<(), String>> {
    if args.no_auto_merge {
        return Ok(Err("--no-auto-merge".to_owned()));
    }
    let (config, file) = RepoConfig::load(&[crate_dir, root])?;
    Ok(if config.implement.auto_merge {
        Ok(())
    } else {
        Err(format!("auto_merge = false in {}", file.unwrap_or_else(|| repo_config::FILE_NAME.to_owned())))
    })
}

/// After the pull request is open and labelled: a low-risk one is landed (auto-merge, or the
/// checks waited for and a merge through the API), one that needs review is held for the
/// approver. Prints what was done; returns the summary's `merge:` line.
fn after_pull_request(
    github: &GitHub,
    pr: &PullRequest,
    issue: u64,
    label: &str,
    auto_merge: &Result<(), String>,
) -> Result<String> {
    let n = pr.number;
    if label != LOW_RISK {
        let lines = auto_merge::hold_for_review(github, pr, issue, NEEDS_REVIEW)
            .with_context(|| format!("pull request #{n} is open, but holding it for review failed"))?;
        for line in &lines {
            println!("      {line}");
        }
        return Ok(format!("waits for review ({})", lines.join("; ")));
    }
    if let Err(why) = auto_merge {
        println!("      auto-merge not enabled ({why}): merge #{n} when its checks pass");
        return Ok(format!("by a person ({why})"));
    }
    let landing = auto_merge::land(github, pr, issue).with_context(|| {
        format!("pull request #{n} is open, but enabling auto-merge failed; merge it on GitHub, or run `entity-spec implement {issue}` again")
    })?;
    let text = match landing {
        Landing::AutoMergeEnabled => {
            format!("auto-merge (squash) enabled: GitHub merges #{n} once the required checks pass")
        }
        Landing::Merged => format!("merged #{n} (squash) after its checks passed"),
        Landing::NotMerged(why) => why,
    };
    println!("      {text}");
    Ok(text)
}

/// A path as git names it: relative to the top of the work tree, with `/`.
fn repo_path(git: &Git, path: &Path) -> Result<String> {
    let absolute = match (path.parent().and_then(|p| p.canonicalize().ok()), path.file_name()) {
        (Some(parent), Some(name)) => parent.join(name),
        _ => path.to_path_buf(),
    };
    let root = git.root().canonicalize().unwrap_or_else(|_| git.root().to_path_buf());
    let relative = absolute
        .strip_prefix(&root)
        .with_context(|| format!("{} is outside the repository at {}", path.display(), root.display()))?;
    Ok(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

/// Where a run started: the branch (or the detached commit) that was checked out.
struct Start {
    branch: Option<String>,
    commit: String,
}

impl Start {
    /// How to name it to a user.
    fn name(&self) -> String {
        self.branch
            .clone()
            .unwrap_or_else(|| format!("the detached commit {}", &self.commit[..12.min(self.commit.len())]))
    }
}

/// Puts the repository back as the run found it after a failure: the changed files restored,
/// a merge made by this run undone, the starting branch checked out again, and a feature
/// branch this run created deleted (it holds nothing of its own). Returns a sentence saying
/// what state things are in now; when a step fails, it says what is left where.
fn rollback(git: &Git, start: &Start, branch: &str, created: bool, branch_tip: Option<&str>) -> String {
    let undo = || -> Result<()> {
        git.restore_tracked()?;
        if let Some(tip) = branch_tip
            && !created
            && git.commit_id("HEAD")? != tip
        {
            git.reset_keep(tip)?;
        }
        if start.branch.as_deref() != Some(branch) {
            match &start.branch {
                Some(name) => git.switch(name)?,
                None => git.switch_detach(&start.commit)?,
            }
            if created {
                git.delete_branch(branch)?;
            }
        }
        Ok(())
    };
    match undo() {
        Ok(()) if created && start.branch.as_deref() != Some(branch) => format!(
            "Nothing was committed or pushed: the work tree is back as it was, on {}, and the new branch {branch} was removed.",
            start.name()
        ),
        Ok(()) => format!(
            "Nothing was committed or pushed: the work tree is back as it was, on {}{}.",
            start.name(),
            branch_tip.map_or_else(String::new, |tip| format!(" ({branch} still at {})", &tip[..12.min(tip.len())]))
        ),
        Err(error) => format!(
            "Putting the work tree back failed ({error:#}): you are on {branch} with uncommitted changes; see `git status`, then `git restore --staged --worktree -- :/` and `git switch {}` to go back.",
            start.name()
        ),
    }
}

/// The stop for a branch that cannot take the base's changes without a person deciding: which
/// files conflict and the commands that settle it.
fn merge_conflict_message(
    number: u64,
    branch: &str,
    local: bool,
    base_ref: &str,
    conflicts: &[String],
    spec: &str,
) -> String {
    let switch = if local { format!("git switch {branch}") } else { format!("git switch -c {branch} origin/{branch}") };
    let spec_note = if conflicts.iter().any(|c| c == spec) {
        format!(
            "\n{spec} changed on both sides (typically another feature's entity was merged into {base_ref}); keep every entity from both sides, one after the other, in its `entities` array."
        )
    } else {
        String::new()
    };
    format!(
        "branch {branch} conflicts with {base_ref}, which moved since the branch was made; nothing was changed.\nConflicting files: {}.{spec_note}\nTo resolve:\n  {switch}\n  git merge {base_ref}\n  # edit the files listed above, then\n  git add {}\n  git commit --no-edit\n  entity-spec implement {number}",
        conflicts.join(", "),
        conflicts.join(" ")
    )
}

/// The base branch's name (for the pull request) and the ref to start from: `--base`, else
/// the remote's default branch, else the current branch unless it is a feature branch, else
/// `main` or `master`.
fn base_branch(git: &Git, flag: Option<&str>, feature: &str) -> Result<(String, String)> {
    // The remote's branch first: it was just fetched, and it is what the pull request merges
    // into; a local branch of the same name may be behind it (or ahead, with unpushed work).
    let resolve = |name: &str| {
        if git.ref_exists(&format!("refs/remotes/origin/{name}")) {
            Some((name.to_owned(), format!("origin/{name}")))
        } else if git.ref_exists(&format!("refs/heads/{name}")) {
            Some((name.to_owned(), name.to_owned()))
        } else {
            None
        }
    };
    if let Some(name) = flag {
        return resolve(name).with_context(|| format!("base branch `{name}` exists neither here nor on origin"));
    }
    // After an earlier `implement`, the current branch is that feature's branch: not a base.
    let current = git.current_branch()?.filter(|c| c != feature && !c.starts_with("feat/issue-"));
    let candidates = [git.remote_default_branch(), current, Some("main".to_owned()), Some("master".to_owned())];
    candidates
        .into_iter()
        .flatten()
        .find_map(|name| resolve(&name))
        .with_context(|| "cannot tell which branch to start from; pass --base BRANCH".to_owned())
}

fn impact_word(impact: Impact) -> &'static str {
    match impact {
        Impact::Additive => "additive:",
        Impact::Neutral => "neutral: ",
        Impact::Breaking => "BREAKING:",
    }
}

/// The pull request's description: the issue it closes, the fields and endpoints added or
/// changed, the risk with its reasons, and the test result.
fn pull_body(
    number: u64,
    entity: &CheckedEntity,
    old: Option<&EntityIr>,
    diff: &SpecDiff,
    counts: Option<TestCounts>,
) -> String {
    let ir = &entity.ir;
    let name = &ir.name;
    let mut out = format!("Closes #{number}\n\n");
    let _ = writeln!(
        out,
        "{} `{name}` as approved in #{number}. `specs/entities.json` holds the definition; `cargo build` generates the types, validators, REST API, persistence and OpenAPI document from it.\n",
        if old.is_some() { "Updates" } else { "Adds" }
    );

    let _ = writeln!(out, "## Fields\n");
    let added: Vec<_> =
        ir.fields.iter().filter(|f| old.is_none_or(|o| !o.fields.iter().any(|g| g.name == f.name))).cloned().collect();
    if !added.is_empty() {
        let _ = writeln!(out, "Added:\n\n{}", field_table(&added));
    }
    let prefix = format!("entity `{name}`, field `");
    let field_changes: Vec<String> = diff
        .changes
        .iter()
        .filter_map(|c| Some((c.subject.strip_prefix(&prefix)?.trim_end_matches('`'), c)))
        .filter(|(field, _)| !added.iter().any(|f| f.name == *field))
        .map(|(field, c)| format!("- `{field}`: {}", c.what))
        .collect();
    if !field_changes.is_empty() {
        let _ = writeln!(out, "Changed or removed:\n\n{}\n", field_changes.join("\n"));
    }
    if added.is_empty() && field_changes.is_empty() {
        let _ = writeln!(out, "No field changes.\n");
    }

    let _ = writeln!(out, "## Endpoints\n");
    let new_routes = entity::endpoints(ir);
    let old_routes = old.map(entity::endpoints).unwrap_or_default();
    let same = |a: &entity::Endpoint, b: &entity::Endpoint| a.method == b.method && a.path == b.path;
    let added_routes: Vec<String> = new_routes
        .iter()
        .filter(|r| !old_routes.iter().any(|o| same(o, r)))
        .map(|r| format!("- {}", endpoint_line(r)))
        .collect();
    let removed_routes: Vec<String> = old_routes
        .iter()
        .filter(|o| !new_routes.iter().any(|r| same(o, r)))
        .map(|r| format!("- {}", endpoint_line(r)))
        .collect();
    if !added_routes.is_empty() {
        let _ = writeln!(out, "Added:\n\n{}\n", added_routes.join("\n"));
    }
    if !removed_routes.is_empty() {
        let _ = writeln!(out, "Removed:\n\n{}\n", removed_routes.join("\n"));
    }
    if old.is_some() && !field_changes.is_empty() || old.is_some() && !added.is_empty() {
        let _ = writeln!(
            out,
            "Changed: the request and response bodies of every `{}` route follow the field changes above, and so does `/openapi.json`.\n",
            ir.collection_path
        );
    }
    if added_routes.is_empty()
        && removed_routes.is_empty()
        && (old.is_none() || (field_changes.is_empty() && added.is_empty()))
    {
        let _ = writeln!(out, "No endpoint changes.\n");
    }

    let _ = writeln!(out, "## Risk: `{}`\n", diff.label());
    if diff.is_breaking() {
        let _ = writeln!(out, "Breaking changes, which need a reviewer's decision:\n");
        for reason in diff.reasons() {
            let _ = writeln!(out, "- {reason}");
        }
        out.push('\n');
    } else if diff.changes.is_empty() {
        let _ = writeln!(out, "No spec change against the base branch.\n");
    } else {
        let _ = writeln!(out, "Additive only: existing clients, stored rows and queries keep working.\n");
    }

    let _ = writeln!(out, "## Tests\n");
    match counts {
        Some(counts) => {
            let _ = writeln!(out, "`cargo test`: {counts} ({} test suites).", counts.suites);
            let _ = writeln!(out, "\n{}.", generated_line(&entity.ir.name, counts.generated));
        }
        None => {
            let _ = writeln!(out, "`cargo test` was not run.");
        }
    }
    let _ =
        write!(out, "\n---\nOpened by `entity-spec implement {number}`; running it again updates this pull request.\n");
    out
}
