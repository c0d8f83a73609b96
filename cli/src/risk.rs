//! How risky a spec change is: every difference between two checked specs, each classified as
//! additive (existing clients, rows and queries keep working), neutral (documentation only) or
//! breaking (something a client sends or reads, or a stored row, may stop being accepted).
//!
//! Only additive and neutral changes make a pull request `low-risk`; everything else is
//! `needs-review`, with the reasons listed.

use std::fmt;

use entity_spec_codegen::SpecIr;
use entity_spec_codegen::ir::{
    ActionIr, ActionKind, DefaultValue, EntityIr, FieldIr, FieldType, OnDelete, RetryPolicy, Setter,
};
use entity_spec_codegen::json::Number;

use crate::entity;

/// The label for a change without anything breaking.
pub const LOW_RISK: &str = "low-risk";
/// The label for a change that needs a human decision.
pub const NEEDS_REVIEW: &str = "needs-review";

/// How a change affects existing clients and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impact {
    /// Something new; everything that worked keeps working.
    Additive,
    /// Documentation only.
    Neutral,
    /// Something that worked may stop working.
    Breaking,
}

/// One difference between two specs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What changed, e.g. ``entity `RawDataSource`, field `tags` ``.
    pub subject: String,
    /// How, e.g. `new optional field (json)`.
    pub what: String,
    /// Its classification.
    pub impact: Impact,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.what)
    }
}

/// Every difference between two specs, in spec order.
#[derive(Clone, Debug, Default)]
pub struct SpecDiff {
    /// The changes.
    pub changes: Vec<Change>,
}

impl SpecDiff {
    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.impact == Impact::Breaking)
    }

    /// The pull-request label for this change.
    pub fn label(&self) -> &'static str {
        if self.is_breaking() { NEEDS_REVIEW } else { LOW_RISK }
    }

    /// The breaking changes: why the change needs review.
    pub fn reasons(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.impact == Impact::Breaking)
    }

    /// One line for summaries: `low-risk (additive only)` or `needs-review (2 breaking changes)`.
    pub fn verdict(&self) -> String {
        let breaking = self.reasons().count();
        match breaking {
            0 if self.changes.is_empty() => format!("{LOW_RISK} (no change)"),
            0 => format!("{LOW_RISK} (additive only)"),
            1 => format!("{NEEDS_REVIEW} (1 breaking change)"),
            n => format!("{NEEDS_REVIEW} ({n} breaking changes)"),
        }
    }
}

/// Compares two checked specs.
pub fn diff_specs(old: &SpecIr, new: &SpecIr) -> SpecDiff {
    let mut diff = SpecDiff::default();
    for old_entity in &old.entities {
        if !new.entities.iter().any(|e| e.name == old_entity.name) {
            diff.breaking(
                entity_subject(old_entity),
                format!("entity removed: {} and its routes disappear", old_entity.collection_path),
            );
        }
    }
    for new_entity in &new.entities {
        diff_entity(old.entities.iter().find(|e| e.name == new_entity.name), new_entity, &mut diff);
    }
    diff
}

impl SpecDiff {
    fn push(&mut self, subject: String, what: String, impact: Impact) {
        self.changes.push(Change { subject, what, impact });
    }

    fn additive(&mut self, subject: String, what: String) {
        self.push(subject, what, Impact::Additive);
    }

    fn neutral(&mut self, subject: String, what: String) {
        self.push(subject, what, Impact::Neutral);
    }

    fn breaking(&mut self, subject: String, what: String) {
        self.push(subject, what, Impact::Breaking);
    }
}

fn entity_subject(entity: &EntityIr) -> String {
    format!("entity `{}`", entity.name)
}

