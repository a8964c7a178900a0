//! Signature checks: GitHub's published test vector, and property tests
//! showing that any change to the body or the signature is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use webhook::{sign, Error, Signature, WebhookSecret};

const VECTOR_SECRET: &str = "It's a Secret to Everybody";
const VECTOR_BODY: &[u8] = b"Hello, World!";
const VECTOR_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn github_test_vector_verifies() {
    let secret = WebhookSecret::new(VECTOR_SECRET).unwrap();
    assert_eq!(sign(&secret, VECTOR_BODY), VECTOR_SIGNATURE);
    Signature::parse(Some(VECTOR_SIGNATURE))
        .unwrap()
        .verify(&secret, VECTOR_BODY)
        .unwrap();
}

#[test]
fn github_test_vector_with_another_secret_or_body_fails() {
    let signature = Signature::parse(Some(VECTOR_SIGNATURE)).unwrap();
    let other = WebhookSecret::new("It's a Secret to Everybody ").unwrap();
    assert!(matches!(
        signature.verify(&other, VECTOR_BODY),
        Err(Error::SignatureMismatch)
    ));
    let secret = WebhookSecret::new(VECTOR_SECRET).unwrap();
    assert!(matches!(
        signature.verify(&secret, b"Hello, World"),
        Err(Error::SignatureMismatch)
    ));
}

fn secret_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn genuine_signatures_verify(secret in secret_strategy(), body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let secret = WebhookSecret::new(secret).unwrap();
        let header = sign(&secret, &body);
        prop_assert!(Signature::parse(Some(&header)).unwrap().verify(&secret, &body).is_ok());
    }

    #[test]
    fn any_altered_body_byte_is_rejected(
        secret in secret_strategy(),
        body in proptest::collection::vec(any::<u8>(), 1..2048),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let secret = WebhookSecret::new(secret).unwrap();
        let header = sign(&secret, &body);
        let mut altered = body.clone();
        let i = index.index(altered.len());
        altered[i] ^= flip;
        let verdict = Signature::parse(Some(&header)).unwrap().verify(&secret, &altered);
        prop_assert!(matches!(verdict, Err(Error::SignatureMismatch)));
    }

    #[test]
    fn appended_or_removed_bytes_are_rejected(
        secret in secret_strategy(),
        body in proptest::collection::vec(any::<u8>(), 1..512),
        extra in any::<u8>(),
    ) {
        let secret = WebhookSecret::new(secret).unwrap();
        let signature = Signature::parse(Some(&sign(&secret, &body))).unwrap();
        let mut longer = body.clone();
        longer.push(extra);
        prop_assert!(signature.verify(&secret, &longer).is_err());
        prop_assert!(signature.verify(&secret, &body[..body.len() - 1]).is_err());
    }

    #[test]
    fn any_altered_signature_character_is_rejected(
        secret in secret_strategy(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        index in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let secret = WebhookSecret::new(secret).unwrap();
        let header = sign(&secret, &body);
        let mut chars: Vec<char> = header.chars().collect();
        let i = index.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let altered: String = chars.into_iter().collect();
        let verdict = Signature::parse(Some(&altered)).and_then(|s| s.verify(&secret, &body));
        prop_assert!(verdict.is_err(), "accepted {altered}");
    }

    #[test]
    fn signature_under_another_secret_is_rejected(
        secret in secret_strategy(),
        other in secret_strategy(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        prop_assume!(secret != other);
        let secret = WebhookSecret::new(secret).unwrap();
        let other = WebhookSecret::new(other).unwrap();
        let forged = sign(&other, &body);
        prop_assert!(Signature::parse(Some(&forged)).unwrap().verify(&secret, &body).is_err());
    }
}
