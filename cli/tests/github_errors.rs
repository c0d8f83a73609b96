//! Every way talking to GitHub goes wrong gives a clear error (and a rate limit is waited out),
//! and the token never appears in what the command prints.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

fn valid_issue(github: &FakeGitHub) -> u64 {
    let body = issue_body_with_definition(
        r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#,
    );
    github.insert_issue("Tags", &body, &["needs-review", "feature"], "open")
}

#[test]
fn a_missing_token_is_reported_before_any_request() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("missing-token");
    let number = valid_issue(&github);
    // No variables, and no `gh` to ask: PATH is an empty directory.
    let empty = scratch("missing-token-path");
    let out = run(entity_spec(&dir, Some(&github))
        .env("ENTITY_SPEC_GITHUB_REPO", "acme/registry")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env("PATH", &empty)
        .args(["approve", &number.to_string()]));
    assert!(
        out.failure(1)
            .contains("no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or log in with the GitHub CLI (`gh auth login`)"),
        "{out:?}"
    );
    assert!(github.requests().is_empty());
}

#[test]
fn the_github_cli_login_is_used_when_no_variable_is_set() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("gh-token");
    let number = valid_issue(&github);
    let bin = scratch("gh-token-path");
    let gh = bin.join("gh");
    std::fs::write(&gh, format!("#!/bin/sh\n[ \"$1 $2\" = \"auth token\" ] && echo {TOKEN} && exit 0\nexit 1\n"))
        .unwrap();
    let mut permissions = std::fs::metadata(&gh).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&gh, permissions).unwrap();
    let out = run(entity_spec(&dir, Some(&github))
        .env("ENTITY_SPEC_GITHUB_REPO", "acme/registry")
        .env_remove("GITHUB_TOKEN")
        .env("PATH", &bin)
        .args(["approve", &number.to_string()]));
    assert!(out.success().contains("removed `needs-review`"), "{out:?}");
    assert_eq!(github.requests()[0].header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
}

