//! The stored sensitive columns as a whole, beyond one row at a time
//! ([`crate::storage::column::SealedColumn`]): at start-up, inside the migration's transaction,
//! values stored in plain text by earlier versions are sealed and every key id the columns
//! use is checked to be configured; on demand (`my-service secrets reencrypt`), every value is
//! sealed again under the newest key, so older keys can be dropped.
//!
//! A value is sealed when it starts with `esv1:` ([`SEALED_PREFIX`]); the checks compare that
//! prefix with `substr`, not `LIKE`, whose `_` would match any character of a key id.

use uuid::Uuid;

use crate::model::cipher::{CipherError, Keyring, Place, SEALED_PREFIX, printable_id};
use crate::model::def::{EntityDef, FieldDef};
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Backend, Db, Sql, Tx};
use crate::storage::secret_keys::{SECRET_KEY_FILE_VAR, SECRET_KEY_VAR};

/// Rows re-encrypted per transaction by [`reencrypt`].
pub const REENCRYPT_BATCH: i64 = 500;

/// Why the sensitive columns cannot be used as they are. Messages name keys and columns, never
/// a stored value.
#[derive(Debug, thiserror::Error)]
pub enum SealedColumnsError {
    /// The spec has sensitive fields and no key is configured.
    #[error(
        "sensitive fields ({}) are stored encrypted, and no key is configured: set {SECRET_KEY_VAR} to a base64 key of 32 bytes (e.g. `openssl rand -base64 32`) or {SECRET_KEY_FILE_VAR} to a file holding one",
        .0.join(", ")
    )]
    NoKey(Vec<String>),
    /// Stored values are sealed under keys that are not configured: `(key id, table.column)`.
    #[error(
        "stored sensitive values are encrypted under keys that are not configured: {}; add them (after the newest key) to {SECRET_KEY_VAR} or {SECRET_KEY_FILE_VAR}",
        .0.iter().map(|(id, column)| format!("key `{id}` ({column})")).collect::<Vec<_>>().join(", ")
    )]
    MissingKeys(Vec<(String, String)>),
    /// A stored value could not be opened or sealed.
    #[error("{column}, row {row}: {error}")]
    Cipher {
        /// `table.column`.
        column: String,
        /// The row's id.
        row: Uuid,
        /// What failed.
        error: CipherError,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The sensitive fields of `def`.
fn sensitive_fields(def: &EntityDef) -> impl Iterator<Item = &'static FieldDef> {
    def.fields.iter().filter(|field| field.sensitive)
}

fn column_name(def: &EntityDef, field: &FieldDef) -> String {
    format!("{}.{}", def.table, field.name)
}

/// Seals every plain-text value of the sensitive columns of `entities` (rows stored before
/// values were encrypted), then checks that every key id the columns use is configured. Runs
/// in the migration's transaction; returns one line per column it sealed values in.
pub async fn seal_stored(
    tx: &mut Tx,
    keys: Option<&Keyring>,
    entities: &[&'static EntityDef],
) -> Result<Vec<String>, SealedColumnsError> {
    let columns: Vec<(&EntityDef, &FieldDef)> =
        entities.iter().flat_map(|def| sensitive_fields(def).map(move |field| (*def, field))).collect();
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let Some(keys) = keys else {
        return Err(SealedColumnsError::NoKey(columns.iter().map(|(def, field)| column_name(def, field)).collect()));
    };
    let mut applied = Vec::new();
    for (def, field) in &columns {
        let mut select = select_values(tx.backend(), def, field);
        select.push(" AND substr(").push_ident(field.name).push(", 1, ").push(&SEALED_PREFIX.len().to_string());
        select.push(") <> ").push_bind(SqlValue::Text(SEALED_PREFIX.to_owned()));
        let rows = tx.fetch_all(select, &[SqlType::Uuid, SqlType::Text]).await?;
        for row in &rows {
            let (row, plain) = id_and_text(row);
            let place = Place { table: def.table, column: field.name, row };
            let sealed = keys.seal(plain, &place).map_err(|error| cipher_error(def, field, row, error))?;
            tx.execute(update_value(tx.backend(), def, field, row, sealed, None)).await?;
        }
        if !rows.is_empty() {
            applied.push(format!("{}: encrypted {} stored value(s)", column_name(def, field), rows.len()));
        }
    }
    let mut missing = Vec::new();
    for (def, field) in &columns {
        for id in stored_key_ids(tx, def, field).await? {
            if !keys.has(&id) {
                missing.push((printable_id(&id), column_name(def, field)));
            }
        }
    }
    if !missing.is_empty() {
        return Err(SealedColumnsError::MissingKeys(missing));
    }
    Ok(applied)
}

/// The distinct key ids of the sealed values of one column.
async fn stored_key_ids(tx: &mut Tx, def: &EntityDef, field: &FieldDef) -> Result<Vec<String>, sqlx::Error> {
    let backend = tx.backend();
    let mut sql = Sql::new(backend);
    let start = (SEALED_PREFIX.len() + 1).to_string();
    sql.push("SELECT DISTINCT ");
    match backend {
        Backend::Postgres => {
            sql.push("split_part(").push_ident(field.name).push(", ':', 2)");
        }
        Backend::Sqlite => {
            sql.push("substr(").push_ident(field.name).push(", ").push(&start).push(", instr(substr(");
            sql.push_ident(field.name).push(", ").push(&start).push("), ':') - 1)");
        }
    }
    sql.push(" FROM ").push_ident(def.table).push(" WHERE substr(").push_ident(field.name).push(", 1, ");
    sql.push(&SEALED_PREFIX.len().to_string()).push(") = ").push_bind(SqlValue::Text(SEALED_PREFIX.to_owned()));
    let rows = tx.fetch_all(sql, &[SqlType::Text]).await?;
    Ok(rows.into_iter().filter_map(|mut row| row.pop()?.into_text()).collect())
}

/// How many values of one column [`reencrypt`] sealed again, and how many were already under
/// the newest key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReencryptCount {
    /// `table.column`.
    pub column: String,
    /// Values sealed again under the newest key.
    pub reencrypted: u64,
    /// Values already under the newest key.
    pub current: u64,
}

