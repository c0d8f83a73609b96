//! HTTP routes of custom actions: tracked runs (queue one, queue all active, history) and
//! plain actions answered by the user's implementation.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::http::problem::ApiError;
use crate::model::value::SqlValue;
use crate::runs::engine::Engine;
use crate::runs::history::{get_run, history};
use crate::runs::queue::{Enqueued, enqueue, enqueue_all};
use crate::runs::status::Trigger;
use crate::runs::table::Run;
use crate::storage::db::Db;
use crate::storage::entity::Entity;
use crate::storage::store;

/// Routes of an entity's tracked action: `POST {path}/{id}/{run}` queues a run (202),
/// `GET {path}/{id}/{history}` lists its runs newest first, `GET …/{history}/{run_id}` shows
/// one, and when `all` is given, `POST {path}/{all}` queues every active item (202).
pub fn tracked_routes<E: Entity>(
    engine: Arc<Engine<E>>,
    action: &'static str,
    run: &str,
    history: &str,
    all: Option<&str>,
) -> Router {
    let path = E::DEF.collection_path;
    let mut router = Router::new()
        .route(
            &format!("{path}/{{id}}/{run}"),
            post(move |State(engine): State<Arc<Engine<E>>>, Path(id): Path<String>| trigger::<E>(engine, id, action)),
        )
        .route(&format!("{path}/{{id}}/{history}"), get(list_runs::<E>))
        .route(&format!("{path}/{{id}}/{history}/{{run_id}}"), get(read_run::<E>));
    if let Some(all) = all {
        router = router.route(
            &format!("{path}/{all}"),
            post(move |State(engine): State<Arc<Engine<E>>>| trigger_all::<E>(engine, action)),
        );
    }
    router.with_state(engine)
}

async fn item<E: Entity>(db: &Db, id: &str) -> Result<store::Versioned<E>, ApiError> {
    let key = Uuid::parse_str(id).map_err(|_| ApiError::not_found(E::DEF.name, id))?;
    store::get::<E>(db, key)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found(E::DEF.name, id))
}

