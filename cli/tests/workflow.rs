//! The whole story of the original workflow, end to end: a feature request becomes an issue,
//! the issue is updated (a `tags` field) and approved, and `implement` turns it into a branch,
//! a commit and a pull request, on a service scaffolded by `entity-spec init` that really
//! builds and tests. GitHub is a local server speaking the REST API; git is real, with a bare
//! repository as the remote.
//!
//! The repository's `origin` has the URL `https://github.com/acme/registry.git` (so the CLI
//! reads owner and repository from it, as it would for a real clone), rewritten by
//! `url.<bare>.insteadOf` to a local bare repository (so fetches and pushes stay on this
//! machine). The refusal tests use
//! `ENTITY_SPEC_GITHUB_REPO` instead.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

const REQUEST: &str = r#"title = "RawDataSource entity and API"
description = "Create entity to store configuration for external data sources (databases, APIs, files, streams) that feed into the platform."
user_story = "As a data engineer, I want to register and manage data source configurations so that I can set up data ingestion pipelines without DevOps help."
acceptance_criteria = [
  "Entity created with all required fields",
  "CRUD API endpoints working",
  "Validation on all fields (name max 100 chars, refresh min 60s)",
  "Unique constraint on name",
  "Connection string marked as sensitive",
]
api_endpoints = [
  "GET /raw-data-sources - List with filters (type, status, active) and pagination",
  "GET /raw-data-sources/{id} - Get single source",
  "POST /raw-data-sources - Create new source",
  "PUT /raw-data-sources/{id} - Update source",
  "DELETE /raw-data-sources/{id} - Delete source",
  "POST /raw-data-sources/{id}/sync - Trigger manual sync",
]
ui_requirements = "DataSourceWorkbench with Bento layout: stats panel, data table with filters, detail panel with sync history"
entity_definition = '''
{
  "name": "RawDataSource",
  "layer": "infrastructure",
  "fields": [
    {"name": "id", "type": "uuid", "primary_key": true},
    {"name": "name", "type": "string", "required": true, "max_length": 100},
    {"name": "source_type", "type": "enum", "values": ["database", "api", "file", "stream", "webhook"]},
    {"name": "connection_string", "type": "string", "required": true, "sensitive": true},
    {"name": "schema_definition", "type": "json"},
    {"name": "refresh_interval", "type": "integer", "default": 3600, "min": 60},
    {"name": "is_active", "type": "boolean", "default": true},
    {"name": "last_sync_at", "type": "datetime"},
    {"name": "sync_status", "type": "enum", "values": ["pending", "syncing", "success", "failed"], "default": "pending"},
    {"name": "error_message", "type": "string"},
    {"name": "metadata", "type": "json"},
    {"name": "created_at", "type": "datetime", "auto_now_add": true},
    {"name": "updated_at", "type": "datetime", "auto_now": true}
  ],
  "indexes": [
    {"fields": ["name"], "unique": true},
    {"fields": ["source_type", "is_active"]},
    {"fields": ["sync_status"]}
  ]
}
'''
"#;

const BRANCH: &str = "feat/issue-1-raw-data-source";

/// The one ```json block of an issue body, parsed.
fn definition_block(body: &str) -> Value {
    assert_eq!(body.matches("```json").count(), 1, "exactly one json block:\n{body}");
    let start = body.find("```json\n").unwrap() + "```json\n".len();
    let end = start + body[start..].find("\n```").unwrap();
    serde_json::from_str(&body[start..end]).expect("the block is JSON")
}

