//! The module-graph check: within each crate, no two files may import each other, directly or
//! through others. A cycle means two files each need the other, so neither can be read,
//! tested or moved alone. A crate with declared layers ([`LAYERED`]) also keeps every arrow
//! pointing down: a file imports from its own layer and the ones before it, never a later one.
//!
//! The graph is read from the source text: a file is a node; `crate::…`, `super::…`,
//! `self::…` paths and `use child::…` are arrows to the file that defines the named item, with
//! `pub use` re-exports followed to where the item really lives (so importing `crate::Db`
//! points at the file defining `Db`, not at `lib.rs`). `#[cfg(test)]` modules are left out:
//! tests may reach anywhere. Comments and string literals are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::shell::Failure;

/// Crates whose top-level modules are layers, bottom first (see docs/architecture.md).
const LAYERED: &[(&str, &[&str])] =
    &[("runtime/src/lib.rs", &["model", "egress", "storage", "runs", "auth", "http", "serve", "testing"])];

pub fn check(root: &Path) -> Result<(), Failure> {
    let mut problems = Vec::new();
    let mut files = 0;
    for crate_root in crate_roots(root) {
        let graph = Graph::read(&crate_root);
        files += graph.modules.len();
        for cycle in graph.cycles() {
            problems.push(graph.describe(root, &cycle));
        }
        let relative = crate_root.strip_prefix(root).unwrap_or(&crate_root);
        if let Some((_, layers)) = LAYERED.iter().find(|(path, _)| relative == Path::new(path)) {
            problems.extend(graph.layer_violations(root, layers));
        }
    }
    if problems.is_empty() {
        println!("module graph: {files} files, no cycle, every layer imports downwards");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    Err(Failure::new(format!(
        "{} module-graph problem(s); move the shared item to a module both can import, in the lower layer",
        problems.len()
    )))
}

/// `lib.rs` and `main.rs` of the root crate and of every crate folder beside it.
fn crate_roots(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join("src")];
    if let Ok(entries) = std::fs::read_dir(root) {
        let mut members: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.join("Cargo.toml").is_file())
            .map(|path| path.join("src"))
            .collect();
        members.sort();
        dirs.extend(members);
    }
    dirs.iter().flat_map(|dir| ["lib.rs", "main.rs"].map(|name| dir.join(name))).filter(|path| path.is_file()).collect()
}

/// A module path from the crate root, e.g. `["storage", "db"]`.
type ModPath = Vec<String>;

struct Module {
    file: PathBuf,
    /// Module paths named in the file (absolute), with the line they are on.
    references: Vec<(ModPath, usize)>,
    /// `pub use` re-exports: exported name → the absolute path of what it names.
    reexports: BTreeMap<String, ModPath>,
    /// `pub use path::*`: the modules whose items this one re-exports wholesale.
    globs: Vec<ModPath>,
}

struct Graph {
    modules: BTreeMap<ModPath, Module>,
}

impl Graph {
    fn read(crate_root: &Path) -> Graph {
        let mut graph = Graph { modules: BTreeMap::new() };
        let mut pending = vec![(Vec::new(), crate_root.to_path_buf())];
        while let Some((path, file)) = pending.pop() {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let source = Source::scan(&text);
            let children_dir = child_dir(&file);
            for child in &source.child_modules {
                let candidates = [children_dir.join(format!("{child}.rs")), children_dir.join(child).join("mod.rs")];
                if let Some(found) = candidates.into_iter().find(|c| c.is_file()) {
                    let mut child_path = path.clone();
                    child_path.push(child.clone());
                    pending.push((child_path, found));
                }
            }
            let absolute = |raw: &RawPath| absolute_path(&path, &source.child_modules, raw);
            let references = source.paths.iter().filter_map(|(raw, line)| Some((absolute(raw)?, *line))).collect();
            let mut reexports = BTreeMap::new();
            let mut globs = Vec::new();
            for (name, raw) in &source.reexports {
                let Some(target) = absolute(raw) else { continue };
                match name {
                    Some(name) => {
                        reexports.insert(name.clone(), target);
                    }
                    None => globs.push(target),
                }
            }
            graph.modules.insert(path, Module { file, references, reexports, globs });
        }
        graph
    }

