//! The layout shows the flow (inputs → plan → AWS calls → report): no
//! import cycle between the top-level modules of `src/`, and no mode
//! importing another mode. Edges are the `crate::<module>` paths of each
//! module's non-test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's code without its `#[cfg(test)]` part (tests may reach anywhere).
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.split("#[cfg(test)]").next().unwrap().to_string()
}

/// The top-level module a file belongs to (`deployment` of `src/deployment/wait.rs`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::name` in `text` (also inside `use crate::{a, b::c}`).
fn crate_refs(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find(';').unwrap_or(group.len())];
            for name in group.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if modules.contains(name) {
                    refs.insert(name.to_string());
                }
            }
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if modules.contains(&name) {
            refs.insert(name);
        }
    }
    refs
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = module_of(f);
        if !modules.contains(&from) {
            continue;
        }
        let to = crate_refs(&code(f), &modules);
        edges
            .entry(from.clone())
            .or_default()
            .extend(to.into_iter().filter(|m| *m != from));
    }
    edges
}

/// The cycles of the graph, each as the path that closes it.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(i) = path.iter().position(|p| p == node) {
            found.push(
                path[i..]
                    .iter()
                    .cloned()
                    .chain([node.to_string()])
                    .collect(),
            );
            return;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            walk(next, edges, path, found);
        }
        path.pop();
    }
    let mut found = Vec::new();
    for node in edges.keys() {
        walk(node, edges, &mut Vec::new(), &mut found);
    }
    found
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let edges = edges();
    assert!(edges.len() > 10, "{edges:?}");
    assert!(edges["modes"].contains("plan") && edges["deployment"].contains("plan"));
    let found = cycles(&edges);
    assert!(found.is_empty(), "import cycles: {found:?}");
}

#[test]
fn the_cycle_check_can_fail() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    assert_eq!(
        crate_refs("use crate::{a::X, b};\nlet x = crate::c::f();", &modules),
        modules
    );
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert!(cycles(&edges).is_empty());
    edges.entry("c".into()).or_default().insert("a".into());
    assert!(!cycles(&edges).is_empty());
}

#[test]
fn no_mode_imports_another_mode() {
    let modes = ["render", "migrate", "deploy", "rollback"];
    let mut found = Vec::new();
    for mode in modes {
        let text = code(&src().join("modes").join(format!("{mode}.rs")));
        for other in modes.iter().filter(|m| **m != mode) {
            for pattern in [format!("super::{other}::"), format!("modes::{other}::")] {
                if text.contains(&pattern) {
                    found.push(format!("modes/{mode}.rs uses {pattern}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}
