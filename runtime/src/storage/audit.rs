//! The audit trail, `_entity_spec_audit`: one row per create, replace, patch, delete and
//! action, written atomically with the change it records (one statement on PostgreSQL, one
//! transaction sent in one call on SQLite) (so a change without its
//! row, or a row without its change, cannot exist). Rows name who, when, what (entity, id,
//! operation, the names of the fields that changed: never a value) and from where.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::model::def::FieldKind;
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Backend, Db, Sql};
use crate::storage::schema::create_runtime_table;

/// The table of audit rows.
pub const AUDIT_TABLE: &str = "_entity_spec_audit";

/// One audit row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Its id (time-ordered: the newest row has the largest).
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: `key:<name>` for an API key, the token's subject for a JWT, `anonymous` when
    /// authentication is off.
    pub actor: String,
    /// How the actor authenticated: `api_key`, `jwt` or `anonymous`.
    pub credential: String,
    /// The entity, e.g. `RawDataSource`.
    pub entity: String,
    /// The item, when the operation has one.
    pub entity_id: Option<Uuid>,
    /// `create`, `replace`, `patch`, `delete`, or the action's name.
    pub operation: String,
    /// The names of the fields that changed (create: those given a value).
    pub fields: Vec<String>,
    /// The client's address, when known.
    pub client: Option<String>,
    /// The request's id (`X-Request-Id`, or generated).
    pub request_id: Option<String>,
}

/// The audit table's columns: name, kind, and whether a value is required.
const COLUMNS: [(&str, FieldKind, bool); 10] = [
    ("id", FieldKind::Uuid, true),
    ("at", FieldKind::DateTime, true),
    ("actor", FieldKind::Text, true),
    ("credential", FieldKind::Text, true),
    ("entity", FieldKind::Text, true),
    ("entity_id", FieldKind::Uuid, false),
    ("operation", FieldKind::Text, true),
    ("fields", FieldKind::Text, true),
    ("client", FieldKind::Text, false),
    ("request_id", FieldKind::Text, false),
];

/// Statements that create the audit table and its index (run by the start-up migration).
pub fn schema(backend: Backend) -> Vec<Sql> {
    let mut create = create_runtime_table(backend, AUDIT_TABLE, &COLUMNS);
    // Every write pays for each b-tree of this table. On SQLite a rowid table with a UUID key
    // has two (rows by rowid, the key's index); without rowid the rows live in the key's.
    if backend == Backend::Sqlite {
        create.push(" WITHOUT ROWID");
    }
    // The item's rows are found by `entity_id` alone (ids are UUIDs: one entity's never meet
    // another's); the entity filter on its own walks the key backwards. The wider index of
    // earlier builds cost every write more than it saved any read.
    let mut wide = Sql::new(backend);
    wide.push("DROP INDEX IF EXISTS ").push_ident("_entity_spec_audit_item_idx");
    let mut by_item = Sql::new(backend);
    by_item.push("CREATE INDEX IF NOT EXISTS ").push_ident("_entity_spec_audit_entity_id_idx").push(" ON ");
    by_item.push_ident(AUDIT_TABLE).push(r#" ("entity_id")"#);
    vec![create, wide, by_item]
}

/// The statement that stores `record`.
pub fn insert(backend: Backend, record: &AuditRecord) -> Sql {
    let mut sql = Sql::new(backend);
    push_insert_head(&mut sql);
    sql.push("VALUES (");
    push_values(&mut sql, record);
    sql.push(")");
    sql
}

/// `write` (a statement with `RETURNING`) and the insert of `record`, stored exactly when
/// `write` changed a row; the result is `write`'s. On PostgreSQL one statement (a data-modifying
/// `WITH`); on SQLite, which has none, two statements. Run it with
/// [`Db::fetch_row_atomically`](crate::storage::db::Db::fetch_row_atomically).
pub fn with_write(mut write: Sql, record: &AuditRecord) -> Sql {
    match write.backend() {
        Backend::Postgres => {
            write.prepend("WITH written AS (");
            write.push("), audited AS (");
            push_insert_head(&mut write);
            write.push("SELECT ");
            push_values(&mut write, record);
            write.push(" FROM written LIMIT 1) SELECT * FROM written");
        }
        Backend::Sqlite => {
            write.push("; ");
            push_insert_head(&mut write);
            write.push("SELECT ");
            push_values(&mut write, record);
            // `changes()`: the rows the write just changed (none for a stale version).
            write.push(" WHERE changes() > 0");
        }
    }
    write
}

fn push_insert_head(sql: &mut Sql) {
    sql.push("INSERT INTO ").push_ident(AUDIT_TABLE).push(" (");
    for (i, (column, _, _)) in COLUMNS.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(column);
    }
    sql.push(") ");
}

