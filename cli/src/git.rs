//! Git through the `git` command, so the user's own configuration, credentials, signing and
//! hooks apply exactly as when they type the commands themselves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, Result, bail};

use crate::github::Repo;

/// A work tree to run `git` in.
pub struct Git {
    dir: PathBuf,
}

impl Git {
    /// The repository that contains `dir`; fails outside a repository.
    pub fn open(dir: &Path) -> Result<Git> {
        let probe = Git { dir: dir.to_path_buf() };
        let top = probe.run(&["rev-parse", "--show-toplevel"]).context("not inside a git repository")?;
        Ok(Git { dir: PathBuf::from(top) })
    }

    /// The top directory of the work tree.
    pub fn root(&self) -> &Path {
        &self.dir
    }

    /// The URL of the `origin` remote as configured. Not `git remote get-url`, which applies
    /// `url.*.insteadOf` rewrites: a mirror or local path in place of github.com must not hide
    /// which GitHub repository the clone belongs to.
    pub fn origin_url(&self) -> Result<String> {
        self.run(&["config", "--get", "remote.origin.url"]).context("the repository has no `origin` remote")
    }

    /// Whether the repository has an `origin` remote.
    pub fn has_origin(&self) -> bool {
        self.run(&["config", "--get", "remote.origin.url"]).is_ok()
    }

    /// `git fetch origin`: the remote-tracking branches as they are now, so branches start
    /// from, merge and compare against the base as it is on the remote, not as last seen.
    pub fn fetch_origin(&self) -> Result<()> {
        self.run(&["fetch", "--quiet", "--prune", "origin"]).map(drop)
    }

    /// The full commit id `revision` names.
    pub fn commit_id(&self, revision: &str) -> Result<String> {
        self.run(&["rev-parse", "--verify", "--quiet", &format!("{revision}^{{commit}}")])
            .with_context(|| format!("`{revision}` is not a commit"))
    }

