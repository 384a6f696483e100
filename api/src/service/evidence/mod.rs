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

use bytes::Bytes;
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

/// A file as uploaded, not yet checked.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The client's name for it (only ever shown sanitised).
    pub file_name: String,
    pub bytes: Bytes,
}

/// A checked, stored file, ready for its evidence row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUpload {
    pub file_name: String,
    pub content_type: &'static str,
    pub size: i64,
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks an upload (size, type from its bytes, dimensions) and stores it.
/// Every refusal is BAD_USER_INPUT; a store failure is internal.
pub async fn accept(
    store: &EvidenceStore,
    max_bytes: usize,
    upload: Upload,
) -> AppResult<StoredUpload> {
    if upload.bytes.len() > max_bytes {
        return Err(AppError::bad_input(format!(
            "the file is larger than {max_bytes} bytes"
        )));
    }
    let detected = sniff::detect(&upload.bytes).map_err(|r| AppError::bad_input(r.to_string()))?;
    let file_name = names::sanitise(&upload.file_name, detected.kind);
    let sha256 = sha256_hex(&upload.bytes);
    let size = upload.bytes.len() as i64;
    store.put(&sha256, upload.bytes).await?;
    Ok(StoredUpload {
        file_name,
        content_type: detected.kind.content_type(),
        size,
        sha256,
    })
}

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
    for file in store.list().await? {
        let named = claim_evidence::Entity::find()
            .select_only()
            .column(claim_evidence::Column::Id)
            .filter(claim_evidence::Column::Sha256.eq(file.sha256.as_str()))
            .into_tuple::<uuid::Uuid>()
            .one(conn)
            .await?
            .is_some();
        if named || file.last_modified > cutoff {
            out.kept += 1;
            continue;
        }
        store.delete(&file.sha256).await?;
        out.removed += 1;
        out.bytes_removed += file.size;
    }
    Ok(out)
}
