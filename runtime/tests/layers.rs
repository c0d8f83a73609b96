//! The runtime's files import downwards only: `model` → `storage` → `runs` → `http` → `serve`
//! (see `src/lib.rs`). A file may use its own layer and the layers before it, never a later
//! one, and the files of the crate import each other without a cycle.
//!
//! Read from the source: every `crate::…` path outside comments is an import of the file it
//! names. Paths go to the file that defines an item (`crate::storage::db::Db`), not through a
//! layer's `mod.rs` or a re-export in `lib.rs`, so the graph below is the real one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// The layers, bottom first.
const LAYERS: [&str; 5] = ["model", "storage", "runs", "http", "serve"];

/// A source file and the module path it is compiled as (`["storage", "db"]`).
struct SourceFile {
    module: Vec<String>,
    text: String,
}

fn source_files() -> BTreeMap<PathBuf, SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).expect("under src").to_path_buf();
                let mut module: Vec<String> =
                    relative.with_extension("").iter().map(|c| c.to_string_lossy().into_owned()).collect();
                if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                files.insert(relative, SourceFile { module, text });
            }
        }
    }
    // `#[path = "…"] mod name;` compiles a file as a child of the declaring module.
    let attribute = Regex::new(r#"#\[path = "([^"]+)"\]\s*(?:pub(?:\([a-z]+\))? )?mod ([a-z_]+);"#).unwrap();
    let mut moved = Vec::new();
    for (relative, file) in &files {
        for found in attribute.captures_iter(&file.text) {
            let target = relative.parent().unwrap_or(Path::new("")).join(&found[1]);
            let target: PathBuf = normalize(&target);
            let mut module = file.module.clone();
            module.push(found[2].to_owned());
            moved.push((target, module));
        }
    }
    for (target, module) in moved {
        files.get_mut(&target).unwrap_or_else(|| panic!("#[path] names a missing file {target:?}")).module = module;
    }
    files
}

fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for part in path.iter() {
        if part == ".." {
            parts.pop();
        } else if part != "." {
            parts.push(part);
        }
    }
    parts.iter().collect()
}

/// The code of a file without comment lines (doc links may point anywhere).
fn code(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter(|(_, line)| !line.trim_start().starts_with("//")).map(|(i, line)| (i + 1, line))
}

/// Names `lib.rs` re-exports for generated code (`actions` → `http::action_routes`): a file
/// that still names one is resolved through it.
fn root_aliases(lib: &str) -> BTreeMap<String, Vec<String>> {
    let single = Regex::new(r"^\s*(?:pub )?use ([a-z_]+(?:::[a-z_]+)*)::([a-z_]+)(?: as ([a-z_]+))?;").unwrap();
    let group = Regex::new(r"^\s*(?:pub )?use ([a-z_]+(?:::[a-z_]+)*)::\{([^}]*)\};").unwrap();
    let mut aliases = BTreeMap::new();
    for (_, line) in code(lib) {
        if let Some(found) = single.captures(line) {
            let mut target: Vec<String> = found[1].split("::").map(str::to_owned).collect();
            target.push(found[2].to_owned());
            let name = found.get(3).map_or(&found[2], |m| m.as_str()).to_owned();
            aliases.insert(name, target);
        } else if let Some(found) = group.captures(line) {
            for name in found[2].split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let mut target: Vec<String> = found[1].split("::").map(str::to_owned).collect();
                target.push(name.to_owned());
                aliases.insert(name.to_owned(), target);
            }
        }
    }
    aliases
}

fn layer_of(module: &[String]) -> Option<usize> {
    LAYERS.iter().position(|layer| module.first().is_some_and(|first| first == layer))
}

#[test]
fn files_import_only_their_own_layer_and_the_layers_below_without_cycles() {
    let files = source_files();
    let by_module: BTreeMap<&[String], &PathBuf> = files.iter().map(|(path, f)| (f.module.as_slice(), path)).collect();
    let aliases = root_aliases(&files[Path::new("lib.rs")].text);
    let path = Regex::new(r"\bcrate::([a-z_]+(?:::[a-z_]+)*)").unwrap();
    // `super::Item` within a file's inline modules is fine; `super::file::…` hides an import.
    let sibling = Regex::new(r"\bsuper::(?:super|[a-z_]+::)").unwrap();
    let mut problems = Vec::new();
    let mut graph: BTreeMap<&PathBuf, BTreeSet<&PathBuf>> = BTreeMap::new();
    for (source, file) in &files {
        if file.module.is_empty() {
            continue; // lib.rs: the table of contents and the re-exports for generated code
        }
        let Some(own_layer) = layer_of(&file.module) else {
            problems.push(format!("{source:?} is in no layer: put it under one of {LAYERS:?}"));
            continue;
        };
        for (line_number, line) in code(&file.text) {
            if line.contains("crate::{") {
                problems.push(format!("{source:?}:{line_number}: import one `crate::` path at a time"));
            }
            if sibling.is_match(line) {
                problems.push(format!("{source:?}:{line_number}: name other files by `crate::` paths, not `super::`"));
            }
            for found in path.captures_iter(line) {
                let mut segments: Vec<String> = found[1].split("::").map(str::to_owned).collect();
                if let Some(target) = aliases.get(&segments[0]).filter(|_| layer_of(&segments[..1]).is_none()) {
                    segments.splice(..1, target.iter().cloned());
                }
                // The longest module prefix that is a file is the file imported.
                let Some((target_module, target)) =
                    (1..=segments.len()).rev().find_map(|n| by_module.get_key_value(&segments[..n]))
                else {
                    problems.push(format!("{source:?}:{line_number}: `crate::{}` names no file", &found[1]));
                    continue;
                };
                let Some(target_layer) = layer_of(target_module) else {
                    problems.push(format!("{source:?}:{line_number}: `crate::{}` goes through lib.rs", &found[1]));
                    continue;
                };
                if target_module.len() == 1 {
                    problems.push(format!(
                        "{source:?}:{line_number}: `crate::{}` goes through a layer's mod.rs; name the file that defines it",
                        &found[1]
                    ));
                }
                if target_layer > own_layer {
                    problems.push(format!(
                        "{source:?}:{line_number}: the {} layer imports `crate::{}` from the {} layer above it",
                        LAYERS[own_layer], &found[1], LAYERS[target_layer]
                    ));
                }
                if *target != source {
                    graph.entry(source).or_default().insert(target);
                }
            }
        }
    }
    problems.extend(cycles(&graph).into_iter().map(|cycle| format!("import cycle: {cycle}")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every cycle found by a depth-first search, as `a -> b -> a`.
fn cycles(graph: &BTreeMap<&PathBuf, BTreeSet<&PathBuf>>) -> Vec<String> {
    fn visit<'a>(
        node: &'a PathBuf,
        graph: &BTreeMap<&'a PathBuf, BTreeSet<&'a PathBuf>>,
        stack: &mut Vec<&'a PathBuf>,
        done: &mut BTreeSet<&'a PathBuf>,
        found: &mut Vec<String>,
    ) {
        if let Some(start) = stack.iter().position(|n| *n == node) {
            let names: Vec<String> = stack[start..].iter().chain([&node]).map(|p| p.display().to_string()).collect();
            found.push(names.join(" -> "));
            return;
        }
        if !done.insert(node) {
            return;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, found);
        }
        stack.pop();
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}
