//! SeaORM entities of Refund Desk (data only).

pub mod activation;
pub mod audit_log;
pub mod chargeback;
pub mod claim_event;
pub mod claim_evidence;
pub mod customer;
pub mod customer_contact;
pub mod event;
pub mod idempotency_key;
pub mod inbound_message;
pub mod inbound_message_body;
pub mod login_attempt;
pub mod login_throttle;
pub mod order;
pub mod payout;
pub mod policy_version;
pub mod product_plan;
pub mod refund_claim;
pub mod staff;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub mod prelude {
    pub use super::activation::Entity as Activation;
    pub use super::audit_log::Entity as AuditLog;
    pub use super::chargeback::Entity as Chargeback;
    pub use super::claim_event::Entity as ClaimEvent;
    pub use super::claim_evidence::Entity as ClaimEvidence;
    pub use super::customer::Entity as Customer;
    pub use super::customer_contact::Entity as CustomerContact;
    pub use super::event::Entity as Event;
    pub use super::idempotency_key::Entity as IdempotencyKey;
    pub use super::inbound_message::Entity as InboundMessage;
    pub use super::inbound_message_body::Entity as InboundMessageBody;
    pub use super::login_attempt::Entity as LoginAttempt;
    pub use super::login_throttle::Entity as LoginThrottle;
    pub use super::order::Entity as Order;
    pub use super::payout::Entity as Payout;
    pub use super::policy_version::Entity as PolicyVersion;
    pub use super::product_plan::Entity as ProductPlan;
    pub use super::refund_claim::Entity as RefundClaim;
    pub use super::staff::Entity as Staff;
    pub use super::webhook_delivery::Entity as WebhookDelivery;
    pub use super::webhook_endpoint::Entity as WebhookEndpoint;
}
