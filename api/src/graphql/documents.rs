//! Documents seen before: automatic persisted queries and a parse cache.
//!
//! Dashboards send the same few documents all day. Each parsed document is
//! kept under the SHA-256 of its text, so a repeated document is cloned
//! instead of parsed again, and a client may send only that hash (Apollo's
//! automatic persisted queries: `extensions.persistedQuery.sha256Hash`,
//! version 1). A hash the cache does not hold answers `PersistedQueryNotFound`,
//! the message Apollo clients react to by sending the text with the hash.
//!
//! Only callers with a validly signed token read or fill the cache, and each
//! staff member only their own entries: a document is kept under the caller's
//! id and its hash, so nobody can learn (from a hash-only request, from the
//! time a request takes, or from `/metrics`) which documents someone else
//! ran. Anyone else (in practice `login`) gets their document parsed, and a
//! hash alone is always "not found" for them.
//!
//! The cache is per process: another process, or an eviction, costs a parse
//! or one more round trip for a hash-only request. Memory is bounded by an
//! estimate of each parsed tree, not by the number of documents. Each entry
//! also remembers whether its document passed async-graphql's strict
//! validation, which later requests may then skip (`graphql::validation`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use lru::LruCache;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::AppError;

/// Estimated bytes held by all cached documents together.
const BUDGET_BYTES: usize = 8 << 20;
/// Largest estimated size of one cached document; larger ones are parsed
/// on every request (and a hash alone never finds them).
pub const MAX_ENTRY_BYTES: usize = 1 << 20;
/// Estimated bytes of one parsed node (a field with its position, name and
/// containers), measured from async-graphql 7's types.
const NODE_BYTES: usize = 256;

/// The message Apollo clients look for before resending with the text.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";

type Hash = [u8; 32];
/// The staff member who sent a document, and the document's hash.
type Key = (Uuid, Hash);

/// What a request's `persistedQuery` extension asks for.
#[derive(Debug, PartialEq)]
enum Persisted {
    /// No extension: an ordinary request.
    No,
    /// Run the document with this hash (with or without its text).
    Hash(Hash),
}

/// Parsed documents by the SHA-256 of their text, least recently used first
/// out. Shared by the process's workers.
pub struct DocumentCache {
    inner: Mutex<Inner>,
}

struct Inner {
    entries: LruCache<Key, Arc<Cached>>,
    /// Sum of the entries' `cost`.
    bytes: usize,
    budget: usize,
}

struct Cached {
    text: String,
    document: ExecutableDocument,
    cost: usize,
    validated: Validated,
}

/// Whether a cached document passed async-graphql's strict validation in
/// this process. Shared by every request that sends the document; set once
/// and never cleared (the schema does not change while the process runs).
#[derive(Clone, Debug, Default)]
pub struct Validated(Arc<AtomicBool>);

impl Validated {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What [`DocumentCache::attach`] did, and the cached document's mark when
/// the cache holds it.
#[derive(Debug)]
pub struct Attached {
    pub lookup: Lookup,
    pub validated: Option<Validated>,
}

/// How a request's document was found. Only the tests read it: `/metrics`
/// holds nothing derived from documents (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Cloned from the cache.
    Hit,
    /// Parsed now (and kept when it parsed, is small enough and the caller
    /// is trusted).
    Parsed,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::with_budget(BUDGET_BYTES)
    }
}

impl DocumentCache {
    pub fn with_budget(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                // The byte budget is the bound; the LRU only orders.
                entries: LruCache::unbounded(),
                bytes: 0,
                budget,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic elsewhere mid-update of the LRU
        // order; the entries are still whole.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Arc<Cached>> {
        self.lock().entries.get(key).cloned()
    }

