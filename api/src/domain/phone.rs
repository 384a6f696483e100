//! Phone numbers in E.164 form (`+4915112345689`), the form WhatsApp delivery
//! needs, and their masked form for staff who may not see them in full.

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Why a string is not an E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid phone number in international format, e.g. +4915112345689")]
pub struct InvalidPhone;

impl Phone {
    /// Fewest digits after the `+`: shorter numbers are not dialable
    /// internationally and are usually a missing country code.
    pub const MIN_DIGITS: usize = 8;
    /// Most digits after the `+`, the E.164 limit.
    pub const MAX_DIGITS: usize = 15;

    /// Trims, drops the separators people type (spaces, `-`, `.`, `(`, `)`)
    /// and checks the E.164 shape. A leading `00` or a national `0` is refused
    /// rather than guessed, since guessing a country could message a stranger.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let s: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = s.strip_prefix('+').ok_or(InvalidPhone)?;
        let len_ok = (Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len());
        if !len_ok || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return Err(InvalidPhone);
        }
        Ok(Phone(s))
    }

    /// The stored E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The masked form shown to analysts, see [`mask_phone`].
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Masks any stored number, even one that would no longer parse: the first
/// three characters (`+` and the start of the country code) and the last two
/// stay, everything between becomes `*`, one per character, so the length is
/// kept. Strings of five characters or fewer would show nearly everything that
/// way, so they are masked entirely.
pub fn mask_phone(stored: &str) -> String {
    let chars: Vec<char> = stored.chars().collect();
    let n = chars.len();
    if n <= 5 {
        return "*".repeat(n);
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < 3 || i >= n - 2 { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let cases = [
            ("+4915112345689", "+4915112345689"),
            ("  +49 151 1234 5689 ", "+4915112345689"),
            ("+1 (555) 123-4567", "+15551234567"),
            ("+44.20.7946.0958", "+442079460958"),
            ("+12345678", "+12345678"), // 8 digits, the minimum
            ("+123456789012345", "+123456789012345"), // 15 digits, the maximum
            ("+9-9-9-9-9-9-9-9", "+99999999"),
        ];
        for (raw, want) in cases {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn rejects_malformed() {
        let cases = [
            "",
            "   ",
            "+",
            "4915112345689",     // no '+'
            "004915112345689",   // international prefix instead of '+'
            "+1234567",          // 7 digits
            "+1234567890123456", // 16 digits
            "+0123456789",       // first digit 0
            "++4915112345689",
            "+49151123456a9",
            "+49/151/12345689",
            "+49_15112345689",
            "+49\t15112345689",
            "+４９15112345689", // full-width digits
            "4915112345689+",
        ];
        for raw in cases {
            assert_eq!(Phone::parse(raw), Err(InvalidPhone), "{raw:?}");
        }
    }

    #[test]
    fn masks_all_but_the_ends() {
        let cases = [
            ("+4915112345689", "+49*********89"),
            ("+12345678", "+12****78"),
            ("123456", "123*56"),
            ("12345", "*****"),
            ("+1", "**"),
            ("", ""),
            ("+49 1ä1 23", "+49*****23"),
        ];
        for (stored, want) in cases {
            assert_eq!(mask_phone(stored), want, "{stored:?}");
        }
        let phone = Phone::parse("+4915112345689").unwrap();
        assert_eq!(phone.masked(), "+49*********89");
        assert_eq!(phone.as_ref(), "+4915112345689");
    }

    #[test]
    fn error_reads_as_a_sentence() {
        assert_eq!(
            InvalidPhone.to_string(),
            "not a valid phone number in international format, e.g. +4915112345689"
        );
    }
}
