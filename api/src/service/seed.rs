//! Deterministic demo data (`seed-demo --orders N`, `serve --demo`): the same
//! N gives the same rows. Inserted in batches, a chunk of orders at a time,
//! so a million orders take minutes and bounded memory.

use crate::service::db::Db;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use entity::{activation, customer, order, payout, refund_claim};

use super::db::begin_write;
use super::payouts::expected_window;
use crate::domain::enums::{ClaimReason, ClaimStatus, OrderStatus, PaymentMethod};
use crate::domain::policy::{assess, ClaimFacts, PolicyRules};
use crate::error::AppResult;

/// Orders inserted per transaction.
const CHUNK: usize = 1_000;
/// Rows per INSERT statement (keeps every backend under its parameter limit).
const ROWS_PER_INSERT: usize = 250;

/// What `seed` wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seeded {
    pub orders: usize,
    pub claims: usize,
    pub payouts: usize,
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A v7-shaped id at `at` whose other bits come from the generator, so ids
    /// sort by time and the same seed gives the same ids.
    fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &bytes)
            .into_uuid()
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

async fn insert_chunks<E, A>(txn: &super::db::WriteTxn, rows: Vec<A>) -> AppResult<()>
where
    E: EntityTrait<ActiveModel = A>,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        E::insert_many(batch).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Seeds `orders` demo orders (skipped when demo orders already exist).
/// Gives PostgreSQL's planner statistics for what was just loaded. Right after
/// a bulk load it has none until autovacuum runs (never, where autovacuum is
/// off), and without them it read every payout for a page's 50 claims
/// instead of using the claim_id index. MariaDB
/// keeps InnoDB statistics by itself; SQLite's planner already picks the
/// indexes the pages need without `sqlite_stat1`.
async fn refresh_statistics(db: &Db) -> AppResult<()> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}

