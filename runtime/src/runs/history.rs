//! Runs read back: one item's history (a page, newest first), one run, and what an entity's
//! runs are doing (for the statistics endpoint).

use entity_spec_contract::runs::RunStatus;
use serde::Serialize;
use uuid::Uuid;

use crate::model::def::EntityDef;
use crate::model::list_query::Paging;
use crate::model::value::{SqlType, SqlValue};
use crate::runs::table::{RUN_TYPES, RUNS_TABLE, Run, decode_run, push_run_columns};
use crate::storage::db::{Db, Sql};

/// The runs of one item, newest first: one page and the total.
pub async fn history(db: &Db, def: &EntityDef, item_id: Uuid, page: Paging) -> Result<(Vec<Run>, i64), sqlx::Error> {
    let filter = |sql: &mut Sql| {
        sql.push(" WHERE \"entity\" = ").push_bind(SqlValue::Text(def.name.to_owned()));
        sql.push(" AND \"item_id\" = ").push_bind(SqlValue::Uuid(item_id));
    };
    let mut count = Sql::new(db.backend());
    count.push("SELECT COUNT(*) FROM ").push_ident(RUNS_TABLE);
    filter(&mut count);
    let total = match db.fetch_optional(count, &[SqlType::Int]).await?.and_then(|mut r| r.pop()) {
        Some(SqlValue::Int(n)) => n,
        _ => 0,
    };
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ");
    push_run_columns(&mut sql);
    sql.push(" FROM ").push_ident(RUNS_TABLE);
    filter(&mut sql);
    // The page as literals, as lists write it.
    sql.push(" ORDER BY \"queued_at\" DESC, \"id\" DESC").push_limit(u64::from(page.limit), page.offset);
    let rows = db.fetch_all(sql, RUN_TYPES).await?;
    Ok((rows.into_iter().filter_map(decode_run).collect(), total))
}

/// One run of an item.
pub async fn get_run(db: &Db, def: &EntityDef, item_id: Uuid, run_id: Uuid) -> Result<Option<Run>, sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ");
    push_run_columns(&mut sql);
    sql.push(" FROM ")
        .push_ident(RUNS_TABLE)
        .push(" WHERE \"entity\" = ")
        .push_bind(SqlValue::Text(def.name.to_owned()));
    sql.push(" AND \"item_id\" = ").push_bind(SqlValue::Uuid(item_id));
    sql.push(" AND \"id\" = ").push_bind(SqlValue::Uuid(run_id));
    Ok(db.fetch_optional(sql, RUN_TYPES).await?.and_then(decode_run))
}

/// What an entity's runs are doing: how many are queued and running, and the newest
/// failures, for the aggregate endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// Runs waiting for a worker.
    pub queued: i64,
    /// Runs a worker holds.
    pub running: i64,
    /// The newest failed runs, newest first.
    pub recent_failures: Vec<Run>,
}

/// How many runs of `def`'s items are queued and how many running: `(queued, running)`.
pub async fn active_counts(db: &Db, def: &EntityDef) -> Result<(i64, i64), sqlx::Error> {
    let entity = SqlValue::Text(def.name.to_owned());
    let status = |status: RunStatus| SqlValue::Text(status.as_str().to_owned());
    let mut counts = Sql::new(db.backend());
    counts.push("SELECT \"status\", COUNT(*) FROM ").push_ident(RUNS_TABLE);
    counts.push(" WHERE \"entity\" = ").push_bind(entity);
    counts.push(" AND \"status\" IN (").push_bind(status(RunStatus::Queued)).push(", ");
    counts.push_bind(status(RunStatus::Running)).push(") GROUP BY \"status\"");
    let (mut queued, mut running) = (0, 0);
    for row in db.fetch_all(counts, &[SqlType::Text, SqlType::Int]).await? {
        if let (Some(SqlValue::Text(name)), Some(SqlValue::Int(n))) = (row.first(), row.get(1)) {
            match RunStatus::parse(name) {
                Some(RunStatus::Queued) => queued = *n,
                Some(RunStatus::Running) => running = *n,
                _ => {}
            }
        }
    }
    Ok((queued, running))
}

/// Counts of queued and running runs of `def`'s items, and its newest failed runs (at most
/// `failures`).
pub async fn activity(db: &Db, def: &EntityDef, failures: u32) -> Result<Activity, sqlx::Error> {
    let (queued, running) = active_counts(db, def).await?;
    let entity = SqlValue::Text(def.name.to_owned());
    let status = |status: RunStatus| SqlValue::Text(status.as_str().to_owned());
    let mut failed = Sql::new(db.backend());
    failed.push("SELECT ");
    push_run_columns(&mut failed);
    failed.push(" FROM ").push_ident(RUNS_TABLE).push(" WHERE \"entity\" = ").push_bind(entity);
    failed.push(" AND \"status\" = ").push_bind(status(RunStatus::Failed));
    failed.push(" ORDER BY \"finished_at\" DESC, \"id\" DESC").push_limit(u64::from(failures), 0);
    let recent_failures = db.fetch_all(failed, RUN_TYPES).await?.into_iter().filter_map(decode_run).collect();
    Ok(Activity { queued, running, recent_failures })
}
