//! The database: SQLite (embedded default) or PostgreSQL, behind one handle; statements
//! ([`Sql`]) and transactions ([`Tx`]); and the only place that turns [`SqlValue`]s into bind
//! parameters and rows back into values. Entities skip the values: they bind and read their
//! fields natively (see [`crate::storage::column`]).
//!
//! `sqlx::Any` cannot carry UUID, JSON or timestamp types, so this is an enum of the two
//! pools; every statement is built by [`Sql`], which quotes identifiers (all of them checked
//! snake_case names from the spec) and binds every value as a parameter.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments, AssertSqlSafe, Row as _};
use uuid::Uuid;

use crate::model::cipher::Keyring;
use crate::model::redact::redact;
use crate::model::timestamp::truncate_to_micros;
use crate::model::value::{SqlType, SqlValue};
use crate::storage::column::{BindError, json_text, sqlite_timestamp};
use crate::storage::secret_keys::SecretKeys;
use crate::storage::write_gate::{WriteGate, WriteTurn};

/// The database URL used when `DATABASE_URL` is not set: a SQLite file in the working
/// directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://entity-spec.db";

/// How long a SQLite write waits for the database's write lock before it fails as busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection pool to SQLite or PostgreSQL, with the keys of the sensitive fields stored
/// in it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    secrets: SecretKeys,
    writes: WriteGate,
}

/// A pool's connections at one moment (for `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open, idle or in use.
    pub open: u32,
    /// Open connections waiting for work.
    pub idle: usize,
    /// The most the pool opens.
    pub max: u32,
}

