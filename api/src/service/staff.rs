//! Staff accounts: creation, roles, deactivation, login and token checks.

use std::sync::OnceLock;

use crate::service::db::Db;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, Statement,
};
use serde_json::json;
use uuid::Uuid;

use entity::{login_attempt, staff};

use super::db::{begin_write, duplicate_is_conflict, lock_by_id};
use super::page::{fetch_page, SortOrder};
use super::throttle::{self, Counter};
use super::{audit, new_id, now, RequestContext};
use crate::auth::jwt::{IssuedToken, TokenService};
use crate::auth::{password, Principal};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{Email, Role, RoleSet};
use crate::error::{AppError, AppResult};

/// A validated request to create a staff account.
pub struct NewStaff {
    pub email: Email,
    pub name: String,
    pub password: String,
    pub roles: RoleSet,
}

impl NewStaff {
    pub fn parse(
        email: &str,
        name: &str,
        password: &str,
        roles: &[crate::domain::Role],
    ) -> AppResult<Self> {
        let email = Email::parse(email).map_err(|e| AppError::bad_input(e.to_string()))?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::bad_input("name must be 1 to 200 characters"));
        }
        password::validate_new(password)?;
        let roles = RoleSet::parse(roles).map_err(AppError::bad_input)?;
        Ok(NewStaff {
            email,
            name: name.to_string(),
            password: password.to_string(),
            roles,
        })
    }
}

/// Reads the roles of a stored row; a row that no longer parses is a bug, not
/// a client error.
pub fn roles_of(model: &staff::Model) -> AppResult<RoleSet> {
    RoleSet::from_stored(&model.roles).map_err(AppError::internal)
}

