//! The queue of runs in the database: where runs are enqueued (one item, or every active or
//! due item in batches), claimed by a worker, kept alive by lease renewal, finished, and
//! failed when their worker stopped; a failed attempt the action retries queues the next one
//! in the same transaction, not to be claimed before its backoff has passed. The item's status
//! field follows each step.
//!
//! A partial unique index allows one queued or running run per item, so the same item never
//! runs twice at once, whichever instance enqueued it. Workers claim runs with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (instances share the queue) and hold a lease they
//! renew while working; a run whose lease expired (its process died) is failed by the next
//! recovery pass, which also releases its item.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity_spec_contract::runs::{ItemStatus, RunStatus, RunTrigger};
use uuid::Uuid;

use crate::model::cipher::{CipherError, Keyring, Place};
use crate::model::def::{EntityDef, Setter, TrackingDef};
use crate::model::timestamp::now;
use crate::model::value::{SqlType, SqlValue};
use crate::runs::table::{RUN_TYPES, RUNS_TABLE, Run, decode_run, push_run_columns};
use crate::storage::db::{Backend, Db, Sql, Tx};
use crate::storage::schema::VERSION_COLUMN;

/// Items queued per statement by [`enqueue_all`] and [`enqueue_due`]: 10,000 items take 20
/// batches of two statements. Each row binds two parameters, well under either backend's limit.
pub const BATCH: usize = 500;

/// Outcome of asking for a run.
#[derive(Debug)]
pub enum Enqueued {
    /// Queued; here is the run.
    Queued(Run),
    /// The item already has a queued or running run.
    AlreadyActive,
}

/// Queues a run of `action` for one item. The partial unique index turns a concurrent or
/// repeated request into [`Enqueued::AlreadyActive`].
pub async fn enqueue(
    db: &Db,
    def: &EntityDef,
    item_id: Uuid,
    action: &str,
    trigger: RunTrigger,
) -> Result<Enqueued, sqlx::Error> {
    let now = now();
    let mut sql = Sql::new(db.backend());
    sql.push("INSERT INTO ")
        .push_ident(RUNS_TABLE)
        .push(" (\"id\", \"entity\", \"item_id\", \"action\", \"trigger\", \"status\", \"queued_at\") VALUES (");
    let id = Uuid::now_v7();
    sql.push_binds([
        SqlValue::Uuid(id),
        SqlValue::Text(def.name.to_owned()),
        SqlValue::Uuid(item_id),
        SqlValue::Text(action.to_owned()),
        SqlValue::Text(trigger.as_str().to_owned()),
        SqlValue::Text(RunStatus::Queued.as_str().to_owned()),
        SqlValue::DateTime(now),
    ]);
    sql.push(") ON CONFLICT DO NOTHING");
    if db.execute(sql).await? == 0 {
        return Ok(Enqueued::AlreadyActive);
    }
    if let Some(tracking) = def.tracking {
        db.execute(mark_pending(db.backend(), def, tracking, &[id])).await?;
    }
    Ok(Enqueued::Queued(Run {
        id,
        item_id,
        action: action.to_owned(),
        trigger,
        status: RunStatus::Queued,
        attempt: 1,
        queued_at: now,
        not_before: None,
        started_at: None,
        finished_at: None,
        duration_ms: None,
        message: None,
    }))
}

/// Queues `action` for every active item that has no active run (with `owner`, a field and a
/// subject: only the items whose field holds it); returns how many were queued. Work goes in
/// batches of [`BATCH`] items, each one `INSERT` of runs and one `UPDATE` of the items in a
/// transaction, so 10,000 items are a few dozen statements.
pub async fn enqueue_all(
    db: &Db,
    def: &EntityDef,
    action: &str,
    trigger: RunTrigger,
    owner: Option<(&str, &str)>,
) -> Result<u64, sqlx::Error> {
    let items = idle_items(db, def, None, owner).await?;
    enqueue_batches(db, def, &items, action, trigger).await
}

