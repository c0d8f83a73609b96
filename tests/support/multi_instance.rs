//! Several instances of the example service on one PostgreSQL database, run as production runs
//! them: the real binary (`examples/raw_data_sources`) started as child processes, behind a
//! small round-robin TCP proxy, driven by CRUD clients and a `sync-all` client. In the fault
//! scenario one instance is stopped with SIGTERM and another killed with SIGKILL under load;
//! afterwards what the database holds is compared with what every client was told.
//!
//! `tests/multi_instance.rs` asserts the comparison; `examples/multi_instance_bench.rs` prints it,
//! with the throughput through one and through three instances.
//!
//! The sources:
//! - **API sources**, created before the load and never touched by the clients: `api` sources
//!   pointing at [`Upstream`], a local HTTP server of the harness that answers after
//!   [`Settings::sync_takes`] (allowed by `ENTITY_SPEC_EGRESS_ALLOW`), so a sync holds a worker
//!   that long and a signal always finds runs in progress. Each `sync-all` must run each of them
//!   exactly once.
//! - **Client sources**, created, read, patched and deleted by the CRUD clients: `webhook`
//!   sources (their sync reaches nothing), each with a unique name.
//!
//! What a client may see go wrong, and nothing else:
//! - **At the kill**: a request in flight through the killed instance fails without an answer
//!   (its connection closes), within [`KILL_WINDOW`] of the kill. Its effect is unknown: a create
//!   so cut may exist once or not at all, a delete may or may not have happened, a patch's value
//!   may or may not be stored; the row checks allow exactly that.
//! - **At the SIGTERM**: at most one request, between the signal and the instance's exit, reset
//!   without an answer: a connection the proxy opened in the instant the instance closed its
//!   listener, which the kernel had completed and no process will read (every server that
//!   closes a listener has this window). Everything the instance accepted, or found waiting in
//!   its listen queue, is answered; after the close the proxy's connections are refused and it
//!   moves on to the next instance.

#![allow(dead_code)] // the test and the benchmark each use part of it

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity_spec::Backend;
use entity_spec::testing::database::{TEST_SECRET_KEY, TestDatabase};
use serde_json::{Value, json};
use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

/// How big a cluster is and how hard it is driven.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Instances of the service.
    pub instances: usize,
    /// Run workers per instance (`ENTITY_SPEC_WORKERS`; also its connections per upstream host).
    pub workers: usize,
    /// Concurrent CRUD clients.
    pub clients: usize,
    /// API sources, each synced by every `sync-all`.
    pub api_sources: usize,
    /// How long the upstream takes to answer an API source's sync.
    pub sync_takes: Duration,
}

impl Settings {
    /// The fault scenario's cluster: three instances of four workers, six CRUD clients, 24 API
    /// sources of half a second each (a `sync-all` takes about a second through three
    /// instances, three through the last one).
    pub const FAULTS: Settings =
        Settings { instances: 3, workers: 4, clients: 6, api_sources: 24, sync_takes: Duration::from_millis(500) };
}

/// Requests failing without an answer are allowed this long after the kill, and only then.
pub const KILL_WINDOW: Duration = Duration::from_secs(2);

/// Requests the terminated instance's listener may reset as it closes (see the module's text).
pub const TERMINATE_RESETS: usize = 1;

/// How long after an instance's exit its client sees a reset it caused.
const NOTICED_WITHIN: Duration = Duration::from_millis(500);

/// What recovery writes on a run whose worker died (`runtime/src/runs/queue.rs`).
const LEASE_EXPIRED: &str = "lease expired";
/// What a worker writes on a run whose item was deleted before it started.
const ITEM_DELETED: &str = "deleted before the run started";

/// The example binary cargo built beside the running one: `target/<profile>/examples/
/// raw_data_sources` (a test runs from `target/<profile>/deps`, an example from
/// `target/<profile>/examples`).
pub fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the running binary has a path");
    let dir = exe.parent().expect("the running binary is in a folder");
    let profile = if dir.ends_with("deps") || dir.ends_with("examples") { dir.parent().unwrap_or(dir) } else { dir };
    let binary = profile.join("examples").join("raw_data_sources");
    assert!(
        binary.is_file(),
        "{} is missing: `cargo test` builds it with every target; when only some targets are built, run \
         `cargo build --example raw_data_sources` (with `--release` for a release run) first",
        binary.display()
    );
    binary
}

/// One instance of the service: a child process, stopped when dropped.
pub struct Instance {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
    /// Its stderr (the log, at `warn`).
    pub log: PathBuf,
    /// The `application_name` of its database connections.
    pub name: String,
}

/// How long an instance may take to listen and then to be ready.
const START_LIMIT: Duration = Duration::from_secs(30);

