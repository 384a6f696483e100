//! Activation credentials at rest: AES-256-GCM, bound to their activation.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretBox};
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// Encrypts and decrypts credential blobs. The activation id is the
/// associated data, so a ciphertext copied onto another row does not decrypt.
pub struct CredentialCipher {
    cipher: Aes256Gcm,
}

/// A stored blob that is not ours, was tampered with, or belongs elsewhere.
#[derive(Debug, thiserror::Error)]
#[error("stored credentials could not be decrypted")]
pub struct DecryptError;

impl CredentialCipher {
    pub fn new(key: &SecretBox<[u8; 32]>) -> Self {
        let key = Key::<Aes256Gcm>::from(*key.expose_secret());
        CredentialCipher {
            cipher: Aes256Gcm::new(&key),
        }
    }

    /// `base64(nonce || ciphertext+tag)`, with a fresh random nonce each time.
    pub fn encrypt(&self, plaintext: &[u8], activation_id: Uuid) -> Result<String, DecryptError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: activation_id.as_bytes(),
                },
            )
            .map_err(|_| DecryptError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    pub fn decrypt(&self, stored: &str, activation_id: Uuid) -> Result<Vec<u8>, DecryptError> {
        let raw = STANDARD.decode(stored).map_err(|_| DecryptError)?;
        if raw.len() <= NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: activation_id.as_bytes(),
                },
            )
            .map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> CredentialCipher {
        let mut key = [byte; 32];
        key[0] = 1;
        CredentialCipher::new(&SecretBox::new(Box::new(key)))
    }

    #[test]
    fn round_trips_and_rejects_tampering_other_rows_and_other_keys() {
        let c = cipher(7);
        let id = Uuid::now_v7();
        let sealed = c.encrypt(b"user:secret", id).unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(c.decrypt(&sealed, id).unwrap(), b"user:secret");
        assert_ne!(
            sealed,
            c.encrypt(b"user:secret", id).unwrap(),
            "fresh nonce each time"
        );
        assert!(
            c.decrypt(&sealed, Uuid::now_v7()).is_err(),
            "bound to its row"
        );
        assert!(cipher(8).decrypt(&sealed, id).is_err(), "bound to its key");
        let mut raw = STANDARD.decode(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(
            c.decrypt(&STANDARD.encode(raw), id).is_err(),
            "tamper-evident"
        );
        assert!(c.decrypt("not base64!", id).is_err());
        assert!(c.decrypt("", id).is_err());
    }
}