/// Queues a scheduled run of `action` for every active item whose refresh interval has passed
/// at `now` (entities without an interval field are never scheduled); returns how many were
/// queued.
pub async fn enqueue_due(db: &Db, def: &EntityDef, action: &str, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    if def.tracking.and_then(|t| t.interval).is_none() {
        return Ok(0);
    }
    let items = idle_items(db, def, Some(now), None).await?;
    enqueue_batches(db, def, &items, action, RunTrigger::Scheduled).await
}

/// Ids of active items (all items when the entity declares no active flag) without a queued
/// or running run, optionally only those due for a scheduled run at `due_at`. In key order, so
/// that instances queueing the same items at once insert them in the same order and wait for
/// each other instead of deadlocking.
async fn idle_items(
    db: &Db,
    def: &EntityDef,
    due_at: Option<DateTime<Utc>>,
    owner: Option<(&str, &str)>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let key = def.primary_key().name;
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ").push_ident(key).push(" FROM ").push_ident(def.table).push(" WHERE NOT EXISTS (SELECT 1 FROM ");
    sql.push_ident(RUNS_TABLE).push(" WHERE \"entity\" = ").push_bind(SqlValue::Text(def.name.to_owned()));
    sql.push(" AND \"item_id\" = ").push_ident(def.table).push(".").push_ident(key);
    push_active_status(&mut sql);
    sql.push(")");
    if let Some(active) = def.tracking.and_then(|t| t.active) {
        sql.push(" AND ").push_ident(active).push(" = ").push_bind(SqlValue::Bool(true));
    }
    if let Some((field, subject)) = owner {
        sql.push(" AND ").push_ident(field).push(" = ").push_bind(SqlValue::Text(subject.to_owned()));
    }
    if let (Some(now), Some(tracking)) = (due_at, def.tracking) {
        let Some(interval) = tracking.interval else { return Ok(Vec::new()) };
        let last = tracking.last_run;
        sql.push(" AND (").push_ident(last).push(" IS NULL OR ");
        // In seconds, never as a timestamp: `last + interval` overflows the timestamp range for a
        // huge interval, and on PostgreSQL that error would fail the whole pass, so one bad row
        // would stop every item's schedule. EXTRACT gives a numeric, which cannot overflow.
        match db.backend() {
            Backend::Postgres => {
                sql.push("EXTRACT(EPOCH FROM ")
                    .push_ident(last)
                    .push(") + ")
                    .push_ident(interval)
                    .push(" <= ")
                    .push_bind(SqlValue::Int(now.timestamp()));
            }
            Backend::Sqlite => {
                sql.push("CAST(strftime('%s', ")
                    .push_ident(last)
                    .push(") AS INTEGER) + ")
                    .push_ident(interval)
                    .push(" <= ");
                sql.push_bind(SqlValue::Int(now.timestamp()));
            }
        }
        sql.push(")");
    }
    sql.push(" ORDER BY ").push_ident(key);
    let rows = db.fetch_all(sql, &[SqlType::Uuid]).await?;
    Ok(rows.into_iter().filter_map(|mut row| row.pop()?.into_uuid()).collect())
}

/// ` AND "status" IN (…)` with the statuses of a run that holds its item, bound.
fn push_active_status(sql: &mut Sql) {
    sql.push(" AND \"status\" IN (");
    let active = RunStatus::ALL.iter().filter(|s| s.is_active());
    sql.push_binds(active.map(|status| SqlValue::Text(status.as_str().to_owned()))).push(")");
}

/// Queues a run for each of `items`, [`BATCH`] at a time; returns how many were queued (items
/// that got an active run in the meantime are skipped, not counted).
async fn enqueue_batches(
    db: &Db,
    def: &EntityDef,
    items: &[Uuid],
    action: &str,
    trigger: RunTrigger,
) -> Result<u64, sqlx::Error> {
    let mut queued = 0;
    for batch in items.chunks(BATCH) {
        let mut tx = db.begin().await?;
        let (insert, runs) = insert_runs(tx.backend(), def, batch, action, trigger);
        let inserted = tx.execute(insert).await?;
        if let (Some(tracking), true) = (def.tracking, inserted > 0) {
            tx.execute(mark_pending(tx.backend(), def, tracking, &runs)).await?;
        }
        tx.commit().await?;
        queued += inserted;
    }
    Ok(queued)
}

/// One `INSERT` of a queued run per item, skipping items that already have an active run;
/// returns it with the ids of the runs it may create.
fn insert_runs(
    backend: Backend,
    def: &EntityDef,
    items: &[Uuid],
    action: &str,
    trigger: RunTrigger,
) -> (Sql, Vec<Uuid>) {
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO ")
        .push_ident(RUNS_TABLE)
        .push(" (\"id\", \"entity\", \"item_id\", \"action\", \"trigger\", \"status\", \"queued_at\") VALUES ");
    // Parameters 1 to 5 are the same in every row; then each row's run id and item id.
    let shared = [
        SqlValue::Text(def.name.to_owned()),
        SqlValue::Text(action.to_owned()),
        SqlValue::Text(trigger.as_str().to_owned()),
        SqlValue::Text(RunStatus::Queued.as_str().to_owned()),
        SqlValue::DateTime(now()),
    ];
    let mut parameters = shared.len();
    for value in shared {
        sql.bind(value);
    }
    let mut runs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let run = Uuid::now_v7();
        runs.push(run);
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(SqlValue::Uuid(run)).push_placeholder(parameters + 1).push(", ").push_placeholder(1).push(", ");
        sql.bind(SqlValue::Uuid(*item)).push_placeholder(parameters + 2);
        for shared in 2..=5 {
            sql.push(", ").push_placeholder(shared);
        }
        sql.push(")");
        parameters += 2;
    }
    sql.push(" ON CONFLICT DO NOTHING");
    (sql, runs)
}

