//! Relay connections with the contract's `totalCount`: async-graphql's own
//! `Connection` and `Edge` (names `<Node>Connection` and `<Node>Edge`), with
//! the total as an additional field. Nodes are resolved eagerly (`eager.rs`).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ContainerType, SimpleObject};
use uuid::Uuid;

use super::eager::Eager;
use crate::domain::page::{ListCursors, Page};

/// A page of `N`s as the contract's `<N>Connection`.
pub type PageConnection<N> = Connection<String, Eager<N>, TotalCount>;

/// The connection's field beside its edges and nodes.
#[derive(SimpleObject)]
pub struct TotalCount {
    total_count: i64,
}

/// Builds a connection from a page, mapping each row to its GraphQL node.
pub fn connection_from<M, N>(
    key: &ListCursors,
    page: Page<M>,
    id_of: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> N,
) -> PageConnection<N>
where
    N: ContainerType + Send + Sync,
    Eager<N>: async_graphql::OutputType,
{
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        TotalCount {
            total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
        },
    );
    connection.edges = page
        .items
        .into_iter()
        .map(|m| Edge::new(key.encode(id_of(&m)), Eager(node(m))))
        .collect();
    connection
}
