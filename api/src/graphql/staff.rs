//! Staff accounts and login.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use uuid::Uuid;

use entity::staff;

use super::access::reads;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, principal, request_context, scope, ClientAddr};
use super::loaders::{load, StaffLoader};
use super::scalars::Timestamp;
use crate::auth::guard::roles;
use crate::auth::jwt::TokenService;
use crate::auth::RoleGuard;
use crate::domain::email::mask_email;
use crate::domain::{Role, RoleSet};
use crate::error::AppError;
use crate::service;

/// A staff account as clients see it (never the password hash).
pub struct Staff(pub staff::Model);

#[Object]
impl Staff {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// ADMIN and the staff member themselves see the address; everyone
    /// else sees it masked (the name says who it is).
    async fn email(&self, ctx: &Context<'_>) -> String {
        let full = match principal(ctx).ok() {
            Some(p) => p.staff_id == self.0.id || p.has_any(roles::ADMIN),
            // No caller yet: only `login` returns staff then, to the person
            // who just proved the password.
            None => true,
        };
        if full {
            self.0.email.clone()
        } else {
            mask_email(&self.0.email)
        }
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn roles(&self) -> Result<Vec<Role>> {
        Ok(service::staff::roles_of(&self.0)?.as_slice().to_vec())
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

/// Loads the staff member behind an optional foreign key, batched.
pub async fn load_staff(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<Staff>> {
    let Some(id) = id else { return Ok(None) };
    Ok(load::<StaffLoader>(ctx, id).await?.map(Staff))
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    token: String,
    expires_at: Timestamp,
    staff: Staff,
}

#[derive(InputObject)]
pub struct CreateStaffInput {
    email: String,
    name: String,
    password: String,
    roles: Vec<Role>,
}

#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// The signed-in staff member.
    #[graphql(guard = "reads::<Staff>()")]
    async fn me(&self, ctx: &Context<'_>) -> Result<Staff> {
        let me = principal(ctx)?;
        let found = service::staff::find(db(ctx), me.staff_id).await?;
        Ok(Staff(found.ok_or(AppError::Unauthenticated)?))
    }

    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn staff(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PageConnection<Staff>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let rows = service::staff::list(db(ctx), &page).await?;
        Ok(connection_from(&cursors, rows, |s| s.id, Staff))
    }
}

#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Exchanges email and password for an access token.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<AuthPayload> {
        let tokens = ctx.data_unchecked::<std::sync::Arc<TokenService>>();
        let client = scope(ctx)
            .map_or(ClientAddr(None), |s| s.client)
            .to_string();
        let (issued, staff) =
            service::staff::login(db(ctx), tokens, &email, &password, &client).await?;
        Ok(AuthPayload {
            token: issued.token,
            expires_at: issued.expires_at.into(),
            staff: Staff(staff),
        })
    }

    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn create_staff(&self, ctx: &Context<'_>, input: CreateStaffInput) -> Result<Staff> {
        let new = service::staff::NewStaff::parse(
            &input.email,
            &input.name,
            &input.password,
            &input.roles,
        )?;
        let created = service::staff::create(db(ctx), &request_context(ctx), new).await?;
        Ok(Staff(created))
    }

    /// Replaces a staff member's roles; their existing tokens stop working.
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn set_staff_roles(
        &self,
        ctx: &Context<'_>,
        staff_id: ID,
        roles: Vec<Role>,
    ) -> Result<Staff> {
        let id = parse_id(&staff_id)?;
        let roles = RoleSet::parse(&roles).map_err(AppError::bad_input)?;
        let updated = service::staff::set_roles(db(ctx), &request_context(ctx), id, roles).await?;
        Ok(Staff(updated))
    }

    /// Signs the caller out everywhere: every token issued to them so far
    /// stops working, on every server, from the next request.
    #[graphql(guard = "RoleGuard::authenticated()")]
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let me = principal(ctx)?.staff_id;
        service::staff::revoke_tokens(db(ctx), &request_context(ctx), me).await?;
        Ok(true)
    }

    /// Deactivates an account; its tokens are revoked at once.
    #[graphql(guard = "RoleGuard::any(roles::ADMIN)")]
    async fn deactivate_staff(&self, ctx: &Context<'_>, staff_id: ID) -> Result<Staff> {
        let id = parse_id(&staff_id)?;
        let updated = service::staff::deactivate(db(ctx), &request_context(ctx), id).await?;
        Ok(Staff(updated))
    }
}
