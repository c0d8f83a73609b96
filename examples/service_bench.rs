//! Benchmark (not a test): the generated RawDataSource service against a hand-written axum +
//! sqlx service with the same contract, on the same database engine, schema, data and pool
//! settings, driven by the same in-process load generator.
//!
//! ```sh
//! cargo run --release --example service_bench                  # SQLite (temporary files)
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo run --release --example service_bench              # SQLite, then PostgreSQL
//! ```
//!
//! Per backend: two scratch databases (SQLite files in a temporary directory, or PostgreSQL
//! databases `entity_spec_bench_<pid>_{generated,handwritten}`, dropped at the end), both
//! migrated by the generated `model::migrate` and seeded with the same 20,000 rows. Each
//! service runs in a child process of its own (this binary with `--serve`), on a default
//! multi-thread runtime, listening on 127.0.0.1:0; the load generator (a one-thread runtime
//! in this process, a minimal HTTP/1.1 client) keeps 8 keep-alive connections busy. Every
//! endpoint is measured in 11 rounds of at most 0.7 s per service (after a warm-up),
//! alternating which service goes first; the table shows the median round, and the ratio
//! column the median of the per-round ratios. Service CPU per request (the child's threads,
//! from `/proc`, Linux) and the CPU busy elsewhere are reported too, so that a run disturbed
//! by other work on the machine can be recognised.
//!
//! Endpoints: create, read by random id, filtered list, first page and a page 18,000 rows
//! deep (reached by following `next_cursor` with `limit=500`).
//!
//! Every request carries `Authorization: Bearer <API key>` (an admin key created in each scratch
//! database): the generated service checks it and writes an audit row per create, as in
//! production; the hand-written one has no authentication and ignores it.
//! `SERVICE_BENCH_CALIBRATE=auth` measures what authentication alone costs: the first column
//! runs the generated service with `ENTITY_SPEC_AUTH=off`, the second with it on.
//! `SERVICE_BENCH_CALIBRATE=audit` measures what the audit trail costs: the first column runs
//! the generated service with `ENTITY_SPEC_AUDIT=off`, the second with it on (both check keys).
//! `SERVICE_BENCH_CALIBRATE=metrics` measures what counting requests for `/metrics` costs: the
//! first column runs the generated service with `ENTITY_SPEC_METRICS=off`, the second with it on.
//! `SERVICE_BENCH_CALIBRATE=gzip` (or `br`) measures what compressing responses costs: every
//! measured request of both columns carries `Accept-Encoding: gzip` (or `br`); the first column
//! runs the generated service with `ENTITY_SPEC_COMPRESSION=off`, the second with it on (the
//! load generator reads the compressed body without decoding it).
//! `SERVICE_BENCH_CALIBRATE=expand` measures what `?expand=` costs a list, on the library spec
//! (the reference spec has no references): see `service_bench/expand.rs`.
//!
//! For profiling, `SERVICE_BENCH_ENDPOINTS` (comma list of `read`, `filtered`, `first-page`,
//! `deep-page`, `create`), `SERVICE_BENCH_SERVICES` (`hand-written`, `generated`) and
//! `SERVICE_BENCH_ROUNDS` narrow the run. `SERVICE_BENCH_CALIBRATE=generated` (or
//! `hand-written`) is an A/A run: both columns serve that one service, each on its own copy
//! of the data, so the ratio column shows how far apart the harness puts two equal services.

#[path = "service_bench/expand.rs"]
mod expand;
#[path = "service_bench/handwritten.rs"]
mod handwritten;
#[path = "service_bench/load.rs"]
mod load;

use std::error::Error;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use chrono::{DateTime, Utc};
use entity_spec::api_keys::{self, NewKey};
use entity_spec::{AuthConfig, Db, EngineConfig, MigrateOptions};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use uuid::Uuid;

use handwritten::{NewRawDataSource, SourceType, SyncStatus};
use load::{Config, Conn, Stats, Workload};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[path = "shared/reference_actions.rs"]
mod reference_actions;

use reference_actions::NoActions;

/// The generated router as the benchmark runs it: the scheduler that queues due syncs is off
/// (the seeded rows would all be due, and the hand-written service has no such background
/// work); one idle run worker remains.
fn generated_router(db: Db, auth: AuthConfig, count_requests: bool, compression: bool) -> axum::Router {
    let engine = EngineConfig { schedule_interval: None, workers: 1, ..EngineConfig::from_env() };
    let service = model::service(db, NoActions)
        .with_auth(auth)
        .with_request_metrics(count_requests)
        .with_compression(compression);
    service.start_workers(&engine).expect("the benchmark runs on a Tokio runtime");
    service.router()
}

type BoxError = Box<dyn Error + Send + Sync>;