/// The pool of a [`Db`], per backend.
#[derive(Debug, Clone)]
pub enum Pool {
    /// SQLite pool.
    Sqlite(SqlitePool),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

impl Db {
    /// Connects to `url`: `postgres://…`/`postgresql://…` or `sqlite://path` (the file is
    /// created if missing, readable by its owner only; `sqlite::memory:` is refused because
    /// every pooled connection would see a different empty database). A SQLite pool gets a
    /// task that keeps its write-ahead log bounded ([`crate::storage::sqlite_wal`]) until
    /// [`Db::close`].
    ///
    /// The keys of sensitive fields come from `ENTITY_SPEC_SECRET_KEY` or
    /// `ENTITY_SPEC_SECRET_KEY_FILE`; without either, a SQLite database gets a key file next to
    /// it (created on first use), and a PostgreSQL database has none, so the migration refuses
    /// to start a spec with sensitive fields (see [`crate::storage::secret_keys`]). A bad key
    /// configuration is an error naming the variable.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let secrets = SecretKeys::configured(None).map_err(|e| sqlx::Error::Configuration(e.into()))?;
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
            return Ok(Db::on(Pool::Postgres(pool), secrets));
        }
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(sqlx::Error::Configuration(
                    "in-memory SQLite is not supported: each pooled connection would get its own empty database; use a file".into(),
                ));
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL lets readers proceed while one writer commits; NORMAL sync is durable
                // across application crashes and the recommended pairing with WAL.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true);
            let path = options.get_filename().to_path_buf();
            create_private_file(&path)?;
            let secrets = SecretKeys::configured(Some(&path)).map_err(|e| sqlx::Error::Configuration(e.into()))?;
            // A connection to a local file does not go stale, so the pool hands it out without the
            // ping it would first send to the connection's thread (a round trip per statement).
            let pool =
                SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await?;
            crate::storage::sqlite_wal::keep_wal_bounded(pool.clone());
            return Ok(Db::on(Pool::Sqlite(pool), secrets));
        }
        Err(sqlx::Error::Configuration(
            format!("unsupported database URL `{}`: use sqlite://FILE or postgres://…", redact(url)).into(),
        ))
    }

    /// A handle on a pool built elsewhere, with no secret keys (sensitive fields can then be
    /// neither written nor read: see [`Db::with_keyring`]).
    pub fn from_pool(pool: Pool) -> Db {
        Db::on(pool, SecretKeys::none())
    }

    /// A handle on `pool` with `secrets`, and the write gate its backend needs: SQLite's
    /// writers of this process take turns, PostgreSQL's do not.
    fn on(pool: Pool, secrets: SecretKeys) -> Db {
        let writes = match pool {
            Pool::Sqlite(_) => WriteGate::one_at_a_time(SQLITE_BUSY_TIMEOUT),
            Pool::Postgres(_) => WriteGate::open(),
        };
        Db { pool, secrets, writes }
    }

    /// The same database with sensitive fields sealed and opened by `keyring` instead.
    pub fn with_keyring(mut self, keyring: Keyring) -> Db {
        self.secrets = SecretKeys::given(keyring);
        self
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The keys of sensitive fields, and where they came from.
    pub fn secrets(&self) -> &SecretKeys {
        &self.secrets
    }

    /// The keyring of sensitive fields, if any key is configured.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.secrets.keyring()
    }

    /// Connects to `DATABASE_URL`, or to [`DEFAULT_DATABASE_URL`] when it is unset.
    pub async fn connect_from_env() -> Result<Db, sqlx::Error> {
        Db::connect(&database_url_from_env()).await
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The pool's connections now: open, of which idle, and the most it opens.
    pub fn pool_stats(&self) -> PoolStats {
        match &self.pool {
            Pool::Sqlite(pool) => {
                PoolStats { open: pool.size(), idle: pool.num_idle(), max: pool.options().get_max_connections() }
            }
            Pool::Postgres(pool) => {
                PoolStats { open: pool.size(), idle: pool.num_idle(), max: pool.options().get_max_connections() }
            }
        }
    }

    /// Closes every connection (used at shutdown).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs a statement and returns the number of affected rows (on SQLite in this process's
    /// turn at writing: statements run here write; reads go through the `fetch` methods).
    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let _turn = self.writes.enter().await;
                Ok(sql.sqlite_query()?.execute(pool).await?.rows_affected())
            }
            Pool::Postgres(pool) => Ok(sql.postgres_query()?.execute(pool).await?.rows_affected()),
        }
    }

    /// Runs a query and returns its rows as the backend delivered them.
    pub async fn fetch_rows(&self, sql: Sql) -> Result<Rows, sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => Ok(Rows::Sqlite(sql.sqlite_query()?.fetch_all(pool).await?)),
            Pool::Postgres(pool) => Ok(Rows::Postgres(sql.postgres_query()?.fetch_all(pool).await?)),
        }
    }

    /// Runs a query expected to return at most one row, as the backend delivered it (a read: a
    /// statement that writes goes through [`Db::write_row`], which takes a turn on SQLite).
    pub async fn fetch_row(&self, sql: Sql) -> Result<Option<Row>, sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => Ok(sql.sqlite_query()?.fetch_optional(pool).await?.map(Row::Sqlite)),
            Pool::Postgres(pool) => Ok(sql.postgres_query()?.fetch_optional(pool).await?.map(Row::Postgres)),
        }
    }

    /// Runs one writing statement returning at most one row (its `RETURNING`), on SQLite in
    /// this process's turn at writing (see [`crate::storage::write_gate`]).
    pub async fn write_row(&self, sql: Sql) -> Result<Option<Row>, sqlx::Error> {
        let _turn = self.writes.enter().await;
        self.fetch_row(sql).await
    }

    /// [`Db::write_row`], its row read as values of the given column types.
    pub async fn write_optional(&self, sql: Sql, columns: &[SqlType]) -> Result<Option<Vec<SqlValue>>, sqlx::Error> {
        self.write_row(sql).await?.map(|row| row.values(columns)).transpose()
    }

    /// Runs a query and reads every row as values of the given column types.
    pub async fn fetch_all(&self, sql: Sql, columns: &[SqlType]) -> Result<Vec<Vec<SqlValue>>, sqlx::Error> {
        self.fetch_rows(sql).await?.values(columns)
    }

    /// Runs a query expected to return at most one row.
    pub async fn fetch_optional(&self, sql: Sql, columns: &[SqlType]) -> Result<Option<Vec<SqlValue>>, sqlx::Error> {
        self.fetch_row(sql).await?.map(|row| row.values(columns)).transpose()
    }
}

/// One row of a result, from either backend.
#[derive(Debug)]
pub enum Row {
    /// A SQLite row.
    Sqlite(SqliteRow),
    /// A PostgreSQL row.
    Postgres(PgRow),
}

/// The rows of a result, from either backend.
#[derive(Debug)]
pub enum Rows {
    /// SQLite rows.
    Sqlite(Vec<SqliteRow>),
    /// PostgreSQL rows.
    Postgres(Vec<PgRow>),
}

