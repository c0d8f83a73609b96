//! The error of the enums generated from `enum` fields: a string that is none of their values.

use std::fmt;

/// A string that is not one of an enum's values, from `FromStr` on a generated enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The value that was given.
    pub value: String,
    /// The values the enum accepts, in spec order.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown value `{}`; expected one of: {}", self.value.escape_debug(), self.expected.join(", "))
    }
}

impl std::error::Error for UnknownVariant {}
