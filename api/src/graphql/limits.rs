//! The limits of a GraphQL document, checked before validation,
//! authentication or any SQL, in time linear in the document's size.
//!
//! async-graphql's own pre-execution walks (its recursion-depth and directive
//! checks, and the complexity and depth visitors of validation) follow every
//! fragment spread without memoising: a chain of k fragments that each spread
//! the next twice costs 2^k steps, and a fragment that spreads itself never
//! ends. So every document passes [`check_text`] before it is parsed and
//! [`check_document`] after, and only then reaches async-graphql, whose walks
//! are bounded by the expanded size these checks allow:
//!
//! - [`check_text`] bounds the bracket nesting of the raw text, because the
//!   parser recurses once per level and a deep enough value (`[[[[…`) would
//!   overflow the stack before any limit of the parser applies;
//! - [`check_document`] refuses fragment cycles and unused fragments (both
//!   validation errors), then computes each fragment's expanded size once, in
//!   dependency order, and refuses a document whose expansion exceeds the
//!   complexity, depth, alias, nesting or selection limits.
//!
//! Nothing here recurses over fragment spreads; the only recursion is over
//! one definition's own selection sets, which the parser bounds at 64 levels.
//!
//! It is not a schema extension on purpose: any extension makes async-graphql
//! build a `ResolveInfo` for every field it resolves, which the benchmark
//! showed on a 1,000-field dashboard page.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::error::AppError;

/// Deepest nesting of fields accepted (dashboards stay within 10).
pub const MAX_DEPTH: usize = 16;
/// Most fields one document may select once its fragments are expanded:
/// async-graphql's static complexity with every field costing one.
pub const MAX_COMPLEXITY: usize = 2_000;
/// Most aliased fields one document may hold, counted through fragments.
pub const MAX_ALIASES: usize = 100;
/// Most directives accepted on one field.
pub const MAX_DIRECTIVES: usize = 10;
/// Deepest nesting of selection sets, counting fragment spreads and inline
/// fragments as levels (async-graphql's "recursion depth").
pub const MAX_NESTING: usize = 64;
/// Most selections (fields, `__typename`, spreads and inline fragments) one
/// document may expand to: bounds expansions made of spreads alone.
pub const MAX_SELECTIONS: usize = 4 * MAX_COMPLEXITY;
/// Deepest bracket nesting (`{`, `[`, `(`) of a document's text.
pub const MAX_TEXT_NESTING: usize = 128;

/// Refuses a document whose raw text nests brackets deeper than
/// [`MAX_TEXT_NESTING`], outside strings and comments. One pass, no parse.
pub fn check_text(query: &str) -> Result<(), AppError> {
    let bytes = query.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // An escaped triple quote stays inside the block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_TEXT_NESTING {
                    return Err(too_complex("the query nests too deeply"));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// What a selection set amounts to once its fragments are expanded.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Expansion {
    /// Fields other than `__typename` (async-graphql's complexity).
    fields: usize,
    /// Every selection: fields, spreads and inline fragments.
    selections: usize,
    aliases: usize,
    /// Deepest field nesting below this set (async-graphql's depth).
    depth: usize,
    /// Deepest selection-set nesting below this set, spreads and inline
    /// fragments included (async-graphql's recursion depth).
    nesting: usize,
}

impl Expansion {
    /// Adds a sibling's figures (saturating: the limits are far below).
    fn add(&mut self, other: Expansion) {
        self.fields = self.fields.saturating_add(other.fields);
        self.selections = self.selections.saturating_add(other.selections);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.nesting = self.nesting.max(other.nesting);
    }
}

/// Refuses fragment cycles and unused fragments (BAD_USER_INPUT, as
/// validation would), too many directives on a field, and a document whose
/// expansion exceeds the limits of this module (QUERY_TOO_COMPLEX).
pub fn check_document(doc: &ExecutableDocument) -> Result<(), AppError> {
    check_directives(doc)?;
    let order = fragment_order(doc)?;
    let mut expanded: HashMap<&str, Expansion> = HashMap::with_capacity(order.len());
    for name in order {
        let fragment = &doc.fragments[name];
        let e = expand(&fragment.node.selection_set.node, &expanded);
        expanded.insert(name, e);
    }
    let mut total = Expansion::default();
    for (_, op) in doc.operations.iter() {
        total.add(expand(&op.node.selection_set.node, &expanded));
    }
    if total.fields > MAX_COMPLEXITY || total.selections > MAX_SELECTIONS {
        return Err(too_complex("the query selects too many fields"));
    }
    if total.depth > MAX_DEPTH || total.nesting > MAX_NESTING {
        return Err(too_complex("the query is nested too deeply"));
    }
    if total.aliases > MAX_ALIASES {
        return Err(too_complex("the query has too many aliases"));
    }
    Ok(())
}

