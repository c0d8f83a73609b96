//! HTTP routes of custom actions: tracked runs (queue one, queue all active, history) and
//! plain actions answered by the user's implementation. Bodies, responses and errors go
//! through the same code as the entity routes.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use entity_spec_contract::limits::DEFAULT_ACTION_CONCURRENCY;
use entity_spec_contract::runs::RunTrigger;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::http::entity_routes::find_owned;
use crate::http::guard::Caller;
use crate::http::params::{PathParams, parse_paging};
use crate::http::problem::ApiError;
use crate::http::responses::json;
use crate::model::value::SqlValue;
use crate::runs::engine::Engine;
use crate::runs::history::{get_run, history};
use crate::runs::queue::{Enqueued, enqueue, enqueue_all};
use crate::runs::table::Run;
use crate::storage::audit;
use crate::storage::db::Db;
use crate::storage::entity::Entity;
use crate::storage::store::Sensitive;

/// Records that `caller` ran `action`. The action already happened, so a failure to record
/// it is logged rather than answered.
async fn record_action(db: &Db, caller: &Caller, entity: &str, id: Option<Uuid>, action: &str) {
    let Some(record) = caller.audit(entity, id, action, Vec::new) else { return };
    if let Err(e) = audit::record(db, &record).await {
        tracing::error!(cause = %e, entity, action, "could not store the audit row of an action");
    }
}

/// Queues a run of the tracked `action` on one item: `202` with the run.
pub(crate) async fn trigger<E: Entity>(
    engine: Arc<Engine<E>>,
    caller: Caller,
    id: String,
    action: &'static str,
) -> Result<Response, ApiError> {
    let stored = find_owned::<E>(engine.db(), &caller, &id, Sensitive::Leave).await?;
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
    match enqueue(engine.db(), E::DEF, stored.entity.id(), action, RunTrigger::Manual).await {
        Ok(Enqueued::Queued(run)) => {
            engine.wake();
            record_action(engine.db(), &caller, E::DEF.name, Some(run.item_id), action).await;
            Ok(json(StatusCode::ACCEPTED, &run, None))
        }
        Ok(Enqueued::AlreadyActive) => Err(ApiError::conflict(
            "already-running",
            format!("a `{action}` of this {} is already queued or running; wait for it to finish", E::DEF.name),
        )),
        Err(error) => Err(ApiError::from_database(error)),
    }
}

#[derive(Serialize)]
struct Queued {
    queued: u64,
}

/// Queues the tracked action `tracked` for every active item (the runs-all action `name`):
/// `202 {"queued": N}`.
pub(crate) async fn trigger_all<E: Entity>(
    engine: Arc<Engine<E>>,
    caller: Caller,
    name: &'static str,
    tracked: &'static str,
) -> Result<Response, ApiError> {
    let owner = caller.owner_scope(E::DEF);
    let queued =
        enqueue_all(engine.db(), E::DEF, tracked, RunTrigger::SyncAll, owner).await.map_err(ApiError::from_database)?;
    engine.wake();
    record_action(engine.db(), &caller, E::DEF.name, None, name).await;
    Ok(json(StatusCode::ACCEPTED, &Queued { queued }, None))
}

#[derive(Serialize)]
struct RunPage {
    items: Vec<Run>,
    total: i64,
}

/// The runs of one item, newest first.
pub(crate) async fn list_runs<E: Entity>(
    State(engine): State<Arc<Engine<E>>>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let stored = find_owned::<E>(engine.db(), &caller, &id, Sensitive::Leave).await?;
    let page = parse_paging(query.as_deref())?;
    let (items, total) =
        history(engine.db(), E::DEF, stored.entity.id(), page).await.map_err(ApiError::from_database)?;
    Ok(json(StatusCode::OK, &RunPage { items, total }, None))
}

