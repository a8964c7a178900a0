//! `docs/iam.md` against the template: every grant of every role, as
//! CloudFormation receives it, is listed in the document with its reason and
//! source, and the document lists nothing the template does not grant.

use std::collections::BTreeSet;

use serde_json::Value;

/// One grant: (role's logical id, action, resource as the document writes it).
pub type Grant = (String, String, String);

/// The resource of a statement as `docs/iam.md` writes it: a logical id for
/// `Fn::GetAtt X.Arn` and `Ref X`, `X/*` for `${X.Arn}/*`, and an ARN built
/// with `Fn::Sub` without its partition, region and account
/// (`codebuild:project/build-${EnvironmentSuffix}`).
pub fn resource_label(resource: &Value) -> String {
    match resource {
        Value::String(text) => text.clone(),
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get("Fn::GetAtt") {
                let name = parts.first().and_then(Value::as_str).unwrap_or("?");
                let attribute = parts.get(1).and_then(Value::as_str).unwrap_or("?");
                if attribute == "Arn" {
                    name.to_owned()
                } else {
                    format!("{name}.{attribute}")
                }
            } else if let Some(Value::String(name)) = map.get("Ref") {
                name.clone()
            } else if let Some(Value::String(text)) = map.get("Fn::Sub") {
                short_sub(text)
            } else if let Some(Value::Array(branches)) = map.get("Fn::If") {
                let labels: Vec<String> = branches.iter().skip(1).map(resource_label).collect();
                labels.join(" or ")
            } else {
                Value::Object(map.clone()).to_string()
            }
        }
        other => other.to_string(),
    }
}

fn short_sub(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("${") {
        // ${X.Arn}/suffix
        if let Some((reference, suffix)) = rest.split_once('}') {
            let name = reference.strip_suffix(".Arn").unwrap_or(reference);
            return format!("{name}{suffix}");
        }
    }
    let Some(rest) = text.strip_prefix("arn:${AWS::Partition}:") else {
        return text.to_owned();
    };
    let (service, rest) = rest.split_once(':').unwrap_or((rest, ""));
    let rest = rest
        .strip_prefix("${AWS::Region}:")
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    let rest = rest
        .strip_prefix("${AWS::AccountId}:")
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    format!("{service}:{rest}")
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

/// Every Allow grant of every role's inline policies.
pub fn template_grants(template: &Value) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    let Some(resources) = template["Resources"].as_object() else {
        return grants;
    };
    for (id, resource) in resources {
        if resource["Type"] != "AWS::IAM::Role" {
            continue;
        }
        for policy in list(&resource["Properties"]["Policies"]) {
            for statement in list(&policy["PolicyDocument"]["Statement"]) {
                if statement["Effect"] != "Allow" {
                    continue;
                }
                for action in list(&statement["Action"]) {
                    for target in list(&statement["Resource"]) {
                        grants.insert((
                            id.clone(),
                            action.as_str().unwrap_or("?").to_owned(),
                            resource_label(&target),
                        ));
                    }
                }
            }
        }
    }
    grants
}

/// The grants `docs/iam.md` lists: under each `## <RoleLogicalId>` heading,
/// table rows `| `action` | `resource` | why | source |`. A row must give a
/// reason and a source; one without is reported as a problem.
pub fn document_grants(markdown: &str) -> (BTreeSet<Grant>, Vec<String>) {
    let mut grants = BTreeSet::new();
    let mut problems = Vec::new();
    let mut role: Option<String> = None;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            role = heading
                .split_whitespace()
                .next()
                .filter(|word| word.ends_with("Role"))
                .map(str::to_owned);
            continue;
        }
        let Some(role) = &role else { continue };
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 4 || !cells[0].starts_with('`') {
            continue;
        }
        let action = cells[0].trim_matches('`').to_owned();
        let resource = cells[1].trim_matches('`').to_owned();
        if cells[2].is_empty() || !cells[3].contains("](http") {
            problems.push(format!(
                "docs/iam.md: {role} {action} on {resource} lacks a reason or a linked source"
            ));
        }
        grants.insert((role.clone(), action, resource));
    }
    (grants, problems)
}

/// What differs: grants the template makes that the document does not list,
/// rows of the document the template does not grant, and rows without a
/// reason or source.
pub fn differences(template: &Value, markdown: &str) -> Vec<String> {
    let granted = template_grants(template);
    let (documented, mut problems) = document_grants(markdown);
    for (role, action, resource) in granted.difference(&documented) {
        problems.push(format!(
            "{role} grants {action} on {resource}, which docs/iam.md does not list"
        ));
    }
    for (role, action, resource) in documented.difference(&granted) {
        problems.push(format!(
            "docs/iam.md lists {role} {action} on {resource}, which the template does not grant"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_are_written_as_the_document_writes_them() {
        let cases = [
            (json!("*"), "*"),
            (
                json!({"Fn::GetAtt": ["BuildLogGroup", "Arn"]}),
                "BuildLogGroup",
            ),
            (json!({"Ref": "WebhookSecret"}), "WebhookSecret"),
            (
                json!({"Fn::Sub": "${ArtifactBucket.Arn}/*"}),
                "ArtifactBucket/*",
            ),
            (
                json!({"Fn::Sub": "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/build-${EnvironmentSuffix}"}),
                "codebuild:project/build-${EnvironmentSuffix}",
            ),
            (
                json!({"Fn::If": ["CreateConnection", {"Fn::GetAtt": ["GitHubConnection", "ConnectionArn"]}, {"Ref": "ConnectionArn"}]}),
                "GitHubConnection.ConnectionArn or ConnectionArn",
            ),
        ];
        for (resource, expected) in cases {
            assert_eq!(resource_label(&resource), expected);
        }
    }

    #[test]
    fn a_grant_missing_from_the_document_or_a_row_too_many_is_named() {
        let template = json!({"Resources": {"TaggerRole": {"Type": "AWS::IAM::Role", "Properties": {
        "Policies": [{"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": ["ecr:PutImage", "ecr:BatchGetImage"], "Resource": {"Fn::GetAtt": ["Repository", "Arn"]}}
        ]}}]}}}});
        let doc = "## TaggerRole\n\n| action | resource | why | source |\n|---|---|---|---|\n\
            | `ecr:PutImage` | `Repository` | moves the tag | [ECR](https://docs.aws.amazon.com/x) |\n\
            | `ecr:DescribeImages` | `Repository` | lists | [ECR](https://docs.aws.amazon.com/y) |\n";
        let problems = differences(&template, doc);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("TaggerRole grants ecr:BatchGetImage on Repository"));
        assert!(problems[1].contains("lists TaggerRole ecr:DescribeImages"));
        let unsourced = "## TaggerRole\n| `ecr:PutImage` | `Repository` | moves the tag | ECR |\n\
            | `ecr:BatchGetImage` | `Repository` | reads | [ECR](https://docs.aws.amazon.com/z) |\n";
        let problems = differences(&template, unsourced);
        assert_eq!(problems, ["docs/iam.md: TaggerRole ecr:PutImage on Repository lacks a reason or a linked source"]);
    }
}
