//! Eager resolution of the objects a dashboard page repeats.
//!
//! async-graphql resolves every object by boxing one future per selected
//! field and driving them through a fresh `FuturesUnordered` (an `Arc` task,
//! a waker registration and a release per field), collecting the values into
//! an `IndexMap` grown one insert at a time. Almost all of our fields are
//! ready on their first poll: they read a column the row already holds. On
//! the claims page that machinery was about a fifth of the request threads'
//! samples (BENCHMARKS.md).
//!
//! [`Eager`] wraps a derived object and resolves it differently, with the
//! same values: each field's derived resolver (guards, errors and paths
//! included) is polled once in selection order; a field that is not ready
//! then (a DataLoader) is awaited afterwards together with the other pending
//! ones, so loaders still batch across the page. Errors of the fields that
//! were ready are reported at once, those of pending fields when they end,
//! as the stock resolution does.
//!
//! One visible difference: keys come in selection order, as the GraphQL spec
//! asks, where async-graphql puts a field that waited (a loader) after the
//! ones that did not. The schema sees the wrapped type unchanged: same name,
//! same fields.
//!
//! Custom field directives would need the stock resolution; the schema has
//! none (`@skip`/`@include` are applied before execution), and an object
//! that meets one falls back to it. Schema extensions are not consulted at
//! all: the schema registers none (`limits.rs` says why), and adding one
//! means adding its per-field hook here too.

use std::borrow::Cow;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult,
    Value,
};
use futures_util::future::join_all;

/// A derived object resolved eagerly (see the module's documentation); in the
/// schema it is `T`.
pub struct Eager<T>(pub T);

impl<T: ContainerType + Send + Sync> OutputType for Eager<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_eagerly(ctx, &self.0).await
    }
}

type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<Option<Value>>> + Send + 'a>>;

/// Resolves `root`'s selected fields as described in the module's
/// documentation.
pub async fn resolve_eagerly<'a, T: ContainerType + Send + Sync>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    let mut fields = Vec::with_capacity(ctx.item.node.items.len());
    if !collect_fields(ctx, &ctx.item.node, root, &mut fields)? {
        return resolve_container(ctx, root).await;
    }

    // `None`: failed (reported, and the key left out, as async-graphql
    // does) or still pending.
    let mut values: Vec<Option<Value>> = Vec::with_capacity(fields.len());
    let mut pending: Vec<(usize, FieldFuture<'a>)> = Vec::new();
    for (i, field) in fields.iter().copied().enumerate() {
        if field.node.name.node == "__typename" {
            let name = root.introspection_type_name().into_owned();
            values.push(Some(Value::String(name)));
            continue;
        }
        let field_ctx = ctx.clone();
        let mut future: FieldFuture<'a> = Box::pin(async move {
            let ctx_field = field_ctx.with_field(field);
            root.resolve_field(&ctx_field).await
        });
        values.push(
            match poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
                Poll::Ready(result) => settle(ctx, result),
                Poll::Pending => {
                    pending.push((i, future));
                    None
                }
            },
        );
    }
    if !pending.is_empty() {
        // Reported as each ends, like the stock resolution's errors.
        let done = join_all(
            pending
                .into_iter()
                .map(|(i, future)| async move { (i, settle(ctx, future.await)) }),
        )
        .await;
        for (i, value) in done {
            values[i] = value;
        }
    }

    let mut map = IndexMap::with_capacity(fields.len());
    for (field, value) in fields.iter().zip(values) {
        if let Some(value) = value {
            merge(&mut map, field.node.response_key().node.clone(), value);
        }
    }
    Ok(if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    })
}

/// A field's value, or `None` once its error is reported.
fn settle(ctx: &ContextSelectionSet<'_>, result: ServerResult<Option<Value>>) -> Option<Value> {
    match result {
        Ok(value) => Some(value.unwrap_or_default()),
        Err(e) => {
            ctx.add_error(e);
            None
        }
    }
}

/// Flattens `set` (fragments included, when their type condition applies to
/// `root`) into `out`. Returns false when a field carries a directive, which
/// only the stock resolution knows how to run.
fn collect_fields<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    root: &T,
    out: &mut Vec<&'a Positioned<Field>>,
) -> ServerResult<bool> {
    for selection in &set.items {
        let (condition, inner) = match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return Ok(false);
                }
                out.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let Some(fragment) = ctx.query_env.fragments.get(name) else {
                    return Err(ServerError::new(
                        format!(r#"Unknown fragment "{name}"."#),
                        Some(spread.pos),
                    ));
                };
                (
                    Some(fragment.node.type_condition.node.on.node.as_str()),
                    &fragment.node.selection_set.node,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| c.node.on.node.as_str()),
                &fragment.node.selection_set.node,
            ),
        };
        if condition.is_none_or(|c| applies(ctx, root, c))
            && !collect_fields(ctx, inner, root, out)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a fragment on `condition` applies to `root`: its own type or an
/// interface it implements (the same test async-graphql makes).
fn applies<T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    condition: &str,
) -> bool {
    let concrete = root.introspection_type_name();
    concrete == condition
        || T::type_name() == condition
        || ctx
            .schema_env
            .registry
            .implements
            .get(concrete.as_ref())
            .is_some_and(|interfaces| interfaces.contains(condition))
}

/// Inserts a field's value; a response key selected twice (`a { x } a { y }`)
/// has its objects merged, as async-graphql merges them.
fn merge(target: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    match target.get_mut(&key) {
        None => {
            target.insert(key, value);
        }
        Some(Value::Object(existing)) => {
            if let Value::Object(more) = value {
                for (k, v) in more {
                    merge(existing, k, v);
                }
            }
        }
        Some(Value::List(existing)) => {
            if let Value::List(more) = value {
                for (slot, v) in existing.iter_mut().zip(more) {
                    if let (Value::Object(existing), Value::Object(more)) = (slot, v) {
                        for (k, v) in more {
                            merge(existing, k, v);
                        }
                    }
                }
            }
        }
        // A repeated leaf keeps its first value. Validation makes repeats
        // agree, except one key on different fields under different type
        // conditions, where async-graphql keeps whichever ended first.
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (Name::new(k), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn merge_joins_repeated_objects_and_list_items() {
        let mut map = IndexMap::new();
        merge(&mut map, Name::new("a"), object(&[("x", Value::from(1))]));
        merge(&mut map, Name::new("a"), object(&[("y", Value::from(2))]));
        merge(
            &mut map,
            Name::new("l"),
            Value::List(vec![object(&[("x", Value::from(1))])]),
        );
        merge(
            &mut map,
            Name::new("l"),
            Value::List(vec![object(&[("y", Value::from(2))])]),
        );
        merge(&mut map, Name::new("s"), Value::from("first"));
        merge(&mut map, Name::new("s"), Value::from("second"));
        assert_eq!(
            Value::Object(map).to_string(),
            r#"{a: {x: 1, y: 2}, l: [{x: 1, y: 2}], s: "first"}"#
        );
    }
}
