//! Evidence files: an evidence row may name an uploaded file, stored by
//! its SHA-256 in the evidence store (see the API's `service::evidence`).
//! The columns are all null for URL and text evidence.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000004_create_refund_claims_evidence_and_events::ClaimEvidence;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EvidenceFile {
    FileName,
    ContentType,
    FileSize,
    Sha256,
}

const SHA256_INDEX: &str = "idx_claim_evidence_sha256";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            string_len_null(EvidenceFile::FileName, 255),
            string_len_null(EvidenceFile::ContentType, 64),
            big_integer_null(EvidenceFile::FileSize),
            string_len_null(EvidenceFile::Sha256, 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ClaimEvidence::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The garbage collector asks which stored files a row still names.
        manager
            .create_index(
                Index::create()
                    .name(SHA256_INDEX)
                    .table(ClaimEvidence::Table)
                    .col(EvidenceFile::Sha256)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(SHA256_INDEX)
                    .table(ClaimEvidence::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            EvidenceFile::Sha256,
            EvidenceFile::FileSize,
            EvidenceFile::ContentType,
            EvidenceFile::FileName,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ClaimEvidence::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
