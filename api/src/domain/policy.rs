//! The refund eligibility engine: DESIGN.md's "Eligibility" table as a pure
//! function of what is known about an order and a claim, so the claim
//! service, `assessRefund` and the tests all share one reading of the policy.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::enums::{ChargebackAction, ClaimReason, Eligibility, OrderStatus};
use crate::domain::money::pro_rata;
use crate::domain::period::add_months;
use crate::domain::Money;

/// A policy version's rules, as the engine needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRules {
    pub version: i32,
    /// Days (24 h each) after delivery in which a request is still considered.
    pub refund_window_days: i32,
    /// Reasons never refunded once access details were delivered.
    pub excluded_reasons: Vec<ClaimReason>,
    /// Reasons for which a discretionary refund needs evidence first.
    pub evidence_required_reasons: Vec<ClaimReason>,
    /// Approvals at or above this amount need a second approver.
    pub dual_approval_threshold: Option<Money>,
    pub chargeback_action: ChargebackAction,
    pub payout_business_days_min: u32,
    pub payout_business_days_max: u32,
}

impl PolicyRules {
    /// Version 1 as seeded by the first migration (DESIGN.md): window 7 days;
    /// excluded CHANGED_MIND, DEVICE_INCOMPATIBLE, NETWORK_OR_ISP; evidence for
    /// NOT_WORKING, SERVICE_OUTAGE, NOT_DELIVERED; no threshold; SUSPEND; 3..10.
    pub fn version_one() -> Self {
        use ClaimReason::*;
        PolicyRules {
            version: 1,
            refund_window_days: 7,
            excluded_reasons: vec![ChangedMind, DeviceIncompatible, NetworkOrIsp],
            evidence_required_reasons: vec![NotWorking, ServiceOutage, NotDelivered],
            dual_approval_threshold: None,
            chargeback_action: ChargebackAction::Suspend,
            payout_business_days_min: 3,
            payout_business_days_max: 10,
        }
    }

    /// True when approving `amount` needs a second approver: the threshold
    /// exists, is in the same currency, and amount >= threshold. Amounts in
    /// other currencies never need one (DESIGN.md: the threshold applies in
    /// its own currency, and there is no exchange rate to compare with).
    pub fn needs_second_approval(&self, amount: Money) -> bool {
        self.dual_approval_threshold
            .is_some_and(|t| t.currency() == amount.currency() && amount.minor() >= t.minor())
    }
}

/// What the engine knows about the order and the claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimFacts {
    pub order_status: OrderStatus,
    /// total − payouts not FAILED/CANCELLED − chargebacks OPEN/LOST; may be
    /// negative (counts as 0).
    pub refundable_minor: i64,
    pub has_open_or_lost_chargeback: bool,
    /// None when there is no activation or it was not delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    pub activation_terminated: bool,
    /// Calendar months from delivery; the pro-rata period.
    pub plan_months: u32,
    pub reason: ClaimReason,
    /// The claim's submittedAt (or now, for a preview).
    pub claim_time: DateTime<Utc>,
    /// The same customer has another PAID or PARTIALLY_REFUNDED order of the
    /// same plan (months, devices) placed within 24 h of this one (the caller
    /// computes this).
    pub duplicate_paid_order_within_24h: bool,
}

/// The rule that decided, in table order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// 1: the order is PENDING or CANCELLED.
    OrderNotPaid,
    /// 2: nothing is left to refund.
    NothingRefundable,
    /// 3: an OPEN or LOST chargeback already moves the money.
    ChargebackOpen,
    /// 4: the access details were not delivered before the claim.
    NotActivated,
    /// 5: a proven duplicate payment.
    DuplicatePayment,
    /// 6: the activation was terminated.
    AccountTerminated,
    /// 7: the claim came after the refund window.
    OutsideRefundWindow,
    /// 8: a reason the policy never refunds after activation.
    ExcludedReason,
    /// 9: anything else: staff decide, pro-rata suggested.
    DiscretionaryAfterActivation,
}

