//! Refund claims: submission and every step of the lifecycle but approval
//! (see `approval.rs`). Each change locks the claim row, bumps `version`,
//! appends a claim event and an audit entry, in one transaction.

use crate::service::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use serde_json::{json, Value};
use uuid::Uuid;

use entity::{claim_event, claim_evidence, refund_claim, staff};

use super::db::{begin_write, duplicate_is_conflict, lock_by_id, WriteTxn};
use super::eligibility::assess_order;
use super::events;
use super::orders::{self, not_in_future};
use super::text::required_text;
use super::{audit, new_id, now, policy, RequestContext};
use crate::domain::claim::{next_status, ClaimAction};
use crate::domain::enums::EventType;
use crate::domain::enums::{
    parse_stored, ClaimReason, ClaimStatus, ContactChannel, EvidenceKind, RejectionReason,
};
use crate::domain::{Money, Role, RoleSet};
use crate::error::{AppError, AppResult};

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> AppResult<Option<refund_claim::Model>> {
    Ok(refund_claim::Entity::find_by_id(id).one(conn).await?)
}

/// Locks the claim row for the rest of the transaction.
pub async fn lock<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<refund_claim::Model> {
    lock_by_id::<refund_claim::Entity, _>(conn, id, "claim").await
}

/// A stale `expectedVersion` is a CONFLICT: someone changed the claim since
/// the client read it.
pub fn check_version(claim: &refund_claim::Model, expected: Option<i32>) -> AppResult<()> {
    match expected {
        // Versions start at 1: anything lower is malformed, not stale.
        Some(v) if v < 1 => Err(AppError::bad_input("expectedVersion must be at least 1")),
        Some(v) if v != claim.version => Err(AppError::Conflict(format!(
            "the claim changed (version {} now, {v} expected); reload it",
            claim.version
        ))),
        _ => Ok(()),
    }
}

pub fn status_of(claim: &refund_claim::Model) -> AppResult<ClaimStatus> {
    parse_stored(&claim.status)
}

/// The next status for `action`, or INVALID_TRANSITION.
pub fn transition(claim: &refund_claim::Model, action: ClaimAction) -> AppResult<ClaimStatus> {
    next_status(status_of(claim)?, action).map_err(|e| AppError::InvalidTransition(e.to_string()))
}

