//! What an uploaded file is, from its bytes (never from its name or the
//! client's content type), and whether it is whole.
//!
//! Accepted: PNG, JPEG, WebP, GIF, PDF and UTF-8 text. Images are read
//! for their dimensions from their headers only (`imagesize`), never
//! decoded, and refused above [`MAX_PIXELS`] (a decompression bomb is a
//! small file with a huge header). Anything that looks like markup in its
//! first bytes is refused whatever its type (an HTML page named `.png`, an
//! SVG, a GIF/HTML polyglot): a browser must never get a page of ours.

/// 40 megapixels.
pub const MAX_PIXELS: u64 = 40_000_000;

/// How far into a file markup is looked for.
const MARKUP_WINDOW: usize = 1024;

const MARKUP: &[&[u8]] = &[
    b"<html",
    b"<script",
    b"<svg",
    b"<!doctype",
    b"<body",
    b"<iframe",
    b"<?xml",
    b"<head",
    b"<object",
    b"<embed",
];

/// An accepted kind of file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Png,
    Jpeg,
    WebP,
    Gif,
    Pdf,
    Text,
}

impl Kind {
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::WebP => "image/webp",
            Kind::Gif => "image/gif",
            Kind::Pdf => "application/pdf",
            Kind::Text => "text/plain; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpg",
            Kind::WebP => "webp",
            Kind::Gif => "gif",
            Kind::Pdf => "pdf",
            Kind::Text => "txt",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Kind::Png | Kind::Jpeg | Kind::WebP | Kind::Gif)
    }
}

/// Why a file was refused, in words for the person uploading it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not a PNG, JPEG, WebP, GIF, PDF or UTF-8 text file (by its content)")]
    Unsupported,
    #[error("the file contains markup (HTML, SVG or XML)")]
    Markup,
    #[error("the {} file is truncated or damaged", .0.extension().to_uppercase())]
    Truncated(Kind),
    #[error("the image is {width} × {height} pixels: at most {} megapixels", MAX_PIXELS / 1_000_000)]
    TooManyPixels { width: u64, height: u64 },
}

fn contains_markup(bytes: &[u8]) -> bool {
    let window = &bytes[..bytes.len().min(MARKUP_WINDOW)];
    let lower: Vec<u8> = window.iter().map(u8::to_ascii_lowercase).collect();
    MARKUP
        .iter()
        .any(|tag| lower.windows(tag.len()).any(|w| w == *tag))
}

fn kind_of(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Kind::WebP)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if bytes.starts_with(b"%PDF-") {
        Some(Kind::Pdf)
    } else {
        None
    }
}

/// How much of a file's start is read to type it: enough for the image
/// headers behind a large EXIF block.
pub const HEAD_BYTES: usize = 256 * 1024;
/// How much of a file's end is read to check it is whole.
pub const TAIL_BYTES: usize = 1024;

/// Whether the file ends as its format ends (a cut-off upload does not),
/// from its first bytes, its last bytes and its length.
fn whole(kind: Kind, head: &[u8], tail: &[u8], len: u64) -> bool {
    // Some writers pad with NULs or a newline after the end marker.
    let end = tail
        .iter()
        .rposition(|b| !matches!(b, 0 | b'\n' | b'\r'))
        .map_or(0, |i| i + 1);
    let trimmed = &tail[..end];
    match kind {
        Kind::Png => trimmed.ends_with(&[0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]),
        Kind::Jpeg => trimmed.ends_with(&[0xFF, 0xD9]),
        Kind::Gif => trimmed.ends_with(&[0x3B]),
        Kind::WebP => {
            let declared = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as u64;
            declared + 8 <= len
        }
        Kind::Pdf => trimmed.windows(5).any(|w| w == b"%%EOF"),
        Kind::Text => true,
    }
}

/// Checks that a stream of chunks is plain text: UTF-8 without NULs or
/// control characters other than tab, line feed, carriage return and form
/// feed. A character split across two chunks is carried over.
#[derive(Debug, Default)]
pub struct TextCheck {
    carry: Vec<u8>,
    failed: bool,
}

