//! The runs table, `_entity_spec_runs`: its DDL (run by the start-up migration, which adds the
//! retry columns to tables made before them), the [`Run`] a row decodes to, and the column list
//! every query of it selects.

use chrono::{DateTime, Utc};
use entity_spec_contract::runs::{RunStatus, RunTrigger};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::model::def::FieldKind;
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Backend, Sql};
use crate::storage::schema::{RuntimeDdl, add_runtime_column, create_runtime_table};

/// The table of runs.
pub const RUNS_TABLE: &str = "_entity_spec_runs";

/// One run as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Run id.
    pub id: Uuid,
    /// The item it runs for.
    pub item_id: Uuid,
    /// The action, e.g. `sync`.
    pub action: String,
    /// Why it was started.
    #[serde(serialize_with = "wire_name")]
    pub trigger: RunTrigger,
    /// Where it is in its life.
    #[serde(serialize_with = "wire_name")]
    pub status: RunStatus,
    /// Which attempt it is: 1, or the number of a retry of a failed run.
    pub attempt: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// No worker starts it before this (a retry waiting for its backoff); `None`: at once.
    pub not_before: Option<DateTime<Utc>>,
    /// When a worker started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// How long it ran, in milliseconds.
    pub duration_ms: Option<i64>,
    /// What the run reported (its outcome or its error, never a secret).
    pub message: Option<String>,
}

/// A run value as its wire name (the contract's enums have no serde: it depends on nothing).
fn wire_name<S: Serializer>(value: &impl std::fmt::Display, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The columns of a [`Run`], in the order [`decode_run`] reads them.
pub const RUN_COLUMNS: &[&str] = &[
    "id",
    "item_id",
    "action",
    "trigger",
    "status",
    "attempt",
    "queued_at",
    "not_before",
    "started_at",
    "finished_at",
    "duration_ms",
    "message",
];

/// The types of [`RUN_COLUMNS`], to read rows with.
pub const RUN_TYPES: &[SqlType] = &[
    SqlType::Uuid,
    SqlType::Uuid,
    SqlType::Text,
    SqlType::Text,
    SqlType::Text,
    SqlType::Int,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::Int,
    SqlType::Text,
];

/// A run from a row read with [`RUN_TYPES`]; `None` if the row does not hold one.
pub fn decode_run(row: Vec<SqlValue>) -> Option<Run> {
    let mut values = row.into_iter();
    let mut next = || values.next();
    Some(Run {
        id: next()?.into_uuid()?,
        item_id: next()?.into_uuid()?,
        action: next()?.into_text()?,
        trigger: RunTrigger::parse(&next()?.into_text()?)?,
        status: RunStatus::parse(&next()?.into_text()?)?,
        attempt: u32::try_from(next()?.into_int()?).ok()?,
        queued_at: next()?.into_datetime()?,
        not_before: next().and_then(SqlValue::into_datetime),
        started_at: next().and_then(SqlValue::into_datetime),
        finished_at: next().and_then(SqlValue::into_datetime),
        duration_ms: next().and_then(SqlValue::into_int),
        message: next().and_then(SqlValue::into_text),
    })
}

/// Appends the columns of a [`Run`], comma-separated.
pub fn push_run_columns(sql: &mut Sql) {
    for (i, column) in RUN_COLUMNS.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(column);
    }
}

/// Statements that create the runs table and its indexes, then add the columns retries
/// brought (run by the start-up migration).
pub fn schema(backend: Backend) -> Vec<RuntimeDdl> {
    let create = create_runtime_table(
        backend,
        RUNS_TABLE,
        &[
            ("id", FieldKind::Uuid, true),
            ("entity", FieldKind::Text, true),
            ("item_id", FieldKind::Uuid, true),
            ("action", FieldKind::Text, true),
            ("trigger", FieldKind::Text, true),
            ("status", FieldKind::Text, true),
            ("queued_at", FieldKind::DateTime, true),
            ("started_at", FieldKind::DateTime, false),
            ("finished_at", FieldKind::DateTime, false),
            ("duration_ms", FieldKind::Integer, false),
            ("message", FieldKind::Text, false),
            ("lease_owner", FieldKind::Text, false),
            ("lease_expires_at", FieldKind::DateTime, false),
        ],
    );
    let mut statements = vec![create];
    let index = |name: &str, unique: bool, columns: &str, condition: &str| {
        let mut sql = Sql::new(backend);
        sql.push(if unique { "CREATE UNIQUE INDEX IF NOT EXISTS " } else { "CREATE INDEX IF NOT EXISTS " });
        sql.push_ident(name).push(" ON ").push_ident(RUNS_TABLE).push(columns).push(condition);
        sql
    };
    // The guarantee that an item never runs twice at once, enforced by the database. An
    // index predicate cannot take parameters: the statuses are written as literals.
    let active: Vec<String> =
        RunStatus::ALL.iter().filter(|s| s.is_active()).map(|s| format!("'{}'", s.as_str())).collect();
    statements.push(index(
        "_entity_spec_runs_one_active_key",
        true,
        " (\"entity\", \"item_id\")",
        &format!(" WHERE \"status\" IN ({})", active.join(", ")),
    ));
    statements.push(index("_entity_spec_runs_history_idx", false, " (\"entity\", \"item_id\", \"queued_at\")", ""));
    statements.push(index("_entity_spec_runs_queue_idx", false, " (\"status\", \"queued_at\")", ""));
    // The workbench's "recent failures" reads the newest failed runs of an entity.
    statements.push(index("_entity_spec_runs_outcome_idx", false, " (\"entity\", \"status\", \"finished_at\")", ""));
    let mut statements: Vec<RuntimeDdl> = statements.into_iter().map(RuntimeDdl::from).collect();
    // Runs stored before retries existed were each a first attempt, due at once.
    statements.push(add_runtime_column(backend, RUNS_TABLE, "attempt", FieldKind::Integer, Some("1")));
    statements.push(add_runtime_column(backend, RUNS_TABLE, "not_before", FieldKind::DateTime, None));
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_show_trigger_and_status_by_their_wire_names() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T12:00:00Z").unwrap().to_utc();
        let run = Run {
            id: Uuid::nil(),
            item_id: Uuid::nil(),
            action: "sync".to_owned(),
            trigger: RunTrigger::SyncAll,
            status: RunStatus::Queued,
            attempt: 1,
            queued_at: at,
            not_before: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            message: None,
        };
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!((&json["trigger"], &json["status"]), (&"sync_all".into(), &"queued".into()));
    }

    #[test]
    fn one_active_run_per_item_is_the_unique_index_of_queued_and_running_runs() {
        let ddl = schema(Backend::Sqlite);
        let one_active = ddl
            .iter()
            .filter_map(|statement| match statement {
                RuntimeDdl::Always(sql) => Some(sql.text()),
                RuntimeDdl::AddColumn { .. } => None,
            })
            .find(|text| text.contains("one_active"))
            .unwrap();
        assert!(one_active.ends_with(r#"WHERE "status" IN ('queued', 'running')"#), "{one_active}");
    }
}
