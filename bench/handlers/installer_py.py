"""Reference installer in Python/boto3: the same calls as the Rust installer
(functions/installer) for a Create and a Delete of nothing-yet-existing /
everything-ours, written the way a crhelper-style Python custom resource
usually is (sequential calls, no IAM propagation retries needed here).

Create: GetRole x3 (trust check), BatchGetProjects + CreateProject,
GetPipeline + CreatePipeline + GetPipeline, DescribeRule + PutRule (tagged) +
PutTargets, then the PUT to the ResponseURL.
Delete: DescribeRule + ListTagsForResource + ListTargetsByRule +
RemoveTargets + DeleteRule, GetPipeline + ListTagsForResource +
DeletePipeline, BatchGetProjects + DeleteProject, then boto3's
`bucket.object_versions.delete()` on the artifact bucket, then the PUT.
"""

import json
import os
import urllib.request

import boto3

_iam = boto3.client("iam")
_codebuild = boto3.client("codebuild")
_codepipeline = boto3.client("codepipeline")
_events = boto3.client("events")
_s3 = boto3.resource("s3")
with open(os.environ["BUILDSPEC_FILE"]) as _file:
    _BUILDSPEC = _file.read()
_OWNER = "ci-installer:stack-id"
_SERVICES = {
    "CodeBuildRoleArn": "codebuild.amazonaws.com",
    "PipelineRoleArn": "codepipeline.amazonaws.com",
    "EventsRoleArn": "events.amazonaws.com",
}


def _respond(event, status, physical_id, data=None, reason=None):
    body = {
        "Status": status,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }
    if reason:
        body["Reason"] = reason[:3000]
    request = urllib.request.Request(
        event["ResponseURL"], data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=4) as answer:
        answer.read()


def _tags(props, stack_id):
    tags = [t for t in props.get("Tags", []) if t["Key"] != _OWNER]
    return tags + [{"Key": _OWNER, "Value": stack_id}]


def _create(event):
    props, stack_id = event["ResourceProperties"], event["StackId"]
    for key, service in _SERVICES.items():
        role = _iam.get_role(RoleName=props[key].rsplit("/", 1)[-1])["Role"]
        if service not in json.dumps(role.get("AssumeRolePolicyDocument", "")):
            raise ValueError(f"{key} does not trust {service}")
    tags = _tags(props, stack_id)
    full_name = f"{props['GitHubOwner']}/{props['GitHubRepo']}"

    project = props["ProjectName"]
    if not _codebuild.batch_get_projects(names=[project]).get("projects"):
        _codebuild.create_project(
            name=project,
            description=f"Builds {full_name} and pushes it to {props['RepositoryName']}",
            serviceRole=props["CodeBuildRoleArn"],
            source={"type": "CODEPIPELINE", "buildspec": _BUILDSPEC},
            artifacts={"type": "CODEPIPELINE"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                "computeType": "BUILD_GENERAL1_SMALL",
                "privilegedMode": True,
                "imagePullCredentialsType": "CODEBUILD",
                "environmentVariables": [
                    {"name": "REPOSITORY_URI", "value": props["RepositoryUri"], "type": "PLAINTEXT"},
                    {"name": "DOCKERFILE_PATH", "value": props["DockerfilePath"], "type": "PLAINTEXT"},
                    {"name": "CACHE_TAG", "value": "buildcache", "type": "PLAINTEXT"},
                    {"name": "BUILDKIT_IMAGE", "value": props["BuildKitImage"], "type": "PLAINTEXT"},
                ],
            },
            logsConfig={
                "cloudWatchLogs": {"status": "ENABLED", "groupName": props["BuildLogGroupName"]},
                "s3Logs": {"status": "DISABLED"},
            },
            timeoutInMinutes=60,
            tags=[{"key": t["Key"], "value": t["Value"]} for t in tags],
        )

    pipeline = props["PipelineName"]
    try:
        arn = _codepipeline.get_pipeline(name=pipeline)["metadata"]["pipelineArn"]
    except (_codepipeline.exceptions.PipelineNotFoundException, _codepipeline.exceptions.ResourceNotFoundException):
        user_parameters = json.dumps(
            {"repository": props["RepositoryName"], "digest": "#{BuildVariables.IMAGE_DIGEST}", "tag": "production"},
            separators=(",", ":"),
        )

        def action(name, category, provider, configuration, inputs, outputs, namespace):
            return {
                "name": name,
                "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
                "configuration": configuration,
                "inputArtifacts": [{"name": n} for n in inputs],
                "outputArtifacts": [{"name": n} for n in outputs],
                "namespace": namespace,
                "runOrder": 1,
            }

        _codepipeline.create_pipeline(
            pipeline={
                "name": pipeline,
                "roleArn": props["PipelineRoleArn"],
                "artifactStore": {"type": "S3", "location": props["ArtifactBucket"]},
                "pipelineType": "V2",
                "executionMode": "QUEUED",
                "stages": [
                    {"name": "Source", "actions": [action("GitHub", "Source", "CodeStarSourceConnection", {
                        "ConnectionArn": props["ConnectionArn"], "FullRepositoryId": full_name,
                        "BranchName": props["GitHubBranch"], "OutputArtifactFormat": "CODE_ZIP",
                        "DetectChanges": "false"}, [], ["SourceArtifact"], "SourceVariables")]},
                    {"name": "Build", "actions": [action("Image", "Build", "CodeBuild", {
                        "ProjectName": project}, ["SourceArtifact"], [], "BuildVariables")]},
                    {"name": "Deploy", "actions": [action("PromoteImage", "Invoke", "Lambda", {
                        "FunctionName": props["TaggerFunctionName"], "UserParameters": user_parameters},
                        [], [], "DeployVariables")]},
                ],
            },
            tags=[{"key": t["Key"], "value": t["Value"]} for t in tags],
        )
        arn = _codepipeline.get_pipeline(name=pipeline)["metadata"]["pipelineArn"]

    rule, bus = props["RuleName"], props["EventBusName"]
    pattern = {
        "source": ["github.com"],
        "detail-type": ["push"],
        "detail": {"ref": [f"refs/heads/{props['GitHubBranch']}"], "repository": {"full_name": [full_name]}},
    }
    try:
        rule_arn = _events.describe_rule(Name=rule, EventBusName=bus)["Arn"]
    except _events.exceptions.ResourceNotFoundException:
        rule_arn = _events.put_rule(
            Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED",
            Description=f"Starts {pipeline} on a push to {props['GitHubBranch']} of {full_name}", Tags=tags,
        )["RuleArn"]
    _events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "codepipeline", "Arn": arn, "RoleArn": props["EventsRoleArn"]}])
    physical_id = f"installer:{project}:{pipeline}:{rule}"
    data = {"ProjectName": project, "PipelineName": pipeline, "PipelineArn": arn, "RuleName": rule, "RuleArn": rule_arn}
    return physical_id, data


