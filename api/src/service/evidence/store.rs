//! Where evidence files live: an object store (the `object_store` crate),
//! by content. A file's key is `<prefix>/<first two hex digits>/<sha256>`,
//! so storing the same bytes twice stores them once, and a key never names
//! other bytes.
//!
//! `EVIDENCE_STORE`: `file://<folder>` (default `file://data/evidence`,
//! relative to the working directory) or `s3://<bucket>[/<prefix>]`, with
//! the usual `AWS_*` variables (`AWS_ENDPOINT_URL` for S3-compatible stores
//! other than AWS).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::error::{AppError, AppResult};

/// The store behind evidence files.
#[derive(Clone, Debug)]
pub struct EvidenceStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// Parts of a multipart put (S3 wants at least 5 MiB but the last).
    part_size: usize,
    /// As configured, for logs.
    pub url: String,
}

/// A stored file no evidence row may name any more (for the collector).
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub sha256: String,
    pub last_modified: DateTime<Utc>,
    pub size: u64,
}

/// A configuration the store refuses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl EvidenceStore {
    /// Opens the store of `url` (creating a local folder, private to its
    /// owner, when missing).
    pub fn open(url: &str) -> Result<EvidenceStore, StoreError> {
        let bad = |why: String| StoreError(format!("EVIDENCE_STORE {url:?}: {why}"));
        if let Some(folder) = url.strip_prefix("file://") {
            if folder.is_empty() {
                return Err(bad("a file:// store needs a folder".into()));
            }
            std::fs::create_dir_all(folder).map_err(|e| bad(e.to_string()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700));
            }
            let store = LocalFileSystem::new_with_prefix(folder).map_err(|e| bad(e.to_string()))?;
            return Ok(EvidenceStore {
                store: Arc::new(store),
                prefix: Path::default(),
                // A local part is a write at an offset: small ones cost
                // nothing, and keep an upload's memory to a few of them.
                part_size: 256 * 1024,
                url: url.to_string(),
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("an s3:// store needs a bucket".into()));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                builder = builder
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false);
            }
            let store = builder.build().map_err(|e| bad(e.to_string()))?;
            return Ok(EvidenceStore {
                store: Arc::new(store),
                prefix: Path::from(prefix.trim_matches('/')),
                part_size: 5 * 1024 * 1024,
                url: url.to_string(),
            });
        }
        Err(bad(
            "expected file://<folder> or s3://<bucket>[/<prefix>]".into()
        ))
    }

    fn key(&self, sha256: &str) -> Path {
        self.prefix.child(&sha256[..2]).child(sha256)
    }

    /// Stores `bytes` under their SHA-256 (already computed by the caller).
    pub async fn put(&self, sha256: &str, bytes: Bytes) -> AppResult<()> {
        if !is_sha256(sha256) {
            return Err(AppError::internal("an evidence key that is not a SHA-256"));
        }
        self.store
            .put(&self.key(sha256), PutPayload::from_bytes(bytes))
            .await
            .map_err(AppError::internal)?;
        Ok(())
    }

    /// Stores a file under its SHA-256 from disk, a part at a time: one
    /// put when it fits a part, else a multipart put with one part in
    /// flight beside the one being filled, aborted on failure. Memory per
    /// upload: two parts (512 KiB on a folder, 10 MiB on S3, whose parts are
    /// at least 5 MiB).
    pub async fn put_file(&self, sha256: &str, file: std::fs::File, len: u64) -> AppResult<()> {
        if !is_sha256(sha256) {
            return Err(AppError::internal("an evidence key that is not a SHA-256"));
        }
        let mut file = tokio::fs::File::from_std(file);
        if len <= self.part_size as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes)
                .await
                .map_err(AppError::internal)?;
            return self.put(sha256, Bytes::from(bytes)).await;
        }
        let upload = self
            .store
            .put_multipart(&self.key(sha256))
            .await
            .map_err(AppError::internal)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut buf = vec![0u8; 256 * 1024];
        let copied: Result<(), AppError> = async {
            loop {
                let n = file.read(&mut buf).await.map_err(AppError::internal)?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(1)
                    .await
                    .map_err(AppError::internal)?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match copied {
            Ok(()) => writer
                .finish()
                .await
                .map(|_| ())
                .map_err(AppError::internal),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// The file's bytes as a stream (never read whole into memory).
    pub async fn get(
        &self,
        sha256: &str,
    ) -> AppResult<BoxStream<'static, Result<Bytes, std::io::Error>>> {
        if !is_sha256(sha256) {
            return Err(AppError::internal("an evidence key that is not a SHA-256"));
        }
        let found = self
            .store
            .get(&self.key(sha256))
            .await
            .map_err(AppError::internal)?;
        Ok(found.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// Every stored file.
    pub async fn list(&self) -> AppResult<Vec<StoredFile>> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let mut out = Vec::new();
        let mut listing = self.store.list(prefix);
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(AppError::internal)?;
            let Some(name) = meta.location.filename() else {
                continue;
            };
            // Only what this store wrote: a key that is a SHA-256.
            if is_sha256(name) {
                out.push(StoredFile {
                    sha256: name.to_string(),
                    last_modified: meta.last_modified,
                    size: meta.size,
                });
            }
        }
        Ok(out)
    }

    pub async fn delete(&self, sha256: &str) -> AppResult<()> {
        if !is_sha256(sha256) {
            return Err(AppError::internal("an evidence key that is not a SHA-256"));
        }
        self.store
            .delete(&self.key(sha256))
            .await
            .map_err(AppError::internal)
    }
}
