//! Relay connections with the contract's `totalCount`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ContainerType, SimpleObject};
use uuid::Uuid;

use super::eager::Eager;
use crate::domain::page::{encode_cursor, Page};

/// The extra field every connection of the contract carries.
#[derive(SimpleObject)]
pub struct TotalCount {
    pub total_count: i64,
}

/// Nodes are resolved eagerly (`eager.rs`): a page repeats them by the dozen.
pub type PageConnection<N> = Connection<String, Eager<N>, TotalCount>;

/// Builds a connection from a page, mapping each row to its GraphQL node.
pub fn connection_from<M, N>(
    page: Page<M>,
    id_of: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> N,
) -> PageConnection<N>
where
    N: ContainerType + Send + Sync,
{
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        TotalCount {
            total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
        },
    );
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|m| Edge::new(encode_cursor(id_of(&m)), Eager(node(m)))),
    );
    conn
}
