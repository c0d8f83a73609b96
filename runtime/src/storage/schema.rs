//! What every table the runtime manages has in common: the hidden version column and the
//! column list of entity statements, the declared column type of each field kind on each
//! backend, the names of indexes, and the statements that create the runtime's own tables and
//! add the columns later versions gave them.

use crate::model::def::{EntityDef, FieldKind};
use crate::storage::db::{Backend, Sql};

/// The hidden optimistic-concurrency column of every entity table (field names cannot start
/// with `_`): the ETag, bumped on each write.
pub const VERSION_COLUMN: &str = "_version";

/// The declared type of a field's column. SQLite types are affinities, so each kind gets a
/// distinct name with the affinity it needs (`…TEXT` keeps JSON like `123` from turning into
/// a number) and type changes stay visible to the next migration.
pub fn column_type(backend: Backend, kind: FieldKind) -> &'static str {
    match (backend, kind) {
        (Backend::Postgres, FieldKind::Uuid) => "uuid",
        (Backend::Postgres, FieldKind::String | FieldKind::Text | FieldKind::Enum(_)) => "text",
        (Backend::Postgres, FieldKind::Integer) => "bigint",
        (Backend::Postgres, FieldKind::Float) => "double precision",
        (Backend::Postgres, FieldKind::Boolean) => "boolean",
        (Backend::Postgres, FieldKind::Json) => "jsonb",
        (Backend::Postgres, FieldKind::DateTime) => "timestamp with time zone",
        (Backend::Postgres, FieldKind::Date) => "date",
        (Backend::Sqlite, FieldKind::Uuid) => "UUID_TEXT",
        (Backend::Sqlite, FieldKind::String | FieldKind::Text | FieldKind::Enum(_)) => "TEXT",
        (Backend::Sqlite, FieldKind::Integer) => "INTEGER",
        (Backend::Sqlite, FieldKind::Float) => "REAL",
        (Backend::Sqlite, FieldKind::Boolean) => "BOOLEAN",
        (Backend::Sqlite, FieldKind::Json) => "JSON_TEXT",
        (Backend::Sqlite, FieldKind::DateTime) => "DATETIME_TEXT",
        (Backend::Sqlite, FieldKind::Date) => "DATE_TEXT",
    }
}

/// The name of an index: `<table>_<fields>_key` (unique) or `_idx`, shortened with a hash
/// when longer than PostgreSQL's 63-character limit.
pub fn index_name(table: &str, fields: &[&str], unique: bool) -> String {
    let name = format!("{table}_{}_{}", fields.join("_"), if unique { "key" } else { "idx" });
    if name.len() <= 63 {
        return name;
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{}_{hash:08x}", &name[..54])
}

/// Appends the columns every entity statement reads and writes: the fields in order, then
/// `_version`.
pub fn push_entity_columns(sql: &mut Sql, def: &EntityDef) {
    for (i, field) in def.fields.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(field.name);
    }
    sql.push(", ").push_ident(VERSION_COLUMN);
}

/// `CREATE TABLE IF NOT EXISTS` for a table the runtime owns (runs, API keys, the audit
/// trail): `(name, kind, not null)` per column, the first one the primary key.
pub fn create_runtime_table(backend: Backend, table: &str, columns: &[(&str, FieldKind, bool)]) -> Sql {
    let mut create = Sql::new(backend);
    create.push("CREATE TABLE IF NOT EXISTS ").push_ident(table).push(" (");
    for (name, kind, not_null) in columns {
        create.push_ident(name).push(" ").push(column_type(backend, *kind));
        if *not_null {
            create.push(" NOT NULL");
        }
        create.push(", ");
    }
    create.push("PRIMARY KEY (").push_ident(columns[0].0).push("))");
    create
}

/// A statement the start-up migration runs for a table the runtime owns.
pub enum RuntimeDdl {
    /// Safe to run on every start (`CREATE … IF NOT EXISTS`).
    Always(Sql),
    /// Adds a column a later version gave the table, run only when the table lacks it: a
    /// database made before the column existed catches up, and a new one ends up the same
    /// (both backends lack `ADD COLUMN IF NOT EXISTS`, SQLite at least, so the migration
    /// looks first).
    AddColumn {
        /// The table.
        table: &'static str,
        /// The column it adds.
        column: &'static str,
        /// The `ALTER TABLE … ADD COLUMN` statement.
        add: Sql,
    },
}

impl From<Sql> for RuntimeDdl {
    fn from(statement: Sql) -> RuntimeDdl {
        RuntimeDdl::Always(statement)
    }
}

/// `ALTER TABLE … ADD COLUMN` of a column a later version gave a runtime table. With a
/// `default` (a SQL literal) the column is `NOT NULL` and the rows stored before, like inserts
/// that leave the column out, get the default; without one it is nullable and they hold NULL.
pub fn add_runtime_column(
    backend: Backend,
    table: &'static str,
    column: &'static str,
    kind: FieldKind,
    default: Option<&'static str>,
) -> RuntimeDdl {
    let mut add = Sql::new(backend);
    add.push("ALTER TABLE ").push_ident(table).push(" ADD COLUMN ").push_ident(column);
    add.push(" ").push(column_type(backend, kind));
    if let Some(default) = default {
        add.push(" NOT NULL DEFAULT ").push(default);
    }
    RuntimeDdl::AddColumn { table, column, add }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_fit_postgres() {
        assert_eq!(index_name("raw_data_sources", &["name"], true), "raw_data_sources_name_key");
        assert_eq!(
            index_name("raw_data_sources", &["source_type", "is_active"], false),
            "raw_data_sources_source_type_is_active_idx"
        );
        let long = index_name(&"t".repeat(60), &["a_long_field", "another"], false);
        assert_eq!(long.len(), 63);
        assert_ne!(long, index_name(&"t".repeat(60), &["a_long_field", "other"], false));
    }
}
