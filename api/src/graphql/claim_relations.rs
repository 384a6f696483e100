//! Which relations a claims read joins, worked out from the fields the query
//! selects: a dashboard row with its order, customer, activation and
//! assignee is one statement, and the page's payouts one more, instead of a
//! loader round per relation. Rows are read whole, so a resolver reads any
//! column of what it is given; a relation not selected is not joined, and
//! its resolver falls back to its loader.

use async_graphql::{Context, SelectionField};

use crate::service::claim_list::Relations;

/// The relations of a `claims` page: the fields under `edges.node` and `nodes`.
pub fn claims_page_relations(ctx: &Context<'_>) -> Relations {
    let look = ctx.look_ahead();
    let nodes = look
        .field("edges")
        .field("node")
        .selection_fields()
        .into_iter()
        .chain(look.field("nodes").selection_fields());
    relations_of(nodes)
}

/// The relations of one claim (`claim(id)`): the fields selected on it.
pub fn claim_relations(ctx: &Context<'_>) -> Relations {
    relations_of(ctx.look_ahead().selection_fields().into_iter())
}

fn relations_of<'a>(claims: impl Iterator<Item = SelectionField<'a>>) -> Relations {
    let mut relations = Relations::default();
    for claim in claims {
        for field in claim.selection_set() {
            match field.name() {
                "order" => {
                    relations.order = true;
                    for field in field.selection_set() {
                        match field.name() {
                            "customer" => relations.customer = true,
                            "activation" => relations.activation = true,
                            _ => {}
                        }
                    }
                }
                "customer" => relations.customer = true,
                "assignee" => relations.assignee = true,
                "payouts" => relations.payouts = true,
                _ => {}
            }
        }
    }
    relations
}
