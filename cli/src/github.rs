//! GitHub's REST API: the few documented endpoints the workflow uses (issues, labels, pull
//! requests), with an error for each way a call goes wrong, bounded waits on rate limits, and a
//! token that never reaches output.

use std::fmt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use ureq::http;

/// The API of github.com; GitHub Enterprise Server uses `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// How many times a rate-limited call, or one GitHub answered with a server error and a
/// `Retry-After`, is retried before giving up.
const RATE_LIMIT_RETRIES: u32 = 3;

/// The longest issue or pull-request title GitHub accepts, in characters.
pub const TITLE_LIMIT: usize = 256;

/// The longest issue or pull-request body GitHub accepts, in characters.
pub const BODY_LIMIT: usize = 65_536;

/// The longest wait for a rate limit to lift unless `ENTITY_SPEC_GITHUB_MAX_WAIT` says
/// otherwise: a secondary limit usually lifts within a minute, a primary one only at the top
/// of the hour, which is not worth blocking a terminal for.
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(120);

/// A GitHub token. It goes into the `Authorization` header and nowhere else: it has no
/// `Display`, its `Debug` is redacted, and no error message is built from it.
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// The token from `GITHUB_TOKEN`, `GH_TOKEN` (the variables `gh` and Actions use), or the
    /// GitHub CLI's login (`gh auth token`), in that order.
    pub fn discover(api_url: &str) -> Result<Token, GitHubError> {
        for variable in ["GITHUB_TOKEN", "GH_TOKEN"] {
            if let Ok(value) = std::env::var(variable) {
                let value = value.trim();
                if !value.is_empty() {
                    return Ok(Token(value.to_owned()));
                }
            }
        }
        gh_auth_token(api_url).map(Token).ok_or(GitHubError::MissingToken)
    }
}

/// Asks the GitHub CLI for its token, for the host the API URL belongs to (Enterprise users
/// are logged in per host).
fn gh_auth_token(api_url: &str) -> Option<String> {
    let mut command = Command::new("gh");
    command.args(["auth", "token"]);
    if let Some(host) = enterprise_host(api_url) {
        command.args(["--hostname", &host]);
    }
    let output = command.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    let token = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !token.is_empty()).then_some(token)
}

fn enterprise_host(api_url: &str) -> Option<String> {
    let rest = api_url.split_once("://").map_or(api_url, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next()?;
    (host != "api.github.com" && !host.is_empty()).then(|| host.to_owned())
}

/// A repository on GitHub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    /// The user or organisation.
    pub owner: String,
    /// The repository name.
    pub name: String,
}