/// Marks the items of `runs` `pending`, unless a worker already picked their run up: a fast
/// worker may have claimed (or even finished) it since it was inserted, and its status must
/// win.
fn mark_pending(backend: Backend, def: &EntityDef, tracking: &TrackingDef, runs: &[Uuid]) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
    sql.push_bind(SqlValue::Text(ItemStatus::Pending.as_str().to_owned())).push(", ");
    sql.push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
    sql.push_ident(def.primary_key().name).push(" IN (SELECT \"item_id\" FROM ").push_ident(RUNS_TABLE);
    sql.push(" WHERE \"status\" = ").push_bind(SqlValue::Text(RunStatus::Queued.as_str().to_owned()));
    sql.push(" AND \"id\" IN (");
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_bind(SqlValue::Uuid(*run));
    }
    sql.push("))");
    sql
}

/// Sets the item's status field (and bumps its version, so ETags see the change).
pub async fn set_item_status(
    db: &Db,
    def: &EntityDef,
    tracking: &TrackingDef,
    item_id: Uuid,
    status: ItemStatus,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
    sql.push_bind(SqlValue::Text(status.as_str().to_owned()));
    sql.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
    sql.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(item_id));
    db.execute(sql).await.map(|_| ())
}

/// Claims the oldest queued run of `def` that is due (a retry waiting for its backoff is not)
/// for `owner`, leased for `lease`, or `None` when nothing is.
pub async fn claim(db: &Db, def: &EntityDef, owner: &str, lease: Duration) -> Result<Option<Run>, sqlx::Error> {
    let now = now();
    let lease_until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let queued = || SqlValue::Text(RunStatus::Queued.as_str().to_owned());
    let backend = db.backend();
    let mut sql = Sql::new(backend);
    sql.push("UPDATE ").push_ident(RUNS_TABLE).push(" SET \"status\" = ");
    sql.push_bind(SqlValue::Text(RunStatus::Running.as_str().to_owned()));
    sql.push(", \"started_at\" = ").push_bind(SqlValue::DateTime(now));
    sql.push(", \"lease_owner\" = ").push_bind(SqlValue::Text(owner.to_owned()));
    sql.push(", \"lease_expires_at\" = ").push_bind(SqlValue::DateTime(lease_until));
    sql.push(" WHERE \"id\" = (SELECT \"id\" FROM ").push_ident(RUNS_TABLE);
    sql.push(" WHERE \"status\" = ").push_bind(queued());
    sql.push(" AND \"entity\" = ").push_bind(SqlValue::Text(def.name.to_owned()));
    sql.push(" AND (\"not_before\" IS NULL OR \"not_before\" <= ").push_bind(SqlValue::DateTime(now)).push(")");
    sql.push(" ORDER BY \"queued_at\" LIMIT 1");
    if backend == Backend::Postgres {
        // Instances sharing the queue each skip the rows another is claiming.
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") AND \"status\" = ").push_bind(queued()).push(" RETURNING ");
    push_run_columns(&mut sql);
    Ok(db.write_optional(sql, RUN_TYPES).await?.and_then(decode_run))
}

