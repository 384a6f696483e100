//! Strict validation once per cached document.
//!
//! async-graphql's strict mode runs every validation rule over the whole
//! document on every request: about a ninth of a `claim(id)` lookup's
//! instructions (BENCHMARKS.md, lookup). All its rules but one depend on the
//! document alone. The exception,
//! `ArgumentsOfCorrectType`, also checks the values of the variables an
//! argument uses, and those change with each request.
//!
//! So a document from the caller's cache (`documents.rs`) is validated
//! strictly until one request passes; later requests with it run through a
//! second schema, built the same way but in async-graphql's fast mode
//! (`AppState::validated_schema`), which still computes
//! complexity and depth and refuses fragment cycles, when
//! [`variables_surely_valid`] vouches for every variable's value. It vouches
//! only for values that every argument the variable may be used for accepts
//! (async-graphql's `VariableInAllowedPosition` ties a variable's declared
//! type to its uses), and anything it is unsure of (a null, an enum, an
//! input object, a custom scalar, a negative or large number) takes the
//! strict path again. An ill-typed variable is therefore refused exactly as
//! before: a validation error and no `data`, with nothing executed.
//!
//! Re-verify on an async-graphql upgrade (the version is pinned): the rule
//! list of `ValidationMode::Strict` and `Fast` in `validation/mod.rs` (only
//! `ArgumentsOfCorrectType` may read variables), and the `is_valid` of the
//! built-in `ID`, `String`, `Boolean` and `Int` scalars; the tests below
//! check the second against the library.

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Type,
};
use async_graphql::{Response, Value, Variables};

use super::documents::Validated;

/// How a request's document is validated.
#[derive(Clone, Debug)]
pub enum Validation {
    /// Every rule, as async-graphql's strict mode runs them. The cached
    /// document's mark, when there is one, is set once a request passes.
    Strict(Option<Validated>),
    /// The document passed the strict rules before and every variable's
    /// value is surely valid: async-graphql's fast mode is enough.
    AlreadyDone,
}

impl Validation {
    /// Chooses for a request whose document is `doc`.
    pub fn choose(
        mark: Option<Validated>,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Self {
        match mark {
            Some(mark) if mark.get() && variables_surely_valid(doc, operation_name, variables) => {
                Self::AlreadyDone
            }
            mark => Self::Strict(mark),
        }
    }

    /// Records the outcome of a strict execution: a response without any
    /// request-level error (those have no path: parse, validation, limits,
    /// an unknown operation) passed validation.
    pub fn record(&self, response: &Response) {
        if let Self::Strict(Some(mark)) = self {
            if response.errors.iter().all(|e| !e.path.is_empty()) {
                mark.set();
            }
        }
    }
}

/// The operation async-graphql will run: the one named, or the only one.
fn selected<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Single(_), Some(_)) => return None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    Some(&op.node)
}

