//! The start-up migration generated code calls: the spec's tables
//! ([`crate::storage::migrations`]) and, in the same transaction, the runtime's own table of
//! runs ([`crate::runs::table`]).

use crate::model::def::EntityDef;
use crate::runs::table;
use crate::storage::db::Db;
use crate::storage::migrations::{MigrateError, MigrateOptions, MigrationReport, migrate_schema};

/// Creates or migrates the tables of `entities` and of the runtime (see
/// [`crate::storage::migrations`] for what is applied and what needs an opt-in).
pub async fn migrate(
    db: &Db,
    entities: &[&'static EntityDef],
    spec_hash: &str,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    migrate_schema(db, entities, table::schema(db.backend()), spec_hash, options).await
}
