//! `cargo xtask`: the project's own tasks, so that a fresh machine with only Rust installed
//! needs one command to run every test.
//!
//! - `cargo xtask test` installs or starts what the tests need (PostgreSQL, Chromium and
//!   chromedriver, the npm and pip packages), saying what it does, then runs every test.
//! - `cargo xtask test --quick`: the inner loop: SQLite only, no browser, no trybuild.
//! - `cargo xtask test --coverage`: every test, run once under `cargo llvm-cov`, then the
//!   per-crate table and its floors (`coverage.rs`).
//! - `cargo xtask ci`: what `.ci/run` runs: formatting, clippy, the module-graph check, the
//!   workbench's JavaScript lint (ESLint, Prettier), then `test --coverage`.
//! - `cargo xtask setup`: only the set-up; `cargo xtask layers`: only the module-graph check.
//!
//! Nothing is skipped silently: a dependency that cannot be installed stops the run with a
//! message naming it.

mod coverage;
mod layers;
mod setup;
mod shell;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::setup::Needs;
use crate::shell::{Failure, run, with_test_args};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The entity-spec project's tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Set up what the tests need, then run every test of the workspace.
    Test {
        /// SQLite only, no browser tests, no trybuild compile tests: the contributor's inner loop.
        #[arg(long, conflicts_with = "coverage")]
        quick: bool,
        /// Run every test once, instrumented, then print coverage per crate and fail under its floor.
        #[arg(long)]
        coverage: bool,
        /// Arguments passed to the test binaries (after `--`), e.g. a test name filter.
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// Everything CI checks: rustfmt, clippy, the module graph, the JavaScript lint, every test
    /// with its coverage.
    Ci,
    /// Install or start what the full test run needs, and nothing else.
    Setup,
    /// Fail when a crate's modules import each other in a cycle.
    Layers,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.task {
        Task::Test { quick, coverage, test_args } => test(&root, Mode::pick(quick, coverage), &test_args),
        Task::Ci => ci(&root),
        Task::Setup => setup::ensure(&root, Needs::FULL),
        Task::Layers => layers::check(&root),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("xtask: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: this crate's parent directory (cargo runs xtask from anywhere inside).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Test targets of the root crate that `--quick` leaves out: the browser suite and the two
/// trybuild suites (each compiles dozens of crates).
const SLOW_TEST_TARGETS: &[&str] = &["workbench", "ui", "expanded_snapshots_compile"];

/// Which run `cargo xtask test` makes.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Every test, both databases, the browser and trybuild suites.
    Full,
    /// The full run, instrumented, then the coverage table and floors.
    Coverage,
    /// SQLite only, without the slow targets.
    Quick,
}

impl Mode {
    fn pick(quick: bool, coverage: bool) -> Mode {
        match (quick, coverage) {
            (true, _) => Mode::Quick,
            (false, true) => Mode::Coverage,
            (false, false) => Mode::Full,
        }
    }

    fn needs(self) -> Needs {
        match self {
            Mode::Full => Needs::FULL,
            Mode::Coverage => Needs { coverage: true, ..Needs::FULL },
            Mode::Quick => Needs::QUICK,
        }
    }
}

fn test(root: &Path, mode: Mode, test_args: &[String]) -> Result<(), Failure> {
    setup::ensure(root, mode.needs())?;
    run_tests(root, mode, test_args)
}

fn run_tests(root: &Path, mode: Mode, test_args: &[String]) -> Result<(), Failure> {
    if mode != Mode::Quick {
        println!("== tests: every crate, both databases, the browser and trybuild suites");
        // The generated conformance suites run on PostgreSQL only when told where it is
        // (`entity_spec::testing`); the hand-written suites default to the same server.
        let postgres = std::env::var("ENTITY_SPEC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let env = [("ENTITY_SPEC_TEST_POSTGRES_URL", postgres.as_str())];
        if mode == Mode::Full {
            return run(root, "cargo", &with_test_args(vec!["test".into(), "--workspace".into()], test_args), &env);
        }
        // Once, instrumented: the same tests, so CI pays for one run, not two.
        return coverage::measure(root, test_args, &env);
    }
    // Read by tests/support: the HTTP suites iterate over these backends only.
    let env = [("ENTITY_SPEC_TEST_BACKENDS", "sqlite")];
    println!(
        "== quick tests: SQLite only; left out: {} (run `cargo xtask test` for all)",
        SLOW_TEST_TARGETS.join(", ")
    );
    let others = vec!["test".into(), "--workspace".into(), "--exclude".into(), "entity-spec".into()];
    run(root, "cargo", &with_test_args(others, test_args), &env)?;
    let mut root_crate: Vec<String> =
        ["test", "--package", "entity-spec", "--lib", "--examples"].map(String::from).into();
    for target in root_test_targets(root)? {
        if !SLOW_TEST_TARGETS.contains(&target.as_str()) {
            root_crate.extend(["--test".into(), target]);
        }
    }
    run(root, "cargo", &with_test_args(root_crate, test_args), &env)
}

/// The root crate's integration tests: one per `tests/*.rs`, as cargo discovers them.
fn root_test_targets(root: &Path) -> Result<Vec<String>, Failure> {
    let dir = root.join("tests");
    let entries = std::fs::read_dir(&dir).map_err(|e| Failure::new(format!("cannot read {}: {e}", dir.display())))?;
    let mut targets: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| path.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    Ok(targets)
}

fn ci(root: &Path) -> Result<(), Failure> {
    println!("== rustfmt");
    run(root, "cargo", &["fmt", "--all", "--", "--check"], &[])?;
    println!("== clippy");
    run(root, "cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])?;
    println!("== module graph");
    layers::check(root)?;
    setup::ensure(root, Mode::Coverage.needs())?;
    println!("== workbench JavaScript: ESLint and Prettier");
    run(root, "npm", &["run", "lint", "--prefix", "tests/browser"], &[])?;
    run_tests(root, Mode::Coverage, &[])
}
