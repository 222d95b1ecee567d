//! Connection settings sealed at rest with AES-256-GCM.
//!
//! Each sealed value carries the id of the key that sealed it, a fresh 96-bit nonce, and is
//! bound to the connection it belongs to (application, consumer, service) as associated data,
//! so a value copied into another row does not open. Several keys may be configured, newest
//! first: the newest seals, every one opens — which is how keys rotate without downtime.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Tenant;

/// Format tag of sealed values, so the format can change without guessing.
const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// A sealed value that does not open: wrong key, tampered, or moved to another row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealError(pub String);

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SealError {}

struct SealingKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The configured keys, newest first.
pub struct Sealer {
    keys: Vec<SealingKey>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Sealer").field("key_ids", &ids).finish()
    }
}

/// What a connection's settings are bound to.
fn associated_data(tenant: &Tenant, service: &str) -> Vec<u8> {
    let mut aad = b"crmgate-connection-settings".to_vec();
    for part in [&tenant.app_id, &tenant.consumer_id, service] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

impl Sealer {
    /// Keys from their base64 text (32 bytes each), newest first, separated by commas.
    pub fn from_base64_list(text: &SecretString) -> Result<Self, SealError> {
        let keys = text
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                let raw = STANDARD
                    .decode(k)
                    .map_err(|_| SealError("an encryption key is not valid base64".to_owned()))?;
                Self::key(&raw)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SealError("no encryption key is configured".to_owned()));
        }
        Ok(Self { keys })
    }

    fn key(raw: &[u8]) -> Result<SealingKey, SealError> {
        if raw.len() != 32 {
            return Err(SealError(format!(
                "an encryption key must be 32 bytes, this one has {}",
                raw.len()
            )));
        }
        let id = URL_SAFE_NO_PAD.encode(&Sha256::digest(raw)[..6]);
        let cipher = Aes256Gcm::new_from_slice(raw).expect("the length was checked");
        Ok(SealingKey { id, cipher })
    }

    /// A new random key as base64, for the embedded default's key file and for rotation.
    pub fn generate_key() -> SecretString {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).expect("the operating system provides randomness");
        SecretString::from(STANDARD.encode(raw))
    }

    /// The id of the key that seals, as stored beside every value.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals a connection's settings with the newest key.
    pub fn seal(
        &self,
        tenant: &Tenant,
        service: &str,
        settings: &BTreeMap<String, SecretString>,
    ) -> String {
        let plain: BTreeMap<&str, &str> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let plain = zeroizing_json(&plain);
        self.seal_bytes(&plain, &associated_data(tenant, service))
    }

    fn seal_bytes(&self, plain: &[u8], aad: &[u8]) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let sealed = key
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .expect("AES-GCM encryption of a small value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}:{}:{}", key.id, URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a connection's settings; any failure is a [`SealError`] that names no secret.
    pub fn open(
        &self,
        tenant: &Tenant,
        service: &str,
        sealed: &str,
    ) -> Result<BTreeMap<String, SecretString>, SealError> {
        let plain = self.open_bytes(sealed, &associated_data(tenant, service))?;
        let map: BTreeMap<String, String> = serde_json::from_slice(&plain)
            .map_err(|_| SealError("the sealed settings are not a settings object".to_owned()))?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect())
    }

    fn open_bytes(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError(
                "the stored settings are not a sealed value".to_owned(),
            ));
        };
        let key = self.keys.iter().find(|k| k.id == key_id).ok_or_else(|| {
            SealError(format!(
                "the settings were sealed with key {key_id}, which is not configured"
            ))
        })?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError("the sealed settings are damaged".to_owned()))?;
        if raw.len() < NONCE_LEN {
            return Err(SealError("the sealed settings are damaged".to_owned()));
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| {
                SealError(
                    "the sealed settings do not open: damaged, or moved from another connection"
                        .to_owned(),
                )
            })
    }

    /// A sealed marker stored once per database, so that a process started with the wrong key
    /// refuses to start instead of failing every call.
    pub fn check_value(&self) -> String {
        self.seal_bytes(b"crmgate", b"crmgate-key-check")
    }

    /// Whether a marker from [`Self::check_value`] opens with one of the configured keys.
    pub fn verify_check_value(&self, sealed: &str) -> Result<(), SealError> {
        self.open_bytes(sealed, b"crmgate-key-check").map(|_| ())
    }
}

