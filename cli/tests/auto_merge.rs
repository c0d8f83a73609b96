//! What `implement` does after the pull request is open: a low-risk change gets auto-merge
//! (GraphQL `enablePullRequestAutoMerge`, squash) and lands when its checks pass; where the
//! repository does not allow auto-merge it waits for the checks and merges through REST; a
//! change that needs review never merges by itself and a review is requested from the approver.
//! Opt-outs: `--no-auto-merge` and `entity-spec.toml`.

mod support;

use std::path::PathBuf;

use support::*;

const TAG: &str = r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#;
const BRANCH: &str = "feat/issue-1-tag";

/// A tiny crate with the Note spec on a bare `origin`, and approved issue #1 asking for `Tag`.
fn setup(name: &str) -> (FakeGitHub, PathBuf, PathBuf) {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch(name);
    let service = root.join("service");
    tiny_crate(&service, NOTE_SPEC);
    init_repository(&service);
    bare_origin(&root, &service, &github);
    github.insert_issue("Tags", &issue_body_with_definition(TAG), &["feature"], "open");
    (github, root, service)
}

fn graphql_requests(github: &FakeGitHub) -> Vec<String> {
    github.requests_to("POST", "/graphql").iter().map(|r| r.body["query"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_low_risk_change_gets_auto_merge_and_lands_when_its_checks_pass() {
    let (github, _root, service) = setup("auto-merge");
    github.allow_auto_merge(true);
    let out = cli(&service, &github, &["implement", "1"]);
    let stdout = out.success();
    assert!(stdout.contains("auto-merge (squash) enabled: GitHub merges #2 once the required checks pass"), "{out:?}");
    assert!(stdout.contains("  merge:        auto-merge (squash) enabled"), "{out:?}");
    let sent = github.requests_to("POST", "/graphql");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert!(
        sent[0].body["query"]
            .as_str()
            .unwrap()
            .contains("enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH})")
    );
    assert_eq!(sent[0].body["variables"]["id"], "PR_kwDOABCD2");
    assert!(github.auto_merge_enabled(2) && !github.merged(2));

    // CI goes green: GitHub merges, and `Closes #1` closes the issue.
    github.set_check_run(BRANCH, "fmt, clippy, tests, spec", "completed", Some("success"));
    assert!(github.merged(2));
    assert_eq!(github.state(1), "closed");
    let out = cli(&service, &github, &["status", "1"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("(merged, low-risk)") && out.stdout.contains("done: the issue is closed"), "{out:?}");
}

#[test]
fn without_auto_merge_in_the_repository_the_checks_are_waited_for_and_the_merge_is_a_rest_squash() {
    let (github, _root, service) = setup("rest-merge");
    // Commit first, so the checks can be reported on the commit the push will carry.
    cli(&service, &github, &["implement", "1", "--no-push"]).success();
    let commit = git(&service, &["rev-parse", BRANCH]);
    github.set_status(&commit, "ci/test", "success");
    let out = cli(&service, &github, &["implement", "1"]);
    let stdout = out.success();
    assert!(stdout.contains("auto-merge is not available (Auto merge is not allowed for this repository)"), "{out:?}");
    assert!(stdout.contains("merged #2 (squash) after its checks passed"), "{out:?}");
    let merges = github.requests_to("PUT", "/repos/acme/registry/pulls/2/merge");
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].body["merge_method"], "squash");
    assert_eq!(merges[0].body["sha"], commit, "exactly the commit whose checks passed");
    assert_eq!(merges[0].body["commit_title"], "feat(Tag): add entity and API (#1) (#2)");
    assert!(github.merged(2));
    assert_eq!(github.state(1), "closed");
}

#[test]
fn a_failed_check_or_no_checks_at_all_leave_the_pull_request_open() {
    let (github, _root, service) = setup("rest-merge-refused");
    cli(&service, &github, &["implement", "1", "--no-push"]).success();
    let commit = git(&service, &["rev-parse", BRANCH]);
    github.set_check_run(&commit, "test", "completed", Some("failure"));
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(
        out.success().contains("checks failed on #2 (test): not merged. Fix them, then `entity-spec implement 1`"),
        "{out:?}"
    );
    assert!(!github.merged(2));

    // A repository without CI reports no checks at all: nothing vouches for the change.
    let (github, _root, service) = setup("rest-merge-no-checks");
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(out.success().contains("no checks reported on #2 within 2s: not merged"), "{out:?}");
    assert!(github.requests_to("PUT", "/repos/acme/registry/pulls/2/merge").is_empty());
}

#[test]
fn auto_merge_is_opted_out_by_flag_or_by_the_repository_file() {
    let (github, _root, service) = setup("no-auto-merge");
    github.allow_auto_merge(true);
    let out = cli(&service, &github, &["implement", "1", "--no-auto-merge"]);
    assert!(
        out.success().contains("auto-merge not enabled (--no-auto-merge): merge #2 when its checks pass"),
        "{out:?}"
    );
    assert!(graphql_requests(&github).is_empty());

    let (github, _root, service) = setup("no-auto-merge-file");
    github.allow_auto_merge(true);
    std::fs::write(service.join("entity-spec.toml"), "[implement]\nauto_merge = false\n").unwrap();
    git(&service, &["add", "entity-spec.toml"]);
    git(&service, &["commit", "--quiet", "-m", "No auto-merge here"]);
    git(&service, &["push", "--quiet", "origin", "main"]);
    let out = cli(&service.join("src"), &github, &["implement", "1"]);
    let stdout = out.success();
    assert!(stdout.contains("auto-merge not enabled (auto_merge = false in "), "{out:?}");
    assert!(stdout.contains("entity-spec.toml)"), "{out:?}");
    assert!(graphql_requests(&github).is_empty());

    // A misspelt key is an error, not a silent default.
    std::fs::write(service.join("entity-spec.toml"), "[implement]\nautomerge = false\n").unwrap();
    git(&service, &["commit", "--quiet", "-am", "typo"]);
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(out.failure(1).contains("entity-spec.toml is not valid"), "{out:?}");
    assert!(out.stderr.contains("unknown field `automerge`"), "{out:?}");
}

fn note_issue_body(title_rules: &str) -> String {
    issue_body_with_definition(&format!(
        r#"{{"name": "Note", "fields": [
  {{"name": "id", "type": "uuid", "primary_key": true}},
  {{"name": "title", "type": "string", "required": true{title_rules}}},
  {{"name": "body", "type": "text"}}
]}}"#
    ))
}