fn field_names(entity: &Value) -> Vec<&str> {
    entity["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect()
}

fn bare_git(bare: &Path, args: &[&str]) -> String {
    let mut all = vec!["--git-dir", bare.to_str().unwrap()];
    all.extend_from_slice(args);
    git(Path::new("."), &all)
}

#[test]
fn a_feature_request_becomes_a_reviewed_issue_then_a_pull_request() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch("story");
    let service = root.join("registry");
    scaffold(&service);
    init_repository(&service);
    let bare = root.join("origin.git");
    git(&root, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    git(&service, &["remote", "add", "origin", "https://github.com/acme/registry.git"]);
    // Fetches and pushes go to the bare repository, as a mirror configured with `insteadOf`
    // would; the configured URL still names the GitHub repository.
    git(&service, &["config", &format!("url.{}.insteadOf", bare.display()), "https://github.com/acme/registry.git"]);
    git(&service, &["push", "--quiet", "-u", "origin", "main"]);
    github.use_bare_repository(bare.clone());
    // The repository allows auto-merge (Settings → General → Pull requests), as the README says.
    github.allow_auto_merge(true);
    let starter_spec = std::fs::read_to_string(service.join("specs/entities.json")).unwrap();
    let cli = |args: &[&str]| run(entity_spec(&service, Some(&github)).args(args));

    // 1. The request becomes issue #1, with a readable body and the definition block.
    let request_file = root.join("request.toml");
    std::fs::write(&request_file, REQUEST).unwrap();
    let out = cli(&["request", "--file", request_file.to_str().unwrap()]);
    assert!(out.success().contains("created issue #1: https://github.com/acme/registry/issues/1"), "{out:?}");
    let created = github.requests_to("POST", "/repos/acme/registry/issues");
    assert_eq!(created.len(), 1);
    let sent = &created[0];
    assert_eq!(sent.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(sent.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert!(sent.header("user-agent").is_some_and(|ua| ua.starts_with("entity-spec-cli/")));
    assert_eq!(sent.body["title"], "RawDataSource entity and API");
    assert_eq!(sent.body["labels"], serde_json::json!(["needs-review", "feature"]));
    let body = sent.body["body"].as_str().unwrap();
    for expected in [
        "## Summary\n\nCreate entity to store configuration",
        "## User story\n\nAs a data engineer",
        "## Acceptance criteria\n\n- [ ] Entity created with all required fields\n- [ ] CRUD API endpoints working",
        "## Entity `RawDataSource`",
        "**`RawDataSource`**: table `raw_data_sources`, served at `/raw-data-sources`, layer `infrastructure`, 13 fields.",
        "| Field | Type | Required | Default | Rules | Description |",
        "| `name` | string | yes |  | at most 100 characters |  |",
        "| `connection_string` | string | yes |  | sensitive: never in responses |  |",
        "| `refresh_interval` | integer | no | `3600` | ≥ 60 |  |",
        "Indexes: `name` (unique); `source_type` + `is_active`; `sync_status`.",
        "## API endpoints\n\n- `GET /raw-data-sources` - List with filters",
        "- `POST /raw-data-sources/{id}/sync` - Trigger manual sync",
        "## UI requirements\n\nDataSourceWorkbench with Bento layout",
        "## Entity definition",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in the issue body:\n{body}");
    }
    let definition = definition_block(body);
    assert_eq!(definition["name"], "RawDataSource");
    assert_eq!(field_names(&definition).len(), 13);
    assert_eq!(github.labels(1), ["needs-review", "feature"]);

    // Not approved yet: implement refuses and touches nothing.
    let out = cli(&["implement", "1"]);
    assert!(out.failure(1).contains("issue #1 still has the `needs-review` label"), "{out:?}");
    assert_eq!(git(&service, &["branch", "--format=%(refname:short)"]), "main");

    // 2. The reviewer asks for `tags`: the definition block and the table change, nothing else.
    let tags = r#"{"name": "tags", "type": "json", "description": "Array of tags for categorization"}"#;
    let out = cli(&["update", "1", "--add-field", tags]);
    assert!(
        out.success().contains("updated issue #1: added field `tags`; `RawDataSource` now has 14 fields"),
        "{out:?}"
    );
    let patches = github.requests_to("PATCH", "/repos/acme/registry/issues/1");
    assert_eq!(patches.len(), 1);
    let updated = patches[0].body["body"].as_str().unwrap();
    assert!(updated.contains("| `tags` | json | no |  |  | Array of tags for categorization |"), "{updated}");
    assert!(updated.contains("layer `infrastructure`, 14 fields."), "{updated}");
    assert!(updated.contains(&format!("    {tags}")), "{updated}");
    let before_table = |b: &str| b[..b.find("## Entity `RawDataSource`").unwrap()].to_owned();
    assert_eq!(before_table(updated), before_table(body), "the sections before the table are kept");
    assert!(updated.contains("## UI requirements\n\nDataSourceWorkbench"), "{updated}");
    assert_eq!(field_names(&definition_block(updated)).last(), Some(&"tags"));
    assert_eq!(github.labels(1), ["needs-review", "feature"]);

    // 3. Approval removes `needs-review`.
    let out = cli(&["approve", "1"]);
    assert!(out.success().contains("approved issue #1 (RawDataSource): removed `needs-review`"), "{out:?}");
    assert_eq!(github.requests_to("DELETE", "/repos/acme/registry/issues/1/labels/needs-review").len(), 1);
    assert_eq!(github.labels(1), ["feature"]);

    // 4. A dry run shows the seven steps and changes nothing anywhere.
    let requests_before = github.requests().len();
    let out = cli(&["implement", "1", "--dry-run"]);
    let stdout = out.success();
    for step in 1..=7 {
        assert!(stdout.contains(&format!("[{step}/7] ")), "step {step} missing:\n{stdout}");
    }
    assert!(
        stdout.contains(&format!("fetched origin; created branch {BRANCH} from origin/main (dry run)")),
        "{stdout}"
    );
    assert!(stdout.contains("would open a pull request"), "{stdout}");
    assert_eq!(git(&service, &["branch", "--format=%(refname:short)"]), "main");
    assert_eq!(std::fs::read_to_string(service.join("specs/entities.json")).unwrap(), starter_spec);
    assert!(github.requests()[requests_before..].iter().all(|r| r.method == "GET"), "a dry run only reads GitHub");

    // 5. --no-push builds, tests and commits, and stops before the network.
    let requests_before = github.requests().len();
    let out = cli(&["implement", "1", "--no-push"]);
    let stdout = out.success();
    assert!(stdout.contains("[4/7] cargo build: ok"), "{out:?}");
    assert_generated_tests_ran(stdout);
    assert!(stdout.contains("not pushed (--no-push)"), "{out:?}");
    assert_eq!(git(&service, &["log", "-1", "--format=%s", BRANCH]), "feat(RawDataSource): add entity and API (#1)");
    assert_eq!(bare_git(&bare, &["branch", "--list", BRANCH]), "", "nothing was pushed");
    assert!(github.requests()[requests_before..].iter().all(|r| !r.path.contains("/pulls")), "no pull request call");

    // 6. The real run pushes the branch and opens the pull request.
    let out = cli(&["implement", "1"]);
    let stdout = out.success();
    assert!(stdout.contains(&format!("[2/7] fetched origin; branch {BRANCH} exists: updating it")), "{out:?}");
    assert!(
        stdout.contains(
            "[3/7] specs/entities.json: replaced `RawDataSource`; against origin/main: low-risk (additive only)"
        ),
        "{out:?}"
    );
    assert_generated_tests_ran(stdout);
    assert!(
        stdout.contains("opened pull request #2: https://github.com/acme/registry/pull/2 (label low-risk)"),
        "{out:?}"
    );
    assert!(stdout.contains("  tests:        ") && stdout.contains(" passed, 0 failed"), "{out:?}");
    assert!(stdout.contains("auto-merge (squash) enabled: GitHub merges #2 once the required checks pass"), "{out:?}");
    assert!(github.auto_merge_enabled(2));
    assert_eq!(bare_git(&bare, &["log", "-1", "--format=%s", BRANCH]), "feat(RawDataSource): add entity and API (#1)");
    let pushed_spec = bare_git(&bare, &["show", &format!("{BRANCH}:specs/entities.json")]);
    let spec: Value = serde_json::from_str(&pushed_spec).unwrap();
    assert_eq!(spec["entities"][0]["name"], "Note");
    assert_eq!(spec["entities"][1]["name"], "RawDataSource");
    assert_eq!(field_names(&spec["entities"][1]).last(), Some(&"tags"));
    let note_end = starter_spec.find("\n  ]\n}").unwrap();
    assert!(pushed_spec.starts_with(&starter_spec[..note_end]), "the other entity's text is untouched:\n{pushed_spec}");
    assert!(pushed_spec.contains(&format!("\n        {tags}\n")), "one field per line:\n{pushed_spec}");

    let lookups = github.requests_to("GET", "/repos/acme/registry/pulls");
    let query = &lookups.last().unwrap().query;
    assert!(query.contains(&("head".to_owned(), format!("acme:{BRANCH}"))), "{query:?}");
    assert!(query.contains(&("state".to_owned(), "open".to_owned())), "{query:?}");
    let opened = github.requests_to("POST", "/repos/acme/registry/pulls");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].body["head"], BRANCH);
    assert_eq!(opened[0].body["base"], "main");
    assert_eq!(opened[0].body["title"], "feat(RawDataSource): add entity and API (#1)");
    let pr_body = opened[0].body["body"].as_str().unwrap();
    // Shown with --nocapture: what a user sees, and the pull request they get.
    println!("{stdout}\n--- pull request body\n{pr_body}\n--- issue body\n{}", github.body(1));
    for expected in [
        "Closes #1",
        "| `tags` | json | no |  |  | Array of tags for categorization |",
        "- `GET /raw-data-sources` - List RawDataSource items",
        "- `DELETE /raw-data-sources/{id}` - Delete a RawDataSource",
        "## Risk: `low-risk`",
        "`cargo test`: ",
        "RawDataSource: ",
        " generated tests passed.",
    ] {
        assert!(pr_body.contains(expected), "missing {expected:?} in the pull request body:\n{pr_body}");
    }
    assert_eq!(
        github.requests_to("POST", "/repos/acme/registry/issues/2/labels")[0].body["labels"],
        serde_json::json!(["low-risk"])
    );
    assert_eq!(github.labels(2), ["low-risk"]);

    // 7. Another change to the issue: approval is needed again, then the same branch and the
    // same pull request are updated.
    let owner = r#"{"name": "owner", "type": "string", "max_length": 80}"#;
    let out = cli(&["update", "1", "--add-field", owner]);
    assert!(out.success().contains("`needs-review` is back"), "{out:?}");
    assert_eq!(github.labels(1), ["feature", "needs-review"]);
    assert!(cli(&["implement", "1"]).failure(1).contains("needs-review"));
    cli(&["approve", "1"]).success();
    let out = cli(&["implement", "1"]);
    let stdout = out.success();
    assert!(
        stdout.contains("updated pull request #2: https://github.com/acme/registry/pull/2 (label low-risk)"),
        "{out:?}"
    );
    assert_eq!(github.requests_to("POST", "/repos/acme/registry/pulls").len(), 1, "no second pull request");
    let patched = github.requests_to("PATCH", "/repos/acme/registry/pulls/2");
    assert_eq!(patched.len(), 1);
    assert!(
        patched[0].body["body"].as_str().unwrap().contains("| `owner` | string | no |  | at most 80 characters |  |")
    );
    assert_eq!(github.pull_numbers(), [2]);
    let commits = bare_git(&bare, &["log", "--format=%s", &format!("main..{BRANCH}")]);
    assert_eq!(commits.lines().count(), 2, "{commits}");
    let pushed_spec = bare_git(&bare, &["show", &format!("{BRANCH}:specs/entities.json")]);
    assert!(pushed_spec.contains(owner), "{pushed_spec}");

    // CI reports on the branch: while it runs nothing needs a person; once it is green GitHub
    // merges the pull request (squash), and `Closes #1` closes the issue.
    let ci = "fmt, clippy, tests, spec";
    github.set_check_run(BRANCH, ci, "in_progress", None);
    let out = cli(&["status", "1"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("next:         waiting for checks on #2; auto-merge is on"), "{out:?}");
    github.set_check_run(BRANCH, ci, "completed", Some("success"));
    assert!(github.merged(2), "auto-merged on green checks");
    assert_eq!(github.state(1), "closed");
    let main_spec = bare_git(&bare, &["show", "main:specs/entities.json"]);
    assert!(main_spec.contains("\"RawDataSource\"") && main_spec.contains(owner), "squashed into main:\n{main_spec}");
    let out = cli(&["status", "1"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("(merged, low-risk)") && out.stdout.contains("done: the issue is closed"), "{out:?}");

    // 8. A change to an entity that already exists on main, which tightens its rules: the pull
    // request needs review and says why.
    let note = root.join("note.json");
    std::fs::write(
        &note,
        r#"{"name": "Note", "fields": [
  {"name": "id", "type": "uuid", "primary_key": true},
  {"name": "title", "type": "string", "required": true, "unique": true, "max_length": 100},
  {"name": "body", "type": "text"},
  {"name": "pinned", "type": "boolean", "default": false},
  {"name": "created_at", "type": "datetime", "auto_now_add": true},
  {"name": "updated_at", "type": "datetime", "auto_now": true}
], "indexes": [{"fields": ["pinned"]}]}"#,
    )
    .unwrap();
    let out = cli(&["request", "--entity", note.to_str().unwrap(), "--title", "Shorter, unique note titles"]);
    assert!(out.success().contains("created issue #3"), "{out:?}");
    // Approved on github.com by the data lead, who is asked to review the pull request.
    github.approve_as(3, "data-lead");
    let out = cli(&["implement", "3"]);
    let stdout = out.success();
    assert!(stdout.contains("[2/7] fetched origin; created branch feat/issue-3-note from origin/main"), "{out:?}");
    assert!(stdout.contains("against origin/main: needs-review (2 breaking changes)"), "{out:?}");
    assert!(stdout.contains("BREAKING: entity `Note`, field `title`: max_length lowered from 200 to 100"), "{out:?}");
    assert!(
        stdout.contains("opened pull request #4: https://github.com/acme/registry/pull/4 (label needs-review)"),
        "{out:?}"
    );
    assert_eq!(
        bare_git(&bare, &["log", "-1", "--format=%s", "feat/issue-3-note"]),
        "feat(Note): update entity and API (#3)"
    );
    let opened = github.requests_to("POST", "/repos/acme/registry/pulls");
    let pr_body = opened.last().unwrap().body["body"].as_str().unwrap();
    for expected in [
        "Closes #3",
        "Changed or removed:\n\n- `title`: becomes unique",
        "- `title`: max_length lowered from 200 to 100: values accepted before are rejected",
        "Changed: the request and response bodies of every `/notes` route follow the field changes above",
        "## Risk: `needs-review`",
        "- entity `Note`, field `title`: becomes unique",
    ] {
        assert!(pr_body.contains(expected), "missing {expected:?} in the pull request body:\n{pr_body}");
    }
    assert_eq!(github.labels(4), ["needs-review"]);
    assert!(stdout.contains("review requested from @data-lead, who approved #3"), "{out:?}");
    assert_eq!(github.requested_reviewers(4), ["data-lead"]);
    assert!(!github.auto_merge_enabled(4), "a breaking change never merges by itself");
    github.set_check_run("feat/issue-3-note", ci, "completed", Some("success"));
    assert!(!github.merged(4));

    // What is left for a person: the review of #4.
    let out = cli(&["status", "--json"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let open: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["issue"], 3);
    assert_eq!(open[0]["pull_request"]["risk"], "needs-review");
    assert_eq!(open[0]["pull_request"]["checks"]["state"], "success");
    assert_eq!(open[0]["next"], "review and merge pull request #4 (https://github.com/acme/registry/pull/4)");
}

/// An approved issue whose body holds `definition` in its json block.
fn approved_issue(github: &FakeGitHub, definition: &str) -> (u64, String) {
    let body = issue_body_with_definition(definition);
    (github.insert_issue("Sources", &body, &["feature"], "open"), body)
}

/// The 1-based line and column of `needle` in `body`.
fn position_of(body: &str, needle: &str) -> (usize, usize) {
    let (index, line) = body.lines().enumerate().find(|(_, l)| l.contains(needle)).expect("needle in body");
    (index + 1, line[..line.find(needle).unwrap()].chars().count() + 1)
}

#[test]
fn a_malformed_definition_block_is_reported_at_its_place_in_the_issue_body() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("malformed-block");
    let definition = r#"{
  "name": "RawDataSource",
  "fields": [
    {"name": "id", "type": "uuid", "primary_key": true},
    {"name": "name" "type": "string"}
  ]
}"#;
    let (number, body) = approved_issue(&github, definition);
    let (line, column) = position_of(&body, r#""type": "string""#);
    let out = cli(&dir, &github, &["implement", &number.to_string()]);
    let stderr = out.failure(1);
    assert!(stderr.contains("positions are line:column in the issue body"), "{stderr}");
    assert!(stderr.contains(&format!("issue #{number}:{line}:{column}: malformed JSON: expected")), "{stderr}");
}

#[test]
fn a_definition_that_breaks_the_spec_rules_is_refused_with_body_positions() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("invalid-entity");
    let definition = r#"{"name": "RawDataSource", "fields": [
  {"name": "id", "type": "uuid", "primary_key": true},
  {"name": "refresh_interval", "type": "integr", "min": 60}
]}"#;
    let (number, body) = approved_issue(&github, definition);
    let (line, column) = position_of(&body, r#""integr""#);
    let out = cli(&dir, &github, &["implement", &number.to_string()]);
    assert!(
        out.failure(1).contains(&format!(
            "issue #{number}:{line}:{column}: entity `RawDataSource`, field `refresh_interval`: unknown field type `integr`; did you mean `integer`?"
        )),
        "{out:?}"
    );
    // Approving it is refused for the same reason.
    let out = cli(&dir, &github, &["approve", &number.to_string()]);
    assert!(out.failure(1).contains("not approved"), "{out:?}");
}

