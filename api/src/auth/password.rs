//! Password hashing with argon2id, off the async workers and bounded.
//!
//! Parameters: OWASP lists five argon2id settings that "provide an equal
//! level of defense", trading memory for passes. We use the lightest in
//! memory (7 MiB, 5 passes) rather than the crate default (19 MiB, 2
//! passes): a hash's memory is touched all at once, so with the default one
//! login alone was a third of the server's peak RSS in the benchmark. At most
//! one hash per core runs at a time, so a burst of logins queues instead of
//! growing memory (and CPU contention) with its size. Hashes made with other
//! parameters still verify; a successful login re-hashes them
//! ([`needs_rehash`]).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Shortest password `createStaff` accepts.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Memory per hash, in KiB (OWASP: m=7168, t=5, p=1).
const MEMORY_KIB: u32 = 7 * 1024;
const PASSES: u32 = 5;
const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    // The constants are within argon2's limits; a failure here is a bug
    // caught by the tests below, never input-dependent.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Runs argon2 work on the blocking pool, one hash per core at a time. The
/// permit moves into the blocking task: a request that times out or whose
/// client leaves stops waiting, but its hash still holds the permit until it
/// finishes, so cancelled logins cannot add hashes beyond the bound.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        ))
    });
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(AppError::internal)
}

/// Hashes a password into a PHC string (salt and parameters included).
pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_string();
    bounded(move || hash_now(&password)).await?
}

/// Checks a password against a stored hash; `None` (no such staff) still
/// spends the same time on a dummy hash, so timing does not reveal which
/// emails exist.
pub async fn verify(password: &str, stored: Option<&str>) -> AppResult<bool> {
    let password = password.to_string();
    let stored = stored.map(str::to_string);
    bounded(move || verify_now(&password, stored.as_deref())).await?
}

/// True when a stored hash was made with other parameters than today's (a
/// hash that does not parse is left alone: login rejects it anyway).
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let current = hasher();
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != Algorithm::Argon2id.as_str()
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() != current.params().m_cost()
        || params.t_cost() != current.params().t_cost()
        || params.p_cost() != current.params().p_cost()
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_now(password: &str, stored: Option<&str>) -> AppResult<bool> {
    let target = stored.unwrap_or_else(|| dummy_hash());
    let parsed = PasswordHash::new(target)?;
    // Verification uses the parameters stored in the hash.
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(ok && stored.is_some())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // Hashing a constant with a fresh salt cannot fail with valid
        // parameters; an empty string would only make verify() return Err.
        hash_now("refund-desk-timing-equaliser").unwrap_or_default()
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

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_pass() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)).await.unwrap());
        assert!(!verify("wrong", Some(&h)).await.unwrap());
        assert!(!verify("refund-desk-timing-equaliser", None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_that_give_up_do_not_free_a_running_hash_s_permit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::Duration;
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let limit = std::thread::available_parallelism().map_or(2, |n| n.get());
        let work = || {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        };
        // Callers arrive every 10 ms and give up after 20 ms, as timed-out
        // login requests do, while each hash runs for 150 ms.
        let mut callers = Vec::new();
        for _ in 0..limit * 6 {
            callers.push(tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_millis(20), bounded(work)).await;
            }));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for caller in callers {
            caller.await.unwrap();
        }
        while RUNNING.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let peak = PEAK.load(Ordering::SeqCst);
        assert!(
            peak >= 1 && peak <= limit,
            "{peak} hashes ran at once; the bound is {limit}"
        );
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_verify_and_need_a_rehash() {
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(old.contains("m=19456,t=2,p=1"), "{old}");
        assert!(verify("correct horse battery", Some(&old)).await.unwrap());
        assert!(needs_rehash(&old));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            hasher().params().clone(),
        )
        .hash_password(b"correct horse battery", &salt)
        .unwrap()
        .to_string();
        assert!(needs_rehash(&argon2i));
        let current = hash("correct horse battery").await.unwrap();
        assert!(!needs_rehash(&current));
        assert!(!needs_rehash("not a phc string"));
    }

    #[test]
    fn new_passwords_need_length() {
        assert!(validate_new("short").is_err());
        assert!(validate_new("long enough pass").is_ok());
    }
}
