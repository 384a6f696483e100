//! The refund policy: versions, the one in force, publishing, and the dry-run
//! assessment.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use entity::policy_version;

use super::access::reads;
use super::context::{db, parse_id, request_context};
use super::money::{money, MoneyInput, MoneyObject};
use super::scalars::{Date, Timestamp};
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, ChargebackAction, ClaimReason, Eligibility};
use crate::domain::policy::Assessment;
use crate::domain::Money;
use crate::error::{AppError, AppResult};
use crate::service::{self, policy::NewPolicy};

pub struct PolicyVersion(pub policy_version::Model);

#[Object]
impl PolicyVersion {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn last_updated(&self) -> Date {
        Date(self.0.last_updated)
    }
    async fn effective_from(&self) -> Timestamp {
        self.0.effective_from.into()
    }
    /// Claims later than this after delivery: OUTSIDE_REFUND_WINDOW.
    async fn refund_window_days(&self) -> i32 {
        self.0.refund_window_days
    }
    async fn excluded_reasons_after_activation(&self) -> Result<Vec<ClaimReason>> {
        Ok(service::policy::reasons(&self.0.excluded_reasons)?)
    }
    async fn evidence_required_reasons(&self) -> Result<Vec<ClaimReason>> {
        Ok(service::policy::reasons(&self.0.evidence_required_reasons)?)
    }
    /// Approvals at or above this need a second approver; null = never.
    async fn dual_approval_threshold(&self) -> Result<Option<MoneyObject>> {
        match (
            self.0.dual_approval_threshold_minor,
            &self.0.dual_approval_currency,
        ) {
            (Some(minor), Some(currency)) => Ok(Some(money(minor, currency)?)),
            _ => Ok(None),
        }
    }
    async fn chargeback_without_contact_action(&self) -> Result<ChargebackAction> {
        Ok(parse_stored(&self.0.chargeback_action)?)
    }
    async fn payout_business_days_min(&self) -> i32 {
        self.0.payout_days_min
    }
    async fn payout_business_days_max(&self) -> i32 {
        self.0.payout_days_max
    }
    /// The customer-facing policy text (markdown).
    async fn text(&self) -> &str {
        &self.0.text
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

#[derive(SimpleObject)]
pub struct EligibilityAssessment {
    pub outcome: Eligibility,
    /// The rule code that decided (DESIGN.md), e.g. NOT_ACTIVATED.
    pub rule: String,
    /// One sentence a staff member can paste to the customer.
    pub explanation: String,
    pub suggested_amount: MoneyObject,
    pub evidence_required: bool,
    pub policy_version: i32,
}

impl EligibilityAssessment {
    pub fn from_assessment(a: Assessment, currency: &str) -> AppResult<Self> {
        Ok(EligibilityAssessment {
            outcome: a.outcome,
            rule: a.rule.as_str().to_string(),
            explanation: a.explanation,
            suggested_amount: money(a.suggested_minor, currency)?,
            evidence_required: a.evidence_required,
            policy_version: a.policy_version,
        })
    }
}

#[derive(Default)]
pub struct PolicyQuery;

#[Object]
impl PolicyQuery {
    /// The version in force now.
    #[graphql(guard = "reads::<PolicyVersion>()")]
    async fn policy(&self, ctx: &Context<'_>) -> Result<PolicyVersion> {
        Ok(PolicyVersion(
            service::policy::in_force_at(db(ctx), chrono::Utc::now()).await?,
        ))
    }

    #[graphql(guard = "reads::<PolicyVersion>()")]
    async fn policy_versions(&self, ctx: &Context<'_>) -> Result<Vec<PolicyVersion>> {
        Ok(service::policy::all(db(ctx))
            .await?
            .into_iter()
            .map(PolicyVersion)
            .collect())
    }

    /// A dry run of the eligibility table: writes nothing.
    #[graphql(guard = "reads::<EligibilityAssessment>()")]
    async fn assess_refund(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        reason: ClaimReason,
        at: Option<Timestamp>,
    ) -> Result<EligibilityAssessment> {
        let id = parse_id(&order_id)?;
        let at = at.map(|t| t.0).unwrap_or_else(chrono::Utc::now);
        let conn = db(ctx);
        let order = service::orders::find(conn, id)
            .await?
            .ok_or(AppError::NotFound("order"))?;
        let rules = service::policy::rules_of(&service::policy::in_force_at(conn, at).await?)?;
        let (assessment, _) =
            service::eligibility::assess_order(conn, &order, reason, at, &rules).await?;
        Ok(EligibilityAssessment::from_assessment(
            assessment,
            &order.currency,
        )?)
    }
}

#[derive(InputObject)]
pub struct PublishPolicyInput {
    last_updated: Date,
    effective_from: Option<Timestamp>,
    refund_window_days: i32,
    excluded_reasons_after_activation: Vec<ClaimReason>,
    evidence_required_reasons: Vec<ClaimReason>,
    dual_approval_threshold: Option<MoneyInput>,
    chargeback_without_contact_action: ChargebackAction,
    payout_business_days_min: i32,
    payout_business_days_max: i32,
    text: String,
}

#[derive(Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    /// Publishes the next policy version (versions are immutable).
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn publish_policy_version(
        &self,
        ctx: &Context<'_>,
        input: PublishPolicyInput,
    ) -> Result<PolicyVersion> {
        let new = NewPolicy {
            last_updated: input.last_updated.0,
            effective_from: input.effective_from.map(|t| t.0),
            refund_window_days: input.refund_window_days,
            excluded_reasons: input.excluded_reasons_after_activation,
            evidence_required_reasons: input.evidence_required_reasons,
            dual_approval_threshold: input
                .dual_approval_threshold
                .map(Money::try_from)
                .transpose()?,
            chargeback_action: input.chargeback_without_contact_action,
            payout_days_min: input.payout_business_days_min,
            payout_days_max: input.payout_business_days_max,
            text: input.text,
        };
        Ok(PolicyVersion(
            service::policy::publish(db(ctx), &request_context(ctx), new).await?,
        ))
    }
}
