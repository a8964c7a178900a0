//! The custom resource's properties, parsed and checked before anything is
//! called: a missing or malformed property fails with a message naming it.

use serde_json::{Map, Value};

use super::names::ResourceNames;
use super::tags::{Tag, OWNER_TAG_KEY};
use crate::error::Error;

/// The typed properties the template passes (all strings but `Tags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub environment_suffix: String,
    pub names: ResourceNames,
    pub event_bus_name: String,
    pub codebuild_role_arn: String,
    pub pipeline_role_arn: String,
    /// The starter function, the push rule's target.
    pub starter_function_arn: String,
    /// The SQS queue that keeps events the rule could not deliver.
    pub dead_letter_queue_arn: String,
    pub artifact_bucket: String,
    pub repository_name: String,
    pub repository_uri: String,
    pub connection_arn: String,
    pub github_owner: String,
    pub github_repo: String,
    pub github_branch: String,
    pub dockerfile_path: String,
    /// The BuildKit image the build's builder container runs.
    pub buildkit_image: String,
    pub tagger_function_name: String,
    pub build_log_group_name: String,
    pub tags: Vec<Tag>,
}

impl Properties {
    /// Every property the installer requires, as the template must pass them.
    pub const NAMES: &'static [&'static str] = &[
        "EnvironmentSuffix",
        "ProjectName",
        "PipelineName",
        "RuleName",
        "EventBusName",
        "CodeBuildRoleArn",
        "PipelineRoleArn",
        "StarterFunctionArn",
        "DeadLetterQueueArn",
        "ArtifactBucket",
        "RepositoryName",
        "RepositoryUri",
        "ConnectionArn",
        "GitHubOwner",
        "GitHubRepo",
        "GitHubBranch",
        "DockerfilePath",
        "BuildKitImage",
        "TaggerFunctionName",
        "BuildLogGroupName",
        "Tags",
    ];

    /// `owner/repo`, as GitHub names the repository in its payloads.
    pub fn full_repository_name(&self) -> String {
        format!("{}/{}", self.github_owner, self.github_repo)
    }

    /// Parses `ResourceProperties`. CloudFormation's own keys (ServiceToken,
    /// ServiceTimeout) and unknown keys are ignored.
    pub fn parse(value: &Value) -> Result<Self, Error> {
        let Some(map) = value.as_object() else {
            return Err(Error::property("ResourceProperties", "is not an object"));
        };
        let names = ResourceNames {
            project: field(map, "ProjectName", project_name)?,
            pipeline: field(map, "PipelineName", pipeline_name)?,
            rule: field(map, "RuleName", rule_name)?,
        };
        let properties = Self {
            environment_suffix: field(map, "EnvironmentSuffix", environment_suffix)?,
            names,
            event_bus_name: field(map, "EventBusName", event_bus_name)?,
            codebuild_role_arn: field(map, "CodeBuildRoleArn", role_arn)?,
            pipeline_role_arn: field(map, "PipelineRoleArn", role_arn)?,
            starter_function_arn: field(map, "StarterFunctionArn", function_arn)?,
            dead_letter_queue_arn: field(map, "DeadLetterQueueArn", queue_arn)?,
            artifact_bucket: field(map, "ArtifactBucket", bucket_name)?,
            repository_name: field(map, "RepositoryName", repository_name)?,
            repository_uri: field(map, "RepositoryUri", repository_uri)?,
            connection_arn: field(map, "ConnectionArn", connection_arn)?,
            github_owner: field(map, "GitHubOwner", github_owner)?,
            github_repo: field(map, "GitHubRepo", github_repo)?,
            github_branch: field(map, "GitHubBranch", branch_name)?,
            dockerfile_path: field(map, "DockerfilePath", dockerfile_path)?,
            buildkit_image: field(map, "BuildKitImage", image_reference)?,
            tagger_function_name: field(map, "TaggerFunctionName", function_name)?,
            build_log_group_name: field(map, "BuildLogGroupName", build_log_group)?,
            tags: tags(map)?,
        };
        if !properties
            .repository_uri
            .ends_with(&format!("/{}", properties.repository_name))
        {
            return Err(Error::property(
                "RepositoryUri",
                "does not end with /<RepositoryName>",
            ));
        }
        Ok(properties)
    }
}