#[test]
fn an_issue_body_without_exactly_one_definition_block_is_refused() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("two-blocks");
    let body = format!("{}\n```json\n{{}}\n```\n", issue_body_with_definition(r#"{"name": "A", "fields": []}"#));
    let number = github.insert_issue("Two", &body, &["feature"], "open");
    let out = cli(&dir, &github, &["implement", &number.to_string()]);
    assert!(out.failure(1).contains("the body has 2 ```json blocks (on lines 9, 15)"), "{out:?}");
}

#[test]
fn closed_issues_and_pull_requests_are_refused() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("closed");
    let body =
        issue_body_with_definition(r#"{"name": "A", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#);
    let number = github.insert_issue("Done", &body, &["feature"], "closed");
    let out = cli(&dir, &github, &["implement", &number.to_string()]);
    assert!(out.failure(1).contains(&format!("issue #{number} is closed; reopen it")), "{out:?}");
}

#[test]
fn a_dirty_work_tree_is_refused_before_anything_changes() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("dirty");
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    std::fs::write(dir.join("specs/entities.json"), NOTE_SPEC).unwrap();
    init_repository(&dir);
    std::fs::write(dir.join("specs/entities.json"), NOTE_SPEC.replace("Note", "Memo")).unwrap();
    let (number, _) =
        approved_issue(&github, r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#);
    let out = cli(&dir, &github, &["implement", &number.to_string()]);
    let stderr = out.failure(1);
    assert!(stderr.contains("the work tree has uncommitted changes"), "{stderr}");
    assert!(stderr.contains(" M specs/entities.json"), "{stderr}");
    assert_eq!(git(&dir, &["branch", "--format=%(refname:short)"]), "main");
    assert!(out.stdout.contains("[1/7]") && !out.stdout.contains("[2/7]"), "{out:?}");
}

#[test]
fn a_request_with_an_invalid_entity_never_becomes_an_issue() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("bad-request");
    let request = dir.join("request.json");
    std::fs::write(
        &request,
        "{\n  \"title\": \"Sources\",\n  \"entity_definition\": {\"name\": \"RawDataSource\", \"fields\": [\n    {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true},\n    {\"name\": \"name\", \"type\": \"string\", \"max_lenght\": 100}\n  ]}\n}\n",
    )
    .unwrap();
    let out = cli(&dir, &github, &["request", "--file", "request.json"]);
    let stderr = out.failure(1);
    assert!(stderr.contains("no issue was created"), "{stderr}");
    assert!(
        stderr.contains("request.json:5:40: entity `RawDataSource`, field `name`: unknown key `max_lenght`; did you mean `max_length`?"),
        "{stderr}"
    );
    assert!(github.requests().is_empty(), "GitHub was never called");
}

