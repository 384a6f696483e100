//! The staff console's and GraphiQL's browser files (`web/`), compiled into
//! the binary so `cargo build` alone gives a working console and nothing is
//! fetched from elsewhere at run time. A crate of its own so that editing a
//! page recompiles only this small crate, not the API.

use std::borrow::Cow;

#[derive(rust_embed::Embed)]
#[folder = "web/"]
struct Files;

/// One embedded file, ready to serve.
pub struct Asset {
    pub bytes: Cow<'static, [u8]>,
    pub content_type: &'static str,
    /// A strong validator: the hex SHA-256 of the bytes.
    pub digest: String,
}

/// The file at `path` (relative to `web/`, no leading slash).
pub fn get(path: &str) -> Option<Asset> {
    let file = Files::get(path)?;
    Some(Asset {
        content_type: content_type(path),
        digest: hex::encode(file.metadata.sha256_hash()),
        bytes: file.data,
    })
}

/// Every embedded path, relative to `web/`.
pub fn paths() -> impl Iterator<Item = Cow<'static, str>> {
    Files::iter()
}

/// The media type by extension: only types this folder holds, so an
/// unexpected file is served as bytes rather than guessed at.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("md" | "graphiql" | "react" | "react-dom") => "text/plain; charset=utf-8",
        _ if path.ends_with("SHA256SUMS") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The vendored third-party files are exactly the pinned release bytes
    /// (`vendor.sh` wrote the sums); a hand edit or a partial upgrade fails.
    #[test]
    fn vendored_files_match_their_pinned_digests() {
        let sums = get("vendor/SHA256SUMS").expect("vendor/SHA256SUMS is embedded");
        let sums = std::str::from_utf8(&sums.bytes).unwrap();
        let mut checked = 0;
        for line in sums.lines() {
            let (digest, name) = line.split_once("  ").expect("sha256sum format");
            let file = get(&format!("vendor/{name}")).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(hex::encode(Sha256::digest(&file.bytes)), digest, "{name}");
            checked += 1;
        }
        let vendored = paths().filter(|p| p.starts_with("vendor/")).count();
        assert_eq!(checked + 1, vendored, "every vendored file is pinned");
        assert!(checked >= 4);
    }

    /// Nothing the browser loads points outside this server: no CDN, no
    /// outside fonts. The vendored bundles mention URLs in help text and
    /// licences, so only loadable references are checked: HTML src/href
    /// attributes, CSS url() and @import, and module imports.
    #[test]
    fn no_file_loads_anything_from_another_origin() {
        for path in paths() {
            let file = get(&path).unwrap();
            let Ok(text) = std::str::from_utf8(&file.bytes) else {
                continue;
            };
            let lower = text.to_ascii_lowercase();
            for needle in [
                "src=\"http",
                "href=\"http",
                "src=\"//",
                "href=\"//",
                "url(http",
                "url(\"http",
                "url('http",
                "url(//",
                "@import \"http",
                "@import url(http",
                "from \"http",
                "from 'http",
                "import(\"http",
                "import('http",
            ] {
                assert!(
                    !lower.contains(needle),
                    "{path} loads from elsewhere: {needle}"
                );
            }
        }
    }

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(
            get("index.html").map(|a| a.content_type),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("console.css"), "text/css; charset=utf-8");
        assert_eq!(
            content_type("vendor/LICENSE.react"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type("x.exe"), "application/octet-stream");
        assert!(get("../Cargo.toml").is_none());
        assert!(get("nope.js").is_none());
    }
}
