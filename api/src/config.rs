//! Typed settings, read once at start from the environment (and `.env`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};

/// The embedded default database: a SQLite file in `data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/refund-desk.sqlite?mode=rwc";
/// HS256 keys shorter than this are refused (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;
/// The most `CLAIM_BACKDATE_DAYS` may be: ten years, to enter a history.
pub const MAX_CLAIM_BACKDATE_DAYS: u32 = 3_650;

/// Everything the server needs to run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub jwt: JwtSettings,
    pub log_format: LogFormat,
    pub environment: Environment,
    pub db_max_connections: u32,
    /// AES-256 key for activation credentials at rest.
    pub credentials_key: Arc<SecretBox<[u8; 32]>>,
    /// A GraphQL request still running after this is cancelled and its
    /// transaction rolled back.
    pub request_timeout: Duration,
    /// A CSV export still streaming after this ends without its last chunk,
    /// so the client sees a cut download rather than a complete-looking file.
    pub export_time_limit: Duration,
    /// Browser origins allowed to call the API cross-site (none by default).
    pub cors_origins: Vec<String>,
    /// How far back a claim's `submittedAt` may be set.
    pub claim_backdating: crate::service::claims::Backdating,
    /// How often each process looks for events committed by others.
    pub event_poll: Duration,
    /// Outbound webhooks: where they may go, retries, timeout.
    pub webhooks: crate::service::webhooks::dispatch::DispatchSettings,
    /// Most WebSocket connections one process keeps.
    pub ws_max_connections: usize,
    /// NATS JetStream server that events are published to, if any.
    pub nats_url: Option<String>,
    /// Secrets of the inbound webhooks (WooCommerce, Stripe).
    pub integrations: crate::service::inbound::Secrets,
    /// `EVIDENCE_STORE`: `file://<folder>` or `s3://<bucket>[/<prefix>]`.
    pub evidence_store: String,
    /// `EVIDENCE_MAX_BYTES`: the largest evidence file.
    pub evidence_max_bytes: usize,
    /// Test-only fault injection; never set from the configuration.
    pub faults: Option<Arc<crate::service::faults::FaultPlan>>,
}