fn too_complex(message: &str) -> AppError {
    AppError::QueryTooComplex(message.into())
}

/// The expansion of one selection set, reading spread fragments' figures
/// from `fragments` (complete for every fragment it can reach, because
/// fragments are expanded in dependency order). A spread of an unknown
/// fragment counts as one selection: validation reports it.
fn expand(set: &SelectionSet, fragments: &HashMap<&str, Expansion>) -> Expansion {
    let mut out = Expansion::default();
    for item in &set.items {
        let mut one = match &item.node {
            Selection::Field(f) => {
                let child = expand(&f.node.selection_set.node, fragments);
                let counted = usize::from(f.node.name.node != "__typename");
                let has_children = !f.node.selection_set.node.items.is_empty();
                Expansion {
                    fields: child.fields.saturating_add(counted),
                    selections: child.selections,
                    aliases: child.aliases + usize::from(f.node.alias.is_some()),
                    depth: child.depth + counted,
                    nesting: child.nesting + usize::from(has_children),
                }
            }
            Selection::InlineFragment(f) => {
                let child = expand(&f.node.selection_set.node, fragments);
                Expansion {
                    nesting: child.nesting + 1,
                    ..child
                }
            }
            Selection::FragmentSpread(s) => {
                match fragments.get(s.node.fragment_name.node.as_str()) {
                    Some(child) => Expansion {
                        nesting: child.nesting + 1,
                        ..*child
                    },
                    None => Expansion::default(),
                }
            }
        };
        one.selections = one.selections.saturating_add(1);
        out.add(one);
    }
    out
}

/// The names of the fragment spreads directly inside a selection set.
fn spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => spreads(&f.node.selection_set.node, out),
            Selection::InlineFragment(f) => spreads(&f.node.selection_set.node, out),
            Selection::FragmentSpread(s) => out.push(s.node.fragment_name.node.as_str()),
        }
    }
}

/// Every fragment in dependency order (a fragment after all it spreads), or
/// the validation error for a cycle or an unused fragment. Iterative, so a
/// long chain of fragments cannot exhaust the stack.
fn fragment_order(doc: &ExecutableDocument) -> Result<Vec<&str>, AppError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let edges: HashMap<&str, Vec<&str>> = doc
        .fragments
        .iter()
        .map(|(name, f)| {
            let mut out = Vec::new();
            spreads(&f.node.selection_set.node, &mut out);
            out.retain(|n| doc.fragments.contains_key(*n));
            (name.as_str(), out)
        })
        .collect();
    let mut roots = Vec::new();
    for (_, op) in doc.operations.iter() {
        spreads(&op.node.selection_set.node, &mut roots);
    }
    roots.retain(|n| doc.fragments.contains_key(*n));

    let mut marks: HashMap<&str, Mark> = HashMap::with_capacity(edges.len());
    let mut order = Vec::with_capacity(edges.len());
    for root in roots {
        if marks.contains_key(root) {
            continue;
        }
        // (fragment, index of the next spread to follow)
        let mut stack = vec![(root, 0usize)];
        marks.insert(root, Mark::Open);
        while let Some(&mut (name, ref mut next)) = stack.last_mut() {
            match edges[name].get(*next) {
                Some(&child) => {
                    *next += 1;
                    match marks.get(child) {
                        Some(Mark::Open) => {
                            return Err(AppError::bad_input(format!(
                                "Cannot spread fragment \"{child}\" within itself"
                            )))
                        }
                        Some(Mark::Done) => {}
                        None => {
                            marks.insert(child, Mark::Open);
                            stack.push((child, 0));
                        }
                    }
                }
                None => {
                    marks.insert(name, Mark::Done);
                    order.push(name);
                    stack.pop();
                }
            }
        }
    }
    if let Some(unused) = doc
        .fragments
        .keys()
        .find(|name| !marks.contains_key(name.as_str()))
    {
        return Err(AppError::bad_input(format!(
            "Fragment \"{unused}\" is never used"
        )));
    }
    Ok(order)
}