    fn put(&self, key: Key, cached: Cached) {
        let mut inner = self.lock();
        let cost = cached.cost;
        if let Some(old) = inner.entries.put(key, Arc::new(cached)) {
            inner.bytes -= old.cost;
        }
        inner.bytes += cost;
        while inner.bytes > inner.budget {
            match inner.entries.pop_lru() {
                Some((_, evicted)) => inner.bytes -= evicted.cost,
                None => break,
            }
        }
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives the request its parsed document: from the cache when the same
    /// caller sent its text (or its persisted-query hash) before, else parsed
    /// now and kept. Only a `caller` (the staff id of a validly signed token)
    /// uses the cache; others only get their text parsed. A document that
    /// does not parse is left for the caller to report.
    pub fn attach(
        &self,
        req: &mut async_graphql::Request,
        caller: Option<Uuid>,
    ) -> Result<Attached, AppError> {
        let hit = |cached: &Cached| Attached {
            lookup: Lookup::Hit,
            validated: Some(cached.validated.clone()),
        };
        let parsed = |validated| Attached {
            lookup: Lookup::Parsed,
            validated,
        };
        let persisted = persisted_hash(req)?;
        if req.query.is_empty() {
            let Persisted::Hash(hash) = persisted else {
                return Err(AppError::bad_input("the request has no query"));
            };
            let cached = caller
                .and_then(|staff| self.get(&(staff, hash)))
                .ok_or_else(|| AppError::bad_input(NOT_FOUND_MESSAGE))?;
            req.query = cached.text.clone();
            req.set_parsed_query(cached.document.clone());
            return Ok(hit(&cached));
        }
        let hash: Hash = Sha256::digest(req.query.as_bytes()).into();
        if let Persisted::Hash(claimed) = persisted {
            if claimed != hash {
                return Err(AppError::bad_input(
                    "persistedQuery.sha256Hash is not the SHA-256 of the query",
                ));
            }
        }
        let Some(staff) = caller else {
            return Ok(parsed(None));
        };
        let key = (staff, hash);
        if let Some(cached) = self.get(&key) {
            req.set_parsed_query(cached.document.clone());
            return Ok(hit(&cached));
        }
        // Text alone can exceed the entry limit; skip parsing twice.
        if req.query.len() <= MAX_ENTRY_BYTES {
            let text = req.query.clone();
            if let Ok(document) = req.parsed_query() {
                let cost = text.len() + NODE_BYTES * nodes(document);
                if cost <= MAX_ENTRY_BYTES {
                    let document = document.clone();
                    let validated = Validated::default();
                    self.put(
                        key,
                        Cached {
                            text,
                            document,
                            cost,
                            validated: validated.clone(),
                        },
                    );
                    return Ok(parsed(Some(validated)));
                }
            }
        }
        Ok(parsed(None))
    }
}

/// Selections, arguments and directives in a document, each fragment counted
/// once (spreads are not followed). Iterative: nesting depth is only limited
/// after parsing.
fn nodes(doc: &ExecutableDocument) -> usize {
    let mut pending: Vec<&SelectionSet> = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
        .collect();
    let mut count = 0;
    while let Some(set) = pending.pop() {
        for item in &set.items {
            count += 1;
            match &item.node {
                Selection::Field(f) => {
                    count += f.node.arguments.len() + f.node.directives.len();
                    pending.push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(f) => {
                    count += f.node.directives.len();
                    pending.push(&f.node.selection_set.node);
                }
                Selection::FragmentSpread(s) => count += s.node.directives.len(),
            }
        }
    }
    count
}

/// The hash a client sends for `text`: its SHA-256 in lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Reads `extensions.persistedQuery`: version 1 with a hex SHA-256.
fn persisted_hash(req: &async_graphql::Request) -> Result<Persisted, AppError> {
    use async_graphql::Value;
    let ext = match req.extensions.get("persistedQuery") {
        None | Some(Value::Null) => return Ok(Persisted::No),
        Some(ext) => ext,
    };
    let Value::Object(fields) = ext else {
        return Err(AppError::bad_input(
            "extensions.persistedQuery must be an object",
        ));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => {
            return Err(AppError::bad_input(
                "extensions.persistedQuery.version must be 1",
            ))
        }
    }
    let hash = match fields.get("sha256Hash") {
        Some(Value::String(s)) => parse_hex(s),
        _ => None,
    };
    hash.map(Persisted::Hash).ok_or_else(|| {
        AppError::bad_input("extensions.persistedQuery.sha256Hash must be 64 hex digits")
    })
}

fn parse_hex(text: &str) -> Option<Hash> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{Name, Value};

    const QUERY: &str = "{ me { id } }";
    const ADA: Option<Uuid> = Some(Uuid::from_u128(1));
    const BOB: Option<Uuid> = Some(Uuid::from_u128(2));

    fn request(query: &str, extension: Option<Value>) -> async_graphql::Request {
        let mut req = async_graphql::Request::new(query);
        if let Some(ext) = extension {
            req.extensions.insert("persistedQuery".into(), ext);
        }
        req
    }

    fn persisted(version: Value, hash: &str) -> Value {
        let mut map = async_graphql::indexmap::IndexMap::new();
        map.insert(Name::new("version"), version);
        map.insert(Name::new("sha256Hash"), Value::from(hash));
        Value::Object(map)
    }

    fn message(err: AppError) -> String {
        match err {
            AppError::BadUserInput(m) => m,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_document_is_cloned_not_parsed() {
        let cache = DocumentCache::default();
        let mut first = request(QUERY, None);
        assert_eq!(
            cache.attach(&mut first, ADA).unwrap().lookup,
            Lookup::Parsed
        );
        let mut second = request(QUERY, None);
        assert_eq!(cache.attach(&mut second, ADA).unwrap().lookup, Lookup::Hit);
        assert_eq!(
            second.parsed_query().unwrap().operations.iter().count(),
            first.parsed_query().unwrap().operations.iter().count()
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_hash_alone_runs_a_document_sent_before() {
        let cache = DocumentCache::default();
        let ext = persisted(Value::from(1), &sha256_hex(QUERY));
        let mut alone = request("", Some(ext.clone()));
        assert_eq!(
            message(cache.attach(&mut alone, ADA).unwrap_err()),
            NOT_FOUND_MESSAGE
        );
        let mut with_text = request(QUERY, Some(ext.clone()));
        assert_eq!(
            cache.attach(&mut with_text, ADA).unwrap().lookup,
            Lookup::Parsed
        );
        let mut alone = request("", Some(ext));
        assert_eq!(cache.attach(&mut alone, ADA).unwrap().lookup, Lookup::Hit);
        assert_eq!(alone.query, QUERY);
        assert!(alone.parsed_query().is_ok());
    }

    #[test]
    fn malformed_extensions_are_refused() {
        let cache = DocumentCache::default();
        let good = sha256_hex(QUERY);
        let cases = [
            (Value::from("yes"), "must be an object"),
            (persisted(Value::from(2), &good), "version must be 1"),
            (persisted(Value::from("1"), &good), "version must be 1"),
            (persisted(Value::from(1), &good[..63]), "64 hex digits"),
            (
                persisted(Value::from(1), &format!("{}zz", &good[..62])),
                "64 hex digits",
            ),
            (
                persisted(Value::from(1), &sha256_hex("{ other }")),
                "is not the SHA-256 of the query",
            ),
        ];
        for (ext, expected) in cases {
            let mut req = request(QUERY, Some(ext.clone()));
            let got = message(cache.attach(&mut req, ADA).unwrap_err());
            assert!(got.contains(expected), "{ext:?}: {got}");
        }
        assert!(cache.is_empty(), "a refused request must not be kept");
        let mut empty = request("", None);
        assert!(message(cache.attach(&mut empty, ADA).unwrap_err()).contains("no query"));
    }

    #[test]
    fn uppercase_hex_names_the_same_document() {
        let cache = DocumentCache::default();
        let upper = sha256_hex(QUERY).to_uppercase();
        let mut req = request(QUERY, Some(persisted(Value::from(1), &upper)));
        assert_eq!(cache.attach(&mut req, ADA).unwrap().lookup, Lookup::Parsed);
        let lower = persisted(Value::from(1), &sha256_hex(QUERY));
        assert_eq!(
            cache
                .attach(&mut request("", Some(lower)), ADA)
                .unwrap()
                .lookup,
            Lookup::Hit
        );
    }

    #[test]
    fn a_null_extension_is_no_extension() {
        let cache = DocumentCache::default();
        let mut req = request(QUERY, Some(Value::Null));
        assert_eq!(cache.attach(&mut req, ADA).unwrap().lookup, Lookup::Parsed);
    }

    #[test]
    fn untrusted_callers_neither_read_nor_fill_the_cache() {
        let cache = DocumentCache::default();
        let ext = persisted(Value::from(1), &sha256_hex(QUERY));
        let mut anonymous = request(QUERY, Some(ext.clone()));
        assert_eq!(
            cache.attach(&mut anonymous, None).unwrap().lookup,
            Lookup::Parsed
        );
        assert!(anonymous.parsed_query().is_ok());
        assert!(cache.is_empty());
        cache.attach(&mut request(QUERY, None), ADA).unwrap();
        assert_eq!(
            message(
                cache
                    .attach(&mut request("", Some(ext.clone())), None)
                    .unwrap_err()
            ),
            NOT_FOUND_MESSAGE
        );
        assert_eq!(
            cache
                .attach(&mut request(QUERY, None), None)
                .unwrap()
                .lookup,
            Lookup::Parsed
        );
        assert_eq!(
            cache
                .attach(&mut request("", Some(ext)), ADA)
                .unwrap()
                .lookup,
            Lookup::Hit
        );
    }

    #[test]
    fn unparsable_and_oversized_documents_are_not_kept() {
        let cache = DocumentCache::default();
        let mut broken = request("{ me { id }", None);
        assert_eq!(
            cache.attach(&mut broken, ADA).unwrap().lookup,
            Lookup::Parsed
        );
        // Small text, big tree: two bytes of text per field.
        let fields = MAX_ENTRY_BYTES / NODE_BYTES + 1;
        let mut bushy = request(&format!("{{ {} }}", "a ".repeat(fields)), None);
        assert_eq!(
            cache.attach(&mut bushy, ADA).unwrap().lookup,
            Lookup::Parsed
        );
        let padding = " ".repeat(MAX_ENTRY_BYTES);
        let mut long = request(&format!("{QUERY}{padding}"), None);
        assert_eq!(cache.attach(&mut long, ADA).unwrap().lookup, Lookup::Parsed);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_byte_budget_evicts_the_least_recently_used_first() {
        // Each of these costs its text plus one node.
        let cost = |q: &str| q.len() + NODE_BYTES;
        let cache = DocumentCache::with_budget(cost("{ a }") * 2);
        for q in ["{ a }", "{ b }", "{ a }", "{ c }"] {
            cache.attach(&mut request(q, None), ADA).unwrap();
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.lock().bytes, cost("{ a }") * 2);
        assert_eq!(
            cache
                .attach(&mut request("{ a }", None), ADA)
                .unwrap()
                .lookup,
            Lookup::Hit
        );
        assert_eq!(
            cache
                .attach(&mut request("{ b }", None), ADA)
                .unwrap()
                .lookup,
            Lookup::Parsed
        );
    }

    #[test]
    fn a_kept_document_has_one_validation_mark_for_all_its_requests() {
        let cache = DocumentCache::default();
        let first = cache.attach(&mut request(QUERY, None), ADA).unwrap();
        let mark = first.validated.expect("a kept document has a mark");
        assert!(!mark.get());
        mark.set();
        let again = cache.attach(&mut request(QUERY, None), ADA).unwrap();
        assert!(again.validated.expect("still kept").get());
        let ext = persisted(Value::from(1), &sha256_hex(QUERY));
        let by_hash = cache.attach(&mut request("", Some(ext)), ADA).unwrap();
        assert!(by_hash.validated.expect("kept").get());
        // Another caller's copy is validated on its own.
        let bob = cache.attach(&mut request(QUERY, None), BOB).unwrap();
        assert!(!bob.validated.expect("kept").get());
        // What the cache does not keep has no mark: validated every time.
        let anonymous = cache.attach(&mut request(QUERY, None), None).unwrap();
        assert!(anonymous.validated.is_none());
        let broken = cache
            .attach(&mut request("{ me { id }", None), ADA)
            .unwrap();
        assert!(broken.validated.is_none());
    }

    #[test]
    fn nodes_count_each_fragment_once() {
        let mut req = request(
            "query { a(x: 1) @skip(if: false) { ...F ... on T { b } } } fragment F on T { c d }",
            None,
        );
        // a, its argument and directive, the spread, the inline fragment, b, c, d.
        assert_eq!(nodes(req.parsed_query().unwrap()), 8);
    }

    #[test]
    fn staff_members_never_find_each_others_documents() {
        let cache = DocumentCache::default();
        let ext = persisted(Value::from(1), &sha256_hex(QUERY));
        cache.attach(&mut request(QUERY, None), ADA).unwrap();
        assert_eq!(
            message(
                cache
                    .attach(&mut request("", Some(ext.clone())), BOB)
                    .unwrap_err()
            ),
            NOT_FOUND_MESSAGE
        );
        // Bob's own copy is parsed, not cloned from Ada's.
        assert_eq!(
            cache.attach(&mut request(QUERY, None), BOB).unwrap().lookup,
            Lookup::Parsed
        );
        assert_eq!(
            cache
                .attach(&mut request("", Some(ext)), BOB)
                .unwrap()
                .lookup,
            Lookup::Hit
        );
        assert_eq!(cache.len(), 2);
    }
}
