//! The GraphQL schema: one file per area, merged here.

pub mod access;
pub mod activations;
pub mod audit;
pub mod chargebacks;
pub mod claims;
pub mod connection;
pub mod context;
pub mod customers;
pub mod documents;
pub mod eager;
pub mod events;
pub mod inbound;
pub mod limits;
pub mod loaders;
pub mod money;
pub mod orders;
pub mod payouts;
pub mod policy;
pub mod report;
pub mod row_shape;
pub mod scalars;
pub mod staff;
pub mod webhooks;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

pub use limits::{MAX_COMPLEXITY, MAX_DEPTH, MAX_DIRECTIVES};

#[derive(MergedObject, Default)]
pub struct Query(
    staff::StaffQuery,
    audit::AuditQuery,
    customers::CustomerQuery,
    orders::OrderQueryRoot,
    claims::ClaimQueryRoot,
    policy::PolicyQuery,
    payouts::PayoutQuery,
    chargebacks::ChargebackQuery,
    report::ReportQuery,
    events::EventQueryRoot,
    webhooks::WebhookQuery,
    inbound::InboundQueryRoot,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    staff::StaffMutation,
    customers::CustomerMutation,
    orders::OrderMutation,
    activations::ActivationMutation,
    claims::ClaimMutation,
    policy::PolicyMutation,
    payouts::PayoutMutation,
    chargebacks::ChargebackMutation,
    webhooks::WebhookMutation,
    inbound::InboundMutation,
);

pub type AppSchema = Schema<Query, Mutation, events::SubscriptionRoot>;

/// The schema with its limits, without runtime data (enough for the SDL).
/// The HTTP layer enforces the same limits first, in linear time and with
/// coded errors (`limits.rs`); async-graphql's own stay as a second line.
/// It registers no extension on purpose (`limits.rs`); one added here would
/// not see the fields of eagerly resolved objects (`eager.rs`).
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, events::SubscriptionRoot> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        events::SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(limits::MAX_NESTING)
    .limit_directives(MAX_DIRECTIVES)
}

/// The SDL that `refund-desk export-schema` prints and `schema.graphql` holds.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
