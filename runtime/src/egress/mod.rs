//! Layer 2: what a connector may reach outside the service, checked where it is used. The
//! egress policy on the resolved address of every connection (redirects included), the file
//! roots on the canonical path of every file source, a per-host limit on connections in
//! flight, and the timeouts of each step. Connectors get an [`Egress`](config::Egress) value
//! and reach out only through it: [`connect_tcp`](config::Egress::connect_tcp),
//! [`reserve`](config::Egress::reserve) (for drivers that connect by themselves),
//! [`http_get`](config::Egress::http_get), [`read_file`](config::Egress::read_file) and
//! [`database_file`](config::Egress::database_file).
//!
//! Settings (read by [`Egress::from_env`](config::Egress::from_env)):
//! `ENTITY_SPEC_EGRESS_ALLOW`, `ENTITY_SPEC_EGRESS_DENY` ([`policy`]),
//! `ENTITY_SPEC_FILE_ROOTS` ([`files`]), `ENTITY_SPEC_EGRESS_PER_HOST` ([`host_limit`]).

pub mod config;
pub mod error;
pub mod files;
pub mod host_limit;
pub mod http_client;
pub mod policy;
pub mod resolve;
pub mod setting_error;
pub mod tcp;

pub use config::{Egress, Timeouts};
pub use error::EgressError;
pub use files::FileRoots;
pub use host_limit::{HostLimiter, HostPermit};
pub use http_client::HttpResponse;
pub use policy::{EgressPolicy, EgressRefusal};
pub use resolve::Reservation;
pub use setting_error::EgressConfigError;
