//! Refund claims: the heart of the back office.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, Upload, ID};

use entity::{claim_event, claim_evidence, refund_claim};

use super::access::reads;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::customers::Customer;
use super::eager::Eager;
use super::loaders::{
    load, load_list, CustomerLoader, EventsByClaimLoader, EvidenceByClaimLoader, OrderLoader,
    PayoutsByClaimLoader,
};
use super::money::{money, MoneyInput, MoneyObject};
use super::orders::Order;
use super::payouts::Payout;
use super::policy::EligibilityAssessment;
use super::row_shape::{claim_shape, claims_page_shape};
use super::scalars::Timestamp;
use super::staff::{load_staff, Staff};
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{
    parse_stored, ClaimReason, ClaimStatus, ContactChannel, Eligibility, EvidenceKind,
    RejectionReason,
};
use crate::domain::{Email, Money};
use crate::error::{AppError, AppResult};
use crate::service::approval::{self, Approval};
use crate::service::claim_list::{self, ClaimOrder, ClaimQuery, ClaimRow, Joined};
use crate::service::claims::{self, NewClaim, NewEvidence};
use crate::service::evidence::{self, EvidenceSettings};
use crate::service::text::{exact_filter, optional_note, optional_text, MAX_TEXT};

/// A refund claim (`RefundClaim` in the schema). A claims page row also
/// carries what its statement read beside the claim (see `row_shape`); its
/// models hold only the columns the query's fields need, which is why they
/// stay here instead of going to the loaders.
pub struct Claim(pub refund_claim::Model, Option<Arc<Joined>>);

impl Claim {
    pub fn new(model: refund_claim::Model) -> Self {
        Claim(model, None)
    }

    fn from_row(row: ClaimRow) -> Self {
        Claim(row.claim, Some(Arc::new(row.joined)))
    }

    fn joined(&self) -> Option<&Arc<Joined>> {
        self.1.as_ref()
    }
}

