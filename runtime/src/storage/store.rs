//! Persistence of entities: insert, read, replace, delete and list, the same SQL for every
//! entity, built from its [`EntityDef`] (a list's statement is built in
//! [`crate::storage::list_sql`]).
//!
//! Every table has a hidden `_version` column (field names cannot start with `_`), bumped on
//! each write: it is the ETag, and the compare-and-swap that keeps concurrent read-modify-write
//! requests from losing each other's changes.
//!
//! References are foreign keys (see [`crate::storage::migrations`]): a write whose reference
//! names no row fails in the database, and is answered by asking which of its references
//! dangle; a delete of a row other rows refer to follows their `on_delete` itself, in one
//! transaction with the row locked, so it can say who still refers to it and write an audit
//! row for every row it deletes or changes along the way.

use std::collections::HashSet;

use entity_spec_contract::lists::{CountMode, EXACT_COUNT_UP_TO};
use uuid::Uuid;

use crate::model::def::{EntityDef, OnDelete, ReferrerDef};
use crate::model::list_query::{Filter, ListQuery, Position, Search};
use crate::model::value::{DecodeError, SqlType, SqlValue};
use crate::storage::audit::{self, AuditRecord};
use crate::storage::column::{Column, ColumnError, Unseal};
use crate::storage::db::{Backend, Db, Row, Rows, Sql, Tx, shared_text};
use crate::storage::embedded::{Embed, EmbeddedRow, read_embedded};
use crate::storage::entity::Entity;
use crate::storage::list_sql::{count_matching, explain_matching, first_embedded_column, select_page_embedding};
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
    /// Per row, the rows it refers to that the list was asked to embed, one per embed.
    pub embedded: Vec<Vec<Option<EmbeddedRow>>>,
    /// How many rows match the filters in all, as the query's `count` asked (`None`: not
    /// counted).
    pub total: Option<i64>,
    /// Where the page ended, if another one follows.
    pub next: Option<Position>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint on these fields would be violated.
    #[error("unique constraint on {0:?} violated")]
    Unique(Vec<&'static str>),
    /// References name rows that do not exist.
    #[error("references to missing rows: {0:?}")]
    UnknownReference(Vec<DanglingReference>),
    /// A delete is refused: rows refer to the row (or to one a cascade would delete) through a
    /// reference that restricts deletes.
    #[error("still referenced: {0:?}")]
    StillReferenced(Referral),
    /// A stored row does not fit the entity.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A reference naming a row that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanglingReference {
    /// The referencing field.
    pub field: &'static str,
    /// The entity it refers to.
    pub entity: &'static str,
    /// The id no row of `entity` has.
    pub id: Uuid,
}

/// Rows that keep a delete from happening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// The entity of the referring rows, e.g. `Book`.
    pub entity: &'static str,
    /// Their referencing field, e.g. `author_id`.
    pub field: &'static str,
    /// The entity they refer to: the deleted one, or one a cascade would delete with it.
    pub referenced: &'static str,
    /// How many rows.
    pub rows: i64,
}

/// How often a write whose reference was missing, but is there when looked for, is tried again
/// (the row was created in between), and how often a delete is retried when a row referring to
/// what it deletes appeared in between.
const REFERENCE_ATTEMPTS: usize = 3;

fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}

/// The references of `row` (an entity's values in field order) that name no stored row. The
/// database said one does: SQLite does not say which, and PostgreSQL names only the first, so
/// both are asked the same question. Empty when the missing row has been created since.
async fn dangling_references(
    db: &Db,
    def: &EntityDef,
    row: &[SqlValue],
) -> Result<Vec<DanglingReference>, sqlx::Error> {
    let mut dangling = Vec::new();
    for (index, field) in def.fields.iter().enumerate() {
        let (Some(target), Some(SqlValue::Uuid(id))) = (&field.references, row.get(index)) else { continue };
        let mut sql = Sql::new(db.backend());
        sql.push("SELECT COUNT(*) FROM ").push_ident(target.table).push(" WHERE ").push_ident(target.key);
        sql.push(" = ").push_bind(SqlValue::Uuid(*id));
        if let Some(SqlValue::Int(0)) = db.fetch_optional(sql, &[SqlType::Int]).await?.and_then(|mut r| r.pop()) {
            dangling.push(DanglingReference { field: field.name, entity: target.entity, id: *id });
        }
    }
    Ok(dangling)
}

