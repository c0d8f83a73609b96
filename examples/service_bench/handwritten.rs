//! The RawDataSource service written by hand with axum 0.8 and sqlx 0.9: the same HTTP
//! contract as the generated service for create, read and the filtered keyset list, on the
//! same table (created by the generated `migrate`) and with the same pool settings, so that a
//! benchmark compares code, not configuration.
//!
//! - `POST /raw-data-sources`: JSON body, defaults from the spec, validation (422), uuid v7
//!   id, server timestamps, `INSERT … RETURNING`; `201` with `Location` and `ETag`; `409` when
//!   the name is taken.
//! - `GET /raw-data-sources/{id}`: `200` with `ETag`, or `404`.
//! - `GET /raw-data-sources?source_type=…&is_active=…&limit=…&cursor=…`: the total count of
//!   matches and one page ordered by id, `{"items", "total", "next_cursor"}`.
//!
//! `connection_string` is written but never read back or returned. Like the generated service,
//! it limits bodies to 1 MiB and logs every request through tower-http's `TraceLayer`.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use uuid::Uuid;

const COLLECTION: &str = "/raw-data-sources";
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// Every column the API returns, plus the version (the ETag). Not `connection_string`.
macro_rules! returned_columns {
    () => {
        "id, name, source_type, schema_definition, refresh_interval, is_active, last_sync_at, \
         sync_status, error_message, metadata, created_at, updated_at, tags, _version"
    };
}

macro_rules! insert_columns {
    () => {
        "INSERT INTO raw_data_sources (id, name, source_type, connection_string, schema_definition, \
         refresh_interval, is_active, last_sync_at, sync_status, error_message, metadata, created_at, \
         updated_at, tags, _version) "
    };
}

const SQLITE_INSERT: &str =
    concat!(insert_columns!(), "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING ", returned_columns!());
const POSTGRES_INSERT: &str = concat!(
    insert_columns!(),
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1) RETURNING ",
    returned_columns!()
);
const SQLITE_GET: &str = concat!("SELECT ", returned_columns!(), " FROM raw_data_sources WHERE id = ?");
const POSTGRES_GET: &str = concat!("SELECT ", returned_columns!(), " FROM raw_data_sources WHERE id = $1");
const SELECT_PAGE: &str = concat!("SELECT ", returned_columns!(), " FROM raw_data_sources");

