//! What `sync` and `test` do for each kind of source: they really reach it, and only through
//! [`Egress`], so the egress policy, the file roots and the per-host limit hold for every one.
//!
//! - `database`: PostgreSQL (the URL taken apart here and connected to the checked address,
//!   with only known parameters) or SQLite (a file under the file roots, opened read-only);
//!   reads every table's columns.
//! - `api`: `GET`s the URL (http or https, redirects checked again) and records status,
//!   content type, size and, for JSON, its shape.
//! - `file`: reads a CSV, JSON or NDJSON file under the file roots and infers column names
//!   and types.
//! - `stream`: connects to the broker (`nats://`, `kafka://`, `amqp://`, `mqtt://`, `tcp://`);
//!   NATS also answers with its server info.
//! - `webhook`: push-based, so there is nothing to pull; said plainly, not as a failure.
//!
//! Every step has a timeout, a refused destination fails at once with a message naming the
//! policy, and every message goes through the redactor with the connection string.

use std::str::FromStr;
use std::time::{Duration, Instant};

use entity_spec::__private::serde_json::{self, Map, Value, json};
use entity_spec::egress::{Egress, HostPermit};
use percent_encoding::percent_decode_str;
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long one connection step may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// What reaching a source found.
pub struct Probe {
    /// One line for the run history and `test`.
    pub message: String,
    /// What was learned about the source's shape, for `schema_definition`.
    pub schema: Option<Value>,
}

/// The registry's actions: `sync` stores what reaching the source found, `test` only reports.
/// Both reach the source only through `egress`. (`crate::model` is the module generated from
/// `specs/entities.json` by whichever crate includes this file: the example, its tests and
/// benchmarks.)
pub struct Connectors {
    /// Where the connectors may reach.
    pub egress: Egress,
}

impl crate::model::RawDataSourceActions for Connectors {
    async fn sync(&self, source: &mut crate::model::RawDataSource) -> Result<String, String> {
        let source_type = source.source_type.map(|t| t.as_str());
        let probe = probe(&self.egress, source_type, source.connection_string.expose()).await?;
        if let Some(schema) = probe.schema {
            source.schema_definition = Some(schema);
        }
        Ok(probe.message)
    }

    async fn test_connection(
        &self,
        source: crate::model::RawDataSource,
    ) -> Result<crate::model::RawDataSourceTestConnectionResponse, entity_spec::ApiError> {
        let source_type = source.source_type.map(|t| t.as_str());
        let (ok, latency_ms, message) = test(&self.egress, source_type, source.connection_string.expose()).await;
        Ok(crate::model::RawDataSourceTestConnectionResponse { ok, latency_ms, message })
    }
}

/// Reaches the source: the shared step of `sync` and `test`.
pub async fn probe(egress: &Egress, source_type: Option<&str>, connection: &str) -> Result<Probe, String> {
    let work = async {
        match source_type {
            Some("database") => database(egress, connection).await,
            Some("api") => api(egress, connection).await,
            Some("file") => file(egress, connection).await,
            Some("stream") => stream(egress, connection).await,
            Some("webhook") => Ok(Probe {
                message: "webhook sources are push-based: they deliver data to us, so there is nothing to pull"
                    .to_owned(),
                schema: None,
            }),
            Some(other) => Err(format!("unknown source type `{other}`")),
            None => Err("the source has no `source_type`; set one to sync it".to_owned()),
        }
    };
    match tokio::time::timeout(STEP_TIMEOUT * 3, work).await {
        Ok(result) => result.map_err(|error| entity_spec::redact_known(&error, connection)),
        Err(_) => Err(format!("timed out after {} s", (STEP_TIMEOUT * 3).as_secs())),
    }
}

/// Measures `probe` for `POST …/test`.
pub async fn test(egress: &Egress, source_type: Option<&str>, connection: &str) -> (bool, i64, String) {
    let started = Instant::now();
    let result = probe(egress, source_type, connection).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match result {
        Ok(probe) => (true, latency_ms, probe.message),
        Err(message) => (false, latency_ms, message),
    }
}

async fn timed<T>(what: &str, future: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STEP_TIMEOUT, future)
        .await
        .map_err(|_| format!("{what} timed out after {} s", STEP_TIMEOUT.as_secs()))
}