const SEED_ROWS: usize = 20_000;
const DEEP_ROWS: usize = 18_000;
const FOLLOW_LIMIT: usize = 500;
/// Rounds per endpoint unless `SERVICE_BENCH_ROUNDS` says otherwise.
const ROUNDS: usize = 11;
const CONNECTIONS: usize = 8;
const COLLECTION: &str = "/raw-data-sources";
const FILTERED: &str = "/raw-data-sources?source_type=database&is_active=true&limit=50";
const FIRST_PAGE: &str = "/raw-data-sources?limit=50";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, kind, url] if flag == SERVE_FLAG => serve(kind, url),
        [] => {
            // Sensitive fields are stored encrypted; on PostgreSQL a key must be given. A
            // benchmark's scratch databases get a fresh one, which the served children inherit.
            use entity_spec::__private::runtime::storage::secret_keys::{SECRET_KEY_FILE_VAR, SECRET_KEY_VAR};
            if std::env::var_os(SECRET_KEY_VAR).is_none() && std::env::var_os(SECRET_KEY_FILE_VAR).is_none() {
                match entity_spec::__private::runtime::cipher::SecretKey::generate() {
                    // SAFETY: no other thread exists yet (the runtimes are built later).
                    Ok((_, text)) => unsafe { std::env::set_var(SECRET_KEY_VAR, text.as_str()) },
                    Err(error) => return fail(format!("cannot generate a secret key: {error}").into()),
                }
            }
            bench()
        }
        _ => Err("usage: service_bench (the services are started by the benchmark itself)".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

fn fail(error: BoxError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

/// The benchmark: scratch databases, one child process per service, the load generator here.
fn bench() -> Result<(), BoxError> {
    // The load generator gets a runtime (and thread) of its own so that it never queues
    // behind the setup work; this process serves nothing.
    let client =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("load").enable_all().build()?;
    let setup = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    setup.block_on(run(client.handle().clone()))
}

/// The child process that serves one service: `service_bench --serve KIND DATABASE_URL`.
const SERVE_FLAG: &str = "--serve";

/// Child mode: serves `kind` on `url` at 127.0.0.1 (an ephemeral port, printed as
/// `listening ADDR` on stdout) until stdin closes, on a default multi-thread runtime, as a
/// service's `main` would.
fn serve(kind: &str, url: &str) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (router, pool) = match kind {
            GENERATED => {
                let db = Db::connect(url).await?;
                (generated_router(db.clone(), AuthConfig::api_keys(), true, true), Pool::Generated(db))
            }
            GENERATED_OPEN => {
                let db = Db::connect(url).await?;
                (generated_router(db.clone(), AuthConfig::off(), true, true), Pool::Generated(db))
            }
            GENERATED_UNAUDITED => {
                let db = Db::connect(url).await?;
                (generated_router(db.clone(), AuthConfig::api_keys().without_audit(), true, true), Pool::Generated(db))
            }
            GENERATED_UNCOUNTED => {
                let db = Db::connect(url).await?;
                (generated_router(db.clone(), AuthConfig::api_keys(), false, true), Pool::Generated(db))
            }
            GENERATED_UNCOMPRESSED => {
                let db = Db::connect(url).await?;
                (generated_router(db.clone(), AuthConfig::api_keys(), true, false), Pool::Generated(db))
            }
            expand::LIBRARY => {
                let db = Db::connect(url).await?;
                (expand::router(db.clone()), Pool::Generated(db))
            }
            HAND_WRITTEN => {
                let pool = handwritten::Pool::connect(url).await?;
                (handwritten::router(pool.clone()), Pool::Handwritten(pool))
            }
            other => return Err(format!("unknown service `{other}`").into()),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening {addr}")?;
            stdout.flush()?;
        }
        // The parent closes our stdin to stop us.
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
        };
        let served = axum::serve(listener, router).with_graceful_shutdown(stdin_closed).await;
        match pool {
            Pool::Generated(db) => db.close().await,
            Pool::Handwritten(pool) => pool.close().await,
        }
        Ok(served?)
    })
}

#[derive(Debug, Clone)]
enum Engine {
    Sqlite,
    Postgres { admin_url: String },
}

impl Engine {
    fn label(&self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres { .. } => "PostgreSQL",
        }
    }
}

/// What to run (everything by default; narrowed by environment variables for profiling).
#[derive(Debug, Clone)]
struct Settings {
    rounds: usize,
    endpoints: Vec<Endpoint>,
    /// Which of [hand-written, generated] to measure.
    services: [bool; 2],
    /// A/A calibration: both slots run this service, so the ratio column shows the
    /// harness's own noise.
    calibrate: Option<&'static str>,
    /// The `Accept-Encoding` of every measured request (the compression calibration).
    accept_encoding: Option<&'static str>,
}

