//! Evidence files for the upload tests: small, valid files of each accepted
//! type, and the ways a file can lie; and the multipart request a browser
//! sends for `addClaimEvidence`.

use serde_json::{json, Value};

use crate::TestApp;

/// A 1 × 1 PNG.
pub fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

/// A PNG whose header claims `width` × `height` (nothing behind it decodes).
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut p = png();
    p[16..20].copy_from_slice(&width.to_be_bytes());
    p[20..24].copy_from_slice(&height.to_be_bytes());
    p
}

/// A 16 × 16 baseline JPEG's markers (start, frame header, end).
pub fn jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend([
        0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00,
    ]);
    j.extend([
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11,
        0x01, 0x03, 0x11, 0x01,
    ]);
    j.extend([0xFF, 0xD9]);
    j
}

/// A 2 × 3 GIF.
pub fn gif() -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend([0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x3B]);
    g
}

/// A 64 × 48 WebP (extended header).
pub fn webp() -> Vec<u8> {
    let mut w = b"RIFF".to_vec();
    w.extend(22u32.to_le_bytes());
    w.extend(b"WEBPVP8X");
    w.extend(10u32.to_le_bytes());
    w.extend([0, 0, 0, 0]);
    w.extend([63, 0, 0]);
    w.extend([47, 0, 0]);
    w
}

pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

pub fn text() -> Vec<u8> {
    "IPTV player: ERROR 403 — stream not authorised (code 0x1F)\r\n"
        .as_bytes()
        .to_vec()
}

/// The upload mutation, with the fields the tests read back.
pub const UPLOAD: &str = "mutation($c: ID!, $input: EvidenceInput!) { addClaimEvidence(claimId: $c, input: $input) { id status evidence { id kind file { fileName contentType size sha256 downloadUrl } } } }";

/// The GraphQL multipart request for `addClaimEvidence` with one file.
pub fn upload_form(
    claim: &str,
    kind: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> reqwest::multipart::Form {
    let operations = json!({
        "query": UPLOAD,
        "variables": { "c": claim, "input": { "kind": kind, "file": null } },
    });
    reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(file_name.to_string())
                // The client's claim, whatever the bytes are: the server
                // must type the file from its content, never from this.
                .mime_str("image/png")
                .expect("a media type"),
        )
}

/// The download URL of the file of `size` bytes among the evidence an
/// `addClaimEvidence` answer lists.
pub fn download_url_of_size(body: &Value, size: usize) -> String {
    body["data"]["addClaimEvidence"]["evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|e| e["file"]["size"] == size)
        .unwrap_or_else(|| panic!("no file of {size} bytes in {body}"))["file"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string()
}

impl TestApp {
    /// Posts a multipart form to `/graphql`; the HTTP status and the body.
    pub async fn post_form(
        &self,
        token: Option<&str>,
        form: reqwest::multipart::Form,
    ) -> (u16, Value) {
        let mut req = self.client.post(self.url("/graphql")).multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Uploads `bytes` as evidence of `claim`; the whole answer.
    pub async fn upload_evidence(
        &self,
        token: &str,
        claim: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        self.post_form(
            Some(token),
            upload_form(claim, "SCREENSHOT", file_name, bytes),
        )
        .await
    }
}
