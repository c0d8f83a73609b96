//! Running `cargo build` and `cargo test` in the user's project, and reading the test counts.

use std::fmt;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

/// What one cargo run produced.
pub struct CargoRun {
    /// How it exited.
    pub status: ExitStatus,
    /// Everything it printed on stdout (test results go there).
    pub stdout: String,
    /// Everything it printed on stderr (compiler messages go there).
    pub stderr: String,
    /// How long it took.
    pub elapsed: Duration,
}

impl CargoRun {
    /// The last `lines` lines of stderr then stdout for a failure message, without backtrace
    /// frames: with `RUST_BACKTRACE=1` they would fill the tail and push out the panic message
    /// and the failing assertion, which are what the reader needs.
    pub fn failure_tail(&self, lines: usize) -> String {
        failure_tail(&format!("{}\n{}", self.stderr, self.stdout), lines)
    }
}

/// See [`CargoRun::failure_tail`]. A panic's own lines (`panicked at`, `left:`/`right:`, the
/// message) are kept; the `stack backtrace:` block after it is replaced by one line.
fn failure_tail(output: &str, lines: usize) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut in_backtrace = false;
    for line in output.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("stack backtrace:") {
            in_backtrace = true;
            kept.push("(backtrace omitted)");
            continue;
        }
        if in_backtrace {
            if is_backtrace_frame(trimmed) {
                continue;
            }
            in_backtrace = false;
        }
        if trimmed.starts_with("note: Some details are omitted") {
            continue;
        }
        if line.trim().is_empty() && kept.last().is_some_and(|l| l.trim().is_empty()) {
            continue;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    kept[kept.len().saturating_sub(lines)..].join("\n")
}

/// `  12: core::panicking::panic_fmt` or `             at /rustc/…/panicking.rs:75:14`.
fn is_backtrace_frame(line: &str) -> bool {
    if line.starts_with("at ") {
        return true;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && line[digits..].starts_with(": ")
}

/// Runs `cargo <args>` like [`run`]; when stderr is a terminal, a line there shows how long it
/// has been running (a first build of a service takes minutes). Redirected output stays clean.
pub fn run_with_progress(dir: &Path, args: &[&str], what: &str) -> Result<CargoRun> {
    use std::io::{IsTerminal as _, Write as _};
    use std::sync::atomic::{AtomicBool, Ordering};
    if !std::io::stderr().is_terminal() {
        return run(dir, args);
    }
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let ticker = {
        let done = done.clone();
        let what = what.to_owned();
        std::thread::spawn(move || {
            let started = Instant::now();
            while !done.load(Ordering::Relaxed) {
                eprint!("\r      {what}: running, {}s", started.elapsed().as_secs());
                let _ = std::io::stderr().flush();
                std::thread::sleep(Duration::from_millis(250));
            }
            // Clear the line, so the step line that follows starts clean.
            eprint!("\r\x1b[2K");
        })
    };
    let result = run(dir, args);
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    result
}

/// Runs `cargo <args>` in `dir`, capturing its output.
pub fn run(dir: &Path, args: &[&str]) -> Result<CargoRun> {
    // Use the cargo that runs us when there is one, as cargo's own subcommands do.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = Command::new(&cargo)
        .args(args)
        .current_dir(dir)
        // Build scripts and tests of any dependency run here; they have no business with the
        // GitHub token.
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .output()
        .with_context(|| format!("cannot run `{} {}`", cargo.to_string_lossy(), args.join(" ")))?;
    Ok(CargoRun {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    })
}

/// The totals of every `test result:` line cargo test printed (one per test binary and one
/// for doc-tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked `#[ignore]`.
    pub ignored: u64,
    /// How many `test result:` lines there were.
    pub suites: u64,
    /// Of the passed tests, how many are the generated conformance tests of the entity the
    /// run is about (`{entity}::…`), when counted (see [`count_generated`]).
    pub generated: Option<u64>,
}

impl fmt::Display for TestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.ignored > 0 {
            write!(f, ", {} ignored", self.ignored)?;
        }
        Ok(())
    }
}

/// Sums lines like `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s`.
pub fn parse_test_counts(output: &str) -> TestCounts {
    let mut counts = TestCounts::default();
    for line in output.lines() {
        let Some((_, rest)) = line.split_once("test result:") else { continue };
        counts.suites += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else { continue };
            let Ok(number) = number.parse::<u64>() else { continue };
            match label {
                "passed" => counts.passed += number,
                "failed" => counts.failed += number,
                "ignored" => counts.ignored += number,
                _ => {}
            }
        }
    }
    counts
}

/// Passed tests of the generated conformance suite of one entity: lines
/// `test {module}::… ... ok`, where `module` is the entity's snake-case name (the suite names
/// its tests `raw_data_source::name::rejects_101_characters`).
pub fn count_generated(output: &str, module: &str) -> u64 {
    let prefix = format!("test {module}::");
    output.lines().filter(|line| line.starts_with(&prefix) && line.ends_with(" ... ok")).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tests_are_counted_per_entity() {
        let output = "running 3 tests\n\
            test raw_data_source::name::rejects_101_characters ... ok\n\
            test raw_data_source::lifecycle::create_get_replace_patch_delete ... ok\n\
            test raw_data_source_extra::x ... ok\n\
            test note::title::rejects_missing ... ok\n\
            test raw_data_source::name::accepts_100_characters ... FAILED\n";
        assert_eq!(count_generated(output, "raw_data_source"), 2);
        assert_eq!(count_generated(output, "note"), 1);
        assert_eq!(count_generated(output, "book"), 0);
    }

    #[test]
    fn failure_tails_skip_backtrace_frames_and_keep_the_assertion() {
        let mut output = String::from(
            "running 1 test\ntest spec_has_no_tag ... FAILED\n\nfailures:\n\n---- spec_has_no_tag stdout ----\n\nthread 'spec_has_no_tag' panicked at tests/spec.rs:4:5:\nassertion `left == right` failed: the spec holds Tag\n  left: 2\n right: 1\nstack backtrace:\n",
        );
        for frame in 0..60 {
            output.push_str(&format!("  {frame:>2}: core::panicking::frame_{frame}\n             at /rustc/abc/library/core/src/panicking.rs:{frame}:5\n"));
        }
        output.push_str("note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n\nfailures:\n    spec_has_no_tag\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n");
        let tail = failure_tail(&output, 40);
        assert!(tail.contains("panicked at tests/spec.rs:4:5:"), "{tail}");
        assert!(tail.contains("  left: 2\n right: 1\n(backtrace omitted)"), "{tail}");
        assert!(
            tail.ends_with(
                "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"
            ),
            "{tail}"
        );
        assert!(!tail.contains("core::panicking"), "{tail}");
    }

    #[test]
    fn counts_are_summed_over_every_test_binary() {
        let output = "\
running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

running 3 tests
test a ... ok
test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.05s
";
        let counts = parse_test_counts(output);
        assert_eq!(counts, TestCounts { passed: 2, failed: 1, ignored: 1, suites: 2, generated: None });
        assert_eq!(counts.to_string(), "2 passed, 1 failed, 1 ignored");
    }
}
