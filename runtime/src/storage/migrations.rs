//! Schema migration from the spec, at startup.
//!
//! Tables, unique constraints and indexes are created from the spec. When the spec changes,
//! additive changes (a new nullable field, a field with a default, a new index, a relaxed
//! NOT NULL) are applied in place, keeping every row. Destructive or type-changing changes
//! (a dropped column, a changed type, a tightened NOT NULL) stop startup with one line per
//! change, unless the operator sets `ENTITY_SPEC_ALLOW_DESTRUCTIVE=1`. Changes that would make
//! stored rows unreadable (enum values still in use, NULLs in a column becoming NOT NULL, a
//! new required field without default on a table with rows) are refused either way.
//!
//! The runtime's own tables (runs) are created in the same pass, from statements the caller
//! passes in (the start-up migration, `serve::migrate`, passes those of `runs::table`); the
//! columns a later version gave them are added where they are missing, reported when the
//! table was there before.
//!
//! References between entities are real foreign keys on both backends, named by
//! [`foreign_key_name`], each referencing column with an index of its own; tables are created
//! referenced ones first. A reference added to (or changed on) an existing column first counts
//! the rows whose value names no row of the referenced entity and refuses with that count; on
//! PostgreSQL the constraint is then added in place, on SQLite (which cannot add constraints)
//! the table is rebuilt. SQLite migrates with foreign keys off (see [`Db::begin_migration`])
//! and checks every reference before it commits.
//!
//! The full-text index of the `searchable` fields ([`crate::storage::search`]) is created with
//! the table, filled from the rows when it is added to an existing one, replaced when the
//! searchable fields change and dropped when none is left; a SQLite rebuild keeps the rows'
//! rowids, which the index refers to.
//!
//! Sensitive values stored in plain text (by a version before they were encrypted) are sealed
//! in the same pass, and a database holding values under a key that is not configured stops
//! startup naming the key ([`crate::storage::sealed_columns`]).
//!
//! Everything runs in one transaction (DDL is transactional on both backends), under an
//! advisory lock on PostgreSQL so instances starting together migrate once. Each applied
//! change set is recorded in `_entity_spec_migrations` with the spec's hash.

use chrono::Utc;

use entity_spec_contract::references::foreign_key_name;

use crate::model::def::{DefaultDef, EntityDef, FieldDef, FieldKind, ReferenceDef, Setter};
use crate::model::value::{SqlType, SqlValue};
use crate::storage::column::sqlite_timestamp;
use crate::storage::db::{Backend, Db, Sql, Tx};
use crate::storage::schema::{RuntimeDdl, VERSION_COLUMN, column_type, index_name};
use crate::storage::sealed_columns::{SealedColumnsError, seal_stored};
use crate::storage::search;

/// The table recording applied migrations.
pub const MIGRATIONS_TABLE: &str = "_entity_spec_migrations";

/// `1`, `true` or `yes`: let a migration convert or drop stored values.
pub const ALLOW_DESTRUCTIVE_VAR: &str = "ENTITY_SPEC_ALLOW_DESTRUCTIVE";

/// How far a migration may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Apply destructive changes (drop columns, change types, tighten NOT NULL).
    pub allow_destructive: bool,
}

impl MigrateOptions {
    /// Reads `ENTITY_SPEC_ALLOW_DESTRUCTIVE` (`1` or `true` to opt in).
    pub fn from_env() -> Self {
        let value = std::env::var(ALLOW_DESTRUCTIVE_VAR).unwrap_or_default();
        MigrateOptions { allow_destructive: matches!(value.trim(), "1" | "true" | "yes") }
    }
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// One line per applied change, e.g. `raw_data_sources: add column tags`.
    pub applied: Vec<String>,
}

/// Why a migration stopped. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The spec needs changes that are not allowed; one line each.
    #[error("the spec changes the database in ways that need a decision:\n{}", .0.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n"))]
    Refused(Vec<String>),
    /// The sensitive columns cannot be read with the configured keys (or have no key).
    #[error("{0}")]
    Secrets(SealedColumnsError),
    /// The database failed.
    #[error("migration failed, nothing was changed: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<SealedColumnsError> for MigrateError {
    fn from(error: SealedColumnsError) -> Self {
        match error {
            SealedColumnsError::Database(error) => MigrateError::Database(error),
            error => MigrateError::Secrets(error),
        }
    }
}

