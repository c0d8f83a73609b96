//! Layer 1, the bottom: what an entity is, with no database and no HTTP. The static
//! descriptions generated from the spec, column values, a checked list request, secrets and
//! the cipher that stores them encrypted,
//! validation, timestamps and the clock, the serde adapters of generated types, and the error
//! of generated enums.

pub mod cipher;
pub mod def;
pub mod list_query;
pub mod redact;
pub mod secret;
pub mod serde_helpers;
pub mod timestamp;
pub mod unknown_variant;
pub mod validation;
pub mod value;
