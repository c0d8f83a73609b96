//! What the runtime does that codegen must describe identically: the paths it reserves, its
//! page and body limits, which fields a list can filter, sort and group by, the values runs
//! report, where an action is mounted, and the spec hash.
//!
//! The checks refuse specs that would clash with these, and the OpenAPI document, the
//! workbench description and the generated code state them. Each rule is written once here;
//! the `entity-spec-contract` crate is to replace this file, so that codegen and runtime
//! share one copy.

use crate::ir::{ActionIr, ActionScope, EntityIr, FieldIr, FieldType, Setter};

/// Paths the service itself serves, and what it serves there; no collection may take them.
pub(crate) const RESERVED_PATHS: &[(&str, &str)] =
    &[("/docs", "its API docs"), ("/ui", "the workbench"), ("/openapi.json", "its OpenAPI document")];

/// The collection segment of the statistics endpoint, as `runtime::http::STATS_SEGMENT`.
pub(crate) const STATS_SEGMENT: &str = "stats";

/// Page size limits, as `runtime::query` enforces them.
pub(crate) const DEFAULT_LIMIT: u64 = 50;
pub(crate) const MAX_LIMIT: u64 = 500;
/// Body limit, as `runtime::http::BODY_LIMIT`.
pub(crate) const BODY_LIMIT: &str = "1 MiB";

/// The values of a tracked entity's status field that the runtime writes.
pub(crate) const TRACKING_STATUS_VALUES: [&str; 4] = ["pending", "syncing", "success", "failed"];

/// What started a run, as the runtime records it.
pub(crate) const RUN_TRIGGERS: [&str; 3] = ["manual", "scheduled", "sync_all"];

/// The states of a run, as the runtime records them.
pub(crate) const RUN_STATUSES: [&str; 4] = ["queued", "running", "success", "failed"];

/// Whether a list can be filtered by this field.
pub(crate) fn filterable(field: &FieldIr) -> bool {
    field.ty != FieldType::Json && !field.sensitive
}

/// Whether a filterable field also takes `__gt`, `__gte`, `__lt` and `__lte`.
pub(crate) fn supports_ranges(ty: &FieldType) -> bool {
    matches!(ty, FieldType::Integer | FieldType::Float | FieldType::Date | FieldType::DateTime)
}

/// Fields a list can be sorted by, in the same order as `runtime::def::EntityDef::sortable_fields`.
pub(crate) fn sortable(entity: &EntityIr) -> Vec<&FieldIr> {
    entity
        .fields
        .iter()
        .filter(|f| {
            f.ty != FieldType::Json
                && (f.setter == Setter::PrimaryKey
                    || f.unique
                    || matches!(f.setter, Setter::AutoNow | Setter::AutoNowAdd)
                    || entity.indexes.iter().any(|i| i.fields.contains(&f.name)))
        })
        .collect()
}

/// Fields the statistics split by, as `runtime::stats::grouped_fields`.
pub(crate) fn grouped_fields(entity: &EntityIr) -> impl Iterator<Item = &FieldIr> {
    entity.fields.iter().filter(|f| filterable(f) && matches!(f.ty, FieldType::Enum(_) | FieldType::Boolean))
}

/// Where an action is mounted: `/raw-data-sources/{id}/sync` for an item action,
/// `/raw-data-sources/sync-all` for a collection action.
pub(crate) fn action_path(entity: &EntityIr, action: &ActionIr) -> String {
    match action.scope {
        ActionScope::Item => format!("{}/{{id}}/{}", entity.collection_path, action.path_segment),
        ActionScope::Collection => format!("{}/{}", entity.collection_path, action.path_segment),
    }
}

/// FNV-1a of the spec text: stable across Rust versions, unlike `DefaultHasher`.
pub(crate) fn spec_hash(source: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in source.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