impl Instance {
    /// Starts `binary` with `env` on an ephemeral loopback port, its database connections
    /// named `name`; returns once `/readyz` is 200.
    fn start(binary: &Path, env: &[(String, String)], name: String, log: PathBuf) -> Instance {
        let stderr = std::fs::File::create(&log).expect("the log file can be created");
        let url = env.iter().find(|(variable, _)| variable == "DATABASE_URL").map(|(_, url)| url.as_str());
        let url = url.expect("a database");
        let separator = if url.contains('?') { '&' } else { '?' };
        let mut child = Command::new(binary)
            .arg("serve")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("DATABASE_URL", format!("{url}{separator}application_name={name}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        // The address is the one of "RawDataSource on http://ADDRESS/raw-data-sources"; the rest
        // of stdout is read to its end, so that the service never blocks on a full pipe.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.split_once(" on http://").and_then(|(_, rest)| rest.split('/').next()) {
                    let _ = found.send(address.to_owned());
                }
            }
        });
        let address: SocketAddr = address
            .recv_timeout(START_LIMIT)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("the instance did not start listening: {}", log_tail(&log)));
        let instance = Instance { child, address, log, name };
        let http = Http::new(address, "");
        let deadline = Instant::now() + START_LIMIT;
        while !matches!(http.send("GET", "/readyz", None), Answer::Status(200, _)) {
            assert!(Instant::now() < deadline, "the instance never became ready: {}", log_tail(&instance.log));
            std::thread::sleep(Duration::from_millis(20));
        }
        instance
    }

    /// Its process id (the first part of the lease owner its workers write).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to end: its exit status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        let pid = libc::pid_t::try_from(self.pid()).expect("a process id fits pid_t");
        let sent = Instant::now();
        // SAFETY: kill(2) on our own child, which has not been waited for, so the id is still
        // its own.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM is delivered");
        let status = self.child.wait().expect("the instance can be waited for");
        (status, sent.elapsed())
    }

    /// Kills the process with SIGKILL and waits until it is gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    /// SIGTERM first (an instrumented build writes its coverage only when it exits by itself),
    /// SIGKILL after a few seconds.
    fn drop(&mut self) {
        if let (Ok(None), Ok(pid)) = (self.child.try_wait(), libc::pid_t::try_from(self.pid())) {
            // SAFETY: as in `terminate`: our own child, not yet waited for.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of a log, for a failure message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!("{} (last lines:)\n{}", log.display(), lines[lines.len().saturating_sub(20)..].join("\n"))
}

/// A round-robin TCP proxy: each client connection goes to the next instance, or to the one
/// after when that one refuses the connection (stopped or killed). Bytes are relayed as they
/// come, so the proxy adds no HTTP of its own: a client sees exactly what an instance sent.
pub struct Proxy {
    /// Where clients connect.
    pub address: SocketAddr,
    stats: Arc<ProxyStats>,
}

struct ProxyStats {
    next: AtomicUsize,
    /// Per instance: connections relayed, connections refused, connections open now.
    relayed: Vec<AtomicU64>,
    refused: Vec<AtomicU64>,
    open: Vec<AtomicI64>,
}

impl Proxy {
    fn start(runtime: &tokio::runtime::Runtime, instances: Vec<SocketAddr>) -> Proxy {
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port for the proxy");
        let address = listener.local_addr().expect("the proxy's address");
        let counters = || instances.iter().map(|_| Default::default()).collect();
        let stats = Arc::new(ProxyStats {
            next: AtomicUsize::new(0),
            relayed: counters(),
            refused: counters(),
            open: instances.iter().map(|_| AtomicI64::new(0)).collect(),
        });
        let shared = stats.clone();
        let instances = Arc::new(instances);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, instances.clone(), shared.clone()));
            }
        });
        Proxy { address, stats }
    }

    /// Connections open to instance `index` now.
    pub fn open(&self, index: usize) -> i64 {
        self.stats.open[index].load(Ordering::SeqCst)
    }

    /// Connections relayed to each instance, and connections each refused.
    pub fn counts(&self) -> (Vec<u64>, Vec<u64>) {
        let load = |counters: &[AtomicU64]| counters.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        (load(&self.stats.relayed), load(&self.stats.refused))
    }
}

