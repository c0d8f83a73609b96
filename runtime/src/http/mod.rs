//! Layer 4: the HTTP API, written once for every entity. Imports only the layers below it.
//!
//! Requests come in through [`params`] (query strings) and [`bodies`] (JSON bodies, parsed by
//! [`strict_json`], which refuses duplicate keys); every
//! success goes out through [`responses`] and every failure as a [`problem::ApiError`];
//! [`compression`] shrinks whichever of them the client accepts compressed.

pub mod action_routes;
pub mod bodies;
pub mod compression;
pub mod cors;
pub mod csv_export;
pub mod entity_routes;
pub mod expansions;
pub mod guard;
pub mod health;
pub mod identity_routes;
pub mod metrics;
pub mod params;
pub(crate) mod preconditions;
pub mod problem;
pub mod rate_limit;
pub mod request_id;
pub mod responses;
pub mod router;
pub mod service;
pub mod strict_json;
pub mod workbench;

pub use router::{PlainAction, entity_router};
pub use service::service;
