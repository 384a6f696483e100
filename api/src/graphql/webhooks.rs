//! Outbound webhook endpoints and their deliveries (ADMIN).

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use entity::{webhook_delivery, webhook_endpoint};

use super::access::reads;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::events::Event;
use super::scalars::Timestamp;
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, EventType};
use crate::error::AppError;
use crate::secrets::CredentialCipher;
use crate::service::webhooks::address::TargetPolicy;
use crate::service::webhooks::deliveries::{self, DeliveryQuery, DeliveryStatus};
use crate::service::webhooks::endpoints::{self, EndpointInput};

pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Empty: every type.
    async fn event_types(&self) -> Result<Vec<EventType>> {
        Ok(endpoints::event_types(&self.0)?)
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Set when the endpoint was disabled automatically.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

/// An endpoint with its secret, shown only when created or rotated.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    endpoint: WebhookEndpoint,
    /// "whsec_" + base64 of 32 random bytes.
    secret: String,
}

pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(guard = "reads::<WebhookEndpoint>()")]
    async fn endpoint(&self, ctx: &Context<'_>) -> Result<WebhookEndpoint> {
        endpoints::find(db(ctx), self.0.endpoint_id)
            .await?
            .map(WebhookEndpoint)
            .ok_or_else(|| AppError::internal("delivery without endpoint").into())
    }
    #[graphql(guard = "reads::<Event>()")]
    async fn event(&self, ctx: &Context<'_>) -> Result<Event> {
        use sea_orm::EntityTrait;
        entity::event::Entity::find_by_id(self.0.event_id)
            .one(db(ctx))
            .await
            .map_err(AppError::from)?
            .map(Event)
            .ok_or_else(|| AppError::internal("delivery without event").into())
    }
    async fn status(&self) -> Result<DeliveryStatus> {
        Ok(parse_stored(&self.0.status)?)
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_attempt_at(&self) -> Option<Timestamp> {
        self.0.last_attempt_at.map(Timestamp)
    }
    async fn next_attempt_at(&self) -> Option<Timestamp> {
        self.0.next_attempt_at.map(Timestamp)
    }
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn succeeded_at(&self) -> Option<Timestamp> {
        self.0.succeeded_at.map(Timestamp)
    }
}

#[derive(InputObject)]
pub struct WebhookEndpointInput {
    url: String,
    description: Option<String>,
    /// Empty: every type.
    event_types: Vec<EventType>,
    /// Default: true.
    enabled: Option<bool>,
}

impl WebhookEndpointInput {
    async fn parse(self, ctx: &Context<'_>) -> Result<EndpointInput> {
        let policy = *ctx
            .data::<TargetPolicy>()
            .map_err(|_| AppError::internal("the webhook target policy is not registered"))?;
        Ok(EndpointInput::parse(
            &self.url,
            self.description,
            self.event_types,
            self.enabled,
            policy,
        )
        .await?)
    }
}

fn cipher<'a>(ctx: &'a Context<'_>) -> &'a CredentialCipher {
    // Inserted by the schema builder with the database; absence is a wiring
    // bug the first test catches.
    ctx.data_unchecked::<Arc<CredentialCipher>>()
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    #[graphql(guard = "reads::<WebhookEndpoint>()")]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        Ok(endpoints::list(db(ctx))
            .await?
            .into_iter()
            .map(WebhookEndpoint)
            .collect())
    }

    /// Newest first.
    #[graphql(guard = "reads::<WebhookDelivery>()")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        endpoint_id: Option<ID>,
        status: Option<Vec<DeliveryStatus>>,
    ) -> Result<PageConnection<WebhookDelivery>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let filter = DeliveryQuery {
            endpoint_id: endpoint_id.as_ref().map(parse_id).transpose()?,
            status: status.unwrap_or_default(),
        };
        let rows = deliveries::list(db(ctx), &filter, &page).await?;
        Ok(connection_from(&cursors, rows, |d| d.id, WebhookDelivery))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> Result<WebhookEndpointWithSecret> {
        let input = input.parse(ctx).await?;
        let (endpoint, secret) =
            endpoints::create(db(ctx), &request_context(ctx), cipher(ctx), input).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: WebhookEndpointInput,
    ) -> Result<WebhookEndpoint> {
        let id = parse_id(&id)?;
        let input = input.parse(ctx).await?;
        Ok(WebhookEndpoint(
            endpoints::update(db(ctx), &request_context(ctx), id, input).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        endpoints::delete(db(ctx), &request_context(ctx), parse_id(&id)?).await?;
        Ok(true)
    }

    /// The old secret keeps signing beside the new one for 24 h.
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookEndpointWithSecret> {
        let (endpoint, secret) =
            endpoints::rotate(db(ctx), &request_context(ctx), cipher(ctx), parse_id(&id)?).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// A new PENDING attempt now, for any status.
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: ID,
    ) -> Result<WebhookDelivery> {
        let id = parse_id(&delivery_id)?;
        Ok(WebhookDelivery(
            deliveries::redeliver(db(ctx), &request_context(ctx), id).await?,
        ))
    }
}
