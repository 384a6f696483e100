//! The claims list of the dashboards: filters, three sort orders, keyset pages.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, JoinType, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, QueryTrait, RelationTrait, Select, Statement,
};
use uuid::Uuid;

use entity::{activation, customer, order, payout, refund_claim, staff};

use super::page::{fetch_sorted_page_as, fetch_sorted_page_with, SortKeys};
use super::sql::backend_slot;
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

/// The columns a claims page reads of each table, as the query's selection
/// needs them; a relation left `None` is not joined. `id` is always read.
/// Payouts, many to a claim, are read by a second statement.
#[derive(Clone, Debug, Default)]
pub struct RowShape {
    pub claim: Vec<refund_claim::Column>,
    pub order: Option<Vec<order::Column>>,
    pub customer: Option<Vec<customer::Column>>,
    pub activation: Option<Vec<activation::Column>>,
    pub assignee: Option<Vec<staff::Column>>,
    pub payouts: Option<Vec<payout::Column>>,
}

/// Adds `cols` to a column list once each.
pub fn add_columns<C: Copy>(list: &mut Vec<C>, cols: &[C]) {
    for c in cols {
        if !holds(list, *c) {
            list.push(*c);
        }
    }
}

/// True when `list` holds `col`.
fn holds<C>(list: &[C], col: C) -> bool {
    position(list, col).is_some()
}

/// Where `list` holds `col`. Column enums are fieldless but do not implement
/// `PartialEq`; their discriminants compare as integers.
fn position<C>(list: &[C], col: C) -> Option<usize> {
    let wanted = std::mem::discriminant(&col);
    list.iter()
        .position(|c| std::mem::discriminant(c) == wanted)
}

/// What a page read beside each claim. Models hold only the columns the
/// row shape asked for (the others keep their type's default), so they stay
/// with the row that read them and never reach a loader's cache. The outer
/// `Option` is `None` when the relation was not read.
#[derive(Clone, Debug, Default)]
pub struct Joined {
    pub order: Option<order::Model>,
    pub customer: Option<customer::Model>,
    pub activation: Option<Option<activation::Model>>,
    pub assignee: Option<Option<staff::Model>>,
    /// The claim's payouts, oldest first.
    pub payouts: Option<Vec<payout::Model>>,
}

/// A claim (only the columns its shape asked for) and what was read beside it.
#[derive(Clone, Debug)]
pub struct ClaimRow {
    pub claim: refund_claim::Model,
    pub joined: Joined,
}

const ORDER: &str = "o_";
const CUSTOMER: &str = "u_";
const ACTIVATION: &str = "a_";
const ASSIGNEE: &str = "s_";

/// Defines `$name(res, base, cols)`: the model built from the columns
/// `cols`, which a row holds from position `base` on, in that order; the
/// model's other fields get their type's default. Listing every field makes
/// a new column a compile error here rather than a silent default. Columns
/// are read by position: by name, sea-orm formats each prefixed name and the
/// driver looks it up, per column and row (BENCHMARKS.md has the profile).
macro_rules! partial_model {
    ($name:ident, $module:ident { $($field:ident: $col:ident),+ $(,)? }) => {
        fn $name(
            res: &QueryResult,
            base: usize,
            cols: &[entity::$module::Column],
        ) -> Result<entity::$module::Model, DbErr> {
            use entity::$module::{Column, Model};
            Ok(Model {
                $($field: match position(cols, Column::$col) {
                    Some(i) => res.try_get_by_index(base + i)?,
                    None => Default::default(),
                }),+
            })
        }
    };
}

partial_model!(
    partial_claim,
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
);

/// The left-joined row whose columns start at `base` (its id first), read
/// by `read`; `None` when the join found none (its id is NULL).
fn left_joined<M>(
    res: &QueryResult,
    base: usize,
    read: impl FnOnce(usize) -> Result<M, DbErr>,
) -> Result<Option<M>, DbErr> {
    match res.try_get_by_index::<Option<Uuid>>(base)? {
        Some(_) => read(base).map(Some),
        None => Ok(None),
    }
}

partial_model!(
    partial_order,
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
);

partial_model!(
    partial_customer,
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
);

