//! GitHub's `X-Hub-Signature-256`: `sha256=` followed by the lowercase hex
//! HMAC-SHA256 of the raw request body, keyed with the webhook secret.
//!
//! The comparison is constant time (`Mac::verify_slice`). The older SHA-1
//! `X-Hub-Signature` header is never consulted.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Error;

type HmacSha256 = Hmac<Sha256>;

/// The header GitHub puts the signature in (lowercase, as header names are
/// compared case-insensitively).
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

const PREFIX: &str = "sha256=";
const DIGEST_LEN: usize = 32;

/// The webhook secret. Its bytes never appear in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A secret from its bytes. An empty secret is refused: anyone can
    /// compute an HMAC keyed with nothing.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(Error::SecretEmpty);
        }
        Ok(Self(bytes))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of every length, so this never falls back.
        HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// A parsed `X-Hub-Signature-256` value: the 32 digest bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; DIGEST_LEN]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signature(<redacted>)")
    }
}

impl Signature {
    /// Parses the header value. `None` (no header) is `SignatureMissing`;
    /// anything but `sha256=` and exactly 64 lowercase hex digits is
    /// `SignatureMalformed`.
    pub fn parse(header: Option<&str>) -> Result<Self, Error> {
        let value = header.ok_or(Error::SignatureMissing)?;
        let hex_digest = value
            .strip_prefix(PREFIX)
            .ok_or(Error::SignatureMalformed)?;
        // GitHub writes lowercase hex; accepting only that keeps exactly one
        // spelling of each signature valid.
        if !hex_digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::SignatureMalformed);
        }
        let mut digest = [0u8; DIGEST_LEN];
        hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| Error::SignatureMalformed)?;
        Ok(Self(digest))
    }

    /// Checks the signature against `body` in constant time.
    pub fn verify(&self, secret: &WebhookSecret, body: &[u8]) -> Result<(), Error> {
        let mut mac = secret.mac();
        mac.update(body);
        mac.verify_slice(&self.0)
            .map_err(|_| Error::SignatureMismatch)
    }
}

/// The `X-Hub-Signature-256` value GitHub would send for `body`.
pub fn sign(secret: &WebhookSecret, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn empty_secret_is_refused() {
        assert!(matches!(WebhookSecret::new(""), Err(Error::SecretEmpty)));
    }

    #[test]
    fn debug_output_hides_secret_and_signature() {
        let secret = WebhookSecret::new("hunter2-very-secret").unwrap();
        let header = sign(&secret, b"x");
        let signature = Signature::parse(Some(&header)).unwrap();
        let shown = format!("{secret:?} {signature:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(&header[7..15]), "{shown}");
    }

    #[test]
    fn header_shapes() {
        let ok = format!("sha256={}", "ab".repeat(32));
        let upper = format!("sha256={}", "AB".repeat(32));
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, Some("missing")),
            (Some(""), Some("malformed")),
            (Some(&ok), None),
            (Some(&upper), Some("malformed")),
            (
                Some("sha1=0123456789abcdef0123456789abcdef01234567"),
                Some("malformed"),
            ),
            (Some(&ok[..ok.len() - 2]), Some("malformed")),
            (Some(&format!("{ok}00")), Some("malformed")),
            (
                Some(&format!("SHA256={}", "ab".repeat(32))),
                Some("malformed"),
            ),
            (Some(&format!(" {ok}")), Some("malformed")),
            (
                Some(&format!("sha256={}zz", "ab".repeat(31))),
                Some("malformed"),
            ),
            (Some(&format!("{ok},{ok}")), Some("malformed")),
        ];
        for (header, expected) in cases {
            let got = match Signature::parse(*header) {
                Ok(_) => None,
                Err(Error::SignatureMissing) => Some("missing"),
                Err(Error::SignatureMalformed) => Some("malformed"),
                Err(other) => panic!("unexpected {other}"),
            };
            assert_eq!(got, *expected, "header {header:?}");
        }
    }
}