def _ours(tags, stack_id):
    owner = next((t for t in tags if t[0] == _OWNER), None)
    return owner is None or owner[1] == stack_id


def _delete(event):
    props, stack_id = event["ResourceProperties"], event["StackId"]
    _, project, pipeline, rule = event["PhysicalResourceId"].split(":", 3)
    bus = props["EventBusName"]
    try:
        arn = _events.describe_rule(Name=rule, EventBusName=bus)["Arn"]
        tags = _events.list_tags_for_resource(ResourceARN=arn)["Tags"]
        if _ours([(t["Key"], t["Value"]) for t in tags], stack_id):
            targets = _events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
            if targets:
                _events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets])
            _events.delete_rule(Name=rule, EventBusName=bus)
    except _events.exceptions.ResourceNotFoundException:
        pass
    try:
        arn = _codepipeline.get_pipeline(name=pipeline)["metadata"]["pipelineArn"]
        tags = _codepipeline.list_tags_for_resource(resourceArn=arn)["tags"]
        if _ours([(t["key"], t["value"]) for t in tags], stack_id):
            _codepipeline.delete_pipeline(name=pipeline)
    except (_codepipeline.exceptions.PipelineNotFoundException, _codepipeline.exceptions.ResourceNotFoundException):
        pass
    found = _codebuild.batch_get_projects(names=[project]).get("projects") or []
    if found and _ours([(t["key"], t["value"]) for t in found[0].get("tags", [])], stack_id):
        _codebuild.delete_project(name=project)
    _s3.Bucket(props["ArtifactBucket"]).object_versions.delete()


def handler(event, context):
    kind = event["RequestType"]
    physical_id = event.get("PhysicalResourceId") or f"installer:create-failed:{event['RequestId']}"
    try:
        if kind == "Create":
            physical_id, data = _create(event)
            _respond(event, "SUCCESS", physical_id, data)
        elif kind == "Delete":
            _delete(event)
            _respond(event, "SUCCESS", physical_id)
        else:
            raise ValueError(f"unsupported request type {kind}")
    except Exception as error:
        print(json.dumps({"level": "ERROR", "message": "failed", "error": str(error)}))
        _respond(event, "FAILED", physical_id, reason=str(error))
    print(json.dumps({"level": "INFO", "message": "answered", "request": kind}))
    return {"answered": kind}