partial_model!(
    partial_activation,
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
);

partial_model!(
    partial_staff,
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
);

partial_model!(
    partial_payout,
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
);

impl RowShape {
    /// The same shape with each table's id first, as `apply` and `decode`
    /// expect; done once per page rather than per row.
    fn with_ids(&self) -> Self {
        RowShape {
            claim: with_id(&self.claim, refund_claim::Column::Id),
            order: self.order.as_deref().map(|c| with_id(c, order::Column::Id)),
            customer: self
                .customer
                .as_deref()
                .map(|c| with_id(c, customer::Column::Id)),
            activation: self
                .activation
                .as_deref()
                .map(|c| with_id(c, activation::Column::Id)),
            assignee: self
                .assignee
                .as_deref()
                .map(|c| with_id(c, staff::Column::Id)),
            // The claim id groups them.
            payouts: self.payouts.as_deref().map(|c| {
                let mut cols = with_id(c, payout::Column::Id);
                add_columns(&mut cols, &[payout::Column::ClaimId]);
                cols
            }),
        }
    }

    /// Selects the shape's columns and joins its relations (ids included by
    /// [`RowShape::with_ids`]).
    fn apply(&self, q: Select<refund_claim::Entity>) -> Select<refund_claim::Entity> {
        let mut q = q.select_only();
        for col in &self.claim {
            q = q.column(*col);
        }
        if self.order.is_some() || self.activation.is_some() {
            q = q.join(JoinType::InnerJoin, refund_claim::Relation::Order.def());
        }
        if let Some(cols) = &self.order {
            q = columns_of::<order::Entity>(q, ORDER, cols);
        }
        if let Some(cols) = &self.customer {
            q = q.join(JoinType::InnerJoin, refund_claim::Relation::Customer.def());
            q = columns_of::<customer::Entity>(q, CUSTOMER, cols);
        }
        if let Some(cols) = &self.activation {
            q = q.join(JoinType::LeftJoin, order::Relation::Activation.def());
            q = columns_of::<activation::Entity>(q, ACTIVATION, cols);
        }
        if let Some(cols) = &self.assignee {
            q = q.join(JoinType::LeftJoin, refund_claim::Relation::Assignee.def());
            q = columns_of::<staff::Entity>(q, ASSIGNEE, cols);
        }
        q
    }