fn diff_entity(old: Option<&EntityIr>, new: &EntityIr, diff: &mut SpecDiff) {
    let subject = entity_subject(new);
    let Some(old) = old else {
        let fields = new.fields.len();
        diff.additive(subject, format!("new entity with {fields} fields, served at {}", new.collection_path));
        return;
    };
    if old.table_name != new.table_name {
        diff.breaking(
            subject.clone(),
            format!(
                "table renamed from `{}` to `{}`: stored rows stay in the old table",
                old.table_name, new.table_name
            ),
        );
    }
    if old.collection_path != new.collection_path {
        diff.breaking(
            subject.clone(),
            format!(
                "served at {} instead of {}: clients of the old path break",
                new.collection_path, old.collection_path
            ),
        );
    }
    if old.description != new.description || old.layer != new.layer {
        diff.neutral(subject.clone(), "description or layer changed".to_owned());
    }
    for old_field in &old.fields {
        if !new.fields.iter().any(|f| f.name == old_field.name) {
            diff.breaking(
                format!("{subject}, field `{}`", old_field.name),
                "field removed: clients that send or read it break, and its column is dropped".to_owned(),
            );
        }
    }
    for field in &new.fields {
        let field_subject = format!("{subject}, field `{}`", field.name);
        match old.fields.iter().find(|f| f.name == field.name) {
            None => new_field(field, field_subject, diff),
            Some(old_field) => diff_field(old_field, field, &field_subject, diff),
        }
    }
    match (&old.tracking, &new.tracking) {
        (None, Some(_)) => diff.additive(subject.clone(), "runs are now tracked".to_owned()),
        (Some(_), None) => diff.breaking(subject.clone(), "runs are no longer tracked".to_owned()),
        (Some(before), Some(after)) if before != after => {
            diff.breaking(subject.clone(), "the fields tracked runs report through changed".to_owned())
        }
        _ => {}
    }
    diff_indexes(old, new, &subject, diff);
    diff_actions(&old.actions, &new.actions, &subject, diff);
    diff_scopes(old, new, &subject, diff);
}

/// A renamed scope changes who may do what: keys and tokens holding the old name lose access,
/// holders of the new one gain it. Always a human decision.
fn diff_scopes(old: &EntityIr, new: &EntityIr, subject: &str, diff: &mut SpecDiff) {
    if old.owner != new.owner {
        let what = match (&old.owner, &new.owner) {
            (None, Some(field)) => {
                format!("rows become owned (`{field}`): callers without the admin scope see only their own")
            }
            (Some(field), None) => {
                format!("rows are no longer owned (`{field}`): every caller with the read scope sees all")
            }
            (_, _) => "the owner field changes: existing rows keep their old owners".to_owned(),
        };
        diff.breaking(subject.to_owned(), what);
    }
    let keys = ["read", "write", "admin"].into_iter().chain(new.scopes.actions.iter().map(|(name, _)| name.as_str()));
    for key in keys {
        if let (Some(before), Some(after)) = (old.scopes.get(key), new.scopes.get(key))
            && before != after
        {
            diff.breaking(
                subject.to_owned(),
                format!(
                    "the `{key}` scope changes from `{before}` to `{after}`: credentials holding `{before}` lose that access"
                ),
            );
        }
    }
}

fn new_field(field: &FieldIr, subject: String, diff: &mut SpecDiff) {
    let ty = field.ty.spec_name();
    if field.required {
        diff.breaking(
            subject,
            format!("new required field without default ({ty}): existing clients' requests are rejected"),
        );
    } else if field.setter.is_server_set() {
        diff.additive(subject, format!("new server-set field ({ty})"));
    } else {
        diff.additive(subject, format!("new optional field ({ty})"));
    }
}

