//! The start-up migration generated code calls: the spec's tables
//! ([`crate::storage::migrations`]) and, in the same transaction, the runtime's own tables:
//! runs ([`crate::runs::table`]), API keys ([`crate::auth::api_keys`]) and the audit trail
//! ([`crate::storage::audit`]).

use crate::auth::api_keys;
use crate::model::def::EntityDef;
use crate::runs::table;
use crate::storage::audit;
use crate::storage::db::Db;
use crate::storage::migrations::{MigrateError, MigrateOptions, MigrationReport, migrate_schema};
use crate::storage::schema::RuntimeDdl;

/// Creates or migrates the tables of `entities` and of the runtime (see
/// [`crate::storage::migrations`] for what is applied and what needs an opt-in).
pub async fn migrate(
    db: &Db,
    entities: &[&'static EntityDef],
    spec_hash: &str,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let backend = db.backend();
    let mut runtime_tables = table::schema(backend);
    runtime_tables.extend(api_keys::schema(backend).into_iter().chain(audit::schema(backend)).map(RuntimeDdl::from));
    migrate_schema(db, entities, runtime_tables, spec_hash, options).await
}