#[test]
fn a_change_that_needs_review_turns_auto_merge_off_and_asks_the_approver() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch("needs-review");
    let service = root.join("service");
    tiny_crate(&service, NOTE_SPEC);
    init_repository(&service);
    bare_origin(&root, &service, &github);
    github.allow_auto_merge(true);
    let issue = github.insert_issue("Note bodies", &note_issue_body(""), &["needs-review", "feature"], "open");
    github.approve_as(issue, "rev-iewer");

    // Additive first: auto-merge goes on.
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(out.success().contains("(label low-risk)"), "{out:?}");
    assert!(github.auto_merge_enabled(2));

    // The reviewer then asks for shorter titles: a breaking change, approved again.
    github.set_body(issue, &note_issue_body(r#", "max_length": 40"#));
    github.approve_as(issue, "rev-iewer");
    let out = cli(&service, &github, &["implement", "1"]);
    let stdout = out.success();
    assert!(stdout.contains("(label needs-review)"), "{out:?}");
    assert!(stdout.contains("auto-merge turned off on #2: it needs review now"), "{out:?}");
    assert!(stdout.contains("review requested from @rev-iewer, who approved #1"), "{out:?}");
    assert!(!github.auto_merge_enabled(2), "a breaking change must not merge by itself");
    assert!(graphql_requests(&github).last().unwrap().contains("disablePullRequestAutoMerge"));
    assert_eq!(github.requested_reviewers(2), ["rev-iewer"]);
    assert_eq!(
        github.requests_to("POST", "/repos/acme/registry/pulls/2/requested_reviewers")[0].body,
        serde_json::json!({"reviewers": ["rev-iewer"]})
    );
    // Green checks do not merge it.
    github.set_check_run("feat/issue-1-note", "test", "completed", Some("success"));
    assert!(!github.merged(2));
}

#[test]
fn an_approver_who_also_opens_the_pull_request_is_told_to_ask_someone_else() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let root = scratch("self-approved");
    let service = root.join("service");
    tiny_crate(&service, NOTE_SPEC);
    init_repository(&service);
    bare_origin(&root, &service, &github);
    github.insert_issue(
        "Short titles",
        &note_issue_body(r#", "max_length": 40"#),
        &["needs-review", "feature"],
        "open",
    );
    cli(&service, &github, &["approve", "1"]).success();
    let out = cli(&service, &github, &["implement", "1"]);
    assert!(
        out.success().contains("#1 was approved by @acme, who also opened #2: GitHub takes no review request from a pull request's author, so ask another reviewer"),
        "{out:?}"
    );
    assert!(github.requests_to("POST", "/repos/acme/registry/pulls/2/requested_reviewers").is_empty());
}