impl Row {
    /// Column `index` read as a value of type `column`.
    pub fn value(&self, index: usize, column: SqlType) -> Result<SqlValue, sqlx::Error> {
        match self {
            Row::Sqlite(row) => sqlite_value(row, index, column),
            Row::Postgres(row) => postgres_value(row, index, column),
        }
    }

    /// The leading columns read as values of the given types.
    pub fn values(&self, columns: &[SqlType]) -> Result<Vec<SqlValue>, sqlx::Error> {
        columns.iter().enumerate().map(|(i, column)| self.value(i, *column)).collect()
    }
}

impl Rows {
    /// How many rows there are.
    pub fn len(&self) -> usize {
        match self {
            Rows::Sqlite(rows) => rows.len(),
            Rows::Postgres(rows) => rows.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `len` rows.
    pub fn truncate(&mut self, len: usize) {
        match self {
            Rows::Sqlite(rows) => rows.truncate(len),
            Rows::Postgres(rows) => rows.truncate(len),
        }
    }

    /// Column `index` of row `row` read as a value of type `column`.
    pub fn value(&self, row: usize, index: usize, column: SqlType) -> Result<Option<SqlValue>, sqlx::Error> {
        match self {
            Rows::Sqlite(rows) => rows.get(row).map(|r| sqlite_value(r, index, column)).transpose(),
            Rows::Postgres(rows) => rows.get(row).map(|r| postgres_value(r, index, column)).transpose(),
        }
    }

    /// Every row's leading columns read as values of the given types.
    pub fn values(&self, columns: &[SqlType]) -> Result<Vec<Vec<SqlValue>>, sqlx::Error> {
        let read = |read_one: &dyn Fn(usize, SqlType) -> Result<SqlValue, sqlx::Error>| {
            columns.iter().enumerate().map(|(i, column)| read_one(i, *column)).collect::<Result<Vec<_>, _>>()
        };
        match self {
            Rows::Sqlite(rows) => rows.iter().map(|row| read(&|i, c| sqlite_value(row, i, c))).collect(),
            Rows::Postgres(rows) => rows.iter().map(|row| read(&|i, c| postgres_value(row, i, c))).collect(),
        }
    }
}

/// An open transaction on either backend, for work that must be all or nothing (migrations,
/// the end of a run). Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite transaction, with this process's turn at writing (see [`crate::storage::write_gate`]).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>, WriteTurn),
    /// PostgreSQL transaction.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Db {
    /// Starts a transaction (on SQLite, once the writers before it are done).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let turn = self.writes.enter().await;
                Tx::Sqlite(pool.begin().await?, turn)
            }
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts the transaction a schema migration runs in. On SQLite its connection has foreign
    /// keys off (which only works outside a transaction), as SQLite's documented procedure for
    /// rebuilding a table requires: dropping the old copy of a referenced table would otherwise
    /// delete or null every row that refers to it. That connection is closed when the
    /// transaction ends instead of going back to the pool, so no request ever runs on it; the
    /// migration checks the references itself before it commits.
    pub async fn begin_migration(&self) -> Result<Tx, sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let turn = self.writes.enter().await;
                let mut connection = pool.acquire().await?;
                connection.close_on_drop();
                sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *connection).await?;
                Ok(Tx::Sqlite(sqlx::Transaction::begin(connection, None).await?, turn))
            }
            Pool::Postgres(_) => self.begin().await,
        }
    }

    /// Runs `script` atomically in one call to the database and returns the first row any of
    /// its statements returned. On PostgreSQL `script` is one statement, atomic by itself. On
    /// SQLite, which has no data-modifying `WITH`, it is statements separated by `;`, run
    /// between `BEGIN IMMEDIATE` and `COMMIT`: every statement of a transaction would otherwise
    /// be a hop to the connection's thread. If a statement fails, the transaction is rolled
    /// back on the same connection, also when the caller stops waiting (the work runs in a
    /// task of its own), so a connection never goes back to the pool inside a transaction.
    pub async fn fetch_row_atomically(&self, script: Sql) -> Result<Option<Row>, sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut transaction = Sql::new(Backend::Sqlite);
                transaction.push("BEGIN IMMEDIATE; ").push(script.text()).push("; COMMIT");
                transaction.args = script.args;
                transaction.error = script.error;
                let query = transaction.sqlite_query()?;
                let pool = pool.clone();
                let writes = self.writes.clone();
                let work = tokio::spawn(async move {
                    let _turn = writes.enter().await;
                    let mut connection = pool.acquire().await?;
                    match query.fetch_all(&mut *connection).await {
                        Ok(rows) => Ok(rows.into_iter().next().map(Row::Sqlite)),
                        Err(error) => {
                            // Nothing to roll back when `BEGIN` itself failed: that error is moot.
                            let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                            Err(error)
                        }
                    }
                });
                work.await.map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
            }
            Pool::Postgres(_) => self.fetch_row(script).await,
        }
    }
}

