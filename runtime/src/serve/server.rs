//! Running a generated service: bind address, logging and graceful shutdown.

use std::io::Write;

use axum::Router;
use tokio::net::TcpListener;

use crate::model::redact::redact;

/// The address used when `BIND_ADDR` is not set.
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8000";

/// `BIND_ADDR`, or [`DEFAULT_BIND_ADDR`].
pub fn bind_addr_from_env() -> String {
    std::env::var("BIND_ADDR")
        .ok()
        .filter(|addr| !addr.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned())
}

/// Logs to stderr; `RUST_LOG` filters (default: `info`). Every line goes through the
/// redactor first, so a credential quoted by any crate's log line (a driver echoing a
/// connection parameter, an error holding a URL) never reaches the log.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // No ANSI colours: they would split `name=value` fields, which the redactor reads.
    // A second call (tests, embedding) keeps the first subscriber.
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| RedactingStderr).try_init();
}

/// Stderr behind [`redact`]: the fmt layer formats a whole event, then writes it at once.
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        std::io::stderr().lock().write_all(redact(&line).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Serves `app` on `listener` until Ctrl-C or SIGTERM, then lets in-flight requests finish.
/// Handlers see the client's address (the audit trail records it).
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Resolves on Ctrl-C, or SIGTERM on Unix (what process managers send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
