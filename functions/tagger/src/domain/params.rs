//! The action's parameters (UserParameters) and the operator's requests
//! (rollback, release, status), parsed and checked before any AWS call.

use serde::Deserialize;

use crate::error::Error;

/// UserParameters as the pipeline sets them.
pub const EXAMPLE: &str = r##"{"repository":"images-prod","digest":"#{BuildVariables.IMAGE_DIGEST}","tag":"production","commit":"#{variables.COMMIT_ID}","sequence":"#{variables.PUSH_SEQUENCE}","execution":"#{codepipeline.PipelineExecutionId}"}"##;

/// What the pipeline variables hold when the execution was started by hand
/// (the installer's defaults): no push, so no push order to keep.
pub const NO_PUSH: &str = "none";

/// The tag moved when UserParameters name none.
pub const DEFAULT_TAG: &str = "production";

/// The suffix of the tag that keeps the previously promoted image.
pub const PREVIOUS_SUFFIX: &str = "-previous";

/// The tag the build cache is pushed under; never a promotion candidate.
pub const CACHE_TAG: &str = "buildcache";

/// Docker's limit for a tag (ECR accepts what Docker can pull).
const MAX_TAG_LEN: usize = 128;

/// An image digest, `sha256:` and 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Checks the form of a digest given as a parameter.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidParameter {
            name: "digest",
            reason,
        };
        if value.starts_with("#{") {
            return Err(invalid(format!(
                "{value:?} is an unresolved pipeline variable: the Build action must run in the namespace BuildVariables and export IMAGE_DIGEST"
            )));
        }
        let Some(hex) = value.strip_prefix("sha256:") else {
            return Err(invalid(format!(
                "{value:?} does not start with sha256: (expected sha256: and 64 hex digits)"
            )));
        };
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid(format!(
                "{value:?} is not sha256: followed by 64 lowercase hex digits"
            )));
        }
        Ok(Self(value.to_owned()))
    }

    /// A digest as ECR reported it (not re-checked: ECR is the authority).
    pub fn from_ecr(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The digest text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The checked parameters of one promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// The ECR repository name.
    pub repository: String,
    /// The image to promote; `None` falls back to the newest pushed image.
    pub digest: Option<Digest>,
    /// The tag to move (`production`).
    pub tag: String,
    /// The push this execution builds, when a push started it.
    pub push: Option<PushOrder>,
    /// The pipeline execution the job belongs to, when the pipeline passes it.
    pub execution: Option<String>,
}

/// Which push an execution builds, and its place in push order (the
/// starter's `PUSH_SEQUENCE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOrder {
    pub commit: String,
    pub sequence: u64,
}

impl Parameters {
    /// The tag that keeps the image the tag held before (`production-previous`).
    pub fn previous_tag(&self) -> String {
        previous_tag(&self.tag)
    }
}

/// The rollback tag for a tag.
pub fn previous_tag(tag: &str) -> String {
    format!("{tag}{PREVIOUS_SUFFIX}")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameters {
    repository: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    sequence: Option<String>,
    #[serde(default)]
    execution: Option<String>,
}

/// Parses UserParameters. An absent or empty `digest` means "the newest
/// pushed image"; an absent `tag` means `production`.
pub fn parse_user_parameters(text: Option<&str>) -> Result<Parameters, Error> {
    let text = text.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(Error::MissingParameters);
    }
    let raw: RawParameters =
        serde_json::from_str(text).map_err(|source| Error::MalformedParameters { source })?;
    let digest = match raw.digest.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => Some(Digest::parse(value)?),
    };
    Ok(Parameters {
        repository: check_repository(raw.repository)?,
        digest,
        tag: check_tag(raw.tag.unwrap_or_else(|| DEFAULT_TAG.to_owned()))?,
        push: push_order(raw.commit, raw.sequence)?,
        execution: execution_id(raw.execution)?,
    })
}

/// CodePipeline's execution ids are UUIDs; anything of letters, digits and
/// `-` up to 100 characters is accepted, an unresolved variable is not.
fn execution_id(value: Option<String>) -> Result<Option<String>, Error> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let ok = value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(Error::InvalidParameter {
            name: "execution",
            reason: format!(
                "{value:?} is not a pipeline execution id (an unresolved variable? the action should pass #{{codepipeline.PipelineExecutionId}})"
            ),
        });
    }
    Ok(Some(value))
}