/// One run of one item.
pub(crate) async fn read_run<E: Entity>(
    State(engine): State<Arc<Engine<E>>>,
    caller: Caller,
    PathParams((id, run_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let stored = find_owned::<E>(engine.db(), &caller, &id, Sensitive::Leave).await?;
    let run_key = Uuid::parse_str(&run_id).map_err(|_| ApiError::not_found("run", &run_id))?;
    match get_run(engine.db(), E::DEF, stored.entity.id(), run_key).await.map_err(ApiError::from_database)? {
        Some(run) => Ok(json(StatusCode::OK, &run, None)),
        None => Err(ApiError::not_found("run", &run_id)),
    }
}

/// Seconds a refused caller is told to wait: plain actions are expected to take seconds.
const ACTION_RETRY_AFTER_SECS: u32 = 1;

/// Calls of one plain (untracked) action served at once.
pub const ACTION_CONCURRENCY_VAR: &str = "ENTITY_SPEC_ACTION_CONCURRENCY";

/// The bound of one plain action ([`DEFAULT_ACTION_CONCURRENCY`] calls at once unless
/// `ENTITY_SPEC_ACTION_CONCURRENCY` says otherwise): a call beyond it is a 429 at once, never a
/// queue. Plain actions usually reach outside (a connection test holds an outbound connection
/// for seconds); without a bound, a burst holds as many connections as clients care to open.
#[derive(Clone)]
struct ActionLimit {
    permits: Arc<tokio::sync::Semaphore>,
    limit: usize,
    what: &'static str,
}

impl ActionLimit {
    fn from_env(what: &'static str) -> Self {
        let limit = std::env::var(ACTION_CONCURRENCY_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_ACTION_CONCURRENCY);
        ActionLimit { permits: Arc::new(tokio::sync::Semaphore::new(limit)), limit, what }
    }

    fn enter(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::too_many_requests(&format!("`{}`", self.what), self.limit, ACTION_RETRY_AFTER_SECS))
    }
}

/// A plain item action: `method {path}/{id}/{segment}`, with an optional JSON request body
/// (checked like entity bodies against `request`; `()` without one), answered by `handler`.
pub fn item_action<E, Req, Resp, F, Fut>(
    db: Db,
    name: &'static str,
    method: MethodFilter,
    request: Option<&'static crate::model::def::EntityDef>,
    handler: F,
) -> MethodRouter
where
    E: Entity,
    Req: DeserializeOwned + crate::model::validation::Validate + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(E, Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ApiError>> + Send + 'static,
{
    let limit = ActionLimit::from_env(name);
    on(
        method,
        move |caller: Caller,
              PathParams(id): PathParams<String>,
              headers: HeaderMap,
              body: Result<Bytes, BytesRejection>| {
            let (db, handler, limit) = (db.clone(), handler.clone(), limit.clone());
            async move {
                // The action's handler gets the item whole, sensitive fields included.
                let stored = find_owned::<E>(&db, &caller, &id, Sensitive::Open).await?;
                let input = parse_request::<Req>(request, &headers, body)?;
                let item = stored.entity.id();
                let permit = limit.enter()?;
                let output = handler(stored.entity, input).await?;
                drop(permit);
                record_action(&db, &caller, E::DEF.name, Some(item), name).await;
                Ok::<Response, ApiError>(json(StatusCode::OK, &output, None))
            }
        },
    )
}

/// A plain collection action of `entity`: `method {path}/{segment}`, answered by `handler`.
pub fn collection_action<Req, Resp, F, Fut>(
    db: Db,
    entity: &'static str,
    name: &'static str,
    method: MethodFilter,
    request: Option<&'static crate::model::def::EntityDef>,
    handler: F,
) -> MethodRouter
where
    Req: DeserializeOwned + crate::model::validation::Validate + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ApiError>> + Send + 'static,
{
    let limit = ActionLimit::from_env(name);
    on(method, move |caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>| {
        let (db, handler, limit) = (db.clone(), handler.clone(), limit.clone());
        async move {
            let input = parse_request::<Req>(request, &headers, body)?;
            let permit = limit.enter()?;
            let output = handler(input).await?;
            drop(permit);
            record_action(&db, &caller, entity, None, name).await;
            Ok::<Response, ApiError>(json(StatusCode::OK, &output, None))
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    use super::*;
    use crate::auth::principal::Principal;

    /// A response value that cannot be written as JSON (a map with non-string keys, say).
    struct Unserializable;

    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("not representable as JSON"))
        }
    }

    #[tokio::test]
    async fn a_response_that_cannot_be_serialized_is_a_problem_not_an_empty_body() {
        // The action fails before its audit row, so the database stays empty.
        let file = std::env::temp_dir().join(format!("entity-spec-action-test-{}.db", Uuid::now_v7()));
        let db = Db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
        let action = collection_action::<(), Unserializable, _, _>(
            db.clone(),
            "Thing",
            "export",
            MethodFilter::POST,
            None,
            |()| async { Ok(Unserializable) },
        );
        let app = axum::Router::new().route("/things/export", action);
        let mut request = Request::builder().method("POST").uri("/things/export").body(Body::empty()).unwrap();
        let caller =
            Caller { principal: Principal::anonymous(), client: None, request_id: "test".to_owned(), audited: true };
        request.extensions_mut().insert(caller);
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], crate::http::problem::PROBLEM_JSON);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["type"], "urn:entity-spec:problem:internal-error");
        db.close().await;
        for suffix in ["", "-wal", "-shm", ".key"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}
