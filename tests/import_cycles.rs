//! No import circle in `src/`: the modules, one per file, form a graph by the paths each file
//! names (`use crate::..`, `super::..`, `self::..` and paths in code), and that graph has no
//! cycle. A parent module naming its own children (declaring and re-exporting them) is
//! structure, not a dependency, and is left out; a child naming its parent counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// A module as a path of names from the crate root (`["app", "data", "state"]`).
type Module = Vec<String>;

/// Every module file under src/ (the binaries in src/bin are crates of their own).
fn modules() -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![PathBuf::from(SRC)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel: Vec<String> = path
                .strip_prefix(SRC)
                .unwrap()
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if path.is_dir() {
                if rel != ["bin"] {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let mut module = rel.clone();
            let file = module.pop().unwrap();
            match file.as_str() {
                "lib.rs" | "mod.rs" => {}
                other => module.push(other.trim_end_matches(".rs").to_string()),
            }
            found.insert(module, path);
        }
    }
    found
}

/// The paths a file names, as written: `crate::a::b`, `super::x`, `self::y`, or a first name
/// that may be a child module.
#[derive(Default)]
struct Names(Vec<Vec<String>>);

impl Names {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                self.0.push(path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                path.push(r.ident.to_string());
                self.0.push(path);
            }
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.0
            .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }

    /// `pub(super)` and `pub(in path)` restrict who sees an item; they import nothing.
    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // Test modules may name what they test from anywhere.
        let test = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !test {
            syn::visit::visit_item_mod(self, m);
        }
    }
}

/// The module a path names, resolved from `from`: the longest prefix that is a module file.
fn resolve(from: &Module, path: &[String], all: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let (mut at, rest): (Module, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (from.clone(), &path[1..]),
        "super" => {
            let mut at = from.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                at.pop()?;
                rest = &rest[1..];
            }
            (at, rest)
        }
        // A bare first name is a child module when one exists by that name.
        first => {
            let mut child = from.clone();
            child.push(first.to_string());
            if !all.contains_key(&child) {
                return None;
            }
            (from.clone(), path)
        }
    };
    for name in rest {
        at.push(name.clone());
        if !all.contains_key(&at) {
            at.pop();
            break;
        }
    }
    Some(at)
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let all = modules();
    let mut edges = BTreeMap::new();
    for (module, file) in &all {
        let text = std::fs::read_to_string(file).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut names = Names::default();
        names.visit_file(&ast);
        let targets: BTreeSet<Module> = names
            .0
            .iter()
            .filter_map(|p| resolve(module, p, &all))
            // Itself, and its own children (structure), are not dependencies.
            .filter(|t| !t.starts_with(module))
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn show(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn no_module_in_src_imports_itself_through_others() {
    let graph = graph();
    assert!(
        graph.len() > 50,
        "the sources were found: {} modules",
        graph.len()
    );
    let found: Vec<String> = cycles(&graph)
        .iter()
        .map(|c| c.iter().map(show).collect::<Vec<_>>().join(" <-> "))
        .collect();
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_check_finds_a_circle_between_two_modules() {
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let c: Module = vec!["c".into()];
    let graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone(), c.clone()])),
        (c.clone(), BTreeSet::new()),
    ]);
    assert_eq!(cycles(&graph).len(), 1);
    // A visibility restriction names a module but imports nothing; a path in code does.
    let mut names = Names::default();
    names.visit_file(&syn::parse_file("pub(super) struct A; fn f() { super::b::g(); }").unwrap());
    assert_eq!(names.0, [vec!["super", "b", "g"]]);
    let all = modules();
    let from: Module = vec!["app".into(), "persist".into(), "restore".into()];
    assert!(Path::new(SRC).join("app/persist/restore.rs").exists());
    assert_eq!(
        resolve(
            &from,
            &["super".into(), "store".into(), "Store".into()],
            &all
        ),
        Some(vec!["app".into(), "persist".into(), "store".into()])
    );
}
