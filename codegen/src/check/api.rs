//! Routes: the collection path (kebab-case, not a path the service reserves, not another
//! entity's), and each action's scope, HTTP method and path segment, with no two routes of an
//! entity clashing. Compile-fail cases: `tests/ui/api/`.

use crate::diagnostics::Diagnostics;
use crate::ir::{ActionIr, ActionScope, EntityIr};
use crate::naming;
use crate::spec::{ActionSpec, Spanned};
use entity_spec_contract::paths::{STATS_SEGMENT, reserved_path};
use entity_spec_contract::routes::{Operation, collisions, routes};
use entity_spec_contract::suggest::suggestion;

/// The HTTP methods an action may use.
const ACTION_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Collection paths are `/` followed by kebab-case segments, and not a reserved path.
pub(super) fn check_collection_path(path: &Spanned<String>, ctx: &str, d: &mut Diagnostics) -> Option<String> {
    let valid = path.value.strip_prefix('/').is_some_and(|rest| rest.split('/').all(naming::is_kebab_segment));
    let reserved = reserved_path(&path.value);
    if let (true, Some((reserved, what))) = (valid, reserved) {
        d.error(path.pos, ctx, format!("`{reserved}` is where the service serves {what}; choose another `api.path`"));
        None
    } else if valid {
        Some(path.value.clone())
    } else {
        d.error(path.pos, ctx, "`api.path` must be `/` followed by kebab-case segments, e.g. `/raw-data-sources`");
        None
    }
}

/// Entities have distinct collection paths and table names.
pub(super) fn check_unique_collection_paths(entities: &[EntityIr], d: &mut Diagnostics) {
    for (i, entity) in entities.iter().enumerate() {
        for earlier in &entities[..i] {
            if earlier.collection_path == entity.collection_path {
                let ctx = format!("entity `{}`", entity.name);
                d.error(
                    entity.pos,
                    &ctx,
                    format!(
                        "collection path `{}` is already used by entity `{}`",
                        entity.collection_path, earlier.name
                    ),
                );
            }
            if earlier.table_name == entity.table_name {
                let ctx = format!("entity `{}`", entity.name);
                d.error(
                    entity.pos,
                    &ctx,
                    format!("table name `{}` is already used by entity `{}`", entity.table_name, earlier.name),
                );
            }
        }
    }
}

/// Every action says whether it acts on one `item` or on the `collection`.
pub(super) fn check_action_scope(action: &ActionSpec, d: &mut Diagnostics) -> Option<ActionScope> {
    match action.scope.as_ref().map(|s| s.value.as_str()) {
        Some("item") => Some(ActionScope::Item),
        Some("collection") => Some(ActionScope::Collection),
        Some(other) => {
            let pos = action.scope.as_ref().map_or(action.pos, |s| s.pos);
            let hint = suggestion(other, ["item", "collection"]);
            d.error(
                pos,
                &action.context,
                format!("unknown action scope `{}`; expected `item` or `collection`{hint}", other.escape_debug()),
            );
            None
        }
        None => {
            d.error(action.pos, &action.context, "missing required key `scope` (`item` or `collection`)");
            None
        }
    }
}

/// Action methods are upper-case GET, POST, PUT, PATCH or DELETE (default POST).
pub(super) fn check_action_method(action: &ActionSpec, d: &mut Diagnostics) -> Option<String> {
    let Some(method) = &action.method else { return Some("POST".to_owned()) };
    if ACTION_METHODS.contains(&method.value.as_str()) {
        Some(method.value.clone())
    } else {
        let hint = if ACTION_METHODS.contains(&method.value.to_ascii_uppercase().as_str()) {
            format!("; did you mean `{}`?", method.value.to_ascii_uppercase())
        } else {
            String::new()
        };
        d.error(
            method.pos,
            &action.context,
            format!(
                "unknown HTTP method `{}`; expected one of {}{hint}",
                method.value.escape_debug(),
                ACTION_METHODS.join(", ")
            ),
        );
        None
    }
}