impl Tx {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement and returns the number of affected rows.
    pub async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Tx::Sqlite(tx, _) => Ok(sql.sqlite_query()?.execute(&mut **tx).await?.rows_affected()),
            Tx::Postgres(tx) => Ok(sql.postgres_query()?.execute(&mut **tx).await?.rows_affected()),
        }
    }

    /// Runs a query expected to return at most one row, as the backend delivered it.
    pub async fn fetch_row(&mut self, sql: Sql) -> Result<Option<Row>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx, _) => Ok(sql.sqlite_query()?.fetch_optional(&mut **tx).await?.map(Row::Sqlite)),
            Tx::Postgres(tx) => Ok(sql.postgres_query()?.fetch_optional(&mut **tx).await?.map(Row::Postgres)),
        }
    }

    /// Runs a query and reads every row as values of the given column types.
    pub async fn fetch_all(&mut self, sql: Sql, columns: &[SqlType]) -> Result<Vec<Vec<SqlValue>>, sqlx::Error> {
        let rows = match self {
            Tx::Sqlite(tx, _) => Rows::Sqlite(sql.sqlite_query()?.fetch_all(&mut **tx).await?),
            Tx::Postgres(tx) => Rows::Postgres(sql.postgres_query()?.fetch_all(&mut **tx).await?),
        };
        rows.values(columns)
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            // The turn ends once the commit has.
            Tx::Sqlite(tx, _turn) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Creates a new SQLite database file readable and writable by its owner only (SQLite gives
/// its `-wal` and `-shm` files the same mode); an existing file is left as it is.
fn create_private_file(path: &std::path::Path) -> Result<(), sqlx::Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(sqlx::Error::Io(error)),
    }
}

/// The database the service opens: `sqlite://…` or `postgres://…`.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";