/// True when every variable of the selected operation that the request
/// gives a value is surely valid for its declared type. A variable without
/// a value is not checked by the strict rules either.
pub fn variables_surely_valid(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> bool {
    let Some(op) = selected(doc, operation_name) else {
        return false;
    };
    op.variable_definitions.iter().all(|def| {
        variables
            .get(def.node.name.node.as_str())
            .is_none_or(|value| surely_valid(&def.node.var_type.node, value))
    })
}

/// True only for values that async-graphql's input validation accepts for
/// `ty` whichever Rust type backs the scalar; false means "not sure", never
/// "invalid".
fn surely_valid(ty: &Type, value: &Value) -> bool {
    match (&ty.base, value) {
        // Whether a null may stand where the variable is used depends on
        // the position and its default: left to the strict rules.
        (_, Value::Null) => false,
        (BaseType::List(item), Value::List(items)) => items.iter().all(|v| surely_valid(item, v)),
        (BaseType::List(_), _) => false,
        (BaseType::Named(name), value) => match (name.as_str(), value) {
            ("ID" | "String", Value::String(_)) => true,
            ("Boolean", Value::Boolean(_)) => true,
            // Every integer type behind `Int` accepts 0..=i32::MAX (the
            // unsigned ones refuse negatives).
            ("Int", Value::Number(n)) => n.as_u64().is_some_and(|n| n <= i32::MAX as u64),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, ID};
    use serde_json::json;

    fn ty(text: &str) -> Type {
        Type::new(text).expect("a type")
    }

    /// (declared type, value, vouched for).
    fn table() -> Vec<(&'static str, serde_json::Value, bool)> {
        vec![
            ("ID!", json!("5f0c"), true),
            ("ID", json!(""), true),
            ("String!", json!("any text"), true),
            ("Boolean!", json!(false), true),
            ("Int!", json!(0), true),
            ("Int", json!(2_147_483_647), true),
            ("[ID!]!", json!(["a", "b"]), true),
            ("[ID!]", json!([]), true),
            ("[[Int!]!]!", json!([[1, 2], [3]]), true),
            // Not sure: the strict rules decide.
            ("ID!", json!(null), false),
            ("ID", json!(null), false),
            ("ID!", json!(12), false),
            ("ID!", json!({ "id": "x" }), false),
            ("ID!", json!(["a"]), false),
            ("String!", json!(true), false),
            ("Boolean!", json!("true"), false),
            ("Int!", json!(-1), false),
            ("Int!", json!(2_147_483_648u64), false),
            ("Int!", json!(1.5), false),
            ("Int!", json!("1"), false),
            ("Float!", json!(1.5), false),
            ("[ID!]!", json!("a"), false),
            ("[ID!]!", json!(["a", null]), false),
            ("[ID!]!", json!(["a", 1]), false),
            ("ClaimStatus!", json!("APPROVED"), false),
            ("DateTime!", json!("2026-11-30T00:00:00Z"), false),
            ("ApproveClaimInput!", json!({ "claimId": "x" }), false),
        ]
    }

    #[test]
    fn vouches_only_for_plain_values_of_built_in_scalars() {
        for (declared, value, expected) in table() {
            let value = Value::from_json(value.clone()).unwrap();
            assert_eq!(
                surely_valid(&ty(declared), &value),
                expected,
                "{declared} = {value}"
            );
        }
    }

    struct Probe;

    #[Object]
    impl Probe {
        async fn id(&self, v: ID) -> usize {
            v.len()
        }
        async fn text(&self, v: String) -> usize {
            v.len()
        }
        async fn flag(&self, v: bool) -> bool {
            v
        }
        async fn int(&self, v: i32) -> i32 {
            v
        }
        async fn ids(&self, v: Vec<ID>) -> usize {
            v.len()
        }
        async fn grid(&self, v: Vec<Vec<u32>>) -> usize {
            v.len()
        }
    }

    /// Everything the table vouches for passes async-graphql's own strict
    /// validation in a position of that type: this pins the table to the
    /// library's `is_valid` functions.
    #[tokio::test]
    async fn what_is_vouched_for_passes_the_librarys_strict_validation() {
        let schema = Schema::new(Probe, EmptyMutation, EmptySubscription);
        let field = |declared: &str| match declared.trim_end_matches('!') {
            "ID" => "id",
            "String" => "text",
            "Boolean" => "flag",
            "Int" => "int",
            "[ID!]" => "ids",
            "[[Int!]!]" => "grid",
            other => panic!("no probe field for {other}"),
        };
        for (declared, value, vouched) in table() {
            if !vouched {
                continue;
            }
            // The probe's arguments are non-null; a nullable declaration
            // may stand there only with a non-null value, which is all the
            // table vouches for.
            let position = if declared.ends_with('!') {
                declared.to_string()
            } else {
                format!("{declared}!")
            };
            let query = format!("query($v: {position}) {{ {}(v: $v) }}", field(declared));
            let response = schema
                .execute(
                    async_graphql::Request::new(query.clone())
                        .variables(Variables::from_json(json!({ "v": value }))),
                )
                .await;
            assert!(
                response.errors.iter().all(|e| !e.path.is_empty()),
                "{query} with {value}: {:?}",
                response.errors
            );
        }
        // The same check refuses what it should, so it can fail.
        let refused = schema
            .execute(
                async_graphql::Request::new("query($v: Int!) { int(v: $v) }")
                    .variables(Variables::from_json(json!({ "v": "x" }))),
            )
            .await;
        assert!(refused.errors.iter().any(|e| e.path.is_empty()));
    }

    fn doc(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).unwrap()
    }

    fn vars(v: serde_json::Value) -> Variables {
        Variables::from_json(v)
    }

    #[test]
    fn only_the_selected_operations_variables_are_checked() {
        let two = doc("query A($x: ID!) { a(x: $x) } query B($y: Int!) { b(y: $y) }");
        let bad_y = vars(json!({ "x": "1", "y": "not a number" }));
        assert!(variables_surely_valid(&two, Some("A"), &bad_y));
        assert!(!variables_surely_valid(&two, Some("B"), &bad_y));
        // No name with two operations, or an unknown name: async-graphql
        // refuses the request; the strict path gives its error.
        assert!(!variables_surely_valid(&two, None, &bad_y));
        assert!(!variables_surely_valid(&two, Some("C"), &bad_y));
        let one = doc("query($x: ID!) { a(x: $x) }");
        assert!(variables_surely_valid(
            &one,
            None,
            &vars(json!({ "x": "1" }))
        ));
        assert!(!variables_surely_valid(
            &one,
            Some("A"),
            &vars(json!({ "x": "1" }))
        ));
        let named = doc("query A($x: ID!) { a(x: $x) }");
        assert!(variables_surely_valid(
            &named,
            None,
            &vars(json!({ "x": "1" }))
        ));
        // Missing variables are not the validation's concern; extra ones
        // are ignored by async-graphql.
        assert!(variables_surely_valid(&one, None, &vars(json!({}))));
        assert!(variables_surely_valid(
            &one,
            None,
            &vars(json!({ "x": "1", "z": {} }))
        ));
    }

    #[test]
    fn the_fast_path_needs_a_mark_that_is_set() {
        let one = doc("query($x: ID!) { a(x: $x) }");
        let good = vars(json!({ "x": "1" }));
        let fast = |mark: Option<Validated>, v: &Variables| {
            matches!(
                Validation::choose(mark, &one, None, v),
                Validation::AlreadyDone
            )
        };
        assert!(!fast(None, &good));
        let mark = Validated::default();
        assert!(!fast(Some(mark.clone()), &good));
        let strict = Validation::choose(Some(mark.clone()), &one, None, &good);
        // A request-level error (no path) leaves the mark unset.
        strict.record(&Response::from_errors(vec![
            async_graphql::ServerError::new("Invalid value for argument", None),
        ]));
        assert!(!mark.get());
        // A field error (with a path) means validation passed.
        let mut field_error = async_graphql::ServerError::new("NOT_FOUND", None);
        field_error.path = vec![async_graphql::PathSegment::Field("a".into())];
        strict.record(&Response::from_errors(vec![field_error]));
        assert!(mark.get());
        assert!(fast(Some(mark.clone()), &good));
        assert!(!fast(Some(mark), &vars(json!({ "x": 1 }))));
    }
}
