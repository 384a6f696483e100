use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::ts;
use crate::m20261127_000001_create_staff::Staff;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum AuditLog {
    Table,
    Id,
    ActorId,
    Action,
    EntityType,
    EntityId,
    At,
    RequestId,
    Details,
}

#[derive(DeriveIden)]
pub enum IdempotencyKeys {
    Table,
    Id,
    StaffId,
    Operation,
    IdemKey,
    RequestHash,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum LoginAttempts {
    Table,
    Id,
    Email,
    ClientAddr,
    Succeeded,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        // audit_log
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len(AuditLog::EntityType, 64))
                    .col(string_len(AuditLog::EntityId, 64))
                    .col(ts(db, AuditLog::At))
                    .col(string_len_null(AuditLog::RequestId, 64))
                    .col(text_null(AuditLog::Details))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_log_actor_id")
                            .from(AuditLog::Table, AuditLog::ActorId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_audit_log_actor_id", AuditLog::ActorId),
            ("idx_audit_log_action", AuditLog::Action),
            ("idx_audit_log_entity_id", AuditLog::EntityId),
            ("idx_audit_log_at", AuditLog::At),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        // idempotency_keys
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(pk_uuid(IdempotencyKeys::Id))
                    .col(uuid(IdempotencyKeys::StaffId))
                    .col(string_len(IdempotencyKeys::Operation, 64))
                    .col(string_len(IdempotencyKeys::IdemKey, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(text(IdempotencyKeys::Response))
                    .col(ts(db, IdempotencyKeys::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_keys_staff_id")
                            .from(IdempotencyKeys::Table, IdempotencyKeys::StaffId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Key length on MariaDB: 16 + 64*4 + 255*4 bytes, well under 3072.
        manager
            .create_index(
                Index::create()
                    .name("uq_idempotency_keys_staff_id_operation_idem_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::StaffId)
                    .col(IdempotencyKeys::Operation)
                    .col(IdempotencyKeys::IdemKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_created_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // login_attempts
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(pk_uuid(LoginAttempts::Id))
                    .col(string_len(LoginAttempts::Email, 255))
                    .col(string_len(LoginAttempts::ClientAddr, 64))
                    .col(boolean(LoginAttempts::Succeeded))
                    .col(ts(db, LoginAttempts::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_attempts_email_at")
                    .table(LoginAttempts::Table)
                    .col(LoginAttempts::Email)
                    .col(LoginAttempts::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_attempts_client_addr_at")
                    .table(LoginAttempts::Table)
                    .col(LoginAttempts::ClientAddr)
                    .col(LoginAttempts::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoginAttempts::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            AuditLog::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