/// [`DATABASE_URL_VAR`], or the default SQLite file.
pub fn database_url_from_env() -> String {
    std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// A SQL statement under construction: text plus bind parameters, with the placeholder style
/// of the backend (`?` for SQLite, `$1…` for PostgreSQL). Values are encoded for the backend
/// as they are bound, so entities can bind their fields natively ([`Sql::bind_entity`]).
#[derive(Debug, Clone)]
pub struct Sql {
    text: SqlText,
    args: Args,
    /// The first value that failed to encode, reported when the statement runs.
    error: Option<String>,
}

/// Statement text: built for this request, or shared by every request of its kind.
#[derive(Debug, Clone)]
enum SqlText {
    Built(String),
    Shared(Arc<str>),
}

/// Bind parameters, encoded for the backend.
#[derive(Debug, Clone)]
enum Args {
    Sqlite(SqliteArguments),
    Postgres(PgArguments),
}

/// Statement texts that depend only on an entity's definition, the backend and the kind of
/// statement (get by id, insert, replace), built on first use so hot paths spend nothing on
/// building SQL. Keyed by the definition's address, not its table: two specs in one process
/// may describe one table differently, and definitions merged to one address are identical.
pub fn shared_text(
    def: &'static crate::model::def::EntityDef,
    backend: Backend,
    statement: &'static str,
    build: impl FnOnce() -> Sql,
) -> Arc<str> {
    // Read-mostly: every request of these kinds looks its text up, from every worker thread.
    type Cache = RwLock<HashMap<(usize, Backend, &'static str), Arc<str>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (std::ptr::from_ref(def) as usize, backend, statement);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(text) = cache.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return text.clone();
    }
    let text: Arc<str> = build().text().into();
    cache.write().unwrap_or_else(|e| e.into_inner()).insert(key, text.clone());
    text
}

impl Sql {
    /// An empty statement for `backend`.
    pub fn new(backend: Backend) -> Self {
        Sql { text: SqlText::Built(String::with_capacity(256)), args: Args::new(backend), error: None }
    }

    /// A statement with shared text (from [`shared_text`]); add its values with [`Sql::bind`]
    /// in placeholder order.
    pub fn shared(backend: Backend, text: Arc<str>) -> Self {
        Sql { text: SqlText::Shared(text), args: Args::new(backend), error: None }
    }

    /// Which backend the statement is for.
    pub fn backend(&self) -> Backend {
        match self.args {
            Args::Sqlite(_) => Backend::Sqlite,
            Args::Postgres(_) => Backend::Postgres,
        }
    }

    /// Binds the next placeholder's value without touching the text.
    pub fn bind(&mut self, value: SqlValue) -> &mut Self {
        let result = match &mut self.args {
            Args::Sqlite(args) => bind_sqlite(args, value),
            Args::Postgres(args) => bind_postgres(args, value),
        };
        self.record(result);
        self
    }

    /// Binds every field of `entity`, in field order, without touching the text.
    /// Sensitive fields are sealed with `keys` (and fail to bind without them).
    pub fn bind_entity<E: crate::storage::entity::Entity>(&mut self, entity: &E, keys: Option<&Keyring>) -> &mut Self {
        let result = match &mut self.args {
            Args::Sqlite(args) => entity.bind_sqlite(args, keys),
            Args::Postgres(args) => entity.bind_postgres(args, keys),
        };
        self.record(result);
        self
    }

    fn record(&mut self, result: Result<(), BindError>) {
        if let (Err(error), None) = (result, &self.error) {
            self.error = Some(error.to_string());
        }
    }

    fn built(&mut self) -> &mut String {
        if let SqlText::Shared(text) = &self.text {
            self.text = SqlText::Built(text.to_string());
        }
        match &mut self.text {
            SqlText::Built(text) => text,
            SqlText::Shared(_) => unreachable!("converted above"),
        }
    }

    /// Puts trusted SQL text before the statement, keeping its bound values (to nest it in a
    /// larger statement).
    pub fn prepend(&mut self, text: &str) -> &mut Self {
        let built = self.built();
        built.insert_str(0, text);
        self
    }

    /// Appends trusted SQL text (keywords and punctuation written in this crate, never input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.built().push_str(text);
        self
    }

    /// Appends a double-quoted identifier. Identifiers come from checked spec names
    /// (snake_case ASCII), so quoting only guards against reserved words.
    pub fn push_ident(&mut self, name: &str) -> &mut Self {
        debug_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "unchecked identifier {name:?}");
        let text = self.built();
        text.push('"');
        text.push_str(name);
        text.push('"');
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn push_bind(&mut self, value: SqlValue) -> &mut Self {
        self.bind(value);
        match self.args {
            Args::Sqlite(_) => self.push("?"),
            Args::Postgres(_) => {
                let number = self.args.len();
                self.push_placeholder(number)
            }
        }
    }

    /// Appends `values` as placeholders separated by `, ` (an `IN (…)` list, a `VALUES (…)` row)
    /// and binds them.
    pub fn push_binds(&mut self, values: impl IntoIterator<Item = SqlValue>) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(value);
        }
        self
    }

    /// Appends a numbered placeholder (`?NNN` even on SQLite) and binds `value` to it: for a
    /// statement that follows others in one script, whose unnumbered `?`s SQLite would count
    /// from the script's first statement.
    pub fn push_bind_numbered(&mut self, value: SqlValue) -> &mut Self {
        self.bind(value);
        let number = self.args.len();
        self.push_placeholder(number)
    }

    /// Appends the numbered placeholder of parameter `number` (1-based; `?NNN` on SQLite,
    /// `$NNN` on PostgreSQL) without binding anything: for statements that mention their
    /// values in another order than they bind them.
    pub fn push_placeholder(&mut self, number: usize) -> &mut Self {
        let sign = match self.args {
            Args::Sqlite(_) => '?',
            Args::Postgres(_) => '$',
        };
        let text = self.built();
        text.push(sign);
        text.push_str(&number.to_string());
        self
    }

    /// Appends ` LIMIT limit` and, unless it is 0, ` OFFSET offset`, written as literals
    /// (validated integers, never text): a bound LIMIT makes SQLite prepare the statement
    /// again on every request.
    pub fn push_limit(&mut self, limit: u64, offset: u64) -> &mut Self {
        self.push(&format!(" LIMIT {limit}"));
        if offset > 0 {
            self.push(&format!(" OFFSET {}", offset.min(i64::MAX as u64)));
        }
        self
    }

    /// The statement text (for tests and debugging; values are not included).
    pub fn text(&self) -> &str {
        match &self.text {
            SqlText::Built(text) => text,
            SqlText::Shared(text) => text,
        }
    }

    fn sqlite_query(self) -> Result<sqlx::query::Query<'static, sqlx::Sqlite, SqliteArguments>, sqlx::Error> {
        let Args::Sqlite(args) = self.args else { return Err(wrong_backend()) };
        if let Some(error) = self.error {
            return Err(sqlx::Error::Encode(error.into()));
        }
        // Safe: the text is built only from this crate's SQL and checked identifiers; every
        // value is a bind parameter.
        Ok(match self.text {
            SqlText::Built(text) => sqlx::query_with(AssertSqlSafe(text), args),
            SqlText::Shared(text) => sqlx::query_with(AssertSqlSafe(text), args),
        })
    }

    fn postgres_query(self) -> Result<sqlx::query::Query<'static, sqlx::Postgres, PgArguments>, sqlx::Error> {
        let Args::Postgres(args) = self.args else { return Err(wrong_backend()) };
        if let Some(error) = self.error {
            return Err(sqlx::Error::Encode(error.into()));
        }
        // Safe: see `sqlite_query`.
        Ok(match self.text {
            SqlText::Built(text) => sqlx::query_with(AssertSqlSafe(text), args),
            SqlText::Shared(text) => sqlx::query_with(AssertSqlSafe(text), args),
        })
    }
}