/// The pool: SQLite (WAL, 8 connections) or PostgreSQL (16 connections), as the generated
/// service configures them.
#[derive(Debug, Clone)]
pub enum Pool {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Pool {
    /// Connects to `postgres://…` or `sqlite://FILE`.
    pub async fn connect(url: &str) -> Result<Pool, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
            return Ok(Pool::Postgres(pool));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        // The same log upkeep as the generated service: without it, a sustained create load
        // can keep SQLite from ever restarting its write-ahead log (it passed 1.7 GB within
        // 20 s here), and the comparison would measure that instead of request handling.
        entity_spec::keep_wal_bounded(pool.clone());
        Ok(Pool::Sqlite(pool))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The routes, with what the service contract asks of any RawDataSource service and the
/// generated one has: a 1 MiB body limit (`413`) and a log line per request (method, path,
/// status, latency; never bodies or query strings).
pub fn router(pool: Pool) -> Router {
    Router::new()
        .route(COLLECTION, get(list).post(create))
        .route("/raw-data-sources/{id}", get(read))
        .with_state(pool)
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    Database,
    Api,
    File,
    Stream,
    Webhook,
}

impl SourceType {
    pub const ALL: [SourceType; 5] =
        [SourceType::Database, SourceType::Api, SourceType::File, SourceType::Stream, SourceType::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Database => "database",
            SourceType::Api => "api",
            SourceType::File => "file",
            SourceType::Stream => "stream",
            SourceType::Webhook => "webhook",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        SourceType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    #[default]
    Pending,
    Syncing,
    Success,
    Failed,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 4] =
        [SyncStatus::Pending, SyncStatus::Syncing, SyncStatus::Success, SyncStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Pending => "pending",
            SyncStatus::Syncing => "syncing",
            SyncStatus::Success => "success",
            SyncStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        SyncStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A data source as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct RawDataSource {
    pub id: Uuid,
    pub name: String,
    pub source_type: Option<SourceType>,
    pub schema_definition: Option<Value>,
    pub refresh_interval: i64,
    pub is_active: bool,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub sync_status: SyncStatus,
    pub error_message: Option<String>,
    pub metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tags: Option<Value>,
}

/// The POST body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRawDataSource {
    pub name: String,
    #[serde(default)]
    pub source_type: Option<SourceType>,
    pub connection_string: String,
    #[serde(default)]
    pub schema_definition: Option<Value>,
    #[serde(default = "default_refresh_interval")]
    pub refresh_interval: i64,
    #[serde(default = "default_is_active")]
    pub is_active: bool,
    #[serde(default)]
    pub last_sync_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sync_status: SyncStatus,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub tags: Option<Value>,
}

fn default_refresh_interval() -> i64 {
    3600
}

fn default_is_active() -> bool {
    true
}

#[derive(Debug, Serialize)]
struct FieldError {
    field: &'static str,
    message: &'static str,
}

impl NewRawDataSource {
    fn validate(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError { field: "name", message: "must not be blank" });
        } else if self.name.chars().count() > 100 {
            errors.push(FieldError { field: "name", message: "must be at most 100 characters" });
        }
        if self.connection_string.trim().is_empty() {
            errors.push(FieldError { field: "connection_string", message: "must not be blank" });
        }
        if self.refresh_interval < 60 {
            errors.push(FieldError { field: "refresh_interval", message: "must be at least 60" });
        }
        if errors.is_empty() { Ok(()) } else { Err(ApiError::Invalid(errors)) }
    }
}

/// A stored row: the entity and its version.
#[derive(Debug, Clone)]
pub struct Stored {
    pub source: RawDataSource,
    pub version: i64,
}

#[derive(Debug)]
enum ApiError {
    BadRequest(String),
    UnsupportedMediaType,
    NotFound,
    Conflict,
    Invalid(Vec<FieldError>),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => ApiError::Conflict,
            _ => ApiError::Database(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            errors: &'a [FieldError],
        }
        let (status, message, errors) = match &self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.as_str(), &[][..]),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as application/json", &[][..])
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "no such raw data source", &[][..]),
            ApiError::Conflict => (StatusCode::CONFLICT, "another raw data source has this name", &[][..]),
            ApiError::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, "validation failed", &errors[..]),
            ApiError::Database(error) => {
                eprintln!("database error: {error}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error", &[][..])
            }
        };
        let body = serde_json::to_vec(&Body { error: message, errors }).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

fn json_response(status: StatusCode, body: &impl Serialize, version: Option<i64>) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Database(sqlx::Error::Encode(e.into())))?;
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    if let Some(version) = version
        && let Ok(etag) = HeaderValue::try_from(format!("\"{version}\""))
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// SQLite stores timestamps as fixed-width RFC 3339 text (microseconds, `Z`), so text order is
/// time order.
fn sqlite_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a row of [`returned_columns`] given the id, which is the only column whose type
/// differs between the backends (TEXT on SQLite, UUID on PostgreSQL).
macro_rules! decode_row {
    ($row:expr, $id:expr) => {{
        let row = $row;
        let bad = |column: &str, value: &str| {
            sqlx::Error::Decode(format!("column {column}: unexpected value `{value}`").into())
        };
        let source_type = match row.try_get::<Option<&str>, _>("source_type")? {
            Some(text) => Some(SourceType::parse(text).ok_or_else(|| bad("source_type", text))?),
            None => None,
        };
        let sync_status = row.try_get::<&str, _>("sync_status")?;
        let sync_status = SyncStatus::parse(sync_status).ok_or_else(|| bad("sync_status", sync_status))?;
        Stored {
            source: RawDataSource {
                id: $id,
                name: row.try_get("name")?,
                source_type,
                schema_definition: row.try_get::<Option<Json<Value>>, _>("schema_definition")?.map(|j| j.0),
                refresh_interval: row.try_get("refresh_interval")?,
                is_active: row.try_get("is_active")?,
                last_sync_at: row.try_get("last_sync_at")?,
                sync_status,
                error_message: row.try_get("error_message")?,
                metadata: row.try_get::<Option<Json<Value>>, _>("metadata")?.map(|j| j.0),
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                tags: row.try_get::<Option<Json<Value>>, _>("tags")?.map(|j| j.0),
            },
            version: row.try_get("_version")?,
        }
    }};
}

