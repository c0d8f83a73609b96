//! `spec check`, `spec expand`, `spec diff` and `openapi`: the macro's library without a build.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

fn in_workspace(args: &[&str]) -> Run {
    run(entity_spec(&workspace_root(), None).args(args))
}

#[test]
fn check_accepts_the_reference_spec_by_default() {
    let out = in_workspace(&["spec", "check"]);
    assert!(out.success().starts_with("specs/entities.json: ok, 1 entity: RawDataSource"), "{out:?}");
}

/// Every spec error the macro's UI tests pin (`tests/ui/*/*.stderr`) is printed by
/// `spec check` with the very same text.
#[test]
fn check_prints_exactly_the_macros_messages() {
    let root = workspace_root();
    let mut compared = 0;
    for class in std::fs::read_dir(root.join("tests/ui")).unwrap() {
        let class = class.unwrap().path();
        if !class.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&class).unwrap() {
            let case = case.unwrap().path();
            if case.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let Ok(stderr) = std::fs::read_to_string(case.with_extension("stderr")) else { continue };
            let source = std::fs::read_to_string(&case).unwrap();
            let Some(spec) = source.split("entity_spec(\"").nth(1).and_then(|rest| rest.split('"').next()) else {
                continue;
            };
            let prefix = format!("error: {spec}:");
            let expected: Vec<&str> =
                stderr.lines().filter(|l| l.starts_with(&prefix)).map(|l| l.trim_start_matches("error: ")).collect();
            if expected.is_empty() || !root.join(spec).is_file() {
                continue;
            }
            let out = in_workspace(&["spec", "check", spec]);
            let printed: Vec<&str> = out.failure(1).lines().skip(1).collect();
            assert_eq!(printed, expected, "{}", case.display());
            compared += 1;
        }
    }
    assert!(compared >= 10, "only {compared} UI cases compared");
}

#[test]
fn expand_prints_the_generated_rust() {
    let out = in_workspace(&["spec", "expand"]);
    let code = out.success();
    for expected in ["pub struct RawDataSource {", "pub struct RawDataSourceCreate {", "pub fn router("] {
        assert!(code.contains(expected), "missing {expected:?}");
    }
}

#[test]
fn openapi_prints_the_document() {
    let out = in_workspace(&["openapi"]);
    let document: Value = serde_json::from_str(out.success()).expect("JSON");
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["paths"]["/raw-data-sources"].is_object());
    let out = in_workspace(&["openapi", "tests/ui/many/several_errors_at_once.json"]);
    assert!(out.failure(1).contains("7 problems in tests/ui/many/several_errors_at_once.json"), "{out:?}");
}

fn spec_with(dir: &Path, name: &str, fields: &str, indexes: &str) -> String {
    let text = format!(
        r#"{{"entities": [{{"name": "Source", "fields": [
  {{"name": "id", "type": "uuid", "primary_key": true}},
  {{"name": "name", "type": "string", "required": true, "max_length": 100}}{fields}
]{indexes}}}]}}"#
    );
    std::fs::write(dir.join(name), text).unwrap();
    name.to_owned()
}

#[test]
fn diff_exits_0_for_additive_changes_1_for_breaking_ones_and_2_for_errors() {
    let dir = scratch("spec-diff");
    let run_diff = |old: &str, new: &str| run(entity_spec(&dir, None).args(["spec", "diff", old, new]));
    let old = spec_with(&dir, "old.json", r#", {"name": "status", "type": "enum", "values": ["on", "off"]}"#, "");
    let additive = spec_with(
        &dir,
        "additive.json",
        r#", {"name": "status", "type": "enum", "values": ["on", "off", "paused"]}, {"name": "tags", "type": "json"}"#,
        r#", "indexes": [{"fields": ["status"]}]"#,
    );
    let out = run_diff(&old, &additive);
    let stdout = out.success();
    assert!(stdout.contains("additive  entity `Source`, field `tags`: new optional field (json)"), "{stdout}");
    assert!(stdout.contains("additive  entity `Source`, index on (status): new index"), "{stdout}");
    assert!(stdout.ends_with("low-risk (additive only)\n"), "{stdout}");

    let breaking = spec_with(
        &dir,
        "breaking.json",
        r#", {"name": "status", "type": "enum", "values": ["on"]}, {"name": "owner", "type": "string", "required": true}"#,
        "",
    );
    let tightened =
        std::fs::read_to_string(dir.join(&breaking)).unwrap().replace("\"max_length\": 100", "\"max_length\": 50");
    std::fs::write(dir.join(&breaking), tightened).unwrap();
    let out = run_diff(&old, &breaking);
    assert_eq!(out.code, Some(1), "{out:?}");
    for expected in [
        "breaking  entity `Source`, field `name`: max_length lowered from 100 to 50",
        "breaking  entity `Source`, field `status`: enum value `off` removed",
        "breaking  entity `Source`, field `owner`: new required field without default",
        "needs-review (3 breaking changes)",
    ] {
        assert!(out.stdout.contains(expected), "missing {expected:?}:\n{out:?}");
    }

    std::fs::write(dir.join("broken.json"), "{\"entities\": [}").unwrap();
    let out = run_diff(&old, "broken.json");
    assert!(out.failure(2).contains("broken.json:1:15: malformed JSON"), "{out:?}");
}

#[test]
fn request_dry_run_prints_the_issue_without_any_network() {
    let dir = scratch("request-dry-run");
    std::fs::write(
        dir.join("source.json"),
        r#"{"name": "Source", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#,
    )
    .unwrap();
    let out = run(entity_spec(&dir, None).args([
        "request",
        "--entity",
        "source.json",
        "--description",
        "Where data comes from.",
        "--criterion",
        "CRUD works",
        "--dry-run",
    ]));
    let stdout = out.success();
    assert!(stdout.starts_with("title: Source entity and API\nlabels: needs-review, feature\n"), "{stdout}");
    assert!(stdout.contains("- [ ] CRUD works"), "{stdout}");
    assert!(stdout.contains("- `POST /sources` - Create a Source"), "{stdout}");
}
