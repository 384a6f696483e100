//! Migrations run up, down and up again on every backend, and the database
//! enforces the constraints the design relies on.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};
use tests::{backends, fresh_database};

const TABLES: [&str; 23] = [
    "staff",
    "customers",
    "customer_contacts",
    "orders",
    "activations",
    "policy_versions",
    "refund_claims",
    "claim_evidence",
    "claim_events",
    "payouts",
    "chargebacks",
    "audit_log",
    "idempotency_keys",
    "login_attempts",
    "login_throttles",
    "events",
    "event_sequencer",
    "event_consumers",
    "webhook_endpoints",
    "webhook_deliveries",
    "inbound_messages",
    "inbound_message_bodies",
    "product_plans",
];

async fn table_exists(db: &impl ConnectionTrait, table: &str) -> bool {
    db.execute_unprepared(&format!("SELECT 1 FROM {table} WHERE 1 = 0"))
        .await
        .is_ok()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    for backend in backends() {
        let url = fresh_database(backend).await;
        let db = Database::connect(url.as_str()).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        for t in TABLES {
            assert!(table_exists(&db, t).await, "{backend:?}: {t} after up");
        }
        let seeded = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT refund_window_days, chargeback_action FROM policy_versions WHERE version = 1",
            ))
            .await
            .unwrap()
            .expect("policy version 1 is seeded");
        assert_eq!(seeded.try_get::<i32>("", "refund_window_days").unwrap(), 7);
        assert_eq!(
            seeded.try_get::<String>("", "chargeback_action").unwrap(),
            "SUSPEND"
        );

        Migrator::down(&db, None).await.unwrap();
        for t in TABLES {
            assert!(!table_exists(&db, t).await, "{backend:?}: {t} after down");
        }
        Migrator::up(&db, None).await.unwrap();
        assert!(Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn the_database_refuses_duplicates_the_design_forbids() {
    for backend in backends() {
        let url = fresh_database(backend).await;
        let db = Database::connect(url.as_str()).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        let id = |n: u8| format!("'{}'", uuid::Uuid::from_bytes([n; 16]));
        let uuid_lit = |n: u8| match backend {
            tests::Backend::Postgres => format!("{}::uuid", id(n)),
            tests::Backend::MySql => format!("UNHEX(REPLACE({}, '-', ''))", id(n)),
            tests::Backend::Sqlite => format!("X'{}'", hex::encode_upper([n; 16])),
        };
        let ts = "'2026-01-01 00:00:00'";
        let staff = |n: u8, email: &str| {
            format!(
                "INSERT INTO staff (id, email, name, password_hash, roles, active, token_version, created_at, updated_at) \
                 VALUES ({}, '{email}', 'n', 'h', 'ADMIN', true, 1, {ts}, {ts})",
                uuid_lit(n)
            )
        };
        db.execute_unprepared(&staff(1, "a@x.test")).await.unwrap();
        assert!(
            db.execute_unprepared(&staff(2, "a@x.test")).await.is_err(),
            "{backend:?}: staff email must be unique"
        );
    }
}

/// What a seeded database holds, in figures that differ if any row does.
async fn fingerprint(db: &api::service::db::Db) -> Vec<i64> {
    let mut out = Vec::new();
    for q in [
        "SELECT COUNT(*) AS n FROM orders",
        "SELECT SUM(total_minor) AS n FROM orders",
        "SELECT COUNT(*) AS n FROM refund_claims",
        "SELECT SUM(requested_minor) AS n FROM refund_claims",
        "SELECT COUNT(*) AS n FROM payouts",
        "SELECT SUM(amount_minor) AS n FROM payouts",
    ] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                q,
            ))
            .await
            .unwrap()
            .unwrap();
        // SUM is DECIMAL on some backends; read it as text to compare.
        let n = row
            .try_get::<i64>("", "n")
            .or_else(|_| {
                row.try_get::<sea_orm::prelude::Decimal>("", "n")
                    .map(|d| d.to_string().parse().unwrap())
            })
            .unwrap();
        out.push(n);
    }
    out
}

async fn seeded_database(backend: tests::Backend, orders: usize) -> api::service::db::Db {
    let db = api::service::db::connect(fresh_database(backend).await.as_str(), 5)
        .await
        .unwrap();
    Migrator::up(db.unbound(), None).await.unwrap();
    let staff: Vec<uuid::Uuid> = api::service::demo::ensure_demo_staff(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, _, id)| id)
        .collect();
    let seeded = api::service::seed::seed(&db, orders, &staff).await.unwrap();
    assert_eq!(seeded.orders, orders);
    assert!(seeded.claims > 0 && seeded.payouts > 0, "{backend:?}");
    // Seeding again adds nothing.
    let again = api::service::seed::seed(&db, orders, &staff).await.unwrap();
    assert_eq!(again.orders, 0, "{backend:?}");
    db
}

/// The same N gives the same data on every backend, and PostgreSQL leaves the
/// load with planner statistics (autovacuum may be off, as it is here).
#[tokio::test]
async fn demo_seeding_is_deterministic_and_leaves_statistics() {
    let reference = fingerprint(&seeded_database(tests::Backend::Sqlite, 600).await).await;
    for backend in backends() {
        let db = seeded_database(backend, 600).await;
        assert_eq!(fingerprint(&db).await, reference, "{backend:?}");
        if backend == tests::Backend::Postgres {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM pg_stat_user_tables WHERE relname IN ('orders', 'refund_claims', 'payouts') AND last_analyze IS NOT NULL",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                row.try_get::<i64>("", "n").unwrap(),
                3,
                "tables left unanalyzed"
            );
        }
    }
}
