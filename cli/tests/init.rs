//! `entity-spec init` scaffolds a service that builds, passes its own test and serves HTTP as
//! is.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use support::*;

#[test]
fn a_scaffolded_service_builds_tests_and_serves() {
    let root = scratch("init");
    let service = root.join("notes-service");
    scaffold(&service);
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "specs/entities.json",
        "tests/api.rs",
        "tests/conformance.rs",
        "README.md",
        ".gitignore",
        "rustfmt.toml",
        ".cargo/config.toml",
        ".github/workflows/ci.yml",
        "entity-spec.toml",
        "Dockerfile",
        ".dockerignore",
    ] {
        assert!(service.join(file).is_file(), "{file} is missing");
    }
    let manifest = std::fs::read_to_string(service.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"notes-service\""), "{manifest}");
    assert!(
        manifest.contains(&format!(
            "entity-spec = {{ path = \"{}\" }}",
            workspace_root().canonicalize().unwrap().display()
        ))
    );

    // A second init into the same place is refused rather than overwriting anything.
    let out = run(entity_spec(&root, None).args(["init", "notes-service"]));
    assert!(out.failure(1).contains("already exists and is not empty"), "{out:?}");

    // Without --entity-spec-path, the crate depends on the published release.
    let published = root.join("published");
    run(entity_spec(&root, None).args(["init", "published", "--name", "my_api"])).success();
    let manifest = std::fs::read_to_string(published.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"my_api\"") && manifest.contains("entity-spec = { version = \"0.1\" }"),
        "{manifest}"
    );
    assert!(manifest.contains("entity-spec = { version = \"0.1\", features = [\"testing\"] }"), "{manifest}");
    assert!(!published.join("Cargo.lock").exists());

    // `spec check` agrees with the starter spec, and `cargo test` runs the starter test.
    let out = run(entity_spec(&service, None).args(["spec", "check"]));
    assert!(out.success().contains("specs/entities.json: ok, 1 entity: Note (6 fields, /notes)"), "{out:?}");
    let cargo = |args: &[&str]| {
        let output = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&service)
            .env("CARGO_TARGET_DIR", services_target_dir())
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("ENTITY_SPEC_MANIFEST_DIR")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "cargo {args:?} failed:\n{text}");
        text
    };
    let tests = cargo(&["test"]);
    // The hand-written example test, and the conformance suite generated from the spec.
    assert!(tests.contains("test result: ok. 4 passed; 0 failed"), "{tests}");
    assert!(tests.contains("test note::lifecycle::create_get_replace_patch_delete ... ok"), "{tests}");
    assert!(tests.contains("test note::title::rejects_missing ... ok"), "{tests}");
    assert!(!tests.contains("FAILED"), "{tests}");
    cargo(&["build"]);
    // The gates of the scaffold's own CI workflow pass on the scaffold as written.
    cargo(&["fmt", "--all", "--", "--check"]);
    cargo(&["clippy", "--all-targets", "--", "-D", "warnings"]);

    // The binary starts, migrates a new SQLite file and answers on the port it printed.
    let database = root.join("notes.db");
    let mut child = Command::new(services_target_dir().join("debug/notes-service"))
        .current_dir(&service)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", format!("sqlite://{}", database.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first start prints the admin key once, then where each entity is served.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = None;
    let address = loop {
        let line = lines.next().expect("the service prints its address").unwrap();
        if line.trim().starts_with("esk_") {
            key = Some(line.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("Note on http://") {
            break rest.trim_end_matches("/notes").to_owned();
        }
    };
    let key = key.expect("the first start prints an admin key");
    let get = |headers: &str| {
        let mut stream = TcpStream::connect(&address).unwrap();
        let request = format!("GET /notes HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let anonymous = get("");
    let response = get(&format!("Authorization: Bearer {key}\r\n"));
    // The image's HEALTHCHECK command: the binary probes the service on BIND_ADDR.
    let binary = services_target_dir().join("debug/notes-service");
    let healthcheck = || Command::new(&binary).arg("healthcheck").env("BIND_ADDR", &address).output().unwrap();
    let healthy = healthcheck();
    child.kill().unwrap();
    child.wait().unwrap();
    let stopped = healthcheck();
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("healthy: 127.0.0.1:"), "{healthy:?}");
    assert_eq!(stopped.status.code(), Some(1), "{stopped:?}");
    assert!(String::from_utf8_lossy(&stopped.stderr).contains("unhealthy:"), "{stopped:?}");
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains(r#""items":[]"#) && response.contains(r#""total":0"#), "{response}");
}

#[test]
fn the_printed_cd_line_is_quoted_for_the_shell() {
    let root = scratch("init-quoted");
    let out = run(entity_spec(&root, None).args(["init", "Bad Name"]));
    assert!(out.success().contains("created service `bad-name` in Bad Name:"), "{out:?}");
    assert!(out.stdout.contains("next:\n  cd 'Bad Name'\n"), "{out:?}");
    assert!(root.join("Bad Name/Cargo.toml").is_file());
    let out = run(entity_spec(&root, None).args(["init", "it's"]));
    assert!(out.success().contains(r"  cd 'it'\''s'"), "{out:?}");
    // The line works when pasted into a shell.
    let pasted = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} && pwd", out.stdout.lines().find(|l| l.trim_start().starts_with("cd ")).unwrap()))
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&pasted.stdout).trim().ends_with("/it's"), "{pasted:?}");
}
