//! API keys: `esk_` followed by 32 random bytes (base64url), so a leaked key is recognisable
//! by secret scanners. Only the SHA-256 of a key is stored (a key has 256 bits of entropy, so
//! a fast hash is enough, as for GitHub's and Stripe's tokens); the key itself is shown once,
//! when it is created. Keys live in `_entity_spec_api_keys`, created by the start-up migration
//! and managed by the service binary's `keys` command.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use entity_spec_contract::scopes::scope_problem;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::model::def::FieldKind;
use crate::model::secret::Secret;
use crate::model::timestamp::now;
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Backend, Db, Sql};
use crate::storage::schema::create_runtime_table;

/// The table of API keys.
pub const KEYS_TABLE: &str = "_entity_spec_api_keys";

/// What every key starts with.
pub const KEY_PREFIX: &str = "esk_";

/// The name of the key the first start creates.
pub const BOOTSTRAP_KEY_NAME: &str = "admin";

/// Random bytes per key.
const KEY_BYTES: usize = 32;

/// How many characters of a key `keys list` shows, prefix included: enough to tell keys
/// apart, far too few to guess the rest.
const SHOWN_CHARS: usize = 12;

/// A key as `keys list` shows it: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Its id, for `keys revoke`.
    pub id: Uuid,
    /// Its unique name, e.g. `ci`.
    pub name: String,
    /// Its first characters, e.g. `esk_3Fh9aQ2b`.
    pub shown: String,
    /// The scopes it holds.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (recorded at most once per cache period, see
    /// `auth::authenticator`).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyInfo {
    /// Whether it authenticates at `at`: not revoked, not expired.
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| expiry > at)
    }
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A unique name: letters, digits, `_`, `-`, `.`; at most 64 characters.
    pub name: String,
    /// At least one scope.
    pub scopes: Vec<String>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a key could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The name is not allowed.
    #[error("key name {0}")]
    Name(&'static str),
    /// A scope is not a valid scope token.
    #[error("scope `{scope}`: {problem}")]
    Scope {
        /// The scope as given (printable).
        scope: String,
        /// Why it is refused.
        problem: String,
    },
    /// No scope was given.
    #[error("a key needs at least one scope (e.g. `--scope admin`)")]
    NoScope,
    /// The expiry is not in the future.
    #[error("the expiry must be in the future")]
    Expired,
    /// A key of that name exists (revoked ones included).
    #[error("a key named `{0}` already exists; choose another name")]
    Taken(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The SHA-256 of a key, as stored.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random key.
fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether `token` has the shape of an API key (checked before any lookup).
pub fn looks_like_key(token: &str) -> bool {
    token.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == 43 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.len() > 64 {
        return Err(KeyError::Name("must have 1 to 64 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
        return Err(KeyError::Name("may hold letters, digits, `_`, `-` and `.` only"));
    }
    Ok(())
}

/// Statements that create the keys table (run by the start-up migration).
pub fn schema(backend: Backend) -> Vec<Sql> {
    let create = create_runtime_table(
        backend,
        KEYS_TABLE,
        &[
            ("id", FieldKind::Uuid, true),
            ("name", FieldKind::Text, true),
            ("shown", FieldKind::Text, true),
            ("hash", FieldKind::Text, true),
            ("scopes", FieldKind::Text, true),
            ("created_at", FieldKind::DateTime, true),
            ("last_used_at", FieldKind::DateTime, false),
            ("expires_at", FieldKind::DateTime, false),
            ("revoked_at", FieldKind::DateTime, false),
        ],
    );
    let index = |name: &str, column: &str| {
        let mut sql = Sql::new(backend);
        sql.push("CREATE UNIQUE INDEX IF NOT EXISTS ").push_ident(name).push(" ON ").push_ident(KEYS_TABLE);
        sql.push(" (").push_ident(column).push(")");
        sql
    };
    vec![create, index("_entity_spec_api_keys_name_key", "name"), index("_entity_spec_api_keys_hash_key", "hash")]
}

const INFO_COLUMNS: &str =
    r#""id", "name", "shown", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at""#;
const INFO_TYPES: &[SqlType] = &[
    SqlType::Uuid,
    SqlType::Text,
    SqlType::Text,
    SqlType::Text,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::DateTime,
];

fn decode_info(row: Vec<SqlValue>) -> Option<KeyInfo> {
    let mut values = row.into_iter();
    let mut next = || values.next();
    Some(KeyInfo {
        id: next()?.into_uuid()?,
        name: next()?.into_text()?,
        shown: next()?.into_text()?,
        scopes: next()?.into_text()?.split_whitespace().map(str::to_owned).collect(),
        created_at: next()?.into_datetime()?,
        last_used_at: next().and_then(SqlValue::into_datetime),
        expires_at: next().and_then(SqlValue::into_datetime),
        revoked_at: next().and_then(SqlValue::into_datetime),
    })
}

/// Creates a key; returns it once (only its hash is kept) with its description.
pub async fn create(db: &Db, key: NewKey) -> Result<(Secret<String>, KeyInfo), KeyError> {
    check_name(&key.name)?;
    if key.scopes.is_empty() {
        return Err(KeyError::NoScope);
    }
    for scope in &key.scopes {
        if let Some(problem) = scope_problem(scope) {
            return Err(KeyError::Scope { scope: entity_spec_contract::text::printable(scope), problem });
        }
    }
    let created_at = now();
    if key.expires_at.is_some_and(|expiry| expiry <= created_at) {
        return Err(KeyError::Expired);
    }
    let secret = generate().map_err(|e| KeyError::Database(sqlx::Error::Io(std::io::Error::other(e))))?;
    let mut scopes: Vec<String> = Vec::new();
    for scope in key.scopes {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let info = KeyInfo {
        id: Uuid::now_v7(),
        name: key.name,
        shown: secret[..SHOWN_CHARS].to_owned(),
        scopes,
        created_at,
        last_used_at: None,
        expires_at: key.expires_at,
        revoked_at: None,
    };
    let mut sql = Sql::new(db.backend());
    sql.push("INSERT INTO ").push_ident(KEYS_TABLE);
    sql.push(r#" ("id", "name", "shown", "hash", "scopes", "created_at", "expires_at") VALUES ("#);
    sql.push_bind(SqlValue::Uuid(info.id)).push(", ");
    sql.push_bind(SqlValue::Text(info.name.clone())).push(", ");
    sql.push_bind(SqlValue::Text(info.shown.clone())).push(", ");
    sql.push_bind(SqlValue::Text(hex(&key_hash(&secret)))).push(", ");
    sql.push_bind(SqlValue::Text(info.scopes.join(" "))).push(", ");
    sql.push_bind(SqlValue::DateTime(created_at)).push(", ");
    sql.push_bind(info.expires_at.map_or(SqlValue::Null(SqlType::DateTime), SqlValue::DateTime)).push(")");
    match db.execute(sql).await {
        Ok(_) => Ok((Secret::from(secret), info)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(KeyError::Taken(info.name)),
        Err(e) => Err(e.into()),
    }
}

/// Every key, oldest first.
pub async fn list(db: &Db) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ")
        .push(INFO_COLUMNS)
        .push(" FROM ")
        .push_ident(KEYS_TABLE)
        .push(r#" ORDER BY "created_at", "id""#);
    Ok(db.fetch_all(sql, INFO_TYPES).await?.into_iter().filter_map(decode_info).collect())
}

/// Whether any key was ever created (the first start creates one when none was).
pub async fn any(db: &Db) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ").push_ident("id").push(" FROM ").push_ident(KEYS_TABLE).push(" LIMIT 1");
    Ok(db.fetch_optional(sql, &[SqlType::Uuid]).await?.is_some())
}

/// Revokes the key `id`, by id or by name. Returns the key, or `None` when there is none.
/// Revoking twice keeps the first time.
pub async fn revoke(db: &Db, id_or_name: &str) -> Result<Option<KeyInfo>, sqlx::Error> {
    let by_id = Uuid::parse_str(id_or_name).ok();
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE ").push_ident(KEYS_TABLE).push(" SET ").push_ident("revoked_at").push(" = ");
    sql.push("COALESCE(").push_ident("revoked_at").push(", ").push_bind(SqlValue::DateTime(now())).push(") WHERE ");
    match by_id {
        Some(id) => sql.push_ident("id").push(" = ").push_bind(SqlValue::Uuid(id)),
        None => sql.push_ident("name").push(" = ").push_bind(SqlValue::Text(id_or_name.to_owned())),
    };
    sql.push(" RETURNING ").push(INFO_COLUMNS);
    Ok(db.write_optional(sql, INFO_TYPES).await?.and_then(decode_info))
}

/// The key whose SHA-256 is `hash`, whatever its state (the caller checks it is active).
pub async fn find(db: &Db, hash: &[u8; 32]) -> Result<Option<KeyInfo>, sqlx::Error> {
    let wanted = hex(hash);
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ").push(INFO_COLUMNS).push(", ").push_ident("hash").push(" FROM ").push_ident(KEYS_TABLE);
    sql.push(" WHERE ").push_ident("hash").push(" = ").push_bind(SqlValue::Text(wanted.clone()));
    let mut types = INFO_TYPES.to_vec();
    types.push(SqlType::Text);
    let Some(mut row) = db.fetch_optional(sql, &types).await? else { return Ok(None) };
    // The index found it by equality; compare again in constant time so that no code path
    // depends on how much of a hash matched.
    let stored = match row.pop() {
        Some(SqlValue::Text(stored)) => stored,
        _ => return Ok(None),
    };
    if !bool::from(stored.as_bytes().ct_eq(wanted.as_bytes())) {
        return Ok(None);
    }
    Ok(decode_info(row))
}

/// Records that the key `id` was used at `at`.
pub async fn touch(db: &Db, id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE ").push_ident(KEYS_TABLE).push(" SET ").push_ident("last_used_at").push(" = ");
    sql.push_bind(SqlValue::DateTime(at)).push(" WHERE ").push_ident("id").push(" = ").push_bind(SqlValue::Uuid(id));
    db.execute(sql).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_recognisable() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a, b);
        assert!(looks_like_key(&a), "{a}");
        assert_eq!(a.len(), KEY_PREFIX.len() + 43);
        assert!(!looks_like_key("esk_short"));
        assert!(!looks_like_key(&a.replace("esk_", "xsk_")));
        assert!(!looks_like_key(&format!("{a}=")));
    }

    #[test]
    fn names_are_short_and_plain() {
        assert!(check_name("ci-deploy.2").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("two words").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn the_hash_is_sha256() {
        assert_eq!(hex(&key_hash("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