/// JSON text of the settings; the buffer holds secrets, so it is wiped when dropped.
fn zeroizing_json(plain: &BTreeMap<&str, &str>) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(serde_json::to_vec(plain).expect("strings serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(consumer: &str) -> Tenant {
        Tenant {
            app_id: "app".into(),
            consumer_id: consumer.into(),
        }
    }

    fn settings() -> BTreeMap<String, SecretString> {
        BTreeMap::from([("api_key".to_owned(), SecretString::from("pat-secret-123"))])
    }

    #[test]
    fn seals_and_opens_and_never_shows_the_secret() {
        let sealer = Sealer::from_base64_list(&Sealer::generate_key()).unwrap();
        let sealed = sealer.seal(&tenant("c1"), "hubspot", &settings());
        assert!(!sealed.contains("pat-secret"));
        assert!(sealed.starts_with(&format!("v1:{}:", sealer.current_key_id())));
        let opened = sealer.open(&tenant("c1"), "hubspot", &sealed).unwrap();
        assert_eq!(opened["api_key"].expose_secret(), "pat-secret-123");
        let again = sealer.seal(&tenant("c1"), "hubspot", &settings());
        assert_ne!(sealed, again, "a fresh nonce every time");
    }

    #[test]
    fn a_value_moved_to_another_connection_does_not_open() {
        let sealer = Sealer::from_base64_list(&Sealer::generate_key()).unwrap();
        let sealed = sealer.seal(&tenant("c1"), "hubspot", &settings());
        assert!(sealer.open(&tenant("c2"), "hubspot", &sealed).is_err());
        assert!(sealer.open(&tenant("c1"), "pipedrive", &sealed).is_err());
    }

    #[test]
    fn every_tampered_byte_is_refused() {
        let sealer = Sealer::from_base64_list(&Sealer::generate_key()).unwrap();
        let sealed = sealer.seal(&tenant("c1"), "hubspot", &settings());
        for i in 0..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let Ok(tampered) = String::from_utf8(bytes) else {
                continue;
            };
            if tampered != sealed {
                let err = sealer
                    .open(&tenant("c1"), "hubspot", &tampered)
                    .unwrap_err();
                assert!(!err.0.contains("pat-secret"));
            }
        }
    }

    #[test]
    fn older_keys_open_and_the_newest_seals() {
        let old = Sealer::generate_key();
        let new = Sealer::generate_key();
        let before = Sealer::from_base64_list(&old).unwrap();
        let sealed_old = before.seal(&tenant("c1"), "hubspot", &settings());
        let both = SecretString::from(format!("{},{}", new.expose_secret(), old.expose_secret()));
        let ring = Sealer::from_base64_list(&both).unwrap();
        assert!(ring.open(&tenant("c1"), "hubspot", &sealed_old).is_ok());
        let resealed = ring.seal(&tenant("c1"), "hubspot", &settings());
        assert!(resealed.contains(ring.current_key_id()));
        assert!(
            before
                .open(&tenant("c1"), "hubspot", &resealed)
                .unwrap_err()
                .0
                .contains("not configured")
        );
        assert!(ring.verify_check_value(&before.check_value()).is_ok());
        let stranger = Sealer::from_base64_list(&Sealer::generate_key()).unwrap();
        assert!(stranger.verify_check_value(&before.check_value()).is_err());
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        for bad in ["", "not base64!", "c2hvcnQ="] {
            assert!(
                Sealer::from_base64_list(&SecretString::from(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