/// Appends a claim event.
pub async fn record_event<C: ConnectionTrait>(
    conn: &C,
    claim_id: Uuid,
    kind: &str,
    actor: Option<Uuid>,
    note: Option<String>,
) -> AppResult<()> {
    claim_event::Entity::insert(claim_event::ActiveModel {
        id: Set(new_id()),
        claim_id: Set(claim_id),
        kind: Set(kind.to_string()),
        actor_id: Set(actor),
        note: Set(note),
        at: Set(now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// One claim change: what the timeline, the audit log and the outbox say
/// about it.
pub struct Change<'a> {
    /// The outbox event (the claim after the change is its data).
    pub kind: EventType,
    /// The claim's own timeline entry.
    pub event: &'a str,
    pub note: Option<String>,
    pub audit_action: &'a str,
    pub details: Value,
    /// Added to the event's data beside the claim (e.g. the evidence just
    /// added, with its file's metadata).
    pub event_extra: Option<(&'static str, Value)>,
}

/// Saves `model` with a bumped version, appends the event and the audit
/// entry, and commits.
pub async fn save(
    txn: WriteTxn,
    ctx: &RequestContext,
    current: &refund_claim::Model,
    mut model: refund_claim::ActiveModel,
    change: Change<'_>,
) -> AppResult<refund_claim::Model> {
    model.version = Set(current.version + 1);
    model.updated_at = Set(now());
    let saved = model.update(&txn).await?;
    record_event(&txn, current.id, change.event, ctx.actor, change.note).await?;
    let mut details = change.details;
    if let Value::Object(map) = &mut details {
        map.insert("from".into(), json!(current.status));
        map.insert("to".into(), json!(saved.status));
    }
    audit::record(&txn, ctx, change.audit_action, "claim", current.id, details).await?;
    match change.event_extra {
        Some((key, value)) => {
            let subject = events::Extended {
                subject: &saved,
                key,
                value,
            };
            events::record(&txn, ctx, change.kind, &subject).await?;
        }
        None => events::record(&txn, ctx, change.kind, &saved).await?,
    }
    txn.commit().await?;
    Ok(saved)
}

/// How many days back `submittedAt` may be set, to enter a request received
/// earlier (DESIGN.md, claim lifecycle: 30; `CLAIM_BACKDATE_DAYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backdating(pub u32);

impl Default for Backdating {
    fn default() -> Self {
        Backdating(30)
    }
}

/// A validated claim submission.
pub struct NewClaim {
    pub order_id: Uuid,
    pub reason: ClaimReason,
    pub description: String,
    pub channel: ContactChannel,
    pub requested: Option<Money>,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// Submits a claim: one open claim per order (the database enforces it),
/// assessed under the policy in force at submission, pinned on the claim.
#[tracing::instrument(skip(db, new), fields(order_id = %new.order_id))]
pub async fn submit(
    db: &Db,
    ctx: &RequestContext,
    new: NewClaim,
    backdating: Backdating,
) -> AppResult<refund_claim::Model> {
    let description = required_text(&new.description, "description")?;
    // Malformed amounts are refused before the order's state is read.
    if new.requested.is_some_and(|m| !m.is_positive()) {
        return Err(AppError::bad_input(
            "requestedAmount must be greater than zero",
        ));
    }
    let entered_at = now();
    let submitted_at = new.submitted_at.unwrap_or(entered_at);
    not_in_future(submitted_at, "submittedAt")?;
    if submitted_at < entered_at - chrono::Duration::days(i64::from(backdating.0)) {
        return Err(AppError::bad_input(format!(
            "submittedAt may lie at most {} days in the past",
            backdating.0
        )));
    }
    let txn = begin_write(db).await?;
    let order = orders::lock(&txn, new.order_id).await?;
    if submitted_at < order.placed_at {
        return Err(AppError::bad_input(
            "submittedAt must not lie before the order was placed",
        ));
    }
    let open = refund_claim::Entity::find()
        .filter(refund_claim::Column::OpenOrderId.eq(order.id))
        .one(&txn)
        .await?;
    if open.is_some() {
        return Err(AppError::Conflict(
            "the order already has an open claim".into(),
        ));
    }
    let policy_row = policy::in_force_at(&txn, submitted_at).await?;
    let rules = policy::rules_of(&policy_row)?;
    let (assessment, refundable) =
        assess_order(&txn, &order, new.reason, submitted_at, &rules).await?;
    let requested = match new.requested {
        Some(m) => {
            if m.currency().code() != order.currency {
                return Err(AppError::bad_input(format!(
                    "requestedAmount must be in {}",
                    order.currency
                )));
            }
            m.minor()
        }
        None => refundable,
    };
    if requested > refundable || requested <= 0 {
        return Err(AppError::RefundLimitExceeded(format!(
            "at most {refundable} minor units of {} are still refundable on this order",
            order.currency
        )));
    }
    let id = new_id();
    let at = entered_at;
    let model = refund_claim::ActiveModel {
        id: Set(id),
        order_id: Set(order.id),
        customer_id: Set(order.customer_id),
        reason: Set(new.reason.as_str().to_string()),
        description: Set(description),
        channel: Set(new.channel.as_str().to_string()),
        status: Set(ClaimStatus::Submitted.as_str().to_string()),
        requested_minor: Set(requested),
        approved_minor: Set(None),
        currency: Set(order.currency.clone()),
        eligibility_outcome: Set(assessment.outcome.as_str().to_string()),
        eligibility_rule: Set(assessment.rule.as_str().to_string()),
        eligibility_explanation: Set(assessment.explanation.clone()),
        eligibility_suggested_minor: Set(assessment.suggested_minor),
        evidence_required: Set(assessment.evidence_required),
        policy_version: Set(assessment.policy_version),
        assignee_id: Set(None),
        submitted_by: Set(ctx.actor),
        submitted_at: Set(submitted_at),
        first_approver_id: Set(None),
        first_approved_minor: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        decision_note: Set(None),
        rejection_reason: Set(None),
        override_reason: Set(None),
        version: Set(1),
        open_order_id: Set(Some(order.id)),
        created_at: Set(at),
        updated_at: Set(at),
    };
    refund_claim::Entity::insert(model)
        .exec_without_returning(&txn)
        .await
        .map_err(duplicate_is_conflict("the order already has an open claim"))?;
    // A request received earlier and entered now keeps both times, so the
    // backdating can be reviewed.
    let backdated = submitted_at < entered_at;
    let note = backdated.then(|| {
        format!(
            "received {}, entered {}",
            submitted_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            entered_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    });
    record_event(&txn, id, "submitted", ctx.actor, note).await?;
    let mut details = json!({ "orderId": order.id, "reason": new.reason.as_str(), "requested": requested, "eligibility": assessment.outcome.as_str(), "rule": assessment.rule.as_str(), "policyVersion": assessment.policy_version });
    if backdated {
        details["submittedAt"] = json!(submitted_at);
        details["enteredAt"] = json!(entered_at);
    }
    audit::record(&txn, ctx, "claim.submit", "claim", id, details).await?;
    let created = lock(&txn, id).await?;
    events::record(&txn, ctx, EventType::ClaimSubmitted, &created).await?;
    txn.commit().await?;
    Ok(created)
}

/// Assigns the claim to a staff member who handles or decides claims.
pub async fn assign(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    assignee: Uuid,
) -> AppResult<refund_claim::Model> {
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let to = transition(&current, ClaimAction::Assign)?;
    let person = staff::Entity::find_by_id(assignee)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::bad_input("the assignee does not exist"))?;
    let roles = RoleSet::from_stored(&person.roles).map_err(AppError::internal)?;
    if !person.active || !roles.any_of(&[Role::Admin, Role::RefundManager, Role::SupportAgent]) {
        return Err(AppError::bad_input(
            "the assignee must be active staff who handle claims",
        ));
    }
    let mut model = current.clone().into_active_model();
    model.assignee_id = Set(Some(assignee));
    model.status = Set(to.as_str().to_string());
    let change = Change {
        kind: EventType::ClaimAssigned,
        event: "assigned",
        note: None,
        audit_action: "claim.assign",
        details: json!({ "assigneeId": assignee }),
        event_extra: None,
    };
    save(txn, ctx, &current, model, change).await
}

/// SUBMITTED | UNDER_REVIEW → NEEDS_INFO, with the message for the customer.
pub async fn request_info(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    message: &str,
) -> AppResult<refund_claim::Model> {
    let message = required_text(message, "message")?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let to = transition(&current, ClaimAction::RequestInfo)?;
    let mut model = current.clone().into_active_model();
    model.status = Set(to.as_str().to_string());
    let change = Change {
        kind: EventType::ClaimInfoRequested,
        event: "info_requested",
        note: Some(message),
        audit_action: "claim.request_info",
        details: json!({}),
        event_extra: None,
    };
    save(txn, ctx, &current, model, change).await
}

/// A validated piece of evidence: a kind and a URL, a text or a stored
/// file (any of them, at least one).
pub struct NewEvidence {
    pub kind: EvidenceKind,
    pub url: Option<String>,
    pub text: Option<String>,
    /// Already checked and stored (`service::evidence::accept`).
    pub file: Option<super::evidence::StoredUpload>,
}

impl NewEvidence {
    pub fn validate(&self) -> AppResult<()> {
        self.validate_fields(self.file.is_some())
    }

    /// The checks of [`Self::validate`], with `has_file` standing for a file
    /// not stored yet.
    fn validate_fields(&self, has_file: bool) -> AppResult<()> {
        if self.url.is_none() && self.text.is_none() && !has_file {
            return Err(AppError::bad_input(
                "evidence needs a url, a text or a file",
            ));
        }
        if let Some(url) = &self.url {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://"))
                || url.len() > 2048
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(AppError::bad_input(
                    "url must be an http(s) URL of at most 2048 characters",
                ));
            }
        }
        if let Some(text) = &self.text {
            required_text(text, "text")?;
        }
        Ok(())
    }
}

/// The checks [`add_evidence`] will make, run before a file is stored so a
/// refused request stores nothing: the fields (a file coming counts), the
/// claim exists and can take evidence now. `add_evidence` checks again in
/// its transaction, where it counts.
pub async fn check_evidence<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    evidence: &NewEvidence,
    file_coming: bool,
) -> AppResult<()> {
    evidence.validate_fields(file_coming)?;
    let current = find(conn, id).await?.ok_or(AppError::NotFound("claim"))?;
    transition(&current, ClaimAction::AddEvidence)?;
    Ok(())
}

/// Adds evidence; NEEDS_INFO goes back to UNDER_REVIEW.
pub async fn add_evidence(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    evidence: NewEvidence,
) -> AppResult<refund_claim::Model> {
    evidence.validate()?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let to = transition(&current, ClaimAction::AddEvidence)?;
    let evidence_id = new_id();
    let file = evidence.file.clone();
    claim_evidence::Entity::insert(claim_evidence::ActiveModel {
        id: Set(evidence_id),
        claim_id: Set(id),
        kind: Set(evidence.kind.as_str().to_string()),
        url: Set(evidence.url),
        text: Set(evidence.text.map(|t| t.trim().to_string())),
        added_by: Set(ctx.actor),
        added_at: Set(now()),
        file_name: Set(file.as_ref().map(|f| f.file_name.clone())),
        content_type: Set(file.as_ref().map(|f| f.content_type.to_string())),
        file_size: Set(file.as_ref().map(|f| f.size)),
        sha256: Set(file.as_ref().map(|f| f.sha256.clone())),
    })
    .exec_without_returning(&txn)
    .await?;
    let mut model = current.clone().into_active_model();
    model.status = Set(to.as_str().to_string());
    let file = file.map(|f| {
        json!({
            "fileName": f.file_name,
            "contentType": f.content_type,
            "size": f.size,
            "sha256": f.sha256,
            "downloadUrl": format!("/evidence/{evidence_id}/file"),
        })
    });
    let change = Change {
        kind: EventType::ClaimEvidenceAdded,
        event: "evidence_added",
        note: None,
        audit_action: "claim.add_evidence",
        details: json!({ "evidenceId": evidence_id, "kind": evidence.kind.as_str(), "file": file }),
        // The evidence itself, with its file's metadata (never its bytes).
        event_extra: Some((
            "evidence",
            json!({ "id": evidence_id, "kind": evidence.kind.as_str(), "file": file }),
        )),
    };
    save(txn, ctx, &current, model, change).await
}

pub async fn add_note(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    note: &str,
) -> AppResult<refund_claim::Model> {
    let note = required_text(note, "note")?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    transition(&current, ClaimAction::AddNote)?;
    let model = current.clone().into_active_model();
    let change = Change {
        kind: EventType::ClaimNoteAdded,
        event: "note_added",
        note: Some(note),
        audit_action: "claim.add_note",
        details: json!({}),
        event_extra: None,
    };
    save(txn, ctx, &current, model, change).await
}

/// The customer no longer wants the refund.
pub async fn withdraw(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    note: &str,
) -> AppResult<refund_claim::Model> {
    let note = required_text(note, "note")?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let to = transition(&current, ClaimAction::Withdraw)?;
    let mut model = current.clone().into_active_model();
    model.status = Set(to.as_str().to_string());
    model.open_order_id = Set(None);
    let change = Change {
        kind: EventType::ClaimWithdrawn,
        event: "withdrawn",
        note: Some(note),
        audit_action: "claim.withdraw",
        details: json!({}),
        event_extra: None,
    };
    save(txn, ctx, &current, model, change).await
}

/// Rejects an open claim with a reason code and a note.
pub async fn reject(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    reason: RejectionReason,
    note: &str,
    expected_version: Option<i32>,
) -> AppResult<refund_claim::Model> {
    let note = required_text(note, "note")?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    check_version(&current, expected_version)?;
    let to = transition(&current, ClaimAction::Reject)?;
    let mut model = current.clone().into_active_model();
    model.status = Set(to.as_str().to_string());
    model.rejection_reason = Set(Some(reason.as_str().to_string()));
    model.decision_note = Set(Some(note.clone()));
    model.decided_by = Set(ctx.actor);
    model.decided_at = Set(Some(now()));
    model.open_order_id = Set(None);
    let change = Change {
        kind: EventType::ClaimRejected,
        event: "rejected",
        note: Some(note),
        audit_action: "claim.reject",
        details: json!({ "reason": reason.as_str() }),
        event_extra: None,
    };
    save(txn, ctx, &current, model, change).await
}
