//! The handlers of an entity's own routes: list, statistics, create, read, replace,
//! merge-patch, delete, written once for every [`Entity`] (mounted by `http::router`).
//!
//! Every write stores an audit row naming its caller and the fields it changed, atomically
//! with the write. Writes are compare-and-swap on the hidden version: with `If-Match` a stale
//! version is a `412`; without it a concurrent write is retried on the fresh row, so a PATCH
//! never loses a change made between its read and its write.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity_spec_contract::Permission;
use entity_spec_contract::limits::RECENT_FAILURES;
use entity_spec_contract::lists::ListFormat;
use serde::Serialize;
use uuid::Uuid;

use crate::http::bodies::{BodyKind, body_bytes, parse_body, parse_merge_patch, require_json};
use crate::http::csv_export::{self, accepted_list_format};
use crate::http::expansions::{embeds, expand_one, expanded_page};
use crate::http::guard::Caller;
use crate::http::params::{PathParams, parse_list_query, parse_read_query, parse_stats_query};
use crate::http::preconditions::{if_match, if_none_match};
use crate::http::problem::ApiError;
use crate::http::responses::{etag, json};
use crate::http::strict_json;
use crate::model::def::{EntityDef, FieldDef, Setter};
use crate::model::list_query::{Filter, FilterOp, ListQuery};
use crate::model::timestamp::now;
use crate::model::value::SqlValue;
use crate::runs::history::{Activity, activity};
use crate::storage::db::Db;
use crate::storage::embedded::referenced_rows;
use crate::storage::entity::Entity;
use crate::storage::stats::counts;
use crate::storage::store::{self, Sensitive, Versioned};

/// How often a write without `If-Match` is retried when another write got in between.
const WRITE_ATTEMPTS: usize = 5;

#[derive(Serialize)]
struct ListBody<E> {
    items: Vec<E>,
    /// `null` with `count=none`.
    total: Option<i64>,
    next_cursor: Option<String>,
}

pub(crate) async fn list<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_list_query(E::DEF, query.as_deref(), accepted_list_format(&headers))?;
    answer_list::<E>(db, caller, query).await
}

/// `GET {parent_path}/{id}/{segment}`: the list of `E`'s rows whose `field` refers to the
/// referenced entity's item `id`. The caller needs that entity's read scope too (the route's
/// guard checked `E`'s), and an item it cannot see is a 404 like a missing one.
pub(crate) async fn list_nested<E: Entity>(
    db: Db,
    caller: Caller,
    field: &'static FieldDef,
    id: String,
    headers: HeaderMap,
    query: Option<String>,
) -> Result<Response, ApiError> {
    let Some(reference) = &field.references else { return Err(ApiError::no_route(E::DEF.collection_path)) };
    let parent = (reference.target)();
    let scope = parent.scopes.required(&Permission::Read);
    if !caller.may(&parent.scopes, scope) {
        return Err(ApiError::forbidden(scope));
    }
    let mut query = parse_list_query(E::DEF, query.as_deref(), accepted_list_format(&headers))?;
    let parent_id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found(parent.name, &id))?;
    let visible = referenced_rows(&db, parent, &[parent_id], caller.owner_scope(parent))
        .await
        .map_err(ApiError::from_database)?;
    if visible.is_empty() {
        return Err(ApiError::not_found(parent.name, &id));
    }
    query.filters.push(Filter { field, op: FilterOp::Eq(SqlValue::Uuid(parent_id)) });
    answer_list::<E>(db, caller, query).await
}

/// A list's answer: a JSON page (its references expanded as asked) or a CSV export, of the
/// caller's own rows where rows are owned.
async fn answer_list<E: Entity>(db: Db, caller: Caller, mut query: ListQuery) -> Result<Response, ApiError> {
    query.filters.extend(owner_filter(E::DEF, &caller));
    if query.format == ListFormat::Csv {
        return csv_export::export::<E>(db, caller, query).await;
    }
    let embeds = embeds(&caller, &query.expand)?;
    let page = store::list::<E>(&db, &query, &embeds).await.map_err(|e| ApiError::from_store(E::DEF.name, e))?;
    let next_cursor = page.next.as_ref().map(|position| query.cursor_after(position));
    if embeds.is_empty() {
        return Ok(json(StatusCode::OK, &ListBody { items: page.items, total: page.total, next_cursor }, None));
    }
    let items = expanded_page(&page.items, page.embedded, &embeds);
    Ok(json(StatusCode::OK, &ListBody { items, total: page.total, next_cursor }, None))
}

/// The body of `GET {path}/stats`.
#[derive(Debug, Serialize)]
struct StatsBody {
    /// Items matching the filters.
    total: i64,
    /// Per grouped field, the count of matching items per value (see `storage::stats`).
    counts: BTreeMap<&'static str, BTreeMap<String, i64>>,
    /// Queued and running runs of the entity, and its newest failures (entities with a
    /// tracked action only; not narrowed by the filters).
    #[serde(skip_serializing_if = "Option::is_none")]
    runs: Option<Activity>,
}