    /// The module that defines the item a path names: the deepest module along it, with
    /// re-exports followed.
    fn resolve(&self, path: &[String], depth: usize) -> ModPath {
        let mut module: ModPath = Vec::new();
        for (i, segment) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(segment.clone());
            if self.modules.contains_key(&child) {
                module = child;
                continue;
            }
            if depth < 16
                && let Some(current) = self.modules.get(&module)
            {
                if let Some(target) = current.reexports.get(segment) {
                    let mut rest = target.clone();
                    rest.extend(path[i + 1..].iter().cloned());
                    return self.resolve(&rest, depth + 1);
                }
                for glob in &current.globs {
                    let mut through = glob.clone();
                    through.extend(path[i..].iter().cloned());
                    let found = self.resolve(&through, depth + 1);
                    if found != *glob && self.modules.contains_key(&found) {
                        return found;
                    }
                }
            }
            break;
        }
        module
    }

    /// Arrows between distinct files, each with the line that makes it.
    fn edges(&self) -> BTreeMap<ModPath, BTreeMap<ModPath, usize>> {
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, usize>> = BTreeMap::new();
        for (from, module) in &self.modules {
            let targets = edges.entry(from.clone()).or_default();
            for (path, line) in &module.references {
                let to = self.resolve(path, 0);
                if to != *from {
                    targets.entry(to).or_insert(*line);
                }
            }
        }
        edges
    }

    /// Strongly connected components of more than one file (Tarjan's algorithm).
    fn cycles(&self) -> Vec<Vec<ModPath>> {
        let edges = self.edges();
        let nodes: Vec<&ModPath> = self.modules.keys().collect();
        let index_of: BTreeMap<&ModPath, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let successors: Vec<Vec<usize>> = nodes
            .iter()
            .map(|node| {
                edges
                    .get(*node)
                    .map(|out| out.keys().filter_map(|to| index_of.get(to).copied()).collect())
                    .unwrap_or_default()
            })
            .collect();
        let components = strongly_connected(&successors);
        components
            .into_iter()
            .filter(|component| component.len() > 1)
            .map(|component| component.into_iter().map(|i| nodes[i].clone()).collect())
            .collect()
    }

    /// Files outside every layer (other than the crate root) and imports of a later layer.
    fn layer_violations(&self, root: &Path, layers: &[&str]) -> Vec<String> {
        let layer_of = |module: &ModPath| layers.iter().position(|l| module.first().is_some_and(|m| m == l));
        let file = |module: &ModPath| {
            self.modules.get(module).map(|m| m.file.strip_prefix(root).unwrap_or(&m.file).display().to_string())
        };
        let mut problems = Vec::new();
        for (from, targets) in self.edges() {
            if from.is_empty() {
                continue; // the crate root: table of contents and re-exports
            }
            let Some(own) = layer_of(&from) else {
                problems.push(format!(
                    "{} is in no layer: put it under one of {layers:?}",
                    file(&from).unwrap_or_default()
                ));
                continue;
            };
            for (to, line) in targets {
                if let Some(target) = layer_of(&to).filter(|target| *target > own) {
                    problems.push(format!(
                        "{}:{line}: the {} layer imports {} from the {} layer above it",
                        file(&from).unwrap_or_default(),
                        layers[own],
                        file(&to).unwrap_or_default(),
                        layers[target]
                    ));
                }
            }
        }
        problems
    }

    fn describe(&self, root: &Path, cycle: &[ModPath]) -> String {
        let edges = self.edges();
        let members: BTreeSet<&ModPath> = cycle.iter().collect();
        let mut text = String::from("module cycle:");
        for from in cycle {
            let Some(module) = self.modules.get(from) else { continue };
            let file = module.file.strip_prefix(root).unwrap_or(&module.file).display().to_string();
            for (to, line) in edges.get(from).into_iter().flatten().filter(|(to, _)| members.contains(to)) {
                let target =
                    self.modules.get(to).map(|m| m.file.strip_prefix(root).unwrap_or(&m.file).display().to_string());
                text.push_str(&format!("\n  {file}:{line} imports {}", target.unwrap_or_default()));
            }
        }
        text
    }
}

