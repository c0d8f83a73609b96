//! `sync-all` on 1,000 sources, half of them APIs behind a local HTTP server that answers
//! after an artificial delay, the other half webhooks (nothing to pull). Checks that the run
//! takes about `slow sources × delay / workers`, that no more than `workers` requests are in
//! flight at once, and that every source ran exactly once.
//!
//! `cargo run --release --example sync_all_bench` (SQLite in a temp dir; set `DATABASE_URL`
//! to a scratch PostgreSQL database to measure that instead).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use entity_spec::__private::runtime::cipher::{Keyring, SecretKey};
use entity_spec::__private::runtime::storage::secret_keys::{SECRET_KEY_FILE_VAR, SECRET_KEY_VAR};
use entity_spec::egress::{Egress, EgressPolicy, FileRoots, HostLimiter};
use entity_spec::{AuthConfig, Db, EngineConfig, MigrateOptions};

#[path = "raw_data_sources/connectors.rs"]
#[allow(dead_code)]
mod connectors;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

use connectors::Connectors;

const SOURCES: usize = 1000;
const DELAY: Duration = Duration::from_millis(100);
const WORKERS: usize = 16;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("entity-spec-sync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    // A scratch database: a fresh key for its sensitive fields unless one is configured.
    let mut db = Db::connect(&url).await?;
    if std::env::var_os(SECRET_KEY_VAR).is_none() && std::env::var_os(SECRET_KEY_FILE_VAR).is_none() {
        db = db.with_keyring(Keyring::new(vec![SecretKey::generate()?.0])?);
    }
    model::migrate(&db, MigrateOptions::default()).await?;

    let (api, requests, peak) = slow_api().await;
    let config = EngineConfig { workers: WORKERS, schedule_interval: None, ..EngineConfig::from_env() };
    let policy = EgressPolicy::default().allow("127.0.0.1")?;
    let egress =
        Egress::new(policy, FileRoots::none()).with_host_limiter(HostLimiter::new(WORKERS, Duration::from_secs(1)));
    // Listening on loopback only: authentication off, so the figures are the runs' alone.
    let service = model::service(db.clone(), Connectors { egress }).with_auth(AuthConfig::off());
    service.start_workers(&config)?;
    let app = service.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client { address: address.to_string() };
    for i in 0..SOURCES {
        let (kind, connection) = if i % 2 == 0 { ("api", api.clone()) } else { ("webhook", "push".to_owned()) };
        let body = format!(r#"{{"name": "source-{i}", "source_type": "{kind}", "connection_string": "{connection}"}}"#);
        client.request("POST", "/raw-data-sources", &body).await?;
    }
    let started = Instant::now();
    let queued = client.request("POST", "/raw-data-sources/sync-all", "").await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let finished = client.request("GET", "/raw-data-sources?sync_status=success,failed&limit=1", "").await?;
        if finished.contains(&format!("\"total\":{SOURCES}")) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let failed = client.request("GET", "/raw-data-sources?sync_status=failed&limit=1", "").await?;
    let expected = DELAY.as_secs_f64() * (SOURCES / 2) as f64 / WORKERS as f64;
    println!("sync-all: {queued}");
    println!(
        "| sources | slow (HTTP, {} ms) | workers | expected ≈ slow × delay / workers | measured | peak concurrent requests | requests served | failed |",
        DELAY.as_millis()
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| {SOURCES} | {} | {WORKERS} | {expected:.2} s | {:.2} s | {} | {} | {} |",
        SOURCES / 2,
        elapsed.as_secs_f64(),
        peak.load(Ordering::SeqCst),
        requests.load(Ordering::SeqCst),
        if failed.contains("\"total\":0") { "none" } else { "some" }
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// A local API that answers after `DELAY`, counting requests and the most in flight.
async fn slow_api() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("loopback port");
    let url = format!("http://{}/data", listener.local_addr().expect("address"));
    let (requests, peak, current) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, p) = (requests.clone(), peak.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (r, p, c) = (r.clone(), p.clone(), current.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 2048];
                let _ = socket.read(&mut buffer).await;
                r.fetch_add(1, Ordering::SeqCst);
                p.fetch_max(c.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(DELAY).await;
                c.fetch_sub(1, Ordering::SeqCst);
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]").await;
            });
        }
    });
    (url, requests, peak)
}

/// Just enough HTTP/1.1 to drive the service (one request per connection).
struct Client {
    address: String,
}

impl Client {
    async fn request(&self, method: &str, path: &str, body: &str) -> std::io::Result<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.address).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response.as_str(), ""));
        // A refused request would make every later figure meaningless: stop at the first.
        if !head.split(' ').nth(1).is_some_and(|status| status.starts_with('2')) {
            return Err(std::io::Error::other(format!("{method} {path}: {head}\n{body}")));
        }
        Ok(body.to_owned())
    }
}
