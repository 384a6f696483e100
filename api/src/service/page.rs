//! Keyset pagination over v7 ids: stable under concurrent inserts, one query
//! for the page and one for the total.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::domain::page::{Direction, Page, PageRequest};

/// The list's natural order (ids are v7, so id order is creation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    OldestFirst,
    NewestFirst,
}

/// Reads one page of `select` ordered by `id_col`.
pub async fn fetch_page<E, C>(
    conn: &C,
    select: Select<E>,
    id_col: E::Column,
    order: SortOrder,
    page: &PageRequest,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let total = select.clone().count(conn).await?;
    // Reading backwards walks the list in reverse and flips the result.
    let ascending = (order == SortOrder::OldestFirst) == (page.direction == Direction::Forward);
    let mut q = select;
    if let Some(cursor) = page.cursor {
        q = if ascending {
            q.filter(id_col.gt(cursor))
        } else {
            q.filter(id_col.lt(cursor))
        };
    }
    q = if ascending {
        q.order_by_asc(id_col)
    } else {
        q.order_by_desc(id_col)
    };
    let mut items = q.limit(page.size as u64 + 1).all(conn).await?;
    let more = items.len() > page.size;
    items.truncate(page.size);
    let (has_next, has_previous) = match page.direction {
        Direction::Forward => (more, page.cursor.is_some()),
        Direction::Backward => {
            items.reverse();
            (page.cursor.is_some(), more)
        }
    };
    Ok(Page {
        items,
        has_next,
        has_previous,
        total,
    })
}
