//! Customers and their contacts.

use async_graphql::{Context, InputObject, Object, Result, ID};

use entity::{customer, customer_contact};

use super::access::{reads, sees_contact_details};
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::loaders::{
    load, load_list, ContactsByCustomerLoader, CustomerLoader, CustomerOrdersLoader, OrderLoader,
};
use super::orders::Order;
use super::scalars::Timestamp;
use super::staff::{load_staff, Staff};
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::email::mask_email;
use crate::domain::enums::{parse_stored, ContactChannel};
use crate::domain::phone::mask_phone;
use crate::domain::Email;
use crate::error::AppError;
use crate::service::customers::CustomerSearch;
use crate::service::{self, orders::OrderQuery};

pub struct Customer(pub customer::Model);

#[Object]
impl Customer {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Masked (`j***@example.com`) for ANALYST.
    async fn email(&self, ctx: &Context<'_>) -> String {
        if sees_contact_details(ctx) {
            self.0.email.clone()
        } else {
            mask_email(&self.0.email)
        }
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Masked for ANALYST.
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        let phone = self.0.phone.as_deref()?;
        Some(if sees_contact_details(ctx) {
            phone.to_string()
        } else {
            mask_phone(phone)
        })
    }
    async fn restricted(&self) -> bool {
        self.0.restricted
    }
    async fn restriction_reason(&self) -> Option<&str> {
        self.0.restriction_reason.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// The customer's orders, newest first. The first page is batched across
    /// customers; later pages (with a cursor) are read per customer.
    #[graphql(guard = "reads::<Order>()")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PageConnection<Order>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        if page.cursor.is_none() {
            let key = (self.0.id, page.size);
            let rows = super::loaders::keyed_loader::<_, CustomerOrdersLoader>(ctx)?
                .load_one(key)
                .await
                .map_err(AppError::internal)?
                .ok_or_else(|| AppError::internal("customer orders page missing"))?;
            let page = crate::domain::page::Page {
                items: rows.items.clone(),
                has_next: rows.has_next,
                has_previous: false,
                total: rows.total,
            };
            return Ok(connection_from(&cursors, page, |o| o.id, Order::new));
        }
        let filter = OrderQuery {
            customer_id: Some(self.0.id),
            ..Default::default()
        };
        let rows = service::orders::list(db(ctx), &filter, &page).await?;
        Ok(connection_from(&cursors, rows, |o| o.id, Order::new))
    }
    /// Logged contacts, oldest first.
    #[graphql(guard = "reads::<CustomerContact>()")]
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<CustomerContact>> {
        load_list::<ContactsByCustomerLoader, _, _>(ctx, self.0.id, CustomerContact).await
    }
}

pub struct CustomerContact(pub customer_contact::Model);

#[Object]
impl CustomerContact {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(guard = "reads::<Customer>()")]
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        load::<CustomerLoader>(ctx, self.0.customer_id)
            .await?
            .map(Customer)
            .ok_or_else(|| AppError::internal("contact without customer").into())
    }
    #[graphql(guard = "reads::<Order>()")]
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        let Some(id) = self.0.order_id else {
            return Ok(None);
        };
        Ok(load::<OrderLoader>(ctx, id).await?.map(Order::new))
    }
    async fn channel(&self) -> Result<ContactChannel> {
        Ok(parse_stored(&self.0.channel)?)
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn contacted_at(&self) -> Timestamp {
        self.0.contacted_at.into()
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn logged_by(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.logged_by).await
    }
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    #[graphql(guard = "reads::<Customer>()")]
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Customer>> {
        let id = parse_id(&id)?;
        Ok(service::customers::find(db(ctx), id).await?.map(Customer))
    }

    #[graphql(guard = "reads::<Customer>()")]
    async fn customer_by_email(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> Result<Option<Customer>> {
        let Ok(email) = Email::parse(&email) else {
            return Ok(None);
        };
        Ok(service::customers::find_by_email(db(ctx), &email)
            .await?
            .map(Customer))
    }

    /// Newest first; `search` matches the name or the email,
    /// case-insensitively (for ANALYST, whose emails are masked, only a
    /// whole email address matches).
    #[graphql(guard = "reads::<Customer>()")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> Result<PageConnection<Customer>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let search = search
            .as_deref()
            .map(|s| CustomerSearch::parse(s, sees_contact_details(ctx)))
            .transpose()?
            .flatten();
        let rows = service::customers::list(db(ctx), search.as_ref(), &page).await?;
        Ok(connection_from(&cursors, rows, |c| c.id, Customer))
    }
}

#[derive(InputObject)]
pub struct LogContactInput {
    customer_id: ID,
    order_id: Option<ID>,
    channel: ContactChannel,
    summary: String,
    contacted_at: Option<Timestamp>,
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Records that the customer contacted the shop (evidence of prior contact).
    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn log_contact(
        &self,
        ctx: &Context<'_>,
        input: LogContactInput,
    ) -> Result<CustomerContact> {
        let new = service::contacts::NewContact {
            customer_id: parse_id(&input.customer_id)?,
            order_id: input.order_id.as_ref().map(parse_id).transpose()?,
            channel: input.channel,
            summary: input.summary,
            contacted_at: input.contacted_at.map(|t| t.0),
        };
        let model = service::contacts::log(db(ctx), &request_context(ctx), new).await?;
        Ok(CustomerContact(model))
    }

    /// Lets a restricted customer order again (ADMIN, note required).
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn lift_customer_restriction(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        note: String,
    ) -> Result<Customer> {
        let id = parse_id(&customer_id)?;
        let model =
            service::customers::lift_restriction(db(ctx), &request_context(ctx), id, &note).await?;
        Ok(Customer(model))
    }
}
