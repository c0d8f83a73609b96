//! The operations of custom actions: plain actions with their bodies, tracked actions with
//! their run history and single runs, and `runs` actions that queue every item. Where each is
//! mounted comes from the route table (`openapi/mod.rs`).

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{RefOr, Required};

use crate::ir::{ActionIr, ActionKind, ActionScope, EntityIr, RetryPolicy};
use entity_spec_contract::limits::{BODY_LIMIT_TEXT, DEFAULT_ACTION_CONCURRENCY, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use super::operations::{body, id_parameter, json_body, offset_schema, problem, query_parameter, too_many};
use super::schemas::{body_schema, schema_ref};
use super::security::RATE_LIMITED;

fn operation_id(verb: &str, entity: &EntityIr, action: &str) -> String {
    format!("{verb}{}{}", entity.name, crate::naming::snake_to_pascal(action))
}

fn server_error() -> utoipa::openapi::Response {
    problem("Server error (500) or database unavailable (503).")
}

/// What every action operation starts with: its id, tag and the spec's texts.
fn base(entity: &EntityIr, action: &ActionIr) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(operation_id("run", entity, &action.name)))
        .tag(entity.name.clone())
        .summary(action.summary.clone())
        .description(action.description.clone())
}

/// Names of the body schemas of a plain action: `{Entity}{Action}Request` / `…Response`.
fn body_name(entity: &EntityIr, action: &ActionIr, role: &str) -> String {
    format!("{}{}{role}", entity.name, action.pascal_name())
}

/// The request and response schemas of an entity's plain actions.
pub(super) fn action_schemas(entity: &EntityIr) -> Vec<(String, Schema)> {
    let mut schemas = Vec::new();
    for action in entity.actions.iter().filter(|a| a.kind == ActionKind::Plain) {
        if let Some(fields) = &action.request {
            schemas.push((body_name(entity, action, "Request"), body_schema(fields, true).into()));
        }
        if let Some(fields) = &action.response {
            schemas.push((body_name(entity, action, "Response"), body_schema(fields, false).into()));
        }
    }
    schemas
}

/// `POST {path}/{id}/{action}` of a tracked action: queues a run. Its retries, if any, are
/// described after the spec's description.
pub(super) fn queue_run_operation(entity: &EntityIr, action: &ActionIr) -> OperationBuilder {
    let retries = match &action.kind {
        ActionKind::Tracked { retry: Some(retry), .. } if retry.attempts > 1 => Some(retry_text(retry)),
        _ => None,
    };
    let description = match (action.description.clone(), retries) {
        (Some(text), Some(retries)) => Some(format!("{text}\n\n{retries}")),
        (text, retries) => text.or(retries),
    };
    base(entity, action)
        .description(description)
        .parameter(id_parameter(entity))
        .response("202", json_body("Queued; the run continues in the background.", schema_ref("Run"), false).build())
        .response("404", problem("No item with this id."))
        .response("409", problem("The item is inactive, or a run of it is already queued or running."))
        .response("default", server_error())
}

/// How a failed attempt is retried, for API readers.
fn retry_text(retry: &RetryPolicy) -> String {
    let first = retry.ceiling_secs(1);
    format!(
        "A failed attempt (an error or a timeout) is retried, {} attempts in all, each a run of its own in the history \
         (`attempt`). The first retry waits {}–{first} s, each later one up to twice as long (at most {} h); while a retry \
         waits, the item stays `pending`, and it shows `failed` only when the last attempt fails.",
        retry.attempts,
        first as f64 / 2.0,
        RetryPolicy::MAX_WAIT_SECS / 3600,
    )
}

/// `GET {path}/{id}/{history}`: the runs of one item, newest first.
pub(super) fn list_runs_operation(entity: &EntityIr, action: &ActionIr) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(operation_id("list", entity, &format!("{}_runs", action.name))))
        .tag(entity.name.clone())
        .summary(Some(format!("Runs of `{}` for one item, newest first", action.name)))
        .parameter(id_parameter(entity))
        .parameter(query_parameter(
            "limit".to_owned(),
            format!("Page size (default {DEFAULT_PAGE_SIZE})."),
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE as isize)),
        ))
        .parameter(query_parameter("offset".to_owned(), "Runs to skip.".to_owned(), offset_schema()))
        .response("200", json_body("Runs, newest first.", schema_ref("RunPage"), false).build())
        .response("400", problem("A query parameter is unknown or has a bad value."))
        .response("404", problem("No item with this id."))
        .response("default", server_error())
}

/// `GET {path}/{id}/{history}/{run_id}`: one run.
pub(super) fn read_run_operation(entity: &EntityIr, action: &ActionIr) -> OperationBuilder {
    let run_id = ParameterBuilder::new()
        .name("run_id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ))
        .build();
    OperationBuilder::new()
        .operation_id(Some(operation_id("get", entity, &format!("{}_run", action.name))))
        .tag(entity.name.clone())
        .summary(Some(format!("One run of `{}`", action.name)))
        .parameter(id_parameter(entity))
        .parameter(run_id)
        .response("200", json_body("The run.", schema_ref("Run"), false).build())
        .response("404", problem("No such item or run."))
        .response("default", server_error())
}

/// The collection action that queues a tracked action for every active item.
pub(super) fn queue_all_operation(entity: &EntityIr, action: &ActionIr, tracked: &str) -> OperationBuilder {
    base(entity, action)
        .response(
            "202",
            json_body(&format!("Queued `{tracked}` for every active item."), schema_ref("Queued"), false).build(),
        )
        .response("default", server_error())
}

/// The 429 of a plain action called more often at once than the instance allows.
fn too_many_calls() -> utoipa::openapi::Response {
    too_many(&format!(
        "This action is already running as often as this instance allows at once ({DEFAULT_ACTION_CONCURRENCY} \
         unless `ENTITY_SPEC_ACTION_CONCURRENCY` says otherwise), or {RATE_LIMITED}; retry after `Retry-After` \
         seconds."
    ))
}

/// A plain action, answered by the service's implementation.
pub(super) fn plain_action_operation(entity: &EntityIr, action: &ActionIr) -> OperationBuilder {
    let mut operation = base(entity, action);
    if action.scope == ActionScope::Item {
        operation = operation.parameter(id_parameter(entity)).response("404", problem("No item with this id."));
    }
    if action.request.is_some() {
        operation = operation
            .request_body(Some(body(&body_name(entity, action, "Request"), false)))
            .response("400", problem("The body is not JSON, or not a JSON object."))
            .response("413", problem(&format!("The body is larger than {BODY_LIMIT_TEXT}.")))
            .response("415", problem("The body is not declared as JSON."))
            .response("422", problem("The body breaks the action's rules; `errors` lists every violation."));
    }
    let response_schema: RefOr<Schema> = match &action.response {
        Some(_) => schema_ref(&body_name(entity, action, "Response")),
        None => ObjectBuilder::new().schema_type(SchemaType::AnyValue).into(),
    };
    operation
        .response("200", json_body("The action's result.", response_schema, false).build())
        .response("429", too_many_calls())
        .response("default", problem("The action failed, or a server error."))
}