impl Repo {
    /// Parses `OWNER/REPO`.
    pub fn parse(text: &str) -> Option<Repo> {
        let (owner, name) = text.trim().split_once('/')?;
        let name = name.strip_suffix(".git").unwrap_or(name);
        let valid = |part: &str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| Repo { owner: owner.to_owned(), name: name.to_owned() })
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Everything that can go wrong talking to GitHub, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// No token anywhere.
    #[error(
        "no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or log in with the GitHub CLI (`gh auth login`), whose token is used when `gh` is installed"
    )]
    MissingToken,
    /// 401: the token is wrong or expired.
    #[error("GitHub rejected the token (401 Unauthorized: {message}) for {what}; check GITHUB_TOKEN / GH_TOKEN")]
    Unauthorized {
        /// The call, e.g. `GET /repos/o/r/issues/2`.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 403 that is not a rate limit: the token lacks a permission.
    #[error(
        "GitHub refused {what} (403 Forbidden: {message}); the token needs write access to issues and pull requests (`repo` scope for a classic token)"
    )]
    Forbidden {
        /// The call.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 404.
    #[error(
        "{what}: not found (404) in {repo}; check the number and the repository (GitHub also answers 404 when the token cannot see a private repository)"
    )]
    NotFound {
        /// The call.
        what: String,
        /// The repository asked about.
        repo: Repo,
    },
    /// Still rate limited after every retry, or the limit lifts too late to wait for.
    #[error("GitHub rate limit on {what}: {detail}")]
    RateLimited {
        /// The call.
        what: String,
        /// How long it would take, and what was tried.
        detail: String,
    },
    /// The GraphQL API answered with errors (it does so with status 200).
    #[error("GitHub refused {what}: {message}")]
    GraphQl {
        /// The operation.
        what: String,
        /// Every error's message, on one line.
        message: String,
    },
    /// A title or body longer than GitHub accepts, found before sending it (GitHub would
    /// answer an opaque 422).
    #[error(
        "{what}: the {field} is {length} characters, and GitHub accepts at most {limit}; nothing was sent. Shorten it and run the command again"
    )]
    TooLong {
        /// The call that was not made.
        what: String,
        /// `title` or `body`.
        field: &'static str,
        /// Its length in characters.
        length: usize,
        /// GitHub's limit.
        limit: usize,
    },
    /// Any other unsuccessful status.
    #[error("GitHub answered {status} to {what}: {message}")]
    Status {
        /// The HTTP status with its reason phrase.
        status: String,
        /// The call.
        what: String,
        /// GitHub's message and validation errors.
        message: String,
    },
    /// The request never got an answer.
    #[error("cannot reach the GitHub API at {api} ({what}): {source}")]
    Network {
        /// The API base URL.
        api: String,
        /// The call.
        what: String,
        /// Why.
        source: ureq::Error,
    },
    /// A 2xx answer that is not the documented JSON.
    #[error("unexpected answer from GitHub to {what}: {source}")]
    Decode {
        /// The call.
        what: String,
        /// Why it could not be read.
        source: serde_json::Error,
    },
}

/// An issue as the workflow needs it (GitHub's object has many more keys).
#[derive(Clone, Debug, Deserialize)]
pub struct Issue {
    /// The issue number.
    pub number: u64,
    /// The title (untrusted text).
    pub title: String,
    /// The markdown body (untrusted text); `null` when empty.
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// The page on GitHub.
    pub html_url: String,
    /// The labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Present when the "issue" is a pull request (they share numbers and endpoints).
    #[serde(default)]
    pub pull_request: Option<Value>,
}

impl Issue {
    /// Whether the issue carries a label.
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.name == name)
    }
}

/// A label on an issue or pull request.
#[derive(Clone, Debug, Deserialize)]
pub struct Label {
    /// The label's name.
    pub name: String,
}

/// A pull request as the workflow needs it. List answers leave out the mergeability keys,
/// hence the defaults.
#[derive(Clone, Debug, Deserialize)]
pub struct PullRequest {
    /// The pull request number.
    pub number: u64,
    /// The page on GitHub.
    pub html_url: String,
    /// The labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// `open` or `closed`.
    #[serde(default)]
    pub state: String,
    /// When it was merged; `null` while it is not.
    #[serde(default)]
    pub merged_at: Option<String>,
    /// The head branch and its commit.
    pub head: Option<BranchRef>,
    /// Whether it merges without conflicts: `null` while GitHub is still computing it.
    #[serde(default)]
    pub mergeable: Option<bool>,
    /// `clean`, `dirty` (conflicts), `blocked`, `behind`, `unstable`, `draft`, `has_hooks`,
    /// `unknown`; only on a single pull request.
    #[serde(default)]
    pub mergeable_state: Option<String>,
    /// The auto-merge request, when one is enabled.
    #[serde(default)]
    pub auto_merge: Option<Value>,
    /// The GraphQL node id (auto-merge exists only in the GraphQL API).
    #[serde(default)]
    pub node_id: String,
    /// Who opened it.
    #[serde(default)]
    pub user: Option<User>,
    /// The title (untrusted text).
    #[serde(default)]
    pub title: Option<String>,
}

/// A GitHub account.
#[derive(Clone, Debug, Deserialize)]
pub struct User {
    /// The login (untrusted text: print it through [`one_line`]).
    pub login: String,
}