fn wrong_backend() -> sqlx::Error {
    sqlx::Error::Protocol("a statement built for one backend was run on the other".into())
}

impl Args {
    fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Args::Sqlite(SqliteArguments::default()),
            Backend::Postgres => Args::Postgres(PgArguments::default()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Args::Sqlite(args) => args.len(),
            Args::Postgres(args) => args.len(),
        }
    }
}

fn bind_sqlite(args: &mut SqliteArguments, value: SqlValue) -> Result<(), BindError> {
    match value {
        SqlValue::Null(SqlType::Int | SqlType::Bool) => args.add(None::<i64>),
        SqlValue::Null(SqlType::Float) => args.add(None::<f64>),
        SqlValue::Null(_) => args.add(None::<String>),
        SqlValue::Bool(b) => args.add(b),
        SqlValue::Int(i) => args.add(i),
        SqlValue::Float(f) => args.add(f),
        SqlValue::Text(s) => args.add(s),
        SqlValue::Uuid(u) => args.add(u.hyphenated().to_string()),
        SqlValue::Json(j) => args.add(json_text(&j)),
        SqlValue::DateTime(t) => args.add(sqlite_timestamp(t)),
        SqlValue::Date(d) => args.add(d.to_string()),
    }
}

fn bind_postgres(args: &mut PgArguments, value: SqlValue) -> Result<(), BindError> {
    match value {
        SqlValue::Null(SqlType::Bool) => args.add(None::<bool>),
        SqlValue::Null(SqlType::Int) => args.add(None::<i64>),
        SqlValue::Null(SqlType::Float) => args.add(None::<f64>),
        SqlValue::Null(SqlType::Text) => args.add(None::<String>),
        SqlValue::Null(SqlType::Uuid) => args.add(None::<Uuid>),
        SqlValue::Null(SqlType::Json) => args.add(None::<sqlx::types::Json<serde_json::Value>>),
        SqlValue::Null(SqlType::DateTime) => args.add(None::<DateTime<Utc>>),
        SqlValue::Null(SqlType::Date) => args.add(None::<NaiveDate>),
        SqlValue::Bool(b) => args.add(b),
        SqlValue::Int(i) => args.add(i),
        SqlValue::Float(f) => args.add(f),
        SqlValue::Text(s) => args.add(s),
        SqlValue::Uuid(u) => args.add(u),
        SqlValue::Json(j) => args.add(sqlx::types::Json(j)),
        SqlValue::DateTime(t) => args.add(truncate_to_micros(t)),
        SqlValue::Date(d) => args.add(d),
    }
}

