//! Column helpers shared by the migrations.
//!
//! Timestamps are stored in UTC with a backend-specific type:
//! - PostgreSQL: `timestamp with time zone`
//! - MySQL / MariaDB: `DATETIME(6)` (not `TIMESTAMP`, which cannot hold
//!   1970-01-01T00:00:00Z and ends in 2038). The server binds date-times to
//!   it as naive UTC (`api::service::db::bind`): bound as TIMESTAMP values,
//!   MariaDB would store those after 2038 as NULL.
//! - SQLite: `timestamp_with_timezone_text` (sea-query's timestamp with time zone)

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

fn ts_base<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DbBackend::MySql => def.custom("DATETIME(6)"),
        _ => def.timestamp_with_time_zone(),
    };
    def
}

/// A NOT NULL UTC timestamp column.
pub fn ts<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    ts_base(backend, col).not_null().take()
}

/// A nullable UTC timestamp column.
pub fn ts_null<T: IntoIden>(backend: DbBackend, col: T) -> ColumnDef {
    ts_base(backend, col).null().take()
}
