//! A local stand-in for the GitHub REST API: the endpoints the CLI uses, answering with the
//! documented payloads (complete issue, label and pull-request objects) and status codes,
//! recording every request it receives. Tests can script one-off answers (rate limits,
//! server errors) for a method and path.
//!
//! Like GitHub it rejects requests without a User-Agent (403) or with a wrong token (401),
//! answers 404 for unknown repositories and numbers, refuses a second open pull request for
//! the same head (422), and, when given the bare repository behind `origin`, refuses a pull
//! request whose head branch was never pushed (422).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An answer given instead of the normal one, once, to the next matching request.
struct Scripted {
    method: String,
    path: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

struct Item {
    title: String,
    body: Option<String>,
    state: String,
    labels: Vec<String>,
    created_at: String,
    updated_at: String,
    /// For pull requests: head branch and base branch.
    pull: Option<(String, String)>,
    /// For pull requests: when merged.
    merged_at: Option<String>,
    /// For pull requests: `mergeable` and `mergeable_state` as GitHub computes them.
    mergeable: (Option<bool>, String),
    /// For pull requests: the auto-merge request, once enabled.
    auto_merge: Option<Value>,
    /// For pull requests: the logins asked for a review.
    requested_reviewers: Vec<String>,
}

impl Item {
    fn new(
        title: &str,
        body: Option<String>,
        labels: Vec<String>,
        now: String,
        pull: Option<(String, String)>,
    ) -> Item {
        Item {
            title: title.to_owned(),
            body,
            state: "open".to_owned(),
            labels,
            created_at: now.clone(),
            updated_at: now,
            pull,
            merged_at: None,
            mergeable: (None, "unknown".to_owned()),
            auto_merge: None,
            requested_reviewers: Vec::new(),
        }
    }
}

/// A label event on an issue's timeline.
#[derive(Clone)]
struct Event {
    issue: u64,
    event: &'static str,
    label: String,
    actor: String,
}

/// A commit status (`POST /repos/{owner}/{repo}/statuses/{sha}` as CI would send it).
#[derive(Clone)]
struct Status {
    context: String,
    state: String,
}

/// A check run as GitHub Actions would create it.
#[derive(Clone)]
struct CheckRun {
    name: String,
    status: String,
    conclusion: Option<String>,
}

struct Inner {
    api: String,
    owner: String,
    repo: String,
    token: String,
    bare: Option<PathBuf>,
    next_number: u64,
    items: BTreeMap<u64, Item>,
    requests: Vec<Recorded>,
    scripted: Vec<Scripted>,
    clock: u64,
    /// Commit statuses and check runs by commit id.
    statuses: BTreeMap<String, Vec<Status>>,
    check_runs: BTreeMap<String, Vec<CheckRun>>,
    /// The repository's "Allow auto-merge" setting (off by default, as on GitHub).
    allow_auto_merge: bool,
    events: Vec<Event>,
}

/// The running server; it lives as long as the test process.
#[derive(Clone)]
pub struct FakeGitHub {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeGitHub {
    /// Starts a server for `owner/repo` accepting `token`.
    pub fn start(owner: &str, repo: &str, token: &str) -> FakeGitHub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner {
            api: url.clone(),
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            token: token.to_owned(),
            bare: None,
            next_number: 1,
            items: BTreeMap::new(),
            requests: Vec::new(),
            scripted: Vec::new(),
            clock: 0,
            statuses: BTreeMap::new(),
            check_runs: BTreeMap::new(),
            allow_auto_merge: false,
            events: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        FakeGitHub { url, inner }
    }

    /// Checks pull-request heads against this bare repository, as GitHub checks its own.
    pub fn use_bare_repository(&self, path: PathBuf) {
        self.inner.lock().unwrap().bare = Some(path);
    }

    /// Adds an issue directly (as if someone had written it on github.com).
    pub fn insert_issue(&self, title: &str, body: &str, labels: &[&str], state: &str) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        let now = inner.tick();
        let number = inner.next_number;
        inner.next_number += 1;
        let mut item =
            Item::new(title, Some(body.to_owned()), labels.iter().map(|l| (*l).to_owned()).collect(), now, None);
        item.state = state.to_owned();
        inner.items.insert(number, item);
        number
    }