/// Extends the lease of a running run by `lease` from now; returns whether the run was still
/// running (and so still this worker's).
pub async fn renew_lease(db: &Db, run_id: Uuid, lease: Duration) -> Result<bool, sqlx::Error> {
    let until = now() + chrono::Duration::from_std(lease).unwrap_or_default();
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE ")
        .push_ident(RUNS_TABLE)
        .push(" SET \"lease_expires_at\" = ")
        .push_bind(SqlValue::DateTime(until));
    sql.push(" WHERE \"id\" = ").push_bind(SqlValue::Uuid(run_id));
    sql.push(" AND \"status\" = ").push_bind(SqlValue::Text(RunStatus::Running.as_str().to_owned()));
    Ok(db.execute(sql).await? == 1)
}

/// Puts a run this worker (`owner`) is running back in the queue, unstarted, and its item back
/// to pending, in one transaction: what a draining instance does with the runs its grace
/// period did not let finish, so that another instance takes them at once. Returns whether the
/// run was still this worker's.
pub async fn hand_back(db: &Db, def: &EntityDef, run: &Run, owner: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut sql = Sql::new(tx.backend());
    sql.push("UPDATE ").push_ident(RUNS_TABLE).push(" SET \"status\" = ");
    sql.push_bind(SqlValue::Text(RunStatus::Queued.as_str().to_owned()));
    sql.push(", \"started_at\" = NULL, \"lease_owner\" = NULL, \"lease_expires_at\" = NULL WHERE \"id\" = ");
    sql.push_bind(SqlValue::Uuid(run.id));
    sql.push(" AND \"status\" = ").push_bind(SqlValue::Text(RunStatus::Running.as_str().to_owned()));
    sql.push(" AND \"lease_owner\" = ").push_bind(SqlValue::Text(owner.to_owned()));
    let handed_back = tx.execute(sql).await? == 1;
    if handed_back && let Some(tracking) = def.tracking {
        let mut item = Sql::new(tx.backend());
        item.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
        item.push_bind(SqlValue::Text(ItemStatus::Pending.as_str().to_owned()));
        item.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
        item.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(run.item_id));
        tx.execute(item).await?;
    }
    tx.commit().await?;
    Ok(handed_back)
}

/// Rows deleted per statement when pruning: small enough that no delete holds the table long.
const PRUNE_BATCH: i64 = 500;

/// Statements per prune: the rest waits for the next one.
const PRUNE_BATCHES: usize = 20;