impl Rule {
    /// The rule code of DESIGN.md, e.g. "ORDER_NOT_PAID",
    /// "DISCRETIONARY_AFTER_ACTIVATION".
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::OrderNotPaid => "ORDER_NOT_PAID",
            Rule::NothingRefundable => "NOTHING_REFUNDABLE",
            Rule::ChargebackOpen => "CHARGEBACK_OPEN",
            Rule::NotActivated => "NOT_ACTIVATED",
            Rule::DuplicatePayment => "DUPLICATE_PAYMENT",
            Rule::AccountTerminated => "ACCOUNT_TERMINATED",
            Rule::OutsideRefundWindow => "OUTSIDE_REFUND_WINDOW",
            Rule::ExcludedReason => "EXCLUDED_REASON",
            Rule::DiscretionaryAfterActivation => "DISCRETIONARY_AFTER_ACTIVATION",
        }
    }

    /// Parses a stored rule code.
    pub fn parse(s: &str) -> Option<Rule> {
        ALL_RULES.iter().copied().find(|r| r.as_str() == s)
    }

    /// The table's outcome column.
    fn outcome(self) -> Eligibility {
        match self {
            Rule::NotActivated | Rule::DuplicatePayment => Eligibility::FullRefund,
            Rule::DiscretionaryAfterActivation => Eligibility::Discretionary,
            _ => Eligibility::NotEligible,
        }
    }
}

/// Every rule, in table order; `parse` searches it so that the two spellings
/// of a code cannot drift apart.
#[rustfmt::skip]
const ALL_RULES: [Rule; 9] = [
    Rule::OrderNotPaid, Rule::NothingRefundable, Rule::ChargebackOpen,
    Rule::NotActivated, Rule::DuplicatePayment, Rule::AccountTerminated,
    Rule::OutsideRefundWindow, Rule::ExcludedReason, Rule::DiscretionaryAfterActivation,
];

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: Eligibility,
    pub rule: Rule,
    /// One sentence a staff member can paste to the customer (mention the
    /// window days / reason where relevant; no internal jargon).
    pub explanation: String,
    /// The suggested refund in the order's minor units (0 when not eligible).
    pub suggested_minor: i64,
    /// Evidence must be on file before a discretionary refund is approved.
    pub evidence_required: bool,
    pub policy_version: i32,
}

/// Evaluates the eligibility table in order; the first matching rule decides.
pub fn assess(facts: &ClaimFacts, policy: &PolicyRules) -> Assessment {
    let (rule, suggested_minor) = decide(facts, policy);
    let outcome = rule.outcome();
    let evidence_required = outcome == Eligibility::Discretionary
        && policy.evidence_required_reasons.contains(&facts.reason);
    Assessment {
        outcome,
        rule,
        explanation: explain(
            rule,
            facts.reason,
            policy.refund_window_days,
            evidence_required,
        ),
        suggested_minor,
        evidence_required,
        policy_version: policy.version,
    }
}

/// The table itself: the deciding rule and the suggested amount.
fn decide(facts: &ClaimFacts, policy: &PolicyRules) -> (Rule, i64) {
    // Chargebacks overlapping settled payouts can push this below zero;
    // DESIGN.md counts that as nothing left.
    let refundable = facts.refundable_minor.max(0);
    if matches!(
        facts.order_status,
        OrderStatus::Pending | OrderStatus::Cancelled
    ) {
        return (Rule::OrderNotPaid, 0);
    }
    if refundable == 0 {
        return (Rule::NothingRefundable, 0);
    }
    if facts.has_open_or_lost_chargeback {
        return (Rule::ChargebackOpen, 0);
    }
    // Access details delivered only after the claim did not count as used
    // when the customer asked.
    let delivered = match facts.delivered_at {
        Some(at) if at <= facts.claim_time => at,
        _ => return (Rule::NotActivated, refundable),
    };
    if facts.reason == ClaimReason::DuplicatePayment && facts.duplicate_paid_order_within_24h {
        return (Rule::DuplicatePayment, refundable);
    }
    if facts.activation_terminated {
        return (Rule::AccountTerminated, 0);
    }
    // A window end beyond chrono's range can never have passed.
    let window_end = TimeDelta::try_days(i64::from(policy.refund_window_days))
        .and_then(|window| delivered.checked_add_signed(window));
    if window_end.is_some_and(|end| facts.claim_time > end) {
        return (Rule::OutsideRefundWindow, 0);
    }
    if policy.excluded_reasons.contains(&facts.reason) {
        return (Rule::ExcludedReason, 0);
    }
    let period_end = add_months(delivered, facts.plan_months);
    let period_secs = (period_end - delivered).num_seconds();
    let unused_secs = (period_end - facts.claim_time).num_seconds();
    let share = pro_rata(refundable, unused_secs, period_secs);
    (Rule::DiscretionaryAfterActivation, share)
}