/// An action's `path` is one kebab-case segment (default: the kebab-case of its name).
pub(super) fn check_action_path(action: &ActionSpec, name: Option<&str>, d: &mut Diagnostics) -> Option<String> {
    match &action.path {
        Some(path) if naming::is_kebab_segment(&path.value) => Some(path.value.clone()),
        Some(path) => {
            d.error(path.pos, &action.context, "action `path` must be one kebab-case segment, e.g. `sync-all`");
            None
        }
        None => name.map(naming::snake_to_kebab),
    }
}

/// `GET` and `DELETE` actions take no request body.
pub(super) fn check_request_body_method(action: &ActionSpec, method: Option<&str>, d: &mut Diagnostics) {
    if let (Some(method), Some(request)) = (method, &action.request)
        && (method == "GET" || method == "DELETE")
    {
        let pos = request.first().map_or(action.pos, |f| f.pos);
        d.error(pos, &action.context, format!("a `{method}` action cannot have a request body"));
    }
}

/// Action names are unique within an entity, and no two actions share a method and path.
pub(super) fn check_unique_actions(actions: &[ActionIr], ctx: &str, d: &mut Diagnostics) {
    for (i, action) in actions.iter().enumerate() {
        let earlier = &actions[..i];
        let action_ctx = format!("{ctx}, action `{}`", action.name);
        if earlier.iter().any(|a| a.name == action.name) {
            d.error(action.pos, &action_ctx, format!("duplicate action name `{}`", action.name));
        } else if action.scope == ActionScope::Collection && action.path_segment == STATS_SEGMENT {
            d.error(
                action.pos,
                &action_ctx,
                format!(
                    "`{STATS_SEGMENT}` is where the service serves the collection's statistics; choose another `path`"
                ),
            );
        } else if let Some(twin) = earlier
            .iter()
            .find(|a| a.scope == action.scope && a.method == action.method && a.path_segment == action.path_segment)
        {
            d.error(action.pos, &action_ctx, format!("same method and path as action `{}`", twin.name));
        }
    }
    check_run_history_routes(actions, ctx, d);
}

/// A tracked action's run history (`GET {path}/{id}/{history}` and `…/{run_id}`) must not be
/// another action's route. The route table says which routes collide; the clashes between
/// actions themselves are reported above with their own messages.
fn check_run_history_routes(actions: &[ActionIr], ctx: &str, d: &mut Diagnostics) {
    let defs: Vec<_> = actions.iter().map(ActionIr::def).collect();
    let table = routes("", &defs, &[]);
    for (earlier, later) in collisions(&table) {
        let (action, message) = match (history_of(&earlier.operation), history_of(&later.operation)) {
            (Some(tracked), None) => (
                route_action(&later.operation),
                format!(
                    "`{} {{path}}{}` is where the runs of `{tracked}` are listed; choose another `path`",
                    later.method, later.path
                ),
            ),
            (None, Some(tracked)) => (
                Some(tracked),
                format!(
                    "its run history `{} {{path}}{}` is the route of action `{}`; choose another `history`",
                    later.method,
                    later.path,
                    route_action(&earlier.operation).unwrap_or_default()
                ),
            ),
            _ => continue,
        };
        if let Some(action) = action.and_then(|name| actions.iter().find(|a| a.name == name)) {
            d.error(action.pos, &format!("{ctx}, action `{}`", action.name), message);
        }
    }
}

/// The tracked action whose run history a route is, if it is one.
fn history_of<'a>(operation: &Operation<'a>) -> Option<&'a str> {
    match operation {
        Operation::ListRuns(def) | Operation::ReadRun(def) => Some(def.name),
        _ => None,
    }
}

/// The action a route belongs to, if it is an action's route.
fn route_action<'a>(operation: &Operation<'a>) -> Option<&'a str> {
    match operation {
        Operation::Action(def)
        | Operation::QueueRun(def)
        | Operation::ListRuns(def)
        | Operation::ReadRun(def)
        | Operation::QueueAll(def) => Some(def.name),
        _ => None,
    }
}