/// Deletes `def`'s finished runs that finished before `cutoff`, then those beyond the newest
/// `per_item` of each item, in batches of [`PRUNE_BATCH`] rows (at most [`PRUNE_BATCHES`]
/// statements); returns how many. Queued and running runs are never touched.
pub async fn prune(
    db: &Db,
    def: &EntityDef,
    cutoff: Option<DateTime<Utc>>,
    per_item: Option<u64>,
) -> Result<u64, sqlx::Error> {
    let unfinished = [RunStatus::Queued, RunStatus::Running].map(|s| SqlValue::Text(s.as_str().to_owned()));
    let mut deleted = 0;
    let mut statements = 0;
    for rule in [cutoff.map(Rule::Age), per_item.map(Rule::PerItem)].into_iter().flatten() {
        loop {
            let mut sql = Sql::new(db.backend());
            sql.push("DELETE FROM ").push_ident(RUNS_TABLE).push(" WHERE \"id\" IN (SELECT \"id\" FROM ");
            match rule {
                Rule::Age(cutoff) => {
                    sql.push_ident(RUNS_TABLE)
                        .push(" WHERE \"entity\" = ")
                        .push_bind(SqlValue::Text(def.name.to_owned()));
                    sql.push(" AND \"status\" NOT IN (").push_bind(unfinished[0].clone()).push(", ");
                    sql.push_bind(unfinished[1].clone())
                        .push(") AND \"finished_at\" < ")
                        .push_bind(SqlValue::DateTime(cutoff));
                }
                Rule::PerItem(keep) => {
                    sql.push("(SELECT \"id\", ROW_NUMBER() OVER (PARTITION BY \"item_id\" ORDER BY \"queued_at\" DESC, \"id\" DESC) AS \"newer\" FROM ");
                    sql.push_ident(RUNS_TABLE)
                        .push(" WHERE \"entity\" = ")
                        .push_bind(SqlValue::Text(def.name.to_owned()));
                    sql.push(" AND \"status\" NOT IN (").push_bind(unfinished[0].clone()).push(", ");
                    sql.push_bind(unfinished[1].clone()).push(")) AS \"ranked\" WHERE \"newer\" > ");
                    sql.push_bind(SqlValue::Int(i64::try_from(keep).unwrap_or(i64::MAX)));
                }
            }
            sql.push(&format!(" LIMIT {PRUNE_BATCH})"));
            let removed = db.execute(sql).await?;
            deleted += removed;
            statements += 1;
            if removed < PRUNE_BATCH as u64 || statements >= PRUNE_BATCHES {
                break;
            }
        }
    }
    Ok(deleted)
}

/// A retention rule of [`prune`].
#[derive(Clone, Copy)]
enum Rule {
    Age(DateTime<Utc>),
    PerItem(u64),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The work returned `Ok`.
    Success,
    /// The work returned `Err`, timed out, or could not start.
    Failed,
}

impl Outcome {
    /// The run's final status.
    pub fn run_status(self) -> RunStatus {
        match self {
            Outcome::Success => RunStatus::Success,
            Outcome::Failed => RunStatus::Failed,
        }
    }

    /// The item's status after the run.
    pub fn item_status(self) -> ItemStatus {
        ItemStatus::from(self.run_status())
    }
}

/// How a run ended, as [`finish`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    /// Success or failure.
    pub outcome: Outcome,
    /// What the work reported (stored and shown: never a secret).
    pub message: String,
    /// How long it ran.
    pub duration_ms: i64,
    /// Client fields the work changed on the item (position in field order, new value); saved
    /// with the item's status.
    pub changes: Vec<(usize, SqlValue)>,
    /// For a failure the action retries: how long the next attempt waits. `None`: the end is
    /// final.
    pub retry_in: Option<Duration>,
}

