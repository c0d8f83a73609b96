//! The trait generated entities implement, through which the generic store and HTTP layer
//! work on them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::def::EntityDef;
use crate::validation::Validate;
use crate::value::{DecodeError, RowReader, SqlValue};

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

    /// Column values in field order.
    fn to_row(&self) -> Vec<SqlValue>;

    /// Reads a row in field order.
    fn from_row(row: &mut RowReader) -> Result<Self, DecodeError>;

    /// Builds a new entity from a create input.
    fn from_create(input: Self::Create, id: Uuid, now: DateTime<Utc>) -> Self;

    /// Applies a replace input.
    fn apply_update(&mut self, update: Self::Update, now: DateTime<Utc>);
}
