//! The constraints of the original request, checked on the template as CloudFormation
//! receives it (after the SAM transform). Each rule returns the violations it found,
//! so that a test can show a rule fails on a broken template as well as passing on
//! the real one.

use serde_json::Value;

/// Resource types that take tags, and so must carry Environment and Team.
const TAGGABLE: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::ECR::Repository",
    "AWS::Events::EventBus",
    "AWS::SecretsManager::Secret",
    "AWS::CodeConnections::Connection",
    "AWS::Logs::LogGroup",
    "AWS::IAM::Role",
    "AWS::Lambda::Function",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "Custom::Pipeline",
];

/// Actions that support no resource narrower than "*".
const STAR_ONLY_ACTIONS: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "codepipeline:PutJobSuccessResult",
    "codepipeline:PutJobFailureResult",
];

/// The longest suffix the template allows, used to check derived names' lengths.
pub const LONGEST_SUFFIX: &str = "abcdefghij-klmnopqrs";
const ACCOUNT_ID: &str = "123456789012";

/// Runs every rule; returns all violations, each naming its resource.
pub fn check(template: &Value) -> Vec<String> {
    let rules: &[fn(&Value) -> Vec<String>] = &[
        parameters,
        names_fit_limits,
        tags_everywhere,
        no_retain,
        artifact_bucket,
        ecr_repository,
        iam_least_privilege,
        log_groups,
        functions,
        function_url,
        installer_custom_resource,
        starter_trigger,
        notifier_trigger,
        outputs,
    ];
    rules.iter().flat_map(|rule| rule(template)).collect()
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flat_map(|map| map.iter())
}

fn of_type<'a>(
    template: &'a Value,
    kind: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    resources(template).filter(move |(_, r)| r["Type"] == kind)
}

/// A name as CloudFormation would resolve it for the longest suffix, where it is a
/// literal or a `Fn::Sub` of the suffix and pseudo parameters.
fn resolve_name(value: &Value) -> Option<String> {
    let text = value.as_str().or_else(|| value["Fn::Sub"].as_str())?;
    Some(
        text.replace("${EnvironmentSuffix}", LONGEST_SUFFIX)
            .replace("${AWS::AccountId}", ACCOUNT_ID),
    )
}

fn parameters(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let p = &t["Parameters"];
    for name in [
        "EnvironmentSuffix",
        "GitHubOwner",
        "GitHubRepo",
        "GitHubBranch",
        "ConnectionArn",
        "DockerfilePath",
        "BuildKitImage",
        "ScanGate",
        "ScanWaitSeconds",
    ] {
        if p[name].is_null() {
            v.push(format!("parameter {name} is missing"));
        } else if p[name]["Description"].as_str().unwrap_or("").len() < 20 {
            v.push(format!("parameter {name} has no useful Description"));
        } else if p[name]["AllowedPattern"].is_null()
            && p[name]["AllowedValues"].is_null()
            && p[name]["MinValue"].is_null()
        {
            v.push(format!("parameter {name} has no constraint"));
        }
    }
    let suffix = &p["EnvironmentSuffix"];
    if suffix["MaxLength"].as_u64() != Some(LONGEST_SUFFIX.len() as u64) {
        v.push(
            "EnvironmentSuffix MaxLength must be 20 (every derived name is checked for it)".into(),
        );
    }
    if suffix["AllowedPattern"] != "^[a-z][a-z0-9]*(-[a-z0-9]+)*$" {
        v.push("EnvironmentSuffix must be lowercase letters, digits and inner hyphens".into());
    }
    for (name, default) in [
        ("GitHubBranch", "main"),
        ("ConnectionArn", ""),
        ("DockerfilePath", "Dockerfile"),
        (
            "BuildKitImage",
            "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
        ),
    ] {
        if p[name]["Default"] != default {
            v.push(format!("parameter {name} must default to {default:?}"));
        }
    }
    v
}

