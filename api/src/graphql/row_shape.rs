//! Which columns the claims page reads, worked out from the fields the query
//! selects, so a dashboard row reads the columns it shows and not whole rows
//! of five tables (71), which cuts the CPU spent copying and decoding
//! columns (BENCHMARKS.md has the profile and the A/B).
//! The claims' payouts are read the same way, by the page's second
//! statement (5 columns for the dashboard, not 17).
//!
//! Each table below lists, for every field of a GraphQL type, the columns its
//! resolver reads, including through helpers (an activation's status needs
//! its order's plan length). A field missing from a table reads every column
//! of its type, so a new field is slow until listed here, never wrong. The
//! `dashboard` tests compare each field read through the page with the same
//! field read through `order(id) { claims }` (whole rows, through loaders).
//! `claim(id)` reads its claim the same way as the page, so one claim with
//! its order is one statement after the caller check (two with its payouts).

use async_graphql::{Context, SelectionField};
use sea_orm::Iterable;

use entity::{activation, customer, order, payout, refund_claim, staff};

use crate::service::claim_list::{add_columns, RowShape};

/// The row shape of a `claims` page: the fields under `edges.node` and `nodes`.
pub fn claims_page_shape(ctx: &Context<'_>) -> RowShape {
    let look = ctx.look_ahead();
    let nodes = look
        .field("edges")
        .field("node")
        .selection_fields()
        .into_iter()
        .chain(look.field("nodes").selection_fields());
    shape_of(nodes)
}

/// The row shape of one claim (`claim(id)`): the fields selected on it.
pub fn claim_shape(ctx: &Context<'_>) -> RowShape {
    shape_of(ctx.look_ahead().selection_fields().into_iter())
}

fn shape_of<'a>(claims: impl Iterator<Item = SelectionField<'a>>) -> RowShape {
    let mut shape = RowShape::default();
    for claim in claims {
        for field in claim.selection_set() {
            claim_field(&field, &mut shape);
        }
    }
    shape
}

fn claim_field(field: &SelectionField<'_>, shape: &mut RowShape) {
    use refund_claim::Column as C;
    let cols: &[C] = match field.name() {
        "id" | "__typename" | "evidence" | "events" => &[],
        "payouts" => {
            payout_fields(field, shape.payouts.get_or_insert_with(Vec::new));
            &[]
        }
        "order" => {
            order_fields(field, shape);
            &[C::OrderId]
        }
        "customer" => {
            customer_fields(field, shape);
            &[C::CustomerId]
        }
        "assignee" => {
            staff_fields(field, shape.assignee.get_or_insert_with(Vec::new));
            &[C::AssigneeId]
        }
        "reason" => &[C::Reason],
        "description" => &[C::Description],
        "channel" => &[C::Channel],
        "status" => &[C::Status],
        "requestedAmount" => &[C::RequestedMinor, C::Currency],
        "approvedAmount" => &[C::ApprovedMinor, C::Currency],
        "eligibility" => {
            leaf_fields(field, &mut shape.claim, |name| {
                Some(match name {
                    "__typename" | "outcome" => &[],
                    "rule" => &[C::EligibilityRule],
                    "explanation" => &[C::EligibilityExplanation],
                    "suggestedAmount" => &[C::EligibilitySuggestedMinor],
                    "evidenceRequired" => &[C::EvidenceRequired],
                    "policyVersion" => &[C::PolicyVersion],
                    _ => return None,
                })
            });
            // The resolver builds the whole assessment, parsing these two.
            &[C::EligibilityOutcome, C::Currency]
        }
        "submittedBy" => &[C::SubmittedBy],
        "submittedAt" => &[C::SubmittedAt],
        "decidedBy" => &[C::DecidedBy],
        "decidedAt" => &[C::DecidedAt],
        "decisionNote" => &[C::DecisionNote],
        "rejectionReason" => &[C::RejectionReason],
        "overrideReason" => &[C::OverrideReason],
        "version" => &[C::Version],
        _ => {
            shape.claim = C::iter().collect();
            return;
        }
    };
    add_columns(&mut shape.claim, cols);
}