fn decode_error(column: usize, message: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: column.to_string(), source: message.to_string().into() }
}

/// Column `i` of a SQLite row read as a value of type `column`.
pub(crate) fn sqlite_value(row: &SqliteRow, i: usize, column: SqlType) -> Result<SqlValue, sqlx::Error> {
    let value = match column {
        SqlType::Bool => row.try_get::<Option<bool>, _>(i)?.map(SqlValue::Bool),
        SqlType::Int => row.try_get::<Option<i64>, _>(i)?.map(SqlValue::Int),
        SqlType::Float => row.try_get::<Option<f64>, _>(i)?.map(SqlValue::Float),
        SqlType::Text => row.try_get::<Option<String>, _>(i)?.map(SqlValue::Text),
        SqlType::Uuid => match row.try_get::<Option<&str>, _>(i)? {
            Some(text) => Some(SqlValue::Uuid(Uuid::parse_str(text).map_err(|e| decode_error(i, e))?)),
            None => None,
        },
        SqlType::Json => match row.try_get::<Option<&str>, _>(i)? {
            Some(text) => Some(SqlValue::Json(serde_json::from_str(text).map_err(|e| decode_error(i, e))?)),
            None => None,
        },
        SqlType::DateTime => match row.try_get::<Option<&str>, _>(i)? {
            Some(text) => Some(SqlValue::DateTime(
                DateTime::parse_from_rfc3339(text).map_err(|e| decode_error(i, e))?.with_timezone(&Utc),
            )),
            None => None,
        },
        SqlType::Date => match row.try_get::<Option<&str>, _>(i)? {
            Some(text) => Some(SqlValue::Date(NaiveDate::from_str(text).map_err(|e| decode_error(i, e))?)),
            None => None,
        },
    };
    Ok(value.unwrap_or(SqlValue::Null(column)))
}

fn postgres_value(row: &PgRow, i: usize, column: SqlType) -> Result<SqlValue, sqlx::Error> {
    let value = match column {
        SqlType::Bool => row.try_get::<Option<bool>, _>(i)?.map(SqlValue::Bool),
        SqlType::Int => row.try_get::<Option<i64>, _>(i)?.map(SqlValue::Int),
        SqlType::Float => row.try_get::<Option<f64>, _>(i)?.map(SqlValue::Float),
        SqlType::Text => row.try_get::<Option<String>, _>(i)?.map(SqlValue::Text),
        SqlType::Uuid => row.try_get::<Option<Uuid>, _>(i)?.map(SqlValue::Uuid),
        SqlType::Json => {
            row.try_get::<Option<sqlx::types::Json<serde_json::Value>>, _>(i)?.map(|j| SqlValue::Json(j.0))
        }
        SqlType::DateTime => row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(SqlValue::DateTime),
        SqlType::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(SqlValue::Date),
    };
    Ok(value.unwrap_or(SqlValue::Null(column)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let mut pg = Sql::new(Backend::Postgres);
        pg.push("SELECT * FROM ")
            .push_ident("t")
            .push(" WHERE ")
            .push_ident("a")
            .push(" = ")
            .push_bind(SqlValue::Int(1));
        pg.push(" AND ").push_ident("b").push(" = ").push_bind(SqlValue::Int(2));
        assert_eq!(pg.text(), r#"SELECT * FROM "t" WHERE "a" = $1 AND "b" = $2"#);
        let mut lite = Sql::new(Backend::Sqlite);
        lite.push_ident("a").push(" = ").push_bind(SqlValue::Int(1));
        assert_eq!(lite.text(), r#""a" = ?"#);
        // Numbered placeholders, for statements that mention parameters out of binding order.
        let mut numbered = Sql::new(Backend::Sqlite);
        numbered.push_placeholder(2).push(", ").push_placeholder(1);
        assert_eq!(numbered.text(), "?2, ?1");
    }

    #[test]
    fn pages_are_literals_not_parameters() {
        let mut page = Sql::new(Backend::Postgres);
        page.push("SELECT 1").push_limit(51, 100);
        assert_eq!(page.text(), "SELECT 1 LIMIT 51 OFFSET 100");
        let mut first = Sql::new(Backend::Sqlite);
        first.push("SELECT 1").push_limit(5, 0);
        assert_eq!(first.text(), "SELECT 1 LIMIT 5");
    }
}
