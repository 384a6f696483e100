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
pub mod validation;
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
    payouts::PayoutQueryRoot,
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
pub type AppSchemaBuilder = SchemaBuilder<Query, Mutation, events::SubscriptionRoot>;

/// The schema with its limits, without runtime data (enough for the SDL).
/// The HTTP layer enforces the same limits first, in linear time and with
/// coded errors (`limits.rs`); async-graphql's own stay as a second line.
/// It registers no extension on purpose (`limits.rs`); one added here would
/// not see the fields of eagerly resolved objects (`eager.rs`).
pub fn schema_builder() -> AppSchemaBuilder {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// `eager.rs` resolves fields without async-graphql's per-field
    /// extension hooks, so the schema must register no extension: any
    /// builder call that registers one fails here until `eager.rs` calls
    /// the hook too.
    #[test]
    fn no_schema_extension_is_registered() {
        let mut offenders = Vec::new();
        visit(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut |path, text| {
                for (n, line) in text.lines().enumerate() {
                    if registers_extension(line) && !line.contains("registers_extension") {
                        offenders.push(format!("{}:{}", path.display(), n + 1));
                    }
                }
            },
        );
        assert!(
            offenders.is_empty(),
            "schema extensions registered at {offenders:?}"
        );
        assert!(registers_extension("    .extension(extensions::Tracing)"));
        assert!(!registers_extension("kind.extension().to_uppercase()"));
    }

    /// A builder call with an argument (`kind.extension()` is a getter).
    /// The needle is split so this file does not match itself.
    fn registers_extension(line: &str) -> bool {
        const CALL: &str = concat!(".exten", "sion(");
        line.match_indices(CALL)
            .any(|(at, m)| !line[at + m.len()..].starts_with(')'))
    }

    fn visit(dir: &Path, check: &mut dyn FnMut(&Path, &str)) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, check);
            } else if path.extension().is_some_and(|e| e == "rs") {
                check(&path, &std::fs::read_to_string(&path).unwrap());
            }
        }
    }
}