/// What a Delete needs beyond the names in the physical id: the bus the rule
/// is on and the bucket to empty. Parsed on its own so that a Delete does not
/// fail on a property it does not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteProperties {
    pub event_bus_name: String,
    pub artifact_bucket: String,
}

impl DeleteProperties {
    pub fn parse(value: &Value) -> Result<Self, Error> {
        let Some(map) = value.as_object() else {
            return Err(Error::property("ResourceProperties", "is not an object"));
        };
        Ok(Self {
            event_bus_name: field(map, "EventBusName", event_bus_name)?,
            artifact_bucket: field(map, "ArtifactBucket", bucket_name)?,
        })
    }
}

/// The role name of an IAM role ARN (`arn:<partition>:iam::<account>:role/<path/>name`).
pub fn role_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" || !region.is_empty() || !is_account_id(account) {
        return None;
    }
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    let valid = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    valid.then_some(name)
}

type Check = fn(&str) -> Result<(), &'static str>;

fn field(map: &Map<String, Value>, name: &'static str, check: Check) -> Result<String, Error> {
    match map.get(name) {
        None | Some(Value::Null) => Err(Error::property(name, "is missing")),
        Some(Value::String(text)) => match check(text) {
            Ok(()) => Ok(text.clone()),
            Err(problem) => Err(Error::property(name, problem)),
        },
        Some(_) => Err(Error::property(name, "is not a string")),
    }
}

fn tags(map: &Map<String, Value>) -> Result<Vec<Tag>, Error> {
    const NAME: &str = "Tags";
    let Some(value) = map.get(NAME) else {
        return Err(Error::property(NAME, "is missing"));
    };
    let Some(items) = value.as_array() else {
        return Err(Error::property(NAME, "is not a list of {Key, Value}"));
    };
    let mut tags = Vec::with_capacity(items.len());
    for item in items {
        let key = item.get("Key").and_then(Value::as_str);
        let value = item.get("Value").and_then(Value::as_str);
        let (Some(key), Some(value)) = (key, value) else {
            return Err(Error::property(
                NAME,
                "has an entry without a string Key and Value",
            ));
        };
        if key.is_empty() || key.len() > 128 || key.starts_with("aws:") {
            return Err(Error::property(
                NAME,
                "has a key that is empty, too long or reserved",
            ));
        }
        if key == OWNER_TAG_KEY {
            return Err(Error::property(
                NAME,
                "uses the installer's own ownership tag key",
            ));
        }
        if value.len() > 256 {
            return Err(Error::property(
                NAME,
                "has a value longer than 256 characters",
            ));
        }
        tags.push(Tag::new(key, value));
    }
    if tags.len() > 40 {
        return Err(Error::property(NAME, "has more than 40 tags"));
    }
    Ok(tags)
}

fn chars_in(text: &str, min: usize, max: usize, allowed: impl Fn(char) -> bool) -> bool {
    (min..=max).contains(&text.chars().count()) && text.chars().all(allowed)
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn environment_suffix(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 20, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    })
    .then_some(())
    .ok_or("must be 1 to 20 characters of a-z, 0-9 and -")
}

fn project_name(text: &str) -> Result<(), &'static str> {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    (first_ok
        && chars_in(text, 2, 255, |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }))
    .then_some(())
    .ok_or("must be 2 to 255 characters of A-Z, a-z, 0-9, - and _, starting with a letter or digit")
}

fn pipeline_name(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 100, |c| {
        c.is_ascii_alphanumeric() || ".@_-".contains(c)
    })
    .then_some(())
    .ok_or("must be 1 to 100 characters of A-Z, a-z, 0-9, ., @, _ and -")
}

fn rule_name(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 64, |c| {
        c.is_ascii_alphanumeric() || "._-".contains(c)
    })
    .then_some(())
    .ok_or("must be 1 to 64 characters of A-Z, a-z, 0-9, ., _ and -")
}

fn event_bus_name(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 256, |c| {
        c.is_ascii_alphanumeric() || "/._-".contains(c)
    })
    .then_some(())
    .ok_or("must be an event bus name (A-Z, a-z, 0-9, /, ., _ and -)")
}

fn role_arn(text: &str) -> Result<(), &'static str> {
    role_name(text)
        .map(|_| ())
        .ok_or("must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
}

