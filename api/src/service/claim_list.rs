//! The claims list of the dashboards: filters, three sort orders, keyset pages.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic, Iterable, JoinType, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, QueryTrait, RelationTrait, Select,
};
use uuid::Uuid;

use entity::{activation, customer, order, payout, refund_claim, staff};

use super::page::{fetch_sorted_page_as, fetch_sorted_page_with, SortKeys};
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

/// The order of a claims list (also the `sort` parameter of
/// `/exports/claims.csv`).
#[derive(async_graphql::Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[graphql(name = "ClaimSort", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ClaimOrder {
    #[default]
    SubmittedAtDesc,
    SubmittedAtAsc,
    AmountDesc,
}

/// The relations a claims page reads beside each claim, as the query's
/// selection needs them; one not selected is not joined. Every row is read
/// whole. Payouts, many to a claim, are read by a second statement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relations {
    pub order: bool,
    pub customer: bool,
    pub activation: bool,
    pub assignee: bool,
    pub payouts: bool,
}

/// What a page read beside each claim: whole rows. The outer `Option` is
/// `None` when the relation was not read.
#[derive(Clone, Debug, Default)]
pub struct Joined {
    pub order: Option<order::Model>,
    pub customer: Option<customer::Model>,
    pub activation: Option<Option<activation::Model>>,
    pub assignee: Option<Option<staff::Model>>,
    /// The claim's payouts, oldest first.
    pub payouts: Option<Vec<payout::Model>>,
}

/// A claim and what was read beside it.
#[derive(Clone, Debug)]
pub struct ClaimRow {
    pub claim: refund_claim::Model,
    pub joined: Joined,
}

const ORDER: &str = "o_";
const CUSTOMER: &str = "u_";
const ACTIVATION: &str = "a_";
const ASSIGNEE: &str = "s_";

/// Builds a whole model from a row that holds its table's columns from
/// position `$base` on, in `Column::iter()` order, as [`columns_of`] selects
/// them (`Column::X as usize` is X's place in that order: the enums are
/// fieldless and declared in that order, which a test checks). Listing every
/// field makes a new column a compile error here. Columns are read by
/// position: by name, sea-orm formats each prefixed name and the driver looks
/// it up, per column and row (BENCHMARKS.md has the profile).
macro_rules! model_at {
    ($res:expr, $base:expr, $module:ident { $($field:ident: $col:ident),+ $(,)? }) => {{
        use entity::$module::{Column, Model};
        let (res, base): (&QueryResult, usize) = ($res, $base);
        Model {
            $($field: res.try_get_by_index(base + Column::$col as usize)?),+
        }
    }};
}

fn claim_at(res: &QueryResult, base: usize) -> Result<refund_claim::Model, DbErr> {
    Ok(model_at!(
        res,
        base,
        refund_claim {
            id: Id,
            order_id: OrderId,
            customer_id: CustomerId,
            reason: Reason,
            description: Description,
            channel: Channel,
            status: Status,
            requested_minor: RequestedMinor,
            approved_minor: ApprovedMinor,
            currency: Currency,
            eligibility_outcome: EligibilityOutcome,
            eligibility_rule: EligibilityRule,
            eligibility_explanation: EligibilityExplanation,
            eligibility_suggested_minor: EligibilitySuggestedMinor,
            evidence_required: EvidenceRequired,
            policy_version: PolicyVersion,
            assignee_id: AssigneeId,
            submitted_by: SubmittedBy,
            submitted_at: SubmittedAt,
            first_approver_id: FirstApproverId,
            first_approved_minor: FirstApprovedMinor,
            decided_by: DecidedBy,
            decided_at: DecidedAt,
            decision_note: DecisionNote,
            rejection_reason: RejectionReason,
            override_reason: OverrideReason,
            version: Version,
            open_order_id: OpenOrderId,
            created_at: CreatedAt,
            updated_at: UpdatedAt,
        }
    ))
}

/// The left-joined row whose columns start at `base` (its id first), read
/// by `read`; `None` when the join found none (its id is NULL).
fn left_joined<M>(
    res: &QueryResult,
    base: usize,
    read: fn(&QueryResult, usize) -> Result<M, DbErr>,
) -> Result<Option<M>, DbErr> {
    match res.try_get_by_index::<Option<Uuid>>(base)? {
        Some(_) => read(res, base).map(Some),
        None => Ok(None),
    }
}

