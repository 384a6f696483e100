use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::ts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Staff {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    Roles,
    Active,
    TokenVersion,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table(Staff::Table)
                    .col(pk_uuid(Staff::Id))
                    .col(string_len(Staff::Email, 255))
                    .col(string_len(Staff::Name, 255))
                    .col(string_len(Staff::PasswordHash, 255))
                    .col(string_len(Staff::Roles, 512))
                    .col(boolean(Staff::Active))
                    .col(integer(Staff::TokenVersion))
                    .col(ts(db, Staff::CreatedAt))
                    .col(ts(db, Staff::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_staff_email")
                    .table(Staff::Table)
                    .col(Staff::Email)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Staff::Table).to_owned())
            .await
    }
}
