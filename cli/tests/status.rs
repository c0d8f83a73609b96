//! `entity-spec status`: where each feature request stands, read from GitHub's issues, pull
//! requests, commit statuses, check runs and mergeability, with an exit code a script can use
//! (0 nothing to do, 2 something needs a person).

mod support;

use serde_json::Value;
use support::*;

const TAG: &str = r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#;
const BRANCH: &str = "feat/issue-1-tag";

fn status(dir: &std::path::Path, github: &FakeGitHub, args: &[&str]) -> Run {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    cli(dir, github, &all)
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{run:?}"))
}

#[test]
fn status_follows_an_issue_from_review_to_merged_and_closed() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch("status");
    let service = root.join("service");
    tiny_crate(&service, NOTE_SPEC);
    init_repository(&service);
    bare_origin(&root, &service, &github);
    let tag = github.insert_issue("Tags", &issue_body_with_definition(TAG), &["needs-review", "feature"], "open");
    let hostile = github.insert_issue(
        "Broken \u{1b}[31mred\u{1b}[0m",
        &issue_body_with_definition(r#"{"name": "Bad", "fields": []}"#),
        &["feature"],
        "open",
    );
    github.insert_issue("Not a feature", "text", &["bug"], "open");

    // Under review: the person reviewing has something to do.
    let out = status(&service, &github, &["1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stdout.contains("#1 Tags (open)\n  approval:     needs review\n"), "{out:?}");
    assert!(out.stdout.contains("next (you):   review the definition, then `entity-spec approve 1`"), "{out:?}");

    // Every open feature issue; an invalid definition says what is wrong; a hostile title is
    // shown without its escape sequences.
    let out = status(&service, &github, &["--json"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let all = json(&out);
    let numbers: Vec<u64> = all.as_array().unwrap().iter().map(|s| s["issue"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [hostile, tag], "open `feature` issues only, newest first");
    assert_eq!(all[0]["approval"], "invalid-definition");
    assert!(all[0]["next"].as_str().unwrap().starts_with("fix the definition (`entity-spec update 2`)"), "{all}");
    assert_eq!(all[0]["title"], "Broken  [31mred [0m");
    let text = status(&service, &github, &[]);
    assert!(!text.stdout.contains('\u{1b}'), "{text:?}");

    // Approved, not implemented yet.
    cli(&service, &github, &["approve", "1"]).success();
    let out = status(&service, &github, &["1", "--json"]);
    assert_eq!(out.code, Some(2));
    let one = json(&out);
    assert_eq!(one["approval"], "approved");
    assert_eq!(one["branch"], BRANCH);
    assert_eq!(one["pull_request"], Value::Null);
    assert_eq!(one["next"], "`entity-spec implement 1`");

    // Implemented: a pull request with checks under way is a wait, not a task.
    cli(&service, &github, &["implement", "1"]).success();
    let pr = *github.pull_numbers().last().unwrap();
    github.set_status(BRANCH, "ci/lint", "success");
    github.set_check_run(BRANCH, "test", "in_progress", None);
    let out = status(&service, &github, &["1", "--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let one = json(&out);
    assert_eq!(one["pull_request"]["number"], pr);
    assert_eq!(one["pull_request"]["state"], "open");
    assert_eq!(one["pull_request"]["risk"], "low-risk");
    assert_eq!(
        one["pull_request"]["checks"],
        serde_json::json!({"state": "pending", "passed": 1, "pending": 1, "failed": []})
    );
    assert_eq!(one["next"], format!("waiting for checks on #{pr}"));

    // A failed check run needs someone.
    github.set_check_run(BRANCH, "test", "completed", Some("failure"));
    let out = status(&service, &github, &["1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stdout.contains("  checks:       failure (1 passed, 0 pending, failed: test)"), "{out:?}");
    assert!(out.stdout.contains(&format!("checks failed on #{pr} (test)")), "{out:?}");

    // Green but conflicting with the base.
    github.set_check_run(BRANCH, "test", "completed", Some("success"));
    github.set_mergeable(pr, Some(false), "dirty");
    let out = status(&service, &github, &["1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stdout.contains("  mergeable:    no (dirty)"), "{out:?}");
    assert!(out.stdout.contains("run `entity-spec implement 1` to merge the base into it"), "{out:?}");

    // Green and clean, without auto-merge: someone has to press the button.
    github.set_mergeable(pr, Some(true), "clean");
    let out = status(&service, &github, &["1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stdout.contains("  checks:       success (2 passed, 0 pending)"), "{out:?}");
    assert!(out.stdout.contains(&format!("merge pull request #{pr}")), "{out:?}");

    // Merged: `Closes #1` closed the issue; nothing left to do.
    github.merge_pull(pr);
    assert_eq!(github.state(1), "closed");
    let out = status(&service, &github, &["1", "--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let one = json(&out);
    assert_eq!(one["state"], "closed");
    assert_eq!(one["pull_request"]["state"], "merged");
    assert_eq!(one["next"], "done: the issue is closed");
}

#[test]
fn an_unknown_issue_is_an_error_and_no_feature_issues_a_plain_answer() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("status-unknown");
    let out = status(&dir, &github, &["7"]);
    assert!(
        out.failure(1).contains("cannot read issue #7: GET /repos/acme/registry/issues/7: not found (404)"),
        "{out:?}"
    );
    let out = status(&dir, &github, &[]);
    assert_eq!(out.success(), "no open issues labelled `feature` in acme/registry\n");
}