/// One entry of an issue's timeline of events (`GET /repos/{owner}/{repo}/issues/{n}/events`).
#[derive(Clone, Debug, Deserialize)]
pub struct IssueEvent {
    /// `labeled`, `unlabeled`, `closed`, …
    pub event: String,
    /// Who did it (`null` for a deleted account).
    #[serde(default)]
    pub actor: Option<User>,
    /// For label events: the label.
    #[serde(default)]
    pub label: Option<Label>,
}

/// One side of a pull request (its `ref`, `label` and `repo` are not needed).
#[derive(Clone, Debug, Deserialize)]
pub struct BranchRef {
    /// Its commit.
    pub sha: String,
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/status`: the commit statuses (the older API
/// external CI services report through). Its own `state` is not used: it says `pending` when
/// no status exists at all.
#[derive(Clone, Debug, Deserialize)]
pub struct CombinedStatus {
    /// How many contexts reported.
    #[serde(default)]
    pub total_count: u64,
    /// The latest status of each context.
    #[serde(default)]
    pub statuses: Vec<CommitStatus>,
}

/// One context's status.
#[derive(Clone, Debug, Deserialize)]
pub struct CommitStatus {
    /// `error`, `failure`, `pending` or `success`.
    pub state: String,
    /// What reported it, e.g. `ci/jenkins`.
    #[serde(default)]
    pub context: String,
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`: the check runs (GitHub Actions and
/// apps report through these).
#[derive(Clone, Debug, Deserialize)]
pub struct CheckRuns {
    /// The runs on this page.
    #[serde(default)]
    pub check_runs: Vec<CheckRun>,
}

/// One check run.
#[derive(Clone, Debug, Deserialize)]
pub struct CheckRun {
    /// The job's name.
    #[serde(default)]
    pub name: String,
    /// `queued`, `in_progress`, `completed`, `waiting`, `requested` or `pending`.
    pub status: String,
    /// Once completed: `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`,
    /// `action_required` or `stale`.
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// A client for one repository.
pub struct GitHub {
    agent: ureq::Agent,
    api: String,
    graphql: String,
    token: Token,
    /// The repository every call is about.
    pub repo: Repo,
    max_wait: Duration,
}

impl GitHub {
    /// A client for `repo` on the API named by `GITHUB_API_URL` (github.com by default), with
    /// the token [`Token::discover`] finds.
    pub fn from_env(repo: Repo) -> Result<GitHub, GitHubError> {
        let api = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let api = api.trim().trim_end_matches('/').to_owned();
        let token = Token::discover(&api)?;
        // `GITHUB_GRAPHQL_URL` is what Actions sets; it wins, as `GITHUB_API_URL` does.
        let graphql = std::env::var("GITHUB_GRAPHQL_URL")
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| graphql_url(&api));
        let max_wait = std::env::var("ENTITY_SPEC_GITHUB_MAX_WAIT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_MAX_WAIT, Duration::from_secs);
        let config = ureq::Agent::config_builder()
            // Statuses are answers to interpret here, not transport errors.
            .http_status_as_error(false)
            .user_agent(concat!("entity-spec-cli/", env!("CARGO_PKG_VERSION")))
            // GitHub redirects renamed repositories; the token may follow on the same host only.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Ok(GitHub { agent: config.into(), api, graphql, token, repo, max_wait })
    }

    /// `POST /repos/{owner}/{repo}/issues`
    pub fn create_issue(&self, title: &str, body: &str, labels: &[&str]) -> Result<Issue, GitHubError> {
        let path = self.repo_path("/issues");
        check_lengths("POST", &path, Some(title), Some(body))?;
        let payload = json!({"title": title, "body": body, "labels": labels});
        self.call("POST", &path, Some(&payload))
    }

    /// `GET /repos/{owner}/{repo}/issues/{number}`
    pub fn issue(&self, number: u64) -> Result<Issue, GitHubError> {
        self.call("GET", &self.repo_path(&format!("/issues/{number}")), None)
    }

    /// `PATCH /repos/{owner}/{repo}/issues/{number}` with a new body.
    pub fn update_issue_body(&self, number: u64, body: &str) -> Result<Issue, GitHubError> {
        let path = self.repo_path(&format!("/issues/{number}"));
        check_lengths("PATCH", &path, None, Some(body))?;
        self.call("PATCH", &path, Some(&json!({"body": body})))
    }

    /// `POST /repos/{owner}/{repo}/issues/{number}/labels` (pull requests too): adds labels,
    /// returns every label the issue now has.
    pub fn add_labels(&self, number: u64, labels: &[&str]) -> Result<Vec<Label>, GitHubError> {
        let path = self.repo_path(&format!("/issues/{number}/labels"));
        self.call("POST", &path, Some(&json!({"labels": labels})))
    }

    /// `DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}`
    pub fn remove_label(&self, number: u64, name: &str) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/issues/{number}/labels/{}", percent_encode(name)));
        self.call::<Value>("DELETE", &path, None).map(drop)
    }

    /// The open pull request whose head is `branch` of this repository, if any
    /// (`GET /repos/{owner}/{repo}/pulls?head=OWNER:BRANCH&state=open`).
    pub fn open_pull_for_branch(&self, branch: &str) -> Result<Option<PullRequest>, GitHubError> {
        let head = percent_encode(&format!("{}:{branch}", self.repo.owner));
        let path = self.repo_path(&format!("/pulls?head={head}&state=open"));
        let pulls: Vec<PullRequest> = self.call("GET", &path, None)?;
        Ok(pulls.into_iter().next())
    }

    /// The open issues labelled `label`, pull requests left out
    /// (`GET /repos/{owner}/{repo}/issues?labels=…&state=open`, every page up to 1,000 issues).
    pub fn open_issues_labelled(&self, label: &str) -> Result<Vec<Issue>, GitHubError> {
        let mut all = Vec::new();
        for page in 1..=10 {
            let path = self
                .repo_path(&format!("/issues?labels={}&state=open&per_page=100&page={page}", percent_encode(label)));
            let issues: Vec<Issue> = self.call("GET", &path, None)?;
            let last = issues.len() < 100;
            all.extend(issues.into_iter().filter(|i| i.pull_request.is_none()));
            if last {
                break;
            }
        }
        Ok(all)
    }

    /// The newest pull request, open or closed, whose head is `branch` of this repository
    /// (`GET /repos/{owner}/{repo}/pulls?head=OWNER:BRANCH&state=all`).
    pub fn latest_pull_for_branch(&self, branch: &str) -> Result<Option<PullRequest>, GitHubError> {
        let head = percent_encode(&format!("{}:{branch}", self.repo.owner));
        let path = self.repo_path(&format!("/pulls?head={head}&state=all&sort=created&direction=desc"));
        let pulls: Vec<PullRequest> = self.call("GET", &path, None)?;
        Ok(pulls.into_iter().next())
    }

    /// `GET /repos/{owner}/{repo}/pulls/{number}`: the only answer with mergeability.
    pub fn pull(&self, number: u64) -> Result<PullRequest, GitHubError> {
        self.call("GET", &self.repo_path(&format!("/pulls/{number}")), None)
    }

    /// `GET /repos/{owner}/{repo}/commits/{sha}/status`
    pub fn combined_status(&self, sha: &str) -> Result<CombinedStatus, GitHubError> {
        self.call("GET", &self.repo_path(&format!("/commits/{}/status", percent_encode(sha))), None)
    }

    /// `GET /repos/{owner}/{repo}/commits/{sha}/check-runs` (the first 100).
    pub fn check_runs(&self, sha: &str) -> Result<CheckRuns, GitHubError> {
        self.call("GET", &self.repo_path(&format!("/commits/{}/check-runs?per_page=100", percent_encode(sha))), None)
    }

    /// Turns on auto-merge (squash) for a pull request: GitHub merges it once its required
    /// checks and reviews pass. GraphQL only (`enablePullRequestAutoMerge`).
    pub fn enable_auto_merge(&self, pull_node_id: &str) -> Result<(), GitHubError> {
        let query = "mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH}) { pullRequest { number autoMergeRequest { enabledAt mergeMethod } } } }";
        self.graphql(query, json!({"id": pull_node_id}), "enablePullRequestAutoMerge").map(drop)
    }

    /// Turns auto-merge off again (`disablePullRequestAutoMerge`).
    pub fn disable_auto_merge(&self, pull_node_id: &str) -> Result<(), GitHubError> {
        let query = "mutation($id: ID!) { disablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { number } } }";
        self.graphql(query, json!({"id": pull_node_id}), "disablePullRequestAutoMerge").map(drop)
    }

    /// `PUT /repos/{owner}/{repo}/pulls/{number}/merge` as a squash of the commit `sha` (GitHub
    /// refuses with 409 when the head moved since, so nothing unseen is merged).
    pub fn merge_pull(&self, number: u64, sha: &str, title: &str) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/pulls/{number}/merge"));
        check_lengths("PUT", &path, Some(title), None)?;
        let payload = json!({"merge_method": "squash", "sha": sha, "commit_title": title});
        self.call::<Value>("PUT", &path, Some(&payload)).map(drop)
    }

    /// Who last removed `label` from an issue, from its events (every page up to 1,000).
    pub fn last_unlabeled_by(&self, number: u64, label: &str) -> Result<Option<String>, GitHubError> {
        let mut actor = None;
        for page in 1..=10 {
            let path = self.repo_path(&format!("/issues/{number}/events?per_page=100&page={page}"));
            let events: Vec<IssueEvent> = self.call("GET", &path, None)?;
            let last = events.len() < 100;
            for event in events {
                if event.event == "unlabeled" && event.label.as_ref().is_some_and(|l| l.name == label) {
                    actor = event.actor.map(|a| a.login);
                }
            }
            if last {
                break;
            }
        }
        Ok(actor)
    }

    /// `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`
    pub fn request_review(&self, number: u64, login: &str) -> Result<(), GitHubError> {
        let path = self.repo_path(&format!("/pulls/{number}/requested_reviewers"));
        self.call::<Value>("POST", &path, Some(&json!({"reviewers": [login]}))).map(drop)
    }

    /// One GraphQL operation; GitHub answers errors with status 200 and an `errors` list.
    fn graphql(&self, query: &str, variables: Value, operation: &str) -> Result<Value, GitHubError> {
        let answer: Value = self.call("POST", &self.graphql, Some(&json!({"query": query, "variables": variables})))?;
        if let Some(errors) = answer["errors"].as_array().filter(|e| !e.is_empty()) {
            let messages: Vec<String> =
                errors.iter().map(|e| e["message"].as_str().unwrap_or("no message").to_owned()).collect();
            return Err(GitHubError::GraphQl {
                what: operation.to_owned(),
                message: one_line(&messages.join("; "), 400),
            });
        }
        Ok(answer["data"].clone())
    }

    /// `POST /repos/{owner}/{repo}/pulls`
    pub fn create_pull(&self, title: &str, head: &str, base: &str, body: &str) -> Result<PullRequest, GitHubError> {
        let path = self.repo_path("/pulls");
        check_lengths("POST", &path, Some(title), Some(body))?;
        let payload = json!({"title": title, "head": head, "base": base, "body": body});
        self.call("POST", &path, Some(&payload))
    }

    /// `PATCH /repos/{owner}/{repo}/pulls/{number}` with a new title and body.
    pub fn update_pull(&self, number: u64, title: &str, body: &str) -> Result<PullRequest, GitHubError> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        check_lengths("PATCH", &path, Some(title), Some(body))?;
        let payload = json!({"title": title, "body": body});
        self.call("PATCH", &path, Some(&payload))
    }

    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    /// One API call, retried while GitHub says to wait (a rate-limited call was not carried
    /// out, so even a POST is safe to repeat).
    fn call<T: DeserializeOwned>(&self, method: &str, path: &str, payload: Option<&Value>) -> Result<T, GitHubError> {
        let what = format!("{method} {path}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut response = self.send(method, path, payload).map_err(|source| GitHubError::Network {
                api: self.api.clone(),
                what: what.clone(),
                source,
            })?;
            let status = response.status();
            let wait = rate_limit_wait(status, response.headers());
            let text = response.body_mut().read_to_string().map_err(|source| GitHubError::Network {
                api: self.api.clone(),
                what: what.clone(),
                source,
            })?;
            if status.is_success() {
                let text = if text.trim().is_empty() { "null" } else { text.as_str() };
                return serde_json::from_str(text).map_err(|source| GitHubError::Decode { what, source });
            }
            if let Some(wait) = wait {
                if wait > self.max_wait {
                    let detail = format!(
                        "the limit lifts in {}s, longer than the {}s this command waits (ENTITY_SPEC_GITHUB_MAX_WAIT); try again later",
                        wait.as_secs(),
                        self.max_wait.as_secs()
                    );
                    return Err(GitHubError::RateLimited { what, detail });
                }
                if attempt > RATE_LIMIT_RETRIES {
                    let detail = format!("still limited after {attempt} attempts; try again later");
                    return Err(GitHubError::RateLimited { what, detail });
                }
                eprintln!(
                    "GitHub rate limit on {what}: waiting {}s before retry {attempt} of {RATE_LIMIT_RETRIES}",
                    wait.as_secs_f64().ceil()
                );
                std::thread::sleep(wait);
                continue;
            }
            // A server error with `Retry-After` is GitHub saying it did not do the work and
            // when to ask again (a 503 during an incident, say); without one the call may have
            // been carried out, so it is not repeated.
            if status.is_server_error()
                && let Some(wait) = retry_after(response.headers())
                && wait <= self.max_wait
                && attempt <= RATE_LIMIT_RETRIES
            {
                eprintln!(
                    "GitHub answered {status} to {what}: retrying in {}s (retry {attempt} of {RATE_LIMIT_RETRIES})",
                    wait.as_secs_f64().ceil()
                );
                std::thread::sleep(wait);
                continue;
            }
            let mut error = self.status_error(status, what, &text);
            if let GitHubError::Status { message, .. } = &mut error
                && attempt > 1
            {
                message.push_str(&format!(" (after {attempt} attempts)"));
            }
            return Err(error);
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        payload: Option<&Value>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let request = http::Request::builder()
            .method(method)
            // The GraphQL endpoint is a URL of its own (not under /api/v3 on Enterprise).
            .uri(if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.api) })
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("Authorization", format!("Bearer {}", self.token.0));
        match payload {
            Some(payload) => {
                let request = request.header("Content-Type", "application/json").body(payload.to_string())?;
                self.agent.run(request)
            }
            None => self.agent.run(request.body(())?),
        }
    }

    fn status_error(&self, status: http::StatusCode, what: String, text: &str) -> GitHubError {
        let message = error_message(text);
        match status.as_u16() {
            401 => GitHubError::Unauthorized { what, message },
            403 => GitHubError::Forbidden { what, message },
            404 => GitHubError::NotFound { what, repo: self.repo.clone() },
            _ => GitHubError::Status { status: status.to_string(), what, message },
        }
    }
}

