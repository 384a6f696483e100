//! Inbound integration messages and the SKU → plan table (ADMIN; plans are
//! also read by INTEGRATION). The messages' raw bodies are never exposed.

use async_graphql::{Context, InputObject, Object, Result, ID};

use entity::{inbound_message, product_plan};

use super::access::reads;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::scalars::Timestamp;
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, InboundStatus, IntegrationSource};
use crate::service::inbound::plans::{self, NewPlan};
use crate::service::inbound::{self, InboundQuery};

pub struct InboundMessage(pub inbound_message::Model);

#[Object]
impl InboundMessage {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn source(&self) -> Result<IntegrationSource> {
        Ok(parse_stored(&self.0.source)?)
    }
    /// The WooCommerce delivery id or the Stripe event id; unique per source.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// e.g. "order.created", "charge.dispute.created".
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    async fn received_at(&self) -> Timestamp {
        self.0.received_at.into()
    }
    async fn status(&self) -> Result<InboundStatus> {
        Ok(parse_stored(&self.0.status)?)
    }
    /// Why it needs attention; null otherwise.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The order, chargeback or payout it produced or changed.
    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|id| ID(id.to_string()))
    }
}

pub struct ProductPlan(pub product_plan::Model);

#[Object]
impl ProductPlan {
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    async fn plan_months(&self) -> i32 {
        self.0.plan_months
    }
    async fn devices(&self) -> i32 {
        self.0.devices
    }
    async fn updated_at(&self) -> Timestamp {
        self.0.updated_at.into()
    }
}

#[derive(InputObject)]
pub struct ProductPlanInput {
    sku: String,
    plan_months: i32,
    devices: i32,
}

#[derive(Default)]
pub struct InboundQueryRoot;

#[Object]
impl InboundQueryRoot {
    /// Newest first.
    #[graphql(guard = "reads::<InboundMessage>()")]
    async fn inbound_messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        source: Option<IntegrationSource>,
        status: Option<Vec<InboundStatus>>,
    ) -> Result<PageConnection<InboundMessage>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let filter = InboundQuery {
            source,
            status: status.unwrap_or_default(),
        };
        let rows = inbound::list(db(ctx), &filter, &page).await?;
        Ok(connection_from(&cursors, rows, |m| m.id, InboundMessage))
    }

    #[graphql(guard = "reads::<ProductPlan>()")]
    async fn product_plans(&self, ctx: &Context<'_>) -> Result<Vec<ProductPlan>> {
        Ok(plans::list(db(ctx))
            .await?
            .into_iter()
            .map(ProductPlan)
            .collect())
    }
}

#[derive(Default)]
pub struct InboundMutation;

#[Object]
impl InboundMutation {
    /// Creates or replaces the plan a storefront SKU sells.
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn upsert_product_plan(
        &self,
        ctx: &Context<'_>,
        input: ProductPlanInput,
    ) -> Result<ProductPlan> {
        let plan = NewPlan::parse(&input.sku, input.plan_months, input.devices)?;
        Ok(ProductPlan(
            plans::upsert(db(ctx), &request_context(ctx), plan).await?,
        ))
    }

    /// Processes a NEEDS_ATTENTION message again, after its cause was fixed.
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn replay_inbound_message(&self, ctx: &Context<'_>, id: ID) -> Result<InboundMessage> {
        let id = parse_id(&id)?;
        Ok(InboundMessage(
            inbound::replay(db(ctx), &request_context(ctx), id).await?,
        ))
    }
}
