//! Which crate `implement` works on and which spec file its macro reads. The macro resolves
//! its path against the crate's manifest directory, not the shell's current directory, so a
//! spec path taken from the current directory (run from `src/`, say) names a file the build
//! never reads: the build would pass and the entity would silently be missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The spec the macro uses when no `#[entity_spec("…")]` attribute can be found.
pub const DEFAULT_SPEC: &str = "specs/entities.json";

/// The crate and its spec file.
#[derive(Debug)]
pub struct CrateSpec {
    /// The directory holding the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR` for the macro).
    pub crate_dir: PathBuf,
    /// The spec file, absolute.
    pub path: PathBuf,
    /// The path as the macro is given it: relative to the crate directory.
    pub label: String,
}

/// Finds the crate around `dir` (as `cargo locate-project` does) and the spec its macro reads.
/// `flag` is `--spec`, relative to the crate directory like the macro's own path. A spec file
/// that neither exists nor is named by an `#[entity_spec]` attribute is refused: creating it
/// would change nothing the build reads.
pub fn locate(dir: &Path, flag: Option<&str>) -> Result<CrateSpec> {
    let crate_dir = crate_dir(dir)?;
    let read_by_macro = macro_spec_paths(&crate_dir);
    let label = match (flag, read_by_macro.as_slice()) {
        (Some(flag), _) => normalize(flag),
        (None, [only]) => only.clone(),
        (None, []) => DEFAULT_SPEC.to_owned(),
        (None, several) => bail!(
            "the crate at {} has #[entity_spec] attributes reading {} spec files ({}); pass --spec PATH (relative to the crate) to choose one",
            crate_dir.display(),
            several.len(),
            several.join(", ")
        ),
    };
    let path = crate_dir.join(&label);
    let named = read_by_macro.contains(&label);
    if !read_by_macro.is_empty() && !named {
        bail!(
            "no #[entity_spec] attribute in the crate at {} reads `{label}` (they read {}); a change there would not reach the build",
            crate_dir.display(),
            read_by_macro.join(", ")
        );
    }
    if !named && !path.is_file() {
        bail!(
            "there is no spec file `{label}` in the crate at {} and no #[entity_spec(\"{label}\")] reads one; refusing to create it. Run from inside the service's crate, or pass --spec with the path its #[entity_spec] attribute names",
            crate_dir.display()
        );
    }
    Ok(CrateSpec { crate_dir, path, label })
}

/// The directory of the `Cargo.toml` around `dir`, from `cargo locate-project` (the same search
/// cargo itself does, so a nested crate or a workspace member is found as `cargo build` would).
fn crate_dir(dir: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["locate-project", "--message-format", "plain"])
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run `{} locate-project`", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "no Cargo.toml in {} or any directory above it; run `implement` inside the service's crate ({})",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim().trim_start_matches("error: ")
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    manifest.parent().map(Path::to_path_buf).context("`cargo locate-project` printed a path without a directory")
}

/// Every distinct path given to `#[entity_spec("…")]` in the crate's Rust files (`src/`,
/// `tests/`, `examples/`, `benches/`), in the order found. A plain text search: the attribute's
/// argument is a string literal, and a false match only makes the refusal above stricter.
fn macro_spec_paths(crate_dir: &Path) -> Vec<String> {
    let mut paths = Vec::new();
    for folder in ["src", "tests", "examples", "benches"] {
        let mut files = Vec::new();
        rust_files(&crate_dir.join(folder), &mut files, 0);
        files.sort();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            for path in attribute_paths(&text) {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
    }
    paths
}

/// `.rs` files under `dir`, a few levels deep (a crate's sources, never `target/`).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && depth < 8 {
            rust_files(&path, out, depth + 1);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string arguments of `entity_spec("…")` in Rust source (`#[entity_spec(…)]` or
/// `#[entity_spec::entity_spec(…)]`), skipping comment lines (a path may itself hold `//`).
fn attribute_paths(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("entity_spec(") {
            rest = &rest[at + "entity_spec(".len()..];
            let Some(literal) = rest.trim_start().strip_prefix('"') else { continue };
            if let Some(end) = literal.find('"') {
                found.push(normalize(&literal[..end]));
            }
        }
    }
    found
}

/// `./specs//entities.json` → `specs/entities.json`, so two spellings of one file compare equal.
fn normalize(path: &str) -> String {
    path.split('/').filter(|part| !part.is_empty() && *part != ".").collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_paths_are_read_from_both_spellings_and_comments_are_skipped() {
        let source = r#"
#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}
// #[entity_spec("old/spec.json")]
#[entity_spec( "./other//spec.json" )] mod other {}
"#;
        assert_eq!(attribute_paths(source), ["specs/entities.json", "other/spec.json"]);
    }
}
