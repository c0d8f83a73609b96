//! Layer 3: tracked runs (e.g. a data source's sync). Imports only [`crate::storage`] and
//! [`crate::model`].

pub mod engine;

pub use engine::*;
