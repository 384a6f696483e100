//! Password hashing with argon2id (OWASP parameters: the crate defaults).

use std::sync::OnceLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::error::{AppError, AppResult};

/// Shortest password `createStaff` accepts.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Hashes a password into a PHC string (salt and parameters included).
pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored hash; `None` (no such staff) still
/// spends the same time on a dummy hash, so timing does not reveal which
/// emails exist.
pub fn verify(password: &str, stored: Option<&str>) -> AppResult<bool> {
    let target = stored.unwrap_or_else(|| dummy_hash());
    let parsed = PasswordHash::new(target)?;
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(ok && stored.is_some())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"refund-desk-timing-equaliser", &salt)
            .map(|h| h.to_string())
            // Hashing a constant with a fresh salt cannot fail with the default
            // parameters; an empty string would only make verify() return Err.
            .unwrap_or_default()
    })
}

/// Longest password accepted, in bytes: hashing is the expensive step of a
/// login, so unbounded input would be a cheap way to burn CPU.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks the strength rules for new passwords.
pub fn validate_new(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::bad_input(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad_input("password is too long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_unknown_users_never_pass() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)).unwrap());
        assert!(!verify("wrong", Some(&h)).unwrap());
        assert!(!verify("refund-desk-timing-equaliser", None).unwrap());
    }

    #[test]
    fn new_passwords_need_length() {
        assert!(validate_new("short").is_err());
        assert!(validate_new("long enough pass").is_ok());
    }
}
