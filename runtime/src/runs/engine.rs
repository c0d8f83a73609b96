//! Tracked runs (e.g. a data source's sync): a queue and history in the database, a bounded
//! worker pool, leases, and a scheduler.
//!
//! Every run is a row of `_entity_spec_runs`. A partial unique index allows one queued or
//! running run per item, so the same item never runs twice at once, whichever instance
//! enqueued it. Workers claim runs with `FOR UPDATE SKIP LOCKED` on PostgreSQL (instances
//! share the queue) and hold a lease they renew while working; a run whose lease expired (its
//! process died) is failed by the next recovery pass, which also releases its item.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::model::def::{EntityDef, TrackingDef};
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Backend, Db, Sql};
use crate::storage::entity::Entity;
use crate::storage::store::{self, VERSION_COLUMN};

/// The table of runs.
pub const RUNS_TABLE: &str = "_entity_spec_runs";

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `POST …/{id}/sync`
    Manual,
    /// The refresh interval elapsed.
    Scheduled,
    /// `POST …/sync-all`
    SyncAll,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "scheduled",
            Trigger::SyncAll => "sync_all",
        }
    }
}

/// One run as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Run id.
    pub id: Uuid,
    /// The item it runs for.
    pub item_id: Uuid,
    /// The action, e.g. `sync`.
    pub action: String,
    /// `manual`, `scheduled` or `sync_all`.
    pub trigger: String,
    /// `queued`, `running`, `success` or `failed`.
    pub status: String,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When a worker started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// How long it ran, in milliseconds.
    pub duration_ms: Option<i64>,
    /// What the run reported (its outcome or its error, never a secret).
    pub message: Option<String>,
}

const RUN_COLUMNS: &[&str] = &[
    "id",
    "item_id",
    "action",
    "trigger",
    "status",
    "queued_at",
    "started_at",
    "finished_at",
    "duration_ms",
    "message",
];
const RUN_TYPES: &[SqlType] = &[
    SqlType::Uuid,
    SqlType::Uuid,
    SqlType::Text,
    SqlType::Text,
    SqlType::Text,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::DateTime,
    SqlType::Int,
    SqlType::Text,
];

fn decode_run(row: Vec<SqlValue>) -> Option<Run> {
    let mut values = row.into_iter();
    let mut next = || values.next();
    let uuid = |v: Option<SqlValue>| match v {
        Some(SqlValue::Uuid(u)) => Some(u),
        _ => None,
    };
    let text = |v: Option<SqlValue>| match v {
        Some(SqlValue::Text(t)) => Some(t),
        _ => None,
    };
    let time = |v: Option<SqlValue>| match v {
        Some(SqlValue::DateTime(t)) => Some(t),
        _ => None,
    };
    Some(Run {
        id: uuid(next())?,
        item_id: uuid(next())?,
        action: text(next())?,
        trigger: text(next())?,
        status: text(next())?,
        queued_at: time(next())?,
        started_at: time(next()),
        finished_at: time(next()),
        duration_ms: match next() {
            Some(SqlValue::Int(ms)) => Some(ms),
            _ => None,
        },
        message: text(next()),
    })
}

fn push_run_columns(sql: &mut Sql) {
    for (i, column) in RUN_COLUMNS.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(column);
    }
}