/// How long GitHub asks to wait, if this answer is a rate limit: 429, or 403 with
/// `Retry-After` or an exhausted `x-ratelimit-remaining` (GitHub's documented signals).
fn rate_limit_wait(status: http::StatusCode, headers: &http::HeaderMap) -> Option<Duration> {
    if status != http::StatusCode::TOO_MANY_REQUESTS && status != http::StatusCode::FORBIDDEN {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok()).unwrap_or(now + 60);
        // One extra second: the reset time is rounded down.
        return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
    }
    // A secondary limit without headers: GitHub's docs say to wait at least a minute.
    (status == http::StatusCode::TOO_MANY_REQUESTS).then_some(Duration::from_secs(60))
}

/// The GraphQL endpoint beside a REST API URL: `https://api.github.com/graphql`, or
/// `https://HOST/api/graphql` on Enterprise Server, whose REST API is `https://HOST/api/v3`.
fn graphql_url(api: &str) -> String {
    match api.strip_suffix("/v3") {
        Some(base) if base.ends_with("/api") => format!("{base}/graphql"),
        _ => format!("{api}/graphql"),
    }
}

/// `Retry-After` in seconds (the form GitHub sends).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// Refuses a title or body GitHub would refuse, before anything is sent.
fn check_lengths(method: &str, path: &str, title: Option<&str>, body: Option<&str>) -> Result<(), GitHubError> {
    for (field, text, limit) in [("title", title, TITLE_LIMIT), ("body", body, BODY_LIMIT)] {
        let length = text.map_or(0, |t| t.chars().count());
        if length > limit {
            return Err(GitHubError::TooLong { what: format!("{method} {path}"), field, length, limit });
        }
    }
    Ok(())
}

