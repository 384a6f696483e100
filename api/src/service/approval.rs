//! Approving a claim: every check of DESIGN.md in order, dual approval,
//! idempotency keys, and the payout created in the same transaction.

use crate::service::db::Db;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use entity::{chargeback, claim_evidence, refund_claim};

use super::claims::{check_version, lock, record_event, save, status_of, transition, Change};
use super::db::begin_write;
use super::{events, idempotency, now, orders, payouts, policy, RequestContext};
use crate::domain::claim::ClaimAction;
use crate::domain::enums::EventType;
use crate::domain::enums::{
    parse_stored, ChargebackStatus, ClaimStatus, Eligibility, PaymentMethod,
};
use crate::domain::Money;
use crate::error::{AppError, AppResult};

/// Operation name under which approval idempotency keys are stored.
const OPERATION: &str = "approveClaim";

/// A validated approval request.
#[derive(Debug, Clone)]
pub struct Approval {
    pub claim_id: Uuid,
    pub amount: Option<Money>,
    pub note: Option<String>,
    pub override_reason: Option<String>,
    pub expected_version: Option<i32>,
    pub idempotency_key: Option<String>,
}

impl Approval {
    fn fingerprint(&self) -> String {
        let amount = self
            .amount
            .map(|m| format!("{} {}", m.minor(), m.currency().code()));
        idempotency::fingerprint(
            &json!([
                self.claim_id,
                amount,
                self.note,
                self.override_reason,
                self.expected_version
            ])
            .to_string(),
        )
    }
}

