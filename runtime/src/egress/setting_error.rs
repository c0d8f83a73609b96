//! A bad entry in one of the egress settings (`ENTITY_SPEC_EGRESS_ALLOW`, `…_DENY`,
//! `…_PER_HOST`, `ENTITY_SPEC_FILE_ROOTS`), found at start-up.

/// A bad entry in one of the egress settings, found at start-up.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: `{entry}` {reason}")]
pub struct EgressConfigError {
    variable: &'static str,
    entry: String,
    reason: String,
}

impl EgressConfigError {
    /// `entry` of `variable` is unusable because of `reason`.
    pub fn new(variable: &'static str, entry: &str, reason: impl Into<String>) -> EgressConfigError {
        let reason = reason.into();
        let reason = if reason.starts_with("is ") { reason } else { format!("is not usable: {reason}") };
        EgressConfigError { variable, entry: entry.to_owned(), reason }
    }
}
