//! Relay connections with the contract's `totalCount`.
//!
//! Our own types rather than async-graphql's `Connection`, whose edges are
//! resolved the stock way (a task set per edge and per list): here the
//! connection, its edges and their list are all resolved eagerly
//! (`eager.rs`). The schema is the same as the stock connection's: names
//! `<Node>Connection` and `<Node>Edge`, fields, order and descriptions.

use std::borrow::Cow;

use async_graphql::connection::PageInfo;
use async_graphql::{ContainerType, Object, OutputType, TypeName};
use uuid::Uuid;

use super::eager::{Eager, EagerList};
use crate::domain::page::{ListCursors, Page};

/// A page of `N`s as the contract's `<N>Connection`.
pub type PageConnection<N> = Eager<ConnectionFields<N>>;

/// The fields of a [`PageConnection`].
pub struct ConnectionFields<N> {
    has_previous: bool,
    has_next: bool,
    edges: EagerList<Eager<EdgeFields<N>>>,
    total_count: i64,
}

/// The fields of one edge: the node and its cursor.
pub struct EdgeFields<N> {
    node: Eager<N>,
    cursor: String,
}

impl<N: OutputType> TypeName for ConnectionFields<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

impl<N: OutputType> TypeName for EdgeFields<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

#[Object(name_type)]
impl<N: ContainerType + Send + Sync> ConnectionFields<N> {
    /// Information to aid in pagination.
    async fn page_info(&self) -> Eager<PageInfo> {
        let cursor = |edge: &Eager<EdgeFields<N>>| edge.0.cursor.clone();
        Eager(PageInfo {
            has_previous_page: self.has_previous,
            has_next_page: self.has_next,
            start_cursor: self.edges.0.first().map(cursor),
            end_cursor: self.edges.0.last().map(cursor),
        })
    }

    /// A list of edges.
    async fn edges(&self) -> &EagerList<Eager<EdgeFields<N>>> {
        &self.edges
    }

    /// A list of nodes.
    async fn nodes(&self) -> EagerList<&Eager<N>> {
        EagerList(self.edges.0.iter().map(|edge| &edge.0.node).collect())
    }

    async fn total_count(&self) -> i64 {
        self.total_count
    }
}

/// An edge in a connection.
#[Object(name_type)]
impl<N: ContainerType + Send + Sync> EdgeFields<N> {
    /// The item at the end of the edge
    async fn node(&self) -> &Eager<N> {
        &self.node
    }

    /// A cursor for use in pagination
    async fn cursor(&self) -> &str {
        &self.cursor
    }
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
{
    let edges: Vec<_> = page
        .items
        .into_iter()
        .map(|m| {
            Eager(EdgeFields {
                cursor: key.encode(id_of(&m)),
                node: Eager(node(m)),
            })
        })
        .collect();
    Eager(ConnectionFields {
        has_previous: page.has_previous,
        has_next: page.has_next,
        edges: EagerList(edges),
        total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
    })
}