#[tracing::instrument(skip(db, input), fields(claim_id = %input.claim_id))]
pub async fn approve(
    db: &Db,
    ctx: &RequestContext,
    input: Approval,
) -> AppResult<refund_claim::Model> {
    let approver = ctx.actor.ok_or(AppError::Unauthenticated)?;
    if let Some(key) = &input.idempotency_key {
        idempotency::validate_key(key)?;
    }
    // Malformed input is refused before the claim's state is even read.
    if input.amount.is_some_and(|m| !m.is_positive()) {
        return Err(AppError::bad_input("amount must be greater than zero"));
    }
    let fingerprint = input.fingerprint();
    // The order row is the lock that serializes everything touching its money;
    // it is always taken before the claim row.
    let order_id = super::claims::find(db, input.claim_id)
        .await?
        .ok_or(AppError::NotFound("claim"))?
        .order_id;
    let txn = begin_write(db).await?;
    let order = orders::lock(&txn, order_id).await?;
    if let Some(key) = &input.idempotency_key {
        if idempotency::replay(&txn, approver, OPERATION, key, &fingerprint)
            .await?
            .is_some()
        {
            let claim = lock(&txn, input.claim_id).await?;
            txn.commit().await?;
            return Ok(claim);
        }
    }
    let current = lock(&txn, input.claim_id).await?;
    check_version(&current, input.expected_version)?;

    // 1. state
    let second = status_of(&current)? == ClaimStatus::AwaitingSecondApproval;
    transition(
        &current,
        if second {
            ClaimAction::SecondApprove
        } else {
            ClaimAction::Approve {
                needs_second: false,
            }
        },
    )?;

    // 2. amount: positive, in the order's currency; a second approver confirms the first's amount.
    let amount = match (input.amount, second) {
        (Some(m), _) => {
            if m.currency().code() != order.currency {
                return Err(AppError::bad_input(format!(
                    "amount must be in {}",
                    order.currency
                )));
            }
            m.minor()
        }
        (None, true) => current
            .first_approved_minor
            .unwrap_or(current.requested_minor),
        (None, false) if current.eligibility_suggested_minor > 0 => {
            current.eligibility_suggested_minor
        }
        (None, false) => current.requested_minor,
    };
    if amount <= 0 {
        return Err(AppError::bad_input("amount must be greater than zero"));
    }
    if second && Some(amount) != current.first_approved_minor {
        return Err(AppError::bad_input(
            "the second approval must confirm the first approver's amount",
        ));
    }

    // 3. refundable now (the money invariant: this payout must fit).
    let refundable = orders::money_of(&txn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default()
        .refundable(order.total_minor);
    if amount > refundable {
        return Err(AppError::RefundLimitExceeded(format!(
            "at most {refundable} minor units of {} are still refundable on this order",
            order.currency
        )));
    }

    // 4. policy: NOT_ELIGIBLE or missing required evidence need an override reason.
    let override_reason = input
        .override_reason
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let outcome: Eligibility = parse_stored(&current.eligibility_outcome)?;
    if outcome == Eligibility::NotEligible && override_reason.is_none() {
        return Err(AppError::PolicyViolation {
            rule: rule_code(&current.eligibility_rule),
            message: format!(
                "the claim is not eligible ({}); approving it needs an overrideReason",
                current.eligibility_rule
            ),
        });
    }
    if current.evidence_required && override_reason.is_none() {
        let evidence = claim_evidence::Entity::find()
            .filter(claim_evidence::Column::ClaimId.eq(current.id))
            .count(&txn)
            .await?;
        if evidence == 0 {
            return Err(AppError::PolicyViolation {
                rule: "EVIDENCE_REQUIRED",
                message:
                    "the policy requires evidence for this claim; add it or give an overrideReason"
                        .into(),
            });
        }
    }

    // 5. an OPEN chargeback blocks approvals, with no override.
    let open_chargebacks = chargeback::Entity::find()
        .filter(chargeback::Column::OrderId.eq(order.id))
        .filter(chargeback::Column::Status.eq(ChargebackStatus::Open.as_str()))
        .count(&txn)
        .await?;
    if open_chargebacks > 0 {
        return Err(AppError::PolicyViolation {
            rule: "CHARGEBACK_OPEN",
            message: "the order has an open chargeback; approvals wait for its outcome".into(),
        });
    }

    // 6. separation of duties.
    if current.submitted_by == Some(approver) {
        return Err(AppError::Forbidden);
    }
    if second && current.first_approver_id == Some(approver) {
        return Err(AppError::Forbidden);
    }

    // The claim's own version decides its payout window; the four-eyes
    // threshold is an internal control, always that of the version in force
    // now, and it applies to everything approved on the order, so a refund
    // split into small claims still needs a second approver.
    let rules = policy::rules_of(&policy::by_version(&txn, current.policy_version).await?)?;
    let in_force = policy::rules_of(&policy::in_force_at(&txn, now()).await?)?;
    let currency = crate::domain::Currency::parse(&order.currency).map_err(AppError::internal)?;
    let approved_before = approved_total(&txn, order.id, current.id).await?;
    let approved_with_this = approved_before.saturating_add(amount);
    let needs_second =
        !second && in_force.needs_second_approval(Money::from_minor(approved_with_this, currency));
    let action = if second {
        ClaimAction::SecondApprove
    } else {
        ClaimAction::Approve { needs_second }
    };
    let to = transition(&current, action)?;

    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut model = current.clone().into_active_model();
    model.status = Set(to.as_str().to_string());
    if override_reason.is_some() {
        model.override_reason = Set(override_reason.map(str::to_string));
    }
    let mut details =
        json!({ "amount": amount, "currency": order.currency, "override": override_reason });
    let mut event_note = note.clone();
    let event = if to == ClaimStatus::AwaitingSecondApproval {
        model.first_approver_id = Set(Some(approver));
        model.first_approved_minor = Set(Some(amount));
        let why = second_approval_reason(&in_force, approved_before, amount, currency);
        details["secondApprovalReason"] = json!(why);
        event_note = Some(match note.as_deref() {
            Some(n) => format!("{why}\n{n}"),
            None => why,
        });
        "first_approval"
    } else {
        model.approved_minor = Set(Some(amount));
        model.decided_by = Set(Some(approver));
        model.decided_at = Set(Some(now()));
        model.decision_note = Set(note.clone());
        model.open_order_id = Set(None);
        let method: PaymentMethod = parse_stored(&order.payment_method)?;
        let payout =
            payouts::create_pending(&txn, &order, current.id, amount, method, &rules, None).await?;
        ctx.fault_point("claim.approve").await?;
        events::record(&txn, ctx, EventType::PayoutCreated, &payout).await?;
        record_event(&txn, current.id, "payout_created", Some(approver), None).await?;
        details["payoutId"] = json!(payout.id);
        if second {
            "second_approval"
        } else {
            "approved"
        }
    };
    if let Some(key) = &input.idempotency_key {
        idempotency::remember(
            &txn,
            approver,
            OPERATION,
            key,
            &fingerprint,
            &current.id.to_string(),
        )
        .await?;
    }
    let kind = if to == ClaimStatus::AwaitingSecondApproval {
        EventType::ClaimAwaitingSecondApproval
    } else {
        EventType::ClaimApproved
    };
    let change = Change {
        kind,
        event,
        note: event_note,
        audit_action: "claim.approve",
        details,
        event_extra: None,
    };
    save(txn, ctx, &current, model, change).await
}

/// What the order's other claims had approved (APPROVED or REFUNDED) before
/// this one, in minor units. Amounts are at most 10^12 and an order has at
/// most its total approved, so the sum fits; it is still added checked.
async fn approved_total(
    txn: &crate::service::db::WriteTxn,
    order_id: Uuid,
    claim_id: Uuid,
) -> AppResult<i64> {
    let amounts: Vec<Option<i64>> = refund_claim::Entity::find()
        .select_only()
        .column(refund_claim::Column::ApprovedMinor)
        .filter(refund_claim::Column::OrderId.eq(order_id))
        .filter(refund_claim::Column::Id.ne(claim_id))
        .filter(refund_claim::Column::Status.is_in([
            ClaimStatus::Approved.as_str(),
            ClaimStatus::Refunded.as_str(),
        ]))
        .into_tuple()
        .all(txn)
        .await?;
    amounts
        .into_iter()
        .flatten()
        .try_fold(0i64, i64::checked_add)
        .ok_or_else(|| AppError::internal("approved total overflows"))
}

/// The explanation a first approver gets for why a second one is needed.
fn second_approval_reason(
    in_force: &crate::domain::policy::PolicyRules,
    approved_before: i64,
    amount: i64,
    currency: crate::domain::Currency,
) -> String {
    let show = |minor: i64| Money::from_minor(minor, currency).to_decimal_string();
    let threshold = in_force
        .dual_approval_threshold
        .map(|t| t.to_decimal_string())
        .unwrap_or_default();
    let code = currency.code();
    if approved_before > 0 {
        format!(
            "needs a second approver: with this approval the order's approved refunds reach {} {code} ({} {code} approved before), at or above the dual-approval threshold of {threshold} {code} (policy version {})",
            show(approved_before.saturating_add(amount)),
            show(approved_before),
            in_force.version
        )
    } else {
        format!(
            "needs a second approver: {} {code} is at or above the dual-approval threshold of {threshold} {code} (policy version {})",
            show(amount),
            in_force.version
        )
    }
}

/// The stored rule code as a static string (for `extensions.rule`).
fn rule_code(stored: &str) -> &'static str {
    crate::domain::policy::Rule::parse(stored)
        .map(|r| r.as_str())
        .unwrap_or("NOT_ELIGIBLE")
}