/// The customer-facing sentence for a decision.
fn explain(rule: Rule, reason: ClaimReason, window_days: i32, evidence: bool) -> String {
    use Rule::*;
    let fixed = match rule {
        OrderNotPaid => "This order was cancelled or never paid, so there is nothing to refund.",
        NothingRefundable => "This order has already been fully refunded or returned to you.",
        ChargebackOpen => "This payment is disputed with your bank, so we cannot also refund it.",
        NotActivated => "Your access details had not been delivered, so you get a full refund.",
        DuplicatePayment => "You paid twice within 24 hours for one plan, so we refund it in full.",
        AccountTerminated => "This subscription was terminated, so it cannot be refunded.",
        OutsideRefundWindow => {
            let unit = if window_days == 1 { "day" } else { "days" };
            return format!(
                "Refunds must be requested within {window_days} {unit} of activation, \
                 and this request came after that period."
            );
        }
        ExcludedReason => {
            let why = reason_phrase(reason);
            return format!("Once a subscription is activated we do not refund it for {why}.");
        }
        DiscretionaryAfterActivation if evidence => {
            "Your subscription is already active, so a refund is at our discretion \
             and we will need evidence such as screenshots or error messages first."
        }
        DiscretionaryAfterActivation => {
            "Your subscription is already active, so a refund is at our discretion \
             and would cover at most the unused part of your plan."
        }
    };
    fixed.to_string()
}

