//! Persistence of entities: insert, read, replace, delete and list, the same SQL for every
//! entity, built from its [`EntityDef`] (a list's statement is built in
//! [`crate::storage::list_sql`]).
//!
//! Every table has a hidden `_version` column (field names cannot start with `_`), bumped on
//! each write: it is the ETag, and the compare-and-swap that keeps concurrent read-modify-write
//! requests from losing each other's changes.

use uuid::Uuid;

use crate::model::def::EntityDef;
use crate::model::list_query::{Filter, ListQuery, encode_cursor};
use crate::model::value::{DecodeError, SqlType, SqlValue};
use crate::storage::audit::{self, AuditRecord};
use crate::storage::column::{Column, ColumnError, Unseal};
use crate::storage::db::{Db, Row, Rows, Sql, shared_text};
use crate::storage::entity::Entity;
use crate::storage::list_sql::{count_matching, select_page};
use crate::storage::schema::{VERSION_COLUMN, index_name, push_entity_columns};

/// An entity as stored, with its version.
#[derive(Debug, Clone)]
pub struct Versioned<E> {
    /// The entity.
    pub entity: E,
    /// Its version: 1 after create, +1 per write.
    pub version: i64,
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<E> {
    /// The rows.
    pub items: Vec<E>,
    /// How many rows match the filters in all.
    pub total: i64,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<String>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint on these fields would be violated.
    #[error("unique constraint on {0:?} violated")]
    Unique(Vec<&'static str>),
    /// A stored row does not fit the entity.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Names the column of a decoding failure: the fields in order, then `_version`.
fn decode_error(def: &EntityDef, error: ColumnError) -> StoreError {
    let column = def.fields.get(error.index).map_or(VERSION_COLUMN, |f| f.name);
    DecodeError { column, cause: error.cause }.into()
}

/// Whether a read decrypts the entity's sensitive fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitive {
    /// Decrypted: the entity is used (an action, a write built on it).
    Open,
    /// Left sealed, as empty values: the entity is only served or inspected, and sensitive
    /// fields are never served (see [`Unseal::Leave`]).
    Leave,
}

impl Sensitive {
    fn unseal(self, db: &Db) -> Unseal<'_> {
        match self {
            Sensitive::Open => Unseal::With(db.keyring()),
            Sensitive::Leave => Unseal::Leave,
        }
    }
}

/// Reads a row selected with [`push_entity_columns`]: the entity with the generated decoder, then
/// `_version`.
fn decode<E: Entity>(db: &Db, row: &Row, sensitive: Sensitive) -> Result<Versioned<E>, StoreError> {
    let version_index = E::DEF.fields.len();
    let unseal = sensitive.unseal(db);
    let decoded = match row {
        Row::Sqlite(row) => {
            E::from_sqlite_row(row, unseal).and_then(|e| Ok((e, i64::read_sqlite(row, version_index)?)))
        }
        Row::Postgres(row) => {
            E::from_postgres_row(row, unseal).and_then(|e| Ok((e, i64::read_postgres(row, version_index)?)))
        }
    };
    let (entity, version) = decoded.map_err(|e| decode_error(E::DEF, e))?;
    Ok(Versioned { entity, version })
}

/// Reads every row of a list page (entities only, to be served: sensitive fields stay sealed).
fn decode_all<E: Entity>(rows: &Rows) -> Result<Vec<E>, StoreError> {
    let decoded: Result<Vec<E>, ColumnError> = match rows {
        Rows::Sqlite(rows) => rows.iter().map(|row| E::from_sqlite_row(row, Unseal::Leave)).collect(),
        Rows::Postgres(rows) => rows.iter().map(|row| E::from_postgres_row(row, Unseal::Leave)).collect(),
    };
    decoded.map_err(|e| decode_error(E::DEF, e))
}

/// Runs `sql` (a statement with `RETURNING`), and when it changed a row, stores `audit`
/// atomically with it (see [`audit::with_write`]).
async fn fetch_row_audited(db: &Db, sql: Sql, audit: Option<&AuditRecord>) -> Result<Option<Row>, sqlx::Error> {
    match audit {
        Some(record) => db.fetch_row_atomically(audit::with_write(sql, record)).await,
        None => db.fetch_row(sql).await,
    }
}

/// Inserts a new entity and returns it as stored; `audit` is stored with it.
pub async fn insert<E: Entity>(db: &Db, entity: &E, audit: Option<&AuditRecord>) -> Result<Versioned<E>, StoreError> {
    let def = E::DEF;
    let backend = db.backend();
    let text = shared_text(def, backend, "insert", || {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO ").push_ident(def.table).push(" (");
        push_entity_columns(&mut sql, def);
        sql.push(") VALUES (");
        for number in 1..=def.fields.len() {
            sql.push_placeholder(number).push(", ");
        }
        sql.push("1) RETURNING ");
        push_entity_columns(&mut sql, def);
        sql
    });
    let mut sql = Sql::shared(backend, text);
    sql.bind_entity(entity, db.keyring());
    let row = fetch_row_audited(db, sql, audit).await.map_err(|e| map_unique(def, e))?;
    decode(db, &row.ok_or(sqlx::Error::RowNotFound)?, Sensitive::Open)
}

/// Reads one entity by id, its sensitive fields decrypted.
pub async fn get<E: Entity>(db: &Db, id: Uuid) -> Result<Option<Versioned<E>>, StoreError> {
    get_with(db, id, Sensitive::Open).await
}

/// Reads one entity by id, its sensitive fields as `sensitive` says.
pub async fn get_with<E: Entity>(db: &Db, id: Uuid, sensitive: Sensitive) -> Result<Option<Versioned<E>>, StoreError> {
    let def = E::DEF;
    let backend = db.backend();
    let text = shared_text(def, backend, "get", || {
        let mut sql = Sql::new(backend);
        sql.push("SELECT ");
        push_entity_columns(&mut sql, def);
        sql.push(" FROM ").push_ident(def.table).push(" WHERE ").push_ident(def.primary_key().name).push(" = ");
        sql.push_bind(SqlValue::Uuid(id));
        sql
    });
    let mut sql = Sql::shared(backend, text);
    sql.bind(SqlValue::Uuid(id));
    match db.fetch_row(sql).await? {
        Some(row) => decode(db, &row, sensitive).map(Some),
        None => Ok(None),
    }
}

/// Writes every column of `entity` if its stored version is still `expected_version`, with
/// `audit` when it did. Returns the stored result, or `None` when the version moved on (or the
/// row is gone).
pub async fn replace<E: Entity>(
    db: &Db,
    entity: &E,
    expected_version: i64,
    audit: Option<&AuditRecord>,
) -> Result<Option<Versioned<E>>, StoreError> {
    let def = E::DEF;
    let backend = db.backend();
    // Parameters: every field in field order (as `bind_entity` binds them), then the version.
    let text = shared_text(def, backend, "replace", || {
        let key = def.primary_key().name;
        let mut sql = Sql::new(backend);
        sql.push("UPDATE ").push_ident(def.table).push(" SET ");
        let mut key_number = 0;
        for (i, field) in def.fields.iter().enumerate() {
            if field.name == key {
                key_number = i + 1;
                continue;
            }
            sql.push_ident(field.name).push(" = ").push_placeholder(i + 1).push(", ");
        }
        sql.push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1");
        sql.push(" WHERE ").push_ident(key).push(" = ").push_placeholder(key_number);
        sql.push(" AND ").push_ident(VERSION_COLUMN).push(" = ").push_placeholder(def.fields.len() + 1);
        sql.push(" RETURNING ");
        push_entity_columns(&mut sql, def);
        sql
    });
    let mut sql = Sql::shared(backend, text);
    sql.bind_entity(entity, db.keyring()).bind(SqlValue::Int(expected_version));
    match fetch_row_audited(db, sql, audit).await.map_err(|e| map_unique(def, e))? {
        Some(row) => decode(db, &row, Sensitive::Open).map(Some),
        None => Ok(None),
    }
}

/// Deletes by id, only at `expected_version` when given, with `audit` when it did. Returns
/// whether a row was deleted.
pub async fn delete(
    db: &Db,
    def: &EntityDef,
    id: Uuid,
    expected_version: Option<i64>,
    audit: Option<&AuditRecord>,
) -> Result<bool, StoreError> {
    let key = def.primary_key().name;
    let mut sql = Sql::new(db.backend());
    sql.push("DELETE FROM ").push_ident(def.table).push(" WHERE ").push_ident(key).push(" = ");
    sql.push_bind(SqlValue::Uuid(id));
    if let Some(version) = expected_version {
        sql.push(" AND ").push_ident(VERSION_COLUMN).push(" = ").push_bind(SqlValue::Int(version));
    }
    sql.push(" RETURNING ").push_ident(key);
    Ok(fetch_row_audited(db, sql, audit).await?.is_some())
}

/// One page of entities matching `query`, and the total number of matches.
pub async fn list<E: Entity>(db: &Db, query: &ListQuery) -> Result<Page<E>, StoreError> {
    let def = E::DEF;
    let backend = db.backend();

    let total = count(db, def, &query.filters).await?;

    let mut rows = db.fetch_rows(select_page(backend, def, query)).await?;
    let has_more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);

    let next_cursor = match rows.len().checked_sub(1) {
        Some(last) if has_more => {
            let sort_index = def.position(query.sort.field.name).unwrap_or(0);
            let key_index = def.position(def.primary_key().name).unwrap_or(0);
            let value = rows.value(last, sort_index, SqlType::of(query.sort.field.kind))?;
            let id = match rows.value(last, key_index, SqlType::Uuid)? {
                Some(SqlValue::Uuid(id)) => id,
                _ => Uuid::nil(),
            };
            value.map(|value| encode_cursor(&query.fingerprint, &value, id))
        }
        _ => None,
    };
    let items = decode_all::<E>(&rows)?;
    Ok(Page { items, total, next_cursor })
}

/// How many rows of `def` pass `filters`.
pub async fn count(db: &Db, def: &EntityDef, filters: &[Filter]) -> Result<i64, sqlx::Error> {
    Ok(
        match db
            .fetch_optional(count_matching(db.backend(), def, filters), &[SqlType::Int])
            .await?
            .and_then(|mut row| row.pop())
        {
            Some(SqlValue::Int(total)) => total,
            _ => 0,
        },
    )
}

/// Turns a unique violation into [`StoreError::Unique`] naming the fields: PostgreSQL names
/// the index (which `migrate` named after the fields), SQLite lists `table.column`s.
fn map_unique(def: &'static EntityDef, error: sqlx::Error) -> StoreError {
    let sqlx::Error::Database(db_error) = &error else { return error.into() };
    if !db_error.is_unique_violation() {
        return error.into();
    }
    let constraints = def.unique_constraints();
    let from_index = db_error
        .constraint()
        .and_then(|name| constraints.iter().find(|fields| index_name(def.table, fields, true) == name));
    let from_message = || {
        // SQLite: "UNIQUE constraint failed: raw_data_sources.name, raw_data_sources.kind"
        let message = db_error.message();
        let listed = message.split_once(':').map(|(_, rest)| rest)?;
        let columns: Vec<&str> = listed.split(',').filter_map(|c| c.trim().rsplit('.').next()).collect();
        constraints.iter().find(|fields| fields.len() == columns.len() && fields.iter().all(|f| columns.contains(f)))
    };
    match from_index.or_else(from_message) {
        Some(fields) => StoreError::Unique(fields.clone()),
        None => StoreError::Unique(Vec::new()),
    }
}
