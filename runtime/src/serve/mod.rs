//! Layer 5, the top: running a generated service.

pub mod server;

pub use server::{DEFAULT_BIND_ADDR, bind_addr_from_env, init_tracing, serve, shutdown_signal};