#[test]
fn a_rejected_token_is_a_401_error_that_does_not_print_it() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("bad-token");
    let number = valid_issue(&github);
    let wrong = "ghp_wrongTokenThatMustNotBePrintedEither";
    let out = run(entity_spec(&dir, Some(&github))
        .env("ENTITY_SPEC_GITHUB_REPO", "acme/registry")
        .env("GITHUB_TOKEN", wrong)
        .args(["implement", &number.to_string()]));
    let stderr = out.failure(1);
    assert!(
        stderr.contains(&format!(
            "cannot read issue #{number}: GitHub rejected the token (401 Unauthorized: Bad credentials) for GET /repos/acme/registry/issues/{number}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong) && !out.stdout.contains(wrong));
}

#[test]
fn an_unknown_issue_or_repository_is_a_404_error() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("not-found");
    let out = cli(&dir, &github, &["implement", "999"]);
    assert!(
        out.failure(1).contains("GET /repos/acme/registry/issues/999: not found (404) in acme/registry"),
        "{out:?}"
    );
    let out = run(entity_spec(&dir, Some(&github)).args(["approve", "--repo", "acme/other", "1"]));
    assert!(out.failure(1).contains("not found (404) in acme/other"), "{out:?}");
}

#[test]
fn a_rate_limit_is_waited_out_as_retry_after_says() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("rate-limit");
    let number = valid_issue(&github);
    let path = format!("/repos/acme/registry/issues/{number}");
    github.script(
        "GET",
        &path,
        403,
        &[("retry-after", "1"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-limit", "5000")],
        json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
    );
    let started = Instant::now();
    let out = cli(&dir, &github, &["approve", &number.to_string()]);
    assert!(out.success().contains("removed `needs-review`"), "{out:?}");
    assert!(
        out.stderr.contains(&format!("GitHub rate limit on GET {path}: waiting 1s before retry 1 of 3")),
        "{out:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(github.requests_to("GET", &path).len(), 2);
}

#[test]
fn a_rate_limit_that_does_not_lift_ends_with_a_clear_error() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("rate-limit-exhausted");
    let path = "/repos/acme/registry/issues/1";
    for _ in 0..4 {
        github.script(
            "GET",
            path,
            429,
            &[("retry-after", "0")],
            json!({"message": "You have exceeded a secondary rate limit."}),
        );
    }
    let out = cli(&dir, &github, &["approve", "1"]);
    assert!(
        out.failure(1).contains(&format!("GitHub rate limit on GET {path}: still limited after 4 attempts")),
        "{out:?}"
    );
    assert_eq!(github.requests_to("GET", path).len(), 4);

    // A limit that lifts only in an hour is not waited for.
    github.script(
        "GET",
        path,
        403,
        &[("retry-after", "3600")],
        json!({"message": "You have exceeded a secondary rate limit."}),
    );
    let started = Instant::now();
    let out = cli(&dir, &github, &["approve", "1"]);
    assert!(out.failure(1).contains("the limit lifts in 3600s, longer than the 5s this command waits"), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_forbidden_call_that_is_not_a_rate_limit_says_which_permission_is_missing() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("forbidden");
    let number = valid_issue(&github);
    github.script(
        "DELETE",
        &format!("/repos/acme/registry/issues/{number}/labels/needs-review"),
        403,
        &[],
        json!({"message": "Resource not accessible by personal access token"}),
    );
    let out = cli(&dir, &github, &["approve", &number.to_string()]);
    assert!(
        out.failure(1).contains(
            "(403 Forbidden: Resource not accessible by personal access token); the token needs write access"
        ),
        "{out:?}"
    );
}

#[test]
fn a_server_error_is_reported_with_the_call() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("server-error");
    github.script("GET", "/repos/acme/registry/issues/1", 500, &[], json!({"message": "Server Error"}));
    let out = cli(&dir, &github, &["implement", "1"]);
    assert!(
        out.failure(1)
            .contains("GitHub answered 500 Internal Server Error to GET /repos/acme/registry/issues/1: Server Error"),
        "{out:?}"
    );
    assert_eq!(github.requests().len(), 1, "a server error is not retried");
}

#[test]
fn an_unreachable_api_is_a_network_error() {
    let dir = scratch("network");
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = run(entity_spec(&dir, None)
        .env("ENTITY_SPEC_GITHUB_REPO", "acme/registry")
        .env("GITHUB_API_URL", format!("http://127.0.0.1:{port}"))
        .args(["implement", "1"]));
    let stderr = out.failure(1);
    assert!(
        stderr.contains(&format!(
            "cannot reach the GitHub API at http://127.0.0.1:{port} (GET /repos/acme/registry/issues/1)"
        )),
        "{out:?}"
    );
    assert_eq!(stderr.matches("Connection refused").count(), 1, "the cause is printed once: {stderr}");
}

#[test]
fn a_server_error_with_retry_after_is_retried_a_bounded_number_of_times() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("server-error-retry");
    let number = valid_issue(&github);
    let path = format!("/repos/acme/registry/issues/{number}");
    github.script("GET", &path, 503, &[("retry-after", "1")], json!({"message": "Service Unavailable"}));
    let started = Instant::now();
    let out = cli(&dir, &github, &["approve", &number.to_string()]);
    assert!(out.success().contains("removed `needs-review`"), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("GitHub answered 503 Service Unavailable to GET {path}: retrying in 1s (retry 1 of 3)")),
        "{out:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(github.requests_to("GET", &path).len(), 2);

    // Four in a row: three retries, then the error says so.
    for _ in 0..4 {
        github.script("GET", &path, 502, &[("retry-after", "0")], json!({"message": "Server Error"}));
    }
    let out = cli(&dir, &github, &["approve", &number.to_string()]);
    assert!(
        out.failure(1)
            .contains(&format!("GitHub answered 502 Bad Gateway to GET {path}: Server Error (after 4 attempts)")),
        "{out:?}"
    );
    assert_eq!(github.requests_to("GET", &path).len(), 2 + 4);
}

#[test]
fn titles_and_bodies_over_githubs_limits_are_refused_before_sending() {
    let github = FakeGitHub::start(OWNER, REPO, TOKEN);
    let dir = scratch("too-long");
    std::fs::write(
        dir.join("tag.json"),
        r#"{"name": "Tag", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#,
    )
    .unwrap();
    let title = "t".repeat(257);
    let out = cli(&dir, &github, &["request", "--entity", "tag.json", "--title", &title]);
    assert!(
        out.failure(1).contains(
            "POST /repos/acme/registry/issues: the title is 257 characters, and GitHub accepts at most 256; nothing was sent"
        ),
        "{out:?}"
    );
    let description = "d".repeat(70_000);
    let out = cli(&dir, &github, &["request", "--entity", "tag.json", "--description", &description]);
    let stderr = out.failure(1);
    assert!(stderr.contains("the body is ") && stderr.contains("GitHub accepts at most 65536"), "{out:?}");
    assert!(github.requests().is_empty(), "nothing reached GitHub");
}

#[test]
fn repo_is_a_flag_of_the_github_commands_only() {
    let dir = scratch("repo-flag");
    for command in ["request", "update", "approve", "implement"] {
        let out = run(entity_spec(&dir, None).args([command, "--help"]));
        assert!(out.success().contains("--repo <OWNER/REPO>"), "{command}: {out:?}");
    }
    for command in [&["spec", "check", "--help"][..], &["init", "--help"], &["openapi", "--help"]] {
        let out = run(entity_spec(&dir, None).args(command));
        assert!(!out.success().contains("--repo"), "{command:?}: {out:?}");
    }
    let out = run(entity_spec(&dir, None).args(["spec", "check", "--repo", "acme/registry", "x.json"]));
    assert!(out.failure(2).contains("unexpected argument '--repo'"), "{out:?}");
}

#[test]
fn the_repository_comes_from_the_origin_remote() {
    let github = FakeGitHub::start("octo-org", "data.platform", TOKEN);
    for (name, url) in [
        ("https", "https://github.com/octo-org/data.platform.git"),
        ("ssh", "git@github.com:octo-org/data.platform.git"),
        ("ssh-url", "ssh://git@github.com/octo-org/data.platform"),
    ] {
        let dir = scratch(&format!("origin-{name}"));
        std::fs::write(dir.join("README.md"), "x").unwrap();
        init_repository(&dir);
        git(&dir, &["remote", "add", "origin", url]);
        let out = run(entity_spec(&dir, Some(&github)).args(["approve", "404"]));
        assert!(out.failure(1).contains("not found (404) in octo-org/data.platform"), "{url}: {out:?}");
    }
    let dir = scratch("origin-local");
    std::fs::write(dir.join("README.md"), "x").unwrap();
    init_repository(&dir);
    git(&dir, &["remote", "add", "origin", "/srv/git/registry.git"]);
    let out = run(entity_spec(&dir, Some(&github)).args(["approve", "1"]));
    assert!(
        out.failure(1)
            .contains("is not a GitHub repository URL; pass --repo OWNER/REPO or set ENTITY_SPEC_GITHUB_REPO"),
        "{out:?}"
    );
}