fn names_fit_limits(t: &Value) -> Vec<String> {
    // (type, name property, expected prefix, AWS's length limit)
    let limits = [
        ("AWS::S3::Bucket", "BucketName", "artifacts-", 63),
        ("AWS::ECR::Repository", "RepositoryName", "images-", 256),
        ("AWS::IAM::Role", "RoleName", "", 64),
        ("AWS::Lambda::Function", "FunctionName", "", 64),
        ("AWS::Events::EventBus", "Name", "github-events-", 256),
        (
            "AWS::SecretsManager::Secret",
            "Name",
            "webhook-secret-",
            512,
        ),
        (
            "AWS::CodeConnections::Connection",
            "ConnectionName",
            "github-",
            32,
        ),
        ("AWS::Logs::LogGroup", "LogGroupName", "/aws/", 512),
        ("AWS::DynamoDB::Table", "TableName", "deliveries-", 255),
        ("AWS::SQS::Queue", "QueueName", "push-dead-letters-", 80),
    ];
    let mut v = Vec::new();
    for (kind, property, prefix, limit) in limits {
        for (id, r) in of_type(t, kind) {
            match resolve_name(&r["Properties"][property]) {
                None => v.push(format!(
                    "{id}: {property} is not a name derived from EnvironmentSuffix"
                )),
                Some(name) => {
                    if !name.contains(LONGEST_SUFFIX) {
                        v.push(format!(
                            "{id}: {property} {name} does not carry EnvironmentSuffix"
                        ));
                    }
                    if !name.starts_with(prefix) {
                        v.push(format!(
                            "{id}: {property} {name} does not start with {prefix}"
                        ));
                    }
                    if name.len() > limit {
                        v.push(format!("{id}: {property} {name} is longer than {limit}"));
                    }
                }
            }
        }
    }
    v
}

fn has_tag(tags: &Value, key: &str, value: &str) -> bool {
    match tags {
        Value::Array(list) => list.iter().any(|t| t["Key"] == key && t["Value"] == value),
        Value::Object(map) => map.get(key).is_some_and(|v| v == value),
        _ => false,
    }
}

fn tags_everywhere(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for (id, r) in resources(t) {
        let kind = r["Type"].as_str().unwrap_or("");
        if !TAGGABLE.contains(&kind) {
            continue;
        }
        let tags = &r["Properties"]["Tags"];
        for (key, value) in [("Environment", "production"), ("Team", "devops")] {
            if !has_tag(tags, key, value) {
                v.push(format!("{id} ({kind}) lacks the tag {key}={value}"));
            }
        }
    }
    v
}

fn no_retain(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for (id, r) in resources(t) {
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            if !r[policy].is_null() && r[policy] != "Delete" {
                v.push(format!(
                    "{id}: {policy} {} would leave it behind",
                    r[policy]
                ));
            }
        }
    }
    v
}

