//! The operations of custom actions: plain actions with their bodies, tracked actions with
//! their run history and single runs, and `runs` actions that queue every item.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{RefOr, Required};

use crate::ir::{ActionKind, ActionScope, EntityIr};
use entity_spec_contract::limits::{BODY_LIMIT_TEXT, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use super::operations::{body, id_parameter, json_body, problem, query_parameter};
use super::schemas::{body_schema, schema_ref};

fn operation_id(verb: &str, entity: &EntityIr, action: &str) -> String {
    format!("{verb}{}{}", entity.name, crate::naming::snake_to_pascal(action))
}

/// The paths of an entity's custom actions, and the schemas of their bodies.
pub(super) struct ActionOperations {
    pub(super) paths: Vec<(String, utoipa::openapi::path::PathItem)>,
    pub(super) schemas: Vec<(String, Schema)>,
}

pub(super) fn action_operations(entity: &EntityIr) -> ActionOperations {
    let mut paths = Vec::new();
    let mut schemas: Vec<(String, Schema)> = Vec::new();
    let item_base = format!("{}/{{id}}", entity.collection_path);
    let server_error = || problem("Server error (500) or database unavailable (503).");
    for action in &entity.actions {
        let pascal = action.pascal_name();
        let base = OperationBuilder::new()
            .operation_id(Some(operation_id("run", entity, &action.name)))
            .tag(entity.name.clone())
            .summary(action.summary.clone())
            .description(action.description.clone());
        match &action.kind {
            ActionKind::Tracked { history } => {
                let trigger = base
                    .parameter(id_parameter(entity))
                    .response(
                        "202",
                        json_body("Queued; the run continues in the background.", schema_ref("Run"), false).build(),
                    )
                    .response("404", problem("No item with this id."))
                    .response("409", problem("The item is inactive, or a run of it is already queued or running."))
                    .response("default", server_error());
                paths.push((
                    format!("{item_base}/{}", action.path_segment),
                    PathItemBuilder::new().operation(HttpMethod::Post, trigger).build(),
                ));
                let list = OperationBuilder::new()
                    .operation_id(Some(operation_id("list", entity, &format!("{}_runs", action.name))))
                    .tag(entity.name.clone())
                    .summary(Some(format!("Runs of `{}` for one item, newest first", action.name)))
                    .parameter(id_parameter(entity))
                    .parameter(query_parameter(
                        "limit".to_owned(),
                        format!("Page size (default {DEFAULT_PAGE_SIZE})."),
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(MAX_PAGE_SIZE as isize)),
                    ))
                    .parameter(query_parameter(
                        "offset".to_owned(),
                        "Runs to skip.".to_owned(),
                        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)),
                    ))
                    .response("200", json_body("Runs, newest first.", schema_ref("RunPage"), false).build())
                    .response("400", problem("A query parameter is unknown or has a bad value."))
                    .response("404", problem("No item with this id."))
                    .response("default", server_error());
                paths.push((
                    format!("{item_base}/{history}"),
                    PathItemBuilder::new().operation(HttpMethod::Get, list).build(),
                ));
                let run_id = ParameterBuilder::new()
                    .name("run_id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                    ))
                    .build();
                let one = OperationBuilder::new()
                    .operation_id(Some(operation_id("get", entity, &format!("{}_run", action.name))))
                    .tag(entity.name.clone())
                    .summary(Some(format!("One run of `{}`", action.name)))
                    .parameter(id_parameter(entity))
                    .parameter(run_id)
                    .response("200", json_body("The run.", schema_ref("Run"), false).build())
                    .response("404", problem("No such item or run."))
                    .response("default", server_error());
                paths.push((
                    format!("{item_base}/{history}/{{run_id}}"),
                    PathItemBuilder::new().operation(HttpMethod::Get, one).build(),
                ));
            }
            ActionKind::RunsAll { action: runs } => {
                let operation = base
                    .response(
                        "202",
                        json_body(&format!("Queued `{runs}` for every active item."), schema_ref("Queued"), false)
                            .build(),
                    )
                    .response("default", server_error());
                let path = format!("{}/{}", entity.collection_path, action.path_segment);
                paths.push((path, PathItemBuilder::new().operation(HttpMethod::Post, operation).build()));
            }
            ActionKind::Plain => {
                let mut operation = base;
                let path = match action.scope {
                    ActionScope::Item => {
                        operation =
                            operation.parameter(id_parameter(entity)).response("404", problem("No item with this id."));
                        format!("{item_base}/{}", action.path_segment)
                    }
                    ActionScope::Collection => format!("{}/{}", entity.collection_path, action.path_segment),
                };
                if let Some(fields) = &action.request {
                    let name = format!("{}{pascal}Request", entity.name);
                    schemas.push((name.clone(), body_schema(fields, true).into()));
                    operation = operation
                        .request_body(Some(body(&name, false)))
                        .response("400", problem("The body is not JSON, or not a JSON object."))
                        .response("413", problem(&format!("The body is larger than {BODY_LIMIT_TEXT}.")))
                        .response("415", problem("The body is not declared as JSON."))
                        .response(
                            "422",
                            problem("The body breaks the action's rules; `errors` lists every violation."),
                        );
                }
                let response_schema: RefOr<Schema> = match &action.response {
                    Some(fields) => {
                        let name = format!("{}{pascal}Response", entity.name);
                        schemas.push((name.clone(), body_schema(fields, false).into()));
                        schema_ref(&name)
                    }
                    None => ObjectBuilder::new().schema_type(SchemaType::AnyValue).into(),
                };
                operation = operation
                    .response("200", json_body("The action's result.", response_schema, false).build())
                    .response("default", problem("The action failed, or a server error."));
                let method = match action.method.as_str() {
                    "GET" => HttpMethod::Get,
                    "PUT" => HttpMethod::Put,
                    "PATCH" => HttpMethod::Patch,
                    "DELETE" => HttpMethod::Delete,
                    _ => HttpMethod::Post,
                };
                paths.push((path, PathItemBuilder::new().operation(method, operation).build()));
            }
        }
    }
    ActionOperations { paths, schemas }
}
