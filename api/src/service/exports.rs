//! What the CSV exports read: pages of claims or payouts in keyset order,
//! each with the related values its columns show (order numbers, emails),
//! every relation read with one `IN` query per page, never one per row.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use entity::{customer, order, payout, refund_claim, staff};

use super::claim_list::{self, ClaimOrder, ClaimQuery};
use super::payouts::{self, PayoutQuery};
use crate::domain::page::{Direction, PageRequest};
use crate::error::AppResult;

/// Rows per database read, and so per chunk of an export's body.
pub const PAGE_SIZE: usize = 500;

/// One page of an export, and the id to resume after when more rows follow.
pub struct ExportPage<T> {
    pub lines: Vec<T>,
    pub next: Option<Uuid>,
}

/// A claim with what its export line shows of other tables.
pub struct ClaimLine {
    pub claim: refund_claim::Model,
    pub order_number: Option<String>,
    pub customer_email: Option<String>,
    pub decided_by_email: Option<String>,
}

/// A payout with its order's number.
pub struct PayoutLine {
    pub payout: payout::Model,
    pub order_number: Option<String>,
}

fn page_after(after: Option<Uuid>) -> PageRequest {
    PageRequest {
        size: PAGE_SIZE,
        direction: Direction::Forward,
        cursor: after,
        count_total: false,
    }
}

/// The claims after `after` in the list's order.
pub async fn claims<C: ConnectionTrait>(
    db: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    after: Option<Uuid>,
) -> AppResult<ExportPage<ClaimLine>> {
    let found = claim_list::list(db, filter, sort, &page_after(after)).await?;
    let rows = found.items;
    let numbers = values_by_id(
        db,
        order::Column::Id,
        order::Column::Number,
        rows.iter().map(|c| c.order_id),
    )
    .await?;
    let emails = values_by_id(
        db,
        customer::Column::Id,
        customer::Column::Email,
        rows.iter().map(|c| c.customer_id),
    )
    .await?;
    let deciders = values_by_id(
        db,
        staff::Column::Id,
        staff::Column::Email,
        rows.iter().filter_map(|c| c.decided_by),
    )
    .await?;
    let next = rows.last().map(|c| c.id).filter(|_| found.has_next);
    let lines = rows
        .into_iter()
        .map(|claim| ClaimLine {
            order_number: numbers.get(&claim.order_id).cloned(),
            customer_email: emails.get(&claim.customer_id).cloned(),
            decided_by_email: claim.decided_by.and_then(|id| deciders.get(&id).cloned()),
            claim,
        })
        .collect();
    Ok(ExportPage { lines, next })
}

/// The payouts after `after`, newest first (the `payouts` list's order).
pub async fn payouts<C: ConnectionTrait>(
    db: &C,
    filter: &PayoutQuery,
    after: Option<Uuid>,
) -> AppResult<ExportPage<PayoutLine>> {
    let found = payouts::list(db, filter, &page_after(after)).await?;
    let rows = found.items;
    let numbers = values_by_id(
        db,
        order::Column::Id,
        order::Column::Number,
        rows.iter().map(|p| p.order_id),
    )
    .await?;
    let next = rows.last().map(|p| p.id).filter(|_| found.has_next);
    let lines = rows
        .into_iter()
        .map(|payout| PayoutLine {
            order_number: numbers.get(&payout.order_id).cloned(),
            payout,
        })
        .collect();
    Ok(ExportPage { lines, next })
}

/// `id → value` for the distinct ids, in one `IN` query (skipped when empty).
async fn values_by_id<C, Col>(
    db: &C,
    id: Col,
    value: Col,
    ids: impl Iterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, String>>
where
    C: ConnectionTrait,
    Col: ColumnTrait,
    Col::EntityName: EntityTrait<Column = Col>,
{
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = Col::EntityName::find()
        .select_only()
        .column(id)
        .column(value)
        .filter(id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
