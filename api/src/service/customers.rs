//! Customers: upserted by the storefront's orders, read by staff.

use crate::service::db::Db;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use entity::customer;

use super::db::{begin_write, lock_by_id};
use super::page::{fetch_page, SortOrder};
use super::sql::like_escape;
use super::text::filter_text;
use super::{audit, events, new_id, now, RequestContext};
use crate::domain::enums::EventType;
use crate::domain::page::{Page, PageRequest};
use crate::domain::{Email, Phone};
use crate::error::{AppError, AppResult};

pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<customer::Model>> {
    Ok(customer::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &Email,
) -> AppResult<Option<customer::Model>> {
    Ok(customer::Entity::find()
        .filter(customer::Column::Email.eq(email.as_str()))
        .one(conn)
        .await?)
}

/// Finds the customer by email or creates them, inside the caller's
/// transaction. Name and phone are updated when given. A restricted customer
/// is refused before anything is written.
pub async fn upsert_for_order<C: ConnectionTrait>(
    conn: &C,
    email: &Email,
    name: Option<&str>,
    phone: Option<&Phone>,
) -> AppResult<customer::Model> {
    let at = now();
    if let Some(existing) = find_by_email(conn, email).await? {
        if existing.restricted {
            return Err(AppError::CustomerRestricted);
        }
        let name_changed = name.is_some_and(|n| existing.name.as_deref() != Some(n));
        let phone_changed = phone.is_some_and(|p| existing.phone.as_deref() != Some(p.as_str()));
        if !name_changed && !phone_changed {
            return Ok(existing);
        }
        let mut model = existing.into_active_model();
        if let Some(n) = name {
            model.name = Set(Some(n.to_string()));
        }
        if let Some(p) = phone {
            model.phone = Set(Some(p.as_str().to_string()));
        }
        model.updated_at = Set(at);
        return Ok(model.update(conn).await?);
    }
    let model = customer::ActiveModel {
        id: Set(new_id()),
        email: Set(email.as_str().to_string()),
        name: Set(name.map(str::to_string)),
        phone: Set(phone.map(|p| p.as_str().to_string())),
        restricted: Set(false),
        restriction_reason: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    // A concurrent order for the same new customer may have inserted first:
    // do nothing on the duplicate and read the winner's row.
    customer::Entity::insert(model)
        .on_conflict_do_nothing_on([customer::Column::Email])
        .exec_without_returning(conn)
        .await?;
    let stored = find_by_email(conn, email)
        .await?
        .ok_or_else(|| AppError::internal("customer vanished after upsert"))?;
    if stored.restricted {
        return Err(AppError::CustomerRestricted);
    }
    Ok(stored)
}

/// What `customers(search:)` matches.
pub struct CustomerSearch {
    /// Trimmed, 1 to [`MAX_FILTER_TEXT`](crate::service::text::MAX_FILTER_TEXT) characters.
    pub text: String,
    /// Whether the caller sees email addresses: then any part of an email
    /// matches; otherwise only a whole address does, so the search cannot
    /// be used to recover a masked address character by character.
    pub partial_emails: bool,
}

impl CustomerSearch {
    pub fn parse(text: &str, partial_emails: bool) -> AppResult<Option<Self>> {
        Ok(
            filter_text(Some(text), "search")?.map(|text| CustomerSearch {
                text,
                partial_emails,
            }),
        )
    }
}

/// Customers whose name (or email, see [`CustomerSearch`]) contains the
/// search text, case-insensitively; newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    search: Option<&CustomerSearch>,
    page: &PageRequest,
) -> AppResult<Page<customer::Model>> {
    let mut q = customer::Entity::find();
    if let Some(search) = search {
        let pattern = format!("%{}%", like_escape(&search.text.to_lowercase()));
        let name = Expr::expr(Func::lower(Expr::col(customer::Column::Name)))
            .like(LikeExpr::new(&pattern).escape('\\'));
        let email = if search.partial_emails {
            Expr::col(customer::Column::Email).like(LikeExpr::new(&pattern).escape('\\'))
        } else {
            // Stored addresses are normalised: compare with the normalised
            // search text, or with nothing when it is not an address.
            let whole = Email::parse(&search.text).map(|e| e.as_str().to_string());
            Expr::col(customer::Column::Email).eq(whole.unwrap_or_default())
        };
        q = q.filter(Condition::any().add(email).add(name));
    }
    Ok(fetch_page(conn, q, customer::Column::Id, SortOrder::NewestFirst, page).await?)
}

/// Lifts a chargeback restriction (ADMIN), with the reason in the audit log.
pub async fn lift_restriction(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    note: &str,
) -> AppResult<customer::Model> {
    let note = super::text::required_text(note, "note")?;
    let txn = begin_write(db).await?;
    let current = lock_by_id::<customer::Entity, _>(&txn, id, "customer").await?;
    if !current.restricted {
        return Err(AppError::InvalidTransition(
            "the customer is not restricted".into(),
        ));
    }
    let reason = current.restriction_reason.clone();
    let mut model = current.into_active_model();
    model.restricted = Set(false);
    model.restriction_reason = Set(None);
    model.updated_at = Set(now());
    let model = model.update(&txn).await?;
    events::record(&txn, ctx, EventType::CustomerRestrictionLifted, &model).await?;
    audit::record(
        &txn,
        ctx,
        "customer.lift_restriction",
        "customer",
        id,
        json!({ "note": note, "previousReason": reason }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}
