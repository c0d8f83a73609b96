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

use std::process::ExitCode;

use entity_spec::ApiError;

mod connectors;

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

use model::{RawDataSource, RawDataSourceTestConnectionResponse};

/// The registry's actions: `sync` stores what reaching the source found, `test` only reports.
pub struct Connectors;

impl model::RawDataSourceActions for Connectors {
    async fn sync(&self, source: &mut RawDataSource) -> Result<String, String> {
        let source_type = source.source_type.map(|t| t.as_str());
        let probe = connectors::probe(source_type, source.connection_string.expose()).await?;
        if let Some(schema) = probe.schema {
            source.schema_definition = Some(schema);
        }
        Ok(probe.message)
    }

    async fn test_connection(&self, source: RawDataSource) -> Result<RawDataSourceTestConnectionResponse, ApiError> {
        let source_type = source.source_type.map(|t| t.as_str());
        let (ok, latency_ms, message) = connectors::test(source_type, source.connection_string.expose()).await;
        Ok(RawDataSourceTestConnectionResponse { ok, latency_ms, message })
    }
}

/// `raw_data_sources` serves the registry; `raw_data_sources keys create|list|revoke` manages
/// its API keys (see `--help`).
#[tokio::main]
async fn main() -> ExitCode {
    entity_spec::run(|db| model::service(db, Connectors)).await
}
