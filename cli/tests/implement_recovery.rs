//! `implement` against a repository that moves and a build that fails: the base is fetched
//! before branching and comparing, a rerun merges the moved base into its branch (or stops on
//! a conflict with the commands to settle it), the spec is the one the crate's macro reads
//! wherever the command is run from, and a failed build or test leaves the tree as it was.
//! The crates are tiny (no dependencies), so `cargo build` and `cargo test` take a second.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const TAG: &str = r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#;
const BRANCH: &str = "feat/issue-1-tag";

/// A repository holding a tiny crate with the Note spec, pushed to a bare `origin`, and an
/// approved issue #1 asking for `Tag`.
fn setup(name: &str) -> (FakeGitHub, std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch(name);
    let service = root.join("service");
    tiny_crate(&service, NOTE_SPEC);
    init_repository(&service);
    let bare = bare_origin(&root, &service, &github);
    let number = github.insert_issue("Tags", &issue_body_with_definition(TAG), &["feature"], "open");
    assert_eq!(number, 1);
    (github, root, service, bare)
}

fn bare_git(bare: &Path, args: &[&str]) -> String {
    let mut all = vec!["--git-dir", bare.to_str().unwrap()];
    all.extend_from_slice(args);
    git(Path::new("."), &all)
}

/// Another developer's feature lands on `main` of the remote: `edit` rewrites the spec.
fn merge_elsewhere(root: &Path, bare: &Path, edit: impl Fn(&str) -> String, message: &str) {
    let other = other_clone(root, bare, "other");
    let path = other.join("specs/entities.json");
    std::fs::write(&path, edit(&std::fs::read_to_string(&path).unwrap())).unwrap();
    git(&other, &["commit", "--quiet", "-am", message]);
    git(&other, &["push", "--quiet", "origin", "main"]);
}

const BODY_FIELD: &str = r#"        {"name": "body", "type": "text"},"#;

/// Adds an optional `body` field to Note, away from the end of the file (no conflict with an
/// appended entity).
fn add_note_body(spec: &str) -> String {
    spec.replacen("true},\n", &format!("true}},\n{BODY_FIELD}\n"), 1)
}

#[test]
fn a_rerun_after_main_moved_merges_the_fetched_base_and_rates_the_change_against_it() {
    let (github, root, service, bare) = setup("rerun-base-moved");
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(out.success().contains("(label low-risk)"), "{out:?}");
    assert_eq!(github.labels(2), ["low-risk"]);

    merge_elsewhere(&root, &bare, add_note_body, "Note gets a body");
    // The user brings their main up to date, as anyone would after a merge.
    git(&service, &["switch", "--quiet", "main"]);
    git(&service, &["pull", "--quiet", "--ff-only", "origin", "main"]);

    let out = cli(&service, &github, &["implement", "1"]);
    let stdout = out.success();
    assert!(
        stdout.contains(&format!(
            "[2/7] fetched origin; branch {BRANCH} exists: updating it, merging origin/main into it"
        )),
        "{out:?}"
    );
    assert!(stdout.contains("against origin/main: low-risk (additive only)"), "{out:?}");
    assert!(!stdout.contains("BREAKING"), "{out:?}");
    assert!(stdout.contains("updated pull request #2"), "{out:?}");
    assert_eq!(github.labels(2), ["low-risk"], "the pull request keeps its label");
    let pushed = bare_git(&bare, &["show", &format!("{BRANCH}:specs/entities.json")]);
    assert!(pushed.contains(BODY_FIELD) && pushed.contains("\"Tag\""), "both changes are on the branch:\n{pushed}");
    assert_eq!(
        bare_git(&bare, &["log", "-1", "--format=%s", BRANCH]),
        format!("Merge origin/main into {BRANCH}"),
        "the branch was brought up to date by a merge, not rewritten"
    );
    let body = github.requests_to("PATCH", "/repos/acme/registry/pulls/2")[0].body["body"].as_str().unwrap().to_owned();
    assert!(body.contains("## Risk: `low-risk`") && !body.contains("removed"), "{body}");
}

#[test]
fn a_new_branch_starts_from_the_fetched_base_not_a_stale_local_main() {
    let (github, root, service, bare) = setup("fresh-base");
    merge_elsewhere(&root, &bare, add_note_body, "Note gets a body");
    // The local main is now behind origin's.
    let out = cli(&service, &github, &["implement", "1"]);
    let stdout = out.success();
    assert!(stdout.contains(&format!("[2/7] fetched origin; created branch {BRANCH} from origin/main")), "{out:?}");
    assert!(stdout.contains("against origin/main: low-risk (additive only)"), "{out:?}");
    let pushed = bare_git(&bare, &["show", &format!("{BRANCH}:specs/entities.json")]);
    assert!(pushed.contains(BODY_FIELD), "the branch starts from origin's main:\n{pushed}");
}

