//! Email addresses, normalised for lookups (trimmed, NFKC, lower-case).

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A syntactically plausible email address, stored lower-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a string is not an email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

impl Email {
    /// Longest address we store (fits the 255-character column).
    pub const MAX_LEN: usize = 254;

    /// Trims, normalises (NFKC, then lower case, so two addresses that look
    /// the same compare equal) and checks the shape `local@domain.tld`: one
    /// `@`, no spaces, no control, format or other invisible characters, a
    /// dot in the domain, no empty labels.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        if raw.chars().any(is_invisible) {
            return Err(InvalidEmail);
        }
        let s: String = raw
            .trim()
            .nfkc()
            .collect::<String>()
            .to_lowercase()
            .nfkc()
            .collect();
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(InvalidEmail);
        }
        if s.chars().any(|c| c.is_whitespace() || is_invisible(c)) {
            return Err(InvalidEmail);
        }
        let (local, domain) = s.split_once('@').ok_or(InvalidEmail)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(InvalidEmail);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-')) {
            return Err(InvalidEmail);
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The masked form shown to analysts: first character of the local part,
    /// then `***`, then the domain (`j***@example.com`).
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

/// Characters that show nothing (or nothing distinct) on screen: controls,
/// format characters (zero-width spaces and joiners, bidi controls, the BOM,
/// soft hyphen) and the other default-ignorable code points, such as
/// variation selectors and Hangul fillers. An address holding one can look
/// exactly like another.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Masks any stored address, even one that would no longer parse.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let cases = [
            ("Jane@Example.com", "jane@example.com"),
            ("  a.b+c@sub.example.org ", "a.b+c@sub.example.org"),
            // Fullwidth and compatibility forms fold to what they look like.
            ("ＪＡＮＥ@example.com", "jane@example.com"),
            ("jane@ｅxample.com", "jane@example.com"),
            ("ﬁ@example.com", "fi@example.com"),
            // Composed and decomposed accents are one address.
            ("jose\u{301}@example.com", "jos\u{e9}@example.com"),
        ];
        for (raw, want) in cases {
            assert_eq!(Email::parse(raw).unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn rejects_malformed() {
        let long = format!("{}@example.com", "a".repeat(300));
        let cases = [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@-b.com",
            "a\u{0}@b.com",
            "a\u{200B}@b.com",
            "\u{FEFF}a@b.com",
            "ad\u{00AD}min@b.com",
            "a@b\u{200D}.com",
            "a\u{202E}moc.b@c.com",
            "a\u{FE0F}@b.com",
            "\u{3164}a@b.com",
            "a\u{2028}@b.com",
            long.as_str(),
        ];
        for raw in cases {
            assert_eq!(Email::parse(raw), Err(InvalidEmail), "{raw:?}");
        }
    }

    #[test]
    fn masks_local_part() {
        assert_eq!(
            Email::parse("jane@example.com").unwrap().masked(),
            "j***@example.com"
        );
        assert_eq!(mask_email("broken"), "***");
    }
}
