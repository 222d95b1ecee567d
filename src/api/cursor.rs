//! Opaque list cursors: base64url of a small JSON state with an HMAC, so that a tampered,
//! truncated or foreign cursor is refused with `InvalidCursorError` before any vendor call.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::store::{Store, Tenant};

/// Name of the shared value that holds the signing key, so that every process (and every
/// restart) accepts the cursors of the others.
const CURSOR_KEY_META: &str = "cursor_hmac_key";

/// Bytes of the HMAC kept in a cursor: 128 bits is far beyond guessing, and keeps cursors short.
const TAG_LEN: usize = 16;

/// Longest cursor accepted; a real one is well under this.
const MAX_CURSOR_LEN: usize = 4096;

/// What a cursor carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    /// Service id the vendor cursor belongs to.
    #[serde(rename = "s")]
    pub service: String,
    /// The vendor's own cursor of the vendor page the next unified page starts in; `None` for
    /// the vendor's first page.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Records of that vendor page already served, when the vendor answered more than asked.
    #[serde(rename = "k", default, skip_serializing_if = "is_zero")]
    pub skip: u32,
    /// The ids served last on a list that pages with an overlap, so the next page drops them.
    #[serde(rename = "o", default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// Fingerprint of the tenant and of the list's filters, so a cursor only continues the
    /// list it came from.
    #[serde(rename = "f")]
    pub fingerprint: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A 256-bit signing key every process shares, kept under `meta` and made by whichever
/// process starts first.
pub async fn shared_key(store: &dyn Store, meta: &str) -> Result<Vec<u8>> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(Error::internal)?;
    let stored = store
        .meta_or_insert(meta, URL_SAFE_NO_PAD.encode(raw))
        .await?;
    URL_SAFE_NO_PAD
        .decode(stored)
        .map_err(|_| Error::internal(format_args!("the stored {meta} is corrupt")))
}

/// Signs and checks cursors.
pub struct CursorCodec {
    key: Vec<u8>,
}

impl CursorCodec {
    /// The codec with the key all processes share, creating it on the first start.
    pub async fn establish(store: &dyn Store) -> Result<Self> {
        Ok(Self {
            key: shared_key(store, CURSOR_KEY_META).await?,
        })
    }

    pub fn with_key(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn tag(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac.finalize().into_bytes()[..TAG_LEN].to_vec()
    }

    pub fn encode(&self, state: &CursorState) -> String {
        let payload = serde_json::to_vec(state).expect("a cursor state serialises");
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(self.tag(&payload))
        )
    }

    /// Checks a client's cursor and answers its state; every failure is `InvalidCursorError`.
    pub fn decode(&self, cursor: &str, service: &str, fingerprint: &str) -> Result<CursorState> {
        let invalid = || {
            Error::invalid_cursor(
                "The cursor is not one crmgate issued for this list; start again without a cursor",
            )
        };
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        // A shorter tag would be checked on fewer bits, so only the full length is accepted.
        if tag.len() != TAG_LEN {
            return Err(invalid());
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&payload);
        mac.verify_truncated_left(&tag).map_err(|_| invalid())?;
        let state: CursorState = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if state.service != service {
            return Err(Error::invalid_cursor(format!(
                "The cursor belongs to another connector ({}), not {service}",
                state.service
            )));
        }
        if state.fingerprint != fingerprint {
            return Err(Error::invalid_cursor(
                "The cursor belongs to another consumer or another filter; start again without a cursor",
            ));
        }
        Ok(state)
    }
}

/// A short fingerprint of the tenant and the list's parameters that a cursor must match.
pub fn fingerprint(tenant: &Tenant, list_params: &str) -> String {
    URL_SAFE_NO_PAD.encode(&tenant.digest(&[list_params])[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> CursorState {
        CursorState {
            service: "hubspot".into(),
            vendor: Some("after-100".into()),
            skip: 3,
            seen: vec!["17".into(), "18".into()],
            fingerprint: "fp".into(),
        }
    }

    #[test]
    fn round_trips() {
        let codec = CursorCodec::with_key(b"k");
        let c = codec.encode(&state());
        assert_eq!(codec.decode(&c, "hubspot", "fp").unwrap(), state());
    }

    #[test]
    fn every_tampered_byte_is_refused() {
        let codec = CursorCodec::with_key(b"k");
        let c = codec.encode(&state());
        for i in 0..c.len() {
            let mut bytes = c.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered == c {
                continue;
            }
            let err = codec.decode(&tampered, "hubspot", "fp").unwrap_err();
            assert_eq!(err.type_name(), "InvalidCursorError", "byte {i}");
        }
        for bad in [
            "",
            ".",
            "abc",
            "a.b.c",
            &"x".repeat(5000),
            &c[..c.len() - 2],
        ] {
            assert_eq!(
                codec.decode(bad, "hubspot", "fp").unwrap_err().type_name(),
                "InvalidCursorError"
            );
        }
    }

    #[test]
    fn foreign_cursors_are_refused() {
        let codec = CursorCodec::with_key(b"k");
        let c = codec.encode(&state());
        assert!(
            codec
                .decode(&c, "pipedrive", "fp")
                .unwrap_err()
                .detail()
                .to_string()
                .contains("another connector")
        );
        assert!(codec.decode(&c, "hubspot", "other").is_err());
        assert!(
            CursorCodec::with_key(b"other key")
                .decode(&c, "hubspot", "fp")
                .is_err()
        );
    }

    #[test]
    fn fingerprints_separate_tenants() {
        let t = |a: &str, c: &str| Tenant {
            app_id: a.into(),
            consumer_id: c.into(),
        };
        assert_ne!(
            fingerprint(&t("ab", "c"), ""),
            fingerprint(&t("a", "bc"), "")
        );
        assert_eq!(
            fingerprint(&t("a", "b"), "x"),
            fingerprint(&t("a", "b"), "x")
        );
    }
}
