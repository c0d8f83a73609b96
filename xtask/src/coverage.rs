//! Coverage: CI runs the whole suite once, instrumented by `cargo llvm-cov`, then sums its lcov
//! report per crate, prints the table and fails under the floors below.
//!
//! The floors are the values measured when they were set, minus one point, and only ever go
//! up: raise one when a change lifts its crate, never lower it to let a change in.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::shell::{Failure, run, with_test_args};

/// Where the report is written, relative to the workspace root.
const LCOV_PATH: &str = "target/llvm-cov/lcov.info";

/// A crate's folder and its floors: `(folder, lines %, functions %)`.
type Floor = (&'static str, f64, f64);

/// The crates the table shows, by folder, with their floors (the facade `entity-spec` is only
/// re-exports). Set from `.ci/run` on a51f8ed (2026-11-30), lines / functions measured:
/// contract 98.1 / 98.7, codegen 94.6 / 97.1, macros 85.2 / 66.7, runtime 90.1 / 86.8, cli
/// 89.9 / 87.4; each floor one point under. `serve/launch.rs`, the service binary's `main`,
/// runs only in the child processes of the CLI's scaffold tests, which are not instrumented.
const FLOORS: &[Floor] = &[
    ("contract", 97.1, 97.7),
    ("codegen", 93.6, 96.1),
    ("macros", 84.2, 65.7),
    ("runtime", 89.1, 85.8),
    ("cli", 88.9, 86.4),
];

/// How many of the least-covered files the table lists after the per-crate sums.
const WORST_FILES: usize = 12;

/// Lines and functions found and hit, summed over some files.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
struct Counts {
    lines: u64,
    lines_hit: u64,
    functions: u64,
    functions_hit: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.lines += other.lines;
        self.lines_hit += other.lines_hit;
        self.functions += other.functions;
        self.functions_hit += other.functions_hit;
    }

    fn lines_percent(&self) -> f64 {
        percent(self.lines_hit, self.lines)
    }

    fn functions_percent(&self) -> f64 {
        percent(self.functions_hit, self.functions)
    }
}

fn percent(hit: u64, found: u64) -> f64 {
    if found == 0 { 100.0 } else { hit as f64 * 100.0 / found as f64 }
}

/// Per-file counts from an lcov tracefile (`SF:` opens a file's record, `LF`/`LH` count lines,
/// `FNF`/`FNH` functions, `end_of_record` closes it), paths relative to `root`.
fn parse_lcov(text: &str, root: &Path) -> BTreeMap<String, Counts> {
    let mut files = BTreeMap::new();
    let mut current: Option<(String, Counts)> = None;
    for line in text.lines() {
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        let number = || value.trim().parse::<u64>().unwrap_or(0);
        match (key, current.as_mut()) {
            ("SF", _) => {
                let path = Path::new(value);
                let relative = path.strip_prefix(root).unwrap_or(path);
                current = Some((relative.to_string_lossy().into_owned(), Counts::default()));
            }
            ("LF", Some((_, counts))) => counts.lines = number(),
            ("LH", Some((_, counts))) => counts.lines_hit = number(),
            ("FNF", Some((_, counts))) => counts.functions = number(),
            ("FNH", Some((_, counts))) => counts.functions_hit = number(),
            ("end_of_record", Some(_)) => {
                if let Some((path, counts)) = current.take() {
                    files.entry(path).or_insert_with(Counts::default).add(counts);
                }
            }
            _ => {}
        }
    }
    files
}

/// The crate folder a workspace file belongs to, for the crates the table shows; tests,
/// examples and xtask are not measured.
fn crate_of(path: &str, floors: &[Floor]) -> Option<&'static str> {
    floors.iter().map(|(folder, ..)| *folder).find(|folder| path.starts_with(&format!("{folder}/src/")))
}

/// Runs every test under `cargo llvm-cov` (with `test_args` for the test binaries and `env`),
/// then [`check`]s the report. Earlier profiles are cleared first, so that the figures are this
/// run's alone.
pub fn measure(root: &Path, test_args: &[String], env: &[(&str, &str)]) -> Result<(), Failure> {
    run(root, "cargo", &["llvm-cov", "clean", "--workspace"], &[])?;
    let report = root.join(LCOV_PATH);
    if let Some(dir) = report.parent() {
        // llvm-cov writes the report but does not create its folder.
        std::fs::create_dir_all(dir).map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    // `cargo test` builds the examples too, but the instrumented run builds test targets only:
    // the example binary tests start as a child process (tests/multi_instance.rs) is built here,
    // instrumented like the rest, and kept by the run below (`--no-clean`; cleaned above).
    run(root, "cargo", &["llvm-cov", "run", "--no-report", "--example", "raw_data_sources", "--", "--help"], env)?;
    let args = ["llvm-cov", "--no-clean", "--workspace", "--lcov", "--output-path", LCOV_PATH].map(String::from);
    run(root, "cargo", &with_test_args(args.into(), test_args), env)?;
    check(root)
}

/// Reads the report, prints the table and checks the floors.
fn check(root: &Path) -> Result<(), Failure> {
    let path = root.join(LCOV_PATH);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::new(format!("cannot read the coverage report {}: {e}", path.display())))?;
    let files = parse_lcov(&text, root);
    let (table, shortfalls) = summarize(&files, FLOORS);
    print!("{table}");
    if shortfalls.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!("coverage fell under its floor: {}", shortfalls.join("; "))))
    }
}

