//! Role trust policies: does a role let a given service assume it?
//!
//! IAM's GetRole returns `AssumeRolePolicyDocument` URL-encoded (RFC 3986
//! percent-encoding of the JSON text); some emulators return the JSON as is.
//! Both are accepted.

use serde_json::Value;

/// The service principals the two service roles must trust.
pub const CODEBUILD_PRINCIPAL: &str = "codebuild.amazonaws.com";
pub const CODEPIPELINE_PRINCIPAL: &str = "codepipeline.amazonaws.com";

/// Decodes a trust policy document as GetRole returns it.
pub fn decode_policy_document(raw: &str) -> Option<Value> {
    let trimmed = raw.trim();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed).ok();
    }
    let decoded = percent_decode(trimmed)?;
    serde_json::from_str(&decoded).ok()
}

/// True when some statement allows `sts:AssumeRole` to the service principal.
pub fn trusts_service(document: &Value, service: &str) -> bool {
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return false,
    };
    statements.into_iter().any(|statement| {
        statement.get("Effect").and_then(Value::as_str) == Some("Allow")
            && one_or_many(statement.get("Action")).any(|action| {
                matches!(
                    action.to_ascii_lowercase().as_str(),
                    "sts:assumerole" | "sts:*" | "*"
                )
            })
            && one_or_many(statement.get("Principal").and_then(|p| p.get("Service")))
                .any(|principal| principal == service)
    })
}

fn one_or_many(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let items: Vec<&str> = match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    items.into_iter()
}

/// RFC 3986 percent-decoding (`+` stays `+`). None on a malformed escape or
/// bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = bytes.get(index + 1..index + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22codebuild.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";

    #[test]
    fn decodes_the_url_encoded_document_aws_returns() {
        let document = decode_policy_document(ENCODED).unwrap();
        assert!(trusts_service(&document, CODEBUILD_PRINCIPAL));
        assert!(!trusts_service(&document, CODEPIPELINE_PRINCIPAL));
    }

    #[test]
    fn accepts_plain_json_too() {
        let raw = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":["events.amazonaws.com","scheduler.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}}"#;
        let document = decode_policy_document(raw).unwrap();
        assert!(trusts_service(&document, "events.amazonaws.com"));
    }

    #[test]
    fn deny_other_actions_and_other_principals_do_not_count() {
        let cases = [
            json!({"Statement": [{"Effect": "Deny", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}),
            json!({"Statement": []}),
            json!({}),
        ];
        for document in cases {
            assert!(
                !trusts_service(&document, CODEBUILD_PRINCIPAL),
                "{document}"
            );
        }
    }

    #[test]
    fn malformed_documents_are_rejected() {
        assert!(decode_policy_document("%7").is_none());
        assert!(decode_policy_document("%ZZ").is_none());
        assert!(decode_policy_document("not json").is_none());
        assert!(decode_policy_document("%FF%FE").is_none());
    }

    proptest! {
        #[test]
        fn percent_decoding_inverts_encoding(text in "\\PC{0,64}") {
            let encoded: String = text
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            prop_assert_eq!(percent_decode(&encoded), Some(text));
        }
    }
}
