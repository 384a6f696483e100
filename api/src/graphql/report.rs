//! The refund report for reporting tools and dashboards.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::access::reads;
use super::context::db;
use super::money::{money_sum, MoneyObject};
use super::scalars::Timestamp;
use crate::domain::enums::{parse_stored, ClaimReason, ClaimStatus};
use crate::domain::Currency;
use crate::error::{AppError, AppResult};
use crate::service::report::{self, Figures, Interval};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReportInterval {
    #[graphql(name = "DAY")]
    Day,
    #[graphql(name = "WEEK")]
    Week,
    #[graphql(name = "MONTH")]
    Month,
}

#[derive(SimpleObject)]
pub struct ReportBucket {
    period_start: Timestamp,
    orders_paid: i64,
    revenue: MoneyObject,
    claims_submitted: i64,
    claims_approved: i64,
    claims_rejected: i64,
    /// SETTLED payouts in the bucket.
    refunded: MoneyObject,
    /// refunded / revenue, 0 when no revenue (a ratio, not money).
    refund_rate: f64,
    chargebacks_opened: i64,
    median_hours_to_decision: Option<f64>,
    payouts_overdue: i64,
}

impl ReportBucket {
    fn new(start: chrono::DateTime<chrono::Utc>, f: Figures, currency: &str) -> AppResult<Self> {
        let refund_rate = if f.revenue > 0 {
            f.refunded as f64 / f.revenue as f64
        } else {
            0.0
        };
        Ok(ReportBucket {
            period_start: start.into(),
            orders_paid: f.orders_paid,
            revenue: money_sum(f.revenue, currency)?,
            claims_submitted: f.claims_submitted,
            claims_approved: f.claims_approved,
            claims_rejected: f.claims_rejected,
            refunded: money_sum(f.refunded, currency)?,
            refund_rate,
            chargebacks_opened: f.chargebacks_opened,
            median_hours_to_decision: f.median_hours_to_decision,
            payouts_overdue: f.payouts_overdue,
        })
    }
}

#[derive(SimpleObject)]
pub struct ReasonCount {
    reason: ClaimReason,
    count: i64,
    amount: MoneyObject,
}

#[derive(SimpleObject)]
pub struct StatusCount {
    status: ClaimStatus,
    count: i64,
}

#[derive(SimpleObject)]
pub struct RefundReport {
    from: Timestamp,
    to: Timestamp,
    currency: String,
    totals: ReportBucket,
    buckets: Vec<ReportBucket>,
    by_reason: Vec<ReasonCount>,
    by_status: Vec<StatusCount>,
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Buckets in UTC (weeks start on Monday); each figure counts in the
    /// bucket of its own timestamp (DESIGN.md "Reporting definitions").
    #[graphql(guard = "reads::<RefundReport>()")]
    async fn refund_report(
        &self,
        ctx: &Context<'_>,
        from: Timestamp,
        to: Timestamp,
        interval: ReportInterval,
        currency: String,
    ) -> Result<RefundReport> {
        let currency =
            Currency::parse(&currency).map_err(|e| AppError::bad_input(e.to_string()))?;
        let interval = match interval {
            ReportInterval::Day => Interval::Day,
            ReportInterval::Week => Interval::Week,
            ReportInterval::Month => Interval::Month,
        };
        let r = report::build(db(ctx), from.0, to.0, interval, currency).await?;
        let code = r.currency.code();
        Ok(RefundReport {
            from: r.from.into(),
            to: r.to.into(),
            currency: code.to_string(),
            totals: ReportBucket::new(r.from, r.totals, code)?,
            buckets: r
                .buckets
                .into_iter()
                .map(|(start, f)| ReportBucket::new(start, f, code))
                .collect::<AppResult<_>>()?,
            by_reason: r
                .by_reason
                .into_iter()
                .map(|(reason, count, amount)| {
                    Ok(ReasonCount {
                        reason: parse_stored(&reason)?,
                        count,
                        amount: money_sum(amount, code)?,
                    })
                })
                .collect::<AppResult<_>>()?,
            by_status: r
                .by_status
                .into_iter()
                .map(|(status, count)| {
                    Ok(StatusCount {
                        status: parse_stored(&status)?,
                        count,
                    })
                })
                .collect::<AppResult<_>>()?,
        })
    }
}
