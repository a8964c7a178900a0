//! docs/iam.md lists exactly the grants of the template CloudFormation receives,
//! each with its reason and AWS source.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use e2e::iam_table::differences;
use serde_json::{json, Value};

const IAM_DOC: &str = include_str!("../../../docs/iam.md");

fn transformed() -> Value {
    let root = sandbox::repo_root();
    let output = Command::new(root.join(".tools/bin/ministack-python"))
        .arg(root.join("scripts/transform-template.py"))
        .arg(root.join("template.yaml"))
        .output()
        .expect("run the SAM transform (make setup)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn every_grant_is_documented_with_its_reason_and_source() {
    let problems = differences(&transformed(), IAM_DOC);
    assert!(
        problems.is_empty(),
        "docs/iam.md and template.yaml differ:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_grant_added_to_the_template_alone_is_caught() {
    let mut template = transformed();
    let statement = json!({"Effect": "Allow", "Action": "ecr:DeleteRepository",
                           "Resource": {"Fn::GetAtt": ["Repository", "Arn"]}});
    template["Resources"]["TaggerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap()
        .push(statement);
    let problems = differences(&template, IAM_DOC);
    assert_eq!(
        problems,
        ["TaggerRole grants ecr:DeleteRepository on Repository, which docs/iam.md does not list"]
    );
}