    /// What decides the SQL of [`RowShape::apply`]: each joined table and
    /// its columns, in order (rows are decoded by position). Payouts are
    /// read by a statement of their own.
    fn statement_key(&self) -> Vec<&'static str> {
        fn table<C: IdenStatic>(
            key: &mut Vec<&'static str>,
            name: &'static str,
            cols: Option<&[C]>,
        ) {
            if let Some(cols) = cols {
                // Not a column name: tables cannot run together.
                key.push(name);
                key.extend(cols.iter().map(|c| c.as_str()));
            }
        }
        let mut key = Vec::with_capacity(64);
        table(&mut key, "#claim", Some(&self.claim));
        table(&mut key, "#order", self.order.as_deref());
        table(&mut key, "#customer", self.customer.as_deref());
        table(&mut key, "#activation", self.activation.as_deref());
        table(&mut key, "#assignee", self.assignee.as_deref());
        key
    }

    /// Reads one row of a statement built by [`RowShape::apply`], by
    /// position: the claim's columns, then each joined table's, in `apply`'s
    /// order.
    fn decode(&self, res: &QueryResult) -> Result<ClaimRow, DbErr> {
        let mut base = 0;
        let mut next = |len: usize| {
            let start = base;
            base += len;
            start
        };
        let claim = partial_claim(res, next(self.claim.len()), &self.claim)?;
        let order = (self.order.as_deref())
            .map(|cols| partial_order(res, next(cols.len()), cols))
            .transpose()?;
        let customer = (self.customer.as_deref())
            .map(|cols| partial_customer(res, next(cols.len()), cols))
            .transpose()?;
        let activation = (self.activation.as_deref())
            .map(|cols| {
                left_joined(res, next(cols.len()), |at| {
                    partial_activation(res, at, cols)
                })
            })
            .transpose()?;
        let assignee = (self.assignee.as_deref())
            .map(|cols| left_joined(res, next(cols.len()), |at| partial_staff(res, at, cols)))
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

/// Shapes whose single-claim statement is kept. Shapes follow the client's
/// selection: a dashboard sends a handful, but anyone may send many, so past
/// this number a statement is built for each request instead.
const SHAPES_KEPT: usize = 64;

/// The statement reading claim `id` with `shape` (ids included), as
/// `shape.apply` builds it. Its SQL is built once per backend and shape and
/// kept: a dashboard asks for the same fields each time, and building the
/// select with its joins and aliases was a measurable share of a lookup
/// (BENCHMARKS.md, the lookup). The id is the statement's only value.
fn one_claim_statement(backend: DbBackend, shape: &RowShape, id: Uuid) -> Statement {
    let key = (backend_slot(backend), shape.statement_key());
    if let Some(sql) = kept_statements().get(&key) {
        return Statement::from_sql_and_values(backend, sql.clone(), [id.into()]);
    }
    // Built once per shape: `find_by_id` lists every column for `apply`'s
    // `select_only` to drop, which only a miss pays.
    let built = shape
        .apply(refund_claim::Entity::find_by_id(id))
        .build(backend);
    let mut kept = kept_statements();
    if kept.len() < SHAPES_KEPT {
        kept.insert(key, built.sql.clone());
    }
    built
}

/// Kept single-claim SQL, by [`backend_slot`] and [`RowShape::statement_key`].
type KeptStatements = HashMap<(u8, Vec<&'static str>), String>;

/// The kept single-claim statements.
fn kept_statements() -> MutexGuard<'static, KeptStatements> {
    static KEPT: LazyLock<Mutex<KeptStatements>> = LazyLock::new(Default::default);
    // The map holds whole strings; a panic elsewhere cannot leave one
    // half-written.
    KEPT.lock().unwrap_or_else(|p| p.into_inner())
}

/// `cols` with `id` first.
fn with_id<C: Copy>(cols: &[C], id: C) -> Vec<C> {
    let mut all = vec![id];
    add_columns(&mut all, cols);
    all
}

/// Adds the columns `cols` of `E`, each named with `prefix`.
fn columns_of<E: EntityTrait>(
    mut q: Select<refund_claim::Entity>,
    prefix: &str,
    cols: &[E::Column],
) -> Select<refund_claim::Entity> {
    for col in cols {
        q = q.column_as(
            Expr::col((E::default(), *col)),
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

/// The same page, each claim read with the columns `shape` asks for and its
/// order, customer, activation and assignee joined when the shape asks for
/// them: one statement (plus the count when asked for).
pub async fn list_with_relations<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimQuery,
    sort: ClaimOrder,
    page: &PageRequest,
    shape: &RowShape,
) -> AppResult<Page<ClaimRow>> {
    let (q, keys) = plan(filter, sort, page);
    let shape = shape.with_ids();
    let rows = fetch_sorted_page_with(conn, q, |q| shape.apply(q), keys, page).await?;
    let mut page = rows.try_map(|row| shape.decode(&row))?;
    if let Some(cols) = &shape.payouts {
        attach_payouts(conn, &mut page.items, cols).await?;
    }
    Ok(page)
}

/// One claim, read as a page row is: the columns `shape` asks for, with its
/// relations joined, in one statement (plus one for payouts when asked for).
pub async fn find_with_relations<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    shape: &RowShape,
) -> AppResult<Option<ClaimRow>> {
    let shape = shape.with_ids();
    let Some(res) = conn
        .query_one_raw(one_claim_statement(conn.get_database_backend(), &shape, id))
        .await?
    else {
        return Ok(None);
    };
    let mut rows = vec![shape.decode(&res)?];
    if let Some(cols) = &shape.payouts {
        attach_payouts(conn, &mut rows, cols).await?;
    }
    Ok(rows.pop())
}

/// Reads the payouts of a page's claims in one statement, with the columns
/// `cols` (id first, claim id among them), and hands each claim its own.
/// The page does it rather than a loader: it knows the claims and the
/// columns, and the loader's whole rows cost more to read than the rest of
/// a payout's fields (BENCHMARKS.md).
async fn attach_payouts<C: ConnectionTrait>(
    conn: &C,
    rows: &mut [ClaimRow],
    cols: &[payout::Column],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = payout::Entity::find().select_only();
    for col in cols {
        q = q.column(*col);
    }
    let q = q
        .filter(payout::Column::ClaimId.is_in(rows.iter().map(|r| r.claim.id)))
        .order_by_asc(payout::Column::Id);
    let mut by_claim: HashMap<Uuid, Vec<payout::Model>> = HashMap::new();
    for res in conn
        .query_all_raw(q.build(conn.get_database_backend()))
        .await?
    {
        let p = partial_payout(&res, 0, cols)?;
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

    fn shapes() -> Vec<(&'static str, RowShape)> {
        use refund_claim::Column as C;
        let claim = vec![C::Status, C::RequestedMinor, C::Reason];
        vec![
            (
                "the claim alone",
                RowShape {
                    claim: claim.clone(),
                    ..Default::default()
                },
            ),
            (
                "the same columns in another order",
                RowShape {
                    claim: vec![C::Reason, C::RequestedMinor, C::Status],
                    ..Default::default()
                },
            ),
            (
                "with its order and customer",
                RowShape {
                    claim: claim.clone(),
                    order: Some(vec![order::Column::Number, order::Column::PlanMonths]),
                    customer: Some(vec![customer::Column::Email]),
                    ..Default::default()
                },
            ),
            (
                "with everything joined",
                RowShape {
                    claim: claim.clone(),
                    order: Some(vec![order::Column::Number]),
                    customer: Some(vec![customer::Column::Email, customer::Column::Name]),
                    activation: Some(vec![activation::Column::Channel]),
                    assignee: Some(vec![staff::Column::Email]),
                    payouts: Some(vec![payout::Column::AmountMinor]),
                },
            ),
            (
                "the activation without the order's columns",
                RowShape {
                    claim,
                    activation: Some(vec![activation::Column::Destination]),
                    ..Default::default()
                },
            ),
        ]
    }

    #[test]
    fn a_kept_statement_is_the_one_the_shape_builds_with_this_claims_id() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres, DbBackend::MySql] {
            for (case, shape) in shapes() {
                let shape = shape.with_ids();
                // The first call builds (and keeps); the others read it back.
                for _ in 0..3 {
                    let id = Uuid::now_v7();
                    let built = shape
                        .apply(refund_claim::Entity::find_by_id(id))
                        .build(backend);
                    assert_eq!(
                        one_claim_statement(backend, &shape, id),
                        built,
                        "{backend:?}: {case}"
                    );
                }
            }
        }
    }

    #[test]
    fn shapes_that_differ_in_tables_or_order_have_their_own_statements() {
        let keys: Vec<_> = shapes()
            .iter()
            .map(|(_, s)| s.with_ids().statement_key())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Payouts are read by a statement of their own.
        let (_, mut with_payouts) = shapes().remove(0);
        let without = with_payouts.statement_key();
        with_payouts.payouts = Some(vec![payout::Column::AmountMinor]);
        assert_eq!(with_payouts.statement_key(), without);
    }

    #[test]
    fn shapes_sent_by_the_client_are_kept_up_to_a_bound() {
        use refund_claim::Column as C;
        let columns = [
            C::Status,
            C::RequestedMinor,
            C::Reason,
            C::Channel,
            C::Description,
        ];
        // Every ordered pair and triple of five columns: 80 shapes.
        let mut shapes = Vec::new();
        for a in columns {
            for b in columns {
                shapes.push(vec![a, b]);
                for c in columns {
                    shapes.push(vec![a, b, c]);
                }
            }
        }
        for cols in shapes.into_iter().take(2 * SHAPES_KEPT) {
            let shape = RowShape {
                claim: cols,
                ..Default::default()
            }
            .with_ids();
            let id = Uuid::now_v7();
            let built = shape
                .apply(refund_claim::Entity::find_by_id(id))
                .build(DbBackend::Sqlite);
            assert_eq!(one_claim_statement(DbBackend::Sqlite, &shape, id), built);
        }
        assert_eq!(kept_statements().len(), SHAPES_KEPT);
    }
}
