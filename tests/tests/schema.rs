//! `schema.graphql` is what the code exports, and it honours the contract.

use std::collections::BTreeSet;
use std::path::PathBuf;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn schema_file_is_fresh() {
    let committed = std::fs::read_to_string(root().join("schema.graphql")).expect("schema.graphql");
    assert!(
        committed == api::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -p api -- export-schema > schema.graphql`"
    );
}

#[test]
fn vendored_contract_matches_shared_when_present() {
    let shared = root().join("../shared/contract.graphql");
    if let Ok(shared) = std::fs::read_to_string(shared) {
        let vendored = std::fs::read_to_string(root().join("tests/contract.graphql")).unwrap();
        assert_eq!(
            shared, vendored,
            "copy ../shared/contract.graphql to tests/contract.graphql"
        );
    }
}

/// Spells the `Date` scalar as `NaiveDate` (the contract allows either).
fn date_alias(s: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        out.push_str(if word == "Date" { "NaiveDate" } else { &word });
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Every (type, member) of an SDL: fields with their arguments and types,
/// input fields, enum values; scalars as bare names.
fn members(sdl: &str) -> BTreeSet<String> {
    let doc = parse_schema(sdl).expect("valid SDL");
    let mut out = BTreeSet::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let name = t.node.name.node.to_string();
        // The contract allows `Date` to be called `NaiveDate`.
        let name = if name == "Date" {
            "NaiveDate".to_string()
        } else {
            name
        };
        match &t.node.kind {
            TypeKind::Scalar => {
                out.insert(format!("scalar {name}"));
            }
            TypeKind::Object(o) => {
                for f in &o.fields {
                    let args: Vec<String> = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    out.insert(date_alias(&format!(
                        "{name}.{}({}): {}",
                        f.node.name.node,
                        args.join(", "),
                        f.node.ty.node
                    )));
                }
            }
            TypeKind::InputObject(o) => {
                for f in &o.fields {
                    out.insert(date_alias(&format!(
                        "{name}.{}: {}",
                        f.node.name.node, f.node.ty.node
                    )));
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    out.insert(format!("{name}::{}", v.node.value.node));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn schema_contains_the_contract() {
    let contract = std::fs::read_to_string(root().join("tests/contract.graphql")).unwrap();
    let contract = members(&contract);
    assert!(
        contract.len() > 300,
        "the contract parsed into {} members",
        contract.len()
    );
    let ours = members(&api::graphql::sdl());
    let missing: Vec<&String> = contract.iter().filter(|m| !ours.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "the schema lacks contract members:\n{}",
        missing
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
