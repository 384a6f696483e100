//! The transactional outbox (`events`), its sequencer, consumer cursors, and
//! outbound webhook endpoints with their deliveries.
//!
//! An event is written without a `sequence` in the transaction of its
//! change; the sequencer numbers committed events later, one batch at a time
//! under the lock of the single `event_sequencer` row, so numbers grow in the
//! order they become visible and a reader that keeps the last number it saw
//! never misses one (see the API's `service::events`).

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Events {
    Table,
    Id,
    Sequence,
    ChangeId,
    EventType,
    OccurredAt,
    SubjectType,
    SubjectId,
    ActorId,
    Source,
    Data,
}

#[derive(DeriveIden)]
pub enum EventSequencer {
    Table,
    Id,
    LastSequence,
}

#[derive(DeriveIden)]
pub enum EventConsumers {
    Table,
    Name,
    LastSequence,
    Owner,
    LeaseUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    EventTypes,
    Enabled,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    EventId,
    Status,
    Attempts,
    NextAttemptAt,
    LastAttemptAt,
    ResponseStatus,
    LastError,
    SucceededAt,
    LeaseUntil,
    LeasedBy,
    CreatedAt,
}

/// A JSON document: MEDIUMTEXT on MySQL, whose TEXT ends at 64 KiB (a
/// policy's 16,000 characters can take more).
fn json_text<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DbBackend::MySql => def.custom("MEDIUMTEXT"),
        _ => def.text(),
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
                    .table(Events::Table)
                    .col(pk_uuid(Events::Id))
                    .col(big_integer_null(Events::Sequence).unique_key())
                    .col(uuid(Events::ChangeId))
                    .col(string_len(Events::EventType, 48))
                    .col(ts(db, Events::OccurredAt))
                    .col(string_len(Events::SubjectType, 16))
                    .col(uuid(Events::SubjectId))
                    .col(uuid_null(Events::ActorId))
                    .col(string_len(Events::Source, 16))
                    .col(json_text(db, Events::Data))
                    .to_owned(),
            )
            .await?;
        // The sequencer's scan: unsequenced rows, a change's events together.
        manager
            .create_index(
                Index::create()
                    .name("idx_events_sequence_change")
                    .table(Events::Table)
                    .col(Events::Sequence)
                    .col(Events::ChangeId)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_subject_sequence")
                    .table(Events::Table)
                    .col(Events::SubjectId)
                    .col(Events::Sequence)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventSequencer::Table)
                    .col(integer(EventSequencer::Id).primary_key())
                    .col(big_integer(EventSequencer::LastSequence))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(EventSequencer::Table)
                    .columns([EventSequencer::Id, EventSequencer::LastSequence])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventConsumers::Table)
                    .col(string_len(EventConsumers::Name, 32).primary_key())
                    .col(big_integer(EventConsumers::LastSequence))
                    .col(string_len_null(EventConsumers::Owner, 64))
                    .col(ts_null(db, EventConsumers::LeaseUntil))
                    .col(ts(db, EventConsumers::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(string_len_null(WebhookEndpoints::Description, 500))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(string_len_null(WebhookEndpoints::DisabledReason, 500))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(ts_null(db, WebhookEndpoints::PreviousSecretUntil))
                    .col(ts_null(db, WebhookEndpoints::FailingSince))
                    .col(ts(db, WebhookEndpoints::CreatedAt))
                    .col(ts(db, WebhookEndpoints::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::EventId))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(ts_null(db, WebhookDeliveries::NextAttemptAt))
                    .col(ts_null(db, WebhookDeliveries::LastAttemptAt))
                    .col(integer_null(WebhookDeliveries::ResponseStatus))
                    .col(string_len_null(WebhookDeliveries::LastError, 1024))
                    .col(ts_null(db, WebhookDeliveries::SucceededAt))
                    .col(ts_null(db, WebhookDeliveries::LeaseUntil))
                    .col(uuid_null(WebhookDeliveries::LeasedBy))
                    .col(ts(db, WebhookDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                            .to(Events::Table, Events::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_webhook_deliveries_endpoint_event")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            EventConsumers::Table.into_iden(),
            EventSequencer::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
