//! Upstream credentials at rest: AES-256-GCM under `GATEWAY_ENCRYPTION_KEY`, a fresh nonce per
//! value, stored as base64(nonce ‖ ciphertext).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    /// `value` as JSON, sealed under a purpose prefix and encoded for a URL (an OAuth `state`).
    pub fn seal_for_url<T: serde::Serialize>(&self, purpose: &str, value: &T) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let json = serde_json::to_string(value).expect("the value serializes");
        let sealed = STANDARD
            .decode(self.seal(&format!("{purpose}{json}")))
            .expect("SecretBox seals to base64");
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// The value `seal_for_url` sealed for `purpose`; `None` when forged, altered or sealed
    /// for another purpose.
    pub fn open_from_url<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        sealed: &str,
    ) -> Option<T> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let bytes = URL_SAFE_NO_PAD.decode(sealed.trim().as_bytes()).ok()?;
        let plain = self.open(&STANDARD.encode(bytes)).ok()?;
        serde_json::from_str(plain.strip_prefix(purpose)?).ok()
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let bytes = STANDARD.decode(sealed)?;
        anyhow::ensure!(bytes.len() > 12, "sealed value is too short");
        let (nonce, body) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| anyhow::anyhow!("sealed value does not open with this key"))?;
        Ok(String::from_utf8(plain)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_refuses_another_key() {
        let a = SecretBox::new(&[7u8; 32]);
        let sealed = a.seal("refresh-token-123");
        assert!(!sealed.contains("refresh"));
        assert_eq!(a.open(&sealed).unwrap(), "refresh-token-123");
        assert_ne!(a.seal("x"), a.seal("x"), "nonces differ");
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed).is_err());
    }
}