/// `arn:<partition>:<service>:<region>:<account>:<rest>` with a non-empty
/// region and a 12-digit account: the parts, or None.
fn regional_arn<'a>(text: &'a str, service: &str) -> Option<&'a str> {
    let mut parts = text.strip_prefix("arn:")?.splitn(5, ':');
    let (partition, found, region, account, rest) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let ok = partition.starts_with("aws")
        && found == service
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && is_account_id(account);
    ok.then_some(rest)
}

fn function_arn(text: &str) -> Result<(), &'static str> {
    regional_arn(text, "lambda")
        .and_then(|rest| rest.strip_prefix("function:"))
        .filter(|name| function_name(name).is_ok())
        .map(|_| ())
        .ok_or("must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)")
}

fn queue_arn(text: &str) -> Result<(), &'static str> {
    regional_arn(text, "sqs")
        .filter(|name| {
            chars_in(name, 1, 80, |c| {
                c.is_ascii_alphanumeric() || "_-".contains(c)
            })
        })
        .map(|_| ())
        .ok_or("must be an SQS standard queue ARN (arn:aws:sqs:<region>:<account>:<name>)")
}

fn bucket_name(text: &str) -> Result<(), &'static str> {
    let edges_ok = text
        .chars()
        .next()
        .zip(text.chars().last())
        .is_some_and(|(first, last)| first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric());
    (edges_ok
        && chars_in(text, 3, 63, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
        }))
    .then_some(())
    .ok_or("must be an S3 bucket name (3 to 63 characters of a-z, 0-9, - and .)")
}

fn repository_name(text: &str) -> Result<(), &'static str> {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    (first_ok
        && chars_in(text, 2, 256, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._/-".contains(c)
        }))
    .then_some(())
    .ok_or("must be an ECR repository name (a-z, 0-9, ., _, / and -)")
}

/// `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>`, as ECR
/// gives a private repository's URI. The build places it inside BuildKit's
/// comma-separated `--cache-to`/`--cache-from` options, so nothing but these
/// characters may reach it (a `,` or `=` would add options).
fn repository_uri(text: &str) -> Result<(), &'static str> {
    const PROBLEM: &str =
        "must be an ECR repository URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>)";
    let (host, repository) = text.split_once('/').ok_or(PROBLEM)?;
    let mut labels = host.splitn(4, '.');
    let (account, dkr, ecr, rest) = (
        labels.next().unwrap_or_default(),
        labels.next().unwrap_or_default(),
        labels.next().unwrap_or_default(),
        labels.next().unwrap_or_default(),
    );
    let (region, domain) = rest.split_once('.').unwrap_or_default();
    let host_ok = is_account_id(account)
        && dkr == "dkr"
        && ecr == "ecr"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && (domain == "amazonaws.com" || domain == "amazonaws.com.cn");
    (host_ok && repository_name(repository).is_ok())
        .then_some(())
        .ok_or(PROBLEM)
}

fn connection_arn(text: &str) -> Result<(), &'static str> {
    let mut parts = text.splitn(6, ':');
    let ok = parts.next() == Some("arn")
        && parts.next().is_some_and(|partition| !partition.is_empty())
        && parts.next().is_some_and(|service| {
            service == "codeconnections" || service == "codestar-connections"
        })
        && parts.next().is_some_and(|region| !region.is_empty())
        && parts.next().is_some_and(is_account_id)
        && parts
            .next()
            .and_then(|resource| resource.strip_prefix("connection/"))
            .is_some_and(|id| !id.is_empty());
    ok.then_some(())
        .ok_or("must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)")
}

fn github_owner(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 39, |c| c.is_ascii_alphanumeric() || c == '-')
        .then_some(())
        .ok_or("must be a GitHub user or organisation name")
}

fn github_repo(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 100, |c| {
        c.is_ascii_alphanumeric() || "._-".contains(c)
    })
    .then_some(())
    .ok_or("must be a GitHub repository name")
}

fn branch_name(text: &str) -> Result<(), &'static str> {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "~^:?*[\\\"".contains(c);
    let ok = (1..=255).contains(&text.len())
        && !text.chars().any(forbidden)
        && !text.starts_with('/')
        && !text.ends_with('/')
        && !text.starts_with("refs/")
        && !text.contains("..");
    ok.then_some(())
        .ok_or("must be a branch name such as main (without refs/heads/)")
}

