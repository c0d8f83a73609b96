//! # entity-spec
//!
//! Turn a JSON file of entity definitions into a Rust service at compile time:
//!
//! ```
//! #[entity_spec::entity_spec("specs/entities.json")]
//! pub mod model {}
//!
//! let input = model::RawDataSourceCreate::new("warehouse", "postgres://etl@db/warehouse");
//! assert_eq!(input.refresh_interval, 3600); // the spec's default
//! assert!(input.validate().is_ok());
//! ```
//!
//! For every entity in the spec the module gains the domain struct, one enum per `enum`
//! field, the create and update input types, validators that report every violation at once,
//! and the service: `router(db)` (an axum `Router` with CRUD, filters and pagination for every
//! entity) and `migrate(db, options)` (tables and indexes from the spec). See
//! `docs/spec-format.md` for the spec format and `docs/http-api.md` for the HTTP contract.
#![deny(missing_docs)]

pub use entity_spec_macros::{conformance_tests, entity_spec};
/// API keys: create, list and revoke them from code (the service binary's `keys` command does the same).
pub use entity_spec_runtime::auth::api_keys;
pub use entity_spec_runtime::auth::jwt::JwtConfig;
/// Calls of one plain action an instance runs at once (`ENTITY_SPEC_ACTION_CONCURRENCY`).
pub use entity_spec_runtime::contract::limits::DEFAULT_ACTION_CONCURRENCY;
pub use entity_spec_runtime::db::{DEFAULT_DATABASE_URL, database_url_from_env};
/// What connectors may reach outside the service: the egress policy (`ENTITY_SPEC_EGRESS_ALLOW`,
/// `ENTITY_SPEC_EGRESS_DENY`), file roots (`ENTITY_SPEC_FILE_ROOTS`), the per-host connection
/// limit (`ENTITY_SPEC_EGRESS_PER_HOST`) and an HTTP client that checks every hop.
pub use entity_spec_runtime::egress;
/// Which browser origins may call the API (`ENTITY_SPEC_CORS_ORIGINS`); see `Service::with_cors`.
pub use entity_spec_runtime::http::cors::CorsOrigins;
/// Requests allowed per credential and per client address (`ENTITY_SPEC_RATE_LIMIT`,
/// `ENTITY_SPEC_RATE_LIMIT_PER_ADDRESS`); see `Service::with_rate_limits`.
pub use entity_spec_runtime::http::rate_limit::{Rate, RateLimits};
/// The one redactor: removes credentials from any text before it is stored, answered or logged.
pub use entity_spec_runtime::redact::{redact, redact_known};
pub use entity_spec_runtime::serve::{
    DEFAULT_BIND_ADDR, ServerLimits, bind_addr_from_env, init_tracing, run, serve, serve_with, shutdown_signal,
};
pub use entity_spec_runtime::sqlite_wal::keep_wal_bounded;
pub use entity_spec_runtime::{
    ApiError, AuthConfig, Backend, Db, EngineConfig, EngineStartError, Entity, FieldViolation, MigrateError,
    MigrateOptions, MigrationReport, Retention, Secret, Service, UnknownVariant, Validate, ValidationErrors,
};

/// What a service's tests run on (cargo feature `testing`): fresh databases per test on each
/// backend, a client checking every answer against the service's OpenAPI document.
#[cfg(feature = "testing")]
pub use entity_spec_runtime::testing;

/// Paths generated code uses, so that users only depend on `entity-spec`. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use axum;
    pub use chrono;
    pub use entity_spec_runtime as runtime;
    pub use regex;
    pub use serde;
    pub use serde_json;
    pub use uuid;
}