/// GitHub's `message`, plus the `errors` of a 422, kept to one line (bodies are untrusted).
fn error_message(text: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return one_line(text, 200);
    };
    let mut message = value["message"].as_str().unwrap_or("no message").to_owned();
    if let Some(errors) = value["errors"].as_array() {
        let details: Vec<String> = errors
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                _ => e["message"].as_str().map_or_else(|| e.to_string(), str::to_owned),
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
    }
    one_line(&message, 400)
}

/// Untrusted text for a terminal: one line, no control characters (an issue title could
/// carry escape sequences), at most `limit` characters.
pub fn one_line(text: &str, limit: usize) -> String {
    let mut line: String =
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(limit).collect::<String>().trim().to_owned();
    if text.chars().count() > limit {
        line.push('…');
    }
    line
}

/// Percent-encodes a path segment or query value (label names may hold spaces and `/`).
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let token = Token("ghp_secret".to_owned());
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn rate_limits_are_recognised_from_documented_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(rate_limit_wait(http::StatusCode::FORBIDDEN, &headers), Some(Duration::from_secs(7)));
        assert_eq!(rate_limit_wait(http::StatusCode::INTERNAL_SERVER_ERROR, &headers), None);
        let mut headers = http::HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        headers.insert("x-ratelimit-reset", (now + 30).to_string().parse().unwrap());
        let wait = rate_limit_wait(http::StatusCode::FORBIDDEN, &headers).unwrap();
        assert!((30..=32).contains(&wait.as_secs()), "{wait:?}");
        // A plain 403 is a permission problem, not a limit.
        assert_eq!(rate_limit_wait(http::StatusCode::FORBIDDEN, &http::HeaderMap::new()), None);
    }

    #[test]
    fn lengths_are_checked_in_characters_against_githubs_limits() {
        let title = "é".repeat(TITLE_LIMIT);
        assert!(check_lengths("POST", "/p", Some(&title), Some(&"x".repeat(BODY_LIMIT))).is_ok());
        let error = check_lengths("POST", "/p", Some(&format!("{title}x")), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "POST /p: the title is 257 characters, and GitHub accepts at most 256; nothing was sent. Shorten it and run the command again"
        );
        assert!(matches!(
            check_lengths("PATCH", "/p", None, Some(&"x".repeat(BODY_LIMIT + 1))),
            Err(GitHubError::TooLong { field: "body", length: 65_537, .. })
        ));
    }

    #[test]
    fn error_messages_include_validation_errors_on_one_line() {
        let text = r#"{"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "No commits between main and feat"}]}"#;
        assert_eq!(error_message(text), "Validation Failed (No commits between main and feat)");
        assert_eq!(error_message("<html>\n\x1b[31mboom</html>"), "<html>  [31mboom</html>");
    }

    #[test]
    fn the_graphql_endpoint_sits_beside_the_rest_api() {
        assert_eq!(graphql_url("https://api.github.com"), "https://api.github.com/graphql");
        assert_eq!(graphql_url("https://ghe.example.com/api/v3"), "https://ghe.example.com/api/graphql");
    }

    #[test]
    fn enterprise_hosts_come_from_the_api_url() {
        assert_eq!(enterprise_host("https://api.github.com"), None);
        assert_eq!(enterprise_host("https://ghe.example.com/api/v3"), Some("ghe.example.com".to_owned()));
    }

    #[test]
    fn label_names_are_encoded() {
        assert_eq!(percent_encode("needs review/ok"), "needs%20review%2Fok");
        assert_eq!(percent_encode("acme:feat/issue-2-x"), "acme%3Afeat%2Fissue-2-x");
    }
}
