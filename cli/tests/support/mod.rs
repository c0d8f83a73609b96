//! What the CLI tests share: the fake GitHub, running the built `entity-spec` binary, real git
//! repositories in scratch directories, and services scaffolded by `entity-spec init`.
#![allow(dead_code)] // each test binary uses part of it

pub mod github;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use github::FakeGitHub;

/// The token the fake GitHub accepts. Tests check it never appears in any output.
pub const TOKEN: &str = "ghp_TEST0nlyT0kenThatMustNeverBePrinted";

/// The repository the fake GitHub serves.
pub const OWNER: &str = "acme";
pub const REPO: &str = "registry";

/// The entity-spec checkout this CLI belongs to (scaffolded services depend on it by path).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ is inside the workspace").to_path_buf()
}

/// Where every scratch directory lives.
fn scratch_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("entity-spec-cli")
}

/// A fresh, empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One target directory for every service the tests build, so dependencies compile once. The
/// root crate's `tests/rebuild_on_spec_change.rs` builds its scratch crate in the same one: the
/// workspace's test binaries run one after another, and one copy of the dependencies is
/// gigabytes less on a CI disk.
pub fn services_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch-crates-target")
}

/// What a finished command printed.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "the token was printed:\n{run:?}");
        run
    }

    /// Asserts exit status 0 and returns stdout.
    pub fn success(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success:\n{self:?}");
        &self.stdout
    }

    /// Asserts a failure with this exit status and returns stderr.
    pub fn failure(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "expected exit {code}:\n{self:?}");
        &self.stderr
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The `entity-spec` binary, run in `dir`, talking to `github` (if any) with the test token.
/// The repository comes from the `origin` remote unless the test sets
/// `ENTITY_SPEC_GITHUB_REPO`.
pub fn entity_spec(dir: &Path, github: Option<&FakeGitHub>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_entity-spec"));
    command
        .current_dir(dir)
        .env("GITHUB_TOKEN", TOKEN)
        .env_remove("GH_TOKEN")
        .env_remove("ENTITY_SPEC_GITHUB_REPO")
        .env("ENTITY_SPEC_GITHUB_MAX_WAIT", "5")
        // Without auto-merge, `implement` waits for a low-risk pull request's checks; the
        // stand-in's checks are set by the test, so a short wait is enough.
        .env("ENTITY_SPEC_CHECKS_WAIT", "2")
        .env("ENTITY_SPEC_CHECKS_POLL", "0")
        .env_remove("GITHUB_GRAPHQL_URL")
        .env("CARGO_TARGET_DIR", services_target_dir())
        // The scaffolded service gets the workspace's Cargo.lock: everything is in the local
        // registry cache already.
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("ENTITY_SPEC_MANIFEST_DIR")
        .env_remove("ENTITY_SPEC_DEBUG")
        // Scratch directories live inside this workspace's repository: git must never find
        // it from a scratch directory that is not a repository of its own.
        .env("GIT_CEILING_DIRECTORIES", scratch_root());
    // The fake GitHub is on this machine; a proxy from the environment must not intercept it.
    for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        command.env_remove(proxy);
    }
    match github {
        Some(github) => command.env("GITHUB_API_URL", &github.url),
        // Nothing listens there: a test that reaches the network by mistake fails fast.
        None => command.env("GITHUB_API_URL", "http://127.0.0.1:9"),
    };
    command
}

/// Runs a prepared command.
pub fn run(command: &mut Command) -> Run {
    Run::from(command.output().expect("the command starts"))
}

/// Runs `entity-spec args…` in `dir` against `github`, with the repository given by
/// `ENTITY_SPEC_GITHUB_REPO` (for tests whose directory has no GitHub remote).
pub fn cli(dir: &Path, github: &FakeGitHub, args: &[&str]) -> Run {
    run(entity_spec(dir, Some(github)).env("ENTITY_SPEC_GITHUB_REPO", format!("{OWNER}/{REPO}")).args(args))
}

/// Runs git in `dir`, asserting success; returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Makes `dir` a repository with one commit of everything in it, on `main`, with a local
/// identity (the machine's global git config is not the test's business).
pub fn init_repository(dir: &Path) {
    git(dir, &["init", "--quiet", "-b", "main"]);
    git(dir, &["config", "user.name", "Test Author"]);
    git(dir, &["config", "user.email", "author@example.com"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "--quiet", "-m", "Initial service"]);
}

/// A service scaffolded by `entity-spec init`, depending on this checkout.
pub fn scaffold(dir: &Path) {
    let parent = dir.parent().unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    let root = workspace_root();
    run(entity_spec(parent, None).args(["init", name, "--entity-spec-path", root.to_str().unwrap()])).success();
}

/// A minimal spec, for tests that never build.
pub const NOTE_SPEC: &str = r#"{
  "entities": [
    {
      "name": "Note",
      "fields": [
        {"name": "id", "type": "uuid", "primary_key": true},
        {"name": "title", "type": "string", "required": true}
      ]
    }
  ]
}
"#;

/// The issue body `entity-spec request` would write for a definition block holding `json`.
pub fn issue_body_with_definition(json: &str) -> String {
    format!(
        "## Summary\n\nSources of data.\n\n## Entity definition\n\nThe definition:\n\n```json\n{json}\n```\n\nThanks!\n"
    )
}

/// A crate that builds and tests in a second (no dependencies), holding `spec` at
/// `specs/entities.json`: for `implement` tests about git and recovery, where the service
/// itself does not matter. A workspace of its own, like a scaffold.
pub fn tiny_crate(dir: &Path, spec: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"tiny-service\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "//! A service stand-in.\n").unwrap();
    std::fs::write(dir.join(".gitignore"), "/target\nCargo.lock\n").unwrap();
    std::fs::write(dir.join("specs/entities.json"), spec).unwrap();
}

/// A bare repository at `root/origin.git` as the `origin` of the repository in `dir`, with
/// `main` pushed and tracked; the fake GitHub checks pull-request heads against it.
pub fn bare_origin(root: &Path, dir: &Path, github: &FakeGitHub) -> PathBuf {
    let bare = root.join("origin.git");
    git(root, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    git(dir, &["remote", "add", "origin", bare.to_str().unwrap()]);
    git(dir, &["push", "--quiet", "-u", "origin", "main"]);
    github.use_bare_repository(bare.clone());
    bare
}

/// A second clone of `bare` in `root/name`, as another developer's checkout.
pub fn other_clone(root: &Path, bare: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    git(root, &["clone", "--quiet", bare.to_str().unwrap(), dir.to_str().unwrap()]);
    git(&dir, &["config", "user.name", "Other Author"]);
    git(&dir, &["config", "user.email", "other@example.com"]);
    git(&dir, &["config", "commit.gpgsign", "false"]);
    dir
}