#[Object(name = "RefundClaim")]
impl Claim {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(guard = "reads::<Order>()")]
    async fn order(&self, ctx: &Context<'_>) -> Result<Eager<Order>> {
        if let Some(j) = self.joined() {
            if let Some(order) = j.order.as_ref().filter(|o| o.id == self.0.order_id) {
                return Ok(Eager(Order::joined(order.clone(), j.clone())));
            }
        }
        load::<OrderLoader>(ctx, self.0.order_id)
            .await?
            .map(|o| Eager(Order::new(o)))
            .ok_or_else(|| AppError::internal("claim without order").into())
    }
    #[graphql(guard = "reads::<Customer>()")]
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let joined = self.joined().and_then(|j| j.customer.as_ref());
        if let Some(c) = joined.filter(|c| c.id == self.0.customer_id) {
            return Ok(Customer(c.clone()));
        }
        load::<CustomerLoader>(ctx, self.0.customer_id)
            .await?
            .map(Customer)
            .ok_or_else(|| AppError::internal("claim without customer").into())
    }
    async fn reason(&self) -> Result<ClaimReason> {
        Ok(parse_stored(&self.0.reason)?)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn channel(&self) -> Result<ContactChannel> {
        Ok(parse_stored(&self.0.channel)?)
    }
    async fn status(&self) -> Result<ClaimStatus> {
        Ok(parse_stored(&self.0.status)?)
    }
    async fn requested_amount(&self) -> Result<MoneyObject> {
        Ok(money(self.0.requested_minor, &self.0.currency)?)
    }
    async fn approved_amount(&self) -> Result<Option<MoneyObject>> {
        Ok(self
            .0
            .approved_minor
            .map(|m| money(m, &self.0.currency))
            .transpose()?)
    }
    /// Taken at submission, under the policy version then in force.
    #[graphql(guard = "reads::<EligibilityAssessment>()")]
    async fn eligibility(&self) -> Result<Eager<EligibilityAssessment>> {
        Ok(Eager(EligibilityAssessment {
            outcome: parse_stored(&self.0.eligibility_outcome)?,
            rule: self.0.eligibility_rule.clone(),
            explanation: self.0.eligibility_explanation.clone(),
            suggested_amount: money(self.0.eligibility_suggested_minor, &self.0.currency)?,
            evidence_required: self.0.evidence_required,
            policy_version: self.0.policy_version,
        }))
    }
    #[graphql(guard = "reads::<Evidence>()")]
    async fn evidence(&self, ctx: &Context<'_>) -> Result<Vec<Evidence>> {
        load_list::<EvidenceByClaimLoader, _, _>(ctx, self.0.id, Evidence).await
    }
    /// Oldest first.
    #[graphql(guard = "reads::<ClaimEvent>()")]
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<ClaimEvent>> {
        load_list::<EventsByClaimLoader, _, _>(ctx, self.0.id, ClaimEvent).await
    }
    #[graphql(guard = "reads::<Payout>()")]
    async fn payouts(&self, ctx: &Context<'_>) -> Result<Vec<Eager<Payout>>> {
        if let Some(read) = self.joined().and_then(|j| j.payouts.as_ref()) {
            return Ok(read.iter().map(|p| Eager(Payout(p.clone()))).collect());
        }
        load_list::<PayoutsByClaimLoader, _, _>(ctx, self.0.id, |p| Eager(Payout(p))).await
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<Eager<Staff>>> {
        let staff = match self.joined().and_then(|j| j.assignee.as_ref()) {
            Some(read) if read.as_ref().map(|s| s.id) == self.0.assignee_id => {
                read.clone().map(Staff)
            }
            _ => load_staff(ctx, self.0.assignee_id).await?,
        };
        Ok(staff.map(Eager))
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn submitted_by(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.submitted_by).await
    }
    async fn submitted_at(&self) -> Timestamp {
        self.0.submitted_at.into()
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn decided_by(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.decided_by).await
    }
    async fn decided_at(&self) -> Option<Timestamp> {
        self.0.decided_at.map(Timestamp)
    }
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
    async fn rejection_reason(&self) -> Result<Option<RejectionReason>> {
        Ok(self
            .0
            .rejection_reason
            .as_deref()
            .map(parse_stored)
            .transpose()?)
    }
    async fn override_reason(&self) -> Option<&str> {
        self.0.override_reason.as_deref()
    }
    /// Bumps on every change; pass it as expectedVersion.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

pub struct Evidence(pub claim_evidence::Model);

#[Object]
impl Evidence {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> Result<EvidenceKind> {
        Ok(parse_stored(&self.0.kind)?)
    }
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn added_by(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.added_by).await
    }
    async fn added_at(&self) -> Timestamp {
        self.0.added_at.into()
    }
    /// The uploaded file, when this evidence is one.
    async fn file(&self) -> Option<EvidenceFile> {
        let e = &self.0;
        match (&e.file_name, &e.content_type, e.file_size, &e.sha256) {
            (Some(name), Some(content_type), Some(size), Some(sha256)) => Some(EvidenceFile {
                file_name: name.clone(),
                content_type: content_type.clone(),
                size: i32::try_from(size).unwrap_or(i32::MAX),
                sha256: sha256.clone(),
                download_url: format!("/evidence/{}/file", e.id),
            }),
            _ => None,
        }
    }
}

/// An uploaded evidence file's metadata; its bytes are at `downloadUrl`.
#[derive(SimpleObject)]
pub struct EvidenceFile {
    /// Sanitised, with the extension of the detected type.
    file_name: String,
    /// Detected from the file's bytes, not the client's claim.
    content_type: String,
    /// Bytes.
    size: i32,
    /// Hex.
    sha256: String,
    /// A relative path; needs the Bearer token.
    download_url: String,
}

pub struct ClaimEvent(pub claim_event::Model);

#[Object]
impl ClaimEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// submitted, assigned, info_requested, evidence_added, note_added,
    /// first_approval, approved, second_approval, rejected, withdrawn, payout_*, refunded.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.actor_id).await
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
}

