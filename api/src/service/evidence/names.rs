//! File names as shown and sent back in `Content-Disposition`: the client's
//! name reduced to a safe base name, with the extension of the detected
//! type (a PDF named `.png` is served as `.pdf`).

use super::sniff::Kind;

/// The longest base name kept (before the extension).
const MAX_STEM_CHARS: usize = 100;

/// A name safe to show and to put in a header: no folders, no control or
/// invisible characters, no quotes or separators, at most 100 characters
/// and the detected type's extension.
pub fn sanitise(raw: &str, kind: Kind) -> String {
    // Only the last path segment, whatever the separator.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    };
    let mut clean = String::new();
    for c in stem.chars() {
        let keep = c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')' | '.' | ',');
        if keep && !c.is_control() {
            clean.push(c);
        } else if !clean.ends_with('_') {
            clean.push('_');
        }
    }
    let clean: String = clean
        .trim_matches(|c: char| c == '.' || c == ' ' || c == '_')
        .chars()
        .take(MAX_STEM_CHARS)
        .collect();
    let stem = if clean.is_empty() {
        "evidence"
    } else {
        clean.as_str()
    };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_a_safe_base_name_with_the_detected_extension() {
        let cases = [
            ("screenshot.png", Kind::Png, "screenshot.png"),
            ("../../etc/passwd", Kind::Text, "passwd.txt"),
            ("..\\..\\windows\\evil.exe", Kind::Png, "evil.png"),
            ("report.pdf.png", Kind::Pdf, "report.pdf.pdf"),
            ("page.html", Kind::Png, "page.png"),
            ("a\u{0}b\nc\r\u{7}.jpg", Kind::Jpeg, "a_b_c.jpg"),
            (
                "\"quoted\"; filename=x.png",
                Kind::Png,
                "quoted_ filename_x.png",
            ),
            ("", Kind::Gif, "evidence.gif"),
            ("....", Kind::Pdf, "evidence.pdf"),
            ("/", Kind::Text, "evidence.txt"),
            (
                "Snímek obrazovky 2026-11-20.webp",
                Kind::WebP,
                "Snímek obrazovky 2026-11-20.webp",
            ),
            ("\u{202e}gnp.exe", Kind::Png, "gnp.png"),
        ];
        for (raw, kind, expected) in cases {
            assert_eq!(sanitise(raw, kind), expected, "{raw:?}");
        }
        let long = sanitise(&"x".repeat(10_000), Kind::Png);
        assert_eq!(long, format!("{}.png", "x".repeat(100)));
    }
}