async fn database(egress: &Egress, connection: &str) -> Result<Probe, String> {
    let rows: Vec<(String, String, String)> = if connection.starts_with("postgres://")
        || connection.starts_with("postgresql://")
    {
        let (mut db, _permit) = postgres(egress, connection).await?;
        let query = "SELECT table_schema || '.' || table_name, column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY table_schema, table_name, ordinal_position";
        let rows = timed("reading the schema", sqlx::query_as(query).fetch_all(&mut db))
            .await?
            .map_err(|e| format!("cannot read the schema: {e}"))?;
        let _ = db.close().await;
        rows
    } else if let Some(rest) = connection.strip_prefix("sqlite://").or_else(|| connection.strip_prefix("sqlite:")) {
        // The file, without the URL's options: a sync opens it read-only, whatever they say.
        let path = rest.split('?').next().unwrap_or(rest);
        let path = egress.database_file(path).await.map_err(|e| e.to_string())?;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
        let mut db = timed("opening", sqlx::SqliteConnection::connect_with(&options))
            .await?
            .map_err(|e| format!("cannot open SQLite database: {e}"))?;
        let query = "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid";
        let rows = timed("reading the schema", sqlx::query_as(query).fetch_all(&mut db))
            .await?
            .map_err(|e| format!("cannot read the schema: {e}"))?;
        let _ = db.close().await;
        rows
    } else {
        return Err("database sources need a postgres:// or sqlite:// connection string".to_owned());
    };
    let mut tables: Map<String, Value> = Map::new();
    for (table, column, data_type) in rows {
        let columns = tables.entry(table).or_insert_with(|| json!([]));
        if let Value::Array(columns) = columns {
            columns.push(json!({"name": column, "type": data_type}));
        }
    }
    let count = tables.len();
    Ok(Probe { message: format!("read {count} table(s)"), schema: Some(json!({"tables": tables})) })
}

/// Connects to the PostgreSQL server of `connection` at an address the egress policy allowed.
/// The URL is taken apart here rather than by sqlx's parser, which would resolve the name
/// itself and log the value of any parameter it does not know (`?api_key=…`). Only the user,
/// password, database, `sslmode` and `application_name` are passed on; the service's own
/// `PGPASSWORD` never fills a gap (it is not sent to a source's server).
async fn postgres(egress: &Egress, connection: &str) -> Result<(sqlx::PgConnection, HostPermit), String> {
    let url = url::Url::parse(connection).map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("PostgreSQL sources need a host: postgres://user@host/database")?;
    let port = url.port().unwrap_or(5432);
    let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    let user = match url.username() {
        "" => "postgres".to_owned(),
        user => decode(user),
    };
    let password = url.password().map(decode).unwrap_or_default();
    let database = match url.path().trim_start_matches('/') {
        "" => user.clone(),
        path => decode(path),
    };
    let mut ssl_mode = None;
    let mut application_name = None;
    for (name, value) in url.query_pairs() {
        match &*name {
            "sslmode" => {
                ssl_mode = Some(sqlx::postgres::PgSslMode::from_str(&value).map_err(|_| "unknown sslmode".to_owned())?)
            }
            "application_name" => application_name = Some(value.into_owned()),
            _ => {}
        }
    }
    let reservation = egress.reserve(host, port).await.map_err(|e| e.to_string())?;
    let mut last_error = String::new();
    for addr in &reservation.addrs {
        let mut options = sqlx::postgres::PgConnectOptions::new_without_pgpass()
            .host(&addr.ip().to_string())
            .port(addr.port())
            .username(&user)
            .password(&password)
            .database(&database);
        if let Some(mode) = ssl_mode {
            options = options.ssl_mode(mode);
        }
        if let Some(name) = &application_name {
            options = options.application_name(name);
        }
        match timed("connecting", sqlx::PgConnection::connect_with(&options)).await {
            // The host's place is held as long as the connection.
            Ok(Ok(db)) => return Ok((db, reservation.permit)),
            Ok(Err(e)) => last_error = format!("cannot connect to PostgreSQL at {addr}: {e}"),
            Err(timeout) => last_error = timeout,
        }
    }
    Err(last_error)
}

async fn api(egress: &Egress, connection: &str) -> Result<Probe, String> {
    let response = egress.http_get(connection).await.map_err(|e| e.to_string())?;
    let (status, content_type, body) = (response.status, response.content_type, response.body);
    let shape = serde_json::from_slice::<Value>(&body).ok().map(|value| shape_of(&value));
    let schema = json!({"status": status, "content_type": content_type, "size_bytes": body.len(), "shape": shape});
    if !(200..300).contains(&status) {
        return Err(format!("the API answered HTTP {status}"));
    }
    Ok(Probe { message: format!("HTTP {status}, {} bytes of {content_type}", body.len()), schema: Some(schema) })
}

/// The JSON "shape" of a value: types instead of values, arrays by their first element.
fn shape_of(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!("integer"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => json!([items.first().map_or(json!("unknown"), shape_of)]),
        Value::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), shape_of(v))).collect()),
    }
}

