//! {{name}}: the web service generated from `specs/entities.json` by entity-spec.
//!
//! ```sh
//! cargo run                                     # SQLite file ./entity-spec.db, http://127.0.0.1:8000
//! DATABASE_URL=postgres://postgres@127.0.0.1/{{db_name}} BIND_ADDR=0.0.0.0:8080 cargo run
//! ```
//!
//! Every route needs `Authorization: Bearer <API key>`. Logs go to stderr (`RUST_LOG` filters);
//! Ctrl-C or SIGTERM shuts down gracefully.

use std::process::ExitCode;

/// Every entity of the spec: types, validators, `service(db)`, `router(db)` and `migrate(db, options)`.
#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

/// `{{name}}` serves the API (the first start prints an admin API key, once);
/// `{{name}} keys create --name NAME --scope SCOPE`, `keys list` and `keys revoke ID` manage keys.
#[tokio::main]
async fn main() -> ExitCode {
    entity_spec::run(model::service).await
}
