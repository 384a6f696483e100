//! DataLoaders: every relation is batched, never a query per row.

use std::collections::HashMap;
use std::sync::Arc;

use crate::service::db::Db;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use entity::staff;

/// Staff members by id.
pub struct StaffLoader(pub Db);

impl Loader<Uuid> for StaffLoader {
    type Value = staff::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = staff::Entity::find()
            .filter(staff::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// Rows of any table keyed by their own id.
macro_rules! by_id_loader {
    ($(#[$meta:meta])* $name:ident, $module:ident) => {
        $(#[$meta])*
        pub struct $name(pub Db);

        impl Loader<Uuid> for $name {
            type Value = entity::$module::Model;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = entity::$module::Entity::find()
                    .filter(entity::$module::Column::Id.is_in(keys.iter().copied()))
                    .all(&self.0)
                    .await
                    .map_err(Arc::new)?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

by_id_loader!(
    /// Customers by id.
    CustomerLoader,
    customer
);
by_id_loader!(
    /// Orders by id.
    OrderLoader,
    order
);

by_id_loader!(
    /// Claims by id.
    ClaimLoader,
    refund_claim
);

/// Rows grouped by a parent id, loaded with one query per batch.
macro_rules! children_loader {
    ($(#[$meta:meta])* $name:ident, $module:ident, $parent:ident, $parent_col:ident, $order_col:ident) => {
        $(#[$meta])*
        pub struct $name(pub Db);

        impl Loader<Uuid> for $name {
            type Value = Vec<entity::$module::Model>;
            type Error = Arc<AppErrorShared>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = crate::service::page::children_of::<entity::$module::Entity, _>(
                    &self.0,
                    entity::$module::Column::$parent_col,
                    keys,
                    entity::$module::Column::$order_col,
                )
                .await
                .map_err(|e| shared(crate::error::AppError::from(e)))?;
                let mut out: HashMap<Uuid, Self::Value> = HashMap::new();
                for r in rows {
                    out.entry(r.$parent).or_default().push(r);
                }
                Ok(out)
            }
        }
    };
}

children_loader!(
    /// Evidence of each claim, oldest first.
    EvidenceByClaimLoader,
    claim_evidence,
    claim_id,
    ClaimId,
    Id
);
children_loader!(
    /// Events of each claim, oldest first.
    EventsByClaimLoader,
    claim_event,
    claim_id,
    ClaimId,
    Id
);
children_loader!(
    /// Payouts of each claim, oldest first.
    PayoutsByClaimLoader,
    payout,
    claim_id,
    ClaimId,
    Id
);
children_loader!(
    /// Payouts of each order, oldest first.
    PayoutsByOrderLoader,
    payout,
    order_id,
    OrderId,
    Id
);
children_loader!(
    /// Claims of each order, oldest first.
    ClaimsByOrderLoader,
    refund_claim,
    order_id,
    OrderId,
    Id
);
children_loader!(
    /// Contacts of each customer, oldest first.
    ContactsByCustomerLoader,
    customer_contact,
    customer_id,
    CustomerId,
    ContactedAt
);

children_loader!(
    /// Chargebacks of each order, oldest first.
    ChargebacksByOrderLoader,
    chargeback,
    order_id,
    OrderId,
    Id
);

/// The first page of each customer's orders, for `Customer.orders` without a
/// cursor (keyed by customer and page size).
pub struct CustomerOrdersLoader(pub Db);

impl Loader<(Uuid, usize)> for CustomerOrdersLoader {
    type Value = Arc<crate::domain::page::Page<entity::order::Model>>;
    type Error = Arc<AppErrorShared>;

    async fn load(
        &self,
        keys: &[(Uuid, usize)],
    ) -> Result<HashMap<(Uuid, usize), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        let mut sizes: Vec<usize> = keys.iter().map(|(_, s)| *s).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for size in sizes {
            let ids: Vec<Uuid> = keys
                .iter()
                .filter(|(_, s)| *s == size)
                .map(|(id, _)| *id)
                .collect();
            let pages = crate::service::orders::first_pages_of_customers(&self.0, &ids, size)
                .await
                .map_err(shared)?;
            out.extend(
                pages
                    .into_iter()
                    .map(|(id, page)| ((id, size), Arc::new(page))),
            );
        }
        Ok(out)
    }
}

/// The activation of each order: at most one, and `None` is an answer too.
pub struct ActivationByOrderLoader(pub Db);

impl Loader<Uuid> for ActivationByOrderLoader {
    type Value = Option<entity::activation::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = entity::activation::Entity::find()
            .filter(entity::activation::Column::OrderId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        let mut out: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, None)).collect();
        out.extend(rows.into_iter().map(|r| (r.order_id, Some(r))));
        Ok(out)
    }
}

/// Refunded and refundable figures of each order, in two grouped queries.
pub struct OrderMoneyLoader(pub Db);

impl Loader<Uuid> for OrderMoneyLoader {
    type Value = crate::service::orders::OrderMoney;
    type Error = Arc<AppErrorShared>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::service::orders::money_of(&self.0, keys)
            .await
            .map_err(shared)
    }
}

/// A loader failure, shareable between the fields that waited on it. The
/// cause was already logged when the service produced it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AppErrorShared(pub String);

/// Logs the cause once, then shares the failure with every waiting field.
fn shared(e: crate::error::AppError) -> Arc<AppErrorShared> {
    tracing::error!(cause = %e.describe(), "loader failed");
    Arc::new(AppErrorShared(e.message()))
}

/// Loads one value through the request's loader of type `L`.
pub async fn load<L>(
    ctx: &async_graphql::Context<'_>,
    key: Uuid,
) -> async_graphql::Result<Option<L::Value>>
where
    L: Lazy + Loader<Uuid>,
    L::Error: std::error::Error + Send + Sync + 'static,
{
    loader::<L>(ctx)?
        .load_one(key)
        .await
        .map_err(|e| crate::error::AppError::internal(e).into())
}

/// Runs a loader's fetch once the tasks ready now (the request's own
/// resolvers among them) have had their turn.
fn spawn_after_yields(
    fetch: futures_util::future::BoxFuture<'static, ()>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for _ in 0..FETCH_YIELDS {
            tokio::task::yield_now().await;
        }
        fetch.await
    })
}

/// Yields before a batch is fetched (four are enough for the dashboard's
/// levels; the statement-count test and the benchmark check it).
const FETCH_YIELDS: usize = 4;

/// The rows one loader of lists holds for `key` (none: empty), each
/// wrapped as its GraphQL node.
pub async fn load_list<L, M, N>(
    ctx: &async_graphql::Context<'_>,
    key: Uuid,
    node: impl Fn(M) -> N,
) -> async_graphql::Result<Vec<N>>
where
    L: Lazy + Loader<Uuid, Value = Vec<M>>,
    L::Error: std::error::Error + Send + Sync + 'static,
{
    let rows = load::<L>(ctx, key).await?.unwrap_or_default();
    Ok(rows.into_iter().map(node).collect())
}

/// A loader as one request uses it.
pub type RequestLoader<L> = DataLoader<L, HashMapCache>;

/// `loader` as one request uses it, its cache on or off (see
/// [`Loaders::new`]).
///
/// The batching delay is zero, and the fetch task first yields a few
/// times: each actix worker runs a single-threaded runtime, so by then every
/// resolver of the level has queued its key, even when tokio's cooperative
/// budget cut the level's first poll short. async-graphql still starts each
/// batch with a sleep of that zero delay. With its `tokio-timer` feature
/// that was a tokio sleep, which rounds up to the timer's next millisecond
/// tick: every loader level of every request waited for a tick
/// (BENCHMARKS.md). Without the feature (`api/Cargo.toml`) it is async-io's
/// timer, which is ready at once for a zero delay and never starts its
/// reactor.
fn request_loader<K, L>(loader: L, cache: bool) -> RequestLoader<L>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    let l = DataLoader::with_cache(loader, spawn_after_yields, HashMapCache::default())
        .delay(std::time::Duration::ZERO);
    l.enable_all_cache(cache);
    l
}

