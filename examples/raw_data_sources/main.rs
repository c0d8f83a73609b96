//! The RawDataSource registry: the HTTP service generated from `specs/entities.json`, with
//! syncs and connection tests that really reach each source (see `connectors.rs`).
//!
//! ```sh
//! cargo run --example raw_data_sources                       # SQLite file ./entity-spec.db
//! DATABASE_URL=postgres://postgres@127.0.0.1/registry \
//! BIND_ADDR=0.0.0.0:8080 cargo run --example raw_data_sources
//! ```
//!
//! Logs go to stderr (`RUST_LOG` filters); Ctrl-C or SIGTERM shuts down gracefully.

use std::process::ExitCode;

use entity_spec::{ApiError, Db, EngineConfig, MigrateOptions};

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

#[tokio::main]
async fn main() -> ExitCode {
    entity_spec::init_tracing();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let database_url = entity_spec::database_url_from_env();
    let bind_addr = entity_spec::bind_addr_from_env();
    println!("database: {} (set DATABASE_URL to change)", entity_spec::redact_url(&database_url));
    let db = Db::connect(&database_url).await.map_err(|e| format!("cannot open the database: {e}"))?;
    let report = model::migrate(&db, MigrateOptions::from_env()).await?;
    for change in &report.applied {
        println!("migrated: {change}");
    }
    let listener = tokio::net::TcpListener::bind(&bind_addr)
        .await
        .map_err(|e| format!("cannot listen on {bind_addr} (set BIND_ADDR to change): {e}"))?;
    let address = listener.local_addr()?;
    println!("RawDataSource registry on http://{address}/raw-data-sources (set BIND_ADDR to change)");
    println!("Workbench on http://{address}/ui/raw-data-sources");
    println!("API docs on http://{address}/docs (OpenAPI document: /openapi.json)");
    // Syncs run in this process; another instance on the same PostgreSQL database may run them too.
    let service = model::service(db.clone(), Connectors);
    service.start_workers(&EngineConfig::from_env())?;
    entity_spec::serve(listener, service.router()).await?;
    db.close().await;
    Ok(())
}
