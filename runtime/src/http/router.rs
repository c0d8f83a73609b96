//! An entity's router, built by walking its route table (`entity_spec_contract::routes`): the
//! same table the OpenAPI document's paths and the CLI's endpoint lists come from, so the
//! service answers exactly the routes it documents. Each route's method and path come from
//! the table; this file only says which handler answers each operation, and puts the guard
//! in front of each with the scope its permission needs (`http::guard`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use entity_spec_contract::routes::{ActionKind, Method, Operation, routes};

use crate::http::action_routes::{list_runs, read_run, trigger, trigger_all};
use crate::http::entity_routes::{create, list, list_nested, patch, read, remove, replace, stats};
use crate::http::guard::{Caller, Requirement, require};
use crate::http::params::PathParams;
use crate::runs::engine::Engine;
use crate::storage::db::Db;
use crate::storage::entity::Entity;

/// The handler of a plain action, made for the method the route table gives it. Generated
/// code supplies one per plain action (it knows the user's implementation and the action's
/// body types); the runtime mounts it.
pub type PlainAction = Box<dyn FnOnce(MethodFilter, Db) -> MethodRouter + Send>;

/// The routes of one entity: CRUD and statistics, and its actions, answered by `plain` (by
/// action name) and by `engine` (its tracked action's runs).
///
/// # Panics
///
/// When an action of the table has no handler: generated code always passes one per plain
/// action and an engine for a tracked action, so this is a bug in the generator, not input.
pub fn entity_router<E: Entity>(
    db: Db,
    mut plain: Vec<(&'static str, PlainAction)>,
    engine: Option<Arc<Engine<E>>>,
) -> Router {
    let mut router = Router::new();
    let engine = || engine.clone().unwrap_or_else(|| panic!("{} has a tracked action but no engine", E::DEF.name));
    for route in routes(E::DEF.collection_path, E::DEF.actions, E::DEF.nested) {
        let method = filter(route.method);
        let handler: MethodRouter = match route.operation {
            Operation::List => on(method, list::<E>).with_state(db.clone()),
            Operation::Create => on(method, create::<E>).with_state(db.clone()),
            Operation::Stats => on(method, stats::<E>).with_state(db.clone()),
            Operation::Read => on(method, read::<E>).with_state(db.clone()),
            Operation::Replace => on(method, replace::<E>).with_state(db.clone()),
            Operation::Patch => on(method, patch::<E>).with_state(db.clone()),
            Operation::Delete => on(method, remove::<E>).with_state(db.clone()),
            Operation::Action(action) => {
                let index = plain.iter().position(|(name, _)| *name == action.name);
                let (_, make) = plain.swap_remove(
                    index.unwrap_or_else(|| panic!("no handler for action `{}` of {}", action.name, E::DEF.name)),
                );
                make(method, db.clone())
            }
            Operation::QueueRun(action) => {
                let name = action.name;
                let handler =
                    move |State(engine): State<Arc<Engine<E>>>, caller: Caller, PathParams(id): PathParams<String>| {
                        trigger::<E>(engine, caller, id, name)
                    };
                on(method, handler).with_state(engine())
            }
            Operation::QueueAll(action) => {
                let ActionKind::RunsAll { action: tracked } = action.kind else {
                    unreachable!("the table makes QueueAll only of runs-all actions")
                };
                let name = action.name;
                let handler = move |State(engine): State<Arc<Engine<E>>>, caller: Caller| {
                    trigger_all::<E>(engine, caller, name, tracked)
                };
                on(method, handler).with_state(engine())
            }
            Operation::ListNested(list) => {
                let field = E::DEF
                    .field(list.field)
                    .unwrap_or_else(|| panic!("{} has no reference field `{}`", E::DEF.name, list.field));
                let handler = move |State(db): State<Db>,
                                    caller: Caller,
                                    PathParams(id): PathParams<String>,
                                    headers: HeaderMap,
                                    RawQuery(query): RawQuery| {
                    list_nested::<E>(db, caller, field, id, headers, query)
                };
                on(method, handler).with_state(db.clone())
            }
            Operation::ListRuns(_) => on(method, list_runs::<E>).with_state(engine()),
            Operation::ReadRun(_) => on(method, read_run::<E>).with_state(engine()),
        };
        let requirement = Requirement { scopes: &E::DEF.scopes, scope: E::DEF.scopes.required(&route.permission) };
        router = router.route(&route.path, handler.route_layer(from_fn_with_state(requirement, require)));
    }
    router
}

fn filter(method: Method) -> MethodFilter {
    match method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
        Method::Patch => MethodFilter::PATCH,
        Method::Delete => MethodFilter::DELETE,
    }
}