fn diff_field(old: &FieldIr, new: &FieldIr, subject: &str, diff: &mut SpecDiff) {
    let mut breaking = |what: String| diff.breaking(subject.to_owned(), what);
    let (old_ty, new_ty) = (old.ty.spec_name(), new.ty.spec_name());
    if old_ty != new_ty {
        breaking(format!("type changed from {old_ty} to {new_ty}"));
    }
    if old.setter != new.setter {
        breaking(format!("now {} (was {})", setter_name(new.setter), setter_name(old.setter)));
    }
    if !old.required && new.required {
        breaking("becomes required: requests without it are rejected".to_owned());
    }
    if old.required && !new.required && new.nullable {
        breaking("no longer required: responses may now hold null".to_owned());
    }
    if !old.unique && new.unique {
        breaking("becomes unique: duplicates are rejected and existing ones stop the migration".to_owned());
    }
    match (&old.references, &new.references) {
        (None, Some(reference)) => breaking(format!(
            "now refers to `{}`: values naming no row are rejected, and existing ones stop the migration",
            reference.entity
        )),
        (Some(reference), None) => breaking(format!(
            "no longer refers to `{}`: {}",
            reference.entity,
            match reference.on_delete {
                OnDelete::Restrict => "deleting the row it names is no longer refused",
                OnDelete::Cascade => "deleting the row it names no longer deletes this one",
                OnDelete::SetNull => "deleting the row it names no longer clears it",
            }
        )),
        (Some(before), Some(after)) if before.entity != after.entity => breaking(format!(
            "refers to `{}` instead of `{}`: existing values that name no `{}` stop the migration",
            after.entity, before.entity, after.entity
        )),
        (Some(before), Some(after)) if before.on_delete != after.on_delete => breaking(format!(
            "deleting the referenced `{}` now does `{}` (was `{}`)",
            after.entity,
            after.on_delete.as_str(),
            before.on_delete.as_str()
        )),
        _ => {}
    }
    if old.sensitive != new.sensitive {
        breaking(if new.sensitive {
            "becomes sensitive: it disappears from responses".to_owned()
        } else {
            "no longer sensitive: its value now appears in responses".to_owned()
        });
    }
    if old.searchable && !new.searchable {
        breaking(
            "no longer searchable: `q=` stops finding items by it (and is refused where no field is left)".to_owned(),
        );
    }
    match (default_text(old), default_text(new)) {
        (Some(before), None) => breaking(format!("default {before} removed: omitted values are now null")),
        (Some(before), Some(after)) if before != after => {
            breaking(format!("default changed from {before} to {after}: omitted values are stored differently"))
        }
        _ => {}
    }
    let (old_c, new_c) = (&old.constraints, &new.constraints);
    if let Some(what) =
        tightened_upper("max_length", old_c.max_length.map(|n| n as f64), new_c.max_length.map(|n| n as f64))
    {
        breaking(what);
    }
    if let Some(what) =
        tightened_lower("min_length", old_c.min_length.map(|n| n as f64), new_c.min_length.map(|n| n as f64))
    {
        breaking(what);
    }
    if let Some(what) = tightened_upper("max", old_c.max.map(Number::as_f64), new_c.max.map(Number::as_f64)) {
        breaking(what);
    }
    if let Some(what) = tightened_lower("min", old_c.min.map(Number::as_f64), new_c.min.map(Number::as_f64)) {
        breaking(what);
    }
    match (&old_c.pattern, &new_c.pattern) {
        (None, Some(pattern)) => {
            breaking(format!("new pattern `{}`: values that do not match are rejected", pattern.escape_debug()))
        }
        (Some(before), Some(after)) if before != after => breaking(format!(
            "pattern changed from `{}` to `{}`: values that matched may not",
            before.escape_debug(),
            after.escape_debug()
        )),
        _ => {}
    }
    if let (FieldType::Enum(before), FieldType::Enum(after)) = (&old.ty, &new.ty) {
        for value in &before.values {
            if !after.values.iter().any(|v| v.value == value.value) {
                breaking(format!("enum value `{}` removed: stored rows and clients using it break", value.value));
            }
        }
    }

    // What is left is additive: looser rules or new possibilities.
    let mut additive = |what: String| diff.additive(subject.to_owned(), what);
    if old.required && !new.required && !new.nullable {
        additive("no longer required (it has a default)".to_owned());
    }
    if old.unique && !new.unique {
        additive("no longer unique".to_owned());
    }
    if !old.searchable && new.searchable {
        additive("now searchable with `q=` (the migration builds its full-text index)".to_owned());
    }
    if default_text(old).is_none()
        && let Some(after) = default_text(new)
    {
        additive(format!("new default {after}"));
    }
    for (key, before, after) in [
        ("max_length", old_c.max_length.map(|n| n as f64), new_c.max_length.map(|n| n as f64)),
        ("max", old_c.max.map(Number::as_f64), new_c.max.map(Number::as_f64)),
    ] {
        if tightened_upper(key, before, after).is_none() && before != after {
            additive(format!("{key} relaxed ({})", bound_change(before, after)));
        }
    }
    for (key, before, after) in [
        ("min_length", old_c.min_length.map(|n| n as f64), new_c.min_length.map(|n| n as f64)),
        ("min", old_c.min.map(Number::as_f64), new_c.min.map(Number::as_f64)),
    ] {
        if tightened_lower(key, before, after).is_none() && before != after {
            additive(format!("{key} relaxed ({})", bound_change(before, after)));
        }
    }
    if old_c.pattern.is_some() && new_c.pattern.is_none() {
        additive("pattern removed".to_owned());
    }
    if let (FieldType::Enum(before), FieldType::Enum(after)) = (&old.ty, &new.ty) {
        for value in &after.values {
            if !before.values.iter().any(|v| v.value == value.value) {
                additive(format!("new enum value `{}`", value.value));
            }
        }
    }
    if old.description != new.description {
        diff.neutral(subject.to_owned(), "description changed".to_owned());
    }
}