/// `commit` and `sequence` together name the push; the defaults of a start
/// by hand (`none`, `0`) or their absence name none.
fn push_order(
    commit: Option<String>,
    sequence: Option<String>,
) -> Result<Option<PushOrder>, Error> {
    let unresolved = |name: &'static str, value: &str| {
        Error::InvalidParameter {
        name,
        reason: format!("{value:?} is an unresolved pipeline variable: the pipeline must declare COMMIT_ID and PUSH_SEQUENCE (update the stack)"),
    }
    };
    let commit = commit
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty() && c != NO_PUSH);
    let sequence = sequence
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s != "0");
    match (commit, sequence) {
        (None, None) => Ok(None),
        (Some(commit), Some(sequence)) => {
            if commit.starts_with("#{") {
                return Err(unresolved("commit", &commit));
            }
            if sequence.starts_with("#{") {
                return Err(unresolved("sequence", &sequence));
            }
            let hex = commit
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex || !(commit.len() == 40 || commit.len() == 64) {
                return Err(Error::InvalidParameter {
                    name: "commit",
                    reason: format!("{commit:?} is not a full commit id"),
                });
            }
            let sequence = sequence
                .parse::<u64>()
                .map_err(|_| Error::InvalidParameter {
                    name: "sequence",
                    reason: format!("{sequence:?} is not a whole number"),
                })?;
            Ok(Some(PushOrder { commit, sequence }))
        }
        (Some(_), None) | (None, Some(_)) => Err(Error::InvalidParameter {
            name: "sequence",
            reason: "commit and sequence must be given together (or neither)".to_owned(),
        }),
    }
}

/// A tag of a repository: what an operator's request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagOf {
    /// The ECR repository name.
    pub repository: String,
    /// The tag (`production`).
    pub tag: String,
}

/// An image named by an operator: a digest, or a tag (a commit's tag, or
/// `production-previous`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Digest(Digest),
    Tag(String),
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Digest(digest) => write!(f, "{digest}"),
            Reference::Tag(tag) => write!(f, "tag {tag}"),
        }
    }
}

/// A rollback: move the tag onto `to` (by default the image that holds the
/// rollback tag), provided the tag still holds `expect` when given, and
/// hold automatic promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackRequest {
    pub target: TagOf,
    pub to: Option<Reference>,
    pub expect: Option<Digest>,
    /// Answer what the rollback would do, and do nothing (`"dryRun":true`).
    pub dry_run: bool,
    /// Allow a `to` that was never promoted (`"force":true`).
    pub force: bool,
}

/// What an operator asks of the tagger (besides CodePipeline's jobs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `{"rollback":{"to":"<digest or tag>","expect":"<digest>"}}`.
    Rollback(RollbackRequest),
    /// `{"release":{}}`: end the hold a rollback set.
    Release(TagOf),
    /// `{"status":{}}`: what is in production.
    Status(TagOf),
}

/// The request shapes, for messages.
pub const REQUEST_EXAMPLES: &str = r#"{"rollback":{"to":"<digest or tag>","expect":"<digest>","dryRun":false,"force":false}}, {"release":{}} or {"status":{}} (each may name "repository" and "tag")"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum RawRequest {
    Rollback(RawRollback),
    Release(RawTagOf),
    Status(RawTagOf),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTagOf {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    tag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollback {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default, rename = "dryRun")]
    dry_run: bool,
    #[serde(default)]
    force: bool,
}

/// Parses an operator's request; `repository` defaults to the function's
/// own repository (REPOSITORY_NAME), `tag` to `production`.
pub fn parse_request(
    event: serde_json::Value,
    default_repository: Option<&str>,
) -> Result<Request, Error> {
    let raw: RawRequest =
        serde_json::from_value(event).map_err(|source| Error::MalformedRequest { source })?;
    let tag_of = |repository: Option<String>, tag: Option<String>| -> Result<TagOf, Error> {
        let repository = match repository.or_else(|| default_repository.map(str::to_owned)) {
            Some(repository) => check_repository(repository)?,
            None => {
                return Err(Error::InvalidParameter {
                    name: "repository",
                    reason: "the request names none and the function has no REPOSITORY_NAME"
                        .to_owned(),
                })
            }
        };
        Ok(TagOf {
            repository,
            tag: check_tag(tag.unwrap_or_else(|| DEFAULT_TAG.to_owned()))?,
        })
    };
    Ok(match raw {
        RawRequest::Rollback(r) => {
            let to = match r.to.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(value) if value.starts_with("sha256:") => Some(Reference::Digest(
                    Digest::parse(value).map_err(|e| rename(e, "to"))?,
                )),
                Some(value) => Some(Reference::Tag(
                    check_tag(value.to_owned()).map_err(|e| rename(e, "to"))?,
                )),
            };
            let expect = match r.expect.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(value) => Some(Digest::parse(value).map_err(|e| rename(e, "expect"))?),
            };
            Request::Rollback(RollbackRequest {
                target: tag_of(r.repository, r.tag)?,
                to,
                expect,
                dry_run: r.dry_run,
                force: r.force,
            })
        }
        RawRequest::Release(r) => Request::Release(tag_of(r.repository, r.tag)?),
        RawRequest::Status(r) => Request::Status(tag_of(r.repository, r.tag)?),
    })
}