/// Brings the database to the spec, after creating or catching up the runtime's own tables
/// with `runtime_tables` (statements for this backend, in order). See the module docs for what
/// is applied.
pub async fn migrate_schema(
    db: &Db,
    entities: &[&'static EntityDef],
    runtime_tables: Vec<RuntimeDdl>,
    spec_hash: &str,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let mut tx = db.begin_migration().await?;
    let backend = tx.backend();
    let entities = in_dependency_order(entities);
    if backend == Backend::Postgres {
        // Instances starting together queue here instead of racing on CREATE TABLE.
        let mut lock = Sql::new(backend);
        lock.push("SELECT pg_advisory_xact_lock(").push_bind(SqlValue::Int(0x656e_7469_7479)).push(")");
        tx.execute(lock).await?;
    }
    let mut create = Sql::new(backend);
    create.push("CREATE TABLE IF NOT EXISTS ").push_ident(MIGRATIONS_TABLE);
    create.push(" (applied_at TEXT NOT NULL, spec_hash TEXT NOT NULL, changes TEXT NOT NULL)");
    tx.execute(create).await?;

    let mut plan = Plan::default();
    // Which runtime tables were there before this start, to report the columns added to them
    // (a table created just now gets them too, which is no news).
    let mut existed = Vec::new();
    for statement in &runtime_tables {
        if let RuntimeDdl::AddColumn { table, .. } = statement
            && !existed.contains(table)
            && !existing_columns(&mut tx, table).await?.is_empty()
        {
            existed.push(*table);
        }
    }
    for statement in runtime_tables {
        match statement {
            RuntimeDdl::Always(statement) => {
                tx.execute(statement).await?;
            }
            RuntimeDdl::AddColumn { table, column, add } => {
                if existing_columns(&mut tx, table).await?.iter().any(|c| c.name == column) {
                    continue;
                }
                tx.execute(add).await?;
                if existed.contains(&table) {
                    plan.applied.push(format!("{table}: add column {column}"));
                }
            }
        }
    }
    for def in &entities {
        plan_entity(&mut tx, def, options, &mut plan).await?;
    }
    if !plan.refused.is_empty() {
        return Err(MigrateError::Refused(plan.refused));
    }
    // Only a changed schema can have broken a reference (the check reads every referencing table).
    let changed = !plan.statements.is_empty();
    for statement in plan.statements {
        tx.execute(statement).await?;
    }
    if backend == Backend::Sqlite && changed {
        let broken = dangling_references_sqlite(&mut tx).await?;
        if !broken.is_empty() {
            return Err(MigrateError::Refused(broken));
        }
    }
    plan.applied.extend(seal_stored(&mut tx, db.keyring(), &entities).await?);
    let last_hash = {
        let mut sql = Sql::new(backend);
        sql.push("SELECT spec_hash FROM ").push_ident(MIGRATIONS_TABLE).push(" ORDER BY applied_at DESC LIMIT 1");
        tx.fetch_all(sql, &[SqlType::Text]).await?.pop().and_then(|mut row| row.pop())
    };
    if !plan.applied.is_empty() || last_hash != Some(SqlValue::Text(spec_hash.to_owned())) {
        let mut record = Sql::new(backend);
        record.push("INSERT INTO ").push_ident(MIGRATIONS_TABLE).push(" (applied_at, spec_hash, changes) VALUES (");
        record.push_bind(SqlValue::Text(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))).push(", ");
        record.push_bind(SqlValue::Text(spec_hash.to_owned())).push(", ");
        record.push_bind(SqlValue::Text(plan.applied.join("\n"))).push(")");
        tx.execute(record).await?;
    }
    tx.commit().await?;
    for change in &plan.applied {
        tracing::info!(change = change.as_str(), "migrated");
    }
    Ok(MigrationReport { applied: plan.applied })
}