#[derive(Clone, Debug)]
pub struct JwtSettings {
    pub secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// The raw configuration as given on the command line or in the environment.
#[derive(Clone, Debug, clap::Args)]
pub struct ConfigArgs {
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    #[arg(long, env = "JWT_ISSUER", default_value = "refund-desk", global = true)]
    pub jwt_issuer: String,
    #[arg(
        long,
        env = "JWT_AUDIENCE",
        default_value = "refund-desk-api",
        global = true
    )]
    pub jwt_audience: String,
    #[arg(long, env = "TOKEN_TTL_MINUTES", default_value_t = 60, global = true)]
    pub token_ttl_minutes: u64,
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,
    #[arg(
        long,
        env = "REFUND_DESK_ENV",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub environment: Environment,
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, global = true)]
    pub db_max_connections: u32,
    /// 32 bytes as 64 hex characters.
    #[arg(long, env = "CREDENTIALS_KEY", hide_env_values = true, global = true)]
    pub credentials_key: Option<String>,
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,
    /// Longest a CSV export may stream, in seconds.
    #[arg(
        long,
        env = "EXPORT_TIME_LIMIT_SECS",
        default_value_t = 300,
        global = true
    )]
    pub export_time_limit_secs: u64,
    /// Comma-separated origins, e.g. `https://admin.example.com`.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "", global = true)]
    pub cors_allowed_origins: String,
    /// How many days back staff may date a claim they enter (`submittedAt`).
    #[arg(long, env = "CLAIM_BACKDATE_DAYS", default_value_t = 30, global = true)]
    pub claim_backdate_days: u32,
    /// Milliseconds between looks for events committed by other processes.
    #[arg(long, env = "EVENT_POLL_MS", default_value_t = 250, global = true)]
    pub event_poll_ms: u64,
    /// Seconds to wait after each failed webhook attempt, comma-separated
    /// (default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    #[arg(
        long,
        env = "WEBHOOK_RETRY_SCHEDULE",
        default_value = "",
        global = true
    )]
    pub webhook_retry_schedule: String,
    #[arg(
        long,
        env = "WEBHOOK_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub webhook_timeout_secs: u64,
    /// Whether webhooks may go to private addresses (default: outside
    /// production only).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_TARGETS", global = true)]
    pub webhook_allow_private_targets: Option<bool>,
    #[arg(
        long,
        env = "WS_MAX_CONNECTIONS",
        default_value_t = 1000,
        global = true
    )]
    pub ws_max_connections: usize,
    /// e.g. `nats://127.0.0.1:4222`; unset: no event bus.
    #[arg(long, env = "NATS_URL", global = true)]
    pub nats_url: Option<String>,
    /// The secret of the WooCommerce webhooks; unset: the endpoint answers 404.
    #[arg(
        long,
        env = "WOOCOMMERCE_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub woocommerce_webhook_secret: Option<String>,
    /// The `whsec_…` signing secret of the Stripe webhook endpoint; unset:
    /// the endpoint answers 404.
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub stripe_webhook_secret: Option<String>,
    /// Where evidence files are kept: `file://<folder>` or
    /// `s3://<bucket>[/<prefix>]` (with the `AWS_*` variables).
    #[arg(
        long,
        env = "EVIDENCE_STORE",
        default_value = "file://data/evidence",
        global = true
    )]
    pub evidence_store: String,
    /// The largest evidence file, in bytes (default 10 MiB).
    #[arg(
        long,
        env = "EVIDENCE_MAX_BYTES",
        default_value_t = crate::service::evidence::DEFAULT_MAX_BYTES,
        global = true
    )]
    pub evidence_max_bytes: usize,
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigArgs {
    /// Validates the raw values. With the SQLite default and no `JWT_SECRET`, a
    /// random secret is generated once and kept in the data folder, so a fresh
    /// checkout runs without any built-in (and therefore public) key.
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let secret = match self.jwt_secret {
            Some(s) => s,
            None if self.database_url == DEFAULT_DATABASE_URL => {
                load_or_create_secret(&data_dir().join("jwt-secret"))?
            }
            None => {
                return Err(ConfigError(
                    "JWT_SECRET must be set (at least 32 bytes) when DATABASE_URL is not the SQLite default"
                        .into(),
                ))
            }
        };
        let credentials_key = match self.credentials_key {
            Some(k) => k,
            None if self.database_url == DEFAULT_DATABASE_URL => {
                load_or_create_secret(&data_dir().join("credentials-key"))?
            }
            None => {
                return Err(ConfigError(
                    "CREDENTIALS_KEY must be set (64 hex characters) when DATABASE_URL is not the SQLite default"
                        .into(),
                ))
            }
        };
        let credentials_key = parse_key(&credentials_key)?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError(format!(
                "JWT_SECRET is too short: at least {MIN_SECRET_BYTES} bytes are required"
            )));
        }
        if self.token_ttl_minutes == 0 {
            return Err(ConfigError("TOKEN_TTL_MINUTES must be at least 1".into()));
        }
        if self.db_max_connections == 0 {
            return Err(ConfigError("DB_MAX_CONNECTIONS must be at least 1".into()));
        }
        if self.request_timeout_secs == 0 {
            return Err(ConfigError(
                "REQUEST_TIMEOUT_SECS must be at least 1".into(),
            ));
        }
        if self.export_time_limit_secs == 0 {
            return Err(ConfigError(
                "EXPORT_TIME_LIMIT_SECS must be at least 1".into(),
            ));
        }
        let cors_origins = parse_origins(&self.cors_allowed_origins)?;
        if !(1..=500).contains(&self.event_poll_ms) {
            return Err(ConfigError("EVENT_POLL_MS must be 1 to 500".into()));
        }
        if self.webhook_timeout_secs == 0 || self.webhook_timeout_secs > 60 {
            return Err(ConfigError("WEBHOOK_TIMEOUT_SECS must be 1 to 60".into()));
        }
        let schedule = parse_schedule(&self.webhook_retry_schedule)?;
        let production = self.environment == Environment::Production;
        let webhooks = crate::service::webhooks::dispatch::DispatchSettings {
            policy: crate::service::webhooks::address::TargetPolicy {
                https_only: production,
                allow_private: self.webhook_allow_private_targets.unwrap_or(!production),
            },
            schedule,
            timeout: Duration::from_secs(self.webhook_timeout_secs),
        };
        if self.ws_max_connections == 0 {
            return Err(ConfigError("WS_MAX_CONNECTIONS must be at least 1".into()));
        }
        let nats_url = self.nats_url.filter(|u| !u.trim().is_empty());
        let integrations = crate::service::inbound::Secrets {
            woocommerce: integration_secret(
                "WOOCOMMERCE_WEBHOOK_SECRET",
                self.woocommerce_webhook_secret,
            )?,
            stripe: integration_secret("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret)?,
        };
        if self.claim_backdate_days > MAX_CLAIM_BACKDATE_DAYS {
            return Err(ConfigError(format!(
                "CLAIM_BACKDATE_DAYS must be at most {MAX_CLAIM_BACKDATE_DAYS}"
            )));
        }
        if self.evidence_max_bytes == 0 || self.evidence_max_bytes > MAX_EVIDENCE_BYTES {
            return Err(ConfigError(format!(
                "EVIDENCE_MAX_BYTES must be 1 to {MAX_EVIDENCE_BYTES}"
            )));
        }
        Ok(Settings {
            database_url: self.database_url,
            bind: self.bind,
            jwt: JwtSettings {
                secret: SecretString::from(secret),
                issuer: self.jwt_issuer,
                audience: self.jwt_audience,
                ttl: Duration::from_secs(self.token_ttl_minutes * 60),
            },
            log_format: self.log_format,
            environment: self.environment,
            db_max_connections: self.db_max_connections,
            credentials_key: Arc::new(credentials_key),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            export_time_limit: Duration::from_secs(self.export_time_limit_secs),
            cors_origins,
            claim_backdating: crate::service::claims::Backdating(self.claim_backdate_days),
            event_poll: Duration::from_millis(self.event_poll_ms),
            webhooks,
            ws_max_connections: self.ws_max_connections,
            nats_url,
            integrations,
            evidence_store: self.evidence_store,
            evidence_max_bytes: self.evidence_max_bytes,
            faults: None,
        })
    }
}