/// The same complaint about another field of the request.
fn rename(error: Error, name: &'static str) -> Error {
    match error {
        Error::InvalidParameter { reason, .. } => Error::InvalidParameter { name, reason },
        other => other,
    }
}

/// ECR's repository name rule: 2 to 256 characters, slash-separated
/// components of lowercase letters and digits joined by single `.`, `_` or `-`.
fn check_repository(name: String) -> Result<String, Error> {
    let invalid = |reason: String| Error::InvalidParameter {
        name: "repository",
        reason,
    };
    if name.len() < 2 || name.len() > 256 {
        return Err(invalid(format!(
            "{name:?} must be 2 to 256 characters long"
        )));
    }
    let component_ok = |part: &str| {
        let bytes = part.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let sep = |b: u8| matches!(b, b'.' | b'_' | b'-');
        !bytes.is_empty()
            && bytes.first().is_some_and(|&b| alnum(b))
            && bytes.last().is_some_and(|&b| alnum(b))
            && bytes.iter().all(|&b| alnum(b) || sep(b))
            && !bytes.windows(2).any(|w| sep(w[0]) && sep(w[1]))
    };
    if !name.split('/').all(component_ok) {
        return Err(invalid(format!(
            "{name:?} is not an ECR repository name (lowercase letters, digits, and single . _ - or / between them)"
        )));
    }
    Ok(name)
}