fn artifact_bucket(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let buckets: Vec<_> = of_type(t, "AWS::S3::Bucket").collect();
    let [(id, bucket)] = buckets.as_slice() else {
        return vec![format!(
            "expected exactly one bucket, found {}",
            buckets.len()
        )];
    };
    let p = &bucket["Properties"];
    if p["VersioningConfiguration"]["Status"] != "Enabled" {
        v.push(format!("{id}: versioning is not enabled"));
    }
    let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        ["ServerSideEncryptionByDefault"];
    if !(sse["SSEAlgorithm"] == "aws:kms" || sse["SSEAlgorithm"] == "AES256")
        || !sse["KMSMasterKeyID"].is_null()
    {
        v.push(format!(
            "{id}: encryption must use the AWS managed key (no customer-managed key)"
        ));
    }
    let rules = p["LifecycleConfiguration"]["Rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let enabled =
        |f: &dyn Fn(&Value) -> bool| rules.iter().any(|r| r["Status"] == "Enabled" && f(r));
    if !enabled(&|r| r["ExpirationInDays"] == 30) {
        v.push(format!("{id}: current objects must expire after 30 days"));
    }
    if !enabled(&|r| r["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30) {
        v.push(format!(
            "{id}: noncurrent versions must expire after 30 days"
        ));
    }
    if !enabled(&|r| {
        r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            .as_u64()
            .is_some()
    }) {
        v.push(format!(
            "{id}: incomplete multipart uploads must be aborted"
        ));
    }
    let block = &p["PublicAccessBlockConfiguration"];
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        if block[flag] != true {
            v.push(format!("{id}: {flag} is not true"));
        }
    }
    let denies_plain_http = of_type(t, "AWS::S3::BucketPolicy").any(|(_, policy)| {
        policy["Properties"]["Bucket"]["Ref"] == id.as_str()
            && statements(&policy["Properties"]["PolicyDocument"])
                .iter()
                .any(|s| {
                    s["Effect"] == "Deny"
                        && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                        && as_list(&s["Resource"]).len() == 2
                })
    });
    if !denies_plain_http {
        v.push(format!(
            "{id}: no bucket policy denies requests without TLS on the bucket and its objects"
        ));
    }
    v
}

fn ecr_repository(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let repositories: Vec<_> = of_type(t, "AWS::ECR::Repository").collect();
    let [(id, repository)] = repositories.as_slice() else {
        return vec![format!(
            "expected exactly one repository, found {}",
            repositories.len()
        )];
    };
    let p = &repository["Properties"];
    if p["ImageScanningConfiguration"]["ScanOnPush"] != true {
        v.push(format!("{id}: scan on push is off"));
    }
    if p["EmptyOnDelete"] != true {
        v.push(format!(
            "{id}: EmptyOnDelete is not set, so deleting the stack would fail on images"
        ));
    }
    if p["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION" {
        let filters = as_list(&p["ImageTagMutabilityExclusionFilters"]);
        let excluded: Vec<_> = filters
            .iter()
            .filter_map(|f| f["ImageTagMutabilityExclusionFilterValue"].as_str())
            .collect();
        for tag in ["production", "production-previous", "buildcache"] {
            if !excluded.contains(&tag) {
                v.push(format!(
                    "{id}: tag {tag} must stay mutable (exclusion filter)"
                ));
            }
        }
    }
    let policy: Value = p["LifecyclePolicy"]["LifecyclePolicyText"]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let rules = as_list(&policy["rules"]);
    let priority = |r: &Value| r["rulePriority"].as_u64().unwrap_or(u64::MAX);
    let keep_ten = rules.iter().find(|r| {
        r["selection"]["countType"] == "imageCountMoreThan"
            && r["selection"]["countNumber"] == 10
            && (r["selection"]["tagStatus"] == "any"
                || r["selection"]["tagPatternList"] == serde_json::json!(["*"]))
    });
    let Some(keep_ten) = keep_ten else {
        v.push(format!(
            "{id}: no lifecycle rule keeps exactly the last 10 images"
        ));
        return v;
    };
    for tag in ["production", "production-previous"] {
        let protected = rules.iter().any(|r| {
            let s = &r["selection"];
            priority(r) < priority(keep_ten)
                && s["tagStatus"] == "tagged"
                && as_list(&s["tagPrefixList"])
                    .iter()
                    .chain(as_list(&s["tagPatternList"]).iter())
                    .all(|prefix| {
                        prefix
                            .as_str()
                            .is_some_and(|prefix| tag.starts_with(prefix.trim_end_matches('*')))
                    })
                && s["countType"] == "imageCountMoreThan"
                && s["countNumber"].as_u64().unwrap_or(0) >= 1000
        });
        if !protected {
            v.push(format!(
                "{id}: no higher-priority lifecycle rule protects {tag}"
            ));
        }
    }
    v
}

fn statements(document: &Value) -> Vec<Value> {
    as_list(&document["Statement"])
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn iam_least_privilege(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let roles: Vec<_> = of_type(t, "AWS::IAM::Role").collect();
    if roles.len() != 7 {
        v.push(format!(
            "expected one role per principal (7), found {}",
            roles.len()
        ));
    }
    for (id, role) in roles {
        let p = &role["Properties"];
        let trust = statements(&p["AssumeRolePolicyDocument"]);
        if trust.len() != 1 || as_list(&trust[0]["Principal"]["Service"]).len() != 1 {
            v.push(format!("{id}: must trust exactly one service principal"));
        }
        if !p["ManagedPolicyArns"].is_null() {
            v.push(format!(
                "{id}: managed policies are broader than the actions listed one by one"
            ));
        }
        for policy in as_list(&p["Policies"]) {
            for s in statements(&policy["PolicyDocument"]) {
                if s["Effect"] != "Allow" {
                    continue;
                }
                let actions = as_list(&s["Action"]);
                for action in &actions {
                    let action = action.as_str().unwrap_or("");
                    if action.contains('*') {
                        v.push(format!("{id}: wildcard action {action}"));
                    }
                }
                let star = as_list(&s["Resource"]).iter().any(|r| r == "*");
                if star {
                    for action in &actions {
                        let action = action.as_str().unwrap_or("");
                        if !STAR_ONLY_ACTIONS.contains(&action) {
                            v.push(format!(
                                "{id}: {action} on Resource \"*\" although it takes a narrower ARN"
                            ));
                        }
                    }
                }
                if actions.iter().any(|a| a == "iam:PassRole")
                    && (star || s["Condition"]["StringEquals"]["iam:PassedToService"].is_null())
                {
                    v.push(format!(
                        "{id}: iam:PassRole must name the role and iam:PassedToService"
                    ));
                }
            }
        }
    }
    v
}

fn log_groups(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let mut names = Vec::new();
    for (id, group) in of_type(t, "AWS::Logs::LogGroup") {
        if group["Properties"]["RetentionInDays"] != 7 {
            v.push(format!("{id}: retention must be 7 days"));
        }
        names.extend(resolve_name(&group["Properties"]["LogGroupName"]));
    }
    let s = LONGEST_SUFFIX;
    for expected in [
        format!("/aws/codebuild/build-{s}"),
        format!("/aws/lambda/installer-{s}"),
        format!("/aws/lambda/tagger-{s}"),
        format!("/aws/lambda/webhook-{s}"),
        format!("/aws/lambda/starter-{s}"),
        format!("/aws/lambda/notifier-{s}"),
    ] {
        if !names.contains(&expected) {
            v.push(format!("log group {expected} is not declared"));
        }
    }
    v
}

fn functions(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let functions: Vec<_> = of_type(t, "AWS::Lambda::Function").collect();
    if functions.len() != 5 {
        v.push(format!("expected 5 functions, found {}", functions.len()));
    }
    for (id, function) in functions {
        let p = &function["Properties"];
        if p["Runtime"] != "provided.al2023" {
            v.push(format!("{id}: runtime must be provided.al2023"));
        }
        if function["Metadata"]["BuildMethod"] != "rust-cargolambda" {
            v.push(format!("{id}: BuildMethod must be rust-cargolambda"));
        }
        let group = p["LoggingConfig"]["LogGroup"]["Ref"].as_str().unwrap_or("");
        if t["Resources"][group]["Type"] != "AWS::Logs::LogGroup" {
            v.push(format!(
                "{id}: LoggingConfig must name the template's own log group"
            ));
        }
        let role = p["Role"]["Fn::GetAtt"][0].as_str().unwrap_or("");
        if t["Resources"][role]["Type"] != "AWS::IAM::Role" {
            v.push(format!("{id}: must use its own role from the template"));
        }
    }
    v
}

fn function_url(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let urls: Vec<_> = of_type(t, "AWS::Lambda::Url").collect();
    let [(id, url)] = urls.as_slice() else {
        return vec![format!("expected one function URL, found {}", urls.len())];
    };
    let function = url["Properties"]["TargetFunctionArn"]["Ref"]
        .as_str()
        .unwrap_or("");
    if url["Properties"]["AuthType"] != "NONE" {
        v.push(format!(
            "{id}: GitHub cannot sign with SigV4, AuthType must be NONE"
        ));
    }
    let permissions: Vec<_> = of_type(t, "AWS::Lambda::Permission")
        .map(|(_, p)| &p["Properties"])
        .filter(|p| p["FunctionName"]["Ref"] == function && p["Principal"] == "*")
        .collect();
    if !permissions
        .iter()
        .any(|p| p["Action"] == "lambda:InvokeFunctionUrl" && p["FunctionUrlAuthType"] == "NONE")
    {
        v.push(format!(
            "{function}: no public lambda:InvokeFunctionUrl permission"
        ));
    }
    if !permissions
        .iter()
        .any(|p| p["Action"] == "lambda:InvokeFunction" && p["InvokedViaFunctionUrl"] == true)
    {
        v.push(format!(
            "{function}: no lambda:InvokeFunction permission with InvokedViaFunctionUrl (every request would get 403)"
        ));
    }
    if t["Resources"][function]["Properties"]["ReservedConcurrentExecutions"].is_null() {
        v.push(format!(
            "{function}: the public function needs reserved concurrency"
        ));
    }
    v
}

fn installer_custom_resource(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let custom: Vec<_> = of_type(t, "Custom::Pipeline").collect();
    let [(id, resource)] = custom.as_slice() else {
        return vec![format!(
            "expected one installer custom resource, found {}",
            custom.len()
        )];
    };
    let p = &resource["Properties"];
    match p["ServiceTimeout"].as_u64() {
        Some(seconds) if seconds < 3600 => {}
        _ => v.push(format!(
            "{id}: ServiceTimeout must be set, well under one hour"
        )),
    }
    let function = p["ServiceToken"]["Fn::GetAtt"][0].as_str().unwrap_or("");
    let role = t["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or("");
    let depends_on = as_list(&resource["DependsOn"]);
    if role.is_empty() || !depends_on.iter().any(|d| d == role) {
        v.push(format!(
            "{id}: must depend on the installer's role ({role}) so it outlives Delete"
        ));
    }
    for property in installer::domain::properties::Properties::NAMES {
        if p[property].is_null() {
            v.push(format!("{id}: property {property} is missing"));
        }
    }
    v
}

/// The push rule's target: the starter, invocable by EventBridge for that rule
/// only, retried by Lambda into the dead-letter queue, with a deliveries table
/// that is on demand and forgets with a TTL.
fn starter_trigger(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let starter = "StarterFunction";
    let p = &t["Resources"][starter]["Properties"];
    if p.is_null() {
        return vec![format!("{starter} is missing")];
    }
    let dlq = p["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or("");
    if t["Resources"][dlq]["Type"] != "AWS::SQS::Queue" {
        v.push(format!(
            "{starter}: needs the template's SQS dead-letter queue"
        ));
    }
    let invoke_configs: Vec<_> = of_type(t, "AWS::Lambda::EventInvokeConfig")
        .map(|(_, c)| &c["Properties"])
        .filter(|c| c["FunctionName"]["Ref"] == starter)
        .collect();
    match invoke_configs.as_slice() {
        [config]
            if config["MaximumRetryAttempts"]
                .as_u64()
                .is_some_and(|n| n >= 1) => {}
        _ => v.push(format!(
            "{starter}: needs an EventInvokeConfig that retries"
        )),
    }
    let rule_arn_suffix =
        ":rule/github-events-${EnvironmentSuffix}/github-push-${EnvironmentSuffix}";
    let from_rule = of_type(t, "AWS::Lambda::Permission").any(|(_, perm)| {
        let q = &perm["Properties"];
        q["FunctionName"]["Fn::GetAtt"][0] == starter
            && q["Principal"] == "events.amazonaws.com"
            && q["Action"] == "lambda:InvokeFunction"
            && q["SourceArn"]["Fn::Sub"]
                .as_str()
                .is_some_and(|arn| arn.ends_with(rule_arn_suffix))
    });
    if !from_rule {
        v.push(format!(
            "{starter}: no lambda:InvokeFunction permission for events.amazonaws.com limited to the push rule"
        ));
    }
    let tables: Vec<_> = of_type(t, "AWS::DynamoDB::Table").collect();
    match tables.as_slice() {
        [(id, table)] => {
            let q = &table["Properties"];
            if q["BillingMode"] != "PAY_PER_REQUEST" {
                v.push(format!("{id}: must be on demand (PAY_PER_REQUEST)"));
            }
            if q["TimeToLiveSpecification"]["Enabled"] != true {
                v.push(format!("{id}: must expire deliveries with a TTL"));
            }
        }
        _ => v.push(format!(
            "expected one deliveries table, found {}",
            tables.len()
        )),
    }
    v
}

/// The pipeline-failure rule targets the notifier, which only that rule may
/// invoke, and whose failed publishes Lambda retries.
fn notifier_trigger(t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let notifier = "NotifierFunction";
    let rule = &t["Resources"]["PipelineFailedRule"]["Properties"];
    let targets = rule["Targets"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match targets {
        [target]
            if target["Arn"]["Fn::GetAtt"][0] == notifier
                && target["InputTransformer"].is_null() => {}
        _ => v.push(format!(
            "PipelineFailedRule: its one target must be {notifier}, with the whole event"
        )),
    }
    let from_rule = of_type(t, "AWS::Lambda::Permission").any(|(_, perm)| {
        let q = &perm["Properties"];
        q["FunctionName"]["Fn::GetAtt"][0] == notifier
            && q["Principal"] == "events.amazonaws.com"
            && q["Action"] == "lambda:InvokeFunction"
            && q["SourceArn"]["Fn::GetAtt"][0] == "PipelineFailedRule"
    });
    if !from_rule {
        v.push(format!(
            "{notifier}: no lambda:InvokeFunction permission for events.amazonaws.com limited to PipelineFailedRule"
        ));
    }
    let retried = of_type(t, "AWS::Lambda::EventInvokeConfig").any(|(_, c)| {
        let c = &c["Properties"];
        c["FunctionName"]["Ref"] == notifier
            && c["MaximumRetryAttempts"].as_u64().is_some_and(|n| n >= 1)
    });
    if !retried {
        v.push(format!(
            "{notifier}: needs an EventInvokeConfig that retries"
        ));
    }
    v
}

fn outputs(t: &Value) -> Vec<String> {
    [
        "WebhookUrl",
        "WebhookSecretCommand",
        "PipelineName",
        "RepositoryUri",
        "ArtifactBucketName",
        "ConnectionArn",
        "ConnectionStatus",
    ]
    .iter()
    .filter(|name| t["Outputs"][**name]["Value"].is_null())
    .map(|name| format!("output {name} is missing"))
    .collect()
}