/// Statements that create the runs table and its indexes (run by `migrate`).
pub fn schema(backend: Backend) -> Vec<Sql> {
    let column = |kind| crate::storage::migrations::column_type(backend, kind);
    use crate::model::def::FieldKind;
    let mut create = Sql::new(backend);
    create.push("CREATE TABLE IF NOT EXISTS ").push_ident(RUNS_TABLE).push(" (");
    let columns: [(&str, &str, bool); 12] = [
        ("id", column(FieldKind::Uuid), true),
        ("entity", column(FieldKind::Text), true),
        ("item_id", column(FieldKind::Uuid), true),
        ("action", column(FieldKind::Text), true),
        ("trigger", column(FieldKind::Text), true),
        ("status", column(FieldKind::Text), true),
        ("queued_at", column(FieldKind::DateTime), true),
        ("started_at", column(FieldKind::DateTime), false),
        ("finished_at", column(FieldKind::DateTime), false),
        ("duration_ms", column(FieldKind::Integer), false),
        ("message", column(FieldKind::Text), false),
        ("lease_owner", column(FieldKind::Text), false),
    ];
    for (name, ty, not_null) in columns {
        create.push_ident(name).push(" ").push(ty);
        if not_null {
            create.push(" NOT NULL");
        }
        create.push(", ");
    }
    create.push_ident("lease_expires_at").push(" ").push(column(FieldKind::DateTime));
    create.push(", PRIMARY KEY (").push_ident("id").push("))");
    let mut statements = vec![create];
    let index = |name: &str, unique: bool, columns: &str, condition: &str| {
        let mut sql = Sql::new(backend);
        sql.push(if unique { "CREATE UNIQUE INDEX IF NOT EXISTS " } else { "CREATE INDEX IF NOT EXISTS " });
        sql.push_ident(name).push(" ON ").push_ident(RUNS_TABLE).push(columns).push(condition);
        sql
    };
    // The guarantee that an item never runs twice at once, enforced by the database.
    statements.push(index(
        "_entity_spec_runs_one_active_key",
        true,
        " (\"entity\", \"item_id\")",
        " WHERE \"status\" IN ('queued', 'running')",
    ));
    statements.push(index("_entity_spec_runs_history_idx", false, " (\"entity\", \"item_id\", \"queued_at\")", ""));
    statements.push(index("_entity_spec_runs_queue_idx", false, " (\"status\", \"queued_at\")", ""));
    // The workbench's "recent failures" reads the newest failed runs of an entity.
    statements.push(index("_entity_spec_runs_outcome_idx", false, " (\"entity\", \"status\", \"finished_at\")", ""));
    statements
}

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
    trigger: Trigger,
) -> Result<Enqueued, sqlx::Error> {
    let now = crate::http::entity_routes::now();
    let mut sql = Sql::new(db.backend());
    sql.push("INSERT INTO ")
        .push_ident(RUNS_TABLE)
        .push(" (\"id\", \"entity\", \"item_id\", \"action\", \"trigger\", \"status\", \"queued_at\") VALUES (");
    let id = Uuid::now_v7();
    for (i, value) in [
        SqlValue::Uuid(id),
        SqlValue::Text(def.name.to_owned()),
        SqlValue::Uuid(item_id),
        SqlValue::Text(action.to_owned()),
        SqlValue::Text(trigger.as_str().to_owned()),
        SqlValue::Text("queued".to_owned()),
        SqlValue::DateTime(now),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_bind(value);
    }
    sql.push(") ON CONFLICT DO NOTHING");
    if db.execute(sql).await? == 0 {
        return Ok(Enqueued::AlreadyActive);
    }
    if let Some(tracking) = def.tracking {
        mark_pending(db, def, tracking, item_id, id).await?;
    }
    Ok(Enqueued::Queued(Run {
        id,
        item_id,
        action: action.to_owned(),
        trigger: trigger.as_str().to_owned(),
        status: "queued".to_owned(),
        queued_at: now,
        started_at: None,
        finished_at: None,
        duration_ms: None,
        message: None,
    }))
}