/// Runs a write built by `build` (its references unchecked), and when the database refuses a
/// reference, answers which ones dangle, or tries again when none does any more.
async fn write_checking_references<E: Entity>(
    db: &Db,
    entity: &E,
    audit: Option<&AuditRecord>,
    build: impl Fn() -> Sql,
) -> Result<Option<Row>, StoreError> {
    let def = E::DEF;
    let mut last = None;
    for _ in 0..REFERENCE_ATTEMPTS {
        match fetch_row_audited(db, build(), audit).await {
            Err(error) if is_foreign_key_violation(&error) => {
                let dangling = dangling_references(db, def, &entity.to_row()).await?;
                if !dangling.is_empty() {
                    return Err(StoreError::UnknownReference(dangling));
                }
                last = Some(error);
            }
            result => return result.map_err(|e| map_unique(def, e)),
        }
    }
    Err(last.map_or(StoreError::Database(sqlx::Error::RowNotFound), StoreError::Database))
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
        None => db.write_row(sql).await,
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
    let row = write_checking_references(db, entity, audit, || {
        let mut sql = Sql::shared(backend, text.clone());
        sql.bind_entity(entity, db.keyring());
        sql
    })
    .await?;
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
    let written = write_checking_references(db, entity, audit, || {
        let mut sql = Sql::shared(backend, text.clone());
        sql.bind_entity(entity, db.keyring()).bind(SqlValue::Int(expected_version));
        sql
    })
    .await?;
    match written {
        Some(row) => decode(db, &row, Sensitive::Open).map(Some),
        None => Ok(None),
    }
}