pub async fn seed(db: &Db, orders: usize, staff: &[Uuid]) -> AppResult<Seeded> {
    let existing = order::Entity::find()
        .filter(order::Column::Number.starts_with("DEMO-"))
        .count(db)
        .await?;
    if existing > 0 {
        return Ok(Seeded::default());
    }
    let anchor = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let span_secs = 2 * 365 * 24 * 3600;
    let customers = (orders / 3).max(1);
    let mut rng = Rng(0x5EED_0000_0000_0001 ^ orders as u64);
    let rules = PolicyRules::version_one();
    let mut out = Seeded::default();
    let mut customer_ids: Vec<Uuid> = Vec::with_capacity(customers.min(CHUNK));
    let first_customer_at = anchor - Duration::seconds(span_secs);

    for start in (0..orders).step_by(CHUNK) {
        let end = (start + CHUNK).min(orders);
        let txn = begin_write(db).await?;
        let (mut cs, mut os, mut acts, mut claims, mut pays) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in start..end {
            // Orders are spread evenly over two years, oldest first.
            let placed =
                first_customer_at + Duration::seconds(span_secs * i as i64 / orders as i64);
            let customer_index = i % customers;
            if customer_index >= customer_ids.len() {
                let id = rng.id_at(placed);
                customer_ids.push(id);
                cs.push(customer::ActiveModel {
                    id: Set(id),
                    email: Set(format!("customer{customer_index}@demo.example")),
                    name: Set(Some(format!("Demo Customer {customer_index}"))),
                    phone: Set(Some(format!("+4915{:09}", customer_index))),
                    restricted: Set(false),
                    restriction_reason: Set(None),
                    created_at: Set(placed),
                    updated_at: Set(placed),
                });
            }
            let customer_id = customer_ids[customer_index];
            let months = pick(&mut rng, &[1, 3, 6, 12]);
            let (currency, price) = pick(
                &mut rng,
                &[
                    ("EUR", 1299i64),
                    ("EUR", 1299),
                    ("USD", 1499),
                    ("GBP", 1199),
                ],
            );
            let total = price * i64::from(months) * 9 / 10;
            let status = match rng.below(50) {
                0 => OrderStatus::Pending,
                1 => OrderStatus::Cancelled,
                _ => OrderStatus::Paid,
            };
            let paid_at = (status == OrderStatus::Paid).then(|| placed + Duration::minutes(5));
            let order_id = rng.id_at(placed);
            let method = pick(
                &mut rng,
                &[
                    PaymentMethod::Card,
                    PaymentMethod::Card,
                    PaymentMethod::Paypal,
                    PaymentMethod::Crypto,
                    PaymentMethod::BankTransfer,
                ],
            );
            let delivered_at = paid_at
                .filter(|_| rng.below(10) > 0)
                .map(|p| p + Duration::minutes(30));
            if let Some(p) = paid_at {
                acts.push(activation::ActiveModel {
                    id: Set(rng.id_at(p)),
                    order_id: Set(order_id),
                    channel: Set("EMAIL".into()),
                    destination: Set(format!("customer{customer_index}@demo.example")),
                    credentials_ciphertext: Set(None),
                    status: Set(if delivered_at.is_some() {
                        "ACTIVE"
                    } else {
                        "PENDING_DELIVERY"
                    }
                    .into()),
                    delivered_at: Set(delivered_at),
                    created_at: Set(p),
                    updated_at: Set(p),
                });
            }
            let mut order_status = status;
            // About one paid order in five gets a claim, in every status and reason.
            if let (Some(p), 0) = (paid_at, rng.below(5)) {
                let reason = pick(&mut rng, ClaimReason::ALL);
                let submitted =
                    delivered_at.unwrap_or(p) + Duration::hours(1 + rng.below(24 * 6) as i64);
                let facts = ClaimFacts {
                    order_status: OrderStatus::Paid,
                    refundable_minor: total,
                    has_open_or_lost_chargeback: false,
                    delivered_at,
                    activation_terminated: false,
                    plan_months: months,
                    reason,
                    claim_time: submitted,
                    duplicate_paid_order_within_24h: false,
                };
                let a = assess(&facts, &rules);
                let claim_status = pick(&mut rng, ClaimStatus::ALL);
                let decided = matches!(
                    claim_status,
                    ClaimStatus::Approved | ClaimStatus::Rejected | ClaimStatus::Refunded
                );
                let decided_at =
                    decided.then(|| submitted + Duration::hours(2 + rng.below(72) as i64));
                let approved =
                    matches!(claim_status, ClaimStatus::Approved | ClaimStatus::Refunded).then(
                        || {
                            if a.suggested_minor > 0 {
                                a.suggested_minor
                            } else {
                                total
                            }
                        },
                    );
                let claim_id = rng.id_at(submitted);
                let open = crate::domain::claim::is_open(claim_status);
                claims.push(refund_claim::ActiveModel {
                    id: Set(claim_id),
                    order_id: Set(order_id),
                    customer_id: Set(customer_id),
                    reason: Set(reason.as_str().into()),
                    description: Set("Demo claim".into()),
                    channel: Set("EMAIL".into()),
                    status: Set(claim_status.as_str().into()),
                    requested_minor: Set(total),
                    approved_minor: Set(approved),
                    currency: Set(currency.into()),
                    eligibility_outcome: Set(a.outcome.as_str().into()),
                    eligibility_rule: Set(a.rule.as_str().into()),
                    eligibility_explanation: Set(a.explanation.clone()),
                    eligibility_suggested_minor: Set(a.suggested_minor),
                    evidence_required: Set(a.evidence_required),
                    policy_version: Set(1),
                    assignee_id: Set(staff
                        .first()
                        .copied()
                        .filter(|_| !matches!(claim_status, ClaimStatus::Submitted))),
                    submitted_by: Set(staff.get(1).copied()),
                    submitted_at: Set(submitted),
                    first_approver_id: Set(None),
                    first_approved_minor: Set(None),
                    decided_by: Set(decided.then(|| staff.first().copied()).flatten()),
                    decided_at: Set(decided_at),
                    decision_note: Set(None),
                    rejection_reason: Set(
                        (claim_status == ClaimStatus::Rejected).then(|| "NOT_ELIGIBLE".into())
                    ),
                    override_reason: Set(None),
                    version: Set(1),
                    open_order_id: Set(open.then_some(order_id)),
                    created_at: Set(submitted),
                    updated_at: Set(submitted),
                });
                if let (Some(amount), Some(at)) = (approved, decided_at) {
                    let pay_status = if claim_status == ClaimStatus::Refunded {
                        "SETTLED"
                    } else {
                        pick(&mut rng, &["PENDING", "SENT", "FAILED"])
                    };
                    let (earliest, latest) = expected_window(at, &rules);
                    pays.push(payout::ActiveModel {
                        id: Set(rng.id_at(at)),
                        claim_id: Set(claim_id),
                        order_id: Set(order_id),
                        amount_minor: Set(amount),
                        currency: Set(currency.into()),
                        method: Set(method.as_str().into()),
                        same_method_as_order: Set(true),
                        status: Set(pay_status.into()),
                        external_reference: Set(
                            (pay_status != "PENDING").then(|| format!("demo-ref-{i}"))
                        ),
                        initiated_at: Set(at),
                        expected_earliest: Set(earliest),
                        expected_latest: Set(latest),
                        settled_at: Set((pay_status == "SETTLED").then(|| at + Duration::days(5))),
                        failure_reason: Set(
                            (pay_status == "FAILED").then(|| "demo: card expired".into())
                        ),
                        retry_of_id: Set(None),
                        created_at: Set(at),
                        updated_at: Set(at),
                    });
                    if pay_status == "SETTLED" {
                        order_status = if amount >= total {
                            OrderStatus::Refunded
                        } else {
                            OrderStatus::PartiallyRefunded
                        };
                    }
                }
            }
            os.push(order::ActiveModel {
                id: Set(order_id),
                number: Set(format!("DEMO-{i:07}")),
                customer_id: Set(customer_id),
                plan_months: Set(months as i32),
                devices: Set(1 + rng.below(4) as i32),
                total_minor: Set(total),
                currency: Set(currency.into()),
                payment_method: Set(method.as_str().into()),
                payment_reference: Set(Some(format!("demo-pay-{i}"))),
                status: Set(order_status.as_str().into()),
                placed_at: Set(placed),
                paid_at: Set(paid_at),
                created_at: Set(placed),
                updated_at: Set(placed),
                lock_version: Set(1),
            });
        }
        out.orders += os.len();
        out.claims += claims.len();
        out.payouts += pays.len();
        insert_chunks(&txn, cs).await?;
        insert_chunks(&txn, os).await?;
        insert_chunks(&txn, acts).await?;
        insert_chunks(&txn, claims).await?;
        insert_chunks(&txn, pays).await?;
        txn.commit().await?;
    }
    refresh_statistics(db).await?;
    Ok(out)
}
