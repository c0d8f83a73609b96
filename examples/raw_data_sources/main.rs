//! The RawDataSource registry: the HTTP service generated from `specs/entities.json`, with
//! syncs and connection tests that really reach each source (see `connectors.rs`).
//!
//! ```sh
//! cargo run --example raw_data_sources                       # SQLite file ./entity-spec.db
//! DATABASE_URL=postgres://postgres@127.0.0.1/registry \
//! BIND_ADDR=0.0.0.0:8080 cargo run --example raw_data_sources
//! ```
//!
//! The first start prints an admin API key (once) and a link that signs the workbench in;
//! `cargo run --example raw_data_sources -- keys create --name ci --scope raw_data_sources:read`
//! makes narrower ones. Logs go to stderr (`RUST_LOG` filters); Ctrl-C or SIGTERM shuts down
//! gracefully.
//!
//! Connectors reach out under the egress policy (`docs/security.md`): loopback, link-local
//! and this service's own address are refused, and file sources are off, unless opened:
//!
//! ```sh
//! ENTITY_SPEC_EGRESS_ALLOW=127.0.0.1 ENTITY_SPEC_FILE_ROOTS=$PWD/data cargo run --example raw_data_sources
//! ```

use std::process::ExitCode;

use entity_spec::egress::Egress;

mod connectors;

use connectors::Connectors;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

/// `raw_data_sources` serves the registry; `raw_data_sources keys create|list|revoke` manages
/// its API keys (see `--help`).
#[tokio::main]
async fn main() -> ExitCode {
    let egress = match Egress::from_env() {
        Ok(egress) => egress,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Sources must not reach this service itself, nor read its own SQLite file.
    let mut egress = egress;
    if let Some(path) = sqlite_path(&entity_spec::database_url_from_env()) {
        egress = egress.with_own_file(path);
    }
    for addr in std::net::ToSocketAddrs::to_socket_addrs(&entity_spec::bind_addr_from_env()).into_iter().flatten() {
        egress = egress.with_own_listener(addr);
    }
    entity_spec::run(move |db| {
        for line in egress.opt_outs() {
            tracing::warn!("{line}");
        }
        model::service(db, Connectors { egress })
    })
    .await
}

/// The file of a `sqlite:` URL (`sqlite://./entity-spec.db?mode=rwc` → `./entity-spec.db`);
/// another URL names no local file.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    rest.split('?').next().filter(|path| !path.is_empty())
}
