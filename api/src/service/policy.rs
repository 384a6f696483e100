//! Policy versions: immutable, numbered 1, 2, 3…; the one in force at a time
//! is the latest whose effectiveFrom has passed.

use crate::service::db::Db;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use entity::policy_version;

use super::db::{begin_write, duplicate_is_conflict};
use super::{audit, events, new_id, now, RequestContext};
use crate::domain::enums::{parse_stored, ChargebackAction, ClaimReason, EventType};
use crate::domain::policy::PolicyRules;
use crate::domain::{Currency, Money};
use crate::error::{AppError, AppResult};

/// Reads a stored comma-separated reason list.
pub fn reasons(stored: &str) -> AppResult<Vec<ClaimReason>> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(parse_stored)
        .collect()
}

fn reasons_to_stored(list: &[ClaimReason]) -> String {
    let mut v: Vec<&str> = list.iter().map(|r| r.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v.join(",")
}

/// The engine's view of a stored version.
pub fn rules_of(model: &policy_version::Model) -> AppResult<PolicyRules> {
    let threshold = match (
        model.dual_approval_threshold_minor,
        &model.dual_approval_currency,
    ) {
        (Some(minor), Some(code)) => Some(Money::from_minor(
            minor,
            Currency::parse(code).map_err(AppError::internal)?,
        )),
        _ => None,
    };
    Ok(PolicyRules {
        version: model.version,
        refund_window_days: model.refund_window_days,
        excluded_reasons: reasons(&model.excluded_reasons)?,
        evidence_required_reasons: reasons(&model.evidence_required_reasons)?,
        dual_approval_threshold: threshold,
        chargeback_action: parse_stored(&model.chargeback_action)?,
        payout_business_days_min: u32::try_from(model.payout_days_min)
            .map_err(AppError::internal)?,
        payout_business_days_max: u32::try_from(model.payout_days_max)
            .map_err(AppError::internal)?,
    })
}

/// The version in force at `at`.
pub async fn in_force_at<C: ConnectionTrait>(
    conn: &C,
    at: DateTime<Utc>,
) -> AppResult<policy_version::Model> {
    policy_version::Entity::find()
        .filter(policy_version::Column::EffectiveFrom.lte(at))
        .order_by_desc(policy_version::Column::EffectiveFrom)
        .order_by_desc(policy_version::Column::Version)
        .one(conn)
        .await?
        .ok_or_else(|| {
            AppError::internal(
                "no policy version in force (version 1 is seeded by the first migration)",
            )
        })
}

pub async fn by_version<C: ConnectionTrait>(
    conn: &C,
    version: i32,
) -> AppResult<policy_version::Model> {
    policy_version::Entity::find()
        .filter(policy_version::Column::Version.eq(version))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal(format!("policy version {version} is missing")))
}

pub async fn all<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<policy_version::Model>> {
    Ok(policy_version::Entity::find()
        .order_by_asc(policy_version::Column::Version)
        .all(conn)
        .await?)
}

/// A validated new version.
pub struct NewPolicy {
    pub last_updated: NaiveDate,
    pub effective_from: Option<DateTime<Utc>>,
    pub refund_window_days: i32,
    pub excluded_reasons: Vec<ClaimReason>,
    pub evidence_required_reasons: Vec<ClaimReason>,
    pub dual_approval_threshold: Option<Money>,
    pub chargeback_action: ChargebackAction,
    pub payout_days_min: i32,
    pub payout_days_max: i32,
    pub text: String,
}

impl NewPolicy {
    fn validate(&self) -> AppResult<()> {
        if !(0..=3650).contains(&self.refund_window_days) {
            return Err(AppError::bad_input(
                "refundWindowDays must be between 0 and 3650",
            ));
        }
        if self.payout_days_min < 0
            || self.payout_days_max > 365
            || self.payout_days_min > self.payout_days_max
        {
            return Err(AppError::bad_input(
                "payout business days must satisfy 0 <= min <= max <= 365",
            ));
        }
        if self
            .dual_approval_threshold
            .is_some_and(|t| !t.is_positive())
        {
            return Err(AppError::bad_input(
                "dualApprovalThreshold must be greater than zero",
            ));
        }
        super::text::required_text_up_to(&self.text, "text", MAX_POLICY_TEXT)?;
        Ok(())
    }
}

/// Longest policy text: 16,000 characters of up to 4 bytes each fit the
/// 65,535 bytes of a MySQL/MariaDB TEXT column.
pub const MAX_POLICY_TEXT: usize = 16_000;

/// Publishes the next version (ADMIN). Versions are never edited.
#[tracing::instrument(skip(db, new))]
pub async fn publish(
    db: &Db,
    ctx: &RequestContext,
    new: NewPolicy,
) -> AppResult<policy_version::Model> {
    new.validate()?;
    let txn = begin_write(db).await?;
    let latest = policy_version::Entity::find()
        .order_by_desc(policy_version::Column::Version)
        .lock_exclusive()
        .one(&txn)
        .await?
        .map(|v| v.version)
        .unwrap_or(0);
    let at = now();
    let model = policy_version::ActiveModel {
        id: Set(new_id()),
        version: Set(latest + 1),
        last_updated: Set(new.last_updated),
        effective_from: Set(new.effective_from.unwrap_or(at)),
        refund_window_days: Set(new.refund_window_days),
        excluded_reasons: Set(reasons_to_stored(&new.excluded_reasons)),
        evidence_required_reasons: Set(reasons_to_stored(&new.evidence_required_reasons)),
        dual_approval_threshold_minor: Set(new.dual_approval_threshold.map(|m| m.minor())),
        dual_approval_currency: Set(new
            .dual_approval_threshold
            .map(|m| m.currency().code().to_string())),
        chargeback_action: Set(new.chargeback_action.as_str().to_string()),
        payout_days_min: Set(new.payout_days_min),
        payout_days_max: Set(new.payout_days_max),
        text: Set(new.text.trim().to_string()),
        created_by: Set(ctx.actor),
        created_at: Set(at),
    };
    let model = model.insert(&txn).await.map_err(duplicate_is_conflict(
        "another version was published at the same time",
    ))?;
    audit::record(
        &txn,
        ctx,
        "policy.publish",
        "policy_version",
        model.id,
        json!({ "version": model.version, "effectiveFrom": model.effective_from }),
    )
    .await?;
    events::record(&txn, ctx, EventType::PolicyPublished, &model).await?;
    txn.commit().await?;
    Ok(model)
}
