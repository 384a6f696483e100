//! Access tokens: HS256 JWTs with a pinned algorithm and required claims.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::JwtSettings;
use crate::domain::RoleSet;

/// Clock skew tolerated on `exp`/`nbf`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// The claims we sign. `ver` is the staff member's token version: bumping it
/// in the database revokes every token issued before.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<String>,
    pub ver: i32,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signs and checks tokens with the configured secret.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    settings: JwtSettings,
}

/// A freshly signed token.
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenService {
    pub fn new(settings: &JwtSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        TokenService {
            encoding: EncodingKey::from_secret(settings.secret_bytes()),
            decoding: DecodingKey::from_secret(settings.secret_bytes()),
            validation,
            settings: settings.clone(),
        }
    }

    pub fn issue(
        &self,
        staff_id: Uuid,
        roles: &RoleSet,
        token_version: i32,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let ttl =
            chrono::Duration::from_std(self.settings.ttl).unwrap_or(chrono::Duration::hours(1));
        let expires_at = now + ttl;
        let claims = Claims {
            sub: staff_id.to_string(),
            roles: roles
                .as_slice()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            ver: token_version,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Verifies signature, algorithm, time window, issuer and audience; returns
    /// the staff id and token version. Any failure means "not authenticated":
    /// the reason is logged at debug level only.
    pub fn verify(&self, token: &str) -> Option<(Uuid, i32)> {
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => {
                let id = Uuid::parse_str(&data.claims.sub).ok()?;
                Some((id, data.claims.ver))
            }
            Err(err) => {
                tracing::debug!(reason = %err, "token rejected");
                None
            }
        }
    }
}
