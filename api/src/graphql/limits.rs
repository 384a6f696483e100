//! A schema extension that refuses alias floods (before any resolver or SQL
//! runs) and wraps each operation in a tracing span.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Variables};
use tracing::Instrument;

/// Most aliased fields one document may hold.
pub const MAX_ALIASES: usize = 100;

/// The message `http::classify` maps to QUERY_TOO_COMPLEX.
pub const TOO_MANY_ALIASES: &str = "The query has too many aliases";

pub struct Limits;

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension)
    }
}

struct LimitsExtension;

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

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let aliases: usize = doc
            .operations
            .iter()
            .map(|(_, op)| count_aliases(&op.node.selection_set.node, &doc, 0))
            .sum();
        if aliases > MAX_ALIASES {
            return Err(ServerError::new(TOO_MANY_ALIASES, None));
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::info_span!(
            "graphql_operation",
            operation = operation_name.unwrap_or("anonymous")
        );
        next.run(ctx, operation_name).instrument(span).await
    }
}