/// The loader of type `L` of the current request, made on first use.
pub fn loader<'a, L: Lazy + Loader<Uuid>>(
    ctx: &'a async_graphql::Context<'_>,
) -> async_graphql::Result<&'a RequestLoader<L>> {
    keyed_loader::<Uuid, L>(ctx)
}

/// [`loader`] for a loader whose keys are not plain ids.
pub fn keyed_loader<'a, K, L>(
    ctx: &'a async_graphql::Context<'_>,
) -> async_graphql::Result<&'a RequestLoader<L>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Lazy + Loader<K>,
{
    let loaders = &super::context::scope(ctx)
        .ok_or_else(|| crate::error::AppError::internal("the request has no RequestScope"))?
        .loaders;
    Ok(L::cell(&loaders.cells)
        .get_or_init(|| request_loader::<K, L>(L::make(&loaders.db), loaders.cache)))
}

/// A request's loaders. Each is made the first time a field asks for it: a
/// request uses a few of the fourteen, and making all of them (an `Arc`, a
/// cache map and a connection handle each) was a fixed cost on every request.
pub struct Loaders {
    db: Db,
    cache: bool,
    cells: LoaderCells,
}

/// A loader the request makes on first use.
pub trait Lazy: Sized + Send + Sync + 'static {
    fn cell(cells: &LoaderCells) -> &std::sync::OnceLock<RequestLoader<Self>>;
    fn make(db: &Db) -> Self;
}