/// Where a module file's `mod child;` files live.
fn child_dir(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    match file.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "main.rs" | "mod.rs") => dir,
        _ => dir.join(file.file_stem().unwrap_or_default()),
    }
}

fn absolute_path(module: &[String], children: &[String], raw: &RawPath) -> Option<ModPath> {
    let mut path: ModPath = match raw.anchor {
        Anchor::Crate => Vec::new(),
        Anchor::SelfModule => module.to_vec(),
        Anchor::Super(levels) => module[..module.len().checked_sub(levels)?].to_vec(),
        Anchor::Bare => {
            // `use name::…` means a child module only when one is declared; else an extern crate.
            children.contains(raw.segments.first()?).then(|| module.to_vec())?
        }
    };
    path.extend(raw.segments.iter().cloned());
    Some(path)
}

/// Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
fn strongly_connected(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = successors.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut components, mut next) = (Vec::new(), Vec::new(), 0);
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (node, ref mut child)) = work.last_mut() {
            if *child == 0 {
                index[node] = next;
                low[node] = next;
                next += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&to) = successors[node].get(*child) {
                *child += 1;
                if index[to] == usize::MAX {
                    work.push((to, 0));
                } else if on_stack[to] {
                    low[node] = low[node].min(index[to]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Anchor {
    Crate,
    SelfModule,
    Super(usize),
    Bare,
}

/// A path as written: where it starts and its segments (`crate::a::b` → Crate, [a, b]).
#[derive(Debug, Clone, PartialEq)]
struct RawPath {
    anchor: Anchor,
    segments: Vec<String>,
}

/// What the check needs from one file's text.
#[derive(Debug, Default)]
struct Source {
    child_modules: Vec<String>,
    paths: Vec<(RawPath, usize)>,
    /// Exported name (`None` for a glob) and the path it re-exports.
    reexports: Vec<(Option<String>, RawPath)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Punct(char),
    PathSep,
}

impl Source {
    fn scan(text: &str) -> Source {
        let tokens = tokenize(text);
        let tokens = without_test_modules(tokens);
        let mut source = Source::default();
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            let (token, line) = &tokens[i];
            match token {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => depth = depth.saturating_sub(1),
                Token::Ident(word) if word == "mod" && depth == 0 => {
                    if let (Some((Token::Ident(name), _)), Some((Token::Punct(';'), _))) =
                        (tokens.get(i + 1), tokens.get(i + 2))
                    {
                        source.child_modules.push(name.clone());
                    }
                }
                Token::Ident(word) if word == "use" => {
                    let public = i > 0 && is_visibility_end(&tokens[..i]);
                    let mut end = i + 1;
                    let mut trees = Vec::new();
                    use_tree(&tokens, &mut end, &[], &mut trees);
                    for (segments, rename) in trees {
                        let Some(raw) = raw_path(&segments) else { continue };
                        if public && !raw.segments.is_empty() {
                            let exported = match rename {
                                Some(name) => Some(name),
                                None if segments.last().is_some_and(|s| s == "*") => None,
                                None => raw.segments.last().cloned(),
                            };
                            let mut target = raw.clone();
                            if exported.is_none() {
                                target.segments.pop();
                            }
                            source.reexports.push((exported, target));
                        }
                        let mut referenced = raw;
                        if referenced.segments.last().is_some_and(|s| s == "*" || s == "self") {
                            referenced.segments.pop();
                        }
                        source.paths.push((referenced, *line));
                    }
                    i = end;
                    continue;
                }
                Token::Ident(word) if matches!(word.as_str(), "crate" | "super" | "self") => {
                    let preceded_by_sep = i > 0 && tokens[i - 1].0 == Token::PathSep;
                    if !preceded_by_sep && tokens.get(i + 1).is_some_and(|(t, _)| *t == Token::PathSep) {
                        let mut segments = Vec::new();
                        let mut j = i;
                        while let Some((Token::Ident(segment), _)) = tokens.get(j) {
                            segments.push(segment.clone());
                            if tokens.get(j + 1).is_some_and(|(t, _)| *t == Token::PathSep) {
                                j += 2;
                            } else {
                                break;
                            }
                        }
                        if let Some(raw) = raw_path(&segments) {
                            source.paths.push((raw, *line));
                        }
                        i = j + 1;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        source
    }
}

/// Whether the tokens before `use` end in `pub` or `pub(…)`.
fn is_visibility_end(before: &[(Token, usize)]) -> bool {
    match before.last() {
        Some((Token::Ident(word), _)) => word == "pub",
        Some((Token::Punct(')'), _)) => {
            let open = before.iter().rposition(|(t, _)| *t == Token::Punct('('));
            open.is_some_and(|o| o > 0 && before[o - 1].0 == Token::Ident("pub".into()))
        }
        _ => false,
    }
}

/// Reads one use tree at `tokens[*at]`, pushing every leaf path (with its `as` name).
fn use_tree(
    tokens: &[(Token, usize)],
    at: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(*at).map(|(t, _)| t) {
            Some(Token::Ident(segment)) => {
                path.push(segment.clone());
                *at += 1;
            }
            Some(Token::Punct('*')) => {
                path.push("*".into());
                *at += 1;
            }
            Some(Token::Punct('{')) => {
                *at += 1;
                loop {
                    match tokens.get(*at).map(|(t, _)| t) {
                        Some(Token::Punct('}')) => {
                            *at += 1;
                            break;
                        }
                        Some(Token::Punct(',')) => *at += 1,
                        None => return,
                        Some(_) => use_tree(tokens, at, &path, out),
                    }
                }
                if tokens.get(*at).is_some_and(|(t, _)| *t == Token::Punct(';')) {
                    *at += 1;
                }
                return;
            }
            _ => {}
        }
        match tokens.get(*at).map(|(t, _)| t) {
            Some(Token::PathSep) => *at += 1,
            Some(Token::Ident(word)) if word == "as" => {
                let rename = match tokens.get(*at + 1) {
                    Some((Token::Ident(name), _)) => Some(name.clone()),
                    _ => None,
                };
                *at += 2;
                out.push((path, rename));
                return;
            }
            Some(Token::Punct(';')) => {
                *at += 1;
                out.push((path, None));
                return;
            }
            _ => {
                out.push((path, None));
                return;
            }
        }
    }
}

fn raw_path(segments: &[String]) -> Option<RawPath> {
    let first = segments.first()?;
    let (anchor, rest) = match first.as_str() {
        "crate" => (Anchor::Crate, &segments[1..]),
        "self" => (Anchor::SelfModule, &segments[1..]),
        "super" => {
            let levels = segments.iter().take_while(|s| *s == "super").count();
            (Anchor::Super(levels), &segments[levels..])
        }
        "std" | "core" | "alloc" => return None,
        _ => (Anchor::Bare, segments),
    };
    Some(RawPath { anchor, segments: rest.to_vec() })
}

/// Drops `#[cfg(test)]` items (a test module, a test-only function) with their bodies.
fn without_test_modules(tokens: Vec<(Token, usize)>) -> Vec<(Token, usize)> {
    let is = |t: Option<&(Token, usize)>, want: &Token| t.is_some_and(|(t, _)| t == want);
    let mut kept = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let cfg_test = is(tokens.get(i), &Token::Punct('#'))
            && is(tokens.get(i + 1), &Token::Punct('['))
            && is(tokens.get(i + 2), &Token::Ident("cfg".into()))
            && is(tokens.get(i + 3), &Token::Punct('('))
            && is(tokens.get(i + 4), &Token::Ident("test".into()))
            && is(tokens.get(i + 5), &Token::Punct(')'))
            && is(tokens.get(i + 6), &Token::Punct(']'));
        if !cfg_test {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Skip to the end of the item: its `;`, or its outermost braces.
        let mut j = i + 7;
        let mut depth = 0usize;
        while let Some((token, _)) = tokens.get(j) {
            j += 1;
            match token {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                Token::Punct(';') if depth == 0 => break,
                _ => {}
            }
        }
        i = j;
    }
    kept
}

/// Identifiers, `::` and single punctuation characters with their line; comments, strings,
/// character literals, lifetimes and numbers are dropped.
fn tokenize(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    let skip_to = |i: &mut usize, line: &mut usize, end: usize| {
        *line += chars[*i..end.min(chars.len())].iter().filter(|c| **c == '\n').count();
        *i = end;
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < chars.len() && depth > 0 {
                    if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                        depth += 1;
                        j += 2;
                    } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                skip_to(&mut i, &mut line, j);
            }
            '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                skip_to(&mut i, &mut line, j + 1);
            }
            'r' | 'b' if raw_string_start(&chars, i).is_some() => {
                let (hashes, body) = raw_string_start(&chars, i).unwrap_or_default();
                let mut j = body;
                while j < chars.len()
                    && !(chars[j] == '"' && chars[j + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes)
                {
                    j += 1;
                }
                skip_to(&mut i, &mut line, j + 1 + hashes);
            }
            '\'' => {
                // A character literal ('x', '\n', '\u{..}') or a lifetime ('a): skip either.
                if next == Some('\\') {
                    let mut j = i + 2;
                    while j < chars.len() && chars[j] != '\'' {
                        j += 1;
                    }
                    i = j + 1;
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                }
            }
            ':' if next == Some(':') => {
                tokens.push((Token::PathSep, line));
                i += 2;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let word = word.strip_prefix("r#").map(str::to_owned).unwrap_or(word);
                tokens.push((Token::Ident(word), line));
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_whitespace() => i += 1,
            c => {
                tokens.push((Token::Punct(c), line));
                i += 1;
            }
        }
    }
    tokens
}

/// For a raw string (`r"…"`, `r#"…"#`, `br"…"`): the number of `#`s and where its body starts.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    // Only at the start of a token: the `r` of `for"` is not a prefix.
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let j = if chars.get(i) == Some(&'b') { i + 1 } else { i };
    if chars.get(j) != Some(&'r') {
        return None;
    }
    let hashes = chars[j + 1..].iter().take_while(|c| **c == '#').count();
    (chars.get(j + 1 + hashes) == Some(&'"')).then_some((hashes, j + hashes + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn temp_crate(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-layers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write(&dir, files);
        dir.join("lib.rs")
    }

    fn cycles_of(name: &str, files: &[(&str, &str)]) -> Vec<Vec<String>> {
        let graph = Graph::read(&temp_crate(name, files));
        let mut cycles: Vec<Vec<String>> = graph
            .cycles()
            .into_iter()
            .map(|c| {
                let mut c: Vec<String> = c.into_iter().map(|p| p.join("::")).collect();
                c.sort();
                c
            })
            .collect();
        cycles.sort();
        cycles
    }

    #[test]
    fn a_ring_of_three_files_is_one_cycle() {
        let cycles = cycles_of(
            "ring",
            &[
                ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
                ("a.rs", "use crate::b::B;\npub struct A;\n"),
                ("b.rs", "pub struct B;\nfn f() { crate::c::g(); }\n"),
                ("c.rs", "pub fn g() {}\nuse super::a::{A, self as whole};\n"),
                ("d.rs", "use crate::a::A;\n"),
            ],
        );
        assert_eq!(cycles, vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]);
    }

    #[test]
    fn layered_modules_in_folders_have_no_cycle() {
        let cycles = cycles_of(
            "layered",
            &[
                ("lib.rs", "pub mod storage;\npub mod http;\npub use storage::db::Db;\n"),
                ("storage/mod.rs", "pub mod db;\npub mod store;\n"),
                ("storage/db.rs", "pub struct Db;\n"),
                ("storage/store.rs", "use super::db::Db;\n"),
                // Through the root's re-export: the arrow goes to storage/db.rs, not to lib.rs.
                ("http/mod.rs", "use crate::Db;\nuse crate::storage::store;\n"),
            ],
        );
        assert!(cycles.is_empty(), "{cycles:?}");
    }

    #[test]
    fn a_reexport_does_not_hide_a_cycle() {
        let cycles = cycles_of(
            "reexport",
            &[
                ("lib.rs", "mod low;\nmod high;\npub use high::Handler;\n"),
                ("low.rs", "use crate::Handler;\npub struct Low;\n"),
                ("high.rs", "use crate::low::Low;\npub struct Handler;\n"),
            ],
        );
        assert_eq!(cycles, vec![vec!["high".to_owned(), "low".to_owned()]]);
    }

    #[test]
    fn tests_comments_and_strings_are_not_imports() {
        let cycles = cycles_of(
            "ignored",
            &[
                ("lib.rs", "mod a;\nmod b;\n"),
                ("a.rs", "use crate::b::B;\n"),
                (
                    "b.rs",
                    "pub struct B;\n// crate::a::x\nconst S: &str = \"crate::a::y\";\nconst R: &str = r#\"crate::a::z\"#;\n\
                     fn f<'a>(c: char) -> bool { c == '\"' }\n#[cfg(test)]\nmod tests { use crate::a::*; }\n",
                ),
            ],
        );
        assert!(cycles.is_empty(), "{cycles:?}");
    }

    #[test]
    fn an_import_of_a_later_layer_is_reported() {
        let graph = Graph::read(&temp_crate(
            "upward",
            &[
                ("lib.rs", "pub mod storage;\npub mod http;\nmod stray;\npub use http::Handler;\n"),
                ("storage/mod.rs", "pub mod db;\n"),
                // Through the root's re-export: still an import of http/mod.rs.
                ("storage/db.rs", "use crate::Handler;\n"),
                ("http/mod.rs", "pub struct Handler;\n"),
                ("stray.rs", "use crate::storage::db;\n"),
            ],
        ));
        let problems = graph.layer_violations(Path::new("/"), &["storage", "http"]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("storage/db.rs:1: the storage layer imports") && p.contains("http/mod.rs"))
        );
        assert!(problems.iter().any(|p| p.contains("stray.rs is in no layer")), "{problems:?}");
    }

    /// The workspace as it is: no cycle in any crate, every layer importing downwards. Here
    /// (not only in `cargo xtask ci`) so that `cargo xtask test` and a plain `cargo test` check it.
    #[test]
    fn the_workspace_has_no_cycle_and_its_layers_import_downwards() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        check(root).unwrap_or_else(|failure| panic!("{failure}"));
    }

    #[test]
    fn every_crate_of_the_workspace_is_checked() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let roots: Vec<String> =
            crate_roots(root).iter().map(|r| r.strip_prefix(root).unwrap().display().to_string()).collect();
        for expected in
            ["src/lib.rs", "runtime/src/lib.rs", "codegen/src/lib.rs", "cli/src/main.rs", "xtask/src/main.rs"]
        {
            assert!(roots.iter().any(|r| r == expected), "{expected} missing from {roots:?}");
        }
    }
}
