//! Connecting to the database and starting write transactions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, IsolationLevel, QueryResult, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait, Value,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::PoolStats;

/// How long a request waits for a pooled connection before failing fast.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's page cache for each pooled connection, in KiB (SQLite's default
/// is 2,000), for pages the OS caches anyway. With ten connections, 512 KiB
/// took the server's peak RSS under 32 dashboard clients from 92.8 to
/// 65.0 MiB, with no measurable change in throughput, and seeding was no
/// slower (BENCHMARKS.md).
const SQLITE_CACHE_KIB: u32 = 512;

/// Opens the pool. SQLite runs in WAL mode (readers never block the writer)
/// with a busy timeout, foreign keys on, in a file only its owner can read.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
    if let Some(path) = sqlite_file(url) {
        private_sqlite_file(&path)
            .map_err(|e| DbErr::Custom(format!("cannot prepare {}: {e}", path.display())))?;
    }
    let mut opt = ConnectOptions::new(url.to_string());
    opt.max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
        });
    Database::connect(opt).await.map(Db)
}

/// The connection pool every query goes through: sea-orm's, with each
/// statement's date-times bound so the backend keeps them (`bind`, below).
#[derive(Clone, Debug)]
pub struct Db(DatabaseConnection);

impl Db {
    /// The sea-orm pool underneath, for what takes one by type (the
    /// migrator). Statements sent through it skip `bind`: never write a
    /// date-time through it.
    pub fn unbound(&self) -> &DatabaseConnection {
        &self.0
    }

    /// Counts every statement (`/metrics`).
    pub fn set_metric_callback<F>(&mut self, callback: F)
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
    {
        self.0.set_metric_callback(callback)
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.0.ping().await
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.0.close().await
    }
}

/// Binds `stmt`'s UTC date-times the way its backend stores them past
/// 2038-01-19. sqlx sends a `DateTime<Utc>` to MySQL as a TIMESTAMP value;
/// MariaDB converts it through the TIMESTAMP range before storing it in our
/// DATETIME(6) columns, so a later instant is written as NULL and compares
/// as NULL. The same instant sent as a naive UTC DATETIME is kept whole
/// (the columns hold UTC by design: `migration::columns`). Other backends
/// are left as they are.
fn bind(mut stmt: Statement) -> Statement {
    if stmt.db_backend == DbBackend::MySql {
        for value in stmt.values.iter_mut().flat_map(|v| v.0.iter_mut()) {
            if let Value::ChronoDateTimeUtc(t) = value {
                *value = Value::ChronoDateTime(t.map(|t| t.naive_utc()));
            }
        }
    }
    stmt
}

/// Forwards the statement methods of a connection wrapper to `$inner`,
/// through [`bind`]. One list for the pool and for write transactions, so a
/// method added to one cannot skip the binding in the other.
macro_rules! bound_connection {
    ($wrapper:ty, |$s:ident| $inner:expr) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $wrapper {
            fn get_database_backend(&self) -> DbBackend {
                let $s = self;
                $inner.get_database_backend()
            }
            async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
                let $s = self;
                $inner.execute_raw(bind(stmt)).await
            }
            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                let $s = self;
                $inner.execute_unprepared(sql).await
            }
            async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
                let $s = self;
                $inner.query_one_raw(bind(stmt)).await
            }
            async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
                let $s = self;
                $inner.query_all_raw(bind(stmt)).await
            }
            fn support_returning(&self) -> bool {
                let $s = self;
                $inner.support_returning()
            }
        }
    };
}

bound_connection!(Db, |s| s.0);
bound_connection!(WriteTxn, |s| s.txn);

/// The file a SQLite URL names; `None` for other databases and in-memory ones.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    (!memory).then(|| std::path::PathBuf::from(path))
}

/// The database holds customers' contact details and the audit log: its
/// folder is made 0700 when missing (the default `data/` folder always), and
/// the file 0600 before SQLite opens it. SQLite gives its `-wal` and `-shm`
/// files the database file's permissions; any left from before are
/// tightened too.
#[cfg(unix)]
fn private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let private = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        } else if dir == std::path::Path::new(crate::config::DATA_DIR) {
            private(dir, 0o700)?;
        }
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => private(path, 0o600)?,
        Err(e) => return Err(e),
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = std::path::PathBuf::from(side);
        if side.exists() {
            private(&side, 0o600)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}

/// A transaction that writes (see [`begin_write`]): the sea-orm transaction,
/// and on SQLite this process's turn to write.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