    /// Whether `ancestor` is already contained in `descendant`.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let output = self.output(&["merge-base", "--is-ancestor", ancestor, descendant])?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => bail!("`git merge-base` failed: {}", String::from_utf8_lossy(&output.stderr).trim()),
        }
    }

    /// What merging `theirs` into `ours` would give, worked out without touching the work tree
    /// or any ref (`git merge-tree --write-tree`, git 2.38 or later).
    pub fn preview_merge(&self, ours: &str, theirs: &str) -> Result<MergePreview> {
        let output = self.output(&["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs])?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut lines = stdout.lines();
        match (output.status.code(), lines.next()) {
            (Some(0 | 1), Some(tree)) => Ok(MergePreview {
                tree: tree.trim().to_owned(),
                conflicts: lines.map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            }),
            _ => bail!(
                "`git merge-tree --write-tree` failed (it needs git 2.38 or later): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }
    }

    /// Merges `theirs` into the checked-out branch with a merge commit.
    pub fn merge(&self, theirs: &str, message: &str) -> Result<()> {
        self.run(&["merge", "--quiet", "--no-ff", "--no-edit", "-m", message, theirs]).map(drop)
    }

    /// Puts every tracked file back as `HEAD` has it (staged and in the work tree); untracked
    /// files are left alone.
    pub fn restore_tracked(&self) -> Result<()> {
        self.run(&["restore", "--source=HEAD", "--staged", "--worktree", "--", ":/"]).map(drop)
    }

    /// Moves the checked-out branch back to `commit`; the work tree must be clean.
    pub fn reset_keep(&self, commit: &str) -> Result<()> {
        self.run(&["reset", "--quiet", "--keep", commit]).map(drop)
    }

    /// Checks out `commit` without a branch.
    pub fn switch_detach(&self, commit: &str) -> Result<()> {
        self.run(&["switch", "--quiet", "--detach", commit]).map(drop)
    }

    /// Deletes a local branch (not the checked-out one).
    pub fn delete_branch(&self, branch: &str) -> Result<()> {
        self.run(&["branch", "--quiet", "-D", branch]).map(drop)
    }

    /// `git status --porcelain` lines for changes to tracked files (untracked files are not
    /// touched by the workflow, so they do not block it).
    pub fn tracked_changes(&self) -> Result<Vec<String>> {
        let status = self.run_raw(&["status", "--porcelain", "--untracked-files=no"])?;
        Ok(status.lines().map(str::to_owned).filter(|l| !l.trim().is_empty()).collect())
    }

    /// The checked-out branch, or `None` on a detached HEAD.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let name = self.run(&["rev-parse", "--abbrev-ref", "HEAD"])?;
        Ok((name != "HEAD").then_some(name))
    }

    /// The branch `origin/HEAD` points at (the remote's default branch), when known.
    pub fn remote_default_branch(&self) -> Option<String> {
        let name = self.run(&["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]).ok()?;
        name.strip_prefix("origin/").map(str::to_owned)
    }

    /// Whether a ref (e.g. `refs/heads/main`) exists.
    pub fn ref_exists(&self, reference: &str) -> bool {
        self.run(&["rev-parse", "--verify", "--quiet", reference]).is_ok()
    }

    /// Checks out an existing branch.
    pub fn switch(&self, branch: &str) -> Result<()> {
        self.run(&["switch", "--quiet", branch]).map(drop)
    }

    /// Creates `branch` at `start` and checks it out (without tracking `start`: the branch
    /// gets its own upstream when it is pushed).
    pub fn switch_create(&self, branch: &str, start: &str) -> Result<()> {
        self.run(&["switch", "--quiet", "--no-track", "-c", branch, start]).map(drop)
    }

    /// The content of `path` at `revision`, or `None` when the file does not exist there.
    pub fn show_file(&self, revision: &str, path: &str) -> Result<Option<String>> {
        let object = format!("{revision}:{path}");
        if self.run(&["cat-file", "-e", &object]).is_err() {
            return Ok(None);
        }
        self.run_raw(&["show", &object]).map(Some)
    }

    /// Stages paths (relative to the root).
    pub fn add(&self, paths: &[&str]) -> Result<()> {
        let mut args = vec!["add", "--"];
        args.extend_from_slice(paths);
        self.run(&args).map(drop)
    }

    /// Whether anything is staged.
    pub fn has_staged_changes(&self) -> Result<bool> {
        let output = self.output(&["diff", "--cached", "--quiet"])?;
        match output.status.code() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => bail!("`git diff --cached` failed: {}", String::from_utf8_lossy(&output.stderr).trim()),
        }
    }

    /// Commits what is staged (hooks and signing as the user configured them).
    pub fn commit(&self, message: &str) -> Result<()> {
        self.run(&["commit", "--quiet", "-m", message]).map(drop)
    }

    /// The abbreviated commit id of `HEAD`.
    pub fn head_short(&self) -> Result<String> {
        self.run(&["rev-parse", "--short", "HEAD"])
    }

    /// Pushes `branch` to `origin` and sets it as the upstream.
    pub fn push(&self, branch: &str) -> Result<()> {
        self.run(&["push", "--quiet", "-u", "origin", branch]).map(drop)
    }

    /// Runs git, returning trimmed stdout; a failure carries git's own stderr.
    fn run(&self, args: &[&str]) -> Result<String> {
        Ok(self.run_raw(args)?.trim().to_owned())
    }

    fn run_raw(&self, args: &[&str]) -> Result<String> {
        let output = self.output(args)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!("`git {}` failed: {}", args.join(" "), stderr.trim());
        }
        String::from_utf8(output.stdout).with_context(|| format!("`git {}` printed non-UTF-8 output", args.join(" ")))
    }

    fn output(&self, args: &[&str]) -> Result<Output> {
        Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .context("cannot run `git`: is it installed and on PATH?")
    }
}

/// The result of a merge worked out in advance.
pub struct MergePreview {
    /// The tree the merge would produce (conflicted files hold conflict markers).
    pub tree: String,
    /// The files both sides changed in ways git cannot combine.
    pub conflicts: Vec<String>,
}

/// The GitHub repository of a remote URL: `https://HOST/OWNER/REPO(.git)`,
/// `git@HOST:OWNER/REPO(.git)` and `ssh://git@HOST(:PORT)/OWNER/REPO(.git)`. Any host, so
/// GitHub Enterprise remotes work too.
pub fn repo_from_remote_url(url: &str) -> Option<Repo> {
    let url = url.trim();
    let path = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git") {
            return None;
        }
        // Drop `user@host:port`.
        rest.split_once('/')?.1
    } else {
        // scp-like syntax: `user@host:path`; a local path has no colon before its first slash.
        let (host, path) = url.split_once(':')?;
        if host.is_empty() || host.contains('/') {
            return None;
        }
        path
    };
    let path = path.trim_start_matches('/').trim_end_matches('/');
    let mut parts = path.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Repo::parse(&format!("{owner}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(url: &str) -> Option<String> {
        repo_from_remote_url(url).map(|r| r.to_string())
    }

    #[test]
    fn remote_urls_of_every_form_name_the_repository() {
        for url in [
            "https://github.com/acme/registry",
            "https://github.com/acme/registry.git",
            "https://github.com/acme/registry/",
            "https://user@github.com/acme/registry.git",
            "git@github.com:acme/registry.git",
            "git@github.com:acme/registry",
            "ssh://git@github.com/acme/registry.git",
            "ssh://git@github.com:22/acme/registry",
            "https://ghe.example.com/acme/registry.git",
        ] {
            assert_eq!(repo(url).as_deref(), Some("acme/registry"), "{url}");
        }
    }

    #[test]
    fn local_paths_and_other_shapes_are_not_repositories() {
        for url in ["/srv/git/registry.git", "../registry", "file:///srv/git/registry.git", "https://gitlab.com/a/b/c"]
        {
            assert_eq!(repo(url), None, "{url}");
        }
    }
}