#[test]
fn a_conflict_in_the_spec_stops_with_the_commands_that_resolve_it() {
    let (github, root, service, bare) = setup("rerun-conflict");
    cli(&service, &github, &["implement", "1"]).success();
    let tip = git(&service, &["rev-parse", BRANCH]);

    // Another feature's entity was appended at the same place as Tag.
    let memo = r#"    {"name": "Memo", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#;
    merge_elsewhere(&root, &bare, |spec| spec.replacen("    }\n  ]", &format!("    }},\n{memo}\n  ]"), 1), "Memo");

    let requests = github.requests().len();
    let out = cli(&service, &github, &["implement", "1"]);
    let stderr = out.failure(1);
    for expected in [
        &format!(
            "branch {BRANCH} conflicts with origin/main, which moved since the branch was made; nothing was changed."
        ),
        "Conflicting files: specs/entities.json.",
        "keep every entity from both sides",
        &format!("To resolve:\n  git switch {BRANCH}\n  git merge origin/main\n"),
        "  git add specs/entities.json\n  git commit --no-edit\n  entity-spec implement 1",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?}:\n{stderr}");
    }
    assert_eq!(git(&service, &["rev-parse", BRANCH]), tip, "the branch is untouched");
    assert_eq!(git(&service, &["status", "--porcelain"]), "", "the work tree is clean");
    assert!(github.requests()[requests..].iter().all(|r| r.method == "GET"), "nothing was sent to GitHub");

    // The printed commands settle it, and the next run goes through.
    git(&service, &["switch", "--quiet", BRANCH]);
    let merge = Command::new("git").args(["merge", "origin/main"]).current_dir(&service).output().unwrap();
    assert!(!merge.status.success(), "the merge conflicts");
    let ours = git(&service, &["show", &format!("{BRANCH}:specs/entities.json")]);
    let tag_start = ours.find("    {\n      \"name\": \"Tag\"").unwrap();
    let tag = ours[tag_start..ours.rfind("\n  ]").unwrap()].to_owned();
    let theirs = git(&service, &["show", "origin/main:specs/entities.json"]);
    let resolved = theirs.replacen(&format!("{memo}\n  ]"), &format!("{memo},\n{tag}\n  ]"), 1);
    std::fs::write(service.join("specs/entities.json"), format!("{resolved}\n")).unwrap();
    git(&service, &["add", "specs/entities.json"]);
    git(&service, &["commit", "--quiet", "--no-edit"]);
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(out.success().contains("against origin/main: low-risk (additive only)"), "{out:?}");
    let pushed = bare_git(&bare, &["show", &format!("{BRANCH}:specs/entities.json")]);
    assert!(pushed.contains("\"Memo\"") && pushed.contains("\"Tag\""), "{pushed}");
}

#[test]
fn run_from_a_subdirectory_the_spec_is_the_one_the_crate_reads() {
    let (github, _root, service, bare) = setup("subdirectory");
    let out = cli(&service.join("src"), &github, &["implement", "1"]);
    assert!(out.success().contains("[3/7] specs/entities.json: added `Tag`"), "{out:?}");
    assert!(!service.join("src/specs").exists(), "no spec file was created under src/");
    // stderr is not a terminal here: no progress line (with its `\r`) in what a script reads.
    assert!(!out.stderr.contains("running,") && !out.stderr.contains('\r'), "{out:?}");
    let changed = bare_git(&bare, &["show", "--name-only", "--format=", BRANCH]);
    assert_eq!(changed, "specs/entities.json");
}

#[test]
fn the_spec_named_by_the_macro_is_used_and_no_other_is_created() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch("macro-spec");
    let service = root.join("service");
    tiny_crate(&service, NOTE_SPEC);
    // The spec lives where the crate's attribute says; `cfg(any())` keeps the attribute from
    // being expanded in a crate that does not depend on entity-spec.
    std::fs::create_dir_all(service.join("api")).unwrap();
    std::fs::rename(service.join("specs/entities.json"), service.join("api/entities.json")).unwrap();
    std::fs::remove_dir(service.join("specs")).unwrap();
    std::fs::write(
        service.join("src/lib.rs"),
        "//! A service stand-in.\n#[cfg(any())]\n#[entity_spec::entity_spec(\"api/entities.json\")]\npub mod model {}\n",
    )
    .unwrap();
    init_repository(&service);
    github.insert_issue("Tags", &issue_body_with_definition(TAG), &["feature"], "open");

    let out = cli(&service.join("src"), &github, &["implement", "1", "--spec", "specs/entities.json", "--no-push"]);
    let stderr = out.failure(1);
    assert!(
        stderr.contains("no #[entity_spec] attribute in the crate at")
            && stderr.contains("reads `specs/entities.json` (they read api/entities.json)"),
        "{stderr}"
    );
    assert_eq!(git(&service, &["branch", "--format=%(refname:short)"]), "main", "nothing was changed");

    let out = cli(&service.join("src"), &github, &["implement", "1", "--no-push"]);
    assert!(out.success().contains("[3/7] api/entities.json: added `Tag`"), "{out:?}");
    assert!(!service.join("specs").exists() && !service.join("src/specs").exists());
    assert!(git(&service, &["show", &format!("{BRANCH}:api/entities.json")]).contains("\"Tag\""));
}