/// Queues `action` for every active item that has no active run; returns how many were
/// queued. Work goes in batches so 10,000 items are a few dozen statements.
pub async fn enqueue_all(db: &Db, def: &EntityDef, action: &str, trigger: Trigger) -> Result<u64, sqlx::Error> {
    let ids = active_item_ids(db, def, None).await?;
    let mut queued = 0;
    for id in ids {
        if let Enqueued::Queued(_) = enqueue(db, def, id, action, trigger).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Ids of active items (all items when the entity declares no active flag), optionally only
/// those due for a scheduled run at `due_at`.
async fn active_item_ids(db: &Db, def: &EntityDef, due_at: Option<DateTime<Utc>>) -> Result<Vec<Uuid>, sqlx::Error> {
    let key = def.primary_key().name;
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ").push_ident(key).push(" FROM ").push_ident(def.table).push(" WHERE 1 = 1");
    if let Some(active) = def.tracking.and_then(|t| t.active) {
        sql.push(" AND ").push_ident(active).push(" = ").push_bind(SqlValue::Bool(true));
    }
    if let (Some(now), Some(tracking)) = (due_at, def.tracking) {
        let Some(interval) = tracking.interval else { return Ok(Vec::new()) };
        let last = tracking.last_run;
        sql.push(" AND (").push_ident(last).push(" IS NULL OR ");
        match db.backend() {
            Backend::Postgres => {
                sql.push_ident(last)
                    .push(" + ")
                    .push_ident(interval)
                    .push(" * INTERVAL '1 second' <= ")
                    .push_bind(SqlValue::DateTime(now));
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
    let rows = db.fetch_all(sql, &[SqlType::Uuid]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut row| match row.pop() {
            Some(SqlValue::Uuid(id)) => Some(id),
            _ => None,
        })
        .collect())
}

/// Marks the item `pending`, unless a worker already picked the run up: a fast worker may
/// have claimed (or even finished) it since it was inserted, and its status must win.
async fn mark_pending(
    db: &Db,
    def: &EntityDef,
    tracking: &TrackingDef,
    item_id: Uuid,
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = 'pending', ");
    sql.push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
    sql.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(item_id));
    sql.push(" AND EXISTS (SELECT 1 FROM ")
        .push_ident(RUNS_TABLE)
        .push(" WHERE \"id\" = ")
        .push_bind(SqlValue::Uuid(run_id));
    sql.push(" AND \"status\" = 'queued')");
    db.execute(sql).await.map(|_| ())
}

/// Sets the item's status field (and bumps its version, so ETags see the change).
async fn set_status(
    db: &Db,
    def: &EntityDef,
    tracking: &TrackingDef,
    item_id: Uuid,
    status: &str,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(db.backend());
    sql.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
    sql.push_bind(SqlValue::Text(status.to_owned()));
    sql.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
    sql.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(item_id));
    db.execute(sql).await.map(|_| ())
}

/// The runs of one item, newest first.
pub async fn history(
    db: &Db,
    def: &EntityDef,
    item_id: Uuid,
    limit: u32,
    offset: u64,
) -> Result<(Vec<Run>, i64), sqlx::Error> {
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
    sql.push(" ORDER BY \"queued_at\" DESC, \"id\" DESC LIMIT ").push_bind(SqlValue::Int(i64::from(limit)));
    sql.push(" OFFSET ").push_bind(SqlValue::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
    let rows = db.fetch_all(sql, RUN_TYPES).await?;
    Ok((rows.into_iter().filter_map(decode_run).collect(), total))
}

/// What an entity's runs are doing: how many are queued and running, and the newest
/// failures (at most `failures`), for the aggregate endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// Runs waiting for a worker.
    pub queued: i64,
    /// Runs a worker holds.
    pub running: i64,
    /// The newest failed runs, newest first.
    pub recent_failures: Vec<Run>,
}

/// Counts of queued and running runs of `def`'s items, and its newest failed runs.
pub async fn activity(db: &Db, def: &EntityDef, failures: u32) -> Result<Activity, sqlx::Error> {
    let entity = SqlValue::Text(def.name.to_owned());
    let mut counts = Sql::new(db.backend());
    counts
        .push("SELECT \"status\", COUNT(*) FROM ")
        .push_ident(RUNS_TABLE)
        .push(" WHERE \"entity\" = ")
        .push_bind(entity.clone())
        .push(" AND \"status\" IN ('queued', 'running') GROUP BY \"status\"");
    let (mut queued, mut running) = (0, 0);
    for row in db.fetch_all(counts, &[SqlType::Text, SqlType::Int]).await? {
        match (row.first(), row.get(1)) {
            (Some(SqlValue::Text(status)), Some(SqlValue::Int(n))) if status == "queued" => queued = *n,
            (Some(SqlValue::Text(_)), Some(SqlValue::Int(n))) => running = *n,
            _ => {}
        }
    }
    let mut failed = Sql::new(db.backend());
    failed.push("SELECT ");
    push_run_columns(&mut failed);
    failed
        .push(" FROM ")
        .push_ident(RUNS_TABLE)
        .push(" WHERE \"entity\" = ")
        .push_bind(entity)
        .push(" AND \"status\" = 'failed' ORDER BY \"finished_at\" DESC, \"id\" DESC")
        .push(&format!(" LIMIT {failures}"));
    let recent_failures = db.fetch_all(failed, RUN_TYPES).await?.into_iter().filter_map(decode_run).collect();
    Ok(Activity { queued, running, recent_failures })
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
    sql.push(" AND \"item_id\" = ")
        .push_bind(SqlValue::Uuid(item_id))
        .push(" AND \"id\" = ")
        .push_bind(SqlValue::Uuid(run_id));
    Ok(db.fetch_optional(sql, RUN_TYPES).await?.and_then(decode_run))
}

/// What a run's work returns: `Ok(message)` or `Err(message)`; messages are stored and shown,
/// so they must not contain secrets.
pub type RunResult = Result<String, String>;

/// The work of a tracked action for one item. Generated code implements it by calling the
/// user's action method; it may change the item's fields (e.g. a discovered schema).
pub trait RunHandler<E: Entity>: Send + Sync + 'static {
    /// Runs `action` on `item`.
    fn run<'a>(&'a self, action: &'a str, item: &'a mut E) -> Pin<Box<dyn Future<Output = RunResult> + Send + 'a>>;
}

