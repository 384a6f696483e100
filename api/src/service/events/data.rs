//! Each subject's `data`: the row after the change in the contract's field
//! names and wire formats (money as `{amount, currency}` decimal strings,
//! date-times in RFC 3339 UTC, related objects as ids). Never activation
//! credentials, password hashes or secrets: the activation's credentials
//! column is simply not read here, and staff rows are never subjects.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use entity::{activation, chargeback, customer, order, payout, policy_version, refund_claim};

use super::Subject;
use crate::domain::{Currency, Money};

/// A date-time as the contract's `DateTime` writes it.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(time(t)))
}

/// `{amount, currency}` as the contract's `Money`; a stored currency that no
/// longer parses keeps its code beside the raw minor units.
pub fn money(minor: i64, currency: &str) -> Value {
    match Currency::parse(currency) {
        Ok(c) => json!({
            "amount": Money::from_minor(minor, c).to_decimal_string(),
            "currency": c.code(),
        }),
        Err(_) => json!({ "amount": minor.to_string(), "currency": currency }),
    }
}

impl Subject for order::Model {
    const TYPE: &'static str = "order";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        json!({
            "id": self.id,
            "number": self.number,
            "customerId": self.customer_id,
            "planMonths": self.plan_months,
            "devices": self.devices,
            "total": money(self.total_minor, &self.currency),
            "paymentMethod": self.payment_method,
            "paymentReference": self.payment_reference,
            "status": self.status,
            "placedAt": time(self.placed_at),
            "paidAt": opt_time(self.paid_at),
        })
    }
}

impl Subject for activation::Model {
    const TYPE: &'static str = "activation";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        json!({
            "id": self.id,
            "orderId": self.order_id,
            "channel": self.channel,
            "destination": self.destination,
            "createdAt": time(self.created_at),
            "deliveredAt": opt_time(self.delivered_at),
            "used": self.delivered_at.is_some(),
            "status": self.status,
        })
    }
}

impl Subject for refund_claim::Model {
    const TYPE: &'static str = "claim";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        json!({
            "id": self.id,
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "reason": self.reason,
            "description": self.description,
            "channel": self.channel,
            "status": self.status,
            "requestedAmount": money(self.requested_minor, &self.currency),
            "approvedAmount": self.approved_minor.map(|m| money(m, &self.currency)),
            "eligibility": {
                "outcome": self.eligibility_outcome,
                "rule": self.eligibility_rule,
                "explanation": self.eligibility_explanation,
                "suggestedAmount": money(self.eligibility_suggested_minor, &self.currency),
                "evidenceRequired": self.evidence_required,
                "policyVersion": self.policy_version,
            },
            "assigneeId": self.assignee_id,
            "submittedById": self.submitted_by,
            "submittedAt": time(self.submitted_at),
            "decidedById": self.decided_by,
            "decidedAt": opt_time(self.decided_at),
            "decisionNote": self.decision_note,
            "rejectionReason": self.rejection_reason,
            "overrideReason": self.override_reason,
            "version": self.version,
        })
    }
}

impl Subject for payout::Model {
    const TYPE: &'static str = "payout";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        json!({
            "id": self.id,
            "claimId": self.claim_id,
            "orderId": self.order_id,
            "amount": money(self.amount_minor, &self.currency),
            "method": self.method,
            "sameMethodAsOrder": self.same_method_as_order,
            "status": self.status,
            "externalReference": self.external_reference,
            "initiatedAt": time(self.initiated_at),
            "expectedEarliest": self.expected_earliest.format("%Y-%m-%d").to_string(),
            "expectedLatest": self.expected_latest.format("%Y-%m-%d").to_string(),
            "settledAt": opt_time(self.settled_at),
            "failureReason": self.failure_reason,
        })
    }
}

impl Subject for chargeback::Model {
    const TYPE: &'static str = "chargeback";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        json!({
            "id": self.id,
            "orderId": self.order_id,
            "amount": money(self.amount_minor, &self.currency),
            "reasonCode": self.reason_code,
            "providerReference": self.provider_reference,
            "openedAt": time(self.opened_at),
            "priorContact": self.prior_contact,
            "actionTaken": self.action_taken,
            "overlapsRefund": self.overlaps_refund,
            "status": self.status,
            "resolvedAt": opt_time(self.resolved_at),
        })
    }
}

impl Subject for customer::Model {
    const TYPE: &'static str = "customer";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "phone": self.phone,
            "restricted": self.restricted,
            "restrictionReason": self.restriction_reason,
            "createdAt": time(self.created_at),
        })
    }
}

impl Subject for policy_version::Model {
    const TYPE: &'static str = "policy";
    fn id(&self) -> Uuid {
        self.id
    }
    fn data(&self) -> Value {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect()
        };
        let threshold = match (
            self.dual_approval_threshold_minor,
            &self.dual_approval_currency,
        ) {
            (Some(minor), Some(c)) => money(minor, c),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "version": self.version,
            "lastUpdated": self.last_updated.format("%Y-%m-%d").to_string(),
            "effectiveFrom": time(self.effective_from),
            "refundWindowDays": self.refund_window_days,
            "excludedReasonsAfterActivation": list(&self.excluded_reasons),
            "evidenceRequiredReasons": list(&self.evidence_required_reasons),
            "dualApprovalThreshold": threshold,
            "chargebackWithoutContactAction": self.chargeback_action,
            "payoutBusinessDaysMin": self.payout_days_min,
            "payoutBusinessDaysMax": self.payout_days_max,
            "text": self.text,
            "createdAt": time(self.created_at),
        })
    }
}
