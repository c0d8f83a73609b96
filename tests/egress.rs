//! What the RawDataSource service's connectors may not reach, through the HTTP API as a user
//! sees it: local and link-local servers (directly, by name, or through a redirect), files
//! outside the file roots and files that are not regular files, SQLite files outside the roots
//! and the service's own database; URLs with CR/LF refused at create and update; secrets of a
//! PostgreSQL URL absent from every answer and log line; slow hosts that do not hold up the
//! others. Each test builds the connectors with its own egress policy (never the process
//! environment).

mod support;

#[path = "../examples/raw_data_sources/connectors.rs"]
#[allow(dead_code)]
mod connectors;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use entity_spec::egress::{Egress, EgressPolicy, FileRoots, HostLimiter};
use entity_spec::{Backend, EngineConfig, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb, send};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

use connectors::Connectors;

fn policy(allow: &str) -> EgressPolicy {
    EgressPolicy::default().allow(allow).unwrap()
}

async fn service(test_db: &TestDb, egress: Egress, workers: usize) -> Router {
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    support::started(
        model::service(test_db.db.clone(), Connectors { egress }),
        EngineConfig { workers, ..support::quiet_engine() },
    )
}

async fn create(app: &Router, kind: &str, connection: &str) -> String {
    let body = json!({"name": format!("{kind}-{}", uuid::Uuid::new_v4().simple()), "source_type": kind, "connection_string": connection});
    let created = send(app, "POST", "/raw-data-sources", Some(body), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// `POST …/test` of a new source: `(ok, message)`.
async fn try_source(app: &Router, kind: &str, connection: &str) -> (bool, String) {
    let id = create(app, kind, connection).await;
    let answer = send(app, "POST", &format!("/raw-data-sources/{id}/test"), None, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    (answer.body["ok"].as_bool().unwrap(), answer.body["message"].as_str().unwrap().to_owned())
}

async fn source(app: &Router, id: &str) -> Value {
    send(app, "GET", &format!("/raw-data-sources/{id}"), None, &[]).await.body
}

/// Polls the source until its status is final (bounded: 30 s).
async fn settled(app: &Router, id: &str) -> Value {
    for _ in 0..300 {
        let item = source(app, id).await;
        if matches!(item["sync_status"].as_str(), Some("success" | "failed")) {
            return item;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("source {id} did not finish syncing: {}", source(app, id).await);
}

/// A local HTTP server answering every request with `response` (a whole HTTP/1.1 response
/// but its `content-length`), counting requests.
async fn http_server(status_line: &str, headers: &str, body: &str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let response =
        format!("{status_line}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (counted, response) = (counted.clone(), response.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 4096];
                if socket.read(&mut buffer).await.unwrap_or(0) > 0 {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, requests)
}

async fn json_api() -> (String, Arc<AtomicUsize>) {
    http_server("HTTP/1.1 200 OK", "content-type: application/json\r\n", r#"{"items": [{"id": 1}]}"#).await
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("entity-spec-egress-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn api_sources_cannot_reach_local_or_metadata_addresses_unless_allowed() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let (url, requests) = json_api().await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let app = service(&test_db, Egress::new(EgressPolicy::default(), FileRoots::none()), 2).await;

    let (ok, message) = try_source(&app, "api", &url).await;
    assert!(!ok);
    assert!(
        message
            .ends_with("is refused by the egress policy (loopback); allow it with ENTITY_SPEC_EGRESS_ALLOW=127.0.0.1"),
        "{message}"
    );
    let (ok, by_name) = try_source(&app, "api", &format!("http://localhost:{port}/")).await;
    assert!(!ok && by_name.starts_with("localhost (") && by_name.contains("(loopback)"), "{by_name}");
    let (ok, mapped) = try_source(&app, "api", &format!("http://[::ffff:127.0.0.1]:{port}/")).await;
    assert!(!ok && mapped.contains("(loopback)"), "{mapped}");
    // A sync fails the same way, at once: refused, not timed out.
    let metadata = create(&app, "api", "http://169.254.169.254/latest/meta-data/iam/").await;
    send(&app, "POST", &format!("/raw-data-sources/{metadata}/sync"), None, &[]).await;
    let failed = settled(&app, &metadata).await;
    assert_eq!(failed["sync_status"], "failed");
    let error = failed["error_message"].as_str().unwrap();
    assert!(error.starts_with("169.254.169.254:80 is refused by the egress policy (link-local"), "{error}");
    assert!(!error.contains("timed out"), "{error}");
    assert_eq!(requests.load(Ordering::SeqCst), 0, "no request reached the local server");

    // With 127.0.0.1 allowed, the same source syncs.
    let app = service(&test_db, Egress::new(policy("127.0.0.1"), FileRoots::none()), 2).await;
    let (ok, message) = try_source(&app, "api", &format!("{url}/v1/items")).await;
    assert!(ok, "{message}");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_refused_before_it_is_followed() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let (target, target_requests) = json_api().await;
    let (redirector, redirector_requests) =
        http_server("HTTP/1.1 302 Found", &format!("location: {target}/secret\r\n"), "").await;
    // Only the redirecting server's port is allowed.
    let allowed = redirector.trim_start_matches("http://").to_owned();
    let app = service(&test_db, Egress::new(policy(&allowed), FileRoots::none()), 2).await;
    let (ok, message) = try_source(&app, "api", &redirector).await;
    assert!(!ok);
    let target_addr = target.trim_start_matches("http://");
    assert!(message.starts_with(&format!("{target_addr} is refused by the egress policy (loopback)")), "{message}");
    assert_eq!(redirector_requests.load(Ordering::SeqCst), 1);
    assert_eq!(target_requests.load(Ordering::SeqCst), 0, "the redirect target never received a request");
}

#[tokio::test]
async fn connection_strings_with_line_breaks_spaces_or_control_characters_are_a_422() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, Egress::new(EgressPolicy::default(), FileRoots::none()), 0).await;
        let id = create(&app, "api", "http://api.example/v1").await;
        for bad in [
            "http://127.0.0.1:6379/\r\nSET injected 1\r\n",
            "http://api.example/v1\nHost: evil",
            "http://api.example/a b",
            "postgres://etl@db/warehouse\u{0}",
            "http://api.example/\u{7f}",
            " http://api.example/",
        ] {
            let body = json!({"name": "bad", "source_type": "api", "connection_string": bad});
            let created = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
            created.problem(StatusCode::UNPROCESSABLE_ENTITY);
            // `pattern`, or `invalid_character` for a NUL, which no text column may hold.
            assert_eq!(created.error_fields(), ["connection_string"], "{backend:?} {bad:?}: {}", created.text);
            assert!(!created.text.contains("injected") && !created.text.contains("evil"), "{}", created.text);
            let patched =
                send(&app, "PATCH", &format!("/raw-data-sources/{id}"), Some(json!({"connection_string": bad})), &[])
                    .await;
            patched.problem(StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(patched.error_fields(), ["connection_string"], "{backend:?} {bad:?}: {}", patched.text);
        }
        let body = json!({"name": "forever", "connection_string": "x", "refresh_interval": i64::MAX});
        let huge = send(&app, "POST", "/raw-data-sources", Some(body), &[]).await;
        huge.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(huge.error_codes(), [("refresh_interval".to_owned(), "max".to_owned())], "{backend:?}");
    }
}

#[tokio::test]
async fn file_sources_read_regular_files_under_the_roots_only() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let root = temp_dir("root");
    let outside = temp_dir("outside");
    std::fs::write(outside.join("secret.csv"), "password\nhunter2\n").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.csv"), root.join("link.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.csv")).unwrap();
    std::fs::create_dir(root.join("folder.csv")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(root.join("pipe.csv")).status().unwrap().success());
    // Sparse: 100 MiB on paper, nothing on disk; refused from its size, never read.
    std::fs::File::create(root.join("huge.csv")).unwrap().set_len(100 * 1024 * 1024).unwrap();
    std::fs::write(root.join("quoted.csv"), "id,comment,score\n1,\"hello, world\",2.5\n2,\"two\nlines\",3\n").unwrap();

    // Without roots, file sources are off.
    let app = service(&test_db, Egress::new(EgressPolicy::default(), FileRoots::none()), 1).await;
    let (ok, message) = try_source(&app, "file", root.join("quoted.csv").to_str().unwrap()).await;
    assert!(!ok && message.starts_with("file sources are turned off: set ENTITY_SPEC_FILE_ROOTS"), "{message}");

    let app = service(&test_db, Egress::new(EgressPolicy::default(), FileRoots::new([&root]).unwrap()), 1).await;
    let at = |name: &str| root.join(name).display().to_string();
    for (connection, expected) in [
        (outside.join("secret.csv").display().to_string(), "is outside the file roots"),
        ("/etc/passwd.csv".to_owned(), "is outside the file roots"),
        (format!("file://{}/../{}", root.display(), "x.csv"), "is outside the file roots"),
        (at("link.csv"), "leads (through a symbolic link) outside the file roots"),
        (at("zero.csv"), "leads (through a symbolic link) outside the file roots"),
        (at("folder.csv"), "is a folder, not a regular file"),
        (at("pipe.csv"), "is a FIFO, not a regular file"),
        (at("huge.csv"), "is 104857600 bytes, more than the 67108864-byte limit for file sources"),
    ] {
        let (ok, message) = try_source(&app, "file", &connection).await;
        assert!(!ok && message.contains(expected), "{connection}: {message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    let id = create(&app, "file", &format!("file://{}", at("quoted.csv"))).await;
    send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
    let synced = settled(&app, &id).await;
    assert_eq!(synced["sync_status"], "success", "{synced}");
    assert_eq!(
        synced["schema_definition"],
        json!({"format": "csv", "rows": 2, "columns": [
            {"name": "id", "type": "integer"}, {"name": "comment", "type": "string"}, {"name": "score", "type": "number"}
        ]})
    );
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_dir_all(outside).unwrap();
}

#[tokio::test]
async fn a_device_is_refused_as_a_device() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    // `/dev` is a root here only so that the device check, not the roots, is what refuses.
    let app = service(&test_db, Egress::new(EgressPolicy::default(), FileRoots::new(["/dev"]).unwrap()), 1).await;
    let (ok, message) = try_source(&app, "database", "sqlite:///dev/zero").await;
    assert!(!ok && message.ends_with("is a device, not a regular file"), "{message}");
}

#[tokio::test]
async fn sqlite_sources_outside_the_roots_and_the_service_own_database_are_refused() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let own = test_db.url.trim_start_matches("sqlite://").to_owned();
    let tests_dir = Path::new(&own).parent().unwrap().to_owned();
    let other = TestDb::new(Backend::Sqlite).await;
    let elsewhere = temp_dir("elsewhere");
    let outside_db = elsewhere.join("outside.db");
    std::fs::copy(other.url.trim_start_matches("sqlite://"), &outside_db).unwrap();
    let egress = Egress::new(EgressPolicy::default(), FileRoots::new([&tests_dir]).unwrap()).with_own_file(&own);
    let app = service(&test_db, egress, 1).await;

    let (ok, message) = try_source(&app, "database", &test_db.url).await;
    assert!(!ok && message.ends_with("is this service's own database"), "{message}");
    let (ok, message) = try_source(&app, "database", &format!("sqlite:{own}?mode=rwc")).await;
    assert!(!ok && message.ends_with("is this service's own database"), "{message}");
    let (ok, message) = try_source(&app, "database", &format!("sqlite://{}", outside_db.display())).await;
    assert!(!ok && message.contains("is outside the file roots"), "{message}");
    // Another database under the roots is read, read-only.
    let (ok, message) = try_source(&app, "database", &other.url).await;
    assert!(ok, "{message}");
    std::fs::remove_dir_all(elsewhere).unwrap();
}

/// Every log line of this test binary at every level, as written (the redactor of
/// `entity_spec::init_tracing` is not in the way: what is checked is what libraries emit).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in this binary");
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_secrets_of_a_postgres_url_reach_no_answer_history_error_or_log_line() {
    if !support::postgres_enabled() {
        eprintln!("not run: this run is SQLite-only (ENTITY_SPEC_TEST_BACKENDS)");
        return;
    }
    let logs = captured_logs();
    tracing::info!("log capture works");
    let source_db = TestDb::new(Backend::Postgres).await;
    let (admin_url, database) = source_db.url.rsplit_once('/').unwrap();
    let with_password = admin_url.replacen("postgres://postgres@", "postgres://postgres:Pw-SECRET-1@", 1);
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        let app = service(&test_db, Egress::new(policy("127.0.0.1"), FileRoots::none()), 2).await;
        let good = format!("{with_password}/{database}?api_key=Key-SECRET-2&sslmode=disable&application_name=probe");
        let missing = format!("{with_password}/no_such_database_here?api_key=Key-SECRET-2&access_token=Tok-SECRET-3");
        let mut texts = Vec::new();
        for (connection, expect_ok) in [(good, true), (missing, false)] {
            let id = create(&app, "database", &connection).await;
            let test = send(&app, "POST", &format!("/raw-data-sources/{id}/test"), None, &[]).await;
            assert_eq!(test.body["ok"], expect_ok, "{backend:?}: {}", test.text);
            send(&app, "POST", &format!("/raw-data-sources/{id}/sync"), None, &[]).await;
            let item = settled(&app, &id).await;
            let expected_status = if expect_ok { "success" } else { "failed" };
            assert_eq!(item["sync_status"], expected_status, "{backend:?}: {item}");
            let history = send(&app, "GET", &format!("/raw-data-sources/{id}/syncs"), None, &[]).await;
            texts.extend([test.text, item.to_string(), history.text]);
        }
        let failed = &texts[4];
        assert!(failed.contains("no_such_database_here"), "{backend:?}: the error says what failed: {failed}");
        let list = send(&app, "GET", "/raw-data-sources", None, &[]).await;
        texts.push(list.text);
        for text in texts {
            for secret in ["Pw-SECRET-1", "Key-SECRET-2", "Tok-SECRET-3"] {
                assert!(!text.contains(secret), "{backend:?}: {secret} leaked: {text}");
            }
        }
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("log capture works"), "the capture sees log lines");
    for secret in ["Pw-SECRET-1", "Key-SECRET-2", "Tok-SECRET-3"] {
        assert!(!logs.contains(secret), "{secret} reached a log line");
    }
}

#[tokio::test]
async fn hosts_that_never_answer_do_not_hold_up_the_other_sources() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    // Accepts every connection and never answers (the sockets are kept open).
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("http://{}/", black_hole.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let (good_url, good_requests) = json_api().await;
    let egress = Egress::new(policy("127.0.0.1"), FileRoots::none())
        .with_host_limiter(HostLimiter::new(2, entity_spec::egress::host_limit::DEFAULT_PERMIT_WAIT));
    // Three workers for five sources; the slow ones are queued first.
    let app = service(&test_db, egress, 3).await;
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(create(&app, "api", &hole_url).await);
    }
    let good = create(&app, "api", &good_url).await;
    assert_eq!(send(&app, "POST", "/raw-data-sources/sync-all", None, &[]).await.body, json!({"queued": 5}));

    let synced = settled(&app, &good).await;
    assert_eq!(synced["sync_status"], "success", "{synced}");
    assert_eq!(good_requests.load(Ordering::SeqCst), 1);
    let mut still_running = 0;
    for id in &slow {
        if !matches!(source(&app, id).await["sync_status"].as_str(), Some("success" | "failed")) {
            still_running += 1;
        }
    }
    assert!(still_running >= 1, "the good source finished while slow ones were still waiting for their host");

    let mut outcomes = Vec::new();
    for id in &slow {
        let item = settled(&app, id).await;
        assert_eq!(item["sync_status"], "failed");
        outcomes.push(item["error_message"].as_str().unwrap().to_owned());
    }
    let busy = outcomes.iter().filter(|m| m.contains("already has 2 connection(s) in flight")).count();
    let timed_out = outcomes.iter().filter(|m| m.contains("timed out")).count();
    assert!(busy >= 2 && timed_out >= 1 && busy + timed_out == 4, "{outcomes:#?}");
}
