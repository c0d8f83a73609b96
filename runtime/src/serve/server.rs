//! Running a generated service: bind address, logging and graceful shutdown.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;

use entity_spec_contract::text::printable;

use crate::model::redact::redact;
use crate::serve::early_rejections::ProblemOnEarlyRejection;

/// The address used when `BIND_ADDR` is not set.
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8000";

/// The address the service listens on.
pub const BIND_ADDR_VAR: &str = "BIND_ADDR";
/// Connections served at once.
pub const MAX_CONNECTIONS_VAR: &str = "ENTITY_SPEC_MAX_CONNECTIONS";
/// Seconds a client has to send a request's head.
pub const HEADER_TIMEOUT_SECS_VAR: &str = "ENTITY_SPEC_HEADER_TIMEOUT_SECS";

/// Seconds the server keeps serving after SIGTERM with `/readyz` failing, before it drains.
pub const SHUTDOWN_DELAY_SECS_VAR: &str = "ENTITY_SPEC_SHUTDOWN_DELAY_SECS";

/// [`SHUTDOWN_DELAY_SECS_VAR`]: 0 (no delay) when unset, else a number of seconds.
pub fn shutdown_delay_from_env() -> Result<Duration, String> {
    shutdown_delay(std::env::var(SHUTDOWN_DELAY_SECS_VAR).ok().as_deref())
}

/// The delay a [`SHUTDOWN_DELAY_SECS_VAR`] value gives, or why it is refused.
fn shutdown_delay(value: Option<&str>) -> Result<Duration, String> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(Duration::ZERO),
        Some(value) => value
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{SHUTDOWN_DELAY_SECS_VAR} must be a number of seconds, not `{}`", printable(value))),
    }
}

/// [`BIND_ADDR_VAR`], or [`DEFAULT_BIND_ADDR`].
pub fn bind_addr_from_env() -> String {
    std::env::var(BIND_ADDR_VAR)
        .ok()
        .filter(|addr| !addr.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned())
}

/// The variable choosing the log format: `text` (the default) or `json`.
pub const LOG_FORMAT_VAR: &str = "ENTITY_SPEC_LOG_FORMAT";

/// Logs to stderr; `RUST_LOG` filters (default: `info`); [`LOG_FORMAT_VAR`] picks one line of
/// text per event (the default) or one JSON object per line, with the request span's fields
/// (method, path, request id) in both. Every line goes through the redactor first, so a
/// credential quoted by any crate's log line (a driver echoing a connection parameter, an error
/// holding a URL) never reaches the log. An unknown format is an error: the service does not
/// start with logs an operator's collector cannot read.
pub fn init_tracing() -> Result<(), String> {
    let json = json_logs(std::env::var(LOG_FORMAT_VAR).ok().as_deref())?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // No ANSI colours: they would split `name=value` fields, which the redactor reads.
    // A second call (tests, embedding) keeps the first subscriber.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| RedactingStderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
    Ok(())
}

/// Whether [`LOG_FORMAT_VAR`]'s value asks for JSON lines.
fn json_logs(format: Option<&str>) -> Result<bool, String> {
    match format.map(str::trim) {
        None | Some("" | "text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(format!("{LOG_FORMAT_VAR} is `{}`; use `text` or `json`", printable(other))),
    }
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

/// How many connections a service holds open at once and how long a connection may take to
/// send a request's head: what keeps a few slow or idle clients from taking the whole server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once (`ENTITY_SPEC_MAX_CONNECTIONS`, default 1024); the next
    /// one waits in the kernel's accept queue until one closes.
    pub max_connections: usize,
    /// Time to receive a request's head, counted from the connection's start or, on a
    /// keep-alive connection, from the end of the previous response — so it is also the idle
    /// timeout (`ENTITY_SPEC_HEADER_TIMEOUT_SECS`, default 10).
    pub header_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits { max_connections: 1024, header_timeout: Duration::from_secs(10) }
    }
}

impl ServerLimits {
    /// The limits from the environment, with the defaults above for what is unset or not a
    /// positive number.
    pub fn from_env() -> Self {
        let number =
            |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok()).filter(|&n| n > 0);
        let defaults = ServerLimits::default();
        ServerLimits {
            max_connections: number(MAX_CONNECTIONS_VAR)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(defaults.max_connections),
            header_timeout: number(HEADER_TIMEOUT_SECS_VAR).map(Duration::from_secs).unwrap_or(defaults.header_timeout),
        }
    }
}

/// The listen queue's length: tokio's `TcpListener::bind` asks for 1024.
const LISTEN_QUEUE: usize = 1024;