#[derive(Default)]
struct Plan {
    statements: Vec<Sql>,
    applied: Vec<String>,
    refused: Vec<String>,
    /// Tables this plan creates (they hold no rows yet, and cannot be queried while planning).
    created: Vec<&'static str>,
}

/// The entities with every referenced entity before the ones referring to it, so each
/// `CREATE TABLE` finds the tables its foreign keys name (PostgreSQL checks them). The spec
/// checks forbid cycles between entities; a self-reference needs no order.
fn in_dependency_order(entities: &[&'static EntityDef]) -> Vec<&'static EntityDef> {
    let mut ordered: Vec<&'static EntityDef> = Vec::with_capacity(entities.len());
    let mut pending: Vec<&'static EntityDef> = entities.to_vec();
    while !pending.is_empty() {
        let ready = |def: &&'static EntityDef| {
            def.references().all(|(_, target)| {
                target.table == def.table
                    || ordered.iter().any(|placed| placed.table == target.table)
                    || !pending.iter().any(|other| other.table == target.table)
            })
        };
        match pending.iter().position(ready) {
            Some(index) => ordered.push(pending.remove(index)),
            // A cycle the checks should have refused: keep the spec's order rather than loop.
            None => ordered.append(&mut pending),
        }
    }
    ordered
}

/// A foreign key as the database has it.
struct ExistingForeignKey {
    column: String,
    target_table: String,
    /// `RESTRICT`, `CASCADE`, `SET NULL` or `NO ACTION`.
    action: String,
    /// The constraint's name (PostgreSQL only; SQLite does not keep it).
    name: String,
}

async fn existing_foreign_keys(tx: &mut Tx, table: &str) -> Result<Vec<ExistingForeignKey>, sqlx::Error> {
    let mut sql = Sql::new(tx.backend());
    match tx.backend() {
        Backend::Postgres => {
            sql.push(
                "SELECT a.attname::text, target.relname::text, CASE c.confdeltype WHEN 'r' THEN 'RESTRICT' \
                 WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END, \
                 c.conname::text FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_class target ON target.oid = c.confrelid \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                 WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = ",
            );
            sql.push_bind(SqlValue::Text(table.to_owned()));
        }
        Backend::Sqlite => {
            sql.push("SELECT \"from\", \"table\", on_delete, '' FROM pragma_foreign_key_list(")
                .push_bind(SqlValue::Text(table.to_owned()))
                .push(")");
        }
    }
    let rows = tx.fetch_all(sql, &[SqlType::Text, SqlType::Text, SqlType::Text, SqlType::Text]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[SqlValue; 4]>::try_from(row).ok()? {
            [SqlValue::Text(column), SqlValue::Text(target_table), SqlValue::Text(action), SqlValue::Text(name)] => {
                Some(ExistingForeignKey { column, target_table, action, name })
            }
            _ => None,
        })
        .collect())
}

/// On SQLite, whose migration runs with foreign keys off: one line per table and referenced
/// table with rows whose reference names a missing row (none after a sound migration; the
/// planned changes count them first and refuse).
async fn dangling_references_sqlite(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    let mut sql = Sql::new(Backend::Sqlite);
    sql.push("SELECT \"table\", parent, COUNT(*) FROM pragma_foreign_key_check GROUP BY 1, 2 ORDER BY 1, 2");
    let rows = tx.fetch_all(sql, &[SqlType::Text, SqlType::Text, SqlType::Int]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[SqlValue; 3]>::try_from(row).ok()? {
            [SqlValue::Text(table), SqlValue::Text(parent), SqlValue::Int(count)] => Some(format!(
                "{table}: {count} row(s) refer to rows of {parent} that do not exist; fix or clear them first"
            )),
            _ => None,
        })
        .collect())
}

/// A column as the database has it.
struct ExistingColumn {
    name: String,
    declared_type: String,
    nullable: bool,
}