pub(crate) async fn stats<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (search, mut filters) = parse_stats_query(E::DEF, query.as_deref())?;
    filters.extend(owner_filter(E::DEF, &caller));
    let counted = counts(&db, E::DEF, search.as_ref(), &filters).await.map_err(ApiError::from_database)?;
    // The run activity covers every row (its failures carry other owners' messages): shown
    // only to callers who see every row.
    let runs = match E::DEF.tracked_action() {
        Some(_) if caller.owner_scope(E::DEF).is_none() => {
            Some(activity(&db, E::DEF, RECENT_FAILURES).await.map_err(ApiError::from_database)?)
        }
        _ => None,
    };
    Ok(json(StatusCode::OK, &StatsBody { total: counted.total, counts: counted.counts, runs }, None))
}

pub(crate) async fn create<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require_json(&headers, false)?;
    let input: E::Create = parse_body(E::DEF, &body_bytes(body)?, BodyKind::Create)?;
    let mut entity = E::from_create(input, Uuid::now_v7(), now());
    if E::DEF.owner.is_some() {
        entity.set_owner(&caller.principal.subject);
    }
    let audit = caller.audit(E::DEF.name, Some(entity.id()), "create", || changed_fields(None, &entity));
    let stored = store::insert(&db, &entity, audit.as_ref()).await.map_err(|e| ApiError::from_store(E::DEF.name, e))?;
    let mut response = json(StatusCode::CREATED, &stored.entity, Some(stored.version));
    let location = format!("{}/{}", E::DEF.collection_path, stored.entity.id());
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

pub(crate) async fn read<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    condition: IfNoneMatch,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let expansions = parse_read_query(E::DEF, query.as_deref())?;
    let stored = find_owned::<E>(&db, &caller, &id, Sensitive::Leave).await?;
    if expansions.is_empty() {
        if if_none_match(condition.0.as_ref(), stored.version) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            response.headers_mut().insert(header::ETAG, etag(stored.version));
            return Ok(response);
        }
        return Ok(json(StatusCode::OK, &stored.entity, Some(stored.version)));
    }
    // The ETag stays the item's version (what `If-Match` compares), but embedded items change
    // without it, so an expanded read is never answered `304`.
    let embeds = embeds(&caller, &expansions)?;
    let expanded = expand_one(&db, &stored.entity, &embeds).await?;
    Ok(json(StatusCode::OK, &expanded, Some(stored.version)))
}

pub(crate) async fn replace<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // An unknown id (or another owner's) is a 404 whatever the body says.
    find_owned::<E>(&db, &caller, &id, Sensitive::Leave).await?;
    require_json(&headers, false)?;
    let update: E::Update = parse_body(E::DEF, &body_bytes(body)?, BodyKind::Replace)?;
    write_with_retry::<E>(&db, &caller, "replace", &id, &headers, |entity| {
        entity.apply_update(update.clone(), now());
        Ok(())
    })
    .await
}

pub(crate) async fn patch<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    find_owned::<E>(&db, &caller, &id, Sensitive::Leave).await?;
    require_json(&headers, true)?;
    let patch: serde_json::Value = strict_json::from_slice(&body_bytes(body)?)
        .map_err(|e| ApiError::malformed_body(format!("invalid JSON: {e}")))?;
    write_with_retry::<E>(&db, &caller, "patch", &id, &headers, |entity| {
        let current = serde_json::to_value(&*entity).map_err(|e| ApiError::internal(&e))?;
        let update: E::Update = parse_merge_patch(E::DEF, current, patch.clone())?;
        entity.apply_update(update, now());
        Ok(())
    })
    .await
}

pub(crate) async fn remove<E: Entity>(
    State(db): State<Db>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = parse_id::<E>(&id)?;
    let conditional = headers.contains_key(header::IF_MATCH);
    // One read answers both questions: whose row it is (owners never change, so a row found
    // owned here is still the caller's at the delete) and which version If-Match names.
    let stored = match conditional || caller.owner_scope(E::DEF).is_some() {
        true => Some(find_owned::<E>(&db, &caller, &id, Sensitive::Leave).await?),
        false => None,
    };
    // Judged only once the item is known to exist (RFC 9110 §13.2.1: a request that would be a
    // 404 without its preconditions is that 404).
    let condition = if_match(&headers)?;
    let expected = match (condition, stored) {
        (Some(condition), Some(stored)) => {
            if !condition.allows(stored.version) {
                return Err(ApiError::precondition_failed(E::DEF.name));
            }
            Some(stored.version)
        }
        _ => None,
    };
    let audit = caller.audit(E::DEF.name, Some(key), "delete", Vec::new);
    let deleted = store::delete(&db, E::DEF, key, expected, audit.as_ref())
        .await
        .map_err(|e| ApiError::from_store(E::DEF.name, e))?;
    match (deleted, expected) {
        (true, _) => Ok(StatusCode::NO_CONTENT.into_response()),
        (false, Some(_)) => Err(ApiError::precondition_failed(E::DEF.name)),
        (false, None) => Err(ApiError::not_found(E::DEF.name, &id)),
    }
}

