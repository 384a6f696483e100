//! The claims list of the dashboards: filters, three sort orders, keyset pages.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entity::{customer, order, refund_claim};

use super::page::fetch_sorted_page;
use crate::domain::enums::{ClaimReason, ClaimStatus, Eligibility};
use crate::domain::page::{Page, PageRequest};
use crate::domain::Email;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Default)]
pub struct ClaimQuery {
    pub status: Vec<ClaimStatus>,
    pub reason: Vec<ClaimReason>,
    pub eligibility: Vec<Eligibility>,
    pub submitted_from: Option<DateTime<Utc>>,
    pub submitted_to: Option<DateTime<Utc>>,
    pub customer_email: Option<Email>,
    pub order_number: Option<String>,
    pub assignee_id: Option<Uuid>,
}

/// The orders of the contract's ClaimSort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClaimOrder {
    #[default]
    SubmittedAtDesc,
    SubmittedAtAsc,
    AmountDesc,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
) -> AppResult<Page<refund_claim::Model>> {
    use refund_claim::Column as C_;
    let mut q = refund_claim::Entity::find();
    if !filter.status.is_empty() {
        q = q.filter(C_::Status.is_in(filter.status.iter().map(|s| s.as_str())));
    }
    if !filter.reason.is_empty() {
        q = q.filter(C_::Reason.is_in(filter.reason.iter().map(|s| s.as_str())));
    }
    if !filter.eligibility.is_empty() {
        q = q.filter(C_::EligibilityOutcome.is_in(filter.eligibility.iter().map(|s| s.as_str())));
    }
    if let Some(t) = filter.submitted_from {
        q = q.filter(C_::SubmittedAt.gte(t));
    }
    if let Some(t) = filter.submitted_to {
        q = q.filter(C_::SubmittedAt.lt(t));
    }
    if let Some(email) = &filter.customer_email {
        q = q.filter(
            C_::CustomerId.in_subquery(
                Query::select()
                    .column(customer::Column::Id)
                    .from(customer::Entity)
                    .and_where(customer::Column::Email.eq(email.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(number) = &filter.order_number {
        q = q.filter(
            C_::OrderId.in_subquery(
                Query::select()
                    .column(order::Column::Id)
                    .from(order::Entity)
                    .and_where(order::Column::Number.eq(number.trim()))
                    .to_owned(),
            ),
        );
    }
    if let Some(id) = filter.assignee_id {
        q = q.filter(C_::AssigneeId.eq(id));
    }
    // The cursor is a claim id; its sort key is read back so pages stay
    // stable under inserts whatever the order.
    let cursor_row = match page.cursor {
        Some(id) => Some(
            refund_claim::Entity::find_by_id(id)
                .one(conn)
                .await?
                .ok_or_else(|| AppError::bad_input("the cursor points at no claim"))?,
        ),
        None => None,
    };
    let (key_col, descending, key) = match sort {
        ClaimOrder::SubmittedAtDesc => (
            C_::SubmittedAt,
            true,
            cursor_row.map(|c| c.submitted_at.into()),
        ),
        ClaimOrder::SubmittedAtAsc => (
            C_::SubmittedAt,
            false,
            cursor_row.map(|c| c.submitted_at.into()),
        ),
        ClaimOrder::AmountDesc => (
            C_::RequestedMinor,
            true,
            cursor_row.map(|c| c.requested_minor.into()),
        ),
    };
    Ok(fetch_sorted_page(conn, q, key_col, C_::Id, descending, page, key).await?)
}