fn from_sqlite(row: &sqlx::sqlite::SqliteRow) -> Result<Stored, sqlx::Error> {
    let id: &str = row.try_get("id")?;
    let id = Uuid::parse_str(id).map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok(decode_row!(row, id))
}

fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Stored, sqlx::Error> {
    let id: Uuid = row.try_get("id")?;
    Ok(decode_row!(row, id))
}

/// Inserts a new source (also used to seed the benchmark's tables).
pub async fn insert(pool: &Pool, id: Uuid, now: DateTime<Utc>, new: &NewRawDataSource) -> Result<Stored, sqlx::Error> {
    fn json(value: &Option<Value>) -> Option<Json<&Value>> {
        value.as_ref().map(Json)
    }
    match pool {
        Pool::Sqlite(pool) => {
            let row = sqlx::query(SQLITE_INSERT)
                .bind(id.hyphenated())
                .bind(&new.name)
                .bind(new.source_type.map(SourceType::as_str))
                .bind(&new.connection_string)
                .bind(json(&new.schema_definition))
                .bind(new.refresh_interval)
                .bind(new.is_active)
                .bind(new.last_sync_at.map(sqlite_timestamp))
                .bind(new.sync_status.as_str())
                .bind(&new.error_message)
                .bind(json(&new.metadata))
                .bind(sqlite_timestamp(now))
                .bind(sqlite_timestamp(now))
                .bind(json(&new.tags))
                .fetch_one(pool)
                .await?;
            from_sqlite(&row)
        }
        Pool::Postgres(pool) => {
            let row = sqlx::query(POSTGRES_INSERT)
                .bind(id)
                .bind(&new.name)
                .bind(new.source_type.map(SourceType::as_str))
                .bind(&new.connection_string)
                .bind(json(&new.schema_definition))
                .bind(new.refresh_interval)
                .bind(new.is_active)
                .bind(new.last_sync_at)
                .bind(new.sync_status.as_str())
                .bind(&new.error_message)
                .bind(json(&new.metadata))
                .bind(now)
                .bind(now)
                .bind(json(&new.tags))
                .fetch_one(pool)
                .await?;
            from_postgres(&row)
        }
    }
}