/// A lower upper bound, or a new one, rejects values that were accepted.
fn tightened_upper(key: &str, before: Option<f64>, after: Option<f64>) -> Option<String> {
    match (before, after) {
        (None, Some(after)) => Some(format!("new {key} {after}: longer or larger values are rejected")),
        (Some(before), Some(after)) if after < before => {
            Some(format!("{key} lowered from {before} to {after}: values accepted before are rejected"))
        }
        _ => None,
    }
}

/// A higher lower bound, or a new one, rejects values that were accepted.
fn tightened_lower(key: &str, before: Option<f64>, after: Option<f64>) -> Option<String> {
    match (before, after) {
        (None, Some(after)) => Some(format!("new {key} {after}: shorter or smaller values are rejected")),
        (Some(before), Some(after)) if after > before => {
            Some(format!("{key} raised from {before} to {after}: values accepted before are rejected"))
        }
        _ => None,
    }
}

fn bound_change(before: Option<f64>, after: Option<f64>) -> String {
    match (before, after) {
        (Some(before), Some(after)) => format!("{before} → {after}"),
        (Some(before), None) => format!("{before} → none"),
        _ => String::new(),
    }
}

fn setter_name(setter: Setter) -> &'static str {
    match setter {
        Setter::Client => "set by clients",
        Setter::PrimaryKey => "the primary key",
        Setter::AutoNowAdd => "set on create (auto_now_add)",
        Setter::AutoNow => "set on every write (auto_now)",
        Setter::ReadOnly => "read-only",
    }
}

/// A field's default as JSON text (positions and enum indexes ignored).
pub fn default_text(field: &FieldIr) -> Option<String> {
    Some(match field.default.as_ref()? {
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Integer(i) => i.to_string(),
        DefaultValue::Float(f) => format!("{f:?}"),
        DefaultValue::String(s) => serde_json::to_string(s).expect("strings serialize"),
        DefaultValue::Enum(index) => match &field.ty {
            FieldType::Enum(e) => serde_json::to_string(&e.values[*index].value).expect("strings serialize"),
            _ => index.to_string(),
        },
        DefaultValue::Json(value) => {
            let mut out = String::new();
            entity::write_inline(&mut out, value);
            out
        }
    })
}

fn diff_indexes(old: &EntityIr, new: &EntityIr, subject: &str, diff: &mut SpecDiff) {
    for index in &new.indexes {
        let name = format!("{subject}, index on ({})", index.fields.join(", "));
        match old.indexes.iter().find(|i| i.fields == index.fields) {
            None if index.unique => diff.breaking(
                name,
                "new unique index: duplicates are rejected and existing ones stop the migration".to_owned(),
            ),
            None => diff.additive(name, "new index".to_owned()),
            Some(before) if !before.unique && index.unique => {
                diff.breaking(name, "index becomes unique: duplicates are rejected".to_owned())
            }
            Some(before) if before.unique && !index.unique => diff.additive(name, "index no longer unique".to_owned()),
            Some(_) => {}
        }
    }
    for index in &old.indexes {
        if !new.indexes.iter().any(|i| i.fields == index.fields) {
            let name = format!("{subject}, index on ({})", index.fields.join(", "));
            if index.unique {
                diff.additive(name, "unique index removed: duplicates are now accepted".to_owned());
            } else {
                diff.neutral(name, "index removed: queries filtering on it may get slower".to_owned());
            }
        }
    }
}

fn diff_actions(old: &[ActionIr], new: &[ActionIr], subject: &str, diff: &mut SpecDiff) {
    for action in new {
        let name = format!("{subject}, action `{}`", action.name);
        match old.iter().find(|a| a.name == action.name) {
            None => diff.additive(name, format!("new action {} {}", action.method, action.path_segment)),
            Some(before) if same_contract(before, action) => {
                if before.summary != action.summary || before.description != action.description {
                    diff.neutral(name.clone(), "summary or description changed".to_owned());
                }
                let (was, now) = (retry_of(before), retry_of(action));
                if was != now {
                    diff.neutral(name, format!("retries change from {} to {}", retry_text(was), retry_text(now)));
                }
            }
            Some(_) => diff.breaking(name, "method, path, scope or body changed: its clients may break".to_owned()),
        }
    }
    for action in old {
        if !new.iter().any(|a| a.name == action.name) {
            diff.breaking(format!("{subject}, action `{}`", action.name), "action removed".to_owned());
        }
    }
}

