//! Evidence files: screenshots and error logs uploaded with
//! `addClaimEvidence`, typed from their bytes (`sniff.rs`), named safely
//! (`names.rs`) and kept by their SHA-256 in an object store (`store.rs`).
//!
//! The file is stored before its row is written, and the row commits only
//! after: a failure at any point leaves no row without its file. A file
//! left without a row (the transaction failed after the store) is removed by
//! `refund-desk gc-evidence` once it is a day old.

pub mod names;
pub mod sniff;
pub mod store;

use chrono::Duration;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use sha2::{Digest, Sha256};

use entity::claim_evidence;

use crate::error::{AppError, AppResult};
use store::EvidenceStore;

/// Default `EVIDENCE_MAX_BYTES`: 10 MiB.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// The store and the size limit, shared by the mutation and the download.
#[derive(Clone, Debug)]
pub struct EvidenceSettings {
    pub store: EvidenceStore,
    /// `EVIDENCE_MAX_BYTES`.
    pub max_bytes: usize,
}

/// A file as uploaded, not yet checked: spooled to an unnamed temporary
/// file while the request was read, so an upload costs no more memory than
/// a few buffers.
#[derive(Debug)]
pub struct Upload {
    /// The client's name for it (only ever shown sanitised).
    pub file_name: String,
    pub file: std::fs::File,
}

/// A checked, stored file, ready for its evidence row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUpload {
    pub file_name: String,
    pub content_type: &'static str,
    pub size: i64,
    pub sha256: String,
}

/// Checks an upload (size, type from its bytes, dimensions) and stores it.
/// Every refusal is BAD_USER_INPUT; a store failure is internal.
pub async fn accept(
    store: &EvidenceStore,
    max_bytes: usize,
    upload: Upload,
) -> AppResult<StoredUpload> {
    let Upload { file_name, file } = upload;
    let (inspected, file) = tokio::task::spawn_blocking(move || inspect(file, max_bytes))
        .await
        .map_err(AppError::internal)??;
    store
        .put_file(&inspected.sha256, file, inspected.len)
        .await?;
    Ok(StoredUpload {
        file_name: names::sanitise(&file_name, inspected.kind),
        content_type: inspected.kind.content_type(),
        size: i64::try_from(inspected.len).unwrap_or(i64::MAX),
        sha256: inspected.sha256,
    })
}

/// What reading an upload found.
struct Inspected {
    kind: sniff::Kind,
    len: u64,
    sha256: String,
}

/// Reads the file's ends to type it, then the whole once to hash it (and,
/// for text, to check every character), a buffer at a time.
fn inspect(mut file: std::fs::File, max_bytes: usize) -> AppResult<(Inspected, std::fs::File)> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e: std::io::Error| AppError::internal(e);
    let len = file.metadata().map_err(io)?.len();
    if len > max_bytes as u64 {
        return Err(AppError::bad_input(format!(
            "the file is larger than {max_bytes} bytes"
        )));
    }
    let mut head = Vec::with_capacity(sniff::HEAD_BYTES.min(len as usize));
    file.rewind().map_err(io)?;
    (&mut file)
        .take(sniff::HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    let tail_len = len.min(sniff::TAIL_BYTES as u64);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(io)?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    (&mut file)
        .take(tail_len)
        .read_to_end(&mut tail)
        .map_err(io)?;
    let detected =
        sniff::detect_ends(&head, &tail, len).map_err(|r| AppError::bad_input(r.to_string()))?;
    file.rewind().map_err(io)?;
    let mut hasher = Sha256::new();
    let mut text = sniff::TextCheck::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if detected.kind == sniff::Kind::Text {
            text.feed(&buf[..n]);
        }
    }
    if detected.kind == sniff::Kind::Text && !text.finish() {
        return Err(AppError::bad_input(sniff::Refusal::Unsupported.to_string()));
    }
    file.rewind().map_err(io)?;
    let sha256 = hex::encode(hasher.finalize());
    Ok((
        Inspected {
            kind: detected.kind,
            len,
            sha256,
        },
        file,
    ))
}

/// Stored keys looked up per query by the collector.
const GC_CHUNK: usize = 500;

/// What a collection removed and kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub removed: usize,
    pub kept: usize,
    pub bytes_removed: u64,
}

/// Removes stored files that no evidence row names and that are older
/// than `min_age` (a younger one may belong to an upload whose row is
/// about to commit).
pub async fn collect_garbage<C: ConnectionTrait>(
    conn: &C,
    store: &EvidenceStore,
    min_age: Duration,
) -> AppResult<Collected> {
    let cutoff = chrono::Utc::now() - min_age;
    let mut out = Collected::default();
    let stored = store.list().await?;
    // Which of them a row names: one query per chunk of keys, not per file.
    let mut named = std::collections::HashSet::new();
    for chunk in stored.chunks(GC_CHUNK) {
        let keys: Vec<&str> = chunk.iter().map(|f| f.sha256.as_str()).collect();
        let found: Vec<Option<String>> = claim_evidence::Entity::find()
            .select_only()
            .column(claim_evidence::Column::Sha256)
            .filter(claim_evidence::Column::Sha256.is_in(keys))
            .distinct()
            .into_tuple()
            .all(conn)
            .await?;
        named.extend(found.into_iter().flatten());
    }
    for file in stored {
        if named.contains(&file.sha256) || file.last_modified > cutoff {
            out.kept += 1;
            continue;
        }
        store.delete(&file.sha256).await?;
        out.removed += 1;
        out.bytes_removed += file.size;
    }
    Ok(out)
}