async fn relay(mut client: tokio::net::TcpStream, instances: Arc<Vec<SocketAddr>>, stats: Arc<ProxyStats>) {
    let _ = client.set_nodelay(true);
    let first = stats.next.fetch_add(1, Ordering::SeqCst);
    for offset in 0..instances.len() {
        let index = (first + offset) % instances.len();
        match tokio::net::TcpStream::connect(instances[index]).await {
            Ok(mut instance) => {
                let _ = instance.set_nodelay(true);
                stats.relayed[index].fetch_add(1, Ordering::SeqCst);
                stats.open[index].fetch_add(1, Ordering::SeqCst);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut instance).await;
                stats.open[index].fetch_sub(1, Ordering::SeqCst);
                return;
            }
            Err(_) => {
                stats.refused[index].fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    // Every instance refused: the client's connection closes unanswered.
}

/// The upstream API sources point at: answers `GET /data` with a small JSON array after a
/// fixed delay.
pub struct Upstream {
    /// Where it listens.
    pub address: SocketAddr,
}

impl Upstream {
    fn start(runtime: &tokio::runtime::Runtime, delay: Duration) -> Upstream {
        let answer = move || async move {
            tokio::time::sleep(delay).await;
            ([(axum::http::header::CONTENT_TYPE, "application/json")], r#"[{"id": 1, "name": "row"}]"#)
        };
        let app = axum::Router::new().route("/data", axum::routing::get(answer));
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port for the upstream");
        let address = listener.local_addr().expect("the upstream's address");
        runtime.spawn(async move { axum::serve(listener, app).await });
        Upstream { address }
    }
}

/// A blocking HTTP client (ureq) that opens a connection per request, so that the proxy
/// spreads requests, not connections, over the instances.
struct Http {
    agent: ureq::Agent,
    base: String,
    authorization: String,
}

/// What a request got.
enum Answer {
    /// An answer: its status and body.
    Status(u16, String),
    /// No answer: the connection failed or closed first.
    Lost(String),
}

impl Http {
    fn new(address: SocketAddr, key: &str) -> Http {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Http { agent, base: format!("http://{address}"), authorization: format!("Bearer {key}") }
    }

    fn send(&self, method: &str, path: &str, body: Option<(&str, &Value)>) -> Answer {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", &self.authorization);
        let sent = match body {
            Some((content_type, body)) => {
                self.agent.run(request.header("content-type", content_type).body(body.to_string()).expect("a request"))
            }
            None => self.agent.run(request.body(()).expect("a request")),
        };
        match sent.and_then(|mut response| {
            let status = response.status().as_u16();
            Ok((status, response.body_mut().read_to_string()?))
        }) {
            Ok((status, text)) => Answer::Status(status, text),
            Err(error) => Answer::Lost(error.to_string()),
        }
    }
}

/// Queries of the shared database, made from plain threads on the cluster's runtime.
pub struct Database {
    pool: PgPool,
    runtime: tokio::runtime::Handle,
}

impl Database {
    fn block_on<T>(&self, query: impl Future<Output = Result<T, sqlx::Error>>) -> T {
        self.runtime.block_on(query).expect("the test's query of the shared database")
    }

    /// Runs of `sync-all` still queued or running.
    fn active_sync_all(&self) -> i64 {
        self.block_on(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM _entity_spec_runs WHERE trigger = 'sync_all' AND status IN ('queued', 'running')",
            )
            .fetch_one(&self.pool),
        )
    }

    /// Runs queued or running, whatever started them.
    fn active(&self) -> i64 {
        self.block_on(
            sqlx::query_scalar("SELECT COUNT(*) FROM _entity_spec_runs WHERE status IN ('queued', 'running')")
                .fetch_one(&self.pool),
        )
    }

    /// The runs of API sources the process `pid` is running, started within `recent` when given.
    fn held_by(&self, pid: u32, recent: Option<Duration>) -> Vec<Uuid> {
        let recent_ms = recent.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.block_on(
            sqlx::query_scalar(
                "SELECT r.id FROM _entity_spec_runs r JOIN raw_data_sources s ON s.id = r.item_id \
                 WHERE r.status = 'running' AND r.lease_owner LIKE $1 AND s.source_type = 'api' \
                 AND ($2::bigint IS NULL OR r.started_at > now() - make_interval(secs => $2::double precision / 1000))",
            )
            .bind(format!("{pid}-%"))
            .bind(recent_ms)
            .fetch_all(&self.pool),
        )
    }

    /// Connections named `application_name` (an instance's).
    fn connections(&self, application_name: &str) -> i64 {
        self.block_on(
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(application_name)
                .fetch_one(&self.pool),
        )
    }

    /// Every run the process `pid` has running.
    fn running_for(&self, pid: u32) -> Vec<Uuid> {
        self.block_on(
            sqlx::query_scalar("SELECT id FROM _entity_spec_runs WHERE status = 'running' AND lease_owner LIKE $1")
                .bind(format!("{pid}-%"))
                .fetch_all(&self.pool),
        )
    }

    /// API sources whose last sync succeeded.
    fn api_sources_synced(&self) -> i64 {
        self.block_on(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM raw_data_sources WHERE source_type = 'api' AND sync_status = 'success'",
            )
            .fetch_one(&self.pool),
        )
    }

    /// Runs finished within `[from, to]`: all of them, and those of API sources.
    fn finished_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64) {
        self.block_on(
            sqlx::query_as(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE s.source_type = 'api') FROM _entity_spec_runs r \
                 LEFT JOIN raw_data_sources s ON s.id = r.item_id WHERE r.finished_at BETWEEN $1 AND $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(&self.pool),
        )
    }

    fn sources(&self) -> Vec<Source> {
        self.block_on(
            sqlx::query_as("SELECT id, name, source_type, refresh_interval FROM raw_data_sources")
                .fetch_all(&self.pool),
        )
        .into_iter()
        .map(|(id, name, source_type, refresh_interval)| Source { id, name, source_type, refresh_interval })
        .collect()
    }

    fn runs(&self) -> Vec<RunRow> {
        self.block_on(
            sqlx::query_as(
                "SELECT id, item_id, trigger, status, queued_at, finished_at, message FROM _entity_spec_runs",
            )
            .fetch_all(&self.pool),
        )
        .into_iter()
        .map(|(id, item_id, trigger, status, queued_at, finished_at, message)| RunRow {
            id,
            item_id,
            trigger,
            status,
            queued_at,
            finished_at,
            message,
        })
        .collect()
    }

    /// Waits until `active` is 0, at most `limit`; whether it got there.
    fn wait_until(&self, limit: Duration, active: impl Fn(&Database) -> i64) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if active(self) == 0 {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

struct Source {
    id: Uuid,
    name: String,
    source_type: Option<String>,
    refresh_interval: Option<i64>,
}

struct RunRow {
    id: Uuid,
    item_id: Uuid,
    trigger: String,
    status: String,
    queued_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    message: Option<String>,
}

/// Instances of the example on one fresh PostgreSQL database, the upstream of its API sources
/// and the proxy in front. Everything stops when it is dropped.
pub struct Cluster {
    /// The instances, in the proxy's order.
    pub instances: Vec<Instance>,
    /// What clients connect to.
    pub proxy: Proxy,
    /// The upstream of the API sources.
    pub upstream: Upstream,
    /// The shared database, for the checks.
    pub database: Database,
    /// An admin API key (created with the binary's `keys create`).
    key: String,
    settings: Settings,
    test_database: Option<TestDatabase>,
    /// The instances' logs, removed with the cluster unless `keep_logs` (or a panic).
    logs: PathBuf,
    keep_logs: bool,
    runtime: tokio::runtime::Runtime,
}

impl Cluster {
    /// A fresh database, an admin key made by `keys create`, `settings.instances` instances
    /// started at once, the proxy, and the API sources created and synced once each (by the
    /// scheduler: they have never been synced), so that every `sync-all` from now on finds each
    /// of them idle.
    pub fn start(settings: Settings) -> Cluster {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the harness's runtime starts");
        let test_database = runtime.block_on(TestDatabase::new(Backend::Postgres));
        let upstream = Upstream::start(&runtime, settings.sync_takes);
        let binary = example_binary();
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", test_database.url.clone()),
            ("BIND_ADDR", "127.0.0.1:0".to_owned()),
            ("ENTITY_SPEC_SECRET_KEY", TEST_SECRET_KEY.to_owned()),
            ("ENTITY_SPEC_WORKERS", settings.workers.to_string()),
            ("ENTITY_SPEC_EGRESS_PER_HOST", settings.workers.to_string()),
            ("ENTITY_SPEC_EGRESS_ALLOW", upstream.address.to_string()),
            // Recovery of a killed instance's runs happens on the survivors' scheduler ticks.
            ("ENTITY_SPEC_SCHEDULE_SECS", "1".to_owned()),
            // The killed instance's runs must fail by lease expiry and be run again by the next
            // sync-all, as the checks expect; the spec's retries (30 s backoff, tests/run_retries.rs
            // tests them) would hold those sources in a waiting retry past the test's minute.
            ("ENTITY_SPEC_RUN_RETRIES", "off".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        let key = create_key(&binary, &env);
        let logs = std::env::temp_dir()
            .join("entity-spec-multi-instance")
            .join(test_database.url.rsplit('/').next().and_then(|name| name.split('?').next()).unwrap_or("cluster"));
        std::fs::create_dir_all(&logs).expect("the temp folder is writable");
        let instances = std::thread::scope(|scope| {
            let starting: Vec<_> = (0..settings.instances)
                .map(|i| {
                    let log = logs.join(format!("instance-{i}.log"));
                    let (binary, env) = (&binary, &env);
                    scope.spawn(move || Instance::start(binary, env, format!("instance-{i}"), log))
                })
                .collect();
            starting.into_iter().map(|started| started.join().expect("an instance starts")).collect::<Vec<_>>()
        });
        let proxy = Proxy::start(&runtime, instances.iter().map(|i| i.address).collect());
        let pool = runtime
            .block_on(PgPoolOptions::new().max_connections(4).connect(&test_database.url))
            .expect("the test connects to the shared database");
        let database = Database { pool, runtime: runtime.handle().clone() };
        let cluster = Cluster {
            instances,
            proxy,
            upstream,
            database,
            key,
            settings,
            test_database: Some(test_database),
            logs,
            keep_logs: false,
            runtime,
        };
        cluster.create_api_sources();
        cluster
    }

    fn http(&self) -> Http {
        Http::new(self.proxy.address, &self.key)
    }

    fn create_api_sources(&self) {
        let http = self.http();
        for i in 0..self.settings.api_sources {
            let connection = format!("http://{}/data?source={i}", self.upstream.address);
            let body = json!({"name": api_source_name(i), "source_type": "api", "connection_string": connection});
            match http.send("POST", "/raw-data-sources", Some(("application/json", &body))) {
                Answer::Status(201, _) => {}
                Answer::Status(status, text) => panic!("creating API source {i}: {status} {text}"),
                Answer::Lost(error) => panic!("creating API source {i}: {error}"),
            }
        }
        let wanted = i64::try_from(self.settings.api_sources).expect("a count");
        let synced = self.database.wait_until(Duration::from_secs(60), |db| wanted - db.api_sources_synced());
        assert!(synced, "the API sources were not all synced once within a minute");
        // The scheduler queued them, so the last ones may still be finishing their bookkeeping.
        assert!(self.database.wait_until(Duration::from_secs(10), Database::active), "runs left after seeding");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.instances.clear();
        if !self.keep_logs && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.logs);
        }
        let _entered = self.runtime.enter();
        self.runtime.block_on(self.database.pool.close());
        if let Some(test_database) = self.test_database.take() {
            self.runtime.block_on(test_database.db.close());
            drop(test_database);
        }
    }
}

fn api_source_name(i: usize) -> String {
    format!("api-{i}")
}

/// `raw_data_sources keys create --name load --scope admin`: the key it prints.
fn create_key(binary: &Path, env: &[(String, String)]) -> String {
    let output = Command::new(binary)
        .args(["keys", "create", "--name", "load", "--scope", "admin"])
        .envs(env.iter().map(|(name, value)| (name, value)))
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "keys create failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("the key is text").trim().to_owned()
}

/// A request that got no answer, and when that was found.
#[derive(Debug, Clone)]
pub struct Lost {
    at: Instant,
    request: String,
    error: String,
}

/// What one CRUD client was told.
#[derive(Default)]
struct Ledger {
    /// Creates answered 201: name and id.
    created: Vec<(String, Uuid)>,
    /// Creates that got no answer.
    uncertain_creates: Vec<String>,
    /// Deletes answered 204.
    deleted: HashSet<Uuid>,
    /// Deletes that got no answer.
    uncertain_deletes: HashSet<Uuid>,
    /// Per created item, the `refresh_interval` values it may hold: the last one a patch was
    /// answered for, and those of later patches that got no answer.
    intervals: HashMap<Uuid, Vec<i64>>,
    /// Requests answered as expected.
    answered: u64,
    /// Requests that got no answer.
    lost: Vec<Lost>,
    /// Answers other than the expected one.
    unexpected: Vec<String>,
}

/// The spec's default `refresh_interval`: an hour. Patches only raise it, so no client source
/// is due for a scheduled sync again during a run.
const DEFAULT_INTERVAL: i64 = 3600;

/// A CRUD client: creates client sources, reads, patches and deletes its own, until `stop`.
fn crud_client(number: usize, http: Http, stop: &AtomicBool) -> Ledger {
    let mut ledger = Ledger::default();
    let mut live: Vec<Uuid> = Vec::new();
    let mut random = (number as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = |below: usize| {
        random ^= random >> 12;
        random ^= random << 25;
        random ^= random >> 27;
        (random.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % below
    };
    let mut sequence = 0_i64;
    while !stop.load(Ordering::SeqCst) {
        sequence += 1;
        let roll = next(100);
        if live.len() < 4 || roll < 35 {
            let name = format!("client-{number}-{sequence}");
            let body = json!({"name": name, "source_type": "webhook", "connection_string": "https://hooks.example/in"});
            match http.send("POST", "/raw-data-sources", Some(("application/json", &body))) {
                Answer::Status(201, text) => {
                    let id = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|body| body["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()));
                    match id {
                        Some(id) => {
                            ledger.created.push((name, id));
                            ledger.intervals.insert(id, vec![DEFAULT_INTERVAL]);
                            live.push(id);
                            ledger.answered += 1;
                        }
                        None => ledger.unexpected.push(format!("POST {name}: 201 without an id: {text}")),
                    }
                }
                Answer::Status(status, text) => ledger.unexpected.push(format!("POST {name}: {status} {text}")),
                Answer::Lost(error) => {
                    ledger.lost.push(lost(format!("POST {name}"), error));
                    ledger.uncertain_creates.push(name);
                }
            }
            continue;
        }
        let index = next(live.len());
        let id = live[index];
        let path = format!("/raw-data-sources/{id}");
        if roll < 65 {
            match http.send("GET", &path, None) {
                Answer::Status(200, text) => {
                    // Whichever instance answers, it reads what the last answered patch wrote.
                    let interval =
                        serde_json::from_str::<Value>(&text).ok().and_then(|b| b["refresh_interval"].as_i64());
                    if interval.is_some_and(|value| ledger.intervals[&id].contains(&value)) {
                        ledger.answered += 1;
                    } else {
                        let allowed = &ledger.intervals[&id];
                        ledger
                            .unexpected
                            .push(format!("GET {path}: refresh_interval {interval:?}, not one of {allowed:?}"));
                    }
                }
                Answer::Status(status, text) => ledger.unexpected.push(format!("GET {path}: {status} {text}")),
                Answer::Lost(error) => ledger.lost.push(lost(format!("GET {path}"), error)),
            }
        } else if roll < 88 {
            let value = DEFAULT_INTERVAL + sequence;
            let body = json!({"refresh_interval": value});
            match http.send("PATCH", &path, Some(("application/merge-patch+json", &body))) {
                Answer::Status(200, _) => {
                    ledger.intervals.insert(id, vec![value]);
                    ledger.answered += 1;
                }
                Answer::Status(status, text) => ledger.unexpected.push(format!("PATCH {path}: {status} {text}")),
                Answer::Lost(error) => {
                    ledger.lost.push(lost(format!("PATCH {path}"), error));
                    ledger.intervals.entry(id).or_default().push(value);
                }
            }
        } else {
            live.swap_remove(index);
            match http.send("DELETE", &path, None) {
                Answer::Status(204, _) => {
                    ledger.deleted.insert(id);
                    ledger.answered += 1;
                }
                Answer::Status(status, text) => ledger.unexpected.push(format!("DELETE {path}: {status} {text}")),
                Answer::Lost(error) => {
                    ledger.lost.push(lost(format!("DELETE {path}"), error));
                    ledger.uncertain_deletes.insert(id);
                }
            }
        }
    }
    ledger
}

/// A request that got no answer, now.
fn lost(request: String, error: String) -> Lost {
    Lost { at: Instant::now(), request, error }
}

/// One `sync-all`: when it was sent and answered, and how many runs it said it queued (`None`
/// when it got no answer).
#[derive(Debug, Clone)]
struct Round {
    sent: DateTime<Utc>,
    answered: DateTime<Utc>,
    queued: Option<u64>,
}

/// What the `sync-all` client did.
#[derive(Default)]
struct Rounds {
    rounds: Vec<Round>,
    lost: Vec<Lost>,
    unexpected: Vec<String>,
    /// Rounds whose runs did not all end within [`ROUND_LIMIT`].
    unfinished: usize,
}

/// How long a round may take: a killed instance's runs end when their 30-second lease expires.
const ROUND_LIMIT: Duration = Duration::from_secs(60);

/// Calls `sync-all` and waits until every run it queued has ended, again and again; once
/// `stop` is set, one last round (after the current one), then returns.
fn sync_all_rounds(http: Http, database: &Database, stop: &AtomicBool) -> Rounds {
    let mut done = Rounds::default();
    loop {
        let last = stop.load(Ordering::SeqCst);
        let sent = Utc::now();
        let answer = http.send("POST", "/raw-data-sources/sync-all", None);
        let answered = Utc::now();
        let queued = match answer {
            Answer::Status(202, text) => {
                let queued = serde_json::from_str::<Value>(&text).ok().and_then(|b| b["queued"].as_u64());
                if queued.is_none() {
                    done.unexpected.push(format!("POST sync-all: 202 without a count: {text}"));
                }
                queued
            }
            Answer::Status(status, text) => {
                done.unexpected.push(format!("POST sync-all: {status} {text}"));
                None
            }
            Answer::Lost(error) => {
                done.lost.push(lost("POST sync-all".to_owned(), error));
                None
            }
        };
        done.rounds.push(Round { sent, answered, queued });
        if !database.wait_until(ROUND_LIMIT, Database::active_sync_all) {
            done.unfinished += 1;
        }
        if last {
            return done;
        }
    }
}

/// Load through one cluster: CRUD clients and the `sync-all` client for `duration`.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Instances behind the proxy.
    pub instances: usize,
    /// CRUD requests answered as expected, per second.
    pub requests_per_second: f64,
    /// Syncs of API sources finished per second: each holds a worker for
    /// [`Settings::sync_takes`], so at most `instances × workers / sync_takes`.
    pub api_syncs_per_second: f64,
    /// Runs finished per second: the API sources' and the client sources' (scheduled and
    /// `sync-all` runs of webhooks, which reach nothing).
    pub runs_per_second: f64,
    /// Requests that got no or an unexpected answer (0 expected: nothing is stopped).
    pub errors: usize,
}

/// Drives a fresh cluster of `settings.instances` for `duration` and measures it.
pub fn throughput(settings: Settings, duration: Duration) -> Throughput {
    let cluster = Cluster::start(settings);
    let stop = AtomicBool::new(false);
    let (from, began) = (Utc::now(), Instant::now());
    let http = || cluster.http();
    let (ledgers, rounds, elapsed, to) = std::thread::scope(|scope| {
        let (database, stop) = (&cluster.database, &stop);
        let _stop_on_panic = StopOnDrop(stop);
        let clients: Vec<_> =
            (0..settings.clients).map(|n| scope.spawn(move || crud_client(n, http(), stop))).collect();
        let rounds = scope.spawn(move || sync_all_rounds(http(), database, stop));
        std::thread::sleep(duration);
        stop.store(true, Ordering::SeqCst);
        let ledgers: Vec<Ledger> = clients.into_iter().map(|c| c.join().expect("a client ends")).collect();
        let (elapsed, to) = (began.elapsed(), Utc::now());
        (ledgers, rounds.join().expect("the sync-all client ends"), elapsed, to)
    });
    let answered: u64 = ledgers.iter().map(|l| l.answered).sum();
    let errors = ledgers.iter().map(|l| l.lost.len() + l.unexpected.len()).sum::<usize>()
        + rounds.lost.len()
        + rounds.unexpected.len();
    let (runs, api_syncs) = cluster.database.finished_between(from, to);
    let per_second = |count: f64| count / elapsed.as_secs_f64();
    Throughput {
        instances: settings.instances,
        requests_per_second: per_second(answered as f64),
        api_syncs_per_second: per_second(api_syncs as f64),
        runs_per_second: per_second(runs as f64),
        errors,
    }
}

/// When the fault scenario stops and kills instances, counted from the start of the load.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    /// Load before the SIGTERM.
    pub before_terminate: Duration,
    /// Load between the terminated instance's exit and the kill.
    pub before_kill: Duration,
    /// Load after the kill.
    pub after_kill: Duration,
}

impl Timeline {
    /// A few seconds of load around the signals (then the runs the killed instance held take
    /// their 30-second lease to be recovered).
    pub const FAULTS: Timeline = Timeline {
        before_terminate: Duration::from_millis(1500),
        before_kill: Duration::from_secs(1),
        after_kill: Duration::from_secs(2),
    };
}

/// What the fault scenario found. `problems` lists every broken promise, one line each.
#[derive(Debug, Default)]
pub struct FaultReport {
    /// CRUD requests answered as expected.
    pub requests: u64,
    /// Seconds of load.
    pub load_seconds: f64,
    /// `sync-all` rounds, and how many of them got no answer (sent at the kill).
    pub rounds: usize,
    /// Of [`Self::rounds`], those that got no answer.
    pub rounds_unanswered: usize,
    /// Runs the answered `sync-all`s said they queued.
    pub runs_acknowledged: u64,
    /// Of those, runs missing from the runs table.
    pub runs_lost: u64,
    /// Second runs of one source in one `sync-all`, or runs beyond what it acknowledged.
    pub runs_duplicated: u64,
    /// API sources a `sync-all` did not run (each must run once per `sync-all`).
    pub sources_skipped: u64,
    /// Runs still queued or running once everything settled.
    pub runs_stuck: u64,
    /// Runs failed for a reason other than the kill or a deleted source.
    pub runs_failed: u64,
    /// Runs the terminated instance was running when it got SIGTERM.
    pub terminated_held: usize,
    /// Its exit status and how long it took from SIGTERM to exit.
    pub drain: Option<(ExitStatus, Duration)>,
    /// Runs the killed instance was running when it died.
    pub killed_held: usize,
    /// Runs failed by recovery once their lease expired (must be exactly those).
    pub runs_recovered: usize,
    /// From the kill to the last of them failed.
    pub recovery: Option<Duration>,
    /// Connections the proxy had open to the killed instance when it died.
    pub open_at_kill: i64,
    /// Requests that got no answer within [`KILL_WINDOW`] of the kill (allowed).
    pub lost_at_kill: usize,
    /// Requests reset while the terminated instance shut down (at most [`TERMINATE_RESETS`]).
    pub lost_at_terminate: usize,
    /// Rows a client was told exist (201, no delete) that do not, or with another id.
    pub rows_lost: u64,
    /// Names held by more than one row.
    pub rows_duplicated: u64,
    /// Rows no client created (or whose delete was acknowledged).
    pub rows_unexpected: u64,
    /// Rows whose `refresh_interval` is not the last acknowledged patch's value.
    pub updates_lost: u64,
    /// Connections each instance got from the proxy, and refused.
    pub proxy_counts: (Vec<u64>, Vec<u64>),
    /// Every broken promise.
    pub problems: Vec<String>,
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let drain =
            self.drain.map_or("-".to_owned(), |(status, took)| format!("{:.2} s ({status})", took.as_secs_f64()));
        let recovery = self.recovery.map_or("-".to_owned(), |took| format!("{:.1} s", took.as_secs_f64()));
        writeln!(f, "{} CRUD requests answered in {:.1} s of load", self.requests, self.load_seconds)?;
        writeln!(
            f,
            "sync-all: {} rounds ({} unanswered), {} runs acknowledged; lost {}, duplicated {}, sources skipped {}, \
             stuck {}, failed {}",
            self.rounds,
            self.rounds_unanswered,
            self.runs_acknowledged,
            self.runs_lost,
            self.runs_duplicated,
            self.sources_skipped,
            self.runs_stuck,
            self.runs_failed
        )?;
        writeln!(
            f,
            "SIGTERM: {} runs in progress; drained in {drain}; {} requests reset",
            self.terminated_held, self.lost_at_terminate
        )?;
        writeln!(
            f,
            "SIGKILL: {} runs in progress, {} recovered after {recovery}; {} connections open, {} requests lost",
            self.killed_held, self.runs_recovered, self.open_at_kill, self.lost_at_kill
        )?;
        writeln!(
            f,
            "rows: lost {}, duplicated {}, unexpected {}, updates lost {}",
            self.rows_lost, self.rows_duplicated, self.rows_unexpected, self.updates_lost
        )?;
        write!(f, "proxy: connections per instance {:?}, refused {:?}", self.proxy_counts.0, self.proxy_counts.1)
    }
}

/// The instance the fault scenario stops with SIGTERM, and the one it kills.
const TERMINATED: usize = 2;
const KILLED: usize = 1;

/// The fault scenario on a fresh cluster (at least three instances): load through the proxy;
/// SIGTERM to one instance while it runs syncs, then SIGKILL to another just after it started
/// one; load goes on, then stops; the `sync-all` client finishes its round (the killed
/// instance's runs are recovered when their lease expires) and runs one more; then the
/// database is compared with what the clients were told.
pub fn fault_scenario(settings: Settings, timeline: Timeline) -> FaultReport {
    assert!(settings.instances > KILLED.max(TERMINATED), "the scenario stops two instances and keeps one");
    let mut cluster = Cluster::start(settings);
    let mut report = FaultReport::default();
    let stop = AtomicBool::new(false);
    let began = Instant::now();
    let (terminated_pid, killed_pid) = (cluster.instances[TERMINATED].pid(), cluster.instances[KILLED].pid());
    let (proxy, key) = (cluster.proxy.address, cluster.key.clone());
    let http = || Http::new(proxy, &key);
    let (ledgers, rounds, signals, killed_runs) = std::thread::scope(|scope| {
        let (database, stop) = (&cluster.database, &stop);
        // A failed step below must not leave the clients running: the scope waits for them.
        let _stop_on_panic = StopOnDrop(stop);
        let clients: Vec<_> =
            (0..settings.clients).map(|n| scope.spawn(move || crud_client(n, http(), stop))).collect();
        let rounds = scope.spawn(move || sync_all_rounds(http(), database, stop));

        std::thread::sleep(timeline.before_terminate);
        // SIGTERM while the instance runs syncs: it must finish them and its requests, then exit 0.
        report.terminated_held = wait_for_runs(database, terminated_pid, None).len();
        let terminated = Instant::now();
        let (status, took) = cluster.instances[TERMINATED].terminate();
        report.drain = Some((status, took));
        // It closed its pool before exiting: whatever it left running now stays so.
        for run in database.running_for(terminated_pid) {
            report.problems.push(format!("the terminated instance exited with run {run} still running"));
        }

        std::thread::sleep(timeline.before_kill);
        // SIGKILL just after the instance started a sync, so that it dies holding it.
        wait_for_runs(database, killed_pid, Some(Duration::from_millis(200)));
        report.open_at_kill = cluster.proxy.open(KILLED);
        let (killed, killed_utc) = (Instant::now(), Utc::now());
        cluster.instances[KILLED].kill();
        // The process is gone, but a statement it had sent may still commit (a claim, say):
        // once PostgreSQL has closed its last connection, what it holds stays `running` until
        // the lease expires.
        let gone = database.wait_until(Duration::from_secs(10), |db| db.connections(&cluster.instances[KILLED].name));
        assert!(gone, "PostgreSQL kept the killed instance's connections for 10 s");
        let killed_runs: HashSet<Uuid> = database.running_for(killed_pid).into_iter().collect();

        std::thread::sleep(timeline.after_kill);
        stop.store(true, Ordering::SeqCst);
        let ledgers: Vec<Ledger> = clients.into_iter().map(|c| c.join().expect("a client ends")).collect();
        report.load_seconds = began.elapsed().as_secs_f64();
        let signals = Signals { terminated, exited: terminated + took, killed, killed_utc };
        (ledgers, rounds.join().expect("the sync-all client ends"), signals, killed_runs)
    });
    if !cluster.database.wait_until(Duration::from_secs(30), Database::active) {
        report.problems.push("runs were still queued or running 30 s after the last round".to_owned());
    }
    report.killed_held = killed_runs.len();
    report.proxy_counts = cluster.proxy.counts();
    compare(&cluster, &ledgers, &rounds, &signals, &killed_runs, &mut report);
    if !report.problems.is_empty() {
        cluster.keep_logs = true;
        report.problems.push(format!("(the instances' logs are in {})", cluster.logs.display()));
    }
    report
}

/// When the scenario signalled its instances.
struct Signals {
    /// SIGTERM sent, and the instance gone.
    terminated: Instant,
    exited: Instant,
    /// SIGKILL sent.
    killed: Instant,
    killed_utc: DateTime<Utc>,
}

/// Sets the flag when dropped: the load stops however the driving thread ends.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Waits until the process `pid` runs an API source's sync (started within `recent`, when
/// given); those runs.
fn wait_for_runs(database: &Database, pid: u32, recent: Option<Duration>) -> Vec<Uuid> {
    let deadline = Instant::now() + ROUND_LIMIT;
    loop {
        let held = database.held_by(pid, recent);
        if !held.is_empty() {
            return held;
        }
        assert!(Instant::now() < deadline, "instance {pid} ran no sync for a minute");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Compares the database with the clients' ledgers, the rounds and the signals.
fn compare(
    cluster: &Cluster,
    ledgers: &[Ledger],
    rounds: &Rounds,
    signals: &Signals,
    killed_runs: &HashSet<Uuid>,
    report: &mut FaultReport,
) {
    let sources = cluster.database.sources();
    let runs = cluster.database.runs();
    report.requests = ledgers.iter().map(|l| l.answered).sum();
    check_client_errors(ledgers, rounds, signals, report);
    let api_names: Vec<String> = (0..cluster.settings.api_sources).map(api_source_name).collect();
    check_rows(&sources, ledgers, &api_names, report);
    let api_sources: BTreeMap<Uuid, &str> =
        sources.iter().filter(|s| s.source_type.as_deref() == Some("api")).map(|s| (s.id, s.name.as_str())).collect();
    check_rounds(&runs, rounds, &api_sources, report);
    check_run_ends(&runs, rounds, &api_sources, signals, killed_runs, report);
    match report.drain {
        Some((status, _)) if status.success() => {}
        Some((status, _)) => report.problems.push(format!(
            "the terminated instance exited with {status}: {}",
            log_tail(&cluster.instances[TERMINATED].log)
        )),
        None => report.problems.push("the instance was not terminated".to_owned()),
    }
}

/// Only requests cut by the kill got no answer, and at most [`TERMINATE_RESETS`] reset by the
/// terminated instance's closing listener; every answer was the expected one.
fn check_client_errors(ledgers: &[Ledger], rounds: &Rounds, signals: &Signals, report: &mut FaultReport) {
    let mut reset_at_terminate = Vec::new();
    for lost in ledgers.iter().flat_map(|l| &l.lost).chain(&rounds.lost) {
        let after = |at: Instant| lost.at.checked_duration_since(at);
        if after(signals.killed).is_some_and(|after| after <= KILL_WINDOW) {
            report.lost_at_kill += 1;
        } else if after(signals.terminated).is_some() && lost.at <= signals.exited + NOTICED_WITHIN {
            reset_at_terminate.push(lost);
        } else {
            let when = match (after(signals.terminated), after(signals.killed)) {
                (None, _) => "before the SIGTERM".to_owned(),
                (Some(after), None) => format!("{:.2} s after the SIGTERM", after.as_secs_f64()),
                (_, Some(after)) => format!("{:.2} s after the kill", after.as_secs_f64()),
            };
            report.problems.push(format!("{} got no answer {when}: {}", lost.request, lost.error));
        }
    }
    report.lost_at_terminate = reset_at_terminate.len();
    if reset_at_terminate.len() > TERMINATE_RESETS {
        for lost in reset_at_terminate {
            let after = lost.at.duration_since(signals.terminated).as_secs_f64();
            report
                .problems
                .push(format!("{} got no answer {after:.2} s after the SIGTERM: {}", lost.request, lost.error));
        }
    }
    for unexpected in ledgers.iter().flat_map(|l| &l.unexpected).chain(&rounds.unexpected) {
        report.problems.push(format!("unexpected answer: {unexpected}"));
    }
}

/// Every create answered 201 is a row, once, under its id (unless deleted); no delete answered
/// 204 left a row; each row holds its last patch answered 200 (or a later unanswered one's);
/// no row comes from nowhere.
fn check_rows(sources: &[Source], ledgers: &[Ledger], api_names: &[String], report: &mut FaultReport) {
    let mut by_name: HashMap<&str, Vec<&Source>> = HashMap::new();
    for source in sources {
        by_name.entry(source.name.as_str()).or_default().push(source);
    }
    for (name, rows) in &by_name {
        if rows.len() > 1 {
            report.rows_duplicated += 1;
            report.problems.push(format!("{} rows named {name}", rows.len()));
        }
    }
    let mut known: HashSet<&str> = api_names.iter().map(String::as_str).collect();
    for ledger in ledgers {
        known.extend(ledger.uncertain_creates.iter().map(String::as_str));
        for (name, id) in &ledger.created {
            let rows = by_name.get(name.as_str()).map_or(&[][..], Vec::as_slice);
            if ledger.deleted.contains(id) {
                if !rows.is_empty() {
                    report.rows_unexpected += 1;
                    report.problems.push(format!("{name} ({id}) was deleted (204) and is still there"));
                }
                continue;
            }
            known.insert(name);
            match rows {
                [] if ledger.uncertain_deletes.contains(id) => {}
                [] => {
                    report.rows_lost += 1;
                    report.problems.push(format!("{name} ({id}) was created (201) and is gone"));
                }
                [row] if row.id != *id => {
                    report.rows_lost += 1;
                    report.problems.push(format!("{name} was created (201) as {id} and is now {}", row.id));
                }
                [row, ..] => {
                    let allowed = &ledger.intervals[id];
                    if !row.refresh_interval.is_some_and(|value| allowed.contains(&value)) {
                        report.updates_lost += 1;
                        report.problems.push(format!(
                            "{name}: refresh_interval {:?}, the last acknowledged patches set {allowed:?}",
                            row.refresh_interval
                        ));
                    }
                }
            }
        }
    }
    for source in sources {
        if !known.contains(source.name.as_str()) {
            report.rows_unexpected += 1;
            report.problems.push(format!("a row no client created: {} ({})", source.name, source.id));
        }
    }
}

/// Each answered `sync-all` queued the runs it said, one per source, and one for each API source;
/// an unanswered one (cut by the kill) at most one per source.
fn check_rounds(runs: &[RunRow], rounds: &Rounds, api_sources: &BTreeMap<Uuid, &str>, report: &mut FaultReport) {
    report.rounds = rounds.rounds.len();
    let slack = chrono::Duration::milliseconds(1);
    for (number, round) in rounds.rounds.iter().enumerate() {
        let in_round: Vec<&RunRow> = runs
            .iter()
            .filter(|r| {
                r.trigger == "sync_all" && r.queued_at >= round.sent - slack && r.queued_at <= round.answered + slack
            })
            .collect();
        let mut per_item: HashMap<Uuid, u64> = HashMap::new();
        for run in &in_round {
            *per_item.entry(run.item_id).or_default() += 1;
        }
        let repeated: u64 = per_item.values().map(|n| n - 1).sum();
        if repeated > 0 {
            report.runs_duplicated += repeated;
            report.problems.push(format!("sync-all #{number}: {repeated} sources got more than one run"));
        }
        let found = in_round.len() as u64;
        let Some(queued) = round.queued else {
            report.rounds_unanswered += 1;
            continue;
        };
        report.runs_acknowledged += queued;
        if found < queued {
            report.runs_lost += queued - found;
            report.problems.push(format!("sync-all #{number} queued {queued} runs; {found} are in the table"));
        } else if found > queued + repeated {
            report.runs_duplicated += found - queued - repeated;
            report.problems.push(format!("sync-all #{number} queued {queued} runs; {found} are in the table"));
        }
        for (id, name) in api_sources {
            if !per_item.contains_key(id) {
                report.sources_skipped += 1;
                report.problems.push(format!("sync-all #{number} did not run {name}"));
            }
        }
    }
    if rounds.unfinished > 0 {
        report.problems.push(format!("{} sync-all rounds did not end within {ROUND_LIMIT:?}", rounds.unfinished));
    }
}

/// Every run ended: in success; failed by recovery exactly when the killed instance held it
/// (and a later `sync-all` ran again); or failed because its client source was deleted first.
fn check_run_ends(
    runs: &[RunRow],
    rounds: &Rounds,
    api_sources: &BTreeMap<Uuid, &str>,
    signals: &Signals,
    killed_runs: &HashSet<Uuid>,
    report: &mut FaultReport,
) {
    for run in runs {
        match (run.status.as_str(), run.message.as_deref().unwrap_or("")) {
            ("success", _) => {}
            ("failed", message) if message.contains(LEASE_EXPIRED) => {
                report.runs_recovered += 1;
                if !killed_runs.contains(&run.id) {
                    let queued = (signals.killed_utc - run.queued_at).as_seconds_f64();
                    report.problems.push(format!(
                        "run {} ({}, queued {queued:.2} s before the kill) failed by lease expiry, but the killed \
                         instance did not hold it when it was gone",
                        run.id, run.trigger
                    ));
                }
                if let Some(finished) = run.finished_at {
                    let took = (finished - signals.killed_utc).to_std().unwrap_or_default();
                    report.recovery = Some(report.recovery.map_or(took, |longest| longest.max(took)));
                }
            }
            ("failed", message) if message.contains(ITEM_DELETED) && !api_sources.contains_key(&run.item_id) => {}
            ("queued" | "running", _) => {
                report.runs_stuck += 1;
                report
                    .problems
                    .push(format!("run {} ({}, {}) is still {}", run.id, run.trigger, run.item_id, run.status));
            }
            (status, message) => {
                report.runs_failed += 1;
                report.problems.push(format!("run {} ({}) ended {status}: {message}", run.id, run.trigger));
            }
        }
    }
    if report.runs_recovered != killed_runs.len() {
        report.problems.push(format!(
            "the killed instance held {} runs; {} were failed by lease expiry",
            killed_runs.len(),
            report.runs_recovered
        ));
    }
    let recovered_at = runs.iter().filter(|r| killed_runs.contains(&r.id)).filter_map(|r| r.finished_at).max();
    if let (Some(recovered_at), Some(last)) = (recovered_at, rounds.rounds.last())
        && last.sent < recovered_at
    {
        report.problems.push("no sync-all ran the killed instance's sources again after their recovery".to_owned());
    }
}
