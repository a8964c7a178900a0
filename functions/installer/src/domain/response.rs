//! The answer to CloudFormation: a JSON body of at most 4096 bytes.

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};

/// CloudFormation refuses a response body larger than this.
pub const MAX_BODY_BYTES: usize = 4096;
const TRUNCATION_MARK: &str = " [truncated]";

/// The fields of the request that the response echoes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Echo {
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
}

/// The outcome to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success {
        physical_id: String,
        data: HashMap<String, String>,
    },
    Failed {
        physical_id: String,
        reason: String,
    },
}

/// Serializes the response, shortening the reason so that the body never
/// exceeds [`MAX_BODY_BYTES`].
pub fn response_body(echo: &Echo, outcome: &Outcome) -> String {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.stack_id = echo.stack_id.clone();
    response.request_id = echo.request_id.clone();
    response.logical_resource_id = echo.logical_resource_id.clone();
    let reason = match outcome {
        Outcome::Success { physical_id, data } => {
            response.status = CloudFormationCustomResourceResponseStatus::Success;
            response.physical_resource_id = physical_id.clone();
            response.data = data.clone();
            None
        }
        Outcome::Failed {
            physical_id,
            reason,
        } => {
            response.status = CloudFormationCustomResourceResponseStatus::Failed;
            response.physical_resource_id = physical_id.clone();
            Some(reason.as_str())
        }
    };

    response.reason = reason.map(|_| String::new());
    let base = serde_json::to_string(&response).unwrap_or_default();
    if let Some(reason) = reason {
        let room = MAX_BODY_BYTES.saturating_sub(base.len());
        response.reason = Some(fit_json_string(reason, room));
    }
    let body = serde_json::to_string(&response).unwrap_or_default();
    if body.len() <= MAX_BODY_BYTES {
        return body;
    }
    // Only reachable with echoed ids longer than the whole budget (not
    // something CloudFormation sends): answer with what fits.
    response.reason = Some("response too large".into());
    response.data.clear();
    serde_json::to_string(&response).unwrap_or_default()
}

/// The longest prefix of `text` whose JSON-escaped form takes at most `room`
/// bytes, marked when shortened.
fn fit_json_string(text: &str, room: usize) -> String {
    let total: usize = text.chars().map(escaped_len).sum();
    if total <= room {
        return text.to_owned();
    }
    let budget = room.saturating_sub(TRUNCATION_MARK.len());
    let mut used = 0;
    let mut cut = 0;
    for (index, ch) in text.char_indices() {
        let len = escaped_len(ch);
        if used + len > budget {
            break;
        }
        used += len;
        cut = index + ch.len_utf8();
    }
    format!("{}{TRUNCATION_MARK}", &text[..cut])
}

/// Bytes one character takes inside a JSON string as serde_json writes it.
fn escaped_len(ch: char) -> usize {
    match ch {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn echo() -> Echo {
        Echo {
            stack_id: "arn:aws:cloudformation:ap-southeast-1:123456789012:stack/ci/0f3c".into(),
            request_id: "6f1c3a4e-0000-4000-8000-000000000001".into(),
            logical_resource_id: "Installer".into(),
        }
    }

    #[test]
    fn success_carries_id_and_data() {
        let data = HashMap::from([("PipelineName".to_owned(), "pipeline-prod".to_owned())]);
        let body = response_body(
            &echo(),
            &Outcome::Success {
                physical_id: "installer:a:b:c".into(),
                data,
            },
        );
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["Status"], "SUCCESS");
        assert_eq!(value["PhysicalResourceId"], "installer:a:b:c");
        assert_eq!(value["StackId"], echo().stack_id);
        assert_eq!(value["RequestId"], echo().request_id);
        assert_eq!(value["LogicalResourceId"], "Installer");
        assert_eq!(value["Data"]["PipelineName"], "pipeline-prod");
    }

    #[test]
    fn a_long_reason_is_truncated_to_fit() {
        let reason = "x".repeat(10_000);
        let body = response_body(
            &echo(),
            &Outcome::Failed {
                physical_id: "installer:create-failed:1".into(),
                reason,
            },
        );
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["Status"], "FAILED");
        let reason = value["Reason"].as_str().unwrap();
        assert!(reason.ends_with("[truncated]"));
        assert!(reason.len() > 3500, "{}", reason.len());
    }

    #[test]
    fn a_short_reason_is_kept_whole() {
        let body = response_body(
            &echo(),
            &Outcome::Failed {
                physical_id: "p".into(),
                reason: "property GitHubBranch is missing".into(),
            },
        );
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["Reason"], "property GitHubBranch is missing");
    }

    proptest! {
        #[test]
        fn any_reason_fits_and_stays_valid_json(reason in "(\\PC|[\"\\\\\n\t\u{1}])*", repeat in 1usize..400) {
            let reason = reason.repeat(repeat);
            let body = response_body(&echo(), &Outcome::Failed { physical_id: "p".into(), reason: reason.clone() });
            prop_assert!(body.len() <= MAX_BODY_BYTES);
            let value: Value = serde_json::from_str(&body).unwrap();
            let sent = value["Reason"].as_str().unwrap();
            let kept = sent.strip_suffix(TRUNCATION_MARK).unwrap_or(sent);
            prop_assert!(reason.starts_with(kept));
        }
    }
}
