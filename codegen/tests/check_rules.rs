//! Spec rules checked through the public entry point, without a compiler round trip. The
//! trybuild suite (`tests/ui/`) pins how the same messages reach users.

fn errors(entity_body: &str) -> Vec<String> {
    let source = format!(r#"{{"entities": [{{"name": "Widget", {entity_body}}}]}}"#);
    match entity_spec_codegen::check_spec(&source) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.errors.iter().map(|e| format!("{}: {}", e.context, e.message)).collect(),
    }
}

const ID: &str = r#"{"name": "id", "type": "uuid", "primary_key": true}"#;

#[test]
fn enum_values_may_be_keywords_but_not_collide_as_variants() {
    let found = errors(&format!(
        r#""fields": [{ID}, {{"name": "kind", "type": "enum", "values": ["type", "static", "a_1", "a1"]}}]"#
    ));
    assert_eq!(
        found,
        ["entity `Widget`, field `kind`: enum values `a_1` and `a1` both become the Rust variant `A1`; rename one"]
    );
    let found = errors(&format!(r#""fields": [{ID}, {{"name": "kind", "type": "enum", "values": ["self"]}}]"#));
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("reserved variant `Self`"), "{found:?}");
}

#[test]
fn table_names_can_be_set_and_must_fit_postgres() {
    let spec = entity_spec_codegen::check_spec(&format!(
        r#"{{"entities": [{{"name": "Person", "table": "people", "fields": [{ID}]}}]}}"#
    ))
    .unwrap();
    assert_eq!(
        (spec.entities[0].table_name.as_str(), spec.entities[0].collection_path.as_str()),
        ("people", "/persons")
    );

    let long = format!("A{}", "b".repeat(62));
    let source = format!(r#"{{"entities": [{{"name": "{long}", "fields": [{ID}]}}]}}"#);
    let found = entity_spec_codegen::check_spec(&source).unwrap_err();
    assert!(found.errors[0].message.contains("set a shorter `table`"), "{found}");
}

#[test]
fn json_defaults_reject_duplicate_keys() {
    let found = errors(&format!(
        r#""fields": [{ID}, {{"name": "meta", "type": "json", "default": {{"a": {{"b": 1, "b": 2}}}}}}]"#
    ));
    assert_eq!(found, ["entity `Widget`, field `meta`: duplicate key `b` in the default"]);
}

#[test]
fn false_flags_on_action_fields_are_allowed() {
    let found = errors(&format!(
        r#""fields": [{ID}], "api": {{"actions": [{{"name": "ping", "scope": "item",
            "request": [{{"name": "note", "type": "string", "unique": false}}]}}]}}"#
    ));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn action_errors_are_reported_even_when_the_entity_name_is_bad() {
    let source = r#"{"entities": [{"name": "bad_name", "fields": [{"name": "id", "type": "uuid", "primary_key": true}],
        "api": {"path": "nope", "actions": [{"name": "Sync", "scope": "item"}]}}]}"#;
    let found = entity_spec_codegen::check_spec(source).unwrap_err();
    let messages: Vec<&str> = found.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].starts_with("entity name `"), "{}", messages[0]);
    assert!(messages[0].contains("must be PascalCase"), "{}", messages[0]);
    assert!(messages[1].starts_with("`api.path` must be"));
    assert!(messages[2].starts_with("action name must be snake_case"));
}

#[test]
fn messages_keep_floats_and_articles_right() {
    let found = errors(&format!(r#""fields": [{ID}, {{"name": "n", "type": "integer", "min": 1.0}}]"#));
    assert_eq!(found, ["entity `Widget`, field `n`: `min` of an `integer` field must be a whole number, found 1.0"]);
    let found = errors(&format!(r#""fields": [{ID}, {{"name": "n", "type": "integer", "default": "3"}}]"#));
    assert_eq!(
        found,
        ["entity `Widget`, field `n`: default must be an integer for a field of type `integer`, found a string"]
    );
}

#[test]
fn every_problem_in_a_spec_is_reported_in_file_order() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/ui/many/several_errors_at_once.json"))
            .unwrap();
    let found = entity_spec_codegen::check_spec(&source).unwrap_err();
    assert_eq!(found.errors.len(), 7);
    assert!(found.errors.windows(2).all(|pair| pair[0].pos <= pair[1].pos));
}

#[test]
fn the_docs_path_is_reserved_for_the_api_docs() {
    let source = format!(r#"{{"entities": [{{"name": "Doc", "fields": [{ID}]}}]}}"#);
    let found = entity_spec_codegen::check_spec(&source).unwrap_err();
    assert!(found.errors[0].message.contains("`/docs` is where the service serves its API docs"), "{found}");
    let found = errors(&format!(r#""fields": [{ID}], "api": {{"path": "/docs/widgets"}}"#));
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn the_workbench_and_statistics_paths_are_reserved() {
    let found = errors(&format!(r#""fields": [{ID}], "api": {{"path": "/ui"}}"#));
    assert_eq!(found, ["entity `Widget`: `/ui` is where the service serves the workbench; choose another `api.path`"]);
    let found = errors(&format!(r#""fields": [{ID}], "api": {{"path": "/ui/widgets"}}"#));
    assert_eq!(found.len(), 1, "{found:?}");
    let found = errors(&format!(
        r#""fields": [{ID}], "api": {{"actions": [{{"name": "stats", "scope": "collection", "method": "GET"}}]}}"#
    ));
    assert_eq!(
        found,
        ["entity `Widget`, action `stats`: `stats` is where the service serves the collection's statistics; \
             choose another `path`"]
    );
    // An item action may use the segment: it lives under `{path}/{id}/`.
    assert!(
        errors(&format!(r#""fields": [{ID}], "api": {{"actions": [{{"name": "stats", "scope": "item"}}]}}"#))
            .is_empty()
    );
}

#[test]
fn a_tracked_actions_retry_reaches_the_ir_with_its_default_backoff() {
    let spec = |retry: &str| {
        format!(
            r#"{{"entities": [{{"name": "Feed", "fields": [{ID},
                {{"name": "state", "type": "enum", "values": ["pending", "syncing", "success", "failed"], "default": "pending"}},
                {{"name": "pulled_at", "type": "datetime"}}],
              "api": {{"tracking": {{"status": "state", "last_run": "pulled_at"}},
                "actions": [{{"name": "pull", "scope": "item", "tracked": true{retry}}}]}}}}]}}"#
        )
    };
    let retry_of = |source: String| {
        let checked = entity_spec_codegen::check_spec(&source).unwrap();
        match &checked.entities[0].actions[0].kind {
            entity_spec_codegen::ir::ActionKind::Tracked { retry, .. } => *retry,
            other => panic!("not tracked: {other:?}"),
        }
    };
    let policy = |attempts, backoff_secs| Some(entity_spec_codegen::ir::RetryPolicy { attempts, backoff_secs });
    assert_eq!(retry_of(spec("")), None);
    assert_eq!(retry_of(spec(r#", "retry": {"attempts": 4}"#)), policy(4, 30));
    assert_eq!(retry_of(spec(r#", "retry": {"attempts": 1, "backoff_secs": 86400}"#)), policy(1, 86_400));
}
