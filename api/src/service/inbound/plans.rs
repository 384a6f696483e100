//! Product plans: which plan (months, devices) a storefront SKU sells, so a
//! WooCommerce line item becomes an order's plan.

use crate::service::db::Db;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::json;

use entity::product_plan;

use crate::domain::{Devices, PlanMonths};
use crate::error::{AppError, AppResult};
use crate::service::db::begin_write;
use crate::service::{audit, now, RequestContext};

/// The longest SKU kept (WooCommerce allows more, but no real one is).
pub const MAX_SKU_CHARS: usize = 64;

/// A validated plan.
#[derive(Clone, Debug)]
pub struct NewPlan {
    pub sku: String,
    pub plan_months: PlanMonths,
    pub devices: Devices,
}

/// Checks a SKU: 1 to 64 characters, no spaces or control characters (a
/// SKU is matched exactly, so invisible differences would never match).
pub fn parse_sku(raw: &str) -> AppResult<String> {
    let sku = raw.trim();
    if sku.is_empty()
        || sku.chars().count() > MAX_SKU_CHARS
        || sku.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AppError::bad_input(format!(
            "sku must be 1 to {MAX_SKU_CHARS} characters without spaces"
        )));
    }
    Ok(sku.to_string())
}

impl NewPlan {
    pub fn parse(sku: &str, plan_months: i32, devices: i32) -> AppResult<NewPlan> {
        let bad = |e: &dyn std::fmt::Display| AppError::bad_input(e.to_string());
        Ok(NewPlan {
            sku: parse_sku(sku)?,
            plan_months: PlanMonths::parse(plan_months).map_err(|e| bad(&e))?,
            devices: Devices::parse(devices).map_err(|e| bad(&e))?,
        })
    }
}

/// Every plan, by SKU.
pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<product_plan::Model>> {
    Ok(product_plan::Entity::find()
        .order_by_asc(product_plan::Column::Sku)
        .all(conn)
        .await?)
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    sku: &str,
) -> AppResult<Option<product_plan::Model>> {
    Ok(product_plan::Entity::find_by_id(sku.to_string())
        .one(conn)
        .await?)
}

/// Creates or replaces the plan of a SKU (one statement, so two ADMINs
/// saving the same SKU at once leave one row: the last).
pub async fn upsert(
    db: &Db,
    ctx: &RequestContext,
    plan: NewPlan,
) -> AppResult<product_plan::Model> {
    let txn = begin_write(db).await?;
    let before = find(&txn, &plan.sku).await?;
    let row = product_plan::ActiveModel {
        sku: Set(plan.sku.clone()),
        plan_months: Set(plan.plan_months.get() as i32),
        devices: Set(plan.devices.get() as i32),
        updated_at: Set(now()),
    };
    product_plan::Entity::insert(row)
        .on_conflict(
            OnConflict::column(product_plan::Column::Sku)
                .update_columns([
                    product_plan::Column::PlanMonths,
                    product_plan::Column::Devices,
                    product_plan::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let saved = find(&txn, &plan.sku)
        .await?
        .ok_or_else(|| AppError::internal("a product plan vanished after upsert"))?;
    audit::record(
        &txn,
        ctx,
        "product_plan.upsert",
        "product_plan",
        &saved.sku,
        json!({
            "planMonths": saved.plan_months,
            "devices": saved.devices,
            "before": before.map(|b| json!({ "planMonths": b.plan_months, "devices": b.devices })),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}