async fn existing_columns(tx: &mut Tx, table: &str) -> Result<Vec<ExistingColumn>, sqlx::Error> {
    let mut sql = Sql::new(tx.backend());
    match tx.backend() {
        Backend::Postgres => {
            sql.push(
                "SELECT column_name::text, data_type::text, (is_nullable = 'YES') FROM information_schema.columns ",
            );
            sql.push("WHERE table_schema = current_schema() AND table_name = ")
                .push_bind(SqlValue::Text(table.to_owned()));
            sql.push(" ORDER BY ordinal_position");
        }
        Backend::Sqlite => {
            sql.push("SELECT name, type, \"notnull\" = 0 FROM pragma_table_info(")
                .push_bind(SqlValue::Text(table.to_owned()))
                .push(")");
        }
    }
    let rows = tx.fetch_all(sql, &[SqlType::Text, SqlType::Text, SqlType::Bool]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[SqlValue; 3]>::try_from(row).ok()? {
            [SqlValue::Text(name), SqlValue::Text(declared_type), SqlValue::Bool(nullable)] => {
                Some(ExistingColumn { name, declared_type, nullable })
            }
            _ => None,
        })
        .collect())
}

async fn existing_indexes(tx: &mut Tx, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut sql = Sql::new(tx.backend());
    match tx.backend() {
        Backend::Postgres => {
            sql.push("SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ");
        }
        Backend::Sqlite => {
            sql.push("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ");
        }
    }
    sql.push_bind(SqlValue::Text(table.to_owned()));
    let rows = tx.fetch_all(sql, &[SqlType::Text]).await?;
    Ok(rows.into_iter().filter_map(|mut row| row.pop()?.into_text()).collect())
}

async fn count(tx: &mut Tx, table: &str, condition: impl FnOnce(&mut Sql)) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new(tx.backend());
    sql.push("SELECT COUNT(*) FROM ").push_ident(table).push(" WHERE ");
    condition(&mut sql);
    Ok(match tx.fetch_all(sql, &[SqlType::Int]).await?.pop().and_then(|mut row| row.pop()) {
        Some(SqlValue::Int(n)) => n,
        _ => 0,
    })
}

/// Every index the table should have: the spec's, one per unique field, and one per server
/// timestamp (they are sortable, and keyset pages must not scan). Non-unique indexes end with
/// the primary key, the tie-break of every list order, so a filtered and sorted page reads
/// the index in order instead of sorting every match. Names follow the spec's fields.
fn wanted_indexes(def: &EntityDef) -> Vec<(String, Vec<&'static str>, bool)> {
    let key = def.primary_key().name;
    let mut wanted: Vec<(String, Vec<&'static str>, bool)> = Vec::new();
    let mut add = |fields: Vec<&'static str>, unique: bool| {
        let name = index_name(def.table, &fields, unique);
        let mut columns = fields;
        if !unique && !columns.contains(&key) {
            columns.push(key);
        }
        if !wanted.iter().any(|(n, _, _)| *n == name) {
            wanted.push((name, columns, unique));
        }
    };
    for fields in def.unique_constraints() {
        add(fields, true);
    }
    for index in def.indexes.iter().filter(|i| !i.unique) {
        add(index.fields.to_vec(), false);
    }
    for field in def.fields.iter().filter(|f| matches!(f.setter, Setter::AutoNow | Setter::AutoNowAdd)) {
        add(vec![field.name, key], false);
    }
    // A delete finds the rows referring to it through these, and a cascade deletes them.
    for field in def.fields.iter().filter(|f| f.references.is_some() && !f.unique) {
        add(vec![field.name], false);
    }
    wanted
}