    /// CI reports a commit status on a commit: a full commit id, or the commit a branch of
    /// the bare repository is at.
    pub fn set_status(&self, reference: &str, context: &str, state: &str) {
        let mut inner = self.inner.lock().unwrap();
        let sha = inner.resolve(reference);
        let list = inner.statuses.entry(sha).or_default();
        list.retain(|s| s.context != context);
        list.push(Status { context: context.to_owned(), state: state.to_owned() });
        inner.settle_auto_merges();
    }

    /// A check run on a commit, named as for [`FakeGitHub::set_status`] (`conclusion` once
    /// `completed`).
    pub fn set_check_run(&self, reference: &str, name: &str, status: &str, conclusion: Option<&str>) {
        let mut inner = self.inner.lock().unwrap();
        let sha = inner.resolve(reference);
        let list = inner.check_runs.entry(sha).or_default();
        list.retain(|r| r.name != name);
        list.push(CheckRun {
            name: name.to_owned(),
            status: status.to_owned(),
            conclusion: conclusion.map(str::to_owned),
        });
        inner.settle_auto_merges();
    }

    /// The repository's "Allow auto-merge" setting.
    pub fn allow_auto_merge(&self, allowed: bool) {
        self.inner.lock().unwrap().allow_auto_merge = allowed;
    }

    /// Someone other than the token's user approves an issue on github.com: removes
    /// `needs-review`, recorded as their `unlabeled` event.
    pub fn approve_as(&self, issue: u64, login: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.items.get_mut(&issue).unwrap().labels.retain(|l| l != "needs-review");
        inner.events.push(Event {
            issue,
            event: "unlabeled",
            label: "needs-review".to_owned(),
            actor: login.to_owned(),
        });
    }

    /// Someone edits an issue's body on github.com.
    pub fn set_body(&self, number: u64, body: &str) {
        self.inner.lock().unwrap().items.get_mut(&number).unwrap().body = Some(body.to_owned());
    }

    /// Whether auto-merge is enabled on a pull request.
    pub fn auto_merge_enabled(&self, number: u64) -> bool {
        self.inner.lock().unwrap().items[&number].auto_merge.is_some()
    }

    /// The logins a review was requested from.
    pub fn requested_reviewers(&self, number: u64) -> Vec<String> {
        self.inner.lock().unwrap().items[&number].requested_reviewers.clone()
    }

    /// Whether a pull request is merged.
    pub fn merged(&self, number: u64) -> bool {
        self.inner.lock().unwrap().items[&number].merged_at.is_some()
    }

    /// What GitHub has computed about merging a pull request.
    pub fn set_mergeable(&self, number: u64, mergeable: Option<bool>, state: &str) {
        self.inner.lock().unwrap().items.get_mut(&number).unwrap().mergeable = (mergeable, state.to_owned());
    }

    /// Merges a pull request as the merge button would: the pull request is closed as merged,
    /// and, as its base is the default branch, every issue its body closes (`Closes #N`) is
    /// closed too.
    pub fn merge_pull(&self, number: u64) {
        self.inner.lock().unwrap().merge(number);
    }

    /// The state of an issue or pull request (`open`, `closed`).
    pub fn state(&self, number: u64) -> String {
        self.inner.lock().unwrap().items[&number].state.clone()
    }

