//! Access: the scope each route of an entity needs, and who owns its rows. Defaults come from
//! the table name (`raw_data_sources:read`, `…:write`, `…:admin`, `…:<action>`);
//! `api.access.scopes` renames or regroups them; `api.access.owner` names the field that holds
//! each row's owner. Compile-fail cases: `tests/ui/access/`.

use entity_spec_contract::routes::{Permission, routes};
use entity_spec_contract::scopes::{ADMIN_SCOPE, METRICS_SCOPE, SCOPE_KEYS, default_scope, scope_problem};
use entity_spec_contract::suggest::suggestion;
use entity_spec_contract::text::printable;

use crate::diagnostics::Diagnostics;
use crate::ir::{ActionIr, ActionKind, FieldIr, FieldType, ScopesIr, Setter};
use crate::spec::AccessSpec;

/// Each key of `api.access.scopes` is `read`, `write`, `admin` or an action with its own
/// permission; each value is a scope token other than `admin`, and the entity's admin scope is
/// none of its other scopes.
pub(super) fn lower_scopes(
    access: Option<&AccessSpec>,
    table: &str,
    actions: &[ActionIr],
    d: &mut Diagnostics,
) -> ScopesIr {
    let defs: Vec<_> = actions.iter().map(ActionIr::def).collect();
    // The actions whose routes need their own scope, as the route table says (a runs-all
    // action needs the scope of the action it queues).
    let mut own: Vec<&str> = Vec::new();
    for route in routes("/", &defs, &[]) {
        if let Permission::Run(name) = route.permission
            && !own.contains(&name)
        {
            own.push(name);
        }
    }
    let mut scopes = ScopesIr {
        read: default_scope(table, "read"),
        write: default_scope(table, "write"),
        admin: default_scope(table, "admin"),
        actions: own.iter().map(|name| (name.to_string(), default_scope(table, name))).collect(),
    };
    let Some(access) = access else { return scopes };
    let ctx = access.context.as_str();
    for (key, scope) in &access.scopes {
        let slot = match key.value.as_str() {
            "read" => Some(&mut scopes.read),
            "write" => Some(&mut scopes.write),
            "admin" => Some(&mut scopes.admin),
            name => scopes.actions.iter_mut().find(|(action, _)| action == name).map(|(_, scope)| scope),
        };
        let Some(slot) = slot else {
            let queued = actions.iter().find_map(|a| match &a.kind {
                ActionKind::RunsAll { action } if a.name == key.value => Some(action.as_str()),
                _ => None,
            });
            let message = match queued {
                Some(tracked) => format!(
                    "`{}` queues `{tracked}` runs and needs the scope of `{tracked}`; rename that one instead",
                    key.value
                ),
                None => {
                    let candidates = SCOPE_KEYS.iter().copied().chain(own.iter().copied());
                    let hint = suggestion(&key.value, candidates.clone());
                    let hint = if hint.is_empty() {
                        format!("; expected one of: {}", candidates.collect::<Vec<_>>().join(", "))
                    } else {
                        hint
                    };
                    format!("unknown scope key `{}`{hint}", printable(&key.value))
                }
            };
            d.error(key.pos, ctx, message);
            continue;
        };
        if let Some(problem) = scope_problem(&scope.value) {
            d.error(scope.pos, ctx, format!("scope of `{}`: {problem}", key.value));
        } else if scope.value == ADMIN_SCOPE {
            d.error(
                scope.pos,
                ctx,
                format!(
                    "`{ADMIN_SCOPE}` already holds every scope of every entity; give `{}` a name of its own",
                    key.value
                ),
            );
        } else if scope.value == METRICS_SCOPE {
            d.error(
                scope.pos,
                ctx,
                format!(
                    "`{METRICS_SCOPE}` is the scope of `/metrics`, held by scrapers' keys; give `{}` a name of its own",
                    key.value
                ),
            );
        } else {
            *slot = scope.value.clone();
        }
    }
    let others = [&scopes.read, &scopes.write].into_iter().chain(scopes.actions.iter().map(|(_, s)| s));
    if let Some(clash) = others.into_iter().find(|s| **s == scopes.admin) {
        let pos = access
            .scopes
            .iter()
            .find(|(k, _)| k.value == "admin")
            .map_or_else(|| access.scopes[0].1.pos, |(_, scope)| scope.pos);
        d.error(
            pos,
            ctx,
            format!(
                "the admin scope `{clash}` is also another of this entity's scopes; its holders would hold all of them"
            ),
        );
    }
    scopes
}

/// `api.access.owner` names an optional `string` field that is not unique, not sensitive, has
/// no default and no other server role; it becomes server-set (the creating credential's
/// subject), so clients can never write it.
pub(super) fn lower_owner(access: Option<&AccessSpec>, fields: &mut [FieldIr], d: &mut Diagnostics) -> Option<String> {
    let access = access?;
    let owner = access.owner.as_ref()?;
    let ctx = access.owner_context.as_str();
    let Some(field) = fields.iter_mut().find(|f| f.name == owner.value) else {
        let hint = suggestion(&owner.value, fields.iter().map(|f| f.name.as_str()));
        d.error(owner.pos, ctx, format!("`owner` names unknown field `{}`{hint}", printable(&owner.value)));
        return None;
    };
    let problem = if !matches!(field.ty, FieldType::String) {
        Some("must be a `string` field")
    } else if field.setter != Setter::Client {
        Some("is already set by the server; the owner needs a field of its own")
    } else if field.required {
        Some("cannot be `required`: the server sets it, clients never send it")
    } else if field.unique {
        Some("cannot be `unique`: an owner owns many rows")
    } else if field.sensitive {
        Some("cannot be `sensitive`: rows are filtered by it")
    } else if field.default.is_some() {
        Some("cannot have a `default`: the server sets it from the credential")
    } else {
        None
    };
    if let Some(problem) = problem {
        d.error(owner.pos, ctx, format!("`owner` field `{}` {problem}", field.name));
        return None;
    }
    field.setter = Setter::ReadOnly;
    Some(field.name.clone())
}