/// The printed table and each crate that fell under its floor.
fn summarize(files: &BTreeMap<String, Counts>, floors: &[Floor]) -> (String, Vec<String>) {
    let mut per_crate: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut measured: Vec<(&str, Counts)> = Vec::new();
    for (path, counts) in files {
        if let Some(krate) = crate_of(path, floors) {
            per_crate.entry(krate).or_default().add(*counts);
            measured.push((path, *counts));
        }
    }
    let mut table = String::from("== coverage (cargo llvm-cov, the whole suite)\n");
    let _ = writeln!(table, "{:<10} {:>8} {:>10} {:>12} {:>10}", "crate", "lines", "floor", "functions", "floor");
    let mut total = Counts::default();
    let mut shortfalls = Vec::new();
    for (folder, line_floor, function_floor) in floors {
        let counts = per_crate.get(folder).copied().unwrap_or_default();
        total.add(counts);
        let (lines, functions) = (counts.lines_percent(), counts.functions_percent());
        let _ =
            writeln!(table, "{folder:<10} {lines:>7.1}% {line_floor:>9.1}% {functions:>11.1}% {function_floor:>9.1}%");
        if lines < *line_floor {
            shortfalls.push(format!("{folder} lines {lines:.1}% < {line_floor:.1}%"));
        }
        if functions < *function_floor {
            shortfalls.push(format!("{folder} functions {functions:.1}% < {function_floor:.1}%"));
        }
    }
    let _ = writeln!(
        table,
        "{:<10} {:>7.1}% {:>10} {:>11.1}%",
        "all",
        total.lines_percent(),
        "",
        total.functions_percent()
    );
    measured.sort_by(|a, b| a.1.lines_percent().total_cmp(&b.1.lines_percent()).then(a.0.cmp(b.0)));
    let _ = writeln!(table, "least covered files (lines hit / found):");
    for (path, counts) in measured.iter().take(WORST_FILES) {
        let _ = writeln!(
            table,
            "  {:>5.1}%  {:>5} / {:<5}  {path}",
            counts.lines_percent(),
            counts.lines_hit,
            counts.lines
        );
    }
    (table, shortfalls)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
SF:/repo/runtime/src/a.rs
FNF:4
FNH:3
LF:10
LH:9
end_of_record
SF:/repo/runtime/src/b.rs
FNF:1
FNH:1
LF:10
LH:5
end_of_record
SF:/repo/src/lib.rs
LF:2
LH:2
end_of_record
SF:/repo/tests/support/mod.rs
LF:100
LH:0
end_of_record
";

    #[test]
    fn sums_files_per_crate_and_leaves_tests_out() {
        let files = parse_lcov(REPORT, Path::new("/repo"));
        assert_eq!(files["runtime/src/a.rs"], Counts { lines: 10, lines_hit: 9, functions: 4, functions_hit: 3 });
        assert_eq!(crate_of("tests/support/mod.rs", FLOORS), None);
        assert_eq!(crate_of("src/lib.rs", FLOORS), None);
        assert_eq!(crate_of("runtime/src/b.rs", FLOORS), Some("runtime"));
        let (table, _) = summarize(&files, FLOORS);
        assert!(table.contains("runtime       70.0%"), "{table}");
        // The least-covered measured file comes first; test support is not listed.
        let listed: Vec<&str> = table.lines().skip_while(|l| !l.starts_with("least")).skip(1).collect();
        assert!(listed[0].ends_with("runtime/src/b.rs") && !table.contains("tests/support"), "{table}");
    }

    #[test]
    fn a_crate_under_its_floor_is_named() {
        let mut files = BTreeMap::new();
        files.insert(
            "codegen/src/x.rs".to_owned(),
            Counts { lines: 100, lines_hit: 1, functions: 10, functions_hit: 1 },
        );
        let floors = [("codegen", 90.0, 5.0), ("runtime", 90.0, 90.0)];
        let (table, shortfalls) = summarize(&files, &floors);
        // An absent crate counts as fully covered (nothing to cover), not as a failure.
        assert_eq!(shortfalls, ["codegen lines 1.0% < 90.0%"], "{table}");
    }
}
