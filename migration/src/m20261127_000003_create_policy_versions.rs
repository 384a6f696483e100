use chrono::{DateTime, NaiveDate, Utc};
use sea_orm_migration::{prelude::*, schema::*};
use uuid::Uuid;

use crate::columns::ts;
use crate::m20261127_000001_create_staff::Staff;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum PolicyVersions {
    Table,
    Id,
    Version,
    LastUpdated,
    EffectiveFrom,
    RefundWindowDays,
    ExcludedReasons,
    EvidenceRequiredReasons,
    DualApprovalThresholdMinor,
    DualApprovalCurrency,
    ChargebackAction,
    PayoutDaysMin,
    PayoutDaysMax,
    Text,
    CreatedBy,
    CreatedAt,
}

/// id of the seeded policy version 1: `00000000-0000-7000-8000-000000000001`.
const POLICY_V1_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

/// Text of the seeded policy version 1 (markdown).
const POLICY_V1_TEXT: &str = "\
# Refund policy

Our product is a **digital service**. It counts as used as soon as the access details
(activation credentials) have been sent to you.

**Before activation** — if the access details have not been sent yet, you can cancel and
receive a full refund.

**After activation** — refunds are at our discretion and are assessed case by case. We do
not refund for: changing your mind, device incompatibility, or problems caused by your
network or internet service provider.

Refund requests must be made **within 7 days** of purchase. For some requests (for example
a service that is not working, a service outage, or access details that were never
delivered) we may ask you for evidence such as screenshots or error messages.

Approved refunds are paid **to the original payment method** and normally arrive within
**3-10 business days**.

**Chargebacks** — please contact us before disputing a payment with your bank or card
provider. If a chargeback is opened without contacting us first, we may suspend the
subscription and restrict future orders.
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table(PolicyVersions::Table)
                    .col(pk_uuid(PolicyVersions::Id))
                    .col(integer(PolicyVersions::Version))
                    .col(date(PolicyVersions::LastUpdated))
                    .col(ts(db, PolicyVersions::EffectiveFrom))
                    .col(integer(PolicyVersions::RefundWindowDays))
                    .col(string_len(PolicyVersions::ExcludedReasons, 512))
                    .col(string_len(PolicyVersions::EvidenceRequiredReasons, 512))
                    .col(big_integer_null(PolicyVersions::DualApprovalThresholdMinor))
                    .col(string_len_null(PolicyVersions::DualApprovalCurrency, 3))
                    .col(string_len(PolicyVersions::ChargebackAction, 32))
                    .col(integer(PolicyVersions::PayoutDaysMin))
                    .col(integer(PolicyVersions::PayoutDaysMax))
                    .col(text(PolicyVersions::Text))
                    .col(uuid_null(PolicyVersions::CreatedBy))
                    .col(ts(db, PolicyVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policy_versions_created_by")
                            .from(PolicyVersions::Table, PolicyVersions::CreatedBy)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_policy_versions_version")
                    .table(PolicyVersions::Table)
                    .col(PolicyVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_policy_versions_effective_from")
                    .table(PolicyVersions::Table)
                    .col(PolicyVersions::EffectiveFrom)
                    .to_owned(),
            )
            .await?;

        // Seed policy version 1.
        let last_updated = NaiveDate::from_ymd_opt(2026, 11, 27)
            .ok_or_else(|| DbErr::Migration("invalid seed date".to_owned()))?;
        let effective_from: DateTime<Utc> = DateTime::UNIX_EPOCH;
        manager
            .execute(
                Query::insert()
                    .into_table(PolicyVersions::Table)
                    .columns([
                        PolicyVersions::Id,
                        PolicyVersions::Version,
                        PolicyVersions::LastUpdated,
                        PolicyVersions::EffectiveFrom,
                        PolicyVersions::RefundWindowDays,
                        PolicyVersions::ExcludedReasons,
                        PolicyVersions::EvidenceRequiredReasons,
                        PolicyVersions::DualApprovalThresholdMinor,
                        PolicyVersions::DualApprovalCurrency,
                        PolicyVersions::ChargebackAction,
                        PolicyVersions::PayoutDaysMin,
                        PolicyVersions::PayoutDaysMax,
                        PolicyVersions::Text,
                        PolicyVersions::CreatedBy,
                        PolicyVersions::CreatedAt,
                    ])
                    .values([
                        POLICY_V1_ID.into(),
                        1i32.into(),
                        last_updated.into(),
                        effective_from.into(),
                        7i32.into(),
                        "CHANGED_MIND,DEVICE_INCOMPATIBLE,NETWORK_OR_ISP".into(),
                        "NOT_WORKING,SERVICE_OUTAGE,NOT_DELIVERED".into(),
                        Option::<i64>::None.into(),
                        Option::<String>::None.into(),
                        "SUSPEND".into(),
                        3i32.into(),
                        10i32.into(),
                        POLICY_V1_TEXT.into(),
                        Option::<Uuid>::None.into(),
                        effective_from.into(),
                    ])
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PolicyVersions::Table).to_owned())
            .await
    }
}