/// Seals every sensitive value of `entities` again under the newest key of the database's
/// keyring, [`REENCRYPT_BATCH`] rows per transaction. A value written meanwhile by a request is
/// left as that request wrote it (the update only applies while the row still holds what was
/// read), which is already under the newest key. Safe to run again after an interruption.
pub async fn reencrypt(db: &Db, entities: &[&'static EntityDef]) -> Result<Vec<ReencryptCount>, SealedColumnsError> {
    let mut counts = Vec::new();
    for def in entities {
        for field in sensitive_fields(def) {
            let keys = db.keyring().ok_or_else(|| SealedColumnsError::NoKey(vec![column_name(def, field)]))?;
            let current_prefix = format!("{SEALED_PREFIX}{}:", keys.current_id());
            let mut count = ReencryptCount { column: column_name(def, field), reencrypted: 0, current: 0 };
            let mut after: Option<Uuid> = None;
            loop {
                let mut tx = db.begin().await?;
                let backend = tx.backend();
                let mut select = select_values(backend, def, field);
                select.push(" AND substr(").push_ident(field.name).push(", 1, ");
                select.push(&current_prefix.len().to_string()).push(") <> ");
                select.push_bind(SqlValue::Text(current_prefix.clone()));
                if let Some(after) = after {
                    select
                        .push(" AND ")
                        .push_ident(def.primary_key().name)
                        .push(" > ")
                        .push_bind(SqlValue::Uuid(after));
                }
                select.push(" ORDER BY ").push_ident(def.primary_key().name).push(" LIMIT ");
                select.push(&REENCRYPT_BATCH.to_string());
                let rows = tx.fetch_all(select, &[SqlType::Uuid, SqlType::Text]).await?;
                for row in &rows {
                    let (row, stored) = id_and_text(row);
                    let place = Place { table: def.table, column: field.name, row };
                    let plain = match keys.open(stored, &place) {
                        Ok(plain) => plain,
                        // Plain text left by an earlier version (the migration seals it; a
                        // value written by hand since is sealed here too).
                        Err(CipherError::NotSealed) => stored.to_owned(),
                        Err(error) => return Err(cipher_error(def, field, row, error)),
                    };
                    let sealed = keys.seal(&plain, &place).map_err(|error| cipher_error(def, field, row, error))?;
                    let old = Some(stored.to_owned());
                    count.reencrypted += tx.execute(update_value(backend, def, field, row, sealed, old)).await?;
                }
                tx.commit().await?;
                match rows.last() {
                    Some(last) if rows.len() as i64 == REENCRYPT_BATCH => after = Some(id_and_text(last).0),
                    _ => break,
                }
            }
            count.current = count_current(db, def, field, &current_prefix).await?.saturating_sub(count.reencrypted);
            counts.push(count);
        }
    }
    Ok(counts)
}

async fn count_current(db: &Db, def: &EntityDef, field: &FieldDef, prefix: &str) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT COUNT(*) FROM ").push_ident(def.table).push(" WHERE substr(").push_ident(field.name);
    sql.push(", 1, ").push(&prefix.len().to_string()).push(") = ").push_bind(SqlValue::Text(prefix.to_owned()));
    Ok(match db.fetch_all(sql, &[SqlType::Int]).await?.pop().and_then(|mut row| row.pop()) {
        Some(SqlValue::Int(n)) => u64::try_from(n).unwrap_or(0),
        _ => 0,
    })
}

/// `SELECT id, column FROM table WHERE column IS NOT NULL` (callers add conditions).
fn select_values(backend: Backend, def: &EntityDef, field: &FieldDef) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("SELECT ").push_ident(def.primary_key().name).push(", ").push_ident(field.name);
    sql.push(" FROM ").push_ident(def.table).push(" WHERE ").push_ident(field.name).push(" IS NOT NULL");
    sql
}

/// Sets one value, only while the row still holds `old` when given. The version is not
/// bumped: the value is the same, only its encryption changed, so ETags stay valid.
fn update_value(
    backend: Backend,
    def: &EntityDef,
    field: &FieldDef,
    row: Uuid,
    sealed: String,
    old: Option<String>,
) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(field.name).push(" = ");
    sql.push_bind(SqlValue::Text(sealed)).push(" WHERE ").push_ident(def.primary_key().name).push(" = ");
    sql.push_bind(SqlValue::Uuid(row));
    if let Some(old) = old {
        sql.push(" AND ").push_ident(field.name).push(" = ").push_bind(SqlValue::Text(old));
    }
    sql
}

fn id_and_text(row: &[SqlValue]) -> (Uuid, &str) {
    match row {
        [SqlValue::Uuid(id), SqlValue::Text(text)] => (*id, text),
        _ => (Uuid::nil(), ""),
    }
}

fn cipher_error(def: &EntityDef, field: &FieldDef, row: Uuid, error: CipherError) -> SealedColumnsError {
    SealedColumnsError::Cipher { column: column_name(def, field), row, error }
}
