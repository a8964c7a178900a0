//! The template, transformed as CloudFormation receives it, meets every constraint of
//! the original request; and each rule does fail when its constraint is broken.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use e2e::template_rules::check;
use serde_json::{json, Value};

fn transformed() -> Value {
    let root = sandbox::repo_root();
    let python = root.join(".tools/bin/ministack-python");
    let output = Command::new(&python)
        .arg(root.join("scripts/transform-template.py"))
        .arg(root.join("template.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (run `make setup`): {e}", python.display()));
    assert!(
        output.status.success(),
        "the SAM transform failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the transform prints JSON")
}

#[test]
fn the_template_meets_every_constraint() {
    let violations = check(&transformed());
    assert!(
        violations.is_empty(),
        "violations:\n{}",
        violations.join("\n")
    );
}

/// Breaks one thing, and expects the rules to name it.
fn expect_violation(edit: impl FnOnce(&mut Value), expected: &str) {
    let mut template = transformed();
    edit(&mut template);
    let violations = check(&template);
    assert!(
        violations.iter().any(|v| v.contains(expected)),
        "expected a violation containing {expected:?}, got {violations:#?}"
    );
}

#[test]
fn a_retained_resource_is_caught() {
    expect_violation(
        |t| t["Resources"]["Repository"]["DeletionPolicy"] = json!("Retain"),
        "Repository: DeletionPolicy",
    );
}

#[test]
fn a_missing_tag_is_caught() {
    expect_violation(
        |t| {
            t["Resources"]["BuildLogGroup"]["Properties"]["Tags"] =
                json!([{"Key": "Team", "Value": "devops"}])
        },
        "BuildLogGroup (AWS::Logs::LogGroup) lacks the tag Environment=production",
    );
}

#[test]
fn a_wildcard_resource_is_caught() {
    expect_violation(
        |t| {
            t["Resources"]["TaggerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
                ["Statement"][1]["Resource"] = json!("*")
        },
        "TaggerRole: ecr:BatchGetImage on Resource \"*\"",
    );
}

#[test]
fn an_unconditioned_pass_role_is_caught() {
    expect_violation(
        |t| {
            let statements = t["Resources"]["InstallerRole"]["Properties"]["Policies"][0]
                ["PolicyDocument"]["Statement"]
                .as_array_mut()
                .unwrap();
            for s in statements
                .iter_mut()
                .filter(|s| s["Action"] == "iam:PassRole")
            {
                s.as_object_mut().unwrap().remove("Condition");
            }
        },
        "iam:PassRole must name the role and iam:PassedToService",
    );
}

#[test]
fn unprotected_production_images_are_caught() {
    expect_violation(
        |t| {
            let p = &mut t["Resources"]["Repository"]["Properties"]["LifecyclePolicy"]
                ["LifecyclePolicyText"];
            let mut policy: Value = serde_json::from_str(p.as_str().unwrap()).unwrap();
            policy["rules"][0]["rulePriority"] = json!(50);
            *p = json!(policy.to_string());
        },
        "no higher-priority lifecycle rule protects production",
    );
}

#[test]
fn a_short_log_retention_is_caught() {
    expect_violation(
        |t| t["Resources"]["WebhookLogGroup"]["Properties"]["RetentionInDays"] = json!(1),
        "WebhookLogGroup: retention must be 7 days",
    );
}

#[test]
fn a_missing_function_url_permission_is_caught() {
    expect_violation(
        |t| {
            t["Resources"]
                .as_object_mut()
                .unwrap()
                .remove("WebhookFunctionURLInvokeAllowPublicAccess");
        },
        "InvokedViaFunctionUrl",
    );
}

#[test]
fn a_bucket_without_lifecycle_is_caught() {
    expect_violation(
        |t| t["Resources"]["ArtifactBucket"]["Properties"]["LifecycleConfiguration"] = json!(null),
        "current objects must expire after 30 days",
    );
}

#[test]
fn a_custom_resource_without_its_role_dependency_is_caught() {
    expect_violation(
        |t| t["Resources"]["Pipeline"]["DependsOn"] = json!([]),
        "must depend on the installer's role",
    );
}

#[test]
fn a_name_too_long_for_aws_is_caught() {
    expect_violation(
        |t| {
            t["Resources"]["GitHubConnection"]["Properties"]["ConnectionName"] =
                json!({"Fn::Sub": "github-connection-for-${EnvironmentSuffix}"})
        },
        "is longer than 32",
    );
}

#[test]
fn a_starter_any_rule_may_invoke_is_caught() {
    expect_violation(
        |t| {
            let resources = t["Resources"].as_object_mut().unwrap();
            let permission = resources.get_mut("StarterInvokePermission").unwrap();
            permission["Properties"]["SourceArn"] = json!({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"});
        },
        "limited to the push rule",
    );
}

#[test]
fn a_deliveries_table_without_ttl_is_caught() {
    expect_violation(
        |t| {
            t["Resources"]["DeliveriesTable"]["Properties"]["TimeToLiveSpecification"]["Enabled"] =
                json!(false)
        },
        "must expire deliveries with a TTL",
    );
}

#[test]
fn a_failure_rule_that_bypasses_the_notifier_is_caught() {
    expect_violation(
        |t| {
            t["Resources"]["PipelineFailedRule"]["Properties"]["Targets"][0]["Arn"] =
                json!({"Ref": "NotificationTopic"})
        },
        "its one target must be NotifierFunction",
    );
    expect_violation(
        |t| {
            let resources = t["Resources"].as_object_mut().unwrap();
            resources.remove("NotifierInvokePermission");
        },
        "limited to PipelineFailedRule",
    );
}