/// Worker pool and scheduler settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Runs executed at once by this instance (`ENTITY_SPEC_WORKERS`, default 8).
    pub workers: usize,
    /// A run taking longer is failed (`ENTITY_SPEC_RUN_TIMEOUT_SECS`, default 120).
    pub run_timeout: Duration,
    /// How long a claimed run stays owned without renewal (renewed every third of it).
    pub lease: Duration,
    /// How often idle workers look for queued runs (new local runs wake them at once).
    pub poll_interval: Duration,
    /// How often due items are queued and expired leases recovered
    /// (`ENTITY_SPEC_SCHEDULE_SECS`, default 10; 0 turns the scheduler off).
    pub schedule_interval: Option<Duration>,
    /// Identifies this instance in leases.
    pub owner: String,
}

impl EngineConfig {
    /// Settings from the environment, with the defaults above.
    pub fn from_env() -> Self {
        let number =
            |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default);
        let schedule = number("ENTITY_SPEC_SCHEDULE_SECS", 10);
        EngineConfig {
            workers: number("ENTITY_SPEC_WORKERS", 8).max(1) as usize,
            run_timeout: Duration::from_secs(number("ENTITY_SPEC_RUN_TIMEOUT_SECS", 120).max(1)),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            schedule_interval: (schedule > 0).then(|| Duration::from_secs(schedule)),
            owner: format!("{}-{}", std::process::id(), Uuid::new_v4().simple()),
        }
    }
}

/// The runs of one entity: the database, the work, and a wake-up for idle workers.
pub struct Engine<E: Entity> {
    db: Db,
    handler: Arc<dyn RunHandler<E>>,
    config: EngineConfig,
    wake: tokio::sync::Notify,
}

