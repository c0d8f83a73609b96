//! Serde adapters used by generated input types.

use serde::{Deserialize, Deserializer};

/// For `Option<T>` fields with `#[serde(default)]`: a present value (even `null`, when `T` is
/// itself an `Option`) becomes `Some`, an absent key stays `None`. This is how update inputs
/// tell "keep the stored value" (absent) from "clear it" (`null`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}
