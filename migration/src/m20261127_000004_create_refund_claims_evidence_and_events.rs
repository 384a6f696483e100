use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{ts, ts_null};
use crate::m20261127_000001_create_staff::Staff;
use crate::m20261127_000002_create_customers_and_orders::{Customers, Orders};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum RefundClaims {
    Table,
    Id,
    OrderId,
    CustomerId,
    Reason,
    Description,
    Channel,
    Status,
    RequestedMinor,
    ApprovedMinor,
    Currency,
    EligibilityOutcome,
    EligibilityRule,
    EligibilityExplanation,
    EligibilitySuggestedMinor,
    EvidenceRequired,
    PolicyVersion,
    AssigneeId,
    SubmittedBy,
    SubmittedAt,
    FirstApproverId,
    FirstApprovedMinor,
    DecidedBy,
    DecidedAt,
    DecisionNote,
    RejectionReason,
    OverrideReason,
    Version,
    OpenOrderId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum ClaimEvidence {
    Table,
    Id,
    ClaimId,
    Kind,
    Url,
    Text,
    AddedBy,
    AddedAt,
}

#[derive(DeriveIden)]
pub enum ClaimEvents {
    Table,
    Id,
    ClaimId,
    Kind,
    ActorId,
    Note,
    At,
}

fn staff_fk(name: &str, col: RefundClaims) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(RefundClaims::Table, col)
        .to(Staff::Table, Staff::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        // refund_claims
        manager
            .create_table(
                Table::create()
                    .table(RefundClaims::Table)
                    .col(pk_uuid(RefundClaims::Id))
                    .col(uuid(RefundClaims::OrderId))
                    .col(uuid(RefundClaims::CustomerId))
                    .col(string_len(RefundClaims::Reason, 32))
                    .col(text(RefundClaims::Description))
                    .col(string_len(RefundClaims::Channel, 32))
                    .col(string_len(RefundClaims::Status, 32))
                    .col(big_integer(RefundClaims::RequestedMinor))
                    .col(big_integer_null(RefundClaims::ApprovedMinor))
                    .col(string_len(RefundClaims::Currency, 3))
                    .col(string_len(RefundClaims::EligibilityOutcome, 32))
                    .col(string_len(RefundClaims::EligibilityRule, 64))
                    .col(text(RefundClaims::EligibilityExplanation))
                    .col(big_integer(RefundClaims::EligibilitySuggestedMinor))
                    .col(boolean(RefundClaims::EvidenceRequired))
                    .col(integer(RefundClaims::PolicyVersion))
                    .col(uuid_null(RefundClaims::AssigneeId))
                    .col(uuid_null(RefundClaims::SubmittedBy))
                    .col(ts(db, RefundClaims::SubmittedAt))
                    .col(uuid_null(RefundClaims::FirstApproverId))
                    .col(big_integer_null(RefundClaims::FirstApprovedMinor))
                    .col(uuid_null(RefundClaims::DecidedBy))
                    .col(ts_null(db, RefundClaims::DecidedAt))
                    .col(text_null(RefundClaims::DecisionNote))
                    .col(string_len_null(RefundClaims::RejectionReason, 32))
                    .col(text_null(RefundClaims::OverrideReason))
                    .col(integer(RefundClaims::Version))
                    .col(uuid_null(RefundClaims::OpenOrderId))
                    .col(ts(db, RefundClaims::CreatedAt))
                    .col(ts(db, RefundClaims::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refund_claims_order_id")
                            .from(RefundClaims::Table, RefundClaims::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refund_claims_customer_id")
                            .from(RefundClaims::Table, RefundClaims::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(&mut staff_fk(
                        "fk_refund_claims_assignee_id",
                        RefundClaims::AssigneeId,
                    ))
                    .foreign_key(&mut staff_fk(
                        "fk_refund_claims_submitted_by",
                        RefundClaims::SubmittedBy,
                    ))
                    .foreign_key(&mut staff_fk(
                        "fk_refund_claims_first_approver_id",
                        RefundClaims::FirstApproverId,
                    ))
                    .foreign_key(&mut staff_fk(
                        "fk_refund_claims_decided_by",
                        RefundClaims::DecidedBy,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_refund_claims_order_id", RefundClaims::OrderId),
            ("idx_refund_claims_customer_id", RefundClaims::CustomerId),
            ("idx_refund_claims_reason", RefundClaims::Reason),
            ("idx_refund_claims_status", RefundClaims::Status),
            (
                "idx_refund_claims_eligibility_outcome",
                RefundClaims::EligibilityOutcome,
            ),
            ("idx_refund_claims_assignee_id", RefundClaims::AssigneeId),
            ("idx_refund_claims_submitted_at", RefundClaims::SubmittedAt),
            ("idx_refund_claims_decided_at", RefundClaims::DecidedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RefundClaims::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        // One open claim per order: open_order_id = order_id while open, NULL otherwise.
        // A unique index allows any number of NULLs on SQLite, PostgreSQL and MariaDB.
        manager
            .create_index(
                Index::create()
                    .name("uq_refund_claims_open_order_id")
                    .table(RefundClaims::Table)
                    .col(RefundClaims::OpenOrderId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // claim_evidence
        manager
            .create_table(
                Table::create()
                    .table(ClaimEvidence::Table)
                    .col(pk_uuid(ClaimEvidence::Id))
                    .col(uuid(ClaimEvidence::ClaimId))
                    .col(string_len(ClaimEvidence::Kind, 32))
                    .col(string_len_null(ClaimEvidence::Url, 2048))
                    .col(text_null(ClaimEvidence::Text))
                    .col(uuid_null(ClaimEvidence::AddedBy))
                    .col(ts(db, ClaimEvidence::AddedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_evidence_claim_id")
                            .from(ClaimEvidence::Table, ClaimEvidence::ClaimId)
                            .to(RefundClaims::Table, RefundClaims::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_evidence_added_by")
                            .from(ClaimEvidence::Table, ClaimEvidence::AddedBy)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_evidence_claim_id")
                    .table(ClaimEvidence::Table)
                    .col(ClaimEvidence::ClaimId)
                    .to_owned(),
            )
            .await?;

        // claim_events
        manager
            .create_table(
                Table::create()
                    .table(ClaimEvents::Table)
                    .col(pk_uuid(ClaimEvents::Id))
                    .col(uuid(ClaimEvents::ClaimId))
                    .col(string_len(ClaimEvents::Kind, 64))
                    .col(uuid_null(ClaimEvents::ActorId))
                    .col(text_null(ClaimEvents::Note))
                    .col(ts(db, ClaimEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_events_claim_id")
                            .from(ClaimEvents::Table, ClaimEvents::ClaimId)
                            .to(RefundClaims::Table, RefundClaims::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_events_actor_id")
                            .from(ClaimEvents::Table, ClaimEvents::ActorId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_events_claim_id_at")
                    .table(ClaimEvents::Table)
                    .col(ClaimEvents::ClaimId)
                    .col(ClaimEvents::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ClaimEvents::Table.into_iden(),
            ClaimEvidence::Table.into_iden(),
            RefundClaims::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