/// How a tracked action retries failures (`None` for other actions and tracked ones that do
/// not): the runtime's business, no client's, so a change is neutral.
fn retry_of(action: &ActionIr) -> Option<RetryPolicy> {
    match &action.kind {
        ActionKind::Tracked { retry, .. } => *retry,
        _ => None,
    }
}

fn retry_text(retry: Option<RetryPolicy>) -> String {
    match retry {
        Some(RetryPolicy { attempts, backoff_secs }) => format!("{attempts} attempts (backoff {backoff_secs} s)"),
        None => "none".to_owned(),
    }
}

/// The kind of an action as its clients see it: without its retries.
fn client_kind(action: &ActionIr) -> ActionKind {
    match &action.kind {
        ActionKind::Tracked { history, .. } => ActionKind::Tracked { history: history.clone(), retry: None },
        kind => kind.clone(),
    }
}

/// Whether two actions take and give the same thing at the same place (docs and retries aside).
fn same_contract(a: &ActionIr, b: &ActionIr) -> bool {
    let fields = |fields: &Option<Vec<FieldIr>>| -> Option<Vec<String>> {
        fields.as_ref().map(|fields| {
            fields
                .iter()
                .map(|f| {
                    format!(
                        "{}:{}:{}:{}:{:?}:{:?}",
                        f.name,
                        f.ty.spec_name(),
                        f.required,
                        f.nullable,
                        default_text(f),
                        (f.constraints.max_length, f.constraints.min_length, &f.constraints.pattern)
                    )
                })
                .collect()
        })
    };
    a.scope == b.scope
        && client_kind(a) == client_kind(b)
        && a.method == b.method
        && a.path_segment == b.path_segment
        && fields(&a.request) == fields(&b.request)
        && fields(&a.response) == fields(&b.response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fields: &str, extra: &str) -> SpecIr {
        let text = format!(
            r#"{{"entities": [{{"name": "Item", "fields": [{{"name": "id", "type": "uuid", "primary_key": true}}{fields}]{extra}}}]}}"#
        );
        entity_spec_codegen::check_spec(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn whats(old: &SpecIr, new: &SpecIr) -> Vec<(Impact, String)> {
        diff_specs(old, new).changes.into_iter().map(|c| (c.impact, c.to_string())).collect()
    }

    #[test]
    fn additions_are_low_risk() {
        let old = spec(r#", {"name": "name", "type": "string", "max_length": 10}"#, "");
        let new = spec(
            r#", {"name": "name", "type": "string", "max_length": 20, "searchable": true}, {"name": "tags", "type": "json"}"#,
            r#", "indexes": [{"fields": ["name"]}]"#,
        );
        let diff = diff_specs(&old, &new);
        assert_eq!(diff.label(), LOW_RISK, "{:?}", diff.changes);
        assert_eq!(
            whats(&old, &new),
            [
                (
                    Impact::Additive,
                    "entity `Item`, field `name`: now searchable with `q=` (the migration builds its full-text index)"
                        .to_owned()
                ),
                (Impact::Additive, "entity `Item`, field `name`: max_length relaxed (10 → 20)".to_owned()),
                (Impact::Additive, "entity `Item`, field `tags`: new optional field (json)".to_owned()),
                (Impact::Additive, "entity `Item`, index on (name): new index".to_owned()),
            ]
        );
        assert_eq!(diff_specs(&SpecIr::default(), &new).label(), LOW_RISK);
    }

    #[test]
    fn changed_retries_are_neutral() {
        let tracked = |retry: &str| {
            spec(
                r#", {"name": "state", "type": "enum", "values": ["pending", "syncing", "success", "failed"], "default": "pending"},
                   {"name": "pulled_at", "type": "datetime"}"#,
                &format!(
                    r#", "api": {{"tracking": {{"status": "state", "last_run": "pulled_at"}},
                       "actions": [{{"name": "pull", "scope": "item", "tracked": true{retry}}}]}}"#
                ),
            )
        };
        let (old, new) = (tracked(""), tracked(r#", "retry": {"attempts": 3}"#));
        assert_eq!(diff_specs(&old, &new).label(), LOW_RISK);
        assert_eq!(
            whats(&old, &new),
            [(
                Impact::Neutral,
                "entity `Item`, action `pull`: retries change from none to 3 attempts (backoff 30 s)".to_owned()
            )]
        );
    }

    #[test]
    fn every_breaking_rule_is_recognised() {
        let old = spec(
            r#", {"name": "a", "type": "string", "max_length": 10}, {"name": "b", "type": "integer", "min": 1, "max": 9},
               {"name": "c", "type": "enum", "values": ["x", "y"]}, {"name": "d", "type": "string", "searchable": true}, {"name": "e", "type": "string"},
               {"name": "gone", "type": "json"}"#,
            "",
        );
        let new = spec(
            r#", {"name": "a", "type": "string", "max_length": 5, "min_length": 1, "pattern": "^x"}, {"name": "b", "type": "float", "min": 2, "max": 8},
               {"name": "c", "type": "enum", "values": ["x", "z"]}, {"name": "d", "type": "string", "required": true}, {"name": "e", "type": "string", "unique": true},
               {"name": "must", "type": "string", "required": true}"#,
            "",
        );
        let diff = diff_specs(&old, &new);
        assert_eq!(diff.label(), NEEDS_REVIEW);
        let reasons: Vec<String> = diff.reasons().map(ToString::to_string).collect();
        for expected in [
            "field `gone`: field removed",
            "field `a`: max_length lowered from 10 to 5",
            "field `a`: new min_length 1",
            "field `a`: new pattern `^x`",
            "field `b`: type changed from integer to float",
            "field `b`: max lowered from 9 to 8",
            "field `b`: min raised from 1 to 2",
            "field `c`: enum value `y` removed",
            "field `d`: becomes required",
            "field `d`: no longer searchable",
            "field `e`: becomes unique",
            "field `must`: new required field without default",
        ] {
            assert!(reasons.iter().any(|r| r.contains(expected)), "missing {expected:?} in {reasons:#?}");
        }
        assert!(
            diff.changes.iter().any(|c| c.to_string().contains("new enum value `z`") && c.impact == Impact::Additive)
        );
    }

    #[test]
    fn renamed_scopes_need_review() {
        let old = spec("", "");
        let new = spec("", r#", "api": {"access": {"scopes": {"read": "catalog:read"}}}"#);
        let diff = diff_specs(&old, &new);
        assert_eq!(diff.label(), NEEDS_REVIEW);
        let reasons: Vec<String> = diff.reasons().map(ToString::to_string).collect();
        assert_eq!(
            reasons,
            [
                "entity `Item`: the `read` scope changes from `items:read` to `catalog:read`: credentials holding `items:read` lose that access"
            ]
        );
    }

    #[test]
    fn removed_entities_and_unique_indexes_are_breaking() {
        let old = spec("", "");
        assert!(diff_specs(&old, &SpecIr::default()).is_breaking());
        let new = spec(r#", {"name": "n", "type": "string"}"#, r#", "indexes": [{"fields": ["n"], "unique": true}]"#);
        assert!(diff_specs(&old, &new).is_breaking());
        assert_eq!(diff_specs(&new, &new).verdict(), "low-risk (no change)");
    }

    #[test]
    fn references_added_changed_and_removed_are_breaking() {
        let target = r#"{"name": "Author", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}, "#;
        let with = |extra: &str| {
            format!(
                r#"{{"entities": [{target}{{"name": "Book", "fields": [{{"name": "id", "type": "uuid", "primary_key": true}}, {{"name": "author_id", "type": "uuid"{extra}}}]}}]}}"#
            )
        };
        let plain = with("");
        let restrict = with(r#", "references": "Author""#);
        let cascade = with(r#", "references": "Author", "on_delete": "cascade""#);
        let changes = |old: &str, new: &str| -> Vec<(Impact, String)> {
            let old = entity_spec_codegen::check_spec(old).expect("old spec");
            let new = entity_spec_codegen::check_spec(new).expect("new spec");
            diff_specs(&old, &new).changes.into_iter().map(|c| (c.impact, c.what)).collect()
        };
        let added = changes(&plain, &restrict);
        assert_eq!(added.len(), 1, "{added:?}");
        assert_eq!(added[0].0, Impact::Breaking);
        assert!(added[0].1.starts_with("now refers to `Author`"), "{added:?}");
        let changed = changes(&restrict, &cascade);
        assert_eq!(
            changed,
            [(Impact::Breaking, "deleting the referenced `Author` now does `cascade` (was `restrict`)".to_owned())]
        );
        let removed = changes(&cascade, &plain);
        assert_eq!(removed[0].0, Impact::Breaking, "{removed:?}");
    }
}