fn order_fields(order_field: &SelectionField<'_>, shape: &mut RowShape) {
    use order::Column as O;
    let mut read = Vec::new();
    for field in order_field.selection_set() {
        let cols: &[O] = match field.name() {
            "id" | "__typename" | "claims" | "payouts" | "chargebacks" => &[],
            "customer" => {
                customer_fields(&field, shape);
                &[O::CustomerId]
            }
            "activation" => {
                activation_fields(&field, shape);
                &[O::PlanMonths]
            }
            "number" => &[O::Number],
            "planMonths" => &[O::PlanMonths],
            "devices" => &[O::Devices],
            "total" | "refundable" => &[O::TotalMinor, O::Currency],
            "refundedTotal" => &[O::Currency],
            "paymentMethod" => &[O::PaymentMethod],
            "paymentReference" => &[O::PaymentReference],
            "status" => &[O::Status],
            "placedAt" => &[O::PlacedAt],
            "paidAt" => &[O::PaidAt],
            _ => {
                read = O::iter().collect();
                continue;
            }
        };
        add_columns(&mut read, cols);
    }
    add_columns(shape.order.get_or_insert_with(Vec::new), &read);
}

/// Adds to `read` the columns each field under `parent` needs, as `columns`
/// lists them; a field it does not know (`None`) reads every column.
fn leaf_fields<C: Copy + Iterable + 'static>(
    parent: &SelectionField<'_>,
    read: &mut Vec<C>,
    columns: impl Fn(&str) -> Option<&'static [C]>,
) {
    for field in parent.selection_set() {
        match columns(field.name()) {
            Some(cols) => add_columns(read, cols),
            None => add_columns(read, &C::iter().collect::<Vec<_>>()),
        }
    }
}

fn customer_fields(customer_field: &SelectionField<'_>, shape: &mut RowShape) {
    use customer::Column as U;
    let read = shape.customer.get_or_insert_with(Vec::new);
    leaf_fields(customer_field, read, |name| {
        Some(match name {
            "id" | "__typename" | "orders" | "contacts" => &[],
            "email" => &[U::Email],
            "name" => &[U::Name],
            "phone" => &[U::Phone],
            "restricted" => &[U::Restricted],
            "restrictionReason" => &[U::RestrictionReason],
            "createdAt" => &[U::CreatedAt],
            _ => return None,
        })
    });
}

fn activation_fields(activation_field: &SelectionField<'_>, shape: &mut RowShape) {
    use activation::Column as A;
    // The order id lets `Order.activation` check the row belongs to it.
    let read = shape.activation.get_or_insert_with(|| vec![A::OrderId]);
    leaf_fields(activation_field, read, |name| {
        Some(match name {
            "id" | "__typename" | "order" => &[],
            "channel" => &[A::Channel],
            "destination" => &[A::Destination],
            "createdAt" => &[A::CreatedAt],
            "deliveredAt" | "used" | "startsAt" | "expiresAt" => &[A::DeliveredAt],
            "status" => &[A::Status, A::DeliveredAt],
            _ => return None,
        })
    });
}

fn staff_fields(staff_field: &SelectionField<'_>, read: &mut Vec<staff::Column>) {
    use staff::Column as S;
    leaf_fields(staff_field, read, |name| {
        Some(match name {
            "id" | "__typename" => &[],
            "email" => &[S::Email],
            "name" => &[S::Name],
            "roles" => &[S::Roles],
            "active" => &[S::Active],
            "createdAt" => &[S::CreatedAt],
            _ => return None,
        })
    });
}

fn payout_fields(payouts_field: &SelectionField<'_>, read: &mut Vec<payout::Column>) {
    use payout::Column as P;
    leaf_fields(payouts_field, read, |name| {
        Some(match name {
            "id" | "__typename" => &[],
            "claim" => &[P::ClaimId],
            "order" => &[P::OrderId],
            "amount" => &[P::AmountMinor, P::Currency],
            "method" => &[P::Method],
            "sameMethodAsOrder" => &[P::SameMethodAsOrder],
            "status" => &[P::Status],
            "externalReference" => &[P::ExternalReference],
            "initiatedAt" => &[P::InitiatedAt],
            "expectedEarliest" => &[P::ExpectedEarliest],
            "expectedLatest" => &[P::ExpectedLatest],
            "overdue" => &[P::Status, P::ExpectedLatest],
            "settledAt" => &[P::SettledAt],
            "failureReason" => &[P::FailureReason],
            _ => return None,
        })
    });
}