async fn plan_entity(
    tx: &mut Tx,
    def: &'static EntityDef,
    options: MigrateOptions,
    plan: &mut Plan,
) -> Result<(), sqlx::Error> {
    let backend = tx.backend();
    let table = def.table;
    let existing = existing_columns(tx, table).await?;
    if existing.is_empty() {
        plan.statements.push(create_table(backend, def, table));
        plan.applied.push(format!("{table}: create table"));
        plan.created.push(table);
        for (name, fields, unique) in wanted_indexes(def) {
            plan.statements.push(create_index(backend, table, &name, &fields, unique));
        }
        let (statements, _) = search::plan(tx, def, false).await?;
        plan.statements.extend(statements);
        return Ok(());
    }
    let rows = count(tx, table, |sql| {
        sql.push("1 = 1");
    })
    .await?;
    let mut needs_rebuild = false;
    for field in def.fields {
        let wanted_type = column_type(backend, field.kind);
        let Some(column) = existing.iter().find(|c| c.name == field.name) else {
            needs_rebuild |= plan_add_column(backend, def, field, rows, plan);
            continue;
        };
        if !column.declared_type.eq_ignore_ascii_case(wanted_type) {
            let change = format!("{table}.{}: change type from {} to {wanted_type}", field.name, column.declared_type);
            if options.allow_destructive {
                match backend {
                    Backend::Postgres => {
                        let mut sql = Sql::new(backend);
                        sql.push("ALTER TABLE ").push_ident(table).push(" ALTER COLUMN ").push_ident(field.name);
                        sql.push(" TYPE ")
                            .push(wanted_type)
                            .push(" USING ")
                            .push_ident(field.name)
                            .push("::")
                            .push(wanted_type);
                        plan.statements.push(sql);
                    }
                    Backend::Sqlite => needs_rebuild = true,
                }
                plan.applied.push(change);
            } else {
                plan.refused.push(format!(
                    "{change} (destructive: set ENTITY_SPEC_ALLOW_DESTRUCTIVE=1 to convert the stored values)"
                ));
            }
        }
        if column.nullable && !field.nullable {
            let nulls = count(tx, table, |sql| {
                sql.push_ident(field.name).push(" IS NULL");
            })
            .await?;
            if nulls > 0 {
                plan.refused.push(format!(
                    "{table}.{}: becomes NOT NULL but {nulls} row(s) hold NULL; fill them first",
                    field.name
                ));
            } else {
                needs_rebuild |= alter_not_null(backend, table, field.name, " SET NOT NULL", plan);
                plan.applied.push(format!("{table}.{}: set NOT NULL", field.name));
            }
        } else if !column.nullable && field.nullable {
            needs_rebuild |= alter_not_null(backend, table, field.name, " DROP NOT NULL", plan);
            plan.applied.push(format!("{table}.{}: allow NULL", field.name));
        }
        if let FieldKind::Enum(values) = field.kind {
            let unknown = count(tx, table, |sql| {
                sql.push_ident(field.name).push(" IS NOT NULL AND ").push_ident(field.name).push(" NOT IN (");
                sql.push_binds(values.iter().map(|value| SqlValue::Text((*value).to_owned()))).push(")");
            })
            .await?;
            if unknown > 0 {
                plan.refused.push(format!(
                    "{table}.{}: {unknown} row(s) hold values that are no longer in the spec's values ({}); update them first",
                    field.name,
                    values.join(", ")
                ));
            }
        }
    }
    let hidden = |name: &str| name == VERSION_COLUMN || name == search::DOCUMENT_COLUMN;
    for column in existing.iter().filter(|c| !hidden(&c.name) && def.field(&c.name).is_none()) {
        let change = format!("{table}.{}: drop column (no longer in the spec)", column.name);
        if options.allow_destructive {
            let mut sql = Sql::new(backend);
            sql.push("ALTER TABLE ").push_ident(table).push(" DROP COLUMN ").push_ident(&column.name);
            plan.statements.push(sql);
            plan.applied.push(change);
        } else {
            plan.refused
                .push(format!("{change} (destructive: its data would be lost; set ENTITY_SPEC_ALLOW_DESTRUCTIVE=1)"));
        }
    }
    needs_rebuild |= plan_foreign_keys(tx, def, &existing, plan).await?;
    if !existing.iter().any(|c| c.name == VERSION_COLUMN) {
        let mut sql = Sql::new(backend);
        sql.push("ALTER TABLE ")
            .push_ident(table)
            .push(" ADD COLUMN ")
            .push_ident(VERSION_COLUMN)
            .push(" BIGINT NOT NULL DEFAULT 1");
        plan.statements.push(sql);
        plan.applied.push(format!("{table}: add column {VERSION_COLUMN}"));
    }
    if needs_rebuild {
        plan.statements.extend(rebuild_sqlite_table(def, &existing));
        plan.applied.push(format!(
            "{table}: rebuild table (SQLite cannot alter column types, NULL constraints or foreign keys)"
        ));
    }
    let indexes = existing_indexes(tx, table).await?;
    let wanted = wanted_indexes(def);
    for (name, fields, unique) in &wanted {
        // A rebuild recreates every index anyway.
        if needs_rebuild || !indexes.contains(name) {
            plan.statements.push(create_index(backend, table, name, fields, *unique));
            if !indexes.contains(name) {
                plan.applied.push(format!("{table}: create index {name}"));
            }
        }
    }
    let ours = |name: &str| name.starts_with(table) && (name.ends_with("_key") || name.ends_with("_idx"));
    for name in indexes.iter().filter(|n| ours(n) && !wanted.iter().any(|(w, _, _)| w == *n) && !needs_rebuild) {
        let mut sql = Sql::new(backend);
        sql.push("DROP INDEX IF EXISTS ").push_ident(name);
        plan.statements.push(sql);
        plan.applied.push(format!("{table}: drop index {name} (no longer in the spec)"));
    }
    let (statements, applied) = search::plan(tx, def, needs_rebuild).await?;
    plan.statements.extend(statements);
    plan.applied.extend(applied);
    Ok(())
}

