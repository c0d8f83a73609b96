//! Layer 5, the top: starting a generated service. The [`Service`] value (routes and the
//! workers of tracked actions, started explicitly), the start-up migration, which puts the
//! spec's tables and the runtime's own together, serving (connection cap, header
//! timeout, problem bodies for hyper's own rejections) with logging and graceful shutdown, the
//! command line of a service binary (`launch.rs`: serve, `keys`, `secrets`, `config`, `healthcheck` in `healthcheck.rs`) and the
//! list of every setting it reads (`settings.rs`).

mod early_rejections;
pub mod healthcheck;
pub mod launch;
pub mod migrate;
pub mod server;
pub mod service;
pub mod settings;

pub use launch::run;
pub use migrate::migrate;
pub use server::{
    DEFAULT_BIND_ADDR, ServerLimits, bind_addr_from_env, init_tracing, serve, serve_with, shutdown_signal,
};
pub use service::Service;
