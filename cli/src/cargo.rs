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
    /// The last `lines` lines of stderr then stdout, for a failure message.
    pub fn tail(&self, lines: usize) -> String {
        let all: Vec<&str> = self.stderr.lines().chain(self.stdout.lines()).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(counts, TestCounts { passed: 2, failed: 1, ignored: 1, suites: 2 });
        assert_eq!(counts.to_string(), "2 passed, 1 failed, 1 ignored");
    }
}