/// Plans the foreign keys of an existing table: references added to or changed on existing
/// columns (after counting the rows they would leave dangling), and references the spec no
/// longer has. Returns whether SQLite, which cannot alter constraints, must rebuild the table.
async fn plan_foreign_keys(
    tx: &mut Tx,
    def: &'static EntityDef,
    existing: &[ExistingColumn],
    plan: &mut Plan,
) -> Result<bool, sqlx::Error> {
    let backend = tx.backend();
    let table = def.table;
    let foreign_keys = existing_foreign_keys(tx, table).await?;
    let mut needs_rebuild = false;
    for (field, target) in def.references() {
        // A column this migration adds has no rows to check; `plan_add_column` gave it its key.
        if !existing.iter().any(|c| c.name == field.name) {
            continue;
        }
        let current = foreign_keys.iter().find(|fk| fk.column == field.name);
        if current.is_some_and(|fk| fk.target_table == target.table && fk.action == target.on_delete.sql_action()) {
            continue;
        }
        let orphans = if plan.created.contains(&target.table) {
            count(tx, table, |sql| {
                sql.push_ident(field.name).push(" IS NOT NULL");
            })
            .await?
        } else {
            count(tx, table, |sql| {
                sql.push_ident(field.name).push(" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ");
                sql.push_ident(target.table).push(" WHERE ").push_ident(target.table).push(".").push_ident(target.key);
                sql.push(" = ").push_ident(table).push(".").push_ident(field.name).push(")");
            })
            .await?
        };
        if orphans > 0 {
            plan.refused.push(format!(
                "{table}.{}: now refers to {}, but {orphans} row(s) hold ids no {} has; fix or clear them first",
                field.name, target.entity, target.entity
            ));
            continue;
        }
        match backend {
            Backend::Postgres => {
                if let Some(current) = current {
                    plan.statements.push(drop_constraint(table, &current.name));
                }
                let mut sql = Sql::new(backend);
                sql.push("ALTER TABLE ").push_ident(table).push(" ADD ");
                push_foreign_key(&mut sql, table, field.name, target);
                plan.statements.push(sql);
            }
            Backend::Sqlite => needs_rebuild = true,
        }
        let verb = if current.is_some() { "change" } else { "add" };
        plan.applied.push(format!(
            "{table}.{}: {verb} foreign key to {} (on delete {})",
            field.name,
            target.table,
            target.on_delete.as_str()
        ));
    }
    for fk in &foreign_keys {
        if def.field(&fk.column).is_some_and(|f| f.references.is_some()) {
            continue;
        }
        match backend {
            Backend::Postgres => plan.statements.push(drop_constraint(table, &fk.name)),
            Backend::Sqlite => needs_rebuild = true,
        }
        plan.applied
            .push(format!("{table}.{}: drop foreign key to {} (no longer in the spec)", fk.column, fk.target_table));
    }
    Ok(needs_rebuild)
}