impl TextCheck {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.failed {
            return;
        }
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(chunk);
        let valid_up_to = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            // Only an incomplete character at the very end may wait.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                self.failed = true;
                return;
            }
        };
        let (text, rest) = bytes.split_at(valid_up_to);
        let text = std::str::from_utf8(text).unwrap_or_default();
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
        {
            self.failed = true;
            return;
        }
        self.carry = rest.to_vec();
    }

    /// True when everything fed was text (nothing left half a character).
    pub fn finish(self) -> bool {
        !self.failed && self.carry.is_empty()
    }
}

/// What a file is, with its dimensions when it is an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    pub kind: Kind,
    pub dimensions: Option<(u64, u64)>,
}

/// Types a file of `len` bytes from its first bytes (`head`, up to
/// [`HEAD_BYTES`]) and its last (`tail`, up to [`TAIL_BYTES`]): refuses
/// markup, other types, truncated files and images over [`MAX_PIXELS`].
/// A `Text` file still has to pass [`TextCheck`] over all its bytes.
pub fn detect_ends(head: &[u8], tail: &[u8], len: u64) -> Result<Detected, Refusal> {
    if len == 0 || head.is_empty() {
        return Err(Refusal::Empty);
    }
    if contains_markup(head) {
        return Err(Refusal::Markup);
    }
    let kind = match kind_of(head) {
        Some(k) => k,
        None => {
            let mut check = TextCheck::default();
            check.feed(head);
            // A head cut inside a character is fine: the rest is checked
            // with the whole file.
            let looks_like_text = if (head.len() as u64) < len {
                !check.failed
            } else {
                check.finish()
            };
            if !looks_like_text {
                return Err(Refusal::Unsupported);
            }
            Kind::Text
        }
    };
    let dimensions = if kind.is_image() {
        let size = imagesize::blob_size(head).map_err(|_| Refusal::Truncated(kind))?;
        let (width, height) = (size.width as u64, size.height as u64);
        if width == 0 || height == 0 {
            return Err(Refusal::Truncated(kind));
        }
        if width.saturating_mul(height) > MAX_PIXELS {
            return Err(Refusal::TooManyPixels { width, height });
        }
        Some((width, height))
    } else {
        None
    };
    if !whole(kind, head, tail, len) {
        return Err(Refusal::Truncated(kind));
    }
    Ok(Detected { kind, dimensions })
}