async fn create(State(pool): State<Pool>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let new: NewRawDataSource = serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::Invalid(vec![FieldError { field: "", message: "a field is missing or has the wrong type" }])
        }
        _ => ApiError::BadRequest(format!("invalid JSON: {e}")),
    })?;
    new.validate()?;
    // Microseconds: what both databases store, so the response equals a later read.
    let now = Utc::now();
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let stored = insert(&pool, Uuid::now_v7(), now, &new).await?;
    let mut response = json_response(StatusCode::CREATED, &stored.source, Some(stored.version))?;
    if let Ok(location) = HeaderValue::try_from(format!("{COLLECTION}/{}", stored.source.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn read(State(pool): State<Pool>, Path(id): Path<String>) -> Result<Response, ApiError> {
    // Not a UUID: cannot exist.
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let stored = match &pool {
        Pool::Sqlite(pool) => {
            sqlx::query(SQLITE_GET).bind(id.hyphenated()).fetch_optional(pool).await?.as_ref().map(from_sqlite)
        }
        Pool::Postgres(pool) => {
            sqlx::query(POSTGRES_GET).bind(id).fetch_optional(pool).await?.as_ref().map(from_postgres)
        }
    };
    let stored = stored.transpose()?.ok_or(ApiError::NotFound)?;
    json_response(StatusCode::OK, &stored.source, Some(stored.version))
}

#[derive(Debug)]
struct ListParams {
    source_type: Option<SourceType>,
    is_active: Option<bool>,
    limit: i64,
    after: Option<Uuid>,
}

fn parse_list_params(raw: Option<&str>) -> Result<ListParams, ApiError> {
    let mut params = ListParams { source_type: None, is_active: None, limit: DEFAULT_LIMIT, after: None };
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = |what: &str| ApiError::BadRequest(format!("`{key}` must be {what}"));
        let value = percent_decode(value).ok_or_else(|| bad("percent-encoded UTF-8"))?;
        match key {
            "source_type" => {
                let parsed =
                    SourceType::parse(&value).ok_or_else(|| bad("one of database, api, file, stream, webhook"))?;
                params.source_type = Some(parsed);
            }
            "is_active" => {
                params.is_active = Some(match value.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("`true` or `false`")),
                });
            }
            "limit" => {
                params.limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| bad("an integer from 1 to 500"))?;
            }
            "cursor" => params.after = Some(Uuid::parse_str(&value).map_err(|_| bad("a cursor from `next_cursor`"))?),
            _ => return Err(ApiError::BadRequest(format!("unknown query parameter `{key}`"))),
        }
    }
    Ok(params)
}

fn percent_decode(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains(['%', '+']) {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// ` WHERE …` for the filters and, for the page query, the keyset position.
fn push_filters<'a, DB, Id>(query: &mut QueryBuilder<DB>, params: &ListParams, after: Option<Id>)
where
    DB: sqlx::Database,
    &'static str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Id: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut keyword = " WHERE ";
    if let Some(source_type) = params.source_type {
        query.push(keyword).push("source_type = ").push_bind(source_type.as_str());
        keyword = " AND ";
    }
    if let Some(is_active) = params.is_active {
        query.push(keyword).push("is_active = ").push_bind(is_active);
        keyword = " AND ";
    }
    if let Some(after) = after {
        query.push(keyword).push("id > ").push_bind(after);
    }
}

#[derive(Serialize)]
struct Page {
    items: Vec<RawDataSource>,
    total: i64,
    next_cursor: Option<String>,
}

async fn list(State(pool): State<Pool>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = parse_list_params(raw.as_deref())?;
    let (total, mut rows) = match &pool {
        Pool::Sqlite(pool) => {
            let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM raw_data_sources");
            push_filters(&mut count, &params, None::<&str>);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            let mut page = QueryBuilder::<Sqlite>::new(SELECT_PAGE);
            push_filters(&mut page, &params, params.after.map(|id| id.hyphenated()));
            page.push(" ORDER BY id LIMIT ").push_bind(params.limit + 1);
            let rows = page.build().fetch_all(pool).await?;
            (total, rows.iter().map(from_sqlite).collect::<Result<Vec<_>, _>>()?)
        }
        Pool::Postgres(pool) => {
            let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM raw_data_sources");
            push_filters(&mut count, &params, None::<Uuid>);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            let mut page = QueryBuilder::<Postgres>::new(SELECT_PAGE);
            push_filters(&mut page, &params, params.after);
            page.push(" ORDER BY id LIMIT ").push_bind(params.limit + 1);
            let rows = page.build().fetch_all(pool).await?;
            (total, rows.iter().map(from_postgres).collect::<Result<Vec<_>, _>>()?)
        }
    };
    // One extra row tells whether there is a next page.
    let has_more = rows.len() as i64 > params.limit;
    rows.truncate(params.limit as usize);
    let next_cursor = if has_more { rows.last().map(|last| last.source.id.hyphenated().to_string()) } else { None };
    let page = Page { items: rows.into_iter().map(|s| s.source).collect(), total, next_cursor };
    json_response(StatusCode::OK, &page, None)
}
