use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{ts, ts_null};
use crate::m20261127_000001_create_staff::Staff;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Customers {
    Table,
    Id,
    Email,
    Name,
    Phone,
    Restricted,
    RestrictionReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Orders {
    Table,
    Id,
    Number,
    CustomerId,
    PlanMonths,
    Devices,
    TotalMinor,
    Currency,
    PaymentMethod,
    PaymentReference,
    Status,
    PlacedAt,
    PaidAt,
    CreatedAt,
    UpdatedAt,
    LockVersion,
}

#[derive(DeriveIden)]
pub enum CustomerContacts {
    Table,
    Id,
    CustomerId,
    OrderId,
    Channel,
    Summary,
    ContactedAt,
    LoggedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Activations {
    Table,
    Id,
    OrderId,
    Channel,
    Destination,
    CredentialsCiphertext,
    Status,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        // customers
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(pk_uuid(Customers::Id))
                    .col(string_len(Customers::Email, 255))
                    .col(string_len_null(Customers::Name, 255))
                    .col(string_len_null(Customers::Phone, 32))
                    .col(boolean(Customers::Restricted))
                    .col(string_len_null(Customers::RestrictionReason, 255))
                    .col(ts(db, Customers::CreatedAt))
                    .col(ts(db, Customers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_customers_email")
                    .table(Customers::Table)
                    .col(Customers::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // orders
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(pk_uuid(Orders::Id))
                    .col(string_len(Orders::Number, 64))
                    .col(uuid(Orders::CustomerId))
                    .col(integer(Orders::PlanMonths))
                    .col(integer(Orders::Devices))
                    .col(big_integer(Orders::TotalMinor))
                    .col(string_len(Orders::Currency, 3))
                    .col(string_len(Orders::PaymentMethod, 32))
                    .col(string_len_null(Orders::PaymentReference, 255))
                    .col(string_len(Orders::Status, 32))
                    .col(ts(db, Orders::PlacedAt))
                    .col(ts_null(db, Orders::PaidAt))
                    .col(ts(db, Orders::CreatedAt))
                    .col(ts(db, Orders::UpdatedAt))
                    .col(integer(Orders::LockVersion))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_customer_id")
                            .from(Orders::Table, Orders::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_orders_number")
                    .table(Orders::Table)
                    .col(Orders::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_customer_id")
                    .table(Orders::Table)
                    .col(Orders::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_status")
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_placed_at")
                    .table(Orders::Table)
                    .col(Orders::PlacedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_paid_at")
                    .table(Orders::Table)
                    .col(Orders::PaidAt)
                    .to_owned(),
            )
            .await?;

        // customer_contacts
        manager
            .create_table(
                Table::create()
                    .table(CustomerContacts::Table)
                    .col(pk_uuid(CustomerContacts::Id))
                    .col(uuid(CustomerContacts::CustomerId))
                    .col(uuid_null(CustomerContacts::OrderId))
                    .col(string_len(CustomerContacts::Channel, 32))
                    .col(text(CustomerContacts::Summary))
                    .col(ts(db, CustomerContacts::ContactedAt))
                    .col(uuid_null(CustomerContacts::LoggedBy))
                    .col(ts(db, CustomerContacts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_contacts_customer_id")
                            .from(CustomerContacts::Table, CustomerContacts::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_contacts_order_id")
                            .from(CustomerContacts::Table, CustomerContacts::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_contacts_logged_by")
                            .from(CustomerContacts::Table, CustomerContacts::LoggedBy)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_customer_contacts_customer_id_contacted_at")
                    .table(CustomerContacts::Table)
                    .col(CustomerContacts::CustomerId)
                    .col(CustomerContacts::ContactedAt)
                    .to_owned(),
            )
            .await?;

        // activations
        manager
            .create_table(
                Table::create()
                    .table(Activations::Table)
                    .col(pk_uuid(Activations::Id))
                    .col(uuid(Activations::OrderId))
                    .col(string_len(Activations::Channel, 32))
                    .col(string_len(Activations::Destination, 255))
                    .col(text_null(Activations::CredentialsCiphertext))
                    .col(string_len(Activations::Status, 32))
                    .col(ts_null(db, Activations::DeliveredAt))
                    .col(ts(db, Activations::CreatedAt))
                    .col(ts(db, Activations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_activations_order_id")
                            .from(Activations::Table, Activations::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_activations_order_id")
                    .table(Activations::Table)
                    .col(Activations::OrderId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Activations::Table.into_iden(),
            CustomerContacts::Table.into_iden(),
            Orders::Table.into_iden(),
            Customers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
