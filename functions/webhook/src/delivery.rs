//! Reading a delivery off a function URL request: headers, the raw body, its
//! media type and the payload inside it. Pure functions, no AWS.

use std::borrow::Cow;

use aws_lambda_events::http::HeaderMap;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::Error;

/// The largest body accepted, in bytes after base64 decoding. A function URL
/// takes at most 6 MB of request payload (GitHub itself caps deliveries at
/// 25 MB), so nothing larger can be a genuine delivery.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// `X-GitHub-Event`: the event name, e.g. `push`.
pub const EVENT_HEADER: &str = "x-github-event";
/// `X-GitHub-Delivery`: a GUID naming this delivery.
pub const DELIVERY_HEADER: &str = "x-github-delivery";
/// `Content-Type`.
pub const CONTENT_TYPE_HEADER: &str = "content-type";

/// The longest delivery id accepted (GitHub sends a 36-character GUID).
const MAX_DELIVERY_ID_LEN: usize = 128;

/// The value of a header that may appear at most once, as text. Header names
/// are case-insensitive (`HeaderMap` stores them lowercased). A repeated
/// header or a value with bytes outside visible ASCII is refused.
pub fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, Error> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::InvalidHeader { name });
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| Error::InvalidHeader { name })
}

/// The exact bytes GitHub sent: the function URL base64-encodes bodies it
/// does not consider text. The size cap is checked before decoding.
pub fn raw_body(body: Option<&str>, is_base64_encoded: bool) -> Result<Cow<'_, [u8]>, Error> {
    let too_large = Error::BodyTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let Some(body) = body else {
        return Ok(Cow::Borrowed(&[]));
    };
    if !is_base64_encoded {
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
        return Ok(Cow::Borrowed(body.as_bytes()));
    }
    if body.len() > MAX_BODY_BYTES.div_ceil(3) * 4 {
        return Err(too_large);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(Error::InvalidBase64)?;
    if decoded.len() > MAX_BODY_BYTES {
        return Err(too_large);
    }
    Ok(Cow::Owned(decoded))
}

/// How the payload is carried, from the `Content-Type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadEncoding {
    /// `application/json`: the body is the payload.
    Json,
    /// `application/x-www-form-urlencoded`: the payload is the `payload` field.
    Form,
}

impl PayloadEncoding {
    /// Reads the media type (parameters such as `charset` are ignored).
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, Error> {
        let media_type = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .ok_or(Error::UnsupportedMediaType)?;
        if media_type.eq_ignore_ascii_case("application/json") {
            Ok(Self::Json)
        } else if media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Ok(Self::Form)
        } else {
            Err(Error::UnsupportedMediaType)
        }
    }
}

/// The payload object carried by an already verified body.
pub fn parse_payload(encoding: PayloadEncoding, raw: &[u8]) -> Result<Map<String, Value>, Error> {
    let value: Value = match encoding {
        PayloadEncoding::Json => serde_json::from_slice(raw).map_err(Error::MalformedJson)?,
        PayloadEncoding::Form => {
            let mut payloads = form_urlencoded::parse(raw)
                .filter(|(key, _)| key == "payload")
                .map(|(_, value)| value);
            let (Some(payload), None) = (payloads.next(), payloads.next()) else {
                return Err(Error::MissingFormPayload);
            };
            serde_json::from_str(&payload).map_err(Error::MalformedJson)?
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::PayloadNotObject),
    }
}

