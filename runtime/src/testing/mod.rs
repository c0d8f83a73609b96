//! Layer 8, the top (cargo feature `testing`): what a service's tests run on. The generated
//! conformance suite (`entity_spec::conformance_tests!`) and hand-written tests beside it use
//! the same parts: a fresh database per test on each backend ([`database`]), an in-process
//! client whose every answer is checked against the service's own OpenAPI document
//! ([`client`], [`conformance`]), and the assertions a failing test explains itself with.

pub mod client;
pub mod conformance;
pub mod database;

pub use client::{Client, Reply, each_backend};
pub use database::{POSTGRES_URL_VAR, TestDatabase, test_backends};