fn drop_constraint(table: &str, name: &str) -> Sql {
    let mut sql = Sql::new(Backend::Postgres);
    sql.push("ALTER TABLE ").push_ident(table).push(" DROP CONSTRAINT IF EXISTS ").push_ident(name);
    sql
}

/// `CONSTRAINT fk_… FOREIGN KEY (column) REFERENCES target (key) ON DELETE …`, the same on both
/// backends.
fn push_foreign_key(sql: &mut Sql, table: &str, column: &str, target: &ReferenceDef) {
    sql.push("CONSTRAINT ").push_ident(&foreign_key_name(table, column)).push(" FOREIGN KEY (").push_ident(column);
    sql.push(") REFERENCES ").push_ident(target.table).push(" (").push_ident(target.key).push(") ON DELETE ");
    sql.push(target.on_delete.sql_action());
}

/// Plans `ALTER COLUMN … SET/DROP NOT NULL` on PostgreSQL; returns whether SQLite, which has
/// no such statement, must rebuild the table instead.
fn alter_not_null(backend: Backend, table: &str, column: &str, change: &str, plan: &mut Plan) -> bool {
    match backend {
        Backend::Postgres => {
            let mut sql = Sql::new(backend);
            sql.push("ALTER TABLE ").push_ident(table).push(" ALTER COLUMN ").push_ident(column).push(change);
            plan.statements.push(sql);
            false
        }
        Backend::Sqlite => true,
    }
}

/// Plans a new column; returns whether SQLite must rebuild the table instead (a new column
/// with a foreign key, which SQLite adds only with a NULL default).
fn plan_add_column(backend: Backend, def: &EntityDef, field: &FieldDef, rows: i64, plan: &mut Plan) -> bool {
    let table = def.table;
    let mut sql = Sql::new(backend);
    sql.push("ALTER TABLE ").push_ident(table).push(" ADD COLUMN ");
    push_column(&mut sql, backend, field, true);
    let needs_value = !field.nullable && field.default.is_none();
    match field.setter {
        // Existing rows get the migration time, the best value there is.
        Setter::AutoNow | Setter::AutoNowAdd => {
            sql.push(" DEFAULT ");
            push_literal(&mut sql, backend, &SqlLiteral::Timestamp(Utc::now()));
        }
        Setter::PrimaryKey => {
            plan.refused.push(format!("{table}.{}: a primary key cannot be added to an existing table", field.name));
            return false;
        }
        _ if needs_value && rows > 0 => {
            plan.refused.push(format!(
                "{table}.{}: new required field without a default, but the table has {rows} row(s); give it a default or make it optional",
                field.name
            ));
            return false;
        }
        _ if field.references.is_some() && backend == Backend::Sqlite => {
            plan.applied.push(format!("{table}: add column {}", field.name));
            return true;
        }
        _ if needs_value && backend == Backend::Sqlite => {
            // SQLite cannot add a NOT NULL column without a default even to an empty table.
            sql.push(" DEFAULT ''");
        }
        _ => {}
    }
    if let Some(target) = &field.references {
        sql.push(" ");
        push_foreign_key(&mut sql, table, field.name, target);
    }
    plan.statements.push(sql);
    plan.applied.push(format!("{table}: add column {}", field.name));
    false
}

/// `CREATE TABLE name (…)` for `def` (`name` differs from its table while SQLite rebuilds it;
/// constraints are named after the table either way).
fn create_table(backend: Backend, def: &EntityDef, name: &str) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("CREATE TABLE ").push_ident(name).push(" (");
    for field in def.fields {
        push_column(&mut sql, backend, field, false);
        sql.push(", ");
    }
    sql.push_ident(VERSION_COLUMN)
        .push(" BIGINT NOT NULL DEFAULT 1, PRIMARY KEY (")
        .push_ident(def.primary_key().name)
        .push(")");
    for (field, target) in def.references() {
        sql.push(", ");
        push_foreign_key(&mut sql, def.table, field.name, target);
    }
    sql.push(")");
    sql
}