#[test]
fn update_replaces_the_definition_or_refuses_an_invalid_one_without_touching_the_issue() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("update");
    std::fs::write(
        dir.join("tag.json"),
        r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}, {"name": "label", "type": "string"}]}"#,
    )
    .unwrap();
    cli(&dir, &github, &["request", "--entity", "tag.json", "--description", "Labels for things."]).success();
    let body = github.body(1);

    std::fs::write(
        dir.join("bad.json"),
        "{\"name\": \"Tag\", \"fields\": [\n  {\"name\": \"id\", \"type\": \"uuid\"}\n]}",
    )
    .unwrap();
    let out = cli(&dir, &github, &["update", "1", "--entity", "bad.json"]);
    assert!(out.failure(1).contains("bad.json:1:27: entity `Tag`: no primary key"), "{out:?}");
    let out = cli(&dir, &github, &["update", "1", "--remove-field", "colour"]);
    assert!(out.failure(1).contains("--remove-field colour: the entity has no field `colour`"), "{out:?}");
    let out = cli(&dir, &github, &["update", "1", "--add-field", r#"{"name": "label", "type": "text"}"#]);
    assert!(out.failure(1).contains("the entity already has a field `label`"), "{out:?}");
    assert!(github.requests_to("PATCH", "/repos/acme/registry/issues/1").is_empty());
    assert_eq!(github.body(1), body);

    // Removing and adding together redefines a field.
    let out = cli(
        &dir,
        &github,
        &["update", "1", "--remove-field", "label", "--add-field", r#"{"name": "label", "type": "text"}"#],
    );
    assert!(out.success().contains("removed field `label`, added field `label`"), "{out:?}");
    let updated = github.body(1);
    assert!(updated.contains("| `label` | text | no |"), "{updated}");
    assert!(updated.starts_with("## Summary\n\nLabels for things.\n"), "{updated}");
    assert_eq!(github.labels(1), ["needs-review", "feature"], "still under review: no label added");
}

/// Step 5 ran the scaffold's tests, the conformance suite generated for the new entity among
/// them (one test per promise of its definition: dozens), and said how many passed.
fn assert_generated_tests_ran(stdout: &str) {
    let line = stdout.lines().find(|line| line.contains("[5/7] cargo test: ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(" passed, 0 failed"), "{line}");
    let count: u64 = line
        .split("RawDataSource: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of generated tests: {line}"));
    assert!(count >= 20, "{line}");
    assert!(line.contains(&format!("RawDataSource: {count} generated tests passed")), "{line}");
}
