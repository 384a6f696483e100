//! Documents seen before: automatic persisted queries and a parse cache.
//!
//! Dashboards send the same few documents all day. Each parsed document is
//! kept under the SHA-256 of its text, so a repeated document is cloned
//! instead of parsed again, and a client may send only that hash (Apollo's
//! automatic persisted queries: `extensions.persistedQuery.sha256Hash`,
//! version 1). A hash the cache does not hold answers `PersistedQueryNotFound`,
//! the message Apollo clients react to by sending the text with the hash.
//!
//! The cache is per process and holds nothing a request's outcome depends on:
//! a miss only costs a parse, or one round trip for a hash-only request.
//! Validation still runs on every request, because it depends on variables.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Documents kept; a dashboard uses a few dozen.
const CAPACITY: usize = 512;
/// Longest document text kept, in bytes. Together with [`CAPACITY`] this
/// bounds the text held to 8 MiB; longer documents are parsed every time.
pub const MAX_CACHED_BYTES: usize = 16 * 1024;

/// The message Apollo clients look for before resending with the text.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";

type Hash = [u8; 32];

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
    entries: Mutex<LruCache<Hash, Arc<Cached>>>,
}

struct Cached {
    text: String,
    document: ExecutableDocument,
}

/// How a request's document was found, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Cloned from the cache.
    Hit,
    /// Parsed now (and kept when it parsed and is small enough).
    Parsed,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl DocumentCache {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn get(&self, hash: &Hash) -> Option<Arc<Cached>> {
        // A poisoned lock only means a panic elsewhere mid-update of the LRU
        // order; the entries are still whole.
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(hash).cloned()
    }

    fn put(&self, hash: Hash, cached: Cached) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.put(hash, Arc::new(cached));
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives the request its parsed document: from the cache when its text
    /// (or its persisted-query hash) was seen before, else parsed now and
    /// kept. A document that does not parse is left for execution to report.
    pub fn attach(&self, req: &mut async_graphql::Request) -> Result<Lookup, AppError> {
        let persisted = persisted_hash(req)?;
        if req.query.is_empty() {
            let Persisted::Hash(hash) = persisted else {
                return Err(AppError::bad_input("the request has no query"));
            };
            let cached = self
                .get(&hash)
                .ok_or_else(|| AppError::bad_input(NOT_FOUND_MESSAGE))?;
            req.query = cached.text.clone();
            req.set_parsed_query(cached.document.clone());
            return Ok(Lookup::Hit);
        }
        let hash: Hash = Sha256::digest(req.query.as_bytes()).into();
        if let Persisted::Hash(claimed) = persisted {
            if claimed != hash {
                return Err(AppError::bad_input(
                    "persistedQuery.sha256Hash is not the SHA-256 of the query",
                ));
            }
        }
        if let Some(cached) = self.get(&hash) {
            req.set_parsed_query(cached.document.clone());
            return Ok(Lookup::Hit);
        }
        if req.query.len() <= MAX_CACHED_BYTES {
            let text = req.query.clone();
            if let Ok(document) = req.parsed_query() {
                let document = document.clone();
                self.put(hash, Cached { text, document });
            }
        }
        Ok(Lookup::Parsed)
    }
}

/// The hash a client sends for `text`: its SHA-256 in lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `extensions.persistedQuery`: version 1 with a hex SHA-256.
fn persisted_hash(req: &async_graphql::Request) -> Result<Persisted, AppError> {
    use async_graphql::Value;
    let Some(ext) = req.extensions.get("persistedQuery") else {
        return Ok(Persisted::No);
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
        assert_eq!(cache.attach(&mut first).unwrap(), Lookup::Parsed);
        let mut second = request(QUERY, None);
        assert_eq!(cache.attach(&mut second).unwrap(), Lookup::Hit);
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
            message(cache.attach(&mut alone).unwrap_err()),
            NOT_FOUND_MESSAGE
        );
        let mut with_text = request(QUERY, Some(ext.clone()));
        assert_eq!(cache.attach(&mut with_text).unwrap(), Lookup::Parsed);
        let mut alone = request("", Some(ext));
        assert_eq!(cache.attach(&mut alone).unwrap(), Lookup::Hit);
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
            let got = message(cache.attach(&mut req).unwrap_err());
            assert!(got.contains(expected), "{ext:?}: {got}");
        }
        assert!(cache.is_empty(), "a refused request must not be kept");
        let mut empty = request("", None);
        assert!(message(cache.attach(&mut empty).unwrap_err()).contains("no query"));
    }

    #[test]
    fn uppercase_hex_names_the_same_document() {
        let cache = DocumentCache::default();
        let upper = sha256_hex(QUERY).to_uppercase();
        let mut req = request(QUERY, Some(persisted(Value::from(1), &upper)));
        assert_eq!(cache.attach(&mut req).unwrap(), Lookup::Parsed);
    }

    #[test]
    fn unparsable_and_oversized_documents_are_not_kept() {
        let cache = DocumentCache::default();
        let mut broken = request("{ me { id }", None);
        assert_eq!(cache.attach(&mut broken).unwrap(), Lookup::Parsed);
        let padding = " ".repeat(MAX_CACHED_BYTES);
        let mut big = request(&format!("{QUERY}{padding}"), None);
        assert_eq!(cache.attach(&mut big).unwrap(), Lookup::Parsed);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_least_recently_used_document_leaves_first() {
        let cache = DocumentCache::with_capacity(2);
        for q in ["{ a }", "{ b }", "{ a }", "{ c }"] {
            cache.attach(&mut request(q, None)).unwrap();
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.attach(&mut request("{ a }", None)).unwrap(),
            Lookup::Hit
        );
        assert_eq!(
            cache.attach(&mut request("{ b }", None)).unwrap(),
            Lookup::Parsed
        );
    }
}
