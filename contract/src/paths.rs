//! Paths the service serves besides its entities' collections, so no collection or action may
//! take them.

/// The OpenAPI document.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The interactive API docs (Swagger UI, compiled into the binary).
pub const DOCS_PATH: &str = "/docs";

/// The workbench UI; `/ui/{collection}` is an entity's page.
pub const UI_PATH: &str = "/ui";

/// What the workbench page reads about every entity.
pub const WORKBENCH_JSON_PATH: &str = "/ui/workbench.json";

/// The caller's identity and scopes (the workbench reads it to show what it may do).
pub const AUTH_ME_PATH: &str = "/auth/me";

/// The audit trail of every write and action, for the admin scope.
pub const AUDIT_PATH: &str = "/audit-log";

/// Liveness: the process answers (no I/O), for orchestrators; served without a credential.
pub const HEALTHZ_PATH: &str = "/healthz";

/// Prometheus metrics of this instance, for a credential holding [`crate::scopes::METRICS_SCOPE`].
pub const METRICS_PATH: &str = "/metrics";

/// Readiness: the service can serve requests now (its database answers); served without a
/// credential.
pub const READYZ_PATH: &str = "/readyz";

/// The statistics endpoint's segment under each collection: `GET {path}/stats`. A static
/// segment wins over `{id}` in the router, and `stats` is never a valid UUID.
pub const STATS_SEGMENT: &str = "stats";

/// Top-level paths the service itself serves, and what it serves there (for messages).
pub const RESERVED_PATHS: &[(&str, &str)] = &[
    (DOCS_PATH, "its API docs"),
    (UI_PATH, "the workbench"),
    (OPENAPI_PATH, "its OpenAPI document"),
    ("/auth", "the caller's identity"),
    (AUDIT_PATH, "the audit trail"),
    (HEALTHZ_PATH, "its liveness check"),
    (READYZ_PATH, "its readiness check"),
    (METRICS_PATH, "its Prometheus metrics"),
];

/// The reserved path a collection path would collide with (itself or below it), with what the
/// service serves there.
pub fn reserved_path(collection_path: &str) -> Option<(&'static str, &'static str)> {
    RESERVED_PATHS.iter().copied().find(|(reserved, _)| {
        collection_path == *reserved || collection_path.strip_prefix(reserved).is_some_and(|rest| rest.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_paths_match_whole_segments_only() {
        assert_eq!(reserved_path("/ui"), Some(("/ui", "the workbench")));
        assert_eq!(reserved_path("/docs/v2"), Some(("/docs", "its API docs")));
        assert_eq!(reserved_path("/uis"), None);
        assert_eq!(reserved_path("/raw-data-sources"), None);
    }
}
