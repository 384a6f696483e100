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
//! Lists, connections and edges are resolved the stock way: making them
//! eager too gained less than the benchmark's noise (BENCHMARKS.md).
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
//! means adding its per-field hook here too. A test
//! (`no_schema_extension_is_registered`) fails if one is.
//!
//! Verified against async-graphql 7.2.1, pinned exactly in `api/Cargo.toml`.
//! On an upgrade, re-verify before moving the pin: diff the new release's
//! `resolver_utils/container.rs` (`resolve_container`, `Fields::add_set`)
//! against 7.2.1's for changes in how fields are collected, errors placed
//! or extensions called; then run the suite,
//! whose `tests/eager.rs` compares eagerly resolved objects with the stock
//! resolution of the same objects, values, order and errors.

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

type FieldFuture<'a> = Pin<Box<dyn Future<Output = Option<Value>> + Send + 'a>>;

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

    // A field's value is `None` once its error is reported: async-graphql
    // leaves the key out. Errors are reported as each field ends, like the
    // stock resolution's, and the other fields go on.
    let mut slots: Vec<Slot<FieldFuture<'_>>> = fields
        .iter()
        .map(|&field| {
            if field.node.name.node == "__typename" {
                let name = root.introspection_type_name().into_owned();
                return Slot::Done(Some(Value::String(name)));
            }
            let future: FieldFuture<'_> = Box::pin(async move {
                let ctx_field = ctx.with_field(field);
                settle(ctx, root.resolve_field(&ctx_field).await)
            });
            Slot::Waiting(future)
        })
        .collect();
    drive(&mut slots).await;

    let mut map = IndexMap::with_capacity(fields.len());
    for (field, slot) in fields.iter().zip(slots) {
        if let Slot::Done(Some(value)) = slot {
            merge(&mut map, field.node.response_key().node.clone(), value);
        }
    }
    Ok(if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    })
}

/// A field's value, or its future until it ends.
enum Slot<F: Future> {
    Waiting(F),
    Done(F::Output),
}

/// Drives the waiting slots to their ends, each in its place: each polled
/// once, in order; the ones still pending are then all polled again on
/// every wake, in order, without a task set. A page's pending futures wait
/// on the same loader batches, so they wake and end together, and a wake
/// costs one poll of each future still waiting (at most a page's hundred).
async fn drive<F>(slots: &mut [Slot<F>])
where
    F: Future + Unpin,
{
    poll_fn(|cx| {
        let mut pending = false;
        for slot in slots.iter_mut() {
            let Slot::Waiting(future) = slot else {
                continue;
            };
            match Pin::new(future).poll(cx) {
                Poll::Ready(output) => *slot = Slot::Done(output),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await
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
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};
    use serde_json::Value as Json;

    /// An item of a test list. `late` answers after `n % 3` yields (so some
    /// items are pending after their first poll), `strict` (non-null) fails
    /// for item `fail`, `soft` (nullable) for every tenth.
    struct Item {
        n: usize,
        fail: Option<usize>,
    }

    impl Item {
        async fn wait(&self) {
            for _ in 0..self.n % 3 {
                tokio::task::yield_now().await;
            }
        }
    }

    #[Object]
    impl Item {
        async fn n(&self) -> usize {
            self.n
        }
        async fn late(&self) -> usize {
            self.wait().await;
            self.n
        }
        async fn strict(&self) -> async_graphql::Result<usize> {
            self.wait().await;
            match self.fail {
                Some(f) if f == self.n => Err("strict failed".into()),
                _ => Ok(self.n),
            }
        }
        async fn soft(&self) -> async_graphql::Result<Option<usize>> {
            if self.n % 10 == 7 {
                return Err("soft failed".into());
            }
            Ok(Some(self.n))
        }
    }

    fn items(count: usize, fail: Option<usize>) -> impl Iterator<Item = Item> {
        (0..count).map(move |n| Item { n, fail })
    }

    struct Query;

    #[Object]
    impl Query {
        async fn stock(&self, count: usize, fail: Option<usize>) -> Vec<Item> {
            items(count, fail).collect()
        }
        async fn eager(&self, count: usize, fail: Option<usize>) -> Vec<Eager<Item>> {
            items(count, fail).map(Eager).collect()
        }
    }

    /// The response to `{ <root>(…) { selection } }`, with the root field
    /// renamed `list` so stock and eager answers compare (keys sorted: the
    /// eager order differs on purpose), errors sorted by path.
    async fn answer(root: &str, args: &str, selection: &str) -> Json {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let query = format!("{{ list: {root}({args}) {{ {selection} }} }}");
        let response = schema.execute(Request::new(query)).await;
        let mut json = serde_json::to_value(&response).expect("a response serialises");
        let text = json.to_string().replace(&format!("\"{root}\""), "\"list\"");
        json = serde_json::from_str(&text).expect("still JSON");
        if let Some(errors) = json.get_mut("errors").and_then(Json::as_array_mut) {
            errors.sort_by_key(|e| e["path"].to_string());
        }
        json
    }

    #[tokio::test]
    async fn eager_items_of_a_list_answer_as_stock_items_do() {
        // Past 30 items `try_join_all` switches to a task set; items fail
        // at their first poll (1, 4: no yields) or after pending (2, 32, 35).
        let cases = [
            ("count: 40", "n late soft"),
            ("count: 40", "late strict soft n"),
            ("count: 5, fail: 1", "n strict"),
            ("count: 5, fail: 4", "late strict"),
            ("count: 5, fail: 2", "strict n"),
            ("count: 40, fail: 32", "n late strict soft"),
            ("count: 40, fail: 35", "soft strict"),
            ("count: 0", "n"),
            ("count: 3", "__typename t: __typename n"),
        ];
        for (args, selection) in cases {
            let stock = answer("stock", args, selection).await;
            let eager = answer("eager", args, selection).await;
            assert_eq!(eager, stock, "{args} / {selection}");
        }
        // The cases above do fail where they should: async-graphql leaves a
        // failed non-null field out of its object (here the only one, so the
        // item is null) rather than nulling the list.
        let failed = answer("eager", "count: 40, fail: 32", "strict").await;
        assert_eq!(failed["data"]["list"][32], Json::Null, "{failed}");
        assert_eq!(failed["data"]["list"][31]["strict"], 31, "{failed}");
        assert_eq!(
            failed["errors"][0]["path"],
            serde_json::json!(["list", 32, "strict"])
        );
        let soft = answer("eager", "count: 40", "soft").await;
        assert_eq!(soft["errors"].as_array().map(Vec::len), Some(4), "{soft}");
    }

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
