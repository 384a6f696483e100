use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{ts, ts_null};
use crate::m20261127_000002_create_customers_and_orders::Orders;
use crate::m20261127_000004_create_refund_claims_evidence_and_events::RefundClaims;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Payouts {
    Table,
    Id,
    ClaimId,
    OrderId,
    AmountMinor,
    Currency,
    Method,
    SameMethodAsOrder,
    Status,
    ExternalReference,
    InitiatedAt,
    ExpectedEarliest,
    ExpectedLatest,
    SettledAt,
    FailureReason,
    RetryOfId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Chargebacks {
    Table,
    Id,
    OrderId,
    AmountMinor,
    Currency,
    ReasonCode,
    ProviderReference,
    OpenedAt,
    PriorContact,
    ActionTaken,
    OverlapsRefund,
    Status,
    ResolvedAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        // payouts
        manager
            .create_table(
                Table::create()
                    .table(Payouts::Table)
                    .col(pk_uuid(Payouts::Id))
                    .col(uuid(Payouts::ClaimId))
                    .col(uuid(Payouts::OrderId))
                    .col(big_integer(Payouts::AmountMinor))
                    .col(string_len(Payouts::Currency, 3))
                    .col(string_len(Payouts::Method, 32))
                    .col(boolean(Payouts::SameMethodAsOrder))
                    .col(string_len(Payouts::Status, 32))
                    .col(string_len_null(Payouts::ExternalReference, 255))
                    .col(ts(db, Payouts::InitiatedAt))
                    .col(date(Payouts::ExpectedEarliest))
                    .col(date(Payouts::ExpectedLatest))
                    .col(ts_null(db, Payouts::SettledAt))
                    .col(text_null(Payouts::FailureReason))
                    .col(uuid_null(Payouts::RetryOfId))
                    .col(ts(db, Payouts::CreatedAt))
                    .col(ts(db, Payouts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payouts_claim_id")
                            .from(Payouts::Table, Payouts::ClaimId)
                            .to(RefundClaims::Table, RefundClaims::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payouts_order_id")
                            .from(Payouts::Table, Payouts::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payouts_retry_of_id")
                            .from(Payouts::Table, Payouts::RetryOfId)
                            .to(Payouts::Table, Payouts::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_payouts_claim_id", Payouts::ClaimId),
            ("idx_payouts_order_id", Payouts::OrderId),
            ("idx_payouts_status", Payouts::Status),
            ("idx_payouts_initiated_at", Payouts::InitiatedAt),
            ("idx_payouts_settled_at", Payouts::SettledAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Payouts::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        // One retry per failed payout; NULLs (not a retry) are not constrained.
        manager
            .create_index(
                Index::create()
                    .name("uq_payouts_retry_of_id")
                    .table(Payouts::Table)
                    .col(Payouts::RetryOfId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // chargebacks
        manager
            .create_table(
                Table::create()
                    .table(Chargebacks::Table)
                    .col(pk_uuid(Chargebacks::Id))
                    .col(uuid(Chargebacks::OrderId))
                    .col(big_integer(Chargebacks::AmountMinor))
                    .col(string_len(Chargebacks::Currency, 3))
                    .col(string_len(Chargebacks::ReasonCode, 64))
                    .col(string_len(Chargebacks::ProviderReference, 255))
                    .col(ts(db, Chargebacks::OpenedAt))
                    .col(boolean(Chargebacks::PriorContact))
                    .col(string_len(Chargebacks::ActionTaken, 32))
                    .col(boolean(Chargebacks::OverlapsRefund))
                    .col(string_len(Chargebacks::Status, 32))
                    .col(ts_null(db, Chargebacks::ResolvedAt))
                    .col(ts(db, Chargebacks::CreatedAt))
                    .col(ts(db, Chargebacks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chargebacks_order_id")
                            .from(Chargebacks::Table, Chargebacks::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_chargebacks_provider_reference")
                    .table(Chargebacks::Table)
                    .col(Chargebacks::ProviderReference)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_chargebacks_order_id", Chargebacks::OrderId),
            ("idx_chargebacks_opened_at", Chargebacks::OpenedAt),
            ("idx_chargebacks_status", Chargebacks::Status),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Chargebacks::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite runs an implicit DELETE before DROP TABLE and checks ON DELETE RESTRICT
        // row by row, so a retry pointing at its failed payout would block dropping
        // `payouts`. Break the self-references first (the rows are dropped anyway).
        if manager.get_database_backend() == DbBackend::Sqlite {
            manager
                .execute(
                    Query::update()
                        .table(Payouts::Table)
                        .value(Payouts::RetryOfId, Option::<uuid::Uuid>::None)
                        .to_owned(),
                )
                .await?;
        }
        for table in [Chargebacks::Table.into_iden(), Payouts::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