#[derive(InputObject, Default)]
pub struct ClaimFilter {
    status: Option<Vec<ClaimStatus>>,
    reason: Option<Vec<ClaimReason>>,
    eligibility: Option<Vec<Eligibility>>,
    submitted_from: Option<Timestamp>,
    submitted_to: Option<Timestamp>,
    customer_email: Option<String>,
    order_number: Option<String>,
    assignee_id: Option<ID>,
}

impl TryFrom<ClaimFilter> for ClaimQuery {
    type Error = AppError;

    fn try_from(f: ClaimFilter) -> AppResult<Self> {
        Ok(ClaimQuery {
            status: f.status.unwrap_or_default(),
            reason: f.reason.unwrap_or_default(),
            eligibility: f.eligibility.unwrap_or_default(),
            submitted_from: f.submitted_from.map(|t| t.0),
            submitted_to: f.submitted_to.map(|t| t.0),
            customer_email: f
                .customer_email
                .map(|e| Email::parse(&e).map_err(|e| AppError::bad_input(e.to_string())))
                .transpose()?,
            order_number: exact_filter(f.order_number, "orderNumber")?,
            assignee_id: f.assignee_id.as_ref().map(parse_id).transpose()?,
        })
    }
}

#[derive(Default)]
pub struct ClaimQueryRoot;

#[Object]
impl ClaimQueryRoot {
    #[graphql(guard = "reads::<Claim>()")]
    async fn claim(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Claim>> {
        let id = parse_id(&id)?;
        let row = claim_list::find_with_relations(db(ctx), id, &claim_shape(ctx)).await?;
        Ok(row.map(Claim::from_row))
    }

    #[graphql(guard = "reads::<Claim>()")]
    #[allow(clippy::too_many_arguments)]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ClaimFilter>,
        sort: Option<ClaimOrder>,
    ) -> Result<PageConnection<Claim>> {
        let (page, cursors) = page_request(ctx, first, after, last, before)?;
        let filter = ClaimQuery::try_from(filter.unwrap_or_default())?;
        let shape = claims_page_shape(ctx);
        let page = claim_list::list_with_relations(
            db(ctx),
            &filter,
            sort.unwrap_or_default(),
            &page,
            &shape,
        )
        .await?;
        Ok(connection_from(
            &cursors,
            page,
            |r| r.claim.id,
            Claim::from_row,
        ))
    }
}

#[derive(InputObject)]
pub struct SubmitClaimInput {
    order_id: ID,
    reason: ClaimReason,
    description: String,
    channel: ContactChannel,
    /// Default: the order's refundable amount.
    requested_amount: Option<MoneyInput>,
    /// Default: now; lets staff enter a claim received earlier: not in the
    /// future, not before the order was placed, at most 30 days back.
    submitted_at: Option<Timestamp>,
}

#[derive(InputObject)]
pub struct EvidenceInput {
    kind: EvidenceKind,
    url: Option<String>,
    text: Option<String>,
    /// A screenshot or log, sent as a multipart request (the GraphQL
    /// multipart request spec): PNG, JPEG, WebP, GIF, PDF or UTF-8 text.
    file: Option<Upload>,
}

