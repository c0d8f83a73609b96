//! Custom actions: lowering each one with its request and response bodies, its kind (plain,
//! `tracked` with its `retry`, or `runs` another), and `api.tracking`, the fields a tracked
//! action reports through. Compile-fail cases: `tests/ui/actions/`.

use crate::diagnostics::Diagnostics;
use crate::ir::{ActionIr, ActionKind, ActionScope, FieldIr, FieldType, RetryPolicy, Setter, TrackingIr};
use crate::naming;
use crate::spec::{ActionSpec, EntitySpec, FieldSpec, RetrySpec, Spanned, TrackingSpec};
use entity_spec_contract::ItemStatus;
use entity_spec_contract::suggest::suggestion;

use super::api::{check_action_method, check_action_path, check_action_scope, check_request_body_method};
use super::fields::{FieldRole, lower_field};
use super::names::{check_snake_name, check_unique_field_names};

/// Lowers one action: its name, route, bodies and kind.
pub(super) fn lower_action(action: &ActionSpec, type_prefix: &str, d: &mut Diagnostics) -> Option<ActionIr> {
    let ctx = action.context.as_str();
    let name = action.name.as_ref().and_then(|name| check_snake_name(name, "action name", ctx, d));
    let scope = check_action_scope(action, d);
    let method = check_action_method(action, d);
    let path_segment = check_action_path(action, name.as_deref(), d);
    let body = |fields: &Option<Vec<FieldSpec>>, suffix: &str, d: &mut Diagnostics| -> Option<Option<Vec<FieldIr>>> {
        let Some(fields) = fields else { return Some(None) };
        let prefix = format!("{type_prefix}{}{suffix}", naming::snake_to_pascal(name.as_deref().unwrap_or("action")));
        check_unique_field_names(fields, d);
        let lowered: Vec<FieldIr> =
            fields.iter().filter_map(|f| lower_field(f, &prefix, FieldRole::ActionBody, d)).collect();
        (lowered.len() == fields.len()).then_some(Some(lowered))
    };
    let request = body(&action.request, "Request", d);
    let response = body(&action.response, "Response", d);
    check_request_body_method(action, method.as_deref(), d);
    let kind = check_action_kind(action, path_segment.as_deref(), d);
    Some(ActionIr {
        pos: action.pos,
        name: name?,
        scope: scope?,
        method: method?,
        path_segment: path_segment?,
        summary: action.summary.as_ref().map(|s| s.value.clone()),
        description: action.description.as_ref().map(|s| s.value.clone()),
        request: request?,
        response: response?,
        kind: kind?,
    })
}

/// An action is `tracked` (its runs listed under `history`, one kebab-case segment, by
/// default the plural of its path; retried as `retry` says), `runs` another, or neither;
/// `history` and `retry` only on tracked ones.
fn check_action_kind(action: &ActionSpec, path_segment: Option<&str>, d: &mut Diagnostics) -> Option<ActionKind> {
    let ctx = action.context.as_str();
    // A bad `retry` is reported but keeps the action's kind, so that a `runs` action naming
    // it is not reported too.
    let tracked = action.tracked.as_ref().is_some_and(|t| t.value);
    let retry = match &action.retry {
        Some(retry) if tracked => check_retry(retry, d),
        Some(retry) => {
            d.error(retry.pos, ctx, "`retry` applies only to tracked actions");
            None
        }
        None => None,
    };
    match (&action.tracked, &action.runs) {
        (Some(tracked), Some(runs)) if tracked.value => {
            d.error(runs.pos, ctx, "an action is either `tracked` or `runs` another; not both");
            None
        }
        (Some(tracked), _) if tracked.value => {
            let segment = match &action.history {
                Some(history) if naming::is_kebab_segment(&history.value) => Some(history.value.clone()),
                Some(history) => {
                    d.error(history.pos, ctx, "`history` must be one kebab-case segment, e.g. `syncs`");
                    None
                }
                None => path_segment.map(naming::pluralize),
            };
            segment.map(|history| ActionKind::Tracked { history, retry })
        }
        (_, Some(runs)) => Some(ActionKind::RunsAll { action: runs.value.clone() }),
        _ => {
            if let Some(history) = &action.history {
                d.error(history.pos, ctx, "`history` applies only to tracked actions");
            }
            Some(ActionKind::Plain)
        }
    }
}

/// `retry.attempts` counts the first attempt too and lies in 1..=10; `retry.backoff_secs`
/// (default 30) lies in 1..=86400.
fn check_retry(retry: &RetrySpec, d: &mut Diagnostics) -> Option<RetryPolicy> {
    let ctx = retry.context.as_str();
    let mut within = |value: &Spanned<u64>, key: &str, max: u32, meaning: &str| match u32::try_from(value.value) {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            d.error(value.pos, ctx, format!("`{key}` must be between 1 and {max}{meaning}, not {}", value.value));
            None
        }
    };
    let attempts = retry.attempts.as_ref().and_then(|attempts| {
        within(attempts, "attempts", RetryPolicy::MAX_ATTEMPTS, " (attempts in all, the first included)")
    });
    let backoff_secs = match &retry.backoff_secs {
        Some(backoff) => within(backoff, "backoff_secs", RetryPolicy::MAX_BACKOFF_SECS, " seconds"),
        None => Some(RetryPolicy::DEFAULT_BACKOFF_SECS),
    };
    Some(RetryPolicy { attempts: attempts?, backoff_secs: backoff_secs? })
}

