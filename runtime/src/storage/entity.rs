//! The trait generated entities implement, through which the generic store and HTTP layer
//! work on them: their description, their inputs, and their rows on either backend.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::model::cipher::Keyring;
use crate::model::def::EntityDef;
use crate::model::validation::Validate;
use crate::model::value::SqlValue;
use crate::storage::column::{BindError, ColumnError, PgArguments, PgRow, SqliteArguments, SqliteRow, Unseal};

/// An entity generated from the spec. Implemented by `#[entity_spec]`; not meant to be
/// implemented by hand.
pub trait Entity: Serialize + Send + Sync + Sized + 'static {
    /// The create input (POST body).
    type Create: DeserializeOwned + Validate + Send + Sync;
    /// The replace input (PUT body; also what a merged PATCH is checked as).
    type Update: DeserializeOwned + Validate + Clone + Send + Sync;

    /// Names, fields and indexes, from the spec.
    const DEF: &'static EntityDef;

    /// The primary key.
    fn id(&self) -> Uuid;

    /// Column values in field order (for comparing and inspecting entities generically; the
    /// store binds fields with [`Entity::bind_sqlite`] / [`Entity::bind_postgres`]).
    fn to_row(&self) -> Vec<SqlValue>;

    /// Reads a SQLite row whose first columns are the fields in field order; sensitive fields
    /// are opened or left as `unseal` says (see [`crate::storage::column::SealedColumn`]).
    fn from_sqlite_row(row: &SqliteRow, unseal: Unseal<'_>) -> Result<Self, ColumnError>;

    /// Reads a PostgreSQL row whose first columns are the fields in field order; sensitive
    /// fields are opened or left as `unseal` says.
    fn from_postgres_row(row: &PgRow, unseal: Unseal<'_>) -> Result<Self, ColumnError>;

    /// Binds every field, in field order, as the next SQLite parameters; sensitive fields are
    /// sealed with `keys`.
    fn bind_sqlite(&self, args: &mut SqliteArguments, keys: Option<&Keyring>) -> Result<(), BindError>;

    /// Binds every field, in field order, as the next PostgreSQL parameters; sensitive fields
    /// are sealed with `keys`.
    fn bind_postgres(&self, args: &mut PgArguments, keys: Option<&Keyring>) -> Result<(), BindError>;

    /// Builds a new entity from a create input.
    fn from_create(input: Self::Create, id: Uuid, now: DateTime<Utc>) -> Self;

    /// Applies a replace input.
    fn apply_update(&mut self, update: Self::Update, now: DateTime<Utc>);

    /// Sets the owner field (entities whose rows are owned; others have none).
    fn set_owner(&mut self, _owner: &str) {}
}
