pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261127_000001_create_staff;
mod m20261127_000002_create_customers_and_orders;
mod m20261127_000003_create_policy_versions;
mod m20261127_000004_create_refund_claims_evidence_and_events;
mod m20261127_000005_create_payouts_and_chargebacks;
mod m20261127_000006_create_audit_log_idempotency_keys_and_login_attempts;
mod m20261127_000007_index_claim_sort_orders;
mod m20261129_000008_create_login_throttles;
mod m20261129_000009_create_events_and_webhooks;
mod m20261129_000010_create_inbound_messages_and_product_plans;
mod m20261129_000011_add_evidence_files;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_staff::Migration),
            Box::new(m20261127_000002_create_customers_and_orders::Migration),
            Box::new(m20261127_000003_create_policy_versions::Migration),
            Box::new(m20261127_000004_create_refund_claims_evidence_and_events::Migration),
            Box::new(m20261127_000005_create_payouts_and_chargebacks::Migration),
            Box::new(
                m20261127_000006_create_audit_log_idempotency_keys_and_login_attempts::Migration,
            ),
            Box::new(m20261127_000007_index_claim_sort_orders::Migration),
            Box::new(m20261129_000008_create_login_throttles::Migration),
            Box::new(m20261129_000009_create_events_and_webhooks::Migration),
            Box::new(m20261129_000010_create_inbound_messages_and_product_plans::Migration),
            Box::new(m20261129_000011_add_evidence_files::Migration),
        ]
    }
}