#[test]
fn a_spec_file_that_nothing_reads_is_never_created() {
    let (github, _root, service, _bare) = setup("no-stray-spec");
    let out = cli(&service, &github, &["implement", "1", "--spec", "other/entities.json"]);
    let stderr = out.failure(1);
    assert!(
        stderr.contains("there is no spec file `other/entities.json` in the crate at")
            && stderr.contains("refusing to create it"),
        "{stderr}"
    );
    assert!(!service.join("other").exists());
    assert_eq!(git(&service, &["branch", "--format=%(refname:short)"]), "main");
}

/// A test that fails once the spec holds `Tag`, as a service's own test would.
const FAILING_TEST: &str = r#"#[test]
fn the_spec_has_no_tag_entity() {
    let spec = include_str!("../specs/entities.json");
    assert_eq!(spec.matches("\"Tag\"").count(), 0, "the spec holds Tag");
}
"#;

#[test]
fn a_failed_test_leaves_the_tree_as_it_was_and_says_how_to_continue() {
    let (github, _root, service, bare) = setup("failed-test");
    std::fs::create_dir_all(service.join("tests")).unwrap();
    std::fs::write(service.join("tests/spec.rs"), FAILING_TEST).unwrap();
    git(&service, &["add", "tests/spec.rs"]);
    git(&service, &["commit", "--quiet", "-m", "A test about the spec"]);
    git(&service, &["push", "--quiet", "origin", "main"]);

    for attempt in 0..2 {
        let out = run(entity_spec(&service, Some(&github))
            .env("ENTITY_SPEC_GITHUB_REPO", "acme/registry")
            .env("RUST_BACKTRACE", "1")
            .args(["implement", "1"]));
        let stderr = out.failure(1);
        for expected in [
            "`cargo test` failed (0 passed, 1 failed) with `Tag` merged into specs/entities.json:",
            "assertion `left == right` failed: the spec holds Tag",
            "(backtrace omitted)",
            &format!(
                "Nothing was committed or pushed: the work tree is back as it was, on main, and the new branch {BRANCH} was removed."
            ),
            "then run `entity-spec implement 1` again.",
        ] {
            assert!(stderr.contains(expected), "attempt {attempt}: missing {expected:?}:\n{stderr}");
        }
        assert!(!stderr.contains("core::panicking"), "no backtrace frames:\n{stderr}");
        assert_eq!(git(&service, &["status", "--porcelain", "--untracked-files=no"]), "");
        assert_eq!(git(&service, &["branch", "--format=%(refname:short)"]), "main");
        assert_eq!(std::fs::read_to_string(service.join("specs/entities.json")).unwrap(), NOTE_SPEC);
    }
    assert_eq!(bare_git(&bare, &["branch", "--list", BRANCH]), "", "nothing was pushed");
    assert!(github.pull_numbers().is_empty());

    // Once the service's test accepts the change, the same command goes through.
    std::fs::write(service.join("tests/spec.rs"), FAILING_TEST.replace("count(), 0", "count(), 1")).unwrap();
    git(&service, &["commit", "--quiet", "-am", "Tags are welcome"]);
    git(&service, &["push", "--quiet", "origin", "main"]);
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(out.success().contains("[5/7] cargo test: 1 passed, 0 failed"), "{out:?}");
}

#[test]
fn a_failed_rerun_keeps_the_branch_where_it_was() {
    let (github, root, service, _bare) = setup("failed-rerun");
    cli(&service, &github, &["implement", "1"]).success();
    let tip = git(&service, &["rev-parse", BRANCH]);
    // main moves (so the rerun merges it) and brings a test the change fails.
    merge_elsewhere(&root, &_bare, add_note_body, "Note gets a body");
    let other = root.join("other");
    std::fs::create_dir_all(other.join("tests")).unwrap();
    std::fs::write(other.join("tests/spec.rs"), FAILING_TEST).unwrap();
    git(&other, &["add", "tests/spec.rs"]);
    git(&other, &["commit", "--quiet", "-m", "A test about the spec"]);
    git(&other, &["push", "--quiet", "origin", "main"]);

    let out = cli(&service, &github, &["implement", "1"]);
    let stderr = out.failure(1);
    assert!(
        stderr.contains(&format!(
            "Nothing was committed or pushed: the work tree is back as it was, on {BRANCH} ({BRANCH} still at {})",
            &tip[..12]
        )),
        "{stderr}"
    );
    assert_eq!(git(&service, &["rev-parse", BRANCH]), tip, "the merge of origin/main was undone");
    assert_eq!(git(&service, &["status", "--porcelain", "--untracked-files=no"]), "");
}