fn push_values(sql: &mut Sql, record: &AuditRecord) {
    let text = |value: &Option<String>| value.clone().map_or(SqlValue::Null(SqlType::Text), SqlValue::Text);
    let values = [
        SqlValue::Uuid(record.id),
        SqlValue::DateTime(record.at),
        SqlValue::Text(record.actor.clone()),
        SqlValue::Text(record.credential.clone()),
        SqlValue::Text(record.entity.clone()),
        record.entity_id.map_or(SqlValue::Null(SqlType::Uuid), SqlValue::Uuid),
        SqlValue::Text(record.operation.clone()),
        SqlValue::Text(record.fields.join(" ")),
        text(&record.client),
        text(&record.request_id),
    ];
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_bind_numbered(value);
    }
}

/// Stores `record` on its own (for actions, whose work is not one statement).
pub async fn record(db: &Db, record: &AuditRecord) -> Result<(), sqlx::Error> {
    db.execute(insert(db.backend(), record)).await.map(|_| ())
}

/// Which audit rows to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this entity's.
    pub entity: Option<String>,
    /// Only this item's.
    pub entity_id: Option<Uuid>,
    /// Only rows older than this one (the cursor: the last id of the previous page).
    pub before: Option<Uuid>,
    /// At most this many.
    pub limit: u64,
}

/// Audit rows matching `query`, newest first, and whether there are more.
pub async fn list(db: &Db, query: &AuditQuery) -> Result<(Vec<AuditRecord>, bool), sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ");
    for (i, (column, _, _)) in COLUMNS.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(column);
    }
    sql.push(" FROM ").push_ident(AUDIT_TABLE).push(" WHERE 1 = 1");
    if let Some(entity) = &query.entity {
        sql.push(" AND ").push_ident("entity").push(" = ").push_bind(SqlValue::Text(entity.clone()));
    }
    if let Some(id) = query.entity_id {
        sql.push(" AND ").push_ident("entity_id").push(" = ").push_bind(SqlValue::Uuid(id));
    }
    if let Some(before) = query.before {
        sql.push(" AND ").push_ident("id").push(" < ").push_bind(SqlValue::Uuid(before));
    }
    sql.push(" ORDER BY ").push_ident("id").push(" DESC");
    sql.push_limit(query.limit + 1, 0);
    let types = COLUMNS.map(|(_, kind, _)| SqlType::of(kind));
    let mut rows: Vec<AuditRecord> = db.fetch_all(sql, &types).await?.into_iter().filter_map(decode).collect();
    let more = rows.len() as u64 > query.limit;
    rows.truncate(query.limit as usize);
    Ok((rows, more))
}

fn decode(row: Vec<SqlValue>) -> Option<AuditRecord> {
    let mut values = row.into_iter();
    let mut next = || values.next();
    Some(AuditRecord {
        id: next()?.into_uuid()?,
        at: next()?.into_datetime()?,
        actor: next()?.into_text()?,
        credential: next()?.into_text()?,
        entity: next()?.into_text()?,
        entity_id: next().and_then(SqlValue::into_uuid),
        operation: next()?.into_text()?,
        fields: next()?.into_text()?.split_whitespace().map(str::to_owned).collect(),
        client: next().and_then(SqlValue::into_text),
        request_id: next().and_then(SqlValue::into_text),
    })
}