async fn trigger<E: Entity>(engine: Arc<Engine<E>>, id: String, action: &'static str) -> Result<Response, ApiError> {
    let stored = item::<E>(engine.db(), &id).await?;
    if let Some(active) = E::DEF.tracking.and_then(|t| t.active) {
        let index = E::DEF.position(active).unwrap_or(0);
        if stored.entity.to_row().get(index) == Some(&SqlValue::Bool(false)) {
            return Err(ApiError::conflict(
                "inactive",
                format!(
                    "this {} is inactive (`{active}` is false); activate it before running `{action}`",
                    E::DEF.name
                ),
            ));
        }
    }
    match enqueue(engine.db(), E::DEF, stored.entity.id(), action, Trigger::Manual).await {
        Ok(Enqueued::Queued(run)) => {
            engine.wake();
            let mut response = (StatusCode::ACCEPTED, json_bytes(&run)).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
        Ok(Enqueued::AlreadyActive) => Err(ApiError::conflict(
            "already-running",
            format!("a `{action}` of this {} is already queued or running; wait for it to finish", E::DEF.name),
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

#[derive(Serialize)]
struct Queued {
    queued: u64,
}

async fn trigger_all<E: Entity>(engine: Arc<Engine<E>>, action: &'static str) -> Result<Response, ApiError> {
    let queued =
        enqueue_all(engine.db(), E::DEF, action, Trigger::SyncAll).await.map_err(|e| ApiError::internal(&e))?;
    engine.wake();
    let mut response = (StatusCode::ACCEPTED, json_bytes(&Queued { queued })).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[derive(Serialize)]
struct RunPage {
    items: Vec<Run>,
    total: i64,
}

async fn list_runs<E: Entity>(
    State(engine): State<Arc<Engine<E>>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let stored = item::<E>(engine.db(), &id).await?;
    let (mut limit, mut offset) = (crate::http::params::DEFAULT_LIMIT, 0u64);
    for (key, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "limit" => {
                limit = value.parse().ok().filter(|l| (1..=crate::http::params::MAX_LIMIT).contains(l)).ok_or_else(
                    || {
                        ApiError::invalid_parameter(
                            "limit",
                            "invalid",
                            format!("must be an integer from 1 to {}", crate::http::params::MAX_LIMIT),
                        )
                    },
                )?;
            }
            "offset" => {
                offset = value.parse().map_err(|_| {
                    ApiError::invalid_parameter("offset", "invalid", "must be a non-negative integer".to_owned())
                })?;
            }
            other => {
                return Err(ApiError::invalid_parameter(
                    other,
                    "unknown_parameter",
                    "unknown query parameter; valid: limit, offset".to_owned(),
                ));
            }
        }
    }
    let (items, total) =
        history(engine.db(), E::DEF, stored.entity.id(), limit, offset).await.map_err(|e| ApiError::internal(&e))?;
    Ok(json_response(StatusCode::OK, &RunPage { items, total }))
}

async fn read_run<E: Entity>(
    State(engine): State<Arc<Engine<E>>>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let stored = item::<E>(engine.db(), &id).await?;
    let run_key = Uuid::parse_str(&run_id).map_err(|_| ApiError::not_found("run", &run_id))?;
    match get_run(engine.db(), E::DEF, stored.entity.id(), run_key).await.map_err(|e| ApiError::internal(&e))? {
        Some(run) => Ok(json_response(StatusCode::OK, &run)),
        None => Err(ApiError::not_found("run", &run_id)),
    }
}

/// A plain item action: `method {path}/{id}/{segment}`, with an optional JSON request body
/// (checked like entity bodies against `request`; `()` without one), answered by `handler`.
pub fn item_action<E, Req, Resp, F, Fut>(
    db: Db,
    method: MethodFilter,
    request: Option<&'static crate::model::def::EntityDef>,
    handler: F,
) -> MethodRouter
where
    E: Entity,
    Req: DeserializeOwned + crate::model::validation::Validate + Send + 'static,
    Resp: Serialize + 'static,
    F: Fn(E, Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ApiError>> + Send + 'static,
{
    on(method, move |Path(id): Path<String>, headers: HeaderMap, body: Result<Bytes, BytesRejection>| {
        let (db, handler) = (db.clone(), handler.clone());
        async move {
            let stored = item::<E>(&db, &id).await?;
            let input = parse_request::<Req>(request, &headers, body)?;
            let output = handler(stored.entity, input).await?;
            Ok::<Response, ApiError>(json_response(StatusCode::OK, &output))
        }
    })
}

/// A plain collection action: `method {path}/{segment}`, answered by `handler`.
pub fn collection_action<Req, Resp, F, Fut>(
    method: MethodFilter,
    request: Option<&'static crate::model::def::EntityDef>,
    handler: F,
) -> MethodRouter
where
    Req: DeserializeOwned + crate::model::validation::Validate + Send + 'static,
    Resp: Serialize + 'static,
    F: Fn(Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ApiError>> + Send + 'static,
{
    on(method, move |headers: HeaderMap, body: Result<Bytes, BytesRejection>| {
        let handler = handler.clone();
        async move {
            let input = parse_request::<Req>(request, &headers, body)?;
            let output = handler(input).await?;
            Ok::<Response, ApiError>(json_response(StatusCode::OK, &output))
        }
    })
}

/// The request body as `Req`; actions without a body take `()`, read from nothing.
fn parse_request<Req: DeserializeOwned + crate::model::validation::Validate>(
    request: Option<&'static crate::model::def::EntityDef>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Req, ApiError> {
    let Some(def) = request else {
        return serde_json::from_value(serde_json::Value::Null).map_err(|e| ApiError::internal(&e));
    };
    crate::http::bodies::require_json(headers, false)?;
    let bytes = crate::http::bodies::body_bytes(body)?;
    crate::http::bodies::parse_body::<Req>(def, &bytes, crate::http::bodies::BodyKind::Create)
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut response = (status, json_bytes(value)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