/// [`detect_ends`] and, for text, [`TextCheck`], over a file in memory.
pub fn detect(bytes: &[u8]) -> Result<Detected, Refusal> {
    let head = &bytes[..bytes.len().min(HEAD_BYTES)];
    let tail = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
    let detected = detect_ends(head, tail, bytes.len() as u64)?;
    if detected.kind == Kind::Text {
        let mut check = TextCheck::default();
        check.feed(bytes);
        if !check.finish() {
            return Err(Refusal::Unsupported);
        }
    }
    Ok(detected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut p = PNG_1X1.to_vec();
        p[16..20].copy_from_slice(&w.to_be_bytes());
        p[20..24].copy_from_slice(&h.to_be_bytes());
        p
    }

    fn jpeg() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend([
            0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x30, 0x03, 0x01, 0x22, 0x00, 0x02,
            0x11, 0x01, 0x03, 0x11, 0x01,
        ]);
        j.extend([0xFF, 0xD9]);
        j
    }

    fn webp(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"RIFF".to_vec();
        v.extend(22u32.to_le_bytes());
        v.extend(b"WEBPVP8X");
        v.extend(10u32.to_le_bytes());
        v.extend([0, 0, 0, 0]);
        v.extend(&(w - 1).to_le_bytes()[..3]);
        v.extend(&(h - 1).to_le_bytes()[..3]);
        v
    }

    /// The kind and dimensions detected, or the refusal.
    type Expected = Result<(Kind, Option<(u64, u64)>), Refusal>;

    #[test]
    fn text_is_checked_across_chunk_boundaries() {
        let text = "Fehler: Zugriff verweigert — über 100 €\n".repeat(50);
        for size in [1, 2, 3, 7, 64, 4096] {
            let mut check = TextCheck::default();
            for chunk in text.as_bytes().chunks(size) {
                check.feed(chunk);
            }
            assert!(check.finish(), "chunks of {size}");
        }
        let mut cut = TextCheck::default();
        cut.feed(&"€".as_bytes()[..2]);
        assert!(!cut.finish(), "a file ending inside a character");
        let mut bad = TextCheck::default();
        bad.feed(b"fine\n");
        bad.feed(b"then \x1b[31m escape");
        assert!(!bad.finish());
    }

    #[test]
    fn files_are_typed_by_their_bytes_and_refused_when_they_lie() {
        let mut gif = b"GIF89a".to_vec();
        gif.extend([0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x3B]);
        let mut polyglot = b"GIF89a\x01\x00\x01\x00".to_vec();
        polyglot.extend(b"<script>alert(document.domain)</script>;");
        let pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
        let truncated_pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\n".to_vec();
        let mut truncated_png = PNG_1X1.to_vec();
        truncated_png.truncate(50);
        let mut truncated_jpeg = jpeg();
        truncated_jpeg.truncate(15);
        let mut short_webp = webp(64, 48);
        short_webp.truncate(26);
        let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
            ("png", PNG_1X1.to_vec(), Ok((Kind::Png, Some((1, 1))))),
            ("jpeg", jpeg(), Ok((Kind::Jpeg, Some((48, 32))))),
            ("gif", gif, Ok((Kind::Gif, Some((2, 3))))),
            ("webp", webp(64, 48), Ok((Kind::WebP, Some((64, 48))))),
            ("pdf", pdf, Ok((Kind::Pdf, None))),
            (
                "text",
                "Fehler 403: Zugriff verweigert\n\tüber\r\n".into(),
                Ok((Kind::Text, None)),
            ),
            (
                "40 MP exactly",
                png_claiming(8000, 5000),
                Ok((Kind::Png, Some((8000, 5000)))),
            ),
            ("empty", vec![], Err(Refusal::Empty)),
            (
                "html named .png",
                b"<!DOCTYPE html><html><body>hi</body></html>".to_vec(),
                Err(Refusal::Markup),
            ),
            (
                "html, upper case, after spaces",
                b"  \n<HTML><SCRIPT>x</SCRIPT>".to_vec(),
                Err(Refusal::Markup),
            ),
            (
                "svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>x</script></svg>".to_vec(),
                Err(Refusal::Markup),
            ),
            (
                "xml",
                b"<?xml version=\"1.0\"?><a/>".to_vec(),
                Err(Refusal::Markup),
            ),
            ("gif/html polyglot", polyglot, Err(Refusal::Markup)),
            (
                "zip",
                b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec(),
                Err(Refusal::Unsupported),
            ),
            (
                "elf",
                b"\x7fELF\x02\x01\x01\x00".to_vec(),
                Err(Refusal::Unsupported),
            ),
            (
                "nul in text",
                b"hello\0world".to_vec(),
                Err(Refusal::Unsupported),
            ),
            (
                "latin-1 text",
                b"caf\xe9".to_vec(),
                Err(Refusal::Unsupported),
            ),
            (
                "truncated png",
                truncated_png,
                Err(Refusal::Truncated(Kind::Png)),
            ),
            (
                "truncated jpeg",
                truncated_jpeg,
                Err(Refusal::Truncated(Kind::Jpeg)),
            ),
            (
                "truncated webp",
                short_webp,
                Err(Refusal::Truncated(Kind::WebP)),
            ),
            (
                "pdf without its end",
                truncated_pdf,
                Err(Refusal::Truncated(Kind::Pdf)),
            ),
            (
                "100k x 100k header",
                png_claiming(100_000, 100_000),
                Err(Refusal::TooManyPixels {
                    width: 100_000,
                    height: 100_000,
                }),
            ),
            (
                "one pixel over 40 MP",
                png_claiming(40_000_001, 1),
                Err(Refusal::TooManyPixels {
                    width: 40_000_001,
                    height: 1,
                }),
            ),
            (
                "zero width",
                png_claiming(0, 10),
                Err(Refusal::Truncated(Kind::Png)),
            ),
        ];
        for (name, bytes, expected) in cases {
            let got = detect(&bytes).map(|d| (d.kind, d.dimensions));
            assert_eq!(got, expected, "{name}");
        }
    }
}