/// Docker's tag rule: a letter, digit or `_`, then letters, digits, `_`, `.`
/// or `-`; short enough that the rollback tag fits too.
fn check_tag(tag: String) -> Result<String, Error> {
    let invalid = |reason: String| Error::InvalidParameter {
        name: "tag",
        reason,
    };
    let max = MAX_TAG_LEN - PREVIOUS_SUFFIX.len();
    if tag.is_empty() || tag.len() > max {
        return Err(invalid(format!(
            "{tag:?} must be 1 to {max} characters long (room is kept for {PREVIOUS_SUFFIX})"
        )));
    }
    let bytes = tag.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !first_ok || !rest_ok {
        return Err(invalid(format!(
            "{tag:?} is not a Docker tag (letters, digits, _ . -, not starting with . or -)"
        )));
    }
    if tag == CACHE_TAG {
        return Err(invalid(format!(
            "{tag:?} is the build cache's tag and cannot be promoted to"
        )));
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_pipeline_parameters_parse() {
        let text = format!(r#"{{"repository":"images-prod","digest":"{D}","tag":"production"}}"#);
        let p = parse_user_parameters(Some(&text)).unwrap();
        assert_eq!(p.repository, "images-prod");
        assert_eq!(p.digest.as_ref().map(Digest::as_str), Some(D));
        assert_eq!(p.tag, "production");
        assert_eq!(p.previous_tag(), "production-previous");
    }

    #[test]
    fn digest_absent_or_empty_means_fallback_and_tag_defaults_to_production() {
        for text in [
            r#"{"repository":"images-prod"}"#,
            r#"{"repository":"images-prod","digest":""}"#,
            r#"{"repository":"images-prod","digest":null}"#,
            r#"  {"repository":"images-prod","digest":"  "}  "#,
        ] {
            let p = parse_user_parameters(Some(text)).unwrap();
            assert_eq!(p.digest, None, "{text}");
            assert_eq!(p.tag, "production", "{text}");
        }
    }

    #[test]
    fn nested_repository_names_are_accepted() {
        let p = parse_user_parameters(Some(r#"{"repository":"team/app.web_v2-x"}"#)).unwrap();
        assert_eq!(p.repository, "team/app.web_v2-x");
    }

    /// Each malformed case with the parameter named in the message.
    #[test]
    fn every_malformed_case_is_a_configuration_error_with_a_reason() {
        let cases: &[(Option<&str>, &str)] = &[
            (None, "no UserParameters"),
            (Some(""), "no UserParameters"),
            (Some("   "), "no UserParameters"),
            (Some("images-prod"), "not valid"),
            (Some("[]"), "not valid"),
            (Some("\"images-prod\""), "not valid"),
            (Some("{"), "not valid"),
            (Some("{}"), "missing field `repository`"),
            (Some(r#"{"repository":7}"#), "invalid type"),
            (
                Some(r#"{"repository":"images-prod","digets":"x"}"#),
                "unknown field `digets`",
            ),
            (
                Some(r#"{"repository":"images-prod","tag":5}"#),
                "invalid type",
            ),
            (Some(r#"{"repository":""}"#), "2 to 256"),
            (
                Some(r#"{"repository":"Images"}"#),
                "not an ECR repository name",
            ),
            (
                Some(r#"{"repository":"a//b"}"#),
                "not an ECR repository name",
            ),
            (
                Some(r#"{"repository":"-ab"}"#),
                "not an ECR repository name",
            ),
            (
                Some(r#"{"repository":"a--b"}"#),
                "not an ECR repository name",
            ),
            (
                Some(r#"{"repository":"ab/"}"#),
                "not an ECR repository name",
            ),
            (
                Some(r##"{"repository":"images-prod","digest":"#{BuildVariables.IMAGE_DIGEST}"}"##),
                "unresolved pipeline variable",
            ),
            (
                Some(r#"{"repository":"images-prod","digest":"abc"}"#),
                "does not start with sha256:",
            ),
            (
                Some(r#"{"repository":"images-prod","digest":"sha256:abc"}"#),
                "64 lowercase hex",
            ),
            (
                Some(
                    r#"{"repository":"images-prod","digest":"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"}"#,
                ),
                "64 lowercase hex",
            ),
            (Some(r#"{"repository":"images-prod","tag":""}"#), "1 to 119"),
            (
                Some(r#"{"repository":"images-prod","tag":".hidden"}"#),
                "not a Docker tag",
            ),
            (
                Some(r#"{"repository":"images-prod","tag":"a b"}"#),
                "not a Docker tag",
            ),
            (
                Some(r#"{"repository":"images-prod","tag":"buildcache"}"#),
                "build cache",
            ),
        ];
        for (text, expected) in cases {
            let error = parse_user_parameters(*text).unwrap_err();
            assert_eq!(
                error.failure_kind(),
                crate::domain::outcome::FailureKind::ConfigurationError,
                "{text:?}"
            );
            let message = error.to_string();
            assert!(message.contains(expected), "{text:?}: {message}");
        }
        let long_tag = format!(
            r#"{{"repository":"images-prod","tag":"{}"}}"#,
            "t".repeat(120)
        );
        assert!(parse_user_parameters(Some(&long_tag)).is_err());
        let long_repo = format!(r#"{{"repository":"{}"}}"#, "r".repeat(257));
        assert!(parse_user_parameters(Some(&long_repo)).is_err());
    }

    #[test]
    fn malformed_parameter_messages_show_the_expected_shape() {
        let message = parse_user_parameters(Some("nope")).unwrap_err().to_string();
        assert!(message.contains(EXAMPLE), "{message}");
    }

    #[test]
    fn operator_requests_parse_with_their_defaults() {
        let r = parse_request(serde_json::json!({"rollback": {}}), Some("images-prod")).unwrap();
        assert_eq!(
            r,
            Request::Rollback(RollbackRequest {
                target: TagOf {
                    repository: "images-prod".into(),
                    tag: "production".into()
                },
                to: None,
                expect: None,
                dry_run: false,
                force: false,
            })
        );
        let r = parse_request(
            serde_json::json!({"rollback": {"dryRun": true, "force": true}}),
            Some("images-prod"),
        )
        .unwrap();
        assert!(matches!(
            r,
            Request::Rollback(RollbackRequest {
                dry_run: true,
                force: true,
                ..
            })
        ));
        let r = parse_request(
            serde_json::json!({"rollback": {"repository": "images-x", "to": D, "expect": D}}),
            Some("images-prod"),
        )
        .unwrap();
        let Request::Rollback(r) = r else {
            panic!("{r:?}")
        };
        assert_eq!(r.target.repository, "images-x");
        assert_eq!(r.to, Some(Reference::Digest(Digest::parse(D).unwrap())));
        assert_eq!(r.expect, Some(Digest::parse(D).unwrap()));
        let r = parse_request(
            serde_json::json!({"rollback": {"to": "6113728"}}),
            Some("images-prod"),
        )
        .unwrap();
        assert!(
            matches!(r, Request::Rollback(RollbackRequest { to: Some(Reference::Tag(ref t)), .. }) if t == "6113728")
        );
        assert!(matches!(
            parse_request(serde_json::json!({"release": {}}), Some("images-prod")).unwrap(),
            Request::Release(TagOf { ref tag, .. }) if tag == "production"
        ));
        assert!(matches!(
            parse_request(serde_json::json!({"status": {"tag": "staging"}}), Some("images-prod")).unwrap(),
            Request::Status(TagOf { ref tag, .. }) if tag == "staging"
        ));
    }

    #[test]
    fn bad_operator_requests_name_what_is_wrong() {
        for (bad, expected) in [
            (serde_json::json!({"rollback": {}}), "REPOSITORY_NAME"),
            (
                serde_json::json!({"rollback": {"repository": "UPPER"}}),
                "repository",
            ),
            (
                serde_json::json!({"rollback": {"repository": "images-x", "to": "sha256:12"}}),
                "parameter to",
            ),
            (
                serde_json::json!({"rollback": {"repository": "images-x", "to": "-x"}}),
                "parameter to",
            ),
            (
                serde_json::json!({"rollback": {"repository": "images-x", "expect": "production"}}),
                "parameter expect",
            ),
            (
                serde_json::json!({"rollback": {"repository": "images-x", "digest": D}}),
                "unknown field",
            ),
            (serde_json::json!({"rollback": "images-prod"}), "rollback"),
            (serde_json::json!({"promote": {}}), "unknown variant"),
        ] {
            let message = parse_request(bad.clone(), None).unwrap_err().to_string();
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn the_execution_id_is_read_and_checked() {
        let text =
            r#"{"repository":"images-prod","execution":"8e5c2a4e-1b7d-4c55-9c1e-0f2b9d6f1a33"}"#;
        let p = parse_user_parameters(Some(text)).unwrap();
        assert_eq!(
            p.execution.as_deref(),
            Some("8e5c2a4e-1b7d-4c55-9c1e-0f2b9d6f1a33")
        );
        let unresolved =
            r##"{"repository":"images-prod","execution":"#{codepipeline.PipelineExecutionId}"}"##;
        let message = parse_user_parameters(Some(unresolved))
            .unwrap_err()
            .to_string();
        assert!(message.contains("execution"), "{message}");
        let p = parse_user_parameters(Some(r#"{"repository":"images-prod"}"#)).unwrap();
        assert_eq!(p.execution, None);
    }

    proptest::proptest! {
        /// Whatever the text, parsing answers (never panics), and an accepted
        /// digest is always of the checked form.
        #[test]
        fn parsing_never_panics(text in ".{0,300}") {
            if let Ok(p) = parse_user_parameters(Some(&text)) {
                if let Some(d) = p.digest {
                    proptest::prop_assert!(Digest::parse(d.as_str()).is_ok());
                }
            }
        }
    }

    #[test]
    fn the_push_is_read_from_commit_and_sequence() {
        let c = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
        let with = |commit: &str, sequence: &str| {
            parse_user_parameters(Some(&format!(
                r#"{{"repository":"images-x","commit":"{commit}","sequence":"{sequence}"}}"#
            )))
        };
        assert_eq!(
            with(c, "12").unwrap().push,
            Some(PushOrder {
                commit: c.into(),
                sequence: 12
            })
        );
        // A start by hand carries the declared defaults: no push.
        assert_eq!(with("none", "0").unwrap().push, None);
        assert_eq!(
            parse_user_parameters(Some(r#"{"repository":"images-x"}"#))
                .unwrap()
                .push,
            None
        );
        for (commit, sequence, expected) in [
            (
                "#{variables.COMMIT_ID}",
                "3",
                "unresolved pipeline variable",
            ),
            (
                c,
                "#{variables.PUSH_SEQUENCE}",
                "unresolved pipeline variable",
            ),
            ("6113728", "3", "not a full commit id"),
            (c, "three", "not a whole number"),
            (c, "0", "together"),
        ] {
            let error = with(commit, sequence).unwrap_err().to_string();
            assert!(error.contains(expected), "{commit} {sequence}: {error}");
        }
    }
}