macro_rules! lazy_loaders {
    ($($loader:ident => $field:ident),+ $(,)?) => {
        /// One slot per loader type.
        #[derive(Default)]
        pub struct LoaderCells {
            $($field: std::sync::OnceLock<RequestLoader<$loader>>,)+
        }
        $(impl Lazy for $loader {
            fn cell(cells: &LoaderCells) -> &std::sync::OnceLock<RequestLoader<Self>> {
                &cells.$field
            }
            fn make(db: &Db) -> Self {
                $loader(db.clone())
            }
        })+
    };
}

lazy_loaders!(
    StaffLoader => staff,
    CustomerLoader => customer,
    OrderLoader => order,
    ClaimLoader => claim,
    ActivationByOrderLoader => activation_by_order,
    ContactsByCustomerLoader => contacts_by_customer,
    OrderMoneyLoader => order_money,
    EvidenceByClaimLoader => evidence_by_claim,
    EventsByClaimLoader => events_by_claim,
    PayoutsByClaimLoader => payouts_by_claim,
    PayoutsByOrderLoader => payouts_by_order,
    ClaimsByOrderLoader => claims_by_order,
    ChargebacksByOrderLoader => chargebacks_by_order,
    CustomerOrdersLoader => customer_orders,
);

impl Loaders {
    /// A request's loaders, none made yet, for its
    /// [`RequestScope`](super::context::RequestScope): created fresh per
    /// request, since their caches must never outlive it. `cache` is true
    /// for queries only.
    ///
    /// Queries cache what they load, so a row loaded twice in one query is read
    /// once. Mutations do not: a later mutation of the same request may
    /// change a row an earlier one already loaded.
    pub fn new(db: &Db, cache: bool) -> Loaders {
        Loaders {
            db: db.clone(),
            cache,
            cells: LoaderCells::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers each key with itself.
    struct Echo;

    impl Loader<u32> for Echo {
        type Value = u32;
        type Error = std::convert::Infallible;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Self::Error> {
            Ok(keys.iter().map(|k| (*k, *k)).collect())
        }
    }

    /// A batch must not wait for a timer. The runtime here has none, so a
    /// tokio sleep (async-graphql's `tokio-timer` feature) panics in the
    /// fetch task and the load never ends; the thread bounds that wait, so
    /// the test fails instead of hanging.
    #[test]
    fn a_batch_starts_without_a_timer() {
        let (done, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime without time");
            let loader = request_loader(Echo, true);
            let loaded =
                runtime.block_on(async { tokio::join!(loader.load_one(1), loader.load_one(2)) });
            let _ = done.send(loaded);
        });
        let loaded = answer
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the batch never ran: it waited for a timer");
        assert_eq!(loaded, (Ok(Some(1)), Ok(Some(2))));
    }
}