/// Read, change, compare-and-swap; repeated when another write won the race and the client
/// did not pin a version with `If-Match`.
async fn write_with_retry<E: Entity>(
    db: &Db,
    caller: &Caller,
    operation: &str,
    id: &str,
    headers: &HeaderMap,
    mut change: impl FnMut(&mut E) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let Versioned { mut entity, version } = find_item::<E>(db, id, Sensitive::Open).await?;
        let before = entity.to_row();
        // The item, then the body, then the precondition: a request that is a 404 or whose body
        // is wrong is that 4xx whatever If-Match says (RFC 9110 §13.2.1 evaluates preconditions
        // only for requests that would otherwise succeed). Nothing is written before all pass.
        change(&mut entity)?;
        let condition = if_match(headers)?;
        if let Some(condition) = &condition
            && !condition.allows(version)
        {
            return Err(ApiError::precondition_failed(E::DEF.name));
        }
        let audit = caller.audit(E::DEF.name, Some(entity.id()), operation, || changed_fields(Some(before), &entity));
        if let Some(stored) = store::replace(db, &entity, version, audit.as_ref())
            .await
            .map_err(|e| ApiError::from_store(E::DEF.name, e))?
        {
            return Ok(json(StatusCode::OK, &stored.entity, Some(stored.version)));
        }
        if condition.is_some() {
            return Err(ApiError::precondition_failed(E::DEF.name));
        }
    }
    // The client set no precondition, so 412 would be wrong: this is write contention.
    Err(ApiError::concurrent_modification(E::DEF.name))
}

/// The names of the fields a write changed, for its audit row (values never: some are
/// secrets). A create names the client fields it gave a value; `auto_now` stamps, which every
/// write changes, are left out.
fn changed_fields<E: Entity>(before: Option<Vec<SqlValue>>, after: &E) -> Vec<String> {
    let after_row = after.to_row();
    let updated = before.is_some();
    let changed = |i: usize| match &before {
        Some(row) => row.get(i) != after_row.get(i),
        None => !matches!(after_row.get(i), None | Some(SqlValue::Null(_))),
    };
    E::DEF
        .fields
        .iter()
        .enumerate()
        .filter(|&(i, field)| match updated {
            true => field.setter != Setter::AutoNow && changed(i),
            false => field.setter == Setter::Client && changed(i),
        })
        .map(|(_, field)| field.name.to_owned())
        .collect()
}

fn parse_id<E: Entity>(id: &str) -> Result<Uuid, ApiError> {
    // A malformed id names nothing that could exist: 404, like an unknown one.
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(E::DEF.name, id))
}

/// The stored item `id` of `E`, its sensitive fields as `sensitive` says, or the error to
/// answer with: 404 for an unknown or malformed id, and the store's errors as
/// [`ApiError::from_store`] maps them. Action routes use it too.
pub async fn find_item<E: Entity>(db: &Db, id: &str, sensitive: Sensitive) -> Result<Versioned<E>, ApiError> {
    let key = parse_id::<E>(id)?;
    store::get_with::<E>(db, key, sensitive)
        .await
        .map_err(|e| ApiError::from_store(E::DEF.name, e))?
        .ok_or_else(|| ApiError::not_found(E::DEF.name, id))
}

/// [`find_item`], limited to the caller's own rows where rows are owned: another owner's row
/// is a 404, like a missing one, so its existence is not revealed.
pub async fn find_owned<E: Entity>(
    db: &Db,
    caller: &Caller,
    id: &str,
    sensitive: Sensitive,
) -> Result<Versioned<E>, ApiError> {
    let stored = find_item::<E>(db, id, sensitive).await?;
    if let Some((field, owner)) = caller.owner_scope(E::DEF) {
        let index = E::DEF.position(field).unwrap_or(usize::MAX);
        if !matches!(stored.entity.to_row().get(index), Some(SqlValue::Text(held)) if held == owner) {
            return Err(ApiError::not_found(E::DEF.name, id));
        }
    }
    Ok(stored)
}

/// The filter that limits a list or a count to the caller's own rows, where it must.
fn owner_filter(def: &'static EntityDef, caller: &Caller) -> Option<Filter> {
    let (field, owner) = caller.owner_scope(def)?;
    Some(Filter { field: def.field(field)?, op: FilterOp::Eq(SqlValue::Text(owner.to_owned())) })
}

/// The `If-None-Match` header alone: reads need nothing else, and copying the whole header
/// map per request is measurable.
pub(crate) struct IfNoneMatch(Option<HeaderValue>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IfNoneMatch(parts.headers.get(header::IF_NONE_MATCH).cloned()))
    }
}
