//! Validation of the free text staff and integrations send: trimmed,
//! bounded, and free of control characters; notes and descriptions may span
//! lines (line feeds and tabs; a CR LF pair is kept as a line feed).

use crate::error::{AppError, AppResult};

/// Longest description, note or evidence text accepted.
pub const MAX_TEXT: usize = 10_000;
/// Longest search or filter text accepted: longer is no real search, and
/// costs the database (a long LIKE pattern is refused by SQLite outright).
pub const MAX_FILTER_TEXT: usize = 200;

/// Trims a search or filter text; empty becomes `None`; longer than
/// [`MAX_FILTER_TEXT`] characters is BAD_USER_INPUT.
pub fn filter_text(value: Option<&str>, field: &str) -> AppResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_FILTER_TEXT => Err(AppError::bad_input(format!(
            "{field} must be at most {MAX_FILTER_TEXT} characters"
        ))),
        other => Ok(other.map(str::to_string)),
    }
}

/// Bounds a filter compared for equality (an order number, an action) to
/// [`MAX_FILTER_TEXT`] characters; the value is kept as given.
pub fn exact_filter(value: Option<String>, field: &str) -> AppResult<Option<String>> {
    match value {
        Some(v) if v.chars().count() > MAX_FILTER_TEXT => Err(AppError::bad_input(format!(
            "{field} must be at most {MAX_FILTER_TEXT} characters"
        ))),
        other => Ok(other),
    }
}

/// Trims required free text (a note, a description) and checks its length.
pub fn required_text(value: &str, field: &str) -> AppResult<String> {
    required_text_up_to(value, field, MAX_TEXT)
}

/// Trims required text and checks it holds 1 to `max` characters.
pub fn required_text_up_to(value: &str, field: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::bad_input(format!(
            "{field} must be 1 to {max} characters"
        )));
    }
    multi_line(v, field)
}

/// Trims a required single-line value (a reference, a code) and checks it
/// holds 1 to `max` characters and no control character at all.
pub fn required_line_up_to(value: &str, field: &str, max: usize) -> AppResult<String> {
    // The one-line rule first: its message is the one that fits the field
    // (the multi-line check would speak of line breaks being allowed).
    single_line(value.trim(), field)?;
    required_text_up_to(value, field, max)
}

fn single_line(value: &str, field: &str) -> AppResult<()> {
    if value.chars().any(char::is_control) {
        return Err(AppError::bad_input(format!(
            "{field} must be one line without control characters"
        )));
    }
    Ok(())
}

/// Text that may span lines: CR LF becomes LF; any other control character
/// (NUL, escape sequences, a lone CR that rewrites a line in a terminal) is
/// refused, as it is in single-line fields.
fn multi_line(value: &str, field: &str) -> AppResult<String> {
    let v = value.replace("\r\n", "\n");
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::bad_input(format!(
            "{field} must not contain control characters other than line breaks and tabs"
        )));
    }
    Ok(v)
}

/// Trims optional free text (a note, a reason) that may span lines: empty
/// becomes `None`, longer than `max` characters is refused. Notes follow the
/// rules of [`required_text`]: line breaks are part of what staff write.
pub fn optional_note(value: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    match value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        Some(v) if v.chars().count() > max => Err(AppError::bad_input(format!(
            "{field} must be at most {max} characters"
        ))),
        Some(v) => multi_line(&v, field).map(Some),
        None => Ok(None),
    }
}

/// Trims an optional single-line field; empty becomes `None`; longer than
/// `max`, or holding control characters (newlines included), is refused.
pub fn optional_text(value: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    if let Some(v) = value.as_deref() {
        single_line(v.trim(), field)?;
    }
    optional_note(value, field, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input, limit, result as a note, result as a single-line field (None:
    /// refused).
    type Case = (
        Option<String>,
        usize,
        Option<Option<&'static str>>,
        Option<Option<&'static str>>,
    );

    #[test]
    fn optional_fields_trim_bound_and_keep_lines_only_in_notes() {
        let some = |s: &str| Some(s.to_string());
        let cases: [Case; 11] = [
            (None, 5, Some(None), Some(None)),
            (some("   "), 5, Some(None), Some(None)),
            (some("  ok  "), 5, Some(Some("ok")), Some(Some("ok"))),
            (some("12345"), 5, Some(Some("12345")), Some(Some("12345"))),
            (some("123456"), 5, None, None),
            (
                some("line 1\nline 2"),
                20,
                Some(Some("line 1\nline 2")),
                None,
            ),
            (some("a\tb"), 5, Some(Some("a\tb")), None),
            (some("a\r\nb"), 5, Some(Some("a\nb")), None),
            (some("a\rb"), 5, None, None),
            (some("a\u{0}b"), 5, None, None),
            (some("\u{1b}[2Jx"), 9, None, None),
        ];
        for (input, max, note, single) in cases {
            let as_note = optional_note(input.clone(), "f", max).ok();
            let as_single = optional_text(input.clone(), "f", max).ok();
            assert_eq!(
                as_note,
                note.map(|o| o.map(String::from)),
                "{input:?} as note"
            );
            assert_eq!(
                as_single,
                single.map(|o| o.map(String::from)),
                "{input:?} single-line"
            );
        }
    }

    #[test]
    fn required_text_keeps_lines_and_refuses_other_control_characters() {
        assert_eq!(
            required_text(" line 1\r\nline 2\n\tend ", "note").unwrap(),
            "line 1\nline 2\n\tend"
        );
        for bad in ["a\u{0}b", "a\rb", "\u{7f}", "a\u{1b}[0mb", "a\u{85}b"] {
            assert!(required_text(bad, "note").is_err(), "{bad:?}");
        }
        // References and codes are one line: no line break, no tab either.
        assert_eq!(required_line_up_to(" WIRE-1 ", "r", 9).unwrap(), "WIRE-1");
        for bad in ["a\nb", "a\r\nb", "a\tb", "a\u{0}b", "", "1234567890"] {
            assert!(required_line_up_to(bad, "r", 9).is_err(), "{bad:?}");
        }
        // Each refusal names the rule the field breaks.
        let message = |v: &str| match required_line_up_to(v, "r", 9) {
            Err(AppError::BadUserInput(m)) => m,
            other => panic!("{v:?}: {other:?}"),
        };
        for control in ["a\u{0}b", "a\u{1b}b", "a\nb"] {
            assert_eq!(
                message(control),
                "r must be one line without control characters",
                "{control:?}"
            );
        }
        assert_eq!(message("1234567890"), "r must be 1 to 9 characters");
    }
}