#[derive(InputObject)]
pub struct ApproveClaimInput {
    claim_id: ID,
    /// Default: eligibility.suggestedAmount when > 0, else requestedAmount.
    amount: Option<MoneyInput>,
    note: Option<String>,
    /// Required when eligibility is NOT_ELIGIBLE, or evidence is required but missing.
    override_reason: Option<String>,
    expected_version: Option<i32>,
    idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct RejectClaimInput {
    claim_id: ID,
    reason: RejectionReason,
    note: String,
    expected_version: Option<i32>,
}

#[derive(Default)]
pub struct ClaimMutation;

#[Object]
impl ClaimMutation {
    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn submit_claim(&self, ctx: &Context<'_>, input: SubmitClaimInput) -> Result<Claim> {
        let new = NewClaim {
            order_id: parse_id(&input.order_id)?,
            reason: input.reason,
            description: input.description,
            channel: input.channel,
            requested: input.requested_amount.map(Money::try_from).transpose()?,
            submitted_at: input.submitted_at.map(|t| t.0),
        };
        let backdating = ctx
            .data::<claims::Backdating>()
            .copied()
            .unwrap_or_default();
        Ok(Claim::new(
            claims::submit(db(ctx), &request_context(ctx), new, backdating).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn assign_claim(
        &self,
        ctx: &Context<'_>,
        claim_id: ID,
        assignee_id: ID,
    ) -> Result<Claim> {
        let (id, assignee) = (parse_id(&claim_id)?, parse_id(&assignee_id)?);
        Ok(Claim::new(
            claims::assign(db(ctx), &request_context(ctx), id, assignee).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn request_claim_info(
        &self,
        ctx: &Context<'_>,
        claim_id: ID,
        message: String,
    ) -> Result<Claim> {
        let id = parse_id(&claim_id)?;
        Ok(Claim::new(
            claims::request_info(db(ctx), &request_context(ctx), id, &message).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn add_claim_evidence(
        &self,
        ctx: &Context<'_>,
        claim_id: ID,
        input: EvidenceInput,
    ) -> Result<Claim> {
        let id = parse_id(&claim_id)?;
        let mut evidence = NewEvidence {
            kind: input.kind,
            url: optional_text(input.url, "url", 2048)?,
            text: input.text.filter(|t| !t.trim().is_empty()),
            file: None,
        };
        if input.file.is_some() {
            // Everything cheap first: a refused request stores no file.
            claims::check_evidence(db(ctx), id, &evidence, true).await?;
        }
        evidence.file = match input.file {
            Some(upload) => {
                let value = upload
                    .value(ctx)
                    .map_err(|_| AppError::bad_input("the file was not sent with the request"))?;
                let settings = ctx
                    .data::<Arc<EvidenceSettings>>()
                    .map_err(|_| AppError::internal("the evidence store is not registered"))?;
                let upload = evidence::Upload {
                    file_name: value.filename,
                    file: value.content,
                };
                // Stored before the row is written; the row commits after.
                Some(evidence::accept(&settings.store, settings.max_bytes, upload).await?)
            }
            None => None,
        };
        Ok(Claim::new(
            claims::add_evidence(db(ctx), &request_context(ctx), id, evidence).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn add_claim_note(&self, ctx: &Context<'_>, claim_id: ID, note: String) -> Result<Claim> {
        let id = parse_id(&claim_id)?;
        Ok(Claim::new(
            claims::add_note(db(ctx), &request_context(ctx), id, &note).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::CLAIM_HANDLERS)")]
    async fn withdraw_claim(&self, ctx: &Context<'_>, claim_id: ID, note: String) -> Result<Claim> {
        let id = parse_id(&claim_id)?;
        Ok(Claim::new(
            claims::withdraw(db(ctx), &request_context(ctx), id, &note).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::DECIDERS)")]
    async fn approve_claim(&self, ctx: &Context<'_>, input: ApproveClaimInput) -> Result<Claim> {
        let approval = Approval {
            claim_id: parse_id(&input.claim_id)?,
            amount: input.amount.map(Money::try_from).transpose()?,
            note: optional_note(input.note, "note", MAX_TEXT)?,
            override_reason: optional_note(input.override_reason, "overrideReason", MAX_TEXT)?,
            expected_version: input.expected_version,
            idempotency_key: input.idempotency_key,
        };
        Ok(Claim::new(
            approval::approve(db(ctx), &request_context(ctx), approval).await?,
        ))
    }

    #[graphql(guard = "RoleGuard::any(roles::DECIDERS)")]
    async fn reject_claim(&self, ctx: &Context<'_>, input: RejectClaimInput) -> Result<Claim> {
        let id = parse_id(&input.claim_id)?;
        let claim = claims::reject(
            db(ctx),
            &request_context(ctx),
            id,
            input.reason,
            &input.note,
            input.expected_version,
        )
        .await?;
        Ok(Claim::new(claim))
    }
}
