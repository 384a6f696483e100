//! Indexes that match the claims list's sort orders with their id tie-break,
//! so a keyset page is an index range read in order and stopped after the
//! page. With `submitted_at` alone, PostgreSQL sorted each page's ties on id
//! with an incremental sort under parallel workers (9 ms for 51 rows at 200k
//! claims, 0.5 ms with this index); `requested_minor` had no index at all, so
//! the amount sort read and sorted every claim.

use sea_orm_migration::prelude::*;

use crate::m20261127_000004_create_refund_claims_evidence_and_events::RefundClaims;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SUBMITTED_AT: &str = "idx_refund_claims_submitted_at";
const SUBMITTED_AT_ID: &str = "idx_refund_claims_submitted_at_id";
const REQUESTED_MINOR_ID: &str = "idx_refund_claims_requested_minor_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, col) in [
            (SUBMITTED_AT_ID, RefundClaims::SubmittedAt),
            (REQUESTED_MINOR_ID, RefundClaims::RequestedMinor),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RefundClaims::Table)
                        .col(col)
                        .col(RefundClaims::Id)
                        .to_owned(),
                )
                .await?;
        }
        // The composite index serves every query the single-column one did.
        manager
            .drop_index(
                Index::drop()
                    .name(SUBMITTED_AT)
                    .table(RefundClaims::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(SUBMITTED_AT)
                    .table(RefundClaims::Table)
                    .col(RefundClaims::SubmittedAt)
                    .to_owned(),
            )
            .await?;
        for name in [SUBMITTED_AT_ID, REQUESTED_MINOR_ID] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(RefundClaims::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
