//! {{name}}: the web service generated from `specs/entities.json` by entity-spec.
//!
//! ```sh
//! cargo run                                     # SQLite file ./entity-spec.db, http://127.0.0.1:8000
//! DATABASE_URL=postgres://postgres@127.0.0.1/{{db_name}} BIND_ADDR=0.0.0.0:8080 cargo run
//! ```
//!
//! Logs go to stderr (`RUST_LOG` filters); Ctrl-C or SIGTERM shuts down gracefully.

use std::process::ExitCode;

use entity_spec::{Db, MigrateOptions};

/// Every entity of the spec: types, validators, `router(db)` and `migrate(db, options)`.
#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

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
    println!("serving on http://{address} (workbench: http://{address}/ui, API docs: http://{address}/docs)");
    // Tracked actions (e.g. syncs) run on this process's workers; `model::router` alone would
    // serve the API and leave the runs to another instance on the same database.
    let service = model::service(db.clone());
    service.start_workers(&entity_spec::EngineConfig::from_env())?;
    entity_spec::serve(listener, service.router()).await?;
    db.close().await;
    Ok(())
}
