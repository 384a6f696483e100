//! The claims list of the dashboards: filters, three sort orders, keyset pages.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    JoinType, QueryFilter, QueryResult, QuerySelect, RelationTrait, Select,
};
use uuid::Uuid;

use entity::{activation, customer, order, refund_claim, staff};

use super::page::{fetch_sorted_page_as, SortKeys};
use crate::domain::enums::{ClaimReason, ClaimStatus, Eligibility};
use crate::domain::page::{Page, PageRequest};
use crate::domain::Email;
use crate::error::AppResult;

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

/// A claim with what a dashboard row shows of it, read in the page's own
/// statement.
#[derive(Clone, Debug)]
pub struct ClaimRow {
    pub claim: refund_claim::Model,
    pub order: order::Model,
    pub customer: customer::Model,
    pub activation: Option<activation::Model>,
    pub assignee: Option<staff::Model>,
}

const ORDER: &str = "o_";
const CUSTOMER: &str = "u_";
const ACTIVATION: &str = "a_";
const ASSIGNEE: &str = "s_";

impl FromQueryResult for ClaimRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(ClaimRow {
            claim: refund_claim::Model::from_query_result(res, pre)?,
            order: order::Model::from_query_result(res, ORDER)?,
            customer: customer::Model::from_query_result(res, CUSTOMER)?,
            activation: activation::Model::from_query_result_optional(res, ACTIVATION)?,
            assignee: staff::Model::from_query_result_optional(res, ASSIGNEE)?,
        })
    }
}

/// Adds every column of `E`, each named with `prefix`.
fn columns_of<E: EntityTrait>(
    mut q: Select<refund_claim::Entity>,
    prefix: &str,
) -> Select<refund_claim::Entity> {
    for col in E::Column::iter() {
        q = q.column_as(
            Expr::col((E::default(), col)),
            format!("{prefix}{}", col.as_str()),
        );
    }
    q
}

/// Joins the order, customer, activation and assignee of each claim.
fn with_relations(q: Select<refund_claim::Entity>) -> Select<refund_claim::Entity> {
    let q = q
        .join(JoinType::InnerJoin, refund_claim::Relation::Order.def())
        .join(JoinType::InnerJoin, refund_claim::Relation::Customer.def())
        .join(JoinType::LeftJoin, order::Relation::Activation.def())
        .join(JoinType::LeftJoin, refund_claim::Relation::Assignee.def());
    let q = columns_of::<order::Entity>(q, ORDER);
    let q = columns_of::<customer::Entity>(q, CUSTOMER);
    let q = columns_of::<activation::Entity>(q, ACTIVATION);
    columns_of::<staff::Entity>(q, ASSIGNEE)
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
) -> AppResult<Page<refund_claim::Model>> {
    let (q, keys) = plan(filter, sort, page);
    Ok(fetch_sorted_page_as(conn, q, |q| q, keys, page).await?)
}

/// The same page, each claim with its order, customer, activation and
/// assignee, in one statement (plus the count when asked for).
pub async fn list_with_relations<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
) -> AppResult<Page<ClaimRow>> {
    let (q, keys) = plan(filter, sort, page);
    Ok(fetch_sorted_page_as(conn, q, with_relations, keys, page).await?)
}

/// The filtered statement and the sort keys of a claims page.
fn plan(
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
) -> (Select<refund_claim::Entity>, SortKeys<refund_claim::Entity>) {
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
    // The cursor is a claim id; its sort key is read by a subquery of the
    // page's own statement, so pages stay stable under inserts whatever the
    // order, at no extra round trip.
    let (key_col, descending) = match sort {
        ClaimOrder::SubmittedAtDesc => (C_::SubmittedAt, true),
        ClaimOrder::SubmittedAtAsc => (C_::SubmittedAt, false),
        ClaimOrder::AmountDesc => (C_::RequestedMinor, true),
    };
    let key = page.cursor.map(|id| {
        SimpleExpr::SubQuery(
            None,
            Box::new(
                Query::select()
                    .column(key_col)
                    .from(refund_claim::Entity)
                    .and_where(C_::Id.eq(id))
                    .to_owned()
                    .into(),
            ),
        )
    });
    let keys = SortKeys {
        key_col,
        id_col: C_::Id,
        descending,
        cursor_key: key,
    };
    (q, keys)
}
