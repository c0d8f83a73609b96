//! What can go wrong when a connector reaches out: each message says what happened and, for a
//! refusal, which setting would change it. Messages quote host names, ports, addresses and the
//! paths of files, never a URL's userinfo or query.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::policy::EgressRefusal;

/// Why an outbound connection, request or file read did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The egress policy refused the resolved address.
    #[error(transparent)]
    Refused(#[from] EgressRefusal),
    /// The host already has as many connections in flight as the per-host limit allows.
    #[error(
        "{endpoint} already has {limit} connection(s) in flight from this service (the per-host limit, \
         ENTITY_SPEC_EGRESS_PER_HOST); a slow host does not get more workers, try again later"
    )]
    HostBusy {
        /// `host:port`.
        endpoint: String,
        /// The limit in force.
        limit: usize,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// What the resolver said.
        source: std::io::Error,
    },
    /// The host name resolved to nothing.
    #[error("{host} resolves to no address")]
    NoAddress {
        /// The name.
        host: String,
    },
    /// No address of the host accepted the connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A step took longer than its timeout.
    #[error("{step} timed out after {} s", .after.as_secs_f32())]
    Timeout {
        /// What was being done, e.g. `connecting to db:5432`.
        step: String,
        /// The timeout.
        after: Duration,
    },
    /// The URL cannot be used (not parsable, no host, not http or https).
    #[error("{0}")]
    Url(String),
    /// The HTTP exchange failed.
    #[error("the request failed: {0}")]
    Http(String),
    /// The response body is larger than the cap.
    #[error("the response is larger than the {limit}-byte limit")]
    ResponseTooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// File sources are not configured, or the path is outside the roots, or not a regular file.
    #[error("{0}")]
    FileRefused(String),
    /// The file is larger than the cap.
    #[error("{} is {size} bytes, more than the {limit}-byte limit for file sources", .path.display())]
    FileTooLarge {
        /// The path as given.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The file inside the roots cannot be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    File {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