    /// The next `method path` request gets this answer instead of the normal one.
    pub fn script(&self, method: &str, path: &str, status: u16, headers: &[(&str, &str)], body: Value) {
        self.inner.lock().unwrap().scripted.push(Scripted {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            body,
        });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The requests with this method whose path is `path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method == method && r.path == path).collect()
    }

    /// The labels an issue or pull request has now.
    pub fn labels(&self, number: u64) -> Vec<String> {
        self.inner.lock().unwrap().items.get(&number).map(|i| i.labels.clone()).unwrap_or_default()
    }

    /// The body an issue or pull request has now.
    pub fn body(&self, number: u64) -> String {
        self.inner.lock().unwrap().items.get(&number).and_then(|i| i.body.clone()).unwrap_or_default()
    }

    /// The numbers of every pull request.
    pub fn pull_numbers(&self) -> Vec<u64> {
        self.inner.lock().unwrap().items.iter().filter(|(_, i)| i.pull.is_some()).map(|(n, _)| *n).collect()
    }
}

impl Inner {
    /// Whether every check on a commit passed (at least one reported, none pending or failed).
    fn checks_green(&self, sha: &str) -> bool {
        let statuses = self.statuses.get(sha).map(Vec::as_slice).unwrap_or_default();
        let runs = self.check_runs.get(sha).map(Vec::as_slice).unwrap_or_default();
        (!statuses.is_empty() || !runs.is_empty())
            && statuses.iter().all(|s| s.state == "success")
            && runs.iter().all(|r| {
                r.status == "completed" && matches!(r.conclusion.as_deref(), Some("success" | "neutral" | "skipped"))
            })
    }

    /// What GitHub does when checks finish: merges every open pull request with auto-merge on
    /// whose head commit is green and which has no conflict.
    fn settle_auto_merges(&mut self) {
        let ready: Vec<u64> = self
            .items
            .iter()
            .filter(|(_, i)| i.state == "open" && i.auto_merge.is_some() && i.mergeable.0 != Some(false))
            .filter(|(_, i)| self.checks_green(&self.sha(&i.pull.as_ref().unwrap().0)))
            .map(|(n, _)| *n)
            .collect();
        for number in ready {
            self.merge(number);
        }
    }

    fn merge(&mut self, number: u64) {
        self.squash_into_base(number);
        let now = self.tick();
        let item = self.items.get_mut(&number).unwrap();
        item.state = "closed".to_owned();
        item.merged_at = Some(now.clone());
        item.auto_merge = None;
        let body = item.body.clone().unwrap_or_default().to_lowercase();
        let closed: Vec<u64> = ["closes #", "fixes #", "resolves #"]
            .iter()
            .flat_map(|keyword| body.match_indices(keyword).map(|(i, k)| &body[i + k.len()..]))
            .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect();
        for issue in closed {
            if let Some(item) = self.items.get_mut(&issue).filter(|i| i.pull.is_none()) {
                item.state = "closed".to_owned();
                item.updated_at = now.clone();
            }
        }
    }

    /// In the bare repository, the base branch gets one commit with the merged tree, as a
    /// squash merge makes it (the stand-in is only ever asked to merge clean pull requests).
    fn squash_into_base(&self, number: u64) {
        let Some(bare) = &self.bare else { return };
        let item = &self.items[&number];
        let (head, base) = item.pull.clone().unwrap();
        let git = |args: &[&str]| {
            let output = Command::new("git")
                .arg("--git-dir")
                .arg(bare)
                .args(args)
                .env("GIT_AUTHOR_NAME", "GitHub")
                .env("GIT_AUTHOR_EMAIL", "noreply@github.com")
                .env("GIT_COMMITTER_NAME", "GitHub")
                .env("GIT_COMMITTER_EMAIL", "noreply@github.com")
                .output()
                .expect("git runs");
            assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or("").to_owned()
        };
        let tree = git(&["merge-tree", "--write-tree", &base, &head]);
        let message = format!("{} (#{number})", item.title);
        let commit = git(&["commit-tree", &tree, "-p", &base, "-m", &message]);
        git(&["update-ref", &format!("refs/heads/{base}"), &commit]);
    }

    /// A commit id, or the commit a branch is at.
    fn resolve(&self, reference: &str) -> String {
        if reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()) {
            reference.to_owned()
        } else {
            self.sha(reference)
        }
    }

    /// A strictly increasing timestamp, so `updated_at` moves like GitHub's.
    fn tick(&mut self) -> String {
        self.clock += 1;
        format!("2026-05-01T12:{:02}:{:02}Z", self.clock / 60 % 60, self.clock % 60)
    }

    fn repo_url(&self) -> String {
        format!("{}/repos/{}/{}", self.api, self.owner, self.repo)
    }

    fn html_repo(&self) -> String {
        format!("https://github.com/{}/{}", self.owner, self.repo)
    }

    fn user(&self) -> Value {
        self.user_named(&self.owner)
    }

    fn user_named(&self, login: &str) -> Value {
        json!({
            "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
            "url": format!("{}/users/{login}", self.api), "html_url": format!("https://github.com/{login}"),
            "followers_url": format!("{}/users/{login}/followers", self.api),
            "following_url": format!("{}/users/{login}/following{{/other_user}}", self.api),
            "gists_url": format!("{}/users/{login}/gists{{/gist_id}}", self.api),
            "starred_url": format!("{}/users/{login}/starred{{/owner}}{{/repo}}", self.api),
            "subscriptions_url": format!("{}/users/{login}/subscriptions", self.api),
            "organizations_url": format!("{}/users/{login}/orgs", self.api),
            "repos_url": format!("{}/users/{login}/repos", self.api),
            "events_url": format!("{}/users/{login}/events{{/privacy}}", self.api),
            "received_events_url": format!("{}/users/{login}/received_events", self.api),
            "type": "User", "site_admin": false
        })
    }

    fn label(&self, name: &str) -> Value {
        json!({
            "id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
            "url": format!("{}/labels/{}", self.repo_url(), name),
            "name": name, "description": null, "color": "ededed", "default": false
        })
    }

    fn repository(&self) -> Value {
        let full_name = format!("{}/{}", self.owner, self.repo);
        json!({
            "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": self.repo, "full_name": full_name,
            "owner": self.user(), "private": false, "html_url": self.html_repo(), "description": null,
            "fork": false, "url": self.repo_url(), "default_branch": "main", "visibility": "public"
        })
    }

    fn issue_json(&self, number: u64) -> Value {
        let item = &self.items[&number];
        let repo_url = self.repo_url();
        let mut issue = json!({
            "id": 1000 + number, "node_id": format!("I_kwDOABCD{number}"),
            "url": format!("{repo_url}/issues/{number}"),
            "repository_url": repo_url,
            "labels_url": format!("{repo_url}/issues/{number}/labels{{/name}}"),
            "comments_url": format!("{repo_url}/issues/{number}/comments"),
            "events_url": format!("{repo_url}/issues/{number}/events"),
            "html_url": format!("{}/{}/{number}", self.html_repo(), if item.pull.is_some() { "pull" } else { "issues" }),
            "number": number,
            "state": item.state,
            "state_reason": if item.state == "closed" { json!("completed") } else { Value::Null },
            "title": item.title,
            "body": item.body,
            "user": self.user(),
            "labels": item.labels.iter().map(|l| self.label(l)).collect::<Vec<_>>(),
            "assignee": null, "assignees": [], "milestone": null,
            "locked": false, "active_lock_reason": null, "comments": 0,
            "closed_at": if item.state == "closed" { json!(item.updated_at) } else { Value::Null },
            "created_at": item.created_at, "updated_at": item.updated_at,
            "closed_by": null, "author_association": "OWNER",
            "timeline_url": format!("{repo_url}/issues/{number}/timeline"),
            "performed_via_github_app": null,
            "reactions": {"url": format!("{repo_url}/issues/{number}/reactions"), "total_count": 0, "+1": 0, "-1": 0,
                          "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}
        });
        if item.pull.is_some() {
            issue["pull_request"] = json!({
                "url": format!("{repo_url}/pulls/{number}"),
                "html_url": format!("{}/pull/{number}", self.html_repo()),
                "diff_url": format!("{}/pull/{number}.diff", self.html_repo()),
                "patch_url": format!("{}/pull/{number}.patch", self.html_repo()),
                "merged_at": item.merged_at
            });
        }
        issue
    }

    fn pull_json(&self, number: u64) -> Value {
        let item = &self.items[&number];
        let (head, base) = item.pull.clone().expect("a pull request");
        let repo_url = self.repo_url();
        let html = format!("{}/pull/{number}", self.html_repo());
        let branch = |name: &str| {
            json!({
                "label": format!("{}:{name}", self.owner), "ref": name, "sha": self.sha(name),
                "user": self.user(), "repo": self.repository()
            })
        };
        let links = json!({
            "self": {"href": format!("{repo_url}/pulls/{number}")}, "html": {"href": html},
            "issue": {"href": format!("{repo_url}/issues/{number}")},
            "comments": {"href": format!("{repo_url}/issues/{number}/comments")},
            "review_comments": {"href": format!("{repo_url}/pulls/{number}/comments")},
            "review_comment": {"href": format!("{repo_url}/pulls/comments{{/number}}")},
            "commits": {"href": format!("{repo_url}/pulls/{number}/commits")},
            "statuses": {"href": format!("{repo_url}/statuses/{}", self.sha(&head))}
        });
        let mut pull = json!({
            "url": format!("{repo_url}/pulls/{number}"), "id": 5000 + number, "node_id": format!("PR_kwDOABCD{number}"),
            "html_url": html, "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
            "issue_url": format!("{repo_url}/issues/{number}"),
            "commits_url": format!("{repo_url}/pulls/{number}/commits"),
            "review_comments_url": format!("{repo_url}/pulls/{number}/comments"),
            "review_comment_url": format!("{repo_url}/pulls/comments{{/number}}"),
            "comments_url": format!("{repo_url}/issues/{number}/comments"),
            "statuses_url": format!("{repo_url}/statuses/{}", self.sha(&head)),
            "number": number, "state": item.state, "locked": false, "title": item.title,
            "user": self.user(), "body": item.body,
            "labels": item.labels.iter().map(|l| self.label(l)).collect::<Vec<_>>(),
            "milestone": null, "active_lock_reason": null,
            "created_at": item.created_at, "updated_at": item.updated_at,
            "closed_at": item.merged_at, "merged_at": item.merged_at, "merge_commit_sha": null,
            "assignee": null, "assignees": [],
            "requested_reviewers": item.requested_reviewers.iter().map(|l| self.user_named(l)).collect::<Vec<_>>(),
            "requested_teams": [],
            "head": branch(&head), "base": branch(&base)
        });
        let state = json!({
            "_links": links,
            "author_association": "OWNER", "auto_merge": item.auto_merge, "draft": false,
            "merged": item.merged_at.is_some(), "mergeable": item.mergeable.0, "rebaseable": item.mergeable.0,
            "mergeable_state": item.mergeable.1,
            "merged_by": null, "comments": 0, "review_comments": 0, "maintainer_can_modify": false,
            "commits": 1, "additions": 0, "deletions": 0, "changed_files": 1
        });
        pull.as_object_mut().unwrap().extend(state.as_object().unwrap().clone());
        pull
    }

    /// The commit a branch of the bare repository points at.
    fn sha(&self, branch: &str) -> String {
        let Some(bare) = &self.bare else { return "0".repeat(40) };
        let output = Command::new("git")
            .arg("--git-dir")
            .arg(bare)
            .args(["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")])
            .output()
            .expect("git runs");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

/// The two auto-merge mutations, answered as GitHub's GraphQL API does: status 200 with `data`,
/// or with `errors` (and the mutation's field `null`).
fn graphql(inner: &mut Inner, payload: &Value) -> Response {
    let query = payload["query"].as_str().unwrap_or("");
    let id = payload["variables"]["id"].as_str().unwrap_or("");
    let field = if query.contains("enablePullRequestAutoMerge") {
        "enablePullRequestAutoMerge"
    } else if query.contains("disablePullRequestAutoMerge") {
        "disablePullRequestAutoMerge"
    } else {
        return answer(200, json!({"errors": [{"message": "this stand-in serves only the auto-merge mutations"}]}));
    };
    let error = |text: &str, kind: &str| {
        answer(
            200,
            json!({"data": {field: null}, "errors": [{"type": kind, "path": [field], "locations": [{"line": 1, "column": 20}], "message": text}]}),
        )
    };
    let number = id.strip_prefix("PR_kwDOABCD").and_then(|n| n.parse::<u64>().ok());
    let Some(number) = number.filter(|n| inner.items.get(n).is_some_and(|i| i.pull.is_some())) else {
        return error(&format!("Could not resolve to a node with the global id of '{id}'"), "NOT_FOUND");
    };
    if field == "disablePullRequestAutoMerge" {
        inner.items.get_mut(&number).unwrap().auto_merge = None;
        return answer(200, json!({"data": {field: {"pullRequest": {"number": number}}}}));
    }
    if !query.contains("mergeMethod: SQUASH") {
        return error("this stand-in expects squash merges", "UNPROCESSABLE");
    }
    let item = &inner.items[&number];
    if !inner.allow_auto_merge {
        return error("Auto merge is not allowed for this repository", "UNPROCESSABLE");
    }
    if item.state != "open" {
        return error("Pull request Pull request is closed", "UNPROCESSABLE");
    }
    if item.mergeable.1 == "clean" {
        return error("Pull request Pull request is in clean status", "UNPROCESSABLE");
    }
    let now = inner.tick();
    let enabled_by = inner.user();
    inner.items.get_mut(&number).unwrap().auto_merge = Some(json!({
        "enabled_by": enabled_by, "merge_method": "squash", "commit_title": null, "commit_message": null
    }));
    answer(
        200,
        json!({"data": {field: {"pullRequest": {"number": number, "autoMergeRequest": {"enabledAt": now, "mergeMethod": "SQUASH"}}}}}),
    )
}

fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, [("content-type", "application/json; charset=utf-8")], body.to_string()).into_response()
}

fn message(status: u16, text: &str) -> Response {
    answer(
        status,
        json!({"message": text, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
    )
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap();
    let path = uri.path().to_owned();
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect(),
        body: payload.clone(),
    });
    if let Some(index) = inner.scripted.iter().position(|s| s.method == method.as_str() && s.path == path) {
        let scripted = inner.scripted.remove(index);
        let mut response = answer(scripted.status, scripted.body);
        for (name, value) in scripted.headers {
            response
                .headers_mut()
                .insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        return response;
    }
    if !headers.contains_key("user-agent") {
        return message(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        );
    }
    let expected = format!("Bearer {}", inner.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return message(401, "Bad credentials");
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if method == Method::POST && segments.as_slice() == ["graphql"] {
        return graphql(&mut inner, &payload);
    }
    let ["repos", owner, repo, rest @ ..] = segments.as_slice() else {
        return message(404, "Not Found");
    };
    if *owner != inner.owner || *repo != inner.repo {
        return message(404, "Not Found");
    }
    let number = |text: &str| text.parse::<u64>().ok();
    match (method.as_str(), rest) {
        ("POST", ["issues"]) => {
            let Some(title) = payload["title"].as_str() else {
                return answer(
                    422,
                    json!({"message": "Invalid request.\n\n\"title\" wasn't supplied.", "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue", "status": "422"}),
                );
            };
            let now = inner.tick();
            let number = inner.next_number;
            inner.next_number += 1;
            let labels = payload["labels"]
                .as_array()
                .map_or_else(Vec::new, |l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
            let body = payload["body"].as_str().map(str::to_owned);
            inner.items.insert(number, Item::new(title, body, labels, now, None));
            let mut response = answer(201, inner.issue_json(number));
            response.headers_mut().insert("location", format!("{}/issues/{number}", inner.repo_url()).parse().unwrap());
            response
        }
        ("GET", ["issues", n]) => match number(n).filter(|n| inner.items.contains_key(n)) {
            Some(n) => answer(200, inner.issue_json(n)),
            None => message(404, "Not Found"),
        },
        ("PATCH", ["issues", n]) => {
            let Some(n) = number(n).filter(|n| inner.items.contains_key(n)) else { return message(404, "Not Found") };
            let now = inner.tick();
            let item = inner.items.get_mut(&n).unwrap();
            if let Some(body) = payload["body"].as_str() {
                item.body = Some(body.to_owned());
            }
            if let Some(title) = payload["title"].as_str() {
                item.title = title.to_owned();
            }
            if let Some(state) = payload["state"].as_str() {
                item.state = state.to_owned();
            }
            item.updated_at = now;
            answer(200, inner.issue_json(n))
        }
        ("POST", ["issues", n, "labels"]) => {
            let Some(n) = number(n).filter(|n| inner.items.contains_key(n)) else { return message(404, "Not Found") };
            let Some(new) = payload["labels"].as_array() else {
                return answer(
                    422,
                    json!({"message": "Invalid request.\n\n\"labels\" wasn't supplied.", "status": "422"}),
                );
            };
            let item = inner.items.get_mut(&n).unwrap();
            for label in new.iter().filter_map(Value::as_str) {
                if !item.labels.iter().any(|l| l == label) {
                    item.labels.push(label.to_owned());
                }
            }
            let labels = item.labels.clone();
            answer(200, json!(labels.iter().map(|l| inner.label(l)).collect::<Vec<_>>()))
        }
        ("DELETE", ["issues", n, "labels", name]) => {
            let Some(n) = number(n).filter(|n| inner.items.contains_key(n)) else { return message(404, "Not Found") };
            let item = inner.items.get_mut(&n).unwrap();
            let before = item.labels.len();
            item.labels.retain(|l| l != name);
            if item.labels.len() == before {
                return message(404, "Label does not exist");
            }
            let labels = item.labels.clone();
            let actor = inner.owner.clone();
            inner.events.push(Event { issue: n, event: "unlabeled", label: (*name).to_owned(), actor });
            answer(200, json!(labels.iter().map(|l| inner.label(l)).collect::<Vec<_>>()))
        }
        ("GET", ["pulls"]) => {
            let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            let state = get("state").unwrap_or_else(|| "open".to_owned());
            let head = get("head");
            // GitHub's default order is newest first (`direction=desc`).
            let ascending = get("direction").as_deref() == Some("asc");
            let mut items: Vec<(&u64, &Item)> = inner.items.iter().collect();
            if !ascending {
                items.reverse();
            }
            let pulls: Vec<Value> = items
                .into_iter()
                .filter(|(_, i)| i.pull.is_some() && (state == "all" || i.state == state))
                .filter(|(_, i)| {
                    head.as_ref().is_none_or(|h| *h == format!("{}:{}", inner.owner, i.pull.as_ref().unwrap().0))
                })
                .map(|(n, _)| inner.pull_json(*n))
                .collect();
            answer(200, json!(pulls))
        }
        ("POST", ["pulls"]) => {
            let (Some(title), Some(head), Some(base)) =
                (payload["title"].as_str(), payload["head"].as_str(), payload["base"].as_str())
            else {
                return answer(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "missing_field", "field": "head"}], "status": "422"}),
                );
            };
            if inner.bare.is_some() && inner.sha(head).is_empty() {
                return answer(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}], "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422"}),
                );
            }
            if inner.items.values().any(|i| i.state == "open" && i.pull.as_ref().is_some_and(|(h, _)| h == head)) {
                let text = format!("A pull request already exists for {}:{head}.", inner.owner);
                return answer(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": text}], "status": "422"}),
                );
            }
            let now = inner.tick();
            let number = inner.next_number;
            inner.next_number += 1;
            let body = payload["body"].as_str().map(str::to_owned);
            let pull = Some((head.to_owned(), base.to_owned()));
            inner.items.insert(number, Item::new(title, body, Vec::new(), now, pull));
            answer(201, inner.pull_json(number))
        }
        ("PATCH", ["pulls", n]) => {
            let Some(n) = number(n).filter(|n| inner.items.get(n).is_some_and(|i| i.pull.is_some())) else {
                return message(404, "Not Found");
            };
            let now = inner.tick();
            let item = inner.items.get_mut(&n).unwrap();
            if let Some(title) = payload["title"].as_str() {
                item.title = title.to_owned();
            }
            if let Some(body) = payload["body"].as_str() {
                item.body = Some(body.to_owned());
            }
            item.updated_at = now;
            answer(200, inner.pull_json(n))
        }
        ("GET", ["issues"]) => {
            // Issues and pull requests alike, as GitHub lists them, filtered by state and by
            // every label named; newest first; one page of `per_page`.
            let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            let state = get("state").unwrap_or_else(|| "open".to_owned());
            let labels: Vec<String> =
                get("labels").map(|l| l.split(',').map(str::to_owned).collect()).unwrap_or_default();
            let per_page = get("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(30).min(100);
            let page = get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
            let numbers: Vec<u64> = inner
                .items
                .iter()
                .rev()
                .filter(|(_, i)| state == "all" || i.state == state)
                .filter(|(_, i)| labels.iter().all(|l| i.labels.contains(l)))
                .map(|(n, _)| *n)
                .skip((page - 1) * per_page)
                .take(per_page)
                .collect();
            answer(200, json!(numbers.iter().map(|n| inner.issue_json(*n)).collect::<Vec<_>>()))
        }
        ("GET", ["issues", n, "events"]) => {
            let Some(n) = number(n).filter(|n| inner.items.contains_key(n)) else { return message(404, "Not Found") };
            let events: Vec<Value> = inner
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.issue == n)
                .map(|(i, e)| {
                    json!({
                        "id": 6000 + i, "node_id": format!("UNLE_{i}"), "url": format!("{}/issues/events/{}", inner.repo_url(), 6000 + i),
                        "actor": inner.user_named(&e.actor), "event": e.event, "commit_id": null, "commit_url": null,
                        "created_at": "2026-05-01T12:00:00Z", "label": {"name": e.label, "color": "ededed"},
                        "performed_via_github_app": null
                    })
                })
                .collect();
            answer(200, json!(events))
        }
        ("PUT", ["pulls", n, "merge"]) => {
            let Some(n) = number(n).filter(|n| inner.items.get(n).is_some_and(|i| i.pull.is_some())) else {
                return message(404, "Not Found");
            };
            if !matches!(payload["merge_method"].as_str(), None | Some("merge" | "squash" | "rebase")) {
                return answer(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "merge_method", "code": "invalid"}], "status": "422"}),
                );
            }
            let item = &inner.items[&n];
            let head = inner.sha(&item.pull.as_ref().unwrap().0);
            if item.state != "open" || item.mergeable.0 == Some(false) {
                return message(405, "Pull Request is not mergeable");
            }
            if payload["sha"].as_str().is_some_and(|sha| sha != head) {
                return message(409, "Head branch was modified. Review and try the merge again.");
            }
            inner.merge(n);
            answer(200, json!({"sha": head, "merged": true, "message": "Pull Request successfully merged"}))
        }
        ("POST", ["pulls", n, "requested_reviewers"]) => {
            let Some(n) = number(n).filter(|n| inner.items.get(n).is_some_and(|i| i.pull.is_some())) else {
                return message(404, "Not Found");
            };
            let reviewers: Vec<String> = payload["reviewers"]
                .as_array()
                .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            // Every pull request here is opened by the token's user, the repository owner.
            if reviewers.contains(&inner.owner) {
                return answer(
                    422,
                    json!({"message": "Review cannot be requested from pull request author.", "documentation_url": "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request", "status": "422"}),
                );
            }
            let item = inner.items.get_mut(&n).unwrap();
            for reviewer in reviewers {
                if !item.requested_reviewers.contains(&reviewer) {
                    item.requested_reviewers.push(reviewer);
                }
            }
            answer(201, inner.pull_json(n))
        }
        ("GET", ["pulls", n]) => match number(n).filter(|n| inner.items.get(n).is_some_and(|i| i.pull.is_some())) {
            Some(n) => answer(200, inner.pull_json(n)),
            None => message(404, "Not Found"),
        },
        ("GET", ["commits", reference, "status"]) => {
            let sha = inner.resolve(reference);
            if sha.is_empty() {
                return answer(
                    422,
                    json!({"message": format!("No commit found for SHA: {reference}"), "status": "422"}),
                );
            }
            let statuses = inner.statuses.get(&sha).cloned().unwrap_or_default();
            // GitHub's rule: failure if any is error or failure, pending if any is pending or
            // there are none, else success.
            let state = if statuses.iter().any(|s| s.state == "error" || s.state == "failure") {
                "failure"
            } else if statuses.is_empty() || statuses.iter().any(|s| s.state == "pending") {
                "pending"
            } else {
                "success"
            };
            let repo_url = inner.repo_url();
            let list: Vec<Value> = statuses
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    json!({
                        "url": format!("{repo_url}/statuses/{sha}"), "avatar_url": "https://github.com/images/error/hubot_happy.gif",
                        "id": 1 + i, "node_id": format!("MDY6U3RhdHVz{i}"), "state": s.state,
                        "description": format!("{} {}", s.context, s.state), "target_url": "https://ci.example.com/1000/output",
                        "context": s.context, "created_at": "2026-05-01T12:00:00Z", "updated_at": "2026-05-01T12:00:00Z"
                    })
                })
                .collect();
            answer(
                200,
                json!({
                    "state": state, "statuses": list, "sha": sha, "total_count": statuses.len(),
                    "repository": inner.repository(), "commit_url": format!("{repo_url}/commits/{sha}"),
                    "url": format!("{repo_url}/commits/{sha}/status")
                }),
            )
        }
        ("GET", ["commits", reference, "check-runs"]) => {
            let sha = inner.resolve(reference);
            if sha.is_empty() {
                return answer(
                    422,
                    json!({"message": format!("No commit found for SHA: {reference}"), "status": "422"}),
                );
            }
            let runs = inner.check_runs.get(&sha).cloned().unwrap_or_default();
            let repo_url = inner.repo_url();
            let html = inner.html_repo();
            let list: Vec<Value> = runs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let completed = r.status == "completed";
                    json!({
                        "id": 4 + i, "head_sha": sha, "node_id": format!("MDg6Q2hlY2tSdW40{i}"), "external_id": "",
                        "url": format!("{repo_url}/check-runs/{}", 4 + i), "html_url": format!("{html}/runs/{}", 4 + i),
                        "details_url": format!("{html}/actions/runs/{}", 4 + i),
                        "status": r.status, "conclusion": r.conclusion,
                        "started_at": "2026-05-01T12:00:00Z",
                        "completed_at": if completed { json!("2026-05-01T12:05:00Z") } else { Value::Null },
                        "output": {"title": null, "summary": null, "text": null, "annotations_count": 0,
                                   "annotations_url": format!("{repo_url}/check-runs/{}/annotations", 4 + i)},
                        "name": r.name, "check_suite": {"id": 5}, "app": null, "pull_requests": []
                    })
                })
                .collect();
            answer(200, json!({"total_count": runs.len(), "check_runs": list}))
        }
        _ => message(404, "Not Found"),
    }
}