fn order_at(res: &QueryResult, base: usize) -> Result<order::Model, DbErr> {
    Ok(model_at!(
        res,
        base,
        order {
            id: Id,
            number: Number,
            customer_id: CustomerId,
            plan_months: PlanMonths,
            devices: Devices,
            total_minor: TotalMinor,
            currency: Currency,
            payment_method: PaymentMethod,
            payment_reference: PaymentReference,
            status: Status,
            placed_at: PlacedAt,
            paid_at: PaidAt,
            created_at: CreatedAt,
            updated_at: UpdatedAt,
            lock_version: LockVersion,
        }
    ))
}

fn customer_at(res: &QueryResult, base: usize) -> Result<customer::Model, DbErr> {
    Ok(model_at!(
        res,
        base,
        customer {
            id: Id,
            email: Email,
            name: Name,
            phone: Phone,
            restricted: Restricted,
            restriction_reason: RestrictionReason,
            created_at: CreatedAt,
            updated_at: UpdatedAt,
        }
    ))
}

fn activation_at(res: &QueryResult, base: usize) -> Result<activation::Model, DbErr> {
    Ok(model_at!(
        res,
        base,
        activation {
            id: Id,
            order_id: OrderId,
            channel: Channel,
            destination: Destination,
            credentials_ciphertext: CredentialsCiphertext,
            status: Status,
            delivered_at: DeliveredAt,
            created_at: CreatedAt,
            updated_at: UpdatedAt,
        }
    ))
}

fn staff_at(res: &QueryResult, base: usize) -> Result<staff::Model, DbErr> {
    Ok(model_at!(
        res,
        base,
        staff {
            id: Id,
            email: Email,
            name: Name,
            password_hash: PasswordHash,
            roles: Roles,
            active: Active,
            token_version: TokenVersion,
            created_at: CreatedAt,
            updated_at: UpdatedAt,
        }
    ))
}

fn payout_at(res: &QueryResult, base: usize) -> Result<payout::Model, DbErr> {
    Ok(model_at!(
        res,
        base,
        payout {
            id: Id,
            claim_id: ClaimId,
            order_id: OrderId,
            amount_minor: AmountMinor,
            currency: Currency,
            method: Method,
            same_method_as_order: SameMethodAsOrder,
            status: Status,
            external_reference: ExternalReference,
            initiated_at: InitiatedAt,
            expected_earliest: ExpectedEarliest,
            expected_latest: ExpectedLatest,
            settled_at: SettledAt,
            failure_reason: FailureReason,
            retry_of_id: RetryOfId,
            created_at: CreatedAt,
            updated_at: UpdatedAt,
        }
    ))
}

impl Relations {
    /// Selects every column of the claim and of each relation asked for,
    /// joining them.
    fn apply(self, q: Select<refund_claim::Entity>) -> Select<refund_claim::Entity> {
        let mut q = q.select_only();
        for col in refund_claim::Column::iter() {
            q = q.column(col);
        }
        if self.order || self.activation {
            q = q.join(JoinType::InnerJoin, refund_claim::Relation::Order.def());
        }
        if self.order {
            q = columns_of::<order::Entity>(q, ORDER);
        }
        if self.customer {
            q = q.join(JoinType::InnerJoin, refund_claim::Relation::Customer.def());
            q = columns_of::<customer::Entity>(q, CUSTOMER);
        }
        if self.activation {
            q = q.join(JoinType::LeftJoin, order::Relation::Activation.def());
            q = columns_of::<activation::Entity>(q, ACTIVATION);
        }
        if self.assignee {
            q = q.join(JoinType::LeftJoin, refund_claim::Relation::Assignee.def());
            q = columns_of::<staff::Entity>(q, ASSIGNEE);
        }
        q
    }

