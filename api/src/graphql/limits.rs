//! The alias limit, checked on the parsed document before any resolver or SQL
//! runs. It is not a schema extension on purpose: any extension makes
//! async-graphql build a `ResolveInfo` (a registry lookup, and for list items
//! two formatted type names) for every field it resolves, which the benchmark
//! showed on a 1,000-field dashboard page.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::ServerError;

/// Most aliased fields one document may hold.
pub const MAX_ALIASES: usize = 100;

/// The message `http::classify` maps to QUERY_TOO_COMPLEX.
pub const TOO_MANY_ALIASES: &str = "The query has too many aliases";

/// Refuses a document with more than [`MAX_ALIASES`] aliased fields, counted
/// through fragments.
pub fn check_aliases(doc: &ExecutableDocument) -> Result<(), ServerError> {
    let aliases: usize = doc
        .operations
        .iter()
        .map(|(_, op)| count_aliases(&op.node.selection_set.node, doc, 0))
        .sum();
    if aliases > MAX_ALIASES {
        return Err(ServerError::new(TOO_MANY_ALIASES, None));
    }
    Ok(())
}

fn count_aliases(set: &SelectionSet, doc: &ExecutableDocument, depth: usize) -> usize {
    // Fragments may spread each other; the depth limit is enforced later, this
    // only has to terminate.
    if depth > 64 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some())
                    + count_aliases(&f.node.selection_set.node, doc, depth + 1)
            }
            Selection::InlineFragment(f) => {
                count_aliases(&f.node.selection_set.node, doc, depth + 1)
            }
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map(|f| count_aliases(&f.node.selection_set.node, doc, depth + 1))
                .unwrap_or(0),
        })
        .sum()
}