#[tracing::instrument(skip(db, new), fields(email = %new.email.as_str()))]
pub async fn create(db: &Db, ctx: &RequestContext, new: NewStaff) -> AppResult<staff::Model> {
    // Hash before the transaction: argon2 is slow and must not hold the write lock.
    let password_hash = password::hash(&new.password).await?;
    let txn = begin_write(db).await?;
    let exists = staff::Entity::find()
        .filter(staff::Column::Email.eq(new.email.as_str()))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(AppError::Conflict(
            "a staff member with this email already exists".into(),
        ));
    }
    let at = now();
    let model = staff::ActiveModel {
        id: Set(new_id()),
        email: Set(new.email.as_str().to_string()),
        name: Set(new.name),
        password_hash: Set(password_hash),
        roles: Set(new.roles.to_stored()),
        active: Set(true),
        token_version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let model = model.insert(&txn).await.map_err(duplicate_is_conflict(
        "a staff member with this email already exists",
    ))?;
    audit::record(
        &txn,
        ctx,
        "staff.create",
        "staff",
        model.id,
        json!({ "email": model.email, "roles": model.roles }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Locks the staff row for the rest of the transaction.
async fn find_for_update<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<staff::Model> {
    lock_by_id::<staff::Entity, _>(conn, id, "staff").await
}

/// The row as it will be saved with its token version moved on: every
/// token issued before stops working (`principal_for`).
fn revoking_tokens(current: staff::Model) -> staff::ActiveModel {
    let version = current.token_version;
    let mut model = current.into_active_model();
    model.token_version = Set(version + 1);
    model.updated_at = Set(now());
    model
}

/// Locks every active ADMIN row and returns their ids. Taken before the
/// target's own row, so two admins demoting each other at once queue here
/// instead of deadlocking, and the second sees the first one's change.
async fn lock_active_admins<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(staff::Entity::find()
        .select_only()
        .column(staff::Column::Id)
        .filter(staff::Column::Active.eq(true))
        .filter(staff::Column::Roles.like(format!("%{}%", Role::Admin.as_str())))
        .lock_exclusive()
        .into_tuple()
        .all(conn)
        .await?)
}

/// Refuses a change that would leave no active ADMIN (nobody could manage
/// staff or policy any more): CONFLICT.
fn keep_an_admin(admins: &[Uuid], losing: Uuid) -> AppResult<()> {
    if admins.iter().all(|a| *a == losing) {
        return Err(AppError::Conflict(
            "this is the last active ADMIN; give another staff member the ADMIN role first".into(),
        ));
    }
    Ok(())
}

/// Replaces the roles and revokes every token issued before.
#[tracing::instrument(skip(db))]
pub async fn set_roles(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    roles: RoleSet,
) -> AppResult<staff::Model> {
    let txn = begin_write(db).await?;
    let admins = lock_active_admins(&txn).await?;
    let current = find_for_update(&txn, id).await?;
    if current.active && admins.contains(&id) && !roles.contains(Role::Admin) {
        keep_an_admin(&admins, id)?;
    }
    let before = current.roles.clone();
    let mut model = revoking_tokens(current);
    model.roles = Set(roles.to_stored());
    let model = model.update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        "staff.set_roles",
        "staff",
        id,
        json!({ "before": before, "after": model.roles }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Deactivates an account and revokes its tokens at once. Staff cannot
/// deactivate themselves (that would lock the last admin out).
#[tracing::instrument(skip(db))]
pub async fn deactivate(db: &Db, ctx: &RequestContext, id: Uuid) -> AppResult<staff::Model> {
    if ctx.actor == Some(id) {
        return Err(AppError::bad_input(
            "you cannot deactivate your own account",
        ));
    }
    let txn = begin_write(db).await?;
    let admins = lock_active_admins(&txn).await?;
    let current = find_for_update(&txn, id).await?;
    if !current.active {
        return Err(AppError::InvalidTransition(
            "the staff member is already inactive".into(),
        ));
    }
    if admins.contains(&id) {
        keep_an_admin(&admins, id)?;
    }
    let mut model = revoking_tokens(current);
    model.active = Set(false);
    let model = model.update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        "staff.deactivate",
        "staff",
        id,
        serde_json::Value::Null,
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Revokes every token the staff member holds (`logout`): the token version
/// moves on, and `principal_for` refuses the old ones.
#[tracing::instrument(skip(db))]
pub async fn revoke_tokens(db: &Db, ctx: &RequestContext, id: Uuid) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let current = find_for_update(&txn, id).await?;
    revoking_tokens(current).update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        "staff.logout",
        "staff",
        id,
        serde_json::Value::Null,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    page: &PageRequest,
) -> AppResult<Page<staff::Model>> {
    Ok(fetch_page(
        conn,
        staff::Entity::find(),
        staff::Column::Id,
        SortOrder::OldestFirst,
        page,
    )
    .await?)
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<staff::Model>> {
    Ok(staff::Entity::find_by_id(id).one(conn).await?)
}

async fn record_attempt(db: &Db, email: &str, client_addr: &str, succeeded: bool) -> AppResult<()> {
    login_attempt::Entity::insert(login_attempt::ActiveModel {
        id: Set(new_id()),
        email: Set(email.to_string()),
        client_addr: Set(client_addr.to_string()),
        succeeded: Set(succeeded),
        at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Re-hashes a password made with older parameters, now that the login
/// proved it. Only if the stored hash is still the one verified: a password
/// changed meanwhile is not overwritten.
async fn upgrade_hash(db: &Db, staff: &staff::Model, password_given: &str) -> AppResult<()> {
    let upgraded = password::hash(password_given).await?;
    staff::Entity::update_many()
        .col_expr(staff::Column::PasswordHash, Expr::value(upgraded))
        .filter(staff::Column::Id.eq(staff.id))
        .filter(staff::Column::PasswordHash.eq(staff.password_hash.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Checks email and password. Unknown email, wrong password and inactive
/// account all give the same UNAUTHENTICATED and take the same time.
#[tracing::instrument(skip(db, tokens, password_given))]
pub async fn login(
    db: &Db,
    tokens: &TokenService,
    email: &str,
    password_given: &str,
    client_addr: &str,
) -> AppResult<(IssuedToken, staff::Model)> {
    // Oversized input is malformed, not a wrong password: refused before any
    // lookup or hashing (the limits are public, so this tells nothing).
    if email.len() > 4 * Email::MAX_LEN || password_given.len() > password::MAX_PASSWORD_BYTES {
        return Err(AppError::bad_input("email or password is too long"));
    }
    // Attempts are keyed by the normalised email, or the raw text when it
    // does not parse (those fail too, and count).
    let key: String = Email::parse(email)
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|_| email.trim().to_lowercase())
        .chars()
        .take(255)
        .collect();
    let client_addr: String = client_addr.chars().take(64).collect();
    // Both slots are taken before the hash runs (see `throttle`).
    let (by_email, by_address) = (Counter::email(&key), Counter::address(&client_addr));
    let at = now();
    if !throttle::reserve(db, &by_email, at).await? {
        return Err(AppError::RateLimited);
    }
    if !throttle::reserve(db, &by_address, at).await? {
        throttle::release(db, &by_email).await?;
        return Err(AppError::RateLimited);
    }
    let found = match Email::parse(email) {
        Ok(email) => {
            staff::Entity::find()
                .filter(staff::Column::Email.eq(email.as_str()))
                .one(db)
                .await?
        }
        Err(_) => None,
    };
    let hash = found.as_ref().map(|s| s.password_hash.as_str());
    let ok = password::verify(password_given, hash).await?;
    let staff = match found {
        Some(s) if ok && s.active => s,
        _ => {
            record_attempt(db, &key, &client_addr, false).await?;
            return Err(AppError::Unauthenticated);
        }
    };
    throttle::clear(db, &by_email).await?;
    throttle::release(db, &by_address).await?;
    record_attempt(db, &key, &client_addr, true).await?;
    if password::needs_rehash(&staff.password_hash) {
        // The login stands either way; the next one tries again.
        if let Err(err) = upgrade_hash(db, &staff, password_given).await {
            tracing::warn!(staff_id = %staff.id, cause = %err.describe(), "could not re-hash a password with today's parameters");
        }
    }
    let roles = roles_of(&staff)?;
    let issued = tokens
        .issue(staff.id, &roles, staff.token_version, chrono::Utc::now())
        .map_err(AppError::internal)?;
    Ok((issued, staff))
}

/// The principal for a verified token, or `None` when the account is gone,
/// inactive, or its tokens were revoked (token version moved on).
pub async fn principal_for<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    token_version: i32,
) -> AppResult<Option<Principal>> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            principal_sql(backend),
            [id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let active: bool = row.try_get_by_index(0)?;
    let version: i32 = row.try_get_by_index(1)?;
    let roles: String = row.try_get_by_index(2)?;
    if !active || version != token_version {
        return Ok(None);
    }
    Ok(Some(Principal {
        staff_id: id,
        roles: RoleSet::from_stored(&roles).map_err(AppError::internal)?,
    }))
}

/// The caller check's statement for `backend`, built once per process: every
/// request runs it, and building it anew (sea-orm's `find` lists all of the
/// table's columns before `select_only` drops them) cost more than decoding
/// its row (BENCHMARKS.md, the lookup). Only the three columns the check
/// needs, not the row with its password hash; the id is bound.
fn principal_sql(backend: DbBackend) -> &'static str {
    static BUILT: [OnceLock<String>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    BUILT[usize::from(crate::service::sql::backend_slot(backend))].get_or_init(|| {
        let stmt = Query::select()
            .columns([
                staff::Column::Active,
                staff::Column::TokenVersion,
                staff::Column::Roles,
            ])
            .from(staff::Entity)
            .and_where(staff::Column::Id.eq(Uuid::nil()))
            .to_owned();
        backend.build(&stmt).sql
    })
}