async fn file(egress: &Egress, connection: &str) -> Result<Probe, String> {
    let path = connection.strip_prefix("file://").unwrap_or(connection);
    let lower = path.to_ascii_lowercase();
    if ![".csv", ".ndjson", ".jsonl", ".json"].iter().any(|extension| lower.ends_with(extension)) {
        return Err("file sources must be .csv, .json or .ndjson".to_owned());
    }
    let bytes = egress.read_file(path).await.map_err(|e| e.to_string())?;
    let (format, columns, rows) = if lower.ends_with(".csv") {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes.as_slice());
        let header: Vec<String> =
            reader.headers().map_err(|e| format!("invalid CSV: {e}"))?.iter().map(str::to_owned).collect();
        if header.is_empty() {
            return Err("the CSV file is empty".to_owned());
        }
        let records: Vec<csv::StringRecord> = reader
            .records()
            .filter(|record| record.as_ref().map_or(true, |r| r.iter().any(|field| !field.is_empty())))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("invalid CSV: {e}"))?;
        let columns = header
            .iter()
            .enumerate()
            .map(|(i, name)| json!({"name": name, "type": csv_type(records.iter().filter_map(|r| r.get(i)))}))
            .collect::<Vec<_>>();
        ("csv", columns, records.len())
    } else {
        let text = String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_owned())?;
        if lower.ends_with(".json") {
            let value: Value = serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))?;
            let records = match value {
                Value::Array(items) => items,
                other => vec![other],
            };
            ("json", object_columns(&records), records.len())
        } else {
            let records: Vec<Value> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("invalid NDJSON: {e}"))?;
            ("ndjson", object_columns(&records), records.len())
        }
    };
    Ok(Probe {
        message: format!("read {rows} record(s) with {} column(s) from a {format} file", columns.len()),
        schema: Some(json!({"format": format, "columns": columns, "rows": rows})),
    })
}

fn csv_type<'a>(values: impl Iterator<Item = &'a str>) -> &'static str {
    let values: Vec<&str> = values.filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        "unknown"
    } else if values.iter().all(|v| v.parse::<i64>().is_ok()) {
        "integer"
    } else if values.iter().all(|v| v.parse::<f64>().is_ok()) {
        "number"
    } else if values.iter().all(|v| matches!(*v, "true" | "false")) {
        "boolean"
    } else {
        "string"
    }
}

fn object_columns(records: &[Value]) -> Vec<Value> {
    let mut columns: Vec<(String, Value)> = Vec::new();
    for record in records {
        if let Value::Object(members) = record {
            for (key, value) in members {
                if !columns.iter().any(|(name, _)| name == key) {
                    columns.push((key.clone(), shape_of(value)));
                }
            }
        }
    }
    columns.into_iter().map(|(name, shape)| json!({"name": name, "type": shape})).collect()
}

async fn stream(egress: &Egress, connection: &str) -> Result<Probe, String> {
    let url =
        url::Url::parse(connection).map_err(|_| "stream sources need a URL such as nats://host:4222".to_owned())?;
    let scheme = url.scheme().to_owned();
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the stream URL has no host")?;
    let default_port = match scheme.as_str() {
        "nats" => Some(4222),
        "kafka" => Some(9092),
        "amqp" => Some(5672),
        "mqtt" => Some(1883),
        "redis" => Some(6379),
        _ => None,
    };
    let port = url.port().or(default_port).ok_or("the stream URL needs a port")?;
    let (tcp, _permit) = egress.connect_tcp(host, port).await.map_err(|e| e.to_string())?;
    let address = tcp.peer_addr().map_or_else(|_| format!("{host}:{port}"), |addr| addr.to_string());
    if scheme == "nats" {
        // A NATS server greets every client with `INFO {json}`; a line is read up to 64 KiB.
        let mut line = String::new();
        let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(tcp, 64 * 1024));
        timed("waiting for the server's INFO", reader.read_line(&mut line))
            .await?
            .map_err(|e| format!("the broker closed the connection: {e}"))?;
        let info: Value = line
            .strip_prefix("INFO ")
            .and_then(|json| serde_json::from_str(json.trim()).ok())
            .ok_or("the broker did not answer like a NATS server")?;
        let version = info["version"].as_str().unwrap_or("unknown").to_owned();
        return Ok(Probe {
            message: format!("NATS server {version} reachable at {address}"),
            schema: Some(json!({"broker": "nats", "version": version, "jetstream": info["jetstream"]})),
        });
    }
    Ok(Probe { message: format!("broker reachable at {address}"), schema: Some(json!({"broker": scheme})) })
}