impl Settings {
    fn from_env() -> Result<Settings, BoxError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let rounds = match var("SERVICE_BENCH_ROUNDS") {
            Some(text) => {
                text.trim().parse().ok().filter(|&n| n > 0).ok_or("SERVICE_BENCH_ROUNDS: a positive integer")?
            }
            None => ROUNDS,
        };
        let endpoints = match var("SERVICE_BENCH_ENDPOINTS") {
            Some(list) => list
                .split(',')
                .map(|name| {
                    Endpoint::ALL
                        .into_iter()
                        .find(|e| e.key() == name.trim())
                        .ok_or_else(|| format!("SERVICE_BENCH_ENDPOINTS: unknown endpoint `{name}`"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Endpoint::ALL.to_vec(),
        };
        let services = match var("SERVICE_BENCH_SERVICES") {
            Some(list) => {
                let names: Vec<&str> = list.split(',').map(str::trim).collect();
                if let Some(unknown) = names.iter().find(|n| !["hand-written", "generated"].contains(n)) {
                    return Err(format!("SERVICE_BENCH_SERVICES: unknown service `{unknown}`").into());
                }
                [names.contains(&"hand-written"), names.contains(&"generated")]
            }
            None => [true, true],
        };
        let calibrate = match var("SERVICE_BENCH_CALIBRATE").as_deref().map(str::trim) {
            None => None,
            Some(GENERATED) => Some(GENERATED),
            Some(HAND_WRITTEN) => Some(HAND_WRITTEN),
            Some("auth") => Some(GENERATED_OPEN),
            Some("audit") => Some(GENERATED_UNAUDITED),
            Some("metrics") => Some(GENERATED_UNCOUNTED),
            Some("gzip" | "br") => Some(GENERATED_UNCOMPRESSED),
            Some("expand") => Some(expand::LIBRARY),
            Some(other) => {
                return Err(format!(
                    "SERVICE_BENCH_CALIBRATE: `generated`, `hand-written`, `auth`, `audit`, `metrics`, `gzip`, `br` \
                     or `expand`, not `{other}`"
                )
                .into());
            }
        };
        let accept_encoding = match var("SERVICE_BENCH_CALIBRATE").as_deref().map(str::trim) {
            Some("gzip") => Some("gzip"),
            Some("br") => Some("br"),
            _ => None,
        };
        Ok(Settings { rounds, endpoints, services, calibrate, accept_encoding })
    }
}

async fn run(client: Handle) -> Result<(), BoxError> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let mut engines = vec![Engine::Sqlite];
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            engines.push(Engine::Postgres { admin_url: url });
        }
        Ok(url) if !url.trim().is_empty() => {
            eprintln!("note: DATABASE_URL is not a postgres:// URL; benchmarking SQLite only");
        }
        _ => {}
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "# entity-spec: generated vs hand-written RawDataSource service\n\n\
         {cores} cores; {CONNECTIONS} keep-alive connections; {SEED_ROWS} seeded rows; \
         {} rounds per endpoint alternating A/B, median round shown; release build: {}",
        settings.rounds,
        !cfg!(debug_assertions)
    );
    for engine in engines {
        let report = match settings.calibrate {
            Some(expand::LIBRARY) => expand::bench(&engine, &client, &settings).await?,
            _ => bench_engine(&engine, &client, &settings).await?,
        };
        println!("{report}");
    }
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A scratch database, removed by [`Scratch::remove`].
struct Scratch {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Files(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Scratch {
    async fn create(engine: &Engine, service: &str) -> Result<Scratch, BoxError> {
        let pid = std::process::id();
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(format!("entity_spec_bench_{pid}"));
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{service}.db"));
                Ok(Scratch { url: format!("sqlite://{}", path.display()), cleanup: Cleanup::Files(path) })
            }
            Engine::Postgres { admin_url } => {
                let name = format!("entity_spec_bench_{pid}_{service}");
                let mut admin = sqlx::PgConnection::connect(admin_url).await?;
                // Safe: the name is built from the pid and a fixed service name.
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\""))).execute(&mut admin).await?;
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut admin).await?;
                admin.close().await?;
                Ok(Scratch {
                    url: with_database(admin_url, &name),
                    cleanup: Cleanup::Postgres { admin_url: admin_url.clone(), name },
                })
            }
        }
    }

    async fn remove(self) {
        match self.cleanup {
            Cleanup::Files(path) => {
                for suffix in ["", "-wal", "-shm", ".key"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir(dir);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let result = async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                }
                .await;
                if let Err(error) = result {
                    eprintln!("warning: could not drop the scratch database {name}: {error}");
                }
            }
        }
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

const GENERATED: &str = "generated";
const HAND_WRITTEN: &str = "hand-written";
/// The generated service with authentication off (`SERVICE_BENCH_CALIBRATE=auth`).
const GENERATED_OPEN: &str = "generated-open";
/// The generated service without audit rows (`SERVICE_BENCH_CALIBRATE=audit`).
const GENERATED_UNAUDITED: &str = "generated-unaudited";
/// The generated service without request metrics (`SERVICE_BENCH_CALIBRATE=metrics`).
const GENERATED_UNCOUNTED: &str = "generated-uncounted";
/// The generated service without compression (`SERVICE_BENCH_CALIBRATE=gzip` or `br`).
const GENERATED_UNCOMPRESSED: &str = "generated-uncompressed";

/// A service running in a child process of its own: its own runtime, allocator and threads,
/// as in production, so that neither service's state can slow the other down. (In one
/// process, two copies of the same service measured up to 30% apart, always in favour of the
/// same slot.)
struct Service {
    label: &'static str,
    addr: SocketAddr,
    /// The header lines every request to it carries (its API key).
    headers: String,
    /// The header lines of the measured requests: `headers`, and `Accept-Encoding` when
    /// compression is measured (the contract checks read bodies as they are).
    load_headers: String,
    deep_cursor: String,
    process: Child,
}

impl Service {
    /// Starts `kind` on `url` and waits until it listens.
    fn start(label: &'static str, kind: &str, url: &str, key: &str) -> Result<Service, BoxError> {
        let mut process = Command::new(std::env::current_exe()?)
            .args([SERVE_FLAG, kind, url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        // Blocking, once per service during setup: the child answers within milliseconds.
        let mut line = String::new();
        if let Some(stdout) = process.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        match line.trim().strip_prefix("listening ").and_then(|addr| addr.parse().ok()) {
            Some(addr) => Ok(Service {
                label,
                addr,
                headers: format!("Authorization: Bearer {key}\r\n"),
                load_headers: format!("Authorization: Bearer {key}\r\n"),
                deep_cursor: String::new(),
                process,
            }),
            None => {
                let _ = process.kill();
                let _ = process.wait();
                Err(format!("the {label} service did not start (it said {line:?})").into())
            }
        }
    }

    /// The child's process id, for its CPU time.
    fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Closes the child's stdin (it shuts down gracefully) and waits up to 10 s for it.
    async fn stop(mut self) {
        drop(self.process.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match self.process.try_wait() {
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
                Ok(Some(status)) => break Some(status),
                Ok(None) | Err(_) => break None,
            }
        };
        match status {
            Some(status) if status.success() => {}
            Some(status) => eprintln!("warning: the {} service exited with {status}", self.label),
            None => {
                eprintln!("warning: the {} service did not shut down within 10 s; killed", self.label);
                let _ = self.process.kill();
                let _ = self.process.wait();
            }
        }
    }
}

/// A service's pool, closed when it stops.
enum Pool {
    Generated(Db),
    Handwritten(handwritten::Pool),
}

/// One row of seed data; both databases get exactly the same rows.
struct SeedRow {
    id: Uuid,
    at: DateTime<Utc>,
    new: NewRawDataSource,
}

fn seed_rows() -> Vec<SeedRow> {
    let base = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").map_or_else(|_| Utc::now(), |t| t.to_utc());
    (0..SEED_ROWS)
        .map(|i| {
            let at = base + chrono::Duration::milliseconds(i as i64 * 37);
            let new = NewRawDataSource {
                name: format!("seed-{i:05}"),
                source_type: (i % 11 != 10).then(|| SourceType::ALL[i % 5]),
                connection_string: format!("postgres://etl:s3cret@db-{}.internal:5432/warehouse", i % 50),
                schema_definition: (i % 3 == 0).then(|| {
                    json!({"type": "object", "properties": {"id": {"type": "integer"}, "payload": {"type": "string"}}})
                }),
                refresh_interval: 60 * (1 + (i as i64 % 60)),
                is_active: i % 4 != 0,
                last_sync_at: (i % 2 == 0).then(|| at + chrono::Duration::seconds(30)),
                sync_status: SyncStatus::ALL[i % 4],
                error_message: (i % 4 == 3).then(|| "connection refused".to_owned()),
                metadata: Some(json!({"owner": format!("team-{}", i % 10), "priority": i % 3})),
                tags: Some(json!(["etl", format!("tier-{}", i % 3)])),
            };
            SeedRow { id: Uuid::now_v7(), at, new }
        })
        .collect()
}

/// Bulk-inserts the seed rows (500 per statement, one transaction).
async fn seed(url: &str, rows: &[SeedRow]) -> Result<(), BoxError> {
    const INSERT: &str = "INSERT INTO raw_data_sources (id, name, source_type, connection_string, \
        schema_definition, refresh_interval, is_active, last_sync_at, sync_status, error_message, metadata, \
        created_at, updated_at, tags) ";
    fn json(value: &Option<Value>) -> Option<sqlx::types::Json<&Value>> {
        value.as_ref().map(sqlx::types::Json)
    }
    let sqlite_time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    match handwritten::Pool::connect(url).await? {
        handwritten::Pool::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(500) {
                let mut insert = QueryBuilder::<sqlx::Sqlite>::new(INSERT);
                insert.push_values(chunk, |mut row, seed| {
                    let new = &seed.new;
                    row.push_bind(seed.id.hyphenated())
                        .push_bind(new.name.as_str())
                        .push_bind(new.source_type.map(SourceType::as_str))
                        .push_bind(new.connection_string.as_str())
                        .push_bind(json(&new.schema_definition))
                        .push_bind(new.refresh_interval)
                        .push_bind(new.is_active)
                        .push_bind(new.last_sync_at.map(sqlite_time))
                        .push_bind(new.sync_status.as_str())
                        .push_bind(new.error_message.as_deref())
                        .push_bind(json(&new.metadata))
                        .push_bind(sqlite_time(seed.at))
                        .push_bind(sqlite_time(seed.at))
                        .push_bind(json(&new.tags));
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            // Copy the whole log into the database file and empty it, so both databases
            // start the measurements in the same state whatever the auto-checkpoint managed.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await?;
            pool.close().await;
        }
        handwritten::Pool::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(500) {
                let mut insert = QueryBuilder::<sqlx::Postgres>::new(INSERT);
                insert.push_values(chunk, |mut row, seed| {
                    let new = &seed.new;
                    row.push_bind(seed.id)
                        .push_bind(new.name.as_str())
                        .push_bind(new.source_type.map(SourceType::as_str))
                        .push_bind(new.connection_string.as_str())
                        .push_bind(json(&new.schema_definition))
                        .push_bind(new.refresh_interval)
                        .push_bind(new.is_active)
                        .push_bind(new.last_sync_at)
                        .push_bind(new.sync_status.as_str())
                        .push_bind(new.error_message.as_deref())
                        .push_bind(json(&new.metadata))
                        .push_bind(seed.at)
                        .push_bind(seed.at)
                        .push_bind(json(&new.tags));
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            // What autovacuum would do shortly after a bulk load; done now so that the plans
            // do not change in the middle of the measurements.
            sqlx::query("ANALYZE raw_data_sources").execute(&pool).await?;
            pool.close().await;
        }
    }
    Ok(())
}

/// One request on a fresh connection, for setup and checks.
async fn fetch(
    service: &Service,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value, Conn), BoxError> {
    let mut conn = Conn::connect(service.addr).await?;
    let mut request = Vec::new();
    match (method, body) {
        ("POST", Some(body)) => load::post_json(&mut request, path, body.to_string().as_bytes(), &service.headers),
        _ => load::get(&mut request, path, &service.headers),
    }
    let status = conn.send(&request).await?;
    let value = if conn.body().is_empty() { Value::Null } else { serde_json::from_slice(conn.body())? };
    Ok((status, value, conn))
}

fn expect(condition: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if condition { Ok(()) } else { Err(what().into()) }
}

/// Both services answer the same requests alike (bodies compared as JSON).
async fn check_contract(services: &[Service; 2], rows: &[SeedRow]) -> Result<(), BoxError> {
    let [a, b] = services;
    let path = format!("{COLLECTION}/{}", rows[1234].id);
    let (sa, va, ca) = fetch(a, "GET", &path, None).await?;
    let (sb, vb, cb) = fetch(b, "GET", &path, None).await?;
    expect(sa == 200 && sb == 200 && va == vb, || format!("GET {path}: {sa} {va}\nvs {sb} {vb}"))?;
    expect(ca.header("etag") == Some("\"1\"") && cb.header("etag") == Some("\"1\""), || "GET: ETag".to_owned())?;
    expect(va.get("connection_string").is_none(), || "GET returns connection_string".to_owned())?;

    let (sa, va, _) = fetch(a, "GET", FILTERED, None).await?;
    let (sb, vb, _) = fetch(b, "GET", FILTERED, None).await?;
    expect(sa == 200 && sb == 200 && va["items"] == vb["items"] && va["total"] == vb["total"], || {
        format!("filtered list differs: {sa} total {} vs {sb} total {}", va["total"], vb["total"])
    })?;
    expect(va["items"].as_array().map(Vec::len) == Some(50) && va["next_cursor"].is_string(), || {
        "filtered list: 50 items and a next_cursor".to_owned()
    })?;

    for service in services {
        let body = json!({"name": "contract-check", "connection_string": "postgres://x@y/z", "source_type": "api"});
        let (status, created, conn) = fetch(service, "POST", COLLECTION, Some(&body)).await?;
        let location = conn.header("location").unwrap_or("").to_owned();
        expect(status == 201 && conn.header("etag") == Some("\"1\""), || {
            format!("{}: POST {status} {created}", service.label)
        })?;
        expect(created["refresh_interval"] == 3600 && created["sync_status"] == "pending", || {
            format!("{}: defaults {created}", service.label)
        })?;
        expect(location == format!("{COLLECTION}/{}", created["id"].as_str().unwrap_or("")), || {
            format!("{}: Location {location}", service.label)
        })?;
        let (status, read, _) = fetch(service, "GET", &location, None).await?;
        expect(status == 200 && read == created, || format!("{}: read after create", service.label))?;
        let (status, _, _) = fetch(service, "POST", COLLECTION, Some(&body)).await?;
        expect(status == 409, || format!("{}: duplicate name gave {status}", service.label))?;
        let bad = json!({"name": " ", "connection_string": "x", "refresh_interval": 10});
        let (status, _, _) = fetch(service, "POST", COLLECTION, Some(&bad)).await?;
        expect(status == 422, || format!("{}: invalid body gave {status}", service.label))?;
        let (status, _, _) = fetch(service, "GET", &format!("{COLLECTION}/{}", Uuid::now_v7()), None).await?;
        expect(status == 404, || format!("{}: unknown id gave {status}", service.label))?;
    }
    Ok(())
}

/// Follows `next_cursor` with `limit=500` down to [`DEEP_ROWS`]; returns the cursor there.
async fn deep_cursor(service: &Service) -> Result<String, BoxError> {
    let mut cursor: Option<String> = None;
    for _ in 0..DEEP_ROWS / FOLLOW_LIMIT {
        let path = match &cursor {
            Some(cursor) => format!("{COLLECTION}?limit={FOLLOW_LIMIT}&cursor={cursor}"),
            None => format!("{COLLECTION}?limit={FOLLOW_LIMIT}"),
        };
        let (status, page, _) = fetch(service, "GET", &path, None).await?;
        expect(status == 200, || format!("{}: {path}: {status} {page}", service.label))?;
        let next =
            page["next_cursor"].as_str().ok_or_else(|| format!("{}: no next_cursor at {path}", service.label))?;
        cursor = Some(next.to_owned());
    }
    cursor.ok_or_else(|| "no cursor".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Create,
    Read,
    Filtered,
    FirstPage,
    DeepPage,
}

impl Endpoint {
    const ALL: [Endpoint; 5] =
        [Endpoint::Read, Endpoint::Filtered, Endpoint::FirstPage, Endpoint::DeepPage, Endpoint::Create];

    fn key(self) -> &'static str {
        match self {
            Endpoint::Create => "create",
            Endpoint::Read => "read",
            Endpoint::Filtered => "filtered",
            Endpoint::FirstPage => "first-page",
            Endpoint::DeepPage => "deep-page",
        }
    }

    fn label(self) -> String {
        match self {
            Endpoint::Create => "create: `POST /raw-data-sources`".to_owned(),
            Endpoint::Read => "get by id: `GET /raw-data-sources/{id}`".to_owned(),
            Endpoint::Filtered => format!("filtered list: `GET {FILTERED}`"),
            Endpoint::FirstPage => format!("first page: `GET {FIRST_PAGE}`"),
            Endpoint::DeepPage => format!("deep page: `GET {FIRST_PAGE}&cursor=…` ({DEEP_ROWS} rows in)"),
        }
    }

    fn config(self) -> Config {
        let max_time = Duration::from_millis(700);
        let (warmup, max_requests) = match self {
            Endpoint::Read => (1_000, 30_000),
            Endpoint::Create => (300, 10_000),
            Endpoint::FirstPage | Endpoint::DeepPage => (150, 5_000),
            Endpoint::Filtered => (50, 5_000),
        };
        Config { connections: CONNECTIONS, warmup, max_requests, max_time }
    }

    fn workload(self, service: &Service, ids: &Arc<Vec<Uuid>>, run: &str) -> Workload {
        let headers = service.load_headers.clone();
        let fixed = |path: String, expect: u16| {
            let headers = headers.clone();
            Workload {
                expect,
                make: Arc::new(move |_: &mut load::Ctx, out: &mut Vec<u8>| load::get(out, &path, &headers)),
            }
        };
        match self {
            Endpoint::Read => {
                let ids = Arc::clone(ids);
                Workload {
                    expect: 200,
                    make: Arc::new(move |ctx, out| {
                        let id = ids[(ctx.next_u64() % ids.len() as u64) as usize];
                        load::get(out, &format!("{COLLECTION}/{id}"), &headers);
                    }),
                }
            }
            Endpoint::Create => {
                let run = run.to_owned();
                Workload {
                    expect: 201,
                    make: Arc::new(move |ctx, out| {
                        let body = format!(
                            r#"{{"name":"bench-{run}-{}-{}","source_type":"api","connection_string":"postgres://etl:s3cret@warehouse.internal:5432/raw","refresh_interval":900,"metadata":{{"owner":"bench"}},"tags":["bench","load"]}}"#,
                            ctx.conn, ctx.seq
                        );
                        load::post_json(out, COLLECTION, body.as_bytes(), &headers);
                    }),
                }
            }
            Endpoint::Filtered => fixed(FILTERED.to_owned(), 200),
            Endpoint::FirstPage => fixed(FIRST_PAGE.to_owned(), 200),
            Endpoint::DeepPage => fixed(format!("{FIRST_PAGE}&cursor={}", service.deep_cursor), 200),
        }
    }
}

/// Median of the rounds of one endpoint on one service.
#[derive(Debug, Clone, Copy)]
struct Summary {
    rps: f64,
    p50: f64,
    p99: f64,
    spread: f64,
    cpu_us: Option<f64>,
    /// Largest average number of cores busy outside the service and the load generator in any round.
    outside_max: Option<f64>,
    requests: u64,
    errors: u64,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

fn summarize(runs: &[Stats]) -> Option<Summary> {
    if runs.is_empty() {
        return None;
    }
    let mut rps: Vec<f64> = runs.iter().map(Stats::throughput).collect();
    let mut p50: Vec<f64> = runs.iter().map(|s| s.percentile_ms(50.0)).collect();
    let mut p99: Vec<f64> = runs.iter().map(|s| s.percentile_ms(99.0)).collect();
    let (min, max) = rps.iter().fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let mut requests: Vec<f64> = runs.iter().map(|s| s.requests as f64).collect();
    let mut cpu: Vec<f64> = runs.iter().filter_map(Stats::cpu_per_request_us).collect();
    Some(Summary {
        cpu_us: (!cpu.is_empty()).then(|| median(&mut cpu)),
        outside_max: runs.iter().filter_map(Stats::outside_cores).reduce(f64::max),
        rps: median(&mut rps),
        p50: median(&mut p50),
        p99: median(&mut p99),
        spread: max / min - 1.0,
        requests: median(&mut requests) as u64,
        errors: runs.iter().map(|s| s.errors).sum(),
    })
}

async fn bench_engine(engine: &Engine, client: &Handle, settings: &Settings) -> Result<String, BoxError> {
    eprintln!("== {}: creating scratch databases", engine.label());
    let generated_db = Scratch::create(engine, "generated").await?;
    let handwritten_db = match Scratch::create(engine, "handwritten").await {
        Ok(scratch) => scratch,
        Err(error) => {
            generated_db.remove().await;
            return Err(error);
        }
    };
    let result = bench_databases(engine, client, settings, &generated_db.url, &handwritten_db.url).await;
    generated_db.remove().await;
    handwritten_db.remove().await;
    result
}

async fn bench_databases(
    engine: &Engine,
    client: &Handle,
    settings: &Settings,
    generated_url: &str,
    handwritten_url: &str,
) -> Result<String, BoxError> {
    // The same schema in both: the generated migration creates it, with an admin API key each.
    let mut keys = Vec::new();
    for url in [handwritten_url, generated_url] {
        let schema_only = Db::connect(url).await?;
        model::migrate(&schema_only, MigrateOptions::default()).await?;
        let admin = NewKey { name: "bench".to_owned(), scopes: vec!["admin".to_owned()], expires_at: None };
        keys.push(api_keys::create(&schema_only, admin).await?.0.expose().clone());
        schema_only.close().await;
    }

    eprintln!("== {}: seeding {SEED_ROWS} rows into each database", engine.label());
    let rows = seed_rows();
    seed(generated_url, &rows).await?;
    seed(handwritten_url, &rows).await?;
    // The seed writes connection strings as plain text; the generated service's migration
    // encrypts them, as it would rows stored before encryption (with the key `main` set).
    let generated = Db::connect(generated_url).await?;
    model::migrate(&generated, MigrateOptions::default()).await?;
    generated.close().await;
    if matches!(engine, Engine::Postgres { .. }) {
        // Encrypting rewrote every row of the generated service's table: without a vacuum
        // (which autovacuum would soon run) it would be measured on a table twice its size with
        // stale statistics. Both tables get one, so that both have a fresh visibility map.
        for url in [generated_url, handwritten_url] {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            sqlx::query("VACUUM ANALYZE raw_data_sources").execute(&mut connection).await?;
            connection.close().await?;
        }
    }
    let ids: Arc<Vec<Uuid>> = Arc::new(rows.iter().map(|r| r.id).collect());

    // The services start only now, on settled databases. In an A/A calibration both slots
    // run the same service, each on its own copy of the data.
    let [first_kind, second_kind] = match settings.calibrate {
        Some(GENERATED_OPEN) => [GENERATED_OPEN, GENERATED],
        Some(GENERATED_UNAUDITED) => [GENERATED_UNAUDITED, GENERATED],
        Some(GENERATED_UNCOUNTED) => [GENERATED_UNCOUNTED, GENERATED],
        Some(GENERATED_UNCOMPRESSED) => [GENERATED_UNCOMPRESSED, GENERATED],
        Some(kind) => [kind, kind],
        None => [HAND_WRITTEN, GENERATED],
    };
    let hand = Service::start(HAND_WRITTEN, first_kind, handwritten_url, &keys[0])?;
    let generated = match Service::start(GENERATED, second_kind, generated_url, &keys[1]) {
        Ok(service) => service,
        Err(error) => {
            hand.stop().await;
            return Err(error);
        }
    };
    let mut services = [hand, generated];
    if let Some(coding) = settings.accept_encoding {
        for service in &mut services {
            service.load_headers.push_str(&format!("Accept-Encoding: {coding}\r\n"));
        }
    }
    let result = measure(engine, client, settings, &mut services, &rows, &ids).await;
    for service in services {
        service.stop().await;
    }
    result
}

async fn measure(
    engine: &Engine,
    client: &Handle,
    settings: &Settings,
    services: &mut [Service; 2],
    rows: &[SeedRow],
    ids: &Arc<Vec<Uuid>>,
) -> Result<String, BoxError> {
    check_contract(services, rows).await?;
    eprintln!("== {}: contract checks passed (same bodies for read and list; 201/409/422/404)", engine.label());
    for service in services.iter_mut() {
        service.deep_cursor = deep_cursor(service).await?;
    }
    // Same data, same order: the deep page starts at the same row in both.
    let mut first_ids = Vec::new();
    for service in services.iter() {
        let path = format!("{FIRST_PAGE}&cursor={}", service.deep_cursor);
        let (_, page, _) = fetch(service, "GET", &path, None).await?;
        first_ids.push(page["items"][0]["id"].clone());
    }
    expect(first_ids[0] == first_ids[1] && first_ids[0] == json!(rows_sorted_at(rows, DEEP_ROWS)), || {
        format!("deep pages start at different rows: {first_ids:?}")
    })?;

    let mut results: Vec<(Endpoint, [Vec<Stats>; 2])> = Vec::new();
    for &endpoint in &settings.endpoints {
        let mut runs: [Vec<Stats>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.rounds {
            // A/B, then B/A: neither service always runs first.
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut line = format!("  {:<10} round {}/{}:", endpoint.key(), round + 1, settings.rounds);
            for index in order.into_iter().filter(|&i| settings.services[i]) {
                let service = &services[index];
                let run_tag = format!("{}-{round}-{}", engine.label().to_lowercase(), service.label);
                let workload = endpoint.workload(service, ids, &run_tag);
                let seed = 0x5eed_0000 + round as u64;
                let stats =
                    client.spawn(load::run(service.addr, service.pid(), workload, endpoint.config(), seed)).await??;
                let _ = write!(
                    line,
                    "  {} {:>6.0} req/s p50 {:.2} ms p99 {:.2} ms cpu {:.0} µs/req, outside {:.1} cores ({} req{})",
                    service.label,
                    stats.throughput(),
                    stats.percentile_ms(50.0),
                    stats.percentile_ms(99.0),
                    stats.cpu_per_request_us().unwrap_or(f64::NAN),
                    stats.outside_cores().unwrap_or(f64::NAN),
                    stats.requests,
                    if stats.errors > 0 { format!(", {} UNEXPECTED", stats.errors) } else { String::new() }
                );
                runs[index].push(stats);
            }
            eprintln!("{line}");
        }
        results.push((endpoint, runs));
    }
    Ok(render(engine, settings, &results))
}

/// The id of the row at `position` in id order.
fn rows_sorted_at(rows: &[SeedRow], position: usize) -> String {
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    ids.sort();
    ids[position].to_string()
}

fn render(engine: &Engine, settings: &Settings, results: &[(Endpoint, [Vec<Stats>; 2])]) -> String {
    let show = |summary: Option<Summary>, value: fn(&Summary) -> f64, precision: usize| {
        summary.map_or("–".to_owned(), |s| format!("{:.*}", precision, value(&s)))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {}: {SEED_ROWS} seeded rows, {CONNECTIONS} connections, median of {} rounds\n",
        engine.label(),
        settings.rounds
    );
    match settings.calibrate {
        Some(GENERATED_OPEN) => {
            let _ = writeln!(
                out,
                "Authentication cost: the first column runs the generated service with authentication off, the second \
                 with it on (API key checked per request).\n"
            );
        }
        Some(GENERATED_UNAUDITED) => {
            let _ = writeln!(
                out,
                "Audit cost: the first column runs the generated service with the audit trail off, the second with \
                 it on (one audit row per write).\n"
            );
        }
        Some(GENERATED_UNCOUNTED) => {
            let _ = writeln!(
                out,
                "Metrics cost: the first column runs the generated service without request metrics, the second with \
                 them (a counter and a histogram per request, by route template).\n"
            );
        }
        Some(GENERATED_UNCOMPRESSED) => {
            let _ = writeln!(
                out,
                "Compression cost: every request asks for `Accept-Encoding: {}`; the first column runs the generated \
                 service with compression off, the second with it on (answers of 1 KiB or more compressed).\n",
                settings.accept_encoding.unwrap_or("?")
            );
        }
        Some(kind) => {
            let _ = writeln!(
                out,
                "A/A calibration: both columns run the {kind} service, each on its own copy of the data.\n"
            );
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "| endpoint | hand-written req/s | generated req/s | generated/hand-written | p50 hand / gen | p99 hand / gen \
         | service CPU per request hand / gen |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    for (endpoint, runs) in results {
        let (hand, generated) = (summarize(&runs[0]), summarize(&runs[1]));
        // Each round ran both services back to back, so the ratio within a round is the least
        // disturbed by whatever else the machine did; the median of those is the figure shown.
        let mut ratios: Vec<f64> = runs[0].iter().zip(&runs[1]).map(|(h, g)| g.throughput() / h.throughput()).collect();
        let ratio = if ratios.is_empty() { "–".to_owned() } else { format!("{:.2}", median(&mut ratios)) };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {ratio} | {} / {} ms | {} / {} ms | {} / {} µs |",
            endpoint.label(),
            show(hand, |s| s.rps, 0),
            show(generated, |s| s.rps, 0),
            show(hand, |s| s.p50, 2),
            show(generated, |s| s.p50, 2),
            show(hand, |s| s.p99, 2),
            show(generated, |s| s.p99, 2),
            show(hand.filter(|s| s.cpu_us.is_some()), |s| s.cpu_us.unwrap_or(f64::NAN), 0),
            show(generated.filter(|s| s.cpu_us.is_some()), |s| s.cpu_us.unwrap_or(f64::NAN), 0),
        );
        let errors = hand.map_or(0, |s| s.errors) + generated.map_or(0, |s| s.errors);
        notes.push(format!(
            "{}: median requests per round {} / {} (hand / gen), round-to-round req/s spread {}% / {}%, \
             CPU busy elsewhere at most {} / {} cores{}",
            endpoint.key(),
            show(hand, |s| s.requests as f64, 0),
            show(generated, |s| s.requests as f64, 0),
            show(hand, |s| s.spread * 100.0, 0),
            show(generated, |s| s.spread * 100.0, 0),
            show(hand.filter(|s| s.outside_max.is_some()), |s| s.outside_max.unwrap_or(f64::NAN), 1),
            show(generated.filter(|s| s.outside_max.is_some()), |s| s.outside_max.unwrap_or(f64::NAN), 1),
            if errors > 0 { format!(", {errors} UNEXPECTED STATUSES") } else { String::new() }
        ));
    }
    let _ = writeln!(
        out,
        "\nreq/s, p50, p99 and CPU: median of the rounds; generated/hand-written: median of the per-round \
         ratios of req/s (both services run back to back in every round). Service CPU: on-CPU time of \
         the service process's threads, per request (SQLite runs inside it; a PostgreSQL server does not)."
    );
    let summary = |endpoint: Endpoint, index: usize| {
        results.iter().find(|(e, _)| *e == endpoint).and_then(|(_, runs)| summarize(&runs[index]))
    };
    let _ = writeln!(out);
    for (index, label) in [(1, "generated"), (0, "hand-written")] {
        if let (Some(first), Some(deep)) = (summary(Endpoint::FirstPage, index), summary(Endpoint::DeepPage, index)) {
            let _ = writeln!(
                out,
                "first page vs deep page ({DEEP_ROWS} rows in, keyset cursor), {label}: p50 {:.2} ms vs {:.2} ms \
                 (deep/first {:.2}), p99 {:.2} ms vs {:.2} ms, {:.0} vs {:.0} req/s",
                first.p50,
                deep.p50,
                deep.p50 / first.p50,
                first.p99,
                deep.p99,
                first.rps,
                deep.rps
            );
        }
    }
    let _ = writeln!(out);
    for note in notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}