/// Serves `app` on `listener` with [`ServerLimits::from_env`] until Ctrl-C or SIGTERM, then
/// answers what clients already sent: requests in flight, connections whose request has not
/// arrived yet (within the header timeout) and connections waiting in the listen queue; then
/// it stops. Handlers see the client's address (the audit trail records it).
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    serve_with(listener, app, ServerLimits::from_env(), shutdown_signal()).await
}

/// [`serve`] with explicit limits, until `shutdown` resolves.
///
/// HTTP/1.1 through hyper directly rather than `axum::serve`, which offers neither a
/// connection cap nor a header-read timeout.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // At least one connection, and no more than a semaphore holds (2^20 is far above what a
    // process's file descriptors allow anyway).
    let max_connections = limits.max_connections.clamp(1, 1 << 20);
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    // Connections watch this; it turns true at shutdown and each finishes its current request.
    let (stopping, stop) = watch::channel(false);
    let serve_connection = |stream: TcpStream, client: SocketAddr, permit: OwnedSemaphorePermit| {
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(client));
            request.map(Body::new)
        });
        let (stream, received) = ReadWatched::new(stream);
        let connection = http
            .serve_connection(TokioIo::new(ProblemOnEarlyRejection::new(stream)), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
                    // hyper's graceful shutdown closes a connection that has read nothing yet,
                    // so a request still on its way would get no answer: the connection reads
                    // first (within the header timeout, as always), then finishes its request.
                    let ended = std::future::poll_fn(|cx| match connection.as_mut().poll(cx) {
                        Poll::Ready(_) => Poll::Ready(true),
                        Poll::Pending if received.load(Ordering::Acquire) => Poll::Ready(false),
                        Poll::Pending => Poll::Pending,
                    })
                    .await;
                    if !ended {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            }
            drop(permit);
        });
    };
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        serve_connection(stream, client, permit);
    }
    let _ = stopping.send(true);
    // The kernel completes connections before they are accepted: those in the listen queue
    // now have clients that sent a request, and closing the listener would reset them
    // unanswered. Each is accepted and answered (then closed) like the requests in progress,
    // at most a full queue of them; only a connection arriving between the last accept and
    // the close is still reset.
    if let Ok(listener) = listener.into_std() {
        for (stream, client) in std::iter::from_fn(|| listener.accept().ok()).take(LISTEN_QUEUE) {
            let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
            if let Ok(stream) = stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream)) {
                serve_connection(stream, client, permit);
            }
        }
    }
    // Every connection task holds a permit until it ends: all of them back means all done.
    let _all_closed = permits.acquire_many(u32::try_from(max_connections).unwrap_or(u32::MAX)).await;
    Ok(())
}

/// A connection that records whether anything was read from it yet (see the shutdown in
/// [`serve_with`]).
struct ReadWatched {
    stream: TcpStream,
    received: Arc<AtomicBool>,
}

impl ReadWatched {
    /// The connection, and the flag that turns true once it has read a byte.
    fn new(stream: TcpStream) -> (ReadWatched, Arc<AtomicBool>) {
        let received = Arc::new(AtomicBool::new(false));
        (ReadWatched { stream, received: received.clone() }, received)
    }
}

impl AsyncRead for ReadWatched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.received.store(true, Ordering::Release);
        }
        read
    }
}

impl AsyncWrite for ReadWatched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
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
    tracing::info!("shutting down: finishing in-flight requests and running runs");
}

#[cfg(test)]
mod tests {
    use super::{Duration, json_logs, shutdown_delay};

    #[test]
    fn the_shutdown_delay_is_zero_unless_a_number_of_seconds_is_given() {
        assert_eq!(shutdown_delay(None), Ok(Duration::ZERO));
        assert_eq!(shutdown_delay(Some("")), Ok(Duration::ZERO));
        assert_eq!(shutdown_delay(Some(" 5 ")), Ok(Duration::from_secs(5)));
        let error = shutdown_delay(Some("5s")).unwrap_err();
        assert!(error.contains("ENTITY_SPEC_SHUTDOWN_DELAY_SECS") && error.contains("`5s`"), "{error}");
    }

    #[test]
    fn the_log_format_is_text_json_or_an_error_naming_the_variable() {
        assert_eq!(json_logs(None), Ok(false));
        assert_eq!(json_logs(Some("text")), Ok(false));
        assert_eq!(json_logs(Some(" json ")), Ok(true));
        let error = json_logs(Some("xml")).unwrap_err();
        assert!(error.contains("ENTITY_SPEC_LOG_FORMAT") && error.contains("`xml`"), "{error}");
    }
}