impl JwtSettings {
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.expose_secret().as_bytes()
    }
}

/// Parses a 256-bit key written as 64 hex characters; refuses anything else,
/// including a key of one repeated byte (a placeholder, not a secret).
pub fn parse_key(hex: &str) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    let hex = hex.trim();
    let bad = || ConfigError("CREDENTIALS_KEY must be 64 hex characters (32 random bytes)".into());
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    if key.iter().all(|b| *b == key[0]) {
        return Err(ConfigError("CREDENTIALS_KEY is not random".into()));
    }
    Ok(SecretBox::new(Box::new(key)))
}

/// The largest `EVIDENCE_MAX_BYTES` accepted: an upload is spooled to the
/// temporary folder while the request is read, so the limit bounds the
/// disk one request may take there.
const MAX_EVIDENCE_BYTES: usize = 100 * 1024 * 1024;

/// Shortest inbound webhook secret accepted: a guessable one would let
/// anyone create orders.
const MIN_INTEGRATION_SECRET_CHARS: usize = 16;

/// An inbound webhook secret: unset or empty turns the endpoint off.
fn integration_secret(
    name: &str,
    value: Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    match value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        None => Ok(None),
        Some(v) if v.chars().count() < MIN_INTEGRATION_SECRET_CHARS => Err(ConfigError(format!(
            "{name} must be at least {MIN_INTEGRATION_SECRET_CHARS} characters"
        ))),
        Some(v) => Ok(Some(SecretString::from(v))),
    }
}

/// Parses `WEBHOOK_RETRY_SCHEDULE`: seconds, comma-separated, each 1 to a
/// week; empty means DESIGN.md's schedule.
pub fn parse_schedule(list: &str) -> Result<Vec<u64>, ConfigError> {
    if list.trim().is_empty() {
        return Ok(crate::service::webhooks::deliveries::DEFAULT_SCHEDULE.to_vec());
    }
    list.split(',')
        .map(|s| match s.trim().parse::<u64>() {
            Ok(n) if (1..=7 * 86_400).contains(&n) => Ok(n),
            _ => Err(ConfigError(format!(
                "WEBHOOK_RETRY_SCHEDULE: {s:?} is not a number of seconds from 1 to 604800"
            ))),
        })
        .collect()
}

/// Parses the allowed CORS origins: each exactly `scheme://host[:port]`, as a
/// browser sends it. A wildcard is refused: every caller carries a bearer
/// token, so each origin should be a deliberate choice.
pub fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            match rest {
                Some(host)
                    if !host.is_empty()
                        && host
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)) =>
                {
                    Ok(o.to_string())
                }
                _ => Err(ConfigError(format!(
                    "CORS_ALLOWED_ORIGINS: {o:?} is not an origin like https://admin.example.com"
                ))),
            }
        })
        .collect()
}

/// The folder of the embedded default: the SQLite file and the generated
/// secrets, readable by their owner only.
pub const DATA_DIR: &str = "data";

fn data_dir() -> PathBuf {
    PathBuf::from(DATA_DIR)
}

fn load_or_create_secret(path: &Path) -> Result<String, ConfigError> {
    let io_err = |e: std::io::Error| ConfigError(format!("{}: {e}", path.display()));
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_string());
    }
    if let Some(dir) = path.parent() {
        private_dir(dir).map_err(io_err)?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    write_private(path, &secret).map_err(io_err)?;
    Ok(secret)
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: ConfigArgs,
    }

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn args(extra: &[&str]) -> ConfigArgs {
        let mut argv = vec![
            "test",
            "--database-url",
            "postgres://x/y",
            "--credentials-key",
            KEY,
        ];
        argv.extend_from_slice(extra);
        Wrapper::parse_from(argv).config
    }

    #[test]
    fn refuses_short_or_missing_secret_off_the_sqlite_default() {
        assert!(args(&["--jwt-secret", "short"]).into_settings().is_err());
        assert!(args(&[]).into_settings().is_err());
        let ok = args(&["--jwt-secret", &"k".repeat(32)])
            .into_settings()
            .unwrap();
        assert_eq!(ok.jwt.ttl, Duration::from_secs(3600));
    }

    #[test]
    fn cors_origins_are_exact_origins() {
        assert_eq!(parse_origins("").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_origins(" https://a.example.com, http://localhost:3000 ").unwrap(),
            vec!["https://a.example.com", "http://localhost:3000"]
        );
        for bad in [
            "*",
            "a.example.com",
            "https://",
            "https://a.com/path",
            "ftp://a.com",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_keys_must_be_32_random_bytes() {
        assert_eq!(parse_key(KEY).unwrap().expose_secret()[31], 0x1f);
        for bad in [
            "",
            "abc",
            &"0".repeat(64),
            &"zz".repeat(32),
            &"a".repeat(66),
        ] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }
}