/// A reason in the customer's words, to follow "we do not refund it for".
fn reason_phrase(reason: ClaimReason) -> &'static str {
    match reason {
        ClaimReason::NotDelivered => "access details that were not received",
        ClaimReason::NotWorking => "the service not working",
        ClaimReason::ServiceOutage => "a service outage",
        ClaimReason::DuplicatePayment => "a duplicate payment",
        ClaimReason::WrongPlan => "ordering the wrong plan",
        ClaimReason::ChangedMind => "a change of mind",
        ClaimReason::DeviceIncompatible => "a device that is not compatible",
        ClaimReason::NetworkOrIsp => "problems with your own network or internet provider",
        ClaimReason::Other => "this reason",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use ClaimReason::*;
    use Rule::*;
    // Both enums have this variant; in the tables it names the rule.
    use Rule::DuplicatePayment;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Delivered 2026-02-01T00:00Z: its 1-month period is 28 days.
    fn feb1() -> DateTime<Utc> {
        at("2026-02-01T00:00:00Z")
    }

    fn days(n: i64) -> TimeDelta {
        TimeDelta::days(n)
    }

    /// A PAID 1-month order, delivered 1 Feb, NOT_WORKING claim 3 days later.
    #[rustfmt::skip]
    fn base() -> ClaimFacts {
        ClaimFacts {
            order_status: OrderStatus::Paid, refundable_minor: 2800, plan_months: 1,
            delivered_at: Some(feb1()), claim_time: feb1() + days(3), reason: NotWorking,
            has_open_or_lost_chargeback: false, activation_terminated: false,
            duplicate_paid_order_within_24h: false,
        }
    }

    type Edit = fn(&mut ClaimFacts, &mut PolicyRules);

    #[test]
    #[rustfmt::skip]
    fn the_table_decides_in_order() {
        let cases: &[(&str, Edit, Rule, i64, bool)] = &[
            ("baseline", |_, _| {}, DiscretionaryAfterActivation, 2500, true),
            ("pending", |f, _| f.order_status = OrderStatus::Pending, OrderNotPaid, 0, false),
            ("cancelled", |f, _| f.order_status = OrderStatus::Cancelled, OrderNotPaid, 0, false),
            ("pending + chargeback + nothing", |f, _| { f.order_status = OrderStatus::Pending; f.has_open_or_lost_chargeback = true; f.refundable_minor = 0; }, OrderNotPaid, 0, false),
            ("partially refunded passes", |f, _| f.order_status = OrderStatus::PartiallyRefunded, DiscretionaryAfterActivation, 2500, true),
            ("refunded", |f, _| { f.order_status = OrderStatus::Refunded; f.refundable_minor = 0; }, NothingRefundable, 0, false),
            ("charged back", |f, _| { f.order_status = OrderStatus::ChargedBack; f.refundable_minor = 0; }, NothingRefundable, 0, false),
            ("negative refundable", |f, _| f.refundable_minor = -500, NothingRefundable, 0, false),
            ("nothing + chargeback", |f, _| { f.refundable_minor = 0; f.has_open_or_lost_chargeback = true; }, NothingRefundable, 0, false),
            ("chargeback", |f, _| f.has_open_or_lost_chargeback = true, ChargebackOpen, 0, false),
            ("chargeback, not delivered", |f, _| { f.has_open_or_lost_chargeback = true; f.delivered_at = None; }, ChargebackOpen, 0, false),
            ("not delivered", |f, _| f.delivered_at = None, NotActivated, 2800, false),
            ("refundable 1, not delivered", |f, _| { f.delivered_at = None; f.refundable_minor = 1; }, NotActivated, 1, false),
            ("delivered after claim", |f, _| f.claim_time = feb1() - TimeDelta::seconds(1), NotActivated, 2800, false),
            ("claim at delivery", |f, _| f.claim_time = feb1(), DiscretionaryAfterActivation, 2800, true),
            ("terminated, not delivered", |f, _| { f.activation_terminated = true; f.delivered_at = None; }, NotActivated, 2800, false),
            ("excluded, not delivered", |f, _| { f.reason = ChangedMind; f.delivered_at = None; }, NotActivated, 2800, false),
            ("duplicate", |f, _| { f.reason = ClaimReason::DuplicatePayment; f.duplicate_paid_order_within_24h = true; }, DuplicatePayment, 2800, false),
            ("duplicate + terminated", |f, _| { f.reason = ClaimReason::DuplicatePayment; f.duplicate_paid_order_within_24h = true; f.activation_terminated = true; }, DuplicatePayment, 2800, false),
            ("duplicate outside window", |f, _| { f.reason = ClaimReason::DuplicatePayment; f.duplicate_paid_order_within_24h = true; f.claim_time = feb1() + days(20); }, DuplicatePayment, 2800, false),
            ("duplicate reason, no duplicate", |f, _| f.reason = ClaimReason::DuplicatePayment, DiscretionaryAfterActivation, 2500, false),
            ("duplicate found, other reason", |f, _| f.duplicate_paid_order_within_24h = true, DiscretionaryAfterActivation, 2500, true),
            ("terminated", |f, _| f.activation_terminated = true, AccountTerminated, 0, false),
            ("terminated outside window", |f, _| { f.activation_terminated = true; f.claim_time = feb1() + days(20); }, AccountTerminated, 0, false),
            ("window edge is inside", |f, _| f.claim_time = feb1() + days(7), DiscretionaryAfterActivation, 2100, true),
            ("window edge + 1 s", |f, _| f.claim_time = feb1() + days(7) + TimeDelta::seconds(1), OutsideRefundWindow, 0, false),
            ("excluded outside window", |f, _| { f.reason = ChangedMind; f.claim_time = feb1() + days(8); }, OutsideRefundWindow, 0, false),
            ("changed mind", |f, _| f.reason = ChangedMind, ExcludedReason, 0, false),
            ("device", |f, _| f.reason = DeviceIncompatible, ExcludedReason, 0, false),
            ("network", |f, _| f.reason = NetworkOrIsp, ExcludedReason, 0, false),
            ("excluded at window edge", |f, _| { f.reason = NetworkOrIsp; f.claim_time = feb1() + days(7); }, ExcludedReason, 0, false),
            ("not excluded by this policy", |f, p| { f.reason = ChangedMind; p.excluded_reasons.clear(); }, DiscretionaryAfterActivation, 2500, false),
            ("outage needs evidence", |f, _| f.reason = ServiceOutage, DiscretionaryAfterActivation, 2500, true),
            ("not delivered reason, delivered", |f, _| f.reason = NotDelivered, DiscretionaryAfterActivation, 2500, true),
            ("wrong plan, no evidence", |f, _| f.reason = WrongPlan, DiscretionaryAfterActivation, 2500, false),
            ("other, no evidence", |f, _| f.reason = Other, DiscretionaryAfterActivation, 2500, false),
            ("evidence list empty", |_, p| p.evidence_required_reasons.clear(), DiscretionaryAfterActivation, 2500, false),
            ("7 days of 28 used", |f, _| f.claim_time = feb1() + days(7), DiscretionaryAfterActivation, 2100, true),
            ("999 rounds down", |f, _| { f.refundable_minor = 999; f.claim_time = feb1() + days(1); }, DiscretionaryAfterActivation, 963, true),
            ("999, 1 s used", |f, _| { f.refundable_minor = 999; f.claim_time = feb1() + TimeDelta::seconds(1); }, DiscretionaryAfterActivation, 998, true),
            ("3 months from 31 Jan (89 d)", |f, _| { f.delivered_at = Some(at("2026-01-31T00:00:00Z")); f.plan_months = 3; f.refundable_minor = 8900; f.claim_time = at("2026-02-05T00:00:00Z"); }, DiscretionaryAfterActivation, 8400, true),
            ("leap Feb 2028 (29 d)", |f, _| { f.delivered_at = Some(at("2028-01-31T00:00:00Z")); f.refundable_minor = 2900; f.claim_time = at("2028-02-01T00:00:00Z"); }, DiscretionaryAfterActivation, 2800, true),
            ("12 months, 1 day used", |f, _| { f.plan_months = 12; f.refundable_minor = 36_500; f.claim_time = feb1() + days(1); }, DiscretionaryAfterActivation, 36_400, true),
            ("at period end", |f, p| { p.refund_window_days = 60; f.claim_time = feb1() + days(28); }, DiscretionaryAfterActivation, 0, true),
            ("after expiry, long window", |f, p| { p.refund_window_days = 60; f.claim_time = feb1() + days(40); }, DiscretionaryAfterActivation, 0, true),
            ("after expiry, v1 window", |f, _| f.claim_time = feb1() + days(40), OutsideRefundWindow, 0, false),
            ("zero-month plan", |f, _| f.plan_months = 0, DiscretionaryAfterActivation, 0, true),
            ("window 0, claim at delivery", |f, p| { p.refund_window_days = 0; f.claim_time = feb1(); }, DiscretionaryAfterActivation, 2800, true),
            ("window 0, 1 s later", |f, p| { p.refund_window_days = 0; f.claim_time = feb1() + TimeDelta::seconds(1); }, OutsideRefundWindow, 0, false),
            ("version is reported", |_, p| p.version = 5, DiscretionaryAfterActivation, 2500, true),
            ("huge window", |f, p| { p.refund_window_days = i32::MAX; f.claim_time = feb1() + days(40); }, DiscretionaryAfterActivation, 0, true),
        ];
        for (name, edit, rule, suggested, evidence) in cases {
            let (mut facts, mut policy) = (base(), PolicyRules::version_one());
            edit(&mut facts, &mut policy);
            let a = assess(&facts, &policy);
            let outcome = match rule {
                NotActivated | DuplicatePayment => Eligibility::FullRefund,
                DiscretionaryAfterActivation => Eligibility::Discretionary,
                _ => Eligibility::NotEligible,
            };
            let want = (*rule, outcome, *suggested, *evidence, policy.version);
            let got = (a.rule, a.outcome, a.suggested_minor, a.evidence_required, a.policy_version);
            assert_eq!(got, want, "{name}");
            let text = &a.explanation;
            let one_sentence = text.ends_with('.') && !text.contains(". ") && !text.contains("  ");
            assert!(one_sentence, "{name}: {text:?}");
            assert!(!text.contains('_'), "{name}: no rule codes in {text:?}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn explanations_name_the_window_and_the_reason() {
        let cases: &[(Edit, &str)] = &[
            (|f, _| f.claim_time = feb1() + days(8), "within 7 days of activation"),
            (|f, p| { p.refund_window_days = 1; f.claim_time = feb1() + days(2); }, "within 1 day of"),
            (|f, _| f.reason = ChangedMind, "for a change of mind."),
            (|f, _| f.reason = NetworkOrIsp, "network or internet provider"),
            (|f, _| f.reason = DeviceIncompatible, "device that is not compatible"),
            (|_, _| {}, "screenshots or error messages"),
            (|f, _| f.reason = WrongPlan, "unused part of your plan"),
        ];
        for (edit, needle) in cases {
            let (mut facts, mut policy) = (base(), PolicyRules::version_one());
            edit(&mut facts, &mut policy);
            let text = assess(&facts, &policy).explanation;
            assert!(text.contains(needle), "{text:?} lacks {needle:?}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn second_approval_needs_same_currency_and_reaching_the_threshold() {
        let (eur, usd) = (Currency::parse("EUR").unwrap(), Currency::parse("USD").unwrap());
        let t = Some(Money::from_minor(10_000, eur));
        let cases = [
            (None, Money::from_minor(i64::MAX, eur), false),
            (t, Money::from_minor(10_000, eur), true),
            (t, Money::from_minor(10_001, eur), true),
            (t, Money::from_minor(9_999, eur), false),
            (t, Money::from_minor(10_000, usd), false),
            (t, Money::from_minor(i64::MAX, usd), false),
            (Some(Money::from_minor(0, eur)), Money::from_minor(0, eur), true),
        ];
        for (threshold, amount, want) in cases {
            let policy = PolicyRules {
                dual_approval_threshold: threshold, ..PolicyRules::version_one()
            };
            assert_eq!(policy.needs_second_approval(amount), want, "{threshold:?} {amount:?}");
        }
    }

    #[test]
    fn rule_codes_round_trip() {
        #[rustfmt::skip]
        let codes = [
            (OrderNotPaid, "ORDER_NOT_PAID"), (NothingRefundable, "NOTHING_REFUNDABLE"),
            (ChargebackOpen, "CHARGEBACK_OPEN"), (NotActivated, "NOT_ACTIVATED"),
            (DuplicatePayment, "DUPLICATE_PAYMENT"), (AccountTerminated, "ACCOUNT_TERMINATED"),
            (OutsideRefundWindow, "OUTSIDE_REFUND_WINDOW"), (ExcludedReason, "EXCLUDED_REASON"),
            (DiscretionaryAfterActivation, "DISCRETIONARY_AFTER_ACTIVATION"),
        ];
        assert_eq!(codes.map(|(r, _)| r), ALL_RULES, "table order");
        for (rule, code) in codes {
            assert_eq!(rule.as_str(), code);
            assert_eq!(Rule::parse(code), Some(rule), "{code}");
        }
        for bad in ["", "order_not_paid", " ORDER_NOT_PAID", "NOT_ELIGIBLE"] {
            assert_eq!(Rule::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn version_one_matches_the_first_migration() {
        let v1 = PolicyRules::version_one();
        assert_eq!((v1.version, v1.refund_window_days, v1.dual_approval_threshold), (1, 7, None));
        assert_eq!(v1.excluded_reasons, [ChangedMind, DeviceIncompatible, NetworkOrIsp]);
        assert_eq!(v1.evidence_required_reasons, [NotWorking, ServiceOutage, NotDelivered]);
        assert_eq!(v1.chargeback_action, ChargebackAction::Suspend);
        assert_eq!((v1.payout_business_days_min, v1.payout_business_days_max), (3, 10));
    }
}