    /// Reads one row of a statement built by [`Relations::apply`], by
    /// position: the claim's columns, then each joined table's, in `apply`'s
    /// order.
    fn decode(self, res: &QueryResult) -> Result<ClaimRow, DbErr> {
        let mut base = 0;
        let mut next = |width: usize| {
            let start = base;
            base += width;
            start
        };
        let claim = claim_at(res, next(width::<refund_claim::Entity>()))?;
        let order = (self.order)
            .then(|| order_at(res, next(width::<order::Entity>())))
            .transpose()?;
        let customer = (self.customer)
            .then(|| customer_at(res, next(width::<customer::Entity>())))
            .transpose()?;
        let activation = (self.activation)
            .then(|| left_joined(res, next(width::<activation::Entity>()), activation_at))
            .transpose()?;
        let assignee = (self.assignee)
            .then(|| left_joined(res, next(width::<staff::Entity>()), staff_at))
            .transpose()?;
        Ok(ClaimRow {
            claim,
            joined: Joined {
                order,
                customer,
                activation,
                assignee,
                payouts: None,
            },
        })
    }
}

/// How many columns `E` has.
fn width<E: EntityTrait>() -> usize {
    E::Column::iter().count()
}

/// Adds every column of `E`, in `Column::iter()` order, each named with
/// `prefix`.
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

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
) -> AppResult<Page<refund_claim::Model>> {
    let (q, keys) = plan(filter, sort, page);
    Ok(fetch_sorted_page_as(conn, q, |q| q, keys, page).await?)
}

/// The same page, each claim read with the relations asked for joined: one
/// statement (plus the count when asked for, plus one for payouts when
/// asked for).
pub async fn list_with_relations<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
    relations: Relations,
) -> AppResult<Page<ClaimRow>> {
    let (q, keys) = plan(filter, sort, page);
    let rows = fetch_sorted_page_with(conn, q, |q| relations.apply(q), keys, page).await?;
    let mut page = rows.try_map(|row| relations.decode(&row))?;
    if relations.payouts {
        attach_payouts(conn, &mut page.items).await?;
    }
    Ok(page)
}

/// One claim, read as a page row is, in one statement (plus one for payouts
/// when asked for).
pub async fn find_with_relations<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    relations: Relations,
) -> AppResult<Option<ClaimRow>> {
    let q = relations.apply(refund_claim::Entity::find_by_id(id));
    let Some(res) = conn
        .query_one_raw(q.build(conn.get_database_backend()))
        .await?
    else {
        return Ok(None);
    };
    let mut rows = vec![relations.decode(&res)?];
    if relations.payouts {
        attach_payouts(conn, &mut rows).await?;
    }
    Ok(rows.pop())
}

/// Reads the payouts of a page's claims in one statement and hands each
/// claim its own. The page does it rather than a loader: it knows the
/// claims, so the payouts cost one statement whatever the page's size.
async fn attach_payouts<C: ConnectionTrait>(conn: &C, rows: &mut [ClaimRow]) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = payout::Entity::find().select_only();
    for col in payout::Column::iter() {
        q = q.column(col);
    }
    let q = q
        .filter(payout::Column::ClaimId.is_in(rows.iter().map(|r| r.claim.id)))
        .order_by_asc(payout::Column::Id);
    let mut by_claim: HashMap<Uuid, Vec<payout::Model>> = HashMap::new();
    for res in conn
        .query_all_raw(q.build(conn.get_database_backend()))
        .await?
    {
        let p = payout_at(&res, 0)?;
        by_claim.entry(p.claim_id).or_default().push(p);
    }
    for row in rows {
        row.joined.payouts = Some(by_claim.remove(&row.claim.id).unwrap_or_default());
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `model_at!` reads `Column::X` at `X as usize`, and `left_joined` the
    /// id at the first place: both hold when each enum's discriminants are
    /// its `iter()` order and `Id` comes first.
    #[test]
    fn column_discriminants_are_their_places_and_ids_come_first() {
        fn check<E: EntityTrait>(discriminant: impl Fn(E::Column) -> usize, id: E::Column) {
            for (place, col) in E::Column::iter().enumerate() {
                assert_eq!(
                    discriminant(col),
                    place,
                    "{}.{}",
                    E::default().as_str(),
                    col.as_str()
                );
            }
            assert_eq!(discriminant(id), 0, "{}", E::default().as_str());
        }
        check::<refund_claim::Entity>(|c| c as usize, refund_claim::Column::Id);
        check::<order::Entity>(|c| c as usize, order::Column::Id);
        check::<customer::Entity>(|c| c as usize, customer::Column::Id);
        check::<activation::Entity>(|c| c as usize, activation::Column::Id);
        check::<staff::Entity>(|c| c as usize, staff::Column::Id);
        check::<payout::Entity>(|c| c as usize, payout::Column::Id);
    }
}
