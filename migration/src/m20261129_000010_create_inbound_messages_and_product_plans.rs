//! Inbound integration messages (WooCommerce, Stripe) and the SKU → plan
//! table that turns a storefront line item into a plan.
//!
//! A message is unique per (source, external_id): the sender's delivery or
//! event id. The unique key is what makes a duplicate or a concurrent second
//! delivery change nothing.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::ts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum InboundMessages {
    Table,
    Id,
    Source,
    ExternalId,
    Topic,
    ReceivedAt,
    Status,
    Error,
    Attempts,
    SubjectId,
    UpdatedAt,
}

/// The raw bodies, apart: listing the inbox never reads a megabyte a row.
#[derive(DeriveIden)]
pub enum InboundMessageBodies {
    Table,
    MessageId,
    Body,
}

#[derive(DeriveIden)]
pub enum ProductPlans {
    Table,
    Sku,
    PlanMonths,
    Devices,
    UpdatedAt,
}

/// The raw body, up to 1 MiB: MEDIUMBLOB on MySQL, whose BLOB ends at 64 KiB.
fn raw_body<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DbBackend::MySql => def.custom("MEDIUMBLOB"),
        _ => def.blob(),
    };
    def.not_null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(InboundMessages::Table)
                    .col(pk_uuid(InboundMessages::Id))
                    .col(string_len(InboundMessages::Source, 16))
                    .col(string_len(InboundMessages::ExternalId, 255))
                    .col(string_len(InboundMessages::Topic, 128))
                    .col(ts(db, InboundMessages::ReceivedAt))
                    .col(string_len(InboundMessages::Status, 24))
                    .col(string_len_null(InboundMessages::Error, 1024))
                    .col(integer(InboundMessages::Attempts))
                    .col(uuid_null(InboundMessages::SubjectId))
                    .col(ts(db, InboundMessages::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_inbound_messages_source_external_id")
                    .table(InboundMessages::Table)
                    .col(InboundMessages::Source)
                    .col(InboundMessages::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The inbox filtered by status, newest (highest id) first.
        manager
            .create_index(
                Index::create()
                    .name("idx_inbound_messages_status_id")
                    .table(InboundMessages::Table)
                    .col(InboundMessages::Status)
                    .col(InboundMessages::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InboundMessageBodies::Table)
                    .col(pk_uuid(InboundMessageBodies::MessageId))
                    .col(raw_body(db, InboundMessageBodies::Body))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inbound_message_bodies_message")
                            .from(InboundMessageBodies::Table, InboundMessageBodies::MessageId)
                            .to(InboundMessages::Table, InboundMessages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProductPlans::Table)
                    .col(string_len(ProductPlans::Sku, 64).primary_key())
                    .col(integer(ProductPlans::PlanMonths))
                    .col(integer(ProductPlans::Devices))
                    .col(ts(db, ProductPlans::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ProductPlans::Table.into_iden(),
            InboundMessageBodies::Table.into_iden(),
            InboundMessages::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
