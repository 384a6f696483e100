//! Activations and their secret credentials.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use entity::activation;

use super::access::{reads, sees_contact_details};
use super::context::{db, parse_id, request_context};
use super::loaders::{load, OrderLoader};
use super::orders::Order;
use super::scalars::Timestamp;
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::email::mask_email;
use crate::domain::enums::{parse_stored, ActivationStatus, DeliveryChannel};
use crate::domain::phone::mask_phone;
use crate::error::AppError;
use crate::secrets::CredentialCipher;
use crate::service::activations::{self as svc, Credentials, NewActivation};
use crate::service::text::optional_text;

/// An activation, with its order's plan length (for expiry).
pub struct Activation {
    model: activation::Model,
    plan_months: i32,
}

impl Activation {
    pub fn new(model: activation::Model, plan_months: i32) -> Self {
        Activation { model, plan_months }
    }
}

#[derive(SimpleObject)]
pub struct ActivationCredentials {
    username: Option<String>,
    password: Option<String>,
    activation_code: Option<String>,
    server_url: Option<String>,
}

#[Object]
impl Activation {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    #[graphql(guard = "reads::<Order>()")]
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        load::<OrderLoader>(ctx, self.model.order_id)
            .await?
            .map(Order::new)
            .ok_or_else(|| AppError::internal("activation without order").into())
    }
    async fn channel(&self) -> Result<DeliveryChannel> {
        Ok(parse_stored(&self.model.channel)?)
    }
    /// Email address or phone number; masked for ANALYST.
    async fn destination(&self, ctx: &Context<'_>) -> String {
        let d = &self.model.destination;
        if sees_contact_details(ctx) {
            d.clone()
        } else if crate::domain::Email::parse(d).is_ok() {
            mask_email(d)
        } else {
            // A phone number, or free text (OTHER) that may hold one.
            mask_phone(d)
        }
    }
    async fn created_at(&self) -> Timestamp {
        self.model.created_at.into()
    }
    /// null until sent; once sent the service counts as used.
    async fn delivered_at(&self) -> Option<Timestamp> {
        self.model.delivered_at.map(Timestamp)
    }
    async fn used(&self) -> bool {
        self.model.delivered_at.is_some()
    }
    async fn starts_at(&self) -> Option<Timestamp> {
        self.model.delivered_at.map(Timestamp)
    }
    /// startsAt + planMonths calendar months.
    async fn expires_at(&self) -> Option<Timestamp> {
        svc::expires_at(&self.model, self.plan_months).map(Timestamp)
    }
    async fn status(&self) -> Result<ActivationStatus> {
        Ok(svc::effective_status(
            &self.model,
            self.plan_months,
            chrono::Utc::now(),
        )?)
    }
    /// ADMIN and SUPPORT_AGENT only; every read is audited.
    #[graphql(guard = "reads::<ActivationCredentials>()")]
    async fn credentials(&self, ctx: &Context<'_>) -> Result<Option<ActivationCredentials>> {
        let cipher = ctx.data_unchecked::<std::sync::Arc<CredentialCipher>>();
        let creds =
            svc::read_credentials(db(ctx), cipher, &request_context(ctx), &self.model).await?;
        Ok(creds.map(|c| ActivationCredentials {
            username: c.username,
            password: c.password,
            activation_code: c.activation_code,
            server_url: c.server_url,
        }))
    }
}

#[derive(InputObject)]
pub struct RecordActivationInput {
    order_id: ID,
    channel: DeliveryChannel,
    destination: String,
    username: Option<String>,
    password: Option<String>,
    activation_code: Option<String>,
    server_url: Option<String>,
    /// Set when the details were already sent.
    delivered_at: Option<Timestamp>,
}

#[derive(Default)]
pub struct ActivationMutation;

#[Object]
impl ActivationMutation {
    /// One activation per PAID order.
    #[graphql(guard = "RoleGuard::any(roles::ORDER_WRITERS)")]
    async fn record_activation(
        &self,
        ctx: &Context<'_>,
        input: RecordActivationInput,
    ) -> Result<Activation> {
        let new = NewActivation {
            order_id: parse_id(&input.order_id)?,
            channel: input.channel,
            destination: svc::parse_destination(input.channel, &input.destination)?,
            credentials: Credentials {
                username: optional_text(input.username, "username", 255)?,
                password: optional_text(input.password, "password", 255)?,
                activation_code: optional_text(input.activation_code, "activationCode", 255)?,
                server_url: optional_text(input.server_url, "serverUrl", 2048)?,
            },
            delivered_at: input.delivered_at.map(|t| t.0),
        };
        let cipher = ctx.data_unchecked::<std::sync::Arc<CredentialCipher>>();
        let model = svc::record(db(ctx), cipher, &request_context(ctx), new).await?;
        activation_with_plan(ctx, model).await
    }

    /// Sets deliveredAt once; it cannot move or be cleared afterwards.
    #[graphql(guard = "RoleGuard::any(roles::ORDER_WRITERS)")]
    async fn mark_activation_delivered(
        &self,
        ctx: &Context<'_>,
        activation_id: ID,
        delivered_at: Timestamp,
    ) -> Result<Activation> {
        let id = parse_id(&activation_id)?;
        let model = svc::mark_delivered(db(ctx), &request_context(ctx), id, delivered_at.0).await?;
        activation_with_plan(ctx, model).await
    }
}

async fn activation_with_plan(ctx: &Context<'_>, model: activation::Model) -> Result<Activation> {
    let order = load::<OrderLoader>(ctx, model.order_id)
        .await?
        .ok_or_else(|| AppError::internal("activation without order"))?;
    Ok(Activation::new(model, order.plan_months))
}
