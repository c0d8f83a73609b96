//! [`Egress`]: everything a service's connectors may reach and how long they may take, read
//! from the environment once at start-up and handed to the connectors as a value (tests build
//! one with their own policy instead of changing the process environment).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::EgressError;
use super::files::FileRoots;
use super::host_limit::HostLimiter;
use super::policy::{ALLOW_VAR, EgressPolicy};
use super::setting_error::EgressConfigError;

/// The egress policy, the file roots, the per-host limit and the timeouts of outbound work.
/// Cheap to clone: clones share the per-host limit.
#[derive(Clone, Debug)]
pub struct Egress {
    pub(super) policy: Arc<EgressPolicy>,
    pub(super) files: Arc<FileRoots>,
    pub(super) hosts: HostLimiter,
    pub(super) timeouts: Timeouts,
}

/// How long each step of outbound work may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving a host name, and opening one TCP connection.
    pub connect: Duration,
    /// Waiting for an answer (an HTTP response's head, a broker's greeting).
    pub read: Duration,
    /// A whole exchange: an HTTP request with its redirects and body, reading a file.
    pub overall: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { connect: Duration::from_secs(10), read: Duration::from_secs(10), overall: Duration::from_secs(30) }
    }
}

impl Egress {
    /// From `ENTITY_SPEC_EGRESS_ALLOW`, `ENTITY_SPEC_EGRESS_DENY`, `ENTITY_SPEC_FILE_ROOTS` and
    /// `ENTITY_SPEC_EGRESS_PER_HOST`; a bad entry in any is an error naming it.
    pub fn from_env() -> Result<Egress, EgressConfigError> {
        Ok(Egress {
            policy: Arc::new(EgressPolicy::from_env()?),
            files: Arc::new(FileRoots::from_env()?),
            hosts: HostLimiter::from_env()?,
            timeouts: Timeouts::default(),
        })
    }

    /// `policy` and `files`, with the default per-host limit and timeouts.
    pub fn new(policy: EgressPolicy, files: FileRoots) -> Egress {
        Egress {
            policy: Arc::new(policy),
            files: Arc::new(files),
            hosts: HostLimiter::new(super::host_limit::DEFAULT_PER_HOST, super::host_limit::DEFAULT_PERMIT_WAIT),
            timeouts: Timeouts::default(),
        }
    }

    /// Refuses connections to `addr`, where this service listens (see
    /// [`EgressPolicy::with_own_listener`]).
    pub fn with_own_listener(mut self, addr: SocketAddr) -> Egress {
        self.policy = Arc::new((*self.policy).clone().with_own_listener(addr));
        self
    }

    /// Refuses `path` (this service's own SQLite database) to `database` and `file` sources,
    /// even inside the file roots.
    pub fn with_own_file(mut self, path: impl AsRef<Path>) -> Egress {
        self.files = Arc::new((*self.files).clone().with_own_file(path));
        self
    }

    /// Replaces the per-host limit (its permits are not shared with the previous one).
    pub fn with_host_limiter(mut self, hosts: HostLimiter) -> Egress {
        self.hosts = hosts;
        self
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Egress {
        self.timeouts = timeouts;
        self
    }

    /// The address policy.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// The file roots.
    pub fn files(&self) -> &FileRoots {
        &self.files
    }

    /// The per-host limit.
    pub fn hosts(&self) -> &HostLimiter {
        &self.hosts
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The whole of the file at `given`, confined to the file roots ([`FileRoots::read`]),
    /// within the overall timeout.
    pub async fn read_file(&self, given: &str) -> Result<Vec<u8>, EgressError> {
        self.files.read(given, self.timeouts.overall).await
    }

    /// The canonical path of the SQLite file at `given`, confined to the file roots
    /// ([`FileRoots::database_file`]).
    pub async fn database_file(&self, given: &str) -> Result<PathBuf, EgressError> {
        self.files.database_file(given).await
    }

    /// One line per setting that opens more than the defaults, for a loud start-up.
    pub fn opt_outs(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let allowed: Vec<&str> = self.policy.allowed_entries().collect();
        if !allowed.is_empty() {
            lines.push(format!("egress: connectors may also reach {} ({ALLOW_VAR})", allowed.join(", ")));
        }
        if !self.files.roots().is_empty() {
            let roots: Vec<String> = self.files.roots().iter().map(|root| root.display().to_string()).collect();
            lines.push(format!(
                "file sources: connectors may read files under {} ({})",
                roots.join(", "),
                super::files::FILE_ROOTS_VAR
            ));
        }
        lines
    }
}
