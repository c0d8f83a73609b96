//! What `sync` and `test` do for each kind of source: they really reach it.
//!
//! - `database`: connects (PostgreSQL, SQLite) and reads every table's columns.
//! - `api`: `GET`s the URL and records status, content type, size and, for JSON, its shape.
//! - `file`: reads a local CSV, JSON or NDJSON file and infers column names and types.
//! - `stream`: connects to the broker (`nats://`, `kafka://`, `amqp://`, `mqtt://`, `tcp://`);
//!   NATS also answers with its server info.
//! - `webhook`: push-based, so there is nothing to pull; said plainly, not as a failure.
//!
//! Every step has a timeout, and no message ever contains the connection string's
//! credentials.

use std::time::{Duration, Instant};

use entity_spec::__private::serde_json::{self, Map, Value, json};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long one connection step may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// What reaching a source found.
pub struct Probe {
    /// One line for the run history and `test`.
    pub message: String,
    /// What was learned about the source's shape, for `schema_definition`.
    pub schema: Option<Value>,
}

/// Reaches the source: the shared step of `sync` and `test`.
pub async fn probe(source_type: Option<&str>, connection: &str) -> Result<Probe, String> {
    let work = async {
        match source_type {
            Some("database") => database(connection).await,
            Some("api") => api(connection).await,
            Some("file") => file(connection).await,
            Some("stream") => stream(connection).await,
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
pub async fn test(source_type: Option<&str>, connection: &str) -> (bool, i64, String) {
    let started = Instant::now();
    let result = probe(source_type, connection).await;
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

async fn database(connection: &str) -> Result<Probe, String> {
    let rows: Vec<(String, String, String)> = if connection.starts_with("postgres://")
        || connection.starts_with("postgresql://")
    {
        let mut db = timed("connecting", sqlx::PgConnection::connect(connection))
            .await?
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
        let query = "SELECT table_schema || '.' || table_name, column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY table_schema, table_name, ordinal_position";
        let rows = timed("reading the schema", sqlx::query_as(query).fetch_all(&mut db))
            .await?
            .map_err(|e| format!("cannot read the schema: {e}"))?;
        let _ = db.close().await;
        rows
    } else if connection.starts_with("sqlite:") {
        // Read-only: a sync must never create or change the source.
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(connection)
            .map_err(|e| format!("invalid SQLite URL: {e}"))?
            .read_only(true)
            .create_if_missing(false);
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

async fn api(connection: &str) -> Result<Probe, String> {
    let rest = connection
        .strip_prefix("http://")
        .ok_or("api sources are fetched over http:// (this build has no TLS client)")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let address = if host.contains(':') { host.to_owned() } else { format!("{host}:80") };
    let mut stream = timed("connecting", TcpStream::connect(&address))
        .await?
        .map_err(|e| format!("cannot connect to {host}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json, */*\r\nConnection: close\r\nUser-Agent: entity-spec-sync\r\n\r\n"
    );
    timed("sending the request", stream.write_all(request.as_bytes()))
        .await?
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut response = Vec::new();
    // Bounded: a source that streams forever must not fill memory.
    timed("reading the response", (&mut stream).take(16 * 1024 * 1024).read_to_end(&mut response))
        .await?
        .map_err(|e| format!("cannot read the response: {e}"))?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or("the response is not HTTP")?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = &response[split + 4..];
    let status: u16 =
        head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("the response has no status")?;
    let content_type = head
        .lines()
        .find_map(|line| {
            line.split_once(':')
                .filter(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    let shape = serde_json::from_slice::<Value>(body).ok().map(|value| shape_of(&value));
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

async fn file(connection: &str) -> Result<Probe, String> {
    let path = connection.strip_prefix("file://").unwrap_or(connection);
    let text = timed("reading the file", tokio::fs::read_to_string(path))
        .await?
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let lower = path.to_ascii_lowercase();
    let (format, columns, rows) = if lower.ends_with(".csv") {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .ok_or("the CSV file is empty")?
            .split(',')
            .map(|h| h.trim().trim_matches('"').to_owned())
            .collect();
        let records: Vec<Vec<String>> =
            lines.map(|l| l.split(',').map(|c| c.trim().trim_matches('"').to_owned()).collect()).collect();
        let columns = header
            .iter()
            .enumerate()
            .map(|(i, name)| json!({"name": name, "type": csv_type(records.iter().filter_map(|r| r.get(i)).map(String::as_str))}))
            .collect::<Vec<_>>();
        ("csv", columns, records.len())
    } else if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
        let records: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("invalid NDJSON: {e}"))?;
        ("ndjson", object_columns(&records), records.len())
    } else if lower.ends_with(".json") {
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))?;
        let records = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        ("json", object_columns(&records), records.len())
    } else {
        return Err("file sources must be .csv, .json or .ndjson".to_owned());
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

async fn stream(connection: &str) -> Result<Probe, String> {
    let (scheme, rest) = connection.split_once("://").ok_or("stream sources need a URL such as nats://host:4222")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let default_port = match scheme {
        "nats" => 4222,
        "kafka" => 9092,
        "amqp" => 5672,
        "mqtt" => 1883,
        "redis" => 6379,
        _ => 0,
    };
    let address = if host.contains(':') {
        host.to_owned()
    } else if default_port > 0 {
        format!("{host}:{default_port}")
    } else {
        return Err("the stream URL needs a port".to_owned());
    };
    let tcp = timed("connecting", TcpStream::connect(&address))
        .await?
        .map_err(|e| format!("cannot reach the broker at {address}: {e}"))?;
    if scheme == "nats" {
        // A NATS server greets every client with `INFO {json}`.
        let mut line = String::new();
        timed("waiting for the server's INFO", BufReader::new(tcp).read_line(&mut line))
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