fn push_column(sql: &mut Sql, backend: Backend, field: &FieldDef, with_default: bool) {
    sql.push_ident(field.name).push(" ").push(column_type(backend, field.kind));
    if !field.nullable {
        sql.push(" NOT NULL");
    }
    if let (true, Some(default)) = (with_default, field.default) {
        sql.push(" DEFAULT ");
        push_literal(sql, backend, &SqlLiteral::Default(default));
    }
}

fn create_index(backend: Backend, table: &str, name: &str, fields: &[&str], unique: bool) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push(if unique { "CREATE UNIQUE INDEX IF NOT EXISTS " } else { "CREATE INDEX IF NOT EXISTS " });
    sql.push_ident(name).push(" ON ").push_ident(table).push(" (");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(field);
    }
    sql.push(")");
    sql
}

/// SQLite's documented way to change column types or constraints: create the new table,
/// copy the rows, drop the old one, rename. Foreign keys are off meanwhile
/// ([`Db::begin_migration`]), so dropping the old table touches no row that refers to it, and
/// the references of other tables name the new one once it is renamed.
fn rebuild_sqlite_table(def: &EntityDef, existing: &[ExistingColumn]) -> Vec<Sql> {
    let backend = Backend::Sqlite;
    let temporary = format!("{}__entity_spec_rebuild", def.table);
    let mut statements = vec![create_table(backend, def, &temporary)];
    let mut copy = Sql::new(backend);
    // The rows keep their rowids: a full-text index refers to rows by rowid.
    copy.push("INSERT INTO ").push_ident(&temporary).push(" (_rowid_, ");
    let copied: Vec<&FieldDef> = def.fields.iter().filter(|f| existing.iter().any(|c| c.name == f.name)).collect();
    for field in &copied {
        copy.push_ident(field.name).push(", ");
    }
    copy.push_ident(VERSION_COLUMN).push(") SELECT _rowid_, ");
    for field in &copied {
        let affinity = match field.kind {
            FieldKind::Integer | FieldKind::Boolean => "INTEGER",
            FieldKind::Float => "REAL",
            _ => "TEXT",
        };
        copy.push("CAST(").push_ident(field.name).push(" AS ").push(affinity).push("), ");
    }
    copy.push(if existing.iter().any(|c| c.name == VERSION_COLUMN) { "\"_version\"" } else { "1" });
    copy.push(" FROM ").push_ident(def.table);
    statements.push(copy);
    let mut drop = Sql::new(backend);
    drop.push("DROP TABLE ").push_ident(def.table);
    statements.push(drop);
    let mut rename = Sql::new(backend);
    rename.push("ALTER TABLE ").push_ident(&temporary).push(" RENAME TO ").push_ident(def.table);
    statements.push(rename);
    statements
}

/// Values written into DDL, where bind parameters are not allowed.
enum SqlLiteral {
    Default(DefaultDef),
    Timestamp(chrono::DateTime<Utc>),
}

/// Writes a literal. Strings are single-quoted with quotes doubled, which is the complete
/// escaping for both backends (PostgreSQL with `standard_conforming_strings`, the default
/// since 9.1).
fn push_literal(sql: &mut Sql, backend: Backend, literal: &SqlLiteral) {
    let quoted = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let text = match (literal, backend) {
        (SqlLiteral::Default(DefaultDef::Bool(b)), Backend::Postgres) => b.to_string(),
        (SqlLiteral::Default(DefaultDef::Bool(b)), Backend::Sqlite) => i32::from(*b).to_string(),
        (SqlLiteral::Default(DefaultDef::Int(i)), _) => i.to_string(),
        (SqlLiteral::Default(DefaultDef::Float(f)), _) => format!("{f:?}"),
        (SqlLiteral::Default(DefaultDef::Text(s)), _) => quoted(s),
        (SqlLiteral::Default(DefaultDef::Json(j)), Backend::Postgres) => format!("{}::jsonb", quoted(j)),
        (SqlLiteral::Default(DefaultDef::Json(j)), Backend::Sqlite) => quoted(j),
        (SqlLiteral::Timestamp(t), Backend::Postgres) => format!("{}::timestamptz", quoted(&t.to_rfc3339())),
        (SqlLiteral::Timestamp(t), Backend::Sqlite) => quoted(&sqlite_timestamp(*t)),
    };
    sql.push(&text);
}