/// Refuses a field with more than [`MAX_DIRECTIVES`] directives. Visits each
/// definition once (spreads are not followed).
fn check_directives(doc: &ExecutableDocument) -> Result<(), AppError> {
    fn walk(set: &SelectionSet) -> bool {
        set.items.iter().all(|item| match &item.node {
            Selection::Field(f) => {
                f.node.directives.len() <= MAX_DIRECTIVES && walk(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => walk(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => true,
        })
    }
    let sets = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node));
    for set in sets {
        if !walk(set) {
            return Err(too_complex("a field has too many directives"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn check(query: &str) -> Result<(), AppError> {
        check_text(query)?;
        check_document(&parse_query(query).expect("parses"))
    }

    fn code(query: &str) -> Option<&'static str> {
        check(query).err().map(|e| e.code())
    }

    /// k fragments, each spreading the next twice: 2^k selections expanded.
    fn doubling_chain(k: usize) -> String {
        let mut q = String::from("query { ...F0 }");
        for i in 0..k {
            q.push_str(&format!(
                " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        q.push_str(&format!(" fragment F{k} on Query {{ me {{ id }} }}"));
        q
    }

    #[test]
    fn exponential_expansions_are_refused_in_linear_time() {
        let started = std::time::Instant::now();
        for k in [11, 16, 30, 60, 500] {
            assert_eq!(code(&doubling_chain(k)), Some("QUERY_TOO_COMPLEX"), "k={k}");
        }
        // Small enough to pass: 2^8 fields of `me { id }`.
        assert_eq!(code(&doubling_chain(8)), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn cycles_and_unused_fragments_are_validation_errors() {
        let cases = [
            "query { ...A } fragment A on Query { ...A ...A }",
            "query { ...A } fragment A on Query { me { ...B } } fragment B on Staff { ... on Staff { ...C } } fragment C on Staff { ...B }",
            "query { me { id } } fragment A on Query { me { id } }",
        ];
        for q in cases {
            assert_eq!(code(q), Some("BAD_USER_INPUT"), "{q}");
        }
    }

    #[test]
    fn a_long_chain_of_single_spreads_cannot_exhaust_the_stack() {
        // Deeper than the nesting limit; the order itself is iterative.
        let mut q = String::from("query { ...F0 }");
        let n = 50_000;
        for i in 0..n {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        q.push_str(&format!(" fragment F{n} on Query {{ __typename }}"));
        assert_eq!(code(&q), Some("QUERY_TOO_COMPLEX"));
    }

    #[test]
    fn deep_brackets_are_refused_before_parsing() {
        let deep = format!(
            "{{ a(x: {}1{}) }}",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        assert_eq!(
            check_text(&deep).err().map(|e| e.code()),
            Some("QUERY_TOO_COMPLEX")
        );
        // Brackets inside strings, block strings and comments do not count.
        let quoted = format!(
            "{{ a(x: \"{b}\", y: \"\"\"{b}\\\"\"\"{b}\"\"\") # {b}\n }}",
            b = "[".repeat(1_000)
        );
        assert!(check_text(&quoted).is_ok());
    }

    #[test]
    fn limits_count_through_fragments_and_inline_fragments() {
        let aliases: String = (0..=MAX_ALIASES).map(|i| format!("a{i}: id ")).collect();
        let over = format!("{{ me {{ ...F }} }} fragment F on Staff {{ {aliases} }}");
        assert_eq!(code(&over), Some("QUERY_TOO_COMPLEX"));
        // `levels` fields deep: levels - 1 times `me`, then `id`.
        let nested = |levels: usize| {
            format!(
                "{{ {} id {} }}",
                "me { ... on Staff { ".repeat(levels - 1),
                "} } ".repeat(levels - 1)
            )
        };
        assert_eq!(code(&nested(MAX_DEPTH)), None);
        assert_eq!(code(&nested(MAX_DEPTH + 1)), Some("QUERY_TOO_COMPLEX"));
        let directives = format!("{{ me {} {{ id }} }}", "@include(if: true) ".repeat(11));
        assert_eq!(code(&directives), Some("QUERY_TOO_COMPLEX"));
        // __typename is free, as in async-graphql's complexity.
        let typenames = "__typename ".repeat(MAX_COMPLEXITY + 1);
        assert_eq!(code(&format!("{{ {typenames} }}")), None);
        let fields = "me { id } ".repeat(MAX_COMPLEXITY / 2 + 1);
        assert_eq!(code(&format!("{{ {fields} }}")), Some("QUERY_TOO_COMPLEX"));
    }

    #[test]
    fn expansion_matches_a_hand_count() {
        let doc = parse_query(
            "{ a: me { ...F } ... on Query { me { id } } } fragment F on Staff { id b: name __typename }",
        )
        .unwrap();
        let order = fragment_order(&doc).unwrap();
        let mut frags = HashMap::new();
        for name in order {
            frags.insert(
                name,
                expand(&doc.fragments[name].node.selection_set.node, &frags),
            );
        }
        let (_, op) = doc.operations.iter().next().unwrap();
        let e = expand(&op.node.selection_set.node, &frags);
        assert_eq!(
            e,
            Expansion {
                fields: 5,
                selections: 8,
                aliases: 2,
                depth: 2,
                nesting: 2,
            }
        );
    }
}
