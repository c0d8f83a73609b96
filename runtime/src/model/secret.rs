//! A wrapper that keeps sensitive values out of `Debug`, `Display` and serialized output.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A sensitive value (a field marked `sensitive` in the spec), such as a connection string.
///
/// `Debug` prints `<redacted>`, there is no `Display`, and there is deliberately no
/// `Serialize`: the value can only leave the process through [`Secret::expose`], which makes
/// every use visible in review. Deserializing reads the plain value, so it can be accepted in
/// request bodies.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// Borrows the plain value. Call it only where the value must really be used (to connect,
    /// to store), never to log or display it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the plain value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret: Secret<String> = Secret::from("postgres://admin:hunter2@db/prod");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(<redacted>)");
        assert_eq!(secret.expose(), "postgres://admin:hunter2@db/prod");
    }

    #[test]
    fn deserializes_the_plain_value() {
        let secret: Secret<String> = serde_json::from_str("\"s3cr3t\"").unwrap();
        assert_eq!(secret.into_inner(), "s3cr3t");
    }
}
