//! Keyset pagination over v7 ids: stable under concurrent inserts, one query
//! for the page and, when asked for, one for the total.

use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, QueryTrait, Select,
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
    let cursor_key = page.cursor.map(Expr::val);
    let descending = order == SortOrder::NewestFirst;
    fetch_sorted_page(conn, select, id_col, id_col, descending, page, cursor_key).await
}

/// Reads one page ordered by `key_col` (ties broken by `id_col`), resuming
/// after the row whose id is the cursor and whose key is `cursor_key` (a
/// value, or a subquery reading it in the same statement).
pub async fn fetch_sorted_page<E, C>(
    conn: &C,
    select: Select<E>,
    key_col: E::Column,
    id_col: E::Column,
    descending: bool,
    page: &PageRequest,
    cursor_key: Option<SimpleExpr>,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let keys = SortKeys {
        key_col,
        id_col,
        descending,
        cursor_key,
    };
    fetch_sorted_page_as(conn, select, |q| q, keys, page).await
}

/// How a page is ordered, and where the cursor's row sat in that order.
pub struct SortKeys<E: EntityTrait> {
    pub key_col: E::Column,
    pub id_col: E::Column,
    pub descending: bool,
    pub cursor_key: Option<SimpleExpr>,
}

/// Like [`fetch_sorted_page`], but the page's statement is first widened by
/// `widen` (joins and their columns) and its rows read as `M`; the total is
/// counted on the plain `select`, without the joins.
pub async fn fetch_sorted_page_as<E, M, C>(
    conn: &C,
    select: Select<E>,
    widen: impl FnOnce(Select<E>) -> Select<E>,
    keys: SortKeys<E>,
    page: &PageRequest,
) -> Result<Page<M>, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    M: sea_orm::FromQueryResult + Sync,
    C: ConnectionTrait,
{
    fetch_sorted_page_with(conn, select, widen, keys, page)
        .await?
        .try_map(|row| M::from_query_result(&row, ""))
}

/// Like [`fetch_sorted_page_as`], but hands back the raw rows, for callers
/// whose columns vary from one request to the next.
pub async fn fetch_sorted_page_with<E, C>(
    conn: &C,
    select: Select<E>,
    widen: impl FnOnce(Select<E>) -> Select<E>,
    keys: SortKeys<E>,
    page: &PageRequest,
) -> Result<Page<QueryResult>, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let SortKeys {
        key_col,
        id_col,
        descending,
        cursor_key,
    } = keys;
    let total = if page.count_total {
        select.clone().count(conn).await?
    } else {
        0
    };
    // Reading backwards walks the list in reverse and flips the result.
    let ascending = descending != (page.direction == Direction::Forward);
    let mut q = widen(select);
    if let (Some(id), Some(key)) = (page.cursor, cursor_key) {
        // `key <= K AND (key < K OR id < I)` rather than `key < K OR (key = K
        // AND id < I)`: the same rows, but the first conjunct is an index
        // range the database walks in order and stops after the page, where
        // the OR form made it sort everything before the cursor.
        let (key_expr, id_expr) = (
            Expr::col(key_col.as_column_ref()),
            Expr::col(id_col.as_column_ref()),
        );
        let cond = if ascending {
            Condition::all().add(key_expr.clone().gte(key.clone())).add(
                Condition::any()
                    .add(key_expr.gt(key))
                    .add(id_expr.gt(Expr::val(id))),
            )
        } else {
            Condition::all().add(key_expr.clone().lte(key.clone())).add(
                Condition::any()
                    .add(key_expr.lt(key))
                    .add(id_expr.lt(Expr::val(id))),
            )
        };
        q = q.filter(cond);
    }
    q = if ascending {
        q.order_by_asc(key_col).order_by_asc(id_col)
    } else {
        q.order_by_desc(key_col).order_by_desc(id_col)
    };
    let q = q.limit(page.size as u64 + 1);
    let mut items = conn
        .query_all_raw(q.build(conn.get_database_backend()))
        .await?;
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

/// Rows whose `parent_col` is one of `parents`, ordered by `order_col` (then
/// by id): what a DataLoader needs to answer a whole batch in one query.
pub async fn children_of<E, C>(
    conn: &C,
    parent_col: E::Column,
    parents: &[uuid::Uuid],
    order_col: E::Column,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    E::find()
        .filter(parent_col.is_in(parents.iter().copied()))
        .order_by_asc(order_col)
        .all(conn)
        .await
}