impl<E: Entity> Engine<E> {
    /// An engine; call [`Engine::start`] to run its workers.
    pub fn new(db: Db, handler: Arc<dyn RunHandler<E>>, config: EngineConfig) -> Arc<Self> {
        Arc::new(Engine { db, handler, config, wake: tokio::sync::Notify::new() })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Wakes an idle worker (after queueing).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// Spawns the workers and the scheduler on the current runtime. They stop with it.
    pub fn start(self: &Arc<Self>) {
        for _ in 0..self.config.workers {
            let engine = self.clone();
            tokio::spawn(async move { engine.work().await });
        }
        if let Some(interval) = self.config.schedule_interval {
            let engine = self.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                loop {
                    ticker.tick().await;
                    engine.tick().await;
                }
            });
        }
    }

    /// One scheduler pass: fail runs whose lease expired, queue items that are due.
    pub async fn tick(&self) {
        if let Err(error) = self.recover_expired().await {
            tracing::warn!(%error, "recovering expired runs failed");
        }
        let Some(action) = E::DEF.tracked_action else { return };
        match active_item_ids(&self.db, E::DEF, Some(crate::http::entity_routes::now())).await {
            Ok(ids) => {
                let mut queued = 0;
                for id in ids {
                    if let Ok(Enqueued::Queued(_)) = enqueue(&self.db, E::DEF, id, action, Trigger::Scheduled).await {
                        queued += 1;
                    }
                }
                if queued > 0 {
                    tracing::info!(entity = E::DEF.name, queued, "scheduled runs");
                    self.wake();
                }
            }
            Err(error) => tracing::warn!(%error, "scheduling failed"),
        }
    }

    async fn work(self: Arc<Self>) {
        loop {
            match self.claim().await {
                Ok(Some(run)) => self.execute(run).await,
                Ok(None) => {
                    // Sleep until woken by a local enqueue or the poll interval (other
                    // instances' runs), whichever comes first.
                    let _ = tokio::time::timeout(self.config.poll_interval, self.wake.notified()).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "claiming a run failed");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
    }

    /// Takes the oldest queued run of this entity, or `None`.
    async fn claim(&self) -> Result<Option<Run>, sqlx::Error> {
        let now = crate::http::entity_routes::now();
        let lease_until = now + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
        let backend = self.db.backend();
        let mut sql = Sql::new(backend);
        sql.push("UPDATE ")
            .push_ident(RUNS_TABLE)
            .push(" SET \"status\" = 'running', \"started_at\" = ")
            .push_bind(SqlValue::DateTime(now));
        sql.push(", \"lease_owner\" = ").push_bind(SqlValue::Text(self.config.owner.clone()));
        sql.push(", \"lease_expires_at\" = ").push_bind(SqlValue::DateTime(lease_until));
        sql.push(" WHERE \"id\" = (SELECT \"id\" FROM ").push_ident(RUNS_TABLE);
        sql.push(" WHERE \"status\" = 'queued' AND \"entity\" = ").push_bind(SqlValue::Text(E::DEF.name.to_owned()));
        sql.push(" ORDER BY \"queued_at\" LIMIT 1");
        if backend == Backend::Postgres {
            // Instances sharing the queue each skip the rows another is claiming.
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") AND \"status\" = 'queued' RETURNING ");
        push_run_columns(&mut sql);
        Ok(self.db.fetch_optional(sql, RUN_TYPES).await?.and_then(decode_run))
    }

    async fn execute(&self, run: Run) {
        let started = std::time::Instant::now();
        let tracking = E::DEF.tracking.expect("entities with tracked actions declare tracking");
        let outcome = match store::get::<E>(&self.db, run.item_id).await {
            Ok(Some(stored)) => {
                if let Err(error) = set_status(&self.db, E::DEF, tracking, run.item_id, "syncing").await {
                    tracing::warn!(%error, "marking the item as running failed");
                }
                let mut item = stored.entity;
                let before = item.to_row();
                let renew = self.renew_lease(run.id);
                let work = tokio::time::timeout(self.config.run_timeout, self.handler.run(&run.action, &mut item));
                let result = tokio::select! {
                    result = work => result.unwrap_or_else(|_| Err(format!("timed out after {} s", self.config.run_timeout.as_secs()))),
                    () = renew => Err("the lease could not be renewed".to_owned()),
                };
                let changes: Vec<(usize, SqlValue)> =
                    item.to_row().into_iter().enumerate().filter(|(i, value)| before.get(*i) != Some(value)).collect();
                Some((result, changes))
            }
            Ok(None) => None,
            Err(error) => Some((Err(format!("the item could not be read: {error}")), Vec::new())),
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, message, changes) = match outcome {
            Some((Ok(message), changes)) => ("success", message, changes),
            Some((Err(message), changes)) => ("failed", message, changes),
            None => ("failed", "the item was deleted before the run started".to_owned(), Vec::new()),
        };
        if let Err(error) = self.finish(&run, tracking, status, &message, duration_ms, changes).await {
            tracing::error!(%error, run = %run.id, "recording the end of a run failed");
        }
        tracing::info!(entity = E::DEF.name, item = %run.item_id, action = run.action.as_str(), status, duration_ms, "run finished");
    }

    /// Extends the lease until the run ends; resolves only if renewal fails.
    async fn renew_lease(&self, run_id: Uuid) {
        let period = self.config.lease / 3;
        loop {
            tokio::time::sleep(period).await;
            let until =
                crate::http::entity_routes::now() + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
            let mut sql = Sql::new(self.db.backend());
            sql.push("UPDATE ")
                .push_ident(RUNS_TABLE)
                .push(" SET \"lease_expires_at\" = ")
                .push_bind(SqlValue::DateTime(until));
            sql.push(" WHERE \"id\" = ").push_bind(SqlValue::Uuid(run_id)).push(" AND \"status\" = 'running'");
            if !matches!(self.db.execute(sql).await, Ok(1)) {
                return;
            }
        }
    }

    async fn finish(
        &self,
        run: &Run,
        tracking: &TrackingDef,
        status: &str,
        message: &str,
        duration_ms: i64,
        changes: Vec<(usize, SqlValue)>,
    ) -> Result<(), sqlx::Error> {
        let now = crate::http::entity_routes::now();
        let def = E::DEF;
        let mut item = Sql::new(self.db.backend());
        item.push("UPDATE ").push_ident(def.table).push(" SET ").push_ident(tracking.status).push(" = ");
        item.push_bind(SqlValue::Text(status.to_owned()));
        item.push(", ").push_ident(tracking.last_run).push(" = ").push_bind(SqlValue::DateTime(now));
        if let Some(error) = tracking.error {
            let value =
                if status == "failed" { SqlValue::Text(message.to_owned()) } else { SqlValue::Null(SqlType::Text) };
            item.push(", ").push_ident(error).push(" = ").push_bind(value);
        }
        for (index, value) in changes {
            let field = &def.fields[index];
            if tracking.manages(field.name) || field.setter != crate::model::def::Setter::Client {
                continue;
            }
            item.push(", ").push_ident(field.name).push(" = ").push_bind(value);
        }
        item.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
        item.push_ident(def.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(run.item_id));
        self.db.execute(item).await?;
        let mut done = Sql::new(self.db.backend());
        done.push("UPDATE ")
            .push_ident(RUNS_TABLE)
            .push(" SET \"status\" = ")
            .push_bind(SqlValue::Text(status.to_owned()));
        done.push(", \"finished_at\" = ").push_bind(SqlValue::DateTime(now));
        done.push(", \"duration_ms\" = ").push_bind(SqlValue::Int(duration_ms));
        done.push(", \"message\" = ").push_bind(SqlValue::Text(message.to_owned()));
        done.push(", \"lease_owner\" = NULL, \"lease_expires_at\" = NULL WHERE \"id\" = ")
            .push_bind(SqlValue::Uuid(run.id));
        self.db.execute(done).await.map(|_| ())
    }

    /// Fails runs whose lease expired (their process stopped) and releases their items.
    pub async fn recover_expired(&self) -> Result<u64, sqlx::Error> {
        let now = crate::http::entity_routes::now();
        let message = "the worker running it stopped before finishing (lease expired)";
        let mut sql = Sql::new(self.db.backend());
        sql.push("UPDATE ")
            .push_ident(RUNS_TABLE)
            .push(" SET \"status\" = 'failed', \"finished_at\" = ")
            .push_bind(SqlValue::DateTime(now));
        sql.push(", \"message\" = ").push_bind(SqlValue::Text(message.to_owned()));
        sql.push(
            ", \"lease_owner\" = NULL, \"lease_expires_at\" = NULL WHERE \"status\" = 'running' AND \"entity\" = ",
        );
        sql.push_bind(SqlValue::Text(E::DEF.name.to_owned()));
        sql.push(" AND \"lease_expires_at\" < ").push_bind(SqlValue::DateTime(now)).push(" RETURNING \"item_id\"");
        let rows = self.db.fetch_all(sql, &[SqlType::Uuid]).await?;
        let tracking = E::DEF.tracking;
        for row in &rows {
            if let (Some(SqlValue::Uuid(item_id)), Some(tracking)) = (row.first(), tracking) {
                let mut item = Sql::new(self.db.backend());
                item.push("UPDATE ")
                    .push_ident(E::DEF.table)
                    .push(" SET ")
                    .push_ident(tracking.status)
                    .push(" = 'failed'");
                if let Some(error) = tracking.error {
                    item.push(", ").push_ident(error).push(" = ").push_bind(SqlValue::Text(message.to_owned()));
                }
                item.push(", ").push_ident(VERSION_COLUMN).push(" = ").push_ident(VERSION_COLUMN).push(" + 1 WHERE ");
                item.push_ident(E::DEF.primary_key().name).push(" = ").push_bind(SqlValue::Uuid(*item_id));
                self.db.execute(item).await?;
            }
        }
        if !rows.is_empty() {
            tracing::warn!(entity = E::DEF.name, runs = rows.len(), "failed runs whose worker stopped");
        }
        Ok(rows.len() as u64)
    }
}