fn dockerfile_path(text: &str) -> Result<(), &'static str> {
    let ok = (1..=1024).contains(&text.len())
        && !text.starts_with('/')
        && !text.chars().any(char::is_control)
        && !text.split('/').any(|part| part == "..");
    ok.then_some(())
        .ok_or("must be a path relative to the repository root, such as Dockerfile")
}

/// A container image reference, `[registry/]repository[:tag][@sha256:digest]`:
/// the characters a reference may hold, nothing a shell or an option could
/// read as more than one word.
fn image_reference(text: &str) -> Result<(), &'static str> {
    let ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && chars_in(text, 1, 512, |c| {
            c.is_ascii_alphanumeric() || "._-/:@".contains(c)
        });
    ok.then_some(()).ok_or(
        "must be an image reference such as public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
    )
}

fn function_name(text: &str) -> Result<(), &'static str> {
    chars_in(text, 1, 140, |c| {
        c.is_ascii_alphanumeric() || "_-".contains(c)
    })
    .then_some(())
    .ok_or("must be a Lambda function name")
}

fn build_log_group(text: &str) -> Result<(), &'static str> {
    let ok = text.len() > "/aws/codebuild/".len()
        && text.starts_with("/aws/codebuild/")
        && chars_in(text, 1, 512, |c| {
            c.is_ascii_alphanumeric() || "._/#-".contains(c)
        });
    ok.then_some(())
        .ok_or("must be a log group name under /aws/codebuild/")
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:ap-southeast-1:123456789012:function:installer-prod",
            "ServiceTimeout": "900",
            "EnvironmentSuffix": "prod",
            "ProjectName": "build-prod",
            "PipelineName": "pipeline-prod",
            "RuleName": "github-push-prod",
            "EventBusName": "github-events-prod",
            "CodeBuildRoleArn": "arn:aws:iam::123456789012:role/codebuild-role-prod",
            "PipelineRoleArn": "arn:aws:iam::123456789012:role/codepipeline-role-prod",
            "StarterFunctionArn": "arn:aws:lambda:ap-southeast-1:123456789012:function:starter-prod",
            "DeadLetterQueueArn": "arn:aws:sqs:ap-southeast-1:123456789012:push-dead-letters-prod",
            "ArtifactBucket": "artifacts-prod-123456789012",
            "RepositoryName": "images-prod",
            "RepositoryUri": "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-prod",
            "ConnectionArn": "arn:aws:codeconnections:ap-southeast-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666",
            "GitHubOwner": "octo-org",
            "GitHubRepo": "hello-service",
            "GitHubBranch": "main",
            "DockerfilePath": "Dockerfile",
            "BuildKitImage": "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
            "TaggerFunctionName": "tagger-prod",
            "BuildLogGroupName": "/aws/codebuild/build-prod",
            "Tags": [
                {"Key": "Environment", "Value": "production"},
                {"Key": "Team", "Value": "devops"}
            ]
        })
    }

    #[test]
    fn parses_the_template_properties() {
        let properties = Properties::parse(&sample()).unwrap();
        assert_eq!(properties.names.project, "build-prod");
        assert_eq!(properties.names.pipeline, "pipeline-prod");
        assert_eq!(properties.names.rule, "github-push-prod");
        assert_eq!(properties.full_repository_name(), "octo-org/hello-service");
        assert_eq!(
            properties.tags,
            vec![
                Tag::new("Environment", "production"),
                Tag::new("Team", "devops")
            ]
        );
    }

    #[test]
    fn a_missing_property_is_named() {
        for name in Properties::NAMES {
            let mut value = sample();
            value.as_object_mut().unwrap().remove(*name);
            let message = Properties::parse(&value).unwrap_err().to_string();
            assert!(message.contains(name), "{name}: {message}");
            assert!(message.contains("missing"), "{name}: {message}");
        }
    }

    #[test]
    fn a_malformed_property_is_named() {
        let cases: &[(&str, Value)] = &[
            ("EnvironmentSuffix", json!("Prod_1")),
            ("EnvironmentSuffix", json!("a-very-long-suffix-over-20")),
            ("ProjectName", json!("x")),
            ("ProjectName", json!("build:prod")),
            ("PipelineName", json!("pipe line")),
            ("RuleName", json!("rule:x")),
            ("CodeBuildRoleArn", json!("codebuild-role-prod")),
            ("PipelineRoleArn", json!("arn:aws:iam::123:role/x")),
            (
                "StarterFunctionArn",
                json!("arn:aws:lambda:ap-southeast-1:123456789012:layer:x"),
            ),
            ("StarterFunctionArn", json!("starter-prod")),
            (
                "DeadLetterQueueArn",
                json!("arn:aws:sqs:ap-southeast-1:123456789012:q.fifo"),
            ),
            (
                "DeadLetterQueueArn",
                json!("arn:aws:sns:ap-southeast-1:123456789012:q"),
            ),
            ("ArtifactBucket", json!("Artifacts")),
            ("RepositoryName", json!("Images")),
            (
                "RepositoryUri",
                json!("123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/other"),
            ),
            (
                "RepositoryUri",
                json!("123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-prod,mode=max"),
            ),
            (
                "RepositoryUri",
                json!("evil.example.com/x,push=true/images-prod"),
            ),
            ("RepositoryUri", json!("images-prod")),
            (
                "ConnectionArn",
                json!("arn:aws:codestar:ap-southeast-1:123456789012:connection/x"),
            ),
            ("GitHubOwner", json!("octo/org")),
            ("GitHubBranch", json!("refs/heads/main")),
            ("GitHubBranch", json!("feature branch")),
            ("DockerfilePath", json!("/etc/passwd")),
            ("DockerfilePath", json!("../Dockerfile")),
            ("BuildKitImage", json!("")),
            ("BuildKitImage", json!("moby/buildkit --privileged")),
            ("BuildKitImage", json!("moby/buildkit;reboot")),
            ("BuildKitImage", json!("-moby/buildkit")),
            ("BuildKitImage", json!("moby/buildkit:")),
            ("TaggerFunctionName", json!("tagger prod")),
            ("BuildLogGroupName", json!("/aws/lambda/build-prod")),
            ("ProjectName", json!(42)),
            ("Tags", json!({"Environment": "production"})),
            ("Tags", json!([{"Key": "Team"}])),
            (
                "Tags",
                json!([{"Key": "ci-installer:stack-id", "Value": "x"}]),
            ),
            (
                "Tags",
                json!([{"Key": "aws:cloudformation:stack-name", "Value": "x"}]),
            ),
        ];
        for (name, bad) in cases {
            let mut value = sample();
            value
                .as_object_mut()
                .unwrap()
                .insert((*name).to_owned(), bad.clone());
            let message = Properties::parse(&value).unwrap_err().to_string();
            assert!(message.contains(name), "{name}={bad}: {message}");
        }
    }

    #[test]
    fn buildkit_images_may_be_pinned_or_private() {
        for image in [
            "moby/buildkit:buildx-stable-1",
            "public.ecr.aws/vend/moby/buildkit:v0.23.2",
            "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/buildkit:buildx-stable-1",
            "moby/buildkit@sha256:3af5b8dc0bf326cef7655eeee359d4b44349b801ea0b30d162312aa536184113",
        ] {
            let mut value = sample();
            value["BuildKitImage"] = json!(image);
            let parsed = Properties::parse(&value).unwrap();
            assert_eq!(parsed.buildkit_image, image);
        }
    }

    #[test]
    fn properties_must_be_an_object() {
        let message = Properties::parse(&json!("x")).unwrap_err().to_string();
        assert!(message.contains("ResourceProperties"), "{message}");
    }

    #[test]
    fn role_names_come_from_the_arn() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/codebuild-role-prod"),
            Some("codebuild-role-prod")
        );
        assert_eq!(
            role_name("arn:aws-cn:iam::123456789012:role/service/path/events-role"),
            Some("events-role")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/alice"), None);
        assert_eq!(
            role_name("arn:aws:iam:ap-southeast-1:123456789012:role/x"),
            None
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:role/"), None);
    }

    #[test]
    fn repository_uris_of_every_partition_are_accepted() {
        for uri in [
            "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-prod",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/images-prod",
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/team/images-prod",
        ] {
            assert_eq!(repository_uri(uri), Ok(()), "{uri}");
        }
    }
}