/// Records the end of a run: the run row, the next attempt when [`RunEnd::retry_in`] asks for
/// one, and the item (its status, last run, error, and the fields the work changed) change
/// together, in one transaction, so that readers never see an item that says one thing and
/// its runs another. Returns the queued retry.
pub async fn finish(db: &Db, def: &EntityDef, run: &Run, end: RunEnd) -> Result<Option<Run>, sqlx::Error> {
    let now = now();
    let mut tx = db.begin().await?;
    // The run first: it holds its item until it ends, and the retry may only take it then
    // (one queued or running run per item).
    let mut done = Sql::new(tx.backend());
    done.push("UPDATE ").push_ident(RUNS_TABLE).push(" SET \"status\" = ");
    done.push_bind(SqlValue::Text(end.outcome.run_status().as_str().to_owned()));
    done.push(", \"finished_at\" = ").push_bind(SqlValue::DateTime(now));
    done.push(", \"duration_ms\" = ").push_bind(SqlValue::Int(end.duration_ms));
    done.push(", \"message\" = ").push_bind(SqlValue::Text(end.message.clone()));
    done.push(", \"lease_owner\" = NULL, \"lease_expires_at\" = NULL WHERE \"id\" = ")
        .push_bind(SqlValue::Uuid(run.id));
    tx.execute(done).await?;
    let retry = match (end.outcome, end.retry_in) {
        (Outcome::Failed, Some(wait)) => queue_retry(&mut tx, def, run, now, wait).await?,
        _ => None,
    };
    if let Some(tracking) = def.tracking {
        let status = if retry.is_some() { ItemStatus::Pending } else { end.outcome.item_status() };
        let item = finish_item(tx.backend(), def, tracking, run.item_id, &end, status, now, db.keyring())
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        tx.execute(item).await?;
    }
    tx.commit().await?;
    Ok(retry)
}

/// Queues the attempt after failed `run`, due `wait` after `now`, with the same action and
/// trigger; `None` if the item has an active run already (nothing to retry then).
async fn queue_retry(
    tx: &mut Tx,
    def: &EntityDef,
    run: &Run,
    now: DateTime<Utc>,
    wait: Duration,
) -> Result<Option<Run>, sqlx::Error> {
    let retry = Run {
        id: Uuid::now_v7(),
        item_id: run.item_id,
        action: run.action.clone(),
        trigger: run.trigger,
        status: RunStatus::Queued,
        attempt: run.attempt.saturating_add(1),
        queued_at: now,
        // Waits are at most a day (`RetryPolicy::MAX_WAIT_SECS`): neither step can fail.
        not_before: chrono::Duration::from_std(wait).ok().and_then(|wait| now.checked_add_signed(wait)),
        started_at: None,
        finished_at: None,
        duration_ms: None,
        message: None,
    };
    let mut sql = Sql::new(tx.backend());
    sql.push("INSERT INTO ").push_ident(RUNS_TABLE).push(
        " (\"id\", \"entity\", \"item_id\", \"action\", \"trigger\", \"status\", \"attempt\", \"queued_at\", \"not_before\") \
         VALUES (",
    );
    sql.push_binds([
        SqlValue::Uuid(retry.id),
        SqlValue::Text(def.name.to_owned()),
        SqlValue::Uuid(retry.item_id),
        SqlValue::Text(retry.action.clone()),
        SqlValue::Text(retry.trigger.as_str().to_owned()),
        SqlValue::Text(RunStatus::Queued.as_str().to_owned()),
        SqlValue::Int(i64::from(retry.attempt)),
        SqlValue::DateTime(now),
        retry.not_before.map_or(SqlValue::Null(SqlType::DateTime), SqlValue::DateTime),
    ]);
    sql.push(") ON CONFLICT DO NOTHING");
    Ok((tx.execute(sql).await? == 1).then_some(retry))
}