/// The delivery id, checked to be a short token of letters, digits and
/// dashes (GitHub sends a GUID), so that it is safe to log and forward.
pub fn delivery_id(value: Option<&str>) -> Result<&str, Error> {
    let id = value.ok_or(Error::InvalidDeliveryId)?;
    let well_formed = !id.is_empty()
        && id.len() <= MAX_DELIVERY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(id)
    } else {
        Err(Error::InvalidDeliveryId)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use aws_lambda_events::http::HeaderValue;

    #[test]
    fn header_lookup_is_case_insensitive_and_refuses_repeats() {
        let mut headers = HeaderMap::new();
        headers.insert("X-GitHub-Event", HeaderValue::from_static("push"));
        assert_eq!(single_header(&headers, EVENT_HEADER).unwrap(), Some("push"));
        assert_eq!(single_header(&headers, DELIVERY_HEADER).unwrap(), None);
        headers.append("x-github-event", HeaderValue::from_static("ping"));
        assert!(matches!(
            single_header(&headers, EVENT_HEADER),
            Err(Error::InvalidHeader { .. })
        ));
        headers.insert(
            "x-github-delivery",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert!(single_header(&headers, DELIVERY_HEADER).is_err());
    }

    #[test]
    fn body_plain_and_base64() {
        assert_eq!(&*raw_body(None, false).unwrap(), b"");
        assert_eq!(&*raw_body(Some("{}"), false).unwrap(), b"{}");
        assert_eq!(&*raw_body(Some("e30="), true).unwrap(), b"{}");
        assert!(matches!(
            raw_body(Some("not base64!"), true),
            Err(Error::InvalidBase64(_))
        ));
    }

    #[test]
    fn body_size_cap_is_checked_before_decoding() {
        let at_limit = "a".repeat(MAX_BODY_BYTES);
        assert_eq!(
            raw_body(Some(&at_limit), false).unwrap().len(),
            MAX_BODY_BYTES
        );
        let over = "a".repeat(MAX_BODY_BYTES + 1);
        assert!(matches!(
            raw_body(Some(&over), false),
            Err(Error::BodyTooLarge { .. })
        ));
        // Over the encoded bound: refused without decoding (it is not even
        // valid base64, which would otherwise give InvalidBase64).
        let encoded_over = "!".repeat(MAX_BODY_BYTES.div_ceil(3) * 4 + 1);
        assert!(matches!(
            raw_body(Some(&encoded_over), true),
            Err(Error::BodyTooLarge { .. })
        ));
        let encoded_at_limit =
            base64::engine::general_purpose::STANDARD.encode(vec![b'x'; MAX_BODY_BYTES]);
        assert_eq!(
            raw_body(Some(&encoded_at_limit), true).unwrap().len(),
            MAX_BODY_BYTES
        );
    }

    #[test]
    fn content_types() {
        let cases = [
            (Some("application/json"), Ok(PayloadEncoding::Json)),
            (
                Some("Application/JSON; charset=utf-8"),
                Ok(PayloadEncoding::Json),
            ),
            (
                Some("application/x-www-form-urlencoded"),
                Ok(PayloadEncoding::Form),
            ),
            (Some("text/plain"), Err(())),
            (Some("application/json-seq"), Err(())),
            (Some(""), Err(())),
            (None, Err(())),
        ];
        for (header, expected) in cases {
            let got = PayloadEncoding::from_content_type(header).map_err(|_| ());
            assert_eq!(got, expected, "{header:?}");
        }
    }

    #[test]
    fn json_and_form_payloads() {
        let json = parse_payload(PayloadEncoding::Json, br#"{"ref":"refs/heads/main"}"#).unwrap();
        assert_eq!(json["ref"], "refs/heads/main");

        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", r#"{"ref":"refs/heads/main"}"#)
            .finish();
        let parsed = parse_payload(PayloadEncoding::Form, form.as_bytes()).unwrap();
        assert_eq!(parsed, json);

        assert!(matches!(
            parse_payload(PayloadEncoding::Json, b"{\"ref\":"),
            Err(Error::MalformedJson(_))
        ));
        assert!(matches!(
            parse_payload(PayloadEncoding::Json, b"[1,2]"),
            Err(Error::PayloadNotObject)
        ));
        assert!(matches!(
            parse_payload(PayloadEncoding::Form, b"other=1"),
            Err(Error::MissingFormPayload)
        ));
        assert!(matches!(
            parse_payload(PayloadEncoding::Form, b"payload=%7B%7D&payload=%7B%7D"),
            Err(Error::MissingFormPayload)
        ));
        assert!(matches!(
            parse_payload(PayloadEncoding::Form, b"payload=%7B"),
            Err(Error::MalformedJson(_))
        ));
    }

    #[test]
    fn nesting_beyond_the_parser_limit_is_malformed_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!("{{\"a\":{deep}}}");
        assert!(matches!(
            parse_payload(PayloadEncoding::Json, body.as_bytes()),
            Err(Error::MalformedJson(_))
        ));
    }

    #[test]
    fn delivery_ids() {
        assert_eq!(
            delivery_id(Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")).unwrap(),
            "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        );
        for bad in [None, Some(""), Some("a b"), Some("x\"y"), Some("é")] {
            assert!(delivery_id(bad).is_err(), "{bad:?}");
        }
        assert!(delivery_id(Some(&"a".repeat(MAX_DELIVERY_ID_LEN))).is_ok());
        assert!(delivery_id(Some(&"a".repeat(MAX_DELIVERY_ID_LEN + 1))).is_err());
    }
}