/// Deletes by id, only at `expected_version` when given, with `audit` when it did. Returns
/// whether a row was deleted. Rows referring to it are followed as their `on_delete` says
/// (see [`delete_referenced`]).
pub async fn delete(
    db: &Db,
    def: &EntityDef,
    id: Uuid,
    expected_version: Option<i64>,
    audit: Option<&AuditRecord>,
) -> Result<bool, StoreError> {
    if !def.referenced_by.is_empty() {
        return delete_referenced(db, def, id, expected_version, audit).await;
    }
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

/// One page of entities matching `query` with the rows `embeds` name read in the same
/// statement, and the number of matches its `count` asks for.
pub async fn list<E: Entity>(db: &Db, query: &ListQuery, embeds: &[Embed<'_>]) -> Result<Page<E>, StoreError> {
    let def = E::DEF;
    let backend = db.backend();

    let total = match query.count {
        CountMode::Exact => Some(count(db, def, query.search.as_ref(), &query.filters).await?),
        CountMode::Estimated => Some(estimate(db, def, query.search.as_ref(), &query.filters).await?),
        CountMode::None => None,
    };

    let mut rows = db.fetch_rows(select_page_embedding(backend, def, query, embeds)).await?;
    let has_more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);

    let next = match rows.len().checked_sub(1) {
        Some(last) if has_more => {
            let key_index = def.position(def.primary_key().name).unwrap_or(0);
            // A ranked page's position is its score, selected after the fields and `_version`.
            let value = match query.ranked_search() {
                Some(_) => rows.value(last, def.fields.len() + 1, SqlType::Float)?,
                None => {
                    let sort_index = def.position(query.sort.field.name).unwrap_or(0);
                    rows.value(last, sort_index, SqlType::of(query.sort.field.kind))?
                }
            };
            let id = match rows.value(last, key_index, SqlType::Uuid)? {
                Some(SqlValue::Uuid(id)) => id,
                _ => Uuid::nil(),
            };
            value.map(|value| Position { value, id })
        }
        _ => None,
    };
    let items = decode_all::<E>(&rows)?;
    let embedded = read_embedded(&rows, items.len(), first_embedded_column(def, query), embeds)?;
    Ok(Page { items, embedded, total, next })
}

/// How many rows of `def` match `search` and pass `filters`.
pub async fn count(db: &Db, def: &EntityDef, search: Option<&Search>, filters: &[Filter]) -> Result<i64, sqlx::Error> {
    Ok(
        match db
            .fetch_optional(count_matching(db.backend(), def, search, filters), &[SqlType::Int])
            .await?
            .and_then(|mut row| row.pop())
        {
            Some(SqlValue::Int(total)) => total,
            _ => 0,
        },
    )
}

/// How many rows of `def` match `search` and pass `filters`, roughly: PostgreSQL's planner estimate where it is
/// above [`EXACT_COUNT_UP_TO`], an exact count otherwise (and always on SQLite, whose planner
/// does not estimate rows). The estimate reads table statistics, not rows, so it costs the
/// same at any size; it is as fresh as the last `ANALYZE` (autovacuum's, by default).
pub async fn estimate(
    db: &Db,
    def: &EntityDef,
    search: Option<&Search>,
    filters: &[Filter],
) -> Result<i64, sqlx::Error> {
    if db.backend() == Backend::Postgres {
        let plan = db.fetch_optional(explain_matching(def, search, filters), &[SqlType::Json]).await?;
        let planned = match plan.and_then(|mut row| row.pop()) {
            Some(SqlValue::Json(plan)) => plan.pointer("/0/Plan/Plan Rows").and_then(serde_json::Value::as_f64),
            _ => None,
        };
        // A float from the planner: rounded, and never below 0.
        if let Some(rows) = planned.map(|rows| rows.round().max(0.0) as i64)
            && rows > EXACT_COUNT_UP_TO
        {
            return Ok(rows);
        }
    }
    count(db, def, search, filters).await
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

/// What a delete does to the rows referring to what it deletes, found before it deletes.
#[derive(Default)]
struct Followed {
    /// Rows a cascade deletes: their entity and id.
    deleted: Vec<(&'static str, Uuid)>,
    /// Referring fields set to null: the referrer, the rows it changes and the ids they referred
    /// to.
    nulled: Vec<(&'static ReferrerDef, Vec<Uuid>, Vec<Uuid>)>,
}

/// The delete of a row other rows may refer to, in one transaction: lock the row (so no new
/// reference to it can be written meanwhile: PostgreSQL's foreign keys wait for the lock,
/// SQLite has one writer), walk the referring rows (`restrict`: refuse with their count;
/// `cascade`: delete them too, following their own referrers; `set_null`: clear the reference
/// and bump their version, so their ETags change), then delete. The database's foreign keys do
/// the deleting of cascades and stay the last word; one audit row per row deleted or changed.
async fn delete_referenced(
    db: &Db,
    def: &EntityDef,
    id: Uuid,
    expected_version: Option<i64>,
    audit: Option<&AuditRecord>,
) -> Result<bool, StoreError> {
    let mut last = None;
    for _ in 0..REFERENCE_ATTEMPTS {
        let mut tx = db.begin().await?;
        if !lock_row(&mut tx, def, id, expected_version).await? {
            return Ok(false);
        }
        let followed = match follow_referrers(&mut tx, def, id).await? {
            Ok(followed) => followed,
            Err(referral) => return Err(StoreError::StillReferenced(referral)),
        };
        for (referrer, _, referred) in &followed.nulled {
            let mut sql = Sql::new(tx.backend());
            sql.push("UPDATE ").push_ident(referrer.table).push(" SET ").push_ident(referrer.field).push(" = NULL, ");
            sql.push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
            push_in(&mut sql, referrer.field, referred);
            tx.execute(sql).await?;
        }
        let mut sql = Sql::new(tx.backend());
        sql.push("DELETE FROM ").push_ident(def.table).push(" WHERE ").push_ident(def.primary_key().name);
        sql.push(" = ").push_bind(SqlValue::Uuid(id));
        match tx.execute(sql).await {
            // A row referring to a cascaded one appeared meanwhile (only those rows are not locked).
            Err(error) if is_foreign_key_violation(&error) => {
                last = Some(error);
                continue;
            }
            result => result?,
        };
        if let Some(record) = audit {
            tx.execute(audit::insert(tx.backend(), record)).await?;
            let along = |entity: &str, row: Uuid, operation: &str, fields: Vec<String>| AuditRecord {
                id: Uuid::now_v7(),
                entity: entity.to_owned(),
                entity_id: Some(row),
                operation: operation.to_owned(),
                fields,
                ..record.clone()
            };
            for (entity, row) in &followed.deleted {
                tx.execute(audit::insert(tx.backend(), &along(entity, *row, "delete", Vec::new()))).await?;
            }
            for (referrer, rows, _) in &followed.nulled {
                for row in rows {
                    let record = along(referrer.entity, *row, "patch", vec![referrer.field.to_owned()]);
                    tx.execute(audit::insert(tx.backend(), &record)).await?;
                }
            }
        }
        tx.commit().await?;
        return Ok(true);
    }
    Err(last.map_or(StoreError::Database(sqlx::Error::RowNotFound), StoreError::Database))
}

/// Locks row `id` for the rest of the transaction, at `expected_version` when given; whether it
/// exists. PostgreSQL: `FOR UPDATE`, which inserts referring to the row wait for. SQLite: a
/// write that changes nothing, which takes the database's one write lock first thing (a
/// transaction that read first could not upgrade to writing once another had written).
async fn lock_row(tx: &mut Tx, def: &EntityDef, id: Uuid, expected_version: Option<i64>) -> Result<bool, sqlx::Error> {
    let key = def.primary_key().name;
    let mut sql = Sql::new(tx.backend());
    match tx.backend() {
        Backend::Postgres => sql.push("SELECT ").push_ident(key).push(" FROM ").push_ident(def.table),
        Backend::Sqlite => {
            sql.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(VERSION_COLUMN);
            sql.push(" = ").push_ident(VERSION_COLUMN)
        }
    };
    sql.push(" WHERE ").push_ident(key).push(" = ").push_bind(SqlValue::Uuid(id));
    if let Some(version) = expected_version {
        sql.push(" AND ").push_ident(VERSION_COLUMN).push(" = ").push_bind(SqlValue::Int(version));
    }
    match tx.backend() {
        Backend::Postgres => sql.push(" FOR UPDATE"),
        Backend::Sqlite => sql.push(" RETURNING ").push_ident(key),
    };
    Ok(!tx.fetch_all(sql, &[SqlType::Uuid]).await?.is_empty())
}

/// Walks every row a delete of `id` reaches through references, breadth first: the rows a
/// cascade deletes and those it sets to null, or the first referrer that restricts the delete.
async fn follow_referrers(tx: &mut Tx, def: &EntityDef, id: Uuid) -> Result<Result<Followed, Referral>, sqlx::Error> {
    let mut followed = Followed::default();
    let mut seen: HashSet<(&'static str, Uuid)> = HashSet::new();
    let mut queue: Vec<(&'static [ReferrerDef], &'static str, Vec<Uuid>)> =
        vec![(def.referenced_by, def.name, vec![id])];
    seen.insert((def.table, id));
    while let Some((referrers, referenced, ids)) = queue.pop() {
        for referrer in referrers {
            let rows = referring_rows(tx, referrer, &ids).await?;
            match referrer.on_delete {
                OnDelete::Restrict => {
                    // A self-reference among the rows deleted together does not restrict.
                    let outside = rows.iter().filter(|row| !seen.contains(&(referrer.table, **row))).count();
                    if outside > 0 {
                        let rows = i64::try_from(outside).unwrap_or(i64::MAX);
                        return Ok(Err(Referral { entity: referrer.entity, field: referrer.field, referenced, rows }));
                    }
                }
                OnDelete::Cascade => {
                    let fresh: Vec<Uuid> = rows.into_iter().filter(|row| seen.insert((referrer.table, *row))).collect();
                    followed.deleted.extend(fresh.iter().map(|row| (referrer.entity, *row)));
                    if !fresh.is_empty() {
                        queue.push(((referrer.referrers)(), referrer.entity, fresh));
                    }
                }
                OnDelete::SetNull if !rows.is_empty() => followed.nulled.push((referrer, rows, ids.clone())),
                OnDelete::SetNull => {}
            }
        }
    }
    // A row both deleted by a cascade and set to null is only deleted.
    for (referrer, rows, _) in &mut followed.nulled {
        rows.retain(|row| !seen.contains(&(referrer.table, *row)));
    }
    Ok(Ok(followed))
}

/// The ids of `referrer`'s rows that refer to any of `ids` (locked on PostgreSQL, so they stay
/// as found until the delete).
async fn referring_rows(tx: &mut Tx, referrer: &ReferrerDef, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut sql = Sql::new(tx.backend());
    sql.push("SELECT ").push_ident(referrer.key).push(" FROM ").push_ident(referrer.table).push(" WHERE ");
    push_in(&mut sql, referrer.field, ids);
    if tx.backend() == Backend::Postgres {
        sql.push(" FOR UPDATE");
    }
    let rows = tx.fetch_all(sql, &[SqlType::Uuid]).await?;
    Ok(rows.into_iter().filter_map(|mut row| row.pop()?.into_uuid()).collect())
}

/// `column IN (…ids)`.
fn push_in(sql: &mut Sql, column: &str, ids: &[Uuid]) {
    sql.push_ident(column).push(" IN (");
    sql.push_binds(ids.iter().copied().map(SqlValue::Uuid)).push(")");
}