/// The item's side of [`finish`]: its status becomes `status` (the outcome's, or `pending`
/// while a retry waits), and its error the failure's message.
#[allow(clippy::too_many_arguments)]
fn finish_item(
    backend: Backend,
    def: &EntityDef,
    tracking: &TrackingDef,
    item_id: Uuid,
    end: &RunEnd,
    status: ItemStatus,
    now: DateTime<Utc>,
    keys: Option<&Keyring>,
) -> Result<Sql, CipherError> {
    let mut item = Sql::new(backend);
    item.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
    item.push_bind(SqlValue::Text(status.as_str().to_owned()));
    item.push(", ").push_ident(tracking.last_run).push(" = ").push_bind(SqlValue::DateTime(now));
    if let Some(error) = tracking.error {
        let value = match end.outcome {
            Outcome::Failed => SqlValue::Text(end.message.clone()),
            Outcome::Success => SqlValue::Null(SqlType::Text),
        };
        item.push(", ").push_ident(error).push(" = ").push_bind(value);
    }
    for (index, value) in &end.changes {
        let Some(field) = def.fields.get(*index) else { continue };
        if tracking.manages(field.name) || field.setter != Setter::Client {
            continue;
        }
        // A sensitive field the work changed is sealed like every other write of it.
        let value = match value {
            SqlValue::Text(plain) if field.sensitive => {
                let place = Place { table: def.table, column: field.name, row: item_id };
                SqlValue::Text(keys.ok_or(CipherError::NoKey)?.seal(plain, &place)?)
            }
            value => value.clone(),
        };
        item.push(", ").push_ident(field.name).push(" = ").push_bind(value);
    }
    item.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
    item.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(item_id));
    Ok(item)
}

/// Fails the runs of `def` whose lease expired (their process stopped), queues the next
/// attempt of those `retry_in` (given the failed attempt's number) gives a wait for, and
/// releases the other items as failed, in one transaction; returns how many runs failed.
pub async fn recover_expired(
    db: &Db,
    def: &EntityDef,
    retry_in: impl Fn(u32) -> Option<Duration>,
) -> Result<u64, sqlx::Error> {
    let now = now();
    let message = "the worker running it stopped before finishing (lease expired)";
    let mut tx = db.begin().await?;
    let mut sql = Sql::new(tx.backend());
    sql.push("UPDATE ").push_ident(RUNS_TABLE).push(" SET \"status\" = ");
    sql.push_bind(SqlValue::Text(RunStatus::Failed.as_str().to_owned()));
    sql.push(", \"finished_at\" = ").push_bind(SqlValue::DateTime(now));
    sql.push(", \"message\" = ").push_bind(SqlValue::Text(message.to_owned()));
    sql.push(", \"lease_owner\" = NULL, \"lease_expires_at\" = NULL WHERE \"status\" = ");
    sql.push_bind(SqlValue::Text(RunStatus::Running.as_str().to_owned()));
    sql.push(" AND \"entity\" = ").push_bind(SqlValue::Text(def.name.to_owned()));
    sql.push(" AND \"lease_expires_at\" < ").push_bind(SqlValue::DateTime(now)).push(" RETURNING ");
    push_run_columns(&mut sql);
    let runs: Vec<Run> = tx.fetch_all(sql, RUN_TYPES).await?.into_iter().filter_map(decode_run).collect();
    for run in &runs {
        let retried = match retry_in(run.attempt) {
            Some(wait) => queue_retry(&mut tx, def, run, now, wait).await?.is_some(),
            None => false,
        };
        if let Some(tracking) = def.tracking {
            let status = if retried { ItemStatus::Pending } else { ItemStatus::Failed };
            tx.execute(release_item(tx.backend(), def, tracking, run.item_id, status, message)).await?;
        }
    }
    tx.commit().await?;
    Ok(runs.len() as u64)
}

/// Gives an item whose run was lost `status` (failed, or pending while a retry waits), with
/// `message` as its error.
fn release_item(
    backend: Backend,
    def: &EntityDef,
    tracking: &TrackingDef,
    item_id: Uuid,
    status: ItemStatus,
    message: &str,
) -> Sql {
    let mut item = Sql::new(backend);
    item.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
    item.push_bind(SqlValue::Text(status.as_str().to_owned()));
    if let Some(error) = tracking.error {
        item.push(", ").push_ident(error).push(" = ").push_bind(SqlValue::Text(message.to_owned()));
    }
    item.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
    item.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(item_id));
    item
}