/// The write turn of each SQLite file in this process.
///
/// SQLite has one writer at a time. Without this, a writer that finds the
/// file locked sleeps in SQLite's busy handler (1, 2, 5 … 100 ms steps) and
/// wakes late, long after the lock was free: under 8 concurrent approvals the
/// p99 was hundreds of milliseconds (BENCHMARKS.md). Writers of one process
/// instead wait their turn here, first come first served, and begin as soon
/// as the previous one ends. This orders work only; it guards nothing: the
/// transaction's own lock still excludes other processes, which keep
/// waiting on the busy timeout.
fn write_turn(db: &Db) -> Option<Arc<Semaphore>> {
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<Semaphore>>>> = OnceLock::new();
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let file =
        db.0.get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_path_buf();
    if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
        return None;
    }
    let mut turns = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    Some(
        turns
            .entry(file)
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone(),
    )
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the
/// write lock is taken up front, so concurrent writers queue on the busy
/// timeout instead of failing when a read lock cannot be upgraded; the
/// writers of this process queue on their turn first (`write_turn`). On
/// MySQL and MariaDB it is READ COMMITTED, as PostgreSQL's default: after
/// waiting for a row lock, plain reads see what the lock holder committed
/// (under REPEATABLE READ they would read an older snapshot).
pub async fn begin_write(db: &Db) -> Result<WriteTxn, DbErr> {
    let turn = match write_turn(db) {
        Some(turn) => Some(
            tokio::time::timeout(SQLITE_BUSY_TIMEOUT, turn.acquire_owned())
                .await
                .map_err(|_| DbErr::Custom("timed out waiting to write".into()))?
                .map_err(|_| DbErr::Custom("the write turn is closed".into()))?,
        ),
        None => None,
    };
    let isolation_level = match db.get_database_backend() {
        DbBackend::MySql => Some(IsolationLevel::ReadCommitted),
        _ => None,
    };
    let txn =
        db.0.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            isolation_level,
            ..Default::default()
        })
        .await?;
    Ok(WriteTxn { txn, _turn: turn })
}

/// Pool figures for `/metrics`.
pub fn pool_stats(db: &Db, max: u32) -> PoolStats {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let p = db.0.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        DbBackend::Postgres => {
            let p = db.0.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        _ => {
            let p = db.0.get_mysql_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
    };
    PoolStats { size, idle, max }
}

/// Maps a duplicate row (a unique constraint refusing the write) to
/// CONFLICT saying `message`, and any other database error to itself. (A
/// retried payout and a chargeback's duplicate reference map theirs to
/// other errors on purpose.)
pub fn duplicate_is_conflict(
    message: &'static str,
) -> impl FnOnce(DbErr) -> crate::error::AppError {
    move |err| {
        if is_unique_violation(&err) {
            crate::error::AppError::Conflict(message.into())
        } else {
            err.into()
        }
    }
}

/// True when the error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Reads a row by id and locks it for the rest of the transaction
/// (`SELECT … FOR UPDATE`; on SQLite the IMMEDIATE transaction already
/// serializes writers). A missing row is NOT_FOUND named `what`.
pub async fn lock_by_id<E, C>(
    conn: &C,
    id: uuid::Uuid,
    what: &'static str,
) -> crate::error::AppResult<E::Model>
where
    E: sea_orm::EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::QuerySelect;
    E::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(crate::error::AppError::NotFound(what))
}

/// The SQLite build options the workspace's `.cargo/config.toml` turns on, and
/// why each matters; see that file.
const SQLITE_BUILD_OPTIONS: [(&str, &str); 2] = [
    (
        "ENABLE_QPSG",
        "statements with a bound LIMIT are planned anew on every execution",
    ),
    (
        "DEFAULT_MEMSTATUS=0",
        "every SQLite allocation takes a process-wide mutex",
    ),
];

/// The SQLite build options this binary lacks, each with its cost (empty on
/// other backends). A binary built outside the workspace misses them.
pub async fn missing_sqlite_options(db: &Db) -> Result<Vec<(&'static str, &'static str)>, DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(Vec::new());
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA compile_options",
        ))
        .await?;
    let present: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect();
    Ok(SQLITE_BUILD_OPTIONS
        .into_iter()
        .filter(|(option, _)| !present.iter().any(|p| p == option))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_is_built_with_the_workspace_options() {
        let db = connect("sqlite::memory:", 1).await.unwrap();
        assert_eq!(missing_sqlite_options(&db).await.unwrap(), vec![]);
    }

    #[tokio::test]
    async fn every_sqlite_connection_gets_the_smaller_page_cache() {
        use sea_orm::ConnectionTrait;
        let db = connect("sqlite::memory:", 2).await.unwrap();
        // Two at once, so the pool opens a second connection.
        let read = || async {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA cache_size",
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        };
        let (a, b) = tokio::join!(read(), read());
        assert_eq!([a, b], [-i64::from(SQLITE_CACHE_KIB); 2]);
    }
}