/// `api.tracking` names existing fields of the right types: `status` an enum with `pending`,
/// `syncing`, `success` and `failed` and a default; `last_run` an optional datetime; `error`
/// optional text; `active` a boolean; `interval` an integer (seconds).
pub(super) fn check_tracking(tracking: &TrackingSpec, fields: &[FieldIr], d: &mut Diagnostics) -> Option<TrackingIr> {
    let ctx = tracking.context.as_str();
    let mut ok = true;
    let mut field = |key: &str, spanned: &Option<Spanned<String>>, fits: &dyn Fn(&FieldIr) -> bool, rule: &str| {
        let spanned = spanned.as_ref()?;
        match fields.iter().find(|f| f.name == spanned.value) {
            Some(found) if fits(found) => Some(found.name.clone()),
            Some(_) => {
                d.error(spanned.pos, ctx, format!("`{key}` field `{}` must be {rule}", spanned.value));
                ok = false;
                None
            }
            None => {
                let hint = suggestion(&spanned.value, fields.iter().map(|f| f.name.as_str()));
                d.error(
                    spanned.pos,
                    ctx,
                    format!("`{key}` names unknown field `{}`{hint}", spanned.value.escape_debug()),
                );
                ok = false;
                None
            }
        }
    };
    let status = field(
        "status",
        &tracking.status,
        &|f| {
            f.default.is_some()
                && matches!(&f.ty, FieldType::Enum(e) if ItemStatus::NAMES.iter().all(|v| e.values.iter().any(|ev| ev.value == *v)))
        },
        "an enum with the values pending, syncing, success and failed, and a default",
    );
    let last_run =
        field("last_run", &tracking.last_run, &|f| f.ty == FieldType::DateTime && f.nullable, "an optional datetime");
    let error = field(
        "error",
        &tracking.error,
        &|f| f.ty.is_textual() && f.nullable && !f.sensitive,
        "optional, non-sensitive text",
    );
    let active = field(
        "active",
        &tracking.active,
        &|f| f.ty == FieldType::Boolean && !f.nullable,
        "a boolean with a default or required",
    );
    let interval = field(
        "interval",
        &tracking.interval,
        &|f| f.ty == FieldType::Integer && !f.nullable,
        "a non-optional integer (seconds)",
    );
    if !ok {
        return None;
    }
    Some(TrackingIr { status: status?, last_run: last_run?, error, active, interval })
}

/// A tracked action is a `POST` item action without request or response body, at most one per
/// entity, on an entity with `api.tracking`; a `runs` action is a `POST` collection action
/// naming that tracked action.
pub(super) fn check_tracked_actions(
    entity: &EntitySpec,
    actions: &[ActionIr],
    tracking: Option<&TrackingIr>,
    d: &mut Diagnostics,
) {
    let ctx = entity.context.as_str();
    let tracked: Vec<&ActionIr> = actions.iter().filter(|a| matches!(a.kind, ActionKind::Tracked { .. })).collect();
    for action in &tracked {
        let action_ctx = format!("{ctx}, action `{}`", action.name);
        if action.scope != ActionScope::Item
            || action.method != "POST"
            || action.request.is_some()
            || action.response.is_some()
        {
            d.error(
                action.pos,
                &action_ctx,
                "a tracked action must be a `POST` item action without `request` or `response`",
            );
        }
        let has_tracking = entity.api.as_ref().is_some_and(|api| api.tracking.is_some());
        if tracking.is_none() && !has_tracking {
            d.error(
                action.pos,
                &action_ctx,
                "a tracked action needs `api.tracking` naming the status and last-run fields",
            );
        }
    }
    if let [_, extra, ..] = tracked.as_slice() {
        d.error(extra.pos, ctx, "at most one tracked action per entity");
    }
    for action in actions {
        if let ActionKind::RunsAll { action: target } = &action.kind {
            let action_ctx = format!("{ctx}, action `{}`", action.name);
            if action.scope != ActionScope::Collection
                || action.method != "POST"
                || action.request.is_some()
                || action.response.is_some()
            {
                d.error(
                    action.pos,
                    &action_ctx,
                    "a `runs` action must be a `POST` collection action without `request` or `response`",
                );
            }
            if !tracked.iter().any(|t| t.name == *target) {
                let hint = suggestion(target, tracked.iter().map(|t| t.name.as_str()));
                d.error(
                    action.pos,
                    &action_ctx,
                    format!("`runs` must name this entity's tracked action, not `{target}`{hint}"),
                );
            }
        }
    }
}

/// The status, last-run and error fields of `api.tracking` are the runtime's from now on:
/// clients see them but cannot set them.
pub(super) fn hand_tracked_fields_to_runtime(fields: &mut [FieldIr], tracking: &TrackingIr) {
    for field in fields.iter_mut() {
        let managed = [Some(&tracking.status), Some(&tracking.last_run), tracking.error.as_ref()];
        if managed.contains(&Some(&field.name)) && field.setter == Setter::Client {
            field.setter = Setter::ReadOnly;
            field.required = false;
        }
    }
}
