//! Editing the spec file and running `cargo build` regenerates the types, with no `.rs` file
//! touched: the expansion `include_bytes!`s the spec, so Cargo tracks it like a source file.

use std::path::Path;
use std::process::Command;

const MAIN_RS: &str = r#"
#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

fn main() {
    println!("{:?}", model::WidgetCreate::new("w"));
}
"#;

fn spec(extra_field: &str) -> String {
    format!(
        r#"{{"entities": [{{"name": "Widget", "fields": [
            {{"name": "id", "type": "uuid", "primary_key": true}},
            {{"name": "name", "type": "string", "required": true}}{extra_field}
        ]}}]}}"#
    )
}

fn cargo_run(dir: &Path) -> String {
    // Shared with the CLI's tests (cli/tests/support): one copy of the dependencies.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch-crates-target");
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        // The scratch crate must resolve its spec against its own manifest dir.
        .env_remove("ENTITY_SPEC_MANIFEST_DIR")
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo run failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 output").trim().to_owned()
}

#[test]
fn editing_the_spec_changes_the_generated_types_without_touching_rust_files() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rebuild-on-spec-change");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    let manifest = format!(
        "[package]\nname = \"rebuild-check\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nentity-spec = {{ path = {root:?} }}\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // Same dependency versions as the workspace, so the build needs no network.
    std::fs::copy(Path::new(root).join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN_RS).unwrap();
    std::fs::write(dir.join("specs/entities.json"), spec("")).unwrap();

    assert_eq!(cargo_run(&dir), r#"WidgetCreate { name: "w" }"#);
    let main_rs_modified = std::fs::metadata(dir.join("src/main.rs")).unwrap().modified().unwrap();

    std::fs::write(dir.join("specs/entities.json"), spec(r#", {"name": "color", "type": "string", "default": "red"}"#))
        .unwrap();
    assert_eq!(cargo_run(&dir), r#"WidgetCreate { name: "w", color: "red" }"#);
    assert_eq!(std::fs::metadata(dir.join("src/main.rs")).unwrap().modified().unwrap(), main_rs_modified);
}
