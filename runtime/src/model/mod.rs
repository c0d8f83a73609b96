//! Layer 1, the bottom: what an entity is, with no database and no HTTP. The static
//! descriptions generated from the spec, column values, secrets, validation, timestamps, the
//! serde adapters of generated types, and the error of generated enums.

pub mod def;
pub mod secret;
pub mod serde_helpers;
pub mod timestamp;
pub mod unknown_variant;
pub mod validation;
pub mod value;
