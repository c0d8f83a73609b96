//! How long the macro's work takes on a large spec: 100 entities × 20 fields.
//!
//! `cargo run --release -p entity-spec-codegen --example expand_bench` prints one row per
//! phase (median and fastest of several runs). The macro runs "read + check" and "generate";
//! pretty-printing only happens for snapshots, `ENTITY_SPEC_DEBUG` and the CLI.

use std::time::{Duration, Instant};

const ENTITIES: usize = 100;
const FIELDS: usize = 20;
const RUNS: usize = 15;

/// A spec that exercises every field type and most constraints.
fn large_spec() -> String {
    let field_kinds = [
        r#""type": "string", "required": true, "max_length": 120, "pattern": "^[a-z]""#,
        r#""type": "text""#,
        r#""type": "integer", "default": 10, "min": 0, "max": 1000"#,
        r#""type": "float", "min": 0.5"#,
        r#""type": "boolean", "default": true"#,
        r#""type": "enum", "values": ["pending", "active", "archived"], "default": "pending""#,
        r#""type": "json", "default": {"tags": []}"#,
        r#""type": "datetime""#,
        r#""type": "date""#,
        r#""type": "uuid""#,
    ];
    let entities: Vec<String> = (0..ENTITIES)
        .map(|e| {
            let mut fields = vec![r#"{"name": "id", "type": "uuid", "primary_key": true}"#.to_owned()];
            fields.extend((1..FIELDS - 1).map(|f| format!(r#"{{"name": "field_{f}", {}}}"#, field_kinds[f % field_kinds.len()])));
            fields.push(r#"{"name": "created_at", "type": "datetime", "auto_now_add": true}"#.to_owned());
            format!(
                r#"{{"name": "Entity{e}", "fields": [{}], "indexes": [{{"fields": ["field_1"], "unique": true}}, {{"fields": ["field_5", "field_4"]}}]}}"#,
                fields.join(",\n")
            )
        })
        .collect();
    format!("{{\"entities\": [\n{}\n]}}", entities.join(",\n"))
}

fn measure(mut run: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[0])
}

fn main() {
    let source = large_spec();
    let ir = entity_spec_codegen::check_spec(&source).expect("the benchmark spec is valid");
    let tokens = entity_spec_codegen::expand_checked(&ir, "bench");
    let lines = entity_spec_codegen::pretty_print(&tokens).lines().count();

    let rows = [
        ("read + check", measure(|| drop(entity_spec_codegen::check_spec(&source)))),
        ("generate tokens", measure(|| drop(entity_spec_codegen::expand_checked(&ir, "bench")))),
        ("whole macro (read + check + generate)", measure(|| drop(entity_spec_codegen::expand_spec(&source)))),
        ("pretty-print (snapshots, CLI)", measure(|| drop(entity_spec_codegen::pretty_print(&tokens)))),
    ];
    println!(
        "spec: {ENTITIES} entities × {FIELDS} fields, {} KiB of JSON → {lines} lines of Rust; {RUNS} runs each\n",
        source.len() / 1024
    );
    println!("| phase | median | fastest |");
    println!("|---|---:|---:|");
    for (phase, (median, fastest)) in rows {
        println!("| {phase} | {:.1} ms | {:.1} ms |", median.as_secs_f64() * 1e3, fastest.as_secs_f64() * 1e3);
    }
}
