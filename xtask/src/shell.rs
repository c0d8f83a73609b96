//! Running programs: echoed before they run, their output passed through, a failure naming
//! the command. Installs go through [`as_root`], which uses `sudo -n` for a non-root user.

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Why a task stopped, said once at the end.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn describe<S: AsRef<OsStr>>(program: &str, args: &[S]) -> String {
    let mut line = program.to_owned();
    for arg in args {
        line.push(' ');
        line.push_str(&arg.as_ref().to_string_lossy());
    }
    line
}

/// Runs `program args` in `dir` with extra environment variables; its output goes to ours.
pub fn run<S: AsRef<OsStr>>(dir: &Path, program: &str, args: &[S], env: &[(&str, &str)]) -> Result<(), Failure> {
    let line = describe(program, args);
    println!("$ {line}");
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| Failure::new(format!("cannot run `{line}`: {e}")))?;
    if status.success() { Ok(()) } else { Err(Failure::new(format!("`{line}` failed ({status})"))) }
}

/// A cargo command line with `test_args` for the test binaries (after `--`), when there are any.
pub fn with_test_args(mut args: Vec<String>, test_args: &[String]) -> Vec<String> {
    if !test_args.is_empty() {
        args.push("--".into());
        args.extend(test_args.iter().cloned());
    }
    args
}

/// Whether `program args` exits successfully, its output discarded: a probe, not a step.
pub fn succeeds<S: AsRef<OsStr>>(program: &str, args: &[S]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether `program` is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs a system command as root: directly when we are root, else through `sudo -n` (never a
/// password prompt: CI has no terminal). `what` names the dependency for the error message.
pub fn as_root<S: AsRef<OsStr>>(what: &str, program: &str, args: &[S]) -> Result<(), Failure> {
    if is_root() {
        return run(Path::new("/"), program, args, &[]);
    }
    if !on_path("sudo") {
        return Err(Failure::new(format!(
            "{what} is needed and installing it needs root; not root and no sudo: run `{}` as root",
            describe(program, args)
        )));
    }
    let mut with_sudo: Vec<&OsStr> = vec![OsStr::new("-n"), OsStr::new(program)];
    with_sudo.extend(args.iter().map(AsRef::as_ref));
    run(Path::new("/"), "sudo", &with_sudo, &[]).map_err(|e| {
        Failure::new(format!(
            "{what} is needed and `sudo -n` could not install it ({e}): run `{}` as root",
            describe(program, args)
        ))
    })
}
