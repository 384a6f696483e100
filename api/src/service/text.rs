//! Validation of the free text staff and integrations send: trimmed,
//! bounded, and (for single-line fields) free of control characters.

use crate::error::{AppError, AppResult};

/// Longest description, note or evidence text accepted.
pub const MAX_TEXT: usize = 10_000;

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
    Ok(v.to_string())
}

/// Trims an optional single-line field; empty becomes `None`; longer than
/// `max`, or holding control characters (newlines included), is refused.
pub fn optional_text(value: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    match value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        Some(v) if v.chars().count() > max => Err(AppError::bad_input(format!(
            "{field} must be at most {max} characters"
        ))),
        Some(v) if v.chars().any(char::is_control) => Err(AppError::bad_input(format!(
            "{field} must not contain control characters"
        ))),
        other => Ok(other),
    }
}
