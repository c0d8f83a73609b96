//! The served OpenAPI document against the server that serves it, by a public fuzzer:
//! schemathesis (the version `cargo xtask setup` pins), every check, deterministic generation,
//! 30 examples per operation, the project's `schemathesis.toml`. Over real HTTP on loopback,
//! with authentication on, on both databases, for the RawDataSource example (with its real
//! connectors, under the default egress policy), for the catalog spec and for the library spec
//! (references: the `unknown_reference` 422 and the delete's 409). Any failure fails the test
//! with schemathesis's report.

mod support;

#[path = "../examples/raw_data_sources/connectors.rs"]
#[allow(dead_code)]
mod connectors;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use axum::Router;
use entity_spec::api_keys::{self, NewKey};
use entity_spec::egress::{Egress, EgressPolicy, FileRoots};
use entity_spec::{AuthConfig, Backend, Db, MigrateOptions, ServerLimits, serve_with};
use support::{BACKENDS, TestDb};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

support::order_test_actions!(catalog);

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

support::library_test_actions!(library);

/// The release `cargo xtask setup` installs; the findings below are this version's.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Serves `app` on a free loopback port until the sender is dropped or fired.
async fn serve(app: Router) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds a loopback port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        serve_with(listener, app, ServerLimits::default(), async {
            let _ = stopped.await;
        })
        .await
        .expect("serves");
    });
    (address, stop)
}

async fn admin_key(db: &Db) -> String {
    let new = NewKey { name: "schemathesis".to_owned(), scopes: vec!["admin".to_owned()], expires_at: None };
    let (key, _) = api_keys::create(db, new).await.expect("creates a key");
    key.expose().clone()
}

/// Runs schemathesis against the service at `address` from the workspace root (where its
/// configuration is) and fails with its report unless it found nothing.
async fn fuzz(what: &str, address: SocketAddr, key: &str) {
    let base = format!("http://{address}");
    let key = key.to_owned();
    let what = what.to_owned();
    let run = tokio::task::spawn_blocking(move || {
        let mut command = Command::new("python3");
        command
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .args(["-m", "schemathesis.cli", "run", &format!("{base}/openapi.json"), "--url", &base])
            .args(["--checks", "all", "--max-examples", "30", "--generation-deterministic"])
            .args(["--header", &format!("Authorization: Bearer {key}")])
            .arg("--no-color")
            .env("PYTHONIOENCODING", "utf-8");
        let output = command.output().unwrap_or_else(|e| {
            panic!("cannot run `python3 -m schemathesis.cli` ({e}); `cargo xtask setup` installs it")
        });
        let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "schemathesis found failures in {what}:\n{report}");
        assert!(report.contains("No issues found"), "schemathesis did not report a clean run for {what}:\n{report}");
    });
    run.await.expect("the schemathesis run did not panic");
}

#[test]
fn the_pinned_schemathesis_is_installed() {
    let output = Command::new("python3")
        .args(["-c", "import importlib.metadata as m; print(m.version('schemathesis'))"])
        .output()
        .expect("python3 runs");
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert_eq!(
        version,
        SCHEMATHESIS_VERSION,
        "schemathesis {SCHEMATHESIS_VERSION} is what these findings are pinned to; `cargo xtask setup` installs it ({})",
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_data_source_example_conforms_to_its_document() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        // The example's own connectors under the default policy: syncs of generated sources
        // really try to reach them, and loopback and link-local stay refused.
        let connectors = connectors::Connectors { egress: Egress::new(EgressPolicy::default(), FileRoots::none()) };
        let service = model::service(test_db.db.clone(), connectors).with_auth(AuthConfig::api_keys());
        service.start_workers(&support::quiet_engine()).unwrap();
        let (address, stop) = serve(service.router()).await;
        fuzz(&format!("the RawDataSource example on {}", name(backend)), address, &admin_key(&test_db.db).await).await;
        let _ = stop.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_spec_conforms_to_its_document() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        catalog::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let service = catalog::service(test_db.db.clone(), OrderTestActions).with_auth(AuthConfig::api_keys());
        service.start_workers(&support::quiet_engine()).unwrap();
        let (address, stop) = serve(service.router()).await;
        fuzz(&format!("the catalog spec on {}", name(backend)), address, &admin_key(&test_db.db).await).await;
        let _ = stop.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_spec_with_references_conforms_to_its_document() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        library::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let service = library::service(test_db.db.clone(), Renewals).with_auth(AuthConfig::api_keys());
        let (address, stop) = serve(service.router()).await;
        fuzz(&format!("the library spec on {}", name(backend)), address, &admin_key(&test_db.db).await).await;
        let _ = stop.send(());
    }
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}
