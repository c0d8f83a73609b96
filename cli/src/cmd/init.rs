//! `entity-spec init DIR`: a new service crate that uses the macro, ready to `cargo run` and
//! `cargo test`: a starter spec, a `main` like the reference example, and an integration test
//! that drives the generated router.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

const CARGO_TOML: &str = include_str!("../../templates/init/Cargo.toml.in");
const MAIN_RS: &str = include_str!("../../templates/init/main.rs");
const SPEC: &str = include_str!("../../templates/init/entities.json");
const TEST: &str = include_str!("../../templates/init/api.rs");
const CONFORMANCE_TEST: &str = include_str!("../../templates/init/conformance.rs");
const README: &str = include_str!("../../templates/init/README.md");
const GITIGNORE: &str = include_str!("../../templates/init/gitignore");
const CI_WORKFLOW: &str = include_str!("../../templates/init/ci.yml");
const REPO_CONFIG: &str = include_str!("../../templates/init/entity-spec.toml");
const RUSTFMT: &str = include_str!("../../templates/init/rustfmt.toml");
const CARGO_CONFIG: &str = include_str!("../../templates/init/cargo-config.toml");
const DOCKERFILE: &str = include_str!("../../templates/init/Dockerfile");
const DOCKERIGNORE: &str = include_str!("../../templates/init/dockerignore");

/// The entity-spec release the scaffold depends on by default.
const ENTITY_SPEC_VERSION: &str = "0.1";

/// Flags of `entity-spec init`.
#[derive(clap::Args)]
pub struct Args {
    /// The directory to create (it may exist if it is empty).
    dir: PathBuf,
    /// The package name [default: the directory's name].
    #[arg(long)]
    name: Option<String>,
    /// Depend on a local entity-spec checkout instead of crates.io; its Cargo.lock is copied
    /// too, so the first build uses the versions that checkout is tested with.
    #[arg(long, value_name = "PATH")]
    entity_spec_path: Option<PathBuf>,
}

/// Writes the crate.
pub fn exec(args: Args) -> Result<ExitCode> {
    let dir = &args.dir;
    if dir.exists()
        && std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?.next().is_some()
    {
        bail!("{} already exists and is not empty", dir.display());
    }
    let name = match args.name {
        Some(name) => name,
        None => package_name(dir)?,
    };
    if !valid_package_name(&name) {
        bail!(
            "`{name}` is not a valid package name (letters, digits, `-` and `_`, starting with a letter); pass --name"
        );
    }
    let (dependency, lock) = match &args.entity_spec_path {
        None => (format!("version = \"{ENTITY_SPEC_VERSION}\""), None),
        Some(path) => {
            let path = path.canonicalize().with_context(|| format!("no entity-spec checkout at {}", path.display()))?;
            let manifest = std::fs::read_to_string(path.join("Cargo.toml"))
                .with_context(|| format!("no Cargo.toml in {}", path.display()))?;
            if !manifest.lines().any(|l| l.trim() == "name = \"entity-spec\"") {
                bail!(
                    "{} is not an entity-spec checkout (its Cargo.toml is not package `entity-spec`)",
                    path.display()
                );
            }
            let lock = std::fs::read_to_string(path.join("Cargo.lock")).ok();
            (format!("path = {}", toml_string(&path.display().to_string())), lock)
        }
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", &name)
            .replace("{{db_name}}", &name.replace('-', "_"))
            .replace("{{entity_spec}}", &format!("{{ {dependency} }}"))
            // The tests' own copy: the conformance suite's harness is behind this feature.
            .replace("{{entity_spec_testing}}", &format!("{{ {dependency}, features = [\"testing\"] }}"))
            .replace("{{cli_version}}", env!("CARGO_PKG_VERSION"))
            .replace("{{spec}}", crate::crate_spec::DEFAULT_SPEC)
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/main.rs", fill(MAIN_RS)),
        ("specs/entities.json", SPEC.to_owned()),
        ("tests/api.rs", fill(TEST)),
        ("tests/conformance.rs", CONFORMANCE_TEST.to_owned()),
        ("README.md", fill(README)),
        (".gitignore", GITIGNORE.to_owned()),
        ("rustfmt.toml", RUSTFMT.to_owned()),
        (".cargo/config.toml", CARGO_CONFIG.to_owned()),
        (".github/workflows/ci.yml", fill(CI_WORKFLOW)),
        ("Dockerfile", fill(DOCKERFILE)),
        (".dockerignore", DOCKERIGNORE.to_owned()),
        (crate::repo_config::FILE_NAME, REPO_CONFIG.to_owned()),
    ];
    for (path, text) in
        files.iter().map(|(p, t)| (p.to_string(), t)).chain(lock.iter().map(|l| ("Cargo.lock".to_owned(), l)))
    {
        write(&dir.join(path), text)?;
    }
    println!("created service `{name}` in {}:", dir.display());
    for (path, _) in &files {
        println!("  {path}");
    }
    if args.entity_spec_path.is_some() {
        // The workflow runs on GitHub's machines, where this checkout is not.
        println!(
            "note: .github/workflows/ci.yml can build on GitHub only once the entity-spec dependency in Cargo.toml is a release (or a git URL), not a path on this machine"
        );
    }
    println!(
        "next:\n  cd {}\n  cargo run     # http://127.0.0.1:8000/notes, docs at /docs\n  cargo test",
        shell_quote(&dir.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The directory's name as a package name: lower case, other characters as `-`.
fn package_name(dir: &Path) -> Result<String> {
    let absolute = std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let base = absolute.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    Ok(name.trim_matches('-').to_owned())
}

fn valid_package_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A word a POSIX shell reads back as `text`: as is when it holds only characters no shell
/// treats specially, else single-quoted (a `'` inside becomes `'\''`), so the printed `cd`
/// line can be pasted whatever the directory is called.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':' | '@' | '%');
    if !text.is_empty() && text.chars().all(plain) && !text.starts_with('-') {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '\\' => vec!['\\', '\\'],
            '"' => vec!['\\', '"'],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_come_from_the_directory() {
        assert_eq!(package_name(Path::new("/tmp/My Service")).unwrap(), "my-service");
        assert!(valid_package_name("registry_2"));
        assert!(!valid_package_name("2registry"));
        assert_eq!(toml_string(r#"C:\x "y""#), r#""C:\\x \"y\"""#);
    }

    #[test]
    fn directories_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote("../my-registry"), "../my-registry");
        assert_eq!(shell_quote("Bad Name"), "'Bad Name'");
        assert_eq!(shell_quote("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(shell_quote("-x"), "'-x'");
    }

    #[test]
    fn the_repository_settings_file_reads_back_with_auto_merge_on() {
        let config: crate::repo_config::RepoConfig = toml::from_str(REPO_CONFIG).unwrap();
        assert!(config.implement.auto_merge);
    }

    #[test]
    fn the_starter_spec_passes_the_macro_checks() {
        let ir = entity_spec_codegen::check_spec(SPEC).unwrap();
        assert_eq!(ir.entities[0].collection_path, "/notes");
    }
}
