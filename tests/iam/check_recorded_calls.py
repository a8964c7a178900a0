"""Every AWS call the functions made in the local-cloud scenario, against their roles.

The emulators record what the functions did (tests/sandbox): MiniStack, run with its
IAM enforcement on, records each decision it made on a caller's own policies and each
session it issued to a function (the function's execution role); moto records each
CodePipeline call with the access key that signed it. This script:

  snapshot --suffix S --out FILE
      saves the inline and attached policies of the stack's roles (`*-role-S`) from
      MiniStack's IAM, while the stack exists;
  check --suffix S --roles FILE --decisions FILE --sessions FILE --calls FILE
      fails when any recorded decision was not an Allow; evaluates each CodePipeline
      call signed by a function's session against that function's role with the same
      evaluator (ministack.core.iam_evaluator), on the pipeline it names; fails when
      one is not allowed, when a call was signed by a key no session explains, or when
      a function's role made no call at all (so an empty recording cannot pass); and
      prints, per role, the calls and the actions that were allowed;
  self-test
      runs the check on records made up to break it each way, and fails unless each
      is caught.

Run with MiniStack's Python (.tools/bin/ministack-python), in the sandbox's client
environment. The CodePipeline resources follow the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodepipeline.html):
an action on a pipeline is authorized on `arn:aws:codepipeline:REGION:ACCOUNT:NAME`;
PutJobSuccessResult and PutJobFailureResult name no resource (`*`).
"""

import argparse
import collections
import json
import os
import re
import sys
import urllib.parse

import boto3
from ministack.core.iam_evaluator import EvalContext, evaluate, parse_policy_document

# The functions' roles: each must have made calls in the scenario.
FUNCTION_ROLES = ("installer", "tagger", "starter", "webhook", "notifier")
# The CodePipeline calls the scenario makes each function make (so that an empty
# recording of moto's calls cannot pass): one of each set per role.
CODEPIPELINE_CALLS = {
    "installer": {"CreatePipeline"},
    "starter": {"StartPipelineExecution"},
    "tagger": {"PutJobSuccessResult", "PutJobFailureResult"},
    "notifier": {"GetPipelineExecution"},
}
ASSUMED_ROLE = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/")


def lines(path):
    if not os.path.exists(path):
        sys.exit(f"iam: {path} does not exist: was the local cloud started with SANDBOX_IAM=enforce?")
    with open(path, encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


def document(value):
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def snapshot(suffix, out):
    iam = boto3.client("iam")
    roles = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            if not name.endswith(f"-role-{suffix}"):
                continue
            policies = []
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                got = iam.get_role_policy(RoleName=name, PolicyName=policy)
                policies.append(document(got["PolicyDocument"]))
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )
                policies.append(document(version["PolicyVersion"]["Document"]))
            roles[name] = policies
    missing = [r for r in FUNCTION_ROLES if f"{r}-role-{suffix}" not in roles]
    if missing:
        sys.exit(f"iam: no role {', '.join(f'{r}-role-{suffix}' for r in missing)} in the local cloud")
    with open(out, "w", encoding="utf-8") as target:
        json.dump(roles, target, indent=1)
    print(f"iam: the policies of {len(roles)} roles saved")


# moto's default account: the pipeline ARNs it answers with (the installer tags the
# pipeline by the ARN CreatePipeline returned) name it instead of MiniStack's.
MOTO_ACCOUNT = "123456789012"


def pipeline_resource(request, region, account):
    """The resource a CodePipeline request is authorized on."""
    if isinstance(request.get("resourceArn"), str):
        arn = request["resourceArn"].split(":")
        if len(arn) > 4 and arn[2] == "codepipeline" and arn[4] == MOTO_ACCOUNT:
            arn[4] = account
        return ":".join(arn)
    name = request.get("pipelineName") or request.get("name")
    if not name and isinstance(request.get("pipeline"), dict):
        name = request["pipeline"].get("name")
    return f"arn:aws:codepipeline:{region}:{account}:{name}" if name else "*"


def check(args):
    with open(args.roles, encoding="utf-8") as source:
        roles = {
            name: [parse_policy_document(doc) for doc in docs]
            for name, docs in json.load(source).items()
        }
    region = os.environ.get("AWS_REGION", "ap-southeast-1")
    violations = []
    allowed = collections.defaultdict(collections.Counter)

    decisions = lines(args.decisions)
    for d in decisions:
        role = ASSUMED_ROLE.match(d["principal"])
        who = role.group(2) if role else d["principal"]
        if d["decision"] == "Unmapped":
            violations.append(
                f"{who}: a {d['action']} call MiniStack maps to no IAM action, so it was not judged"
            )
        elif d["decision"] != "Allow":
            violations.append(
                f"{who}: {d['action']} on {d['resource']} was refused ({d['decision']})"
            )
        else:
            allowed[who][d["action"]] += 1

    sessions = {s["accessKey"]: s["arn"] for s in lines(args.sessions)}
    calls = lines(args.calls)
    own = 0
    for call in calls:
        key = call["accessKey"]
        if key == "test" or re.fullmatch(r"\d{12}", key or ""):
            own += 1  # the scenario's own calls, as the account's root
            continue
        role = ASSUMED_ROLE.match(sessions.get(key, ""))
        if not role:
            violations.append(
                f"CodePipeline {call['operation']} was signed by {key or 'no key'}, which no function's session explains"
            )
            continue
        account, name = role.groups()
        action = f"codepipeline:{call['operation']}"
        resource = pipeline_resource(call["request"], region, account)
        if name not in roles:
            violations.append(f"{name}: {action} by a role the snapshot does not have")
            continue
        ctx = EvalContext(
            principal_arn=sessions[key],
            principal_type="AssumedRole",
            principal_account=account,
            action=action,
            resource_arn=resource,
            region=region,
        )
        result = evaluate(ctx, roles[name])
        if result.decision != "Allow":
            violations.append(f"{name}: {action} on {resource} is refused ({result.decision})")
        else:
            allowed[name][action] += 1

    for function in FUNCTION_ROLES:
        name = f"{function}-role-{args.suffix}"
        if not allowed.get(name):
            violations.append(f"{name}: no call of it was recorded (is the recording on?)")
        wanted = CODEPIPELINE_CALLS.get(function, set())
        if wanted and not any(allowed[name][f"codepipeline:{op}"] for op in wanted):
            violations.append(
                f"{name}: none of its CodePipeline calls ({', '.join(sorted(wanted))}) was recorded"
            )

    total = sum(sum(c.values()) for c in allowed.values())
    for name in sorted(allowed):
        actions = ", ".join(sorted(allowed[name]))
        print(f"iam: {name}: {sum(allowed[name].values())} calls allowed: {actions}")
    unused = sorted(set(roles) - set(allowed))
    if unused:
        print(f"iam: not exercised in the local cloud (no build or pipeline runs here): {', '.join(unused)}")
    if violations:
        for v in violations:
            print(f"iam: {v}", file=sys.stderr)
        sys.exit(f"iam: {len(violations)} call(s) not allowed by the caller's role")
    print(
        f"iam: {total} calls by {len(allowed)} roles, each allowed by the caller's role "
        f"({len(decisions)} decided by MiniStack, {len(calls) - own} CodePipeline calls evaluated, "
        f"{own} of the scenario's own skipped)"
    )


def self_test():
    """The check fails on each kind of violation it exists for."""
    import subprocess
    import tempfile

    account, suffix = "000000000000", "selftest"
    allow_all = lambda actions, resource: {  # noqa: E731
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }
    pipeline = f"arn:aws:codepipeline:ap-southeast-1:{account}:pipeline-{suffix}"
    roles = {
        f"{r}-role-{suffix}": [allow_all(["dynamodb:GetItem"], "*"), allow_all(["codepipeline:*"], pipeline)]
        for r in FUNCTION_ROLES
    }
    roles[f"tagger-role-{suffix}"].append(allow_all(["codepipeline:PutJobSuccessResult"], "*"))
    session = lambda role: f"arn:aws:sts::{account}:assumed-role/{role}-role-{suffix}/{role}-{suffix}"  # noqa: E731
    fine = [{"principal": session(r), "action": "dynamodb:GetItem", "resource": "*", "decision": "Allow"}
            for r in FUNCTION_ROLES]
    sessions = [{"accessKey": f"ASIA{r.upper()}", "arn": session(r)} for r in FUNCTION_ROLES]
    call = lambda role, op, request: {"accessKey": f"ASIA{role.upper()}", "operation": op, "request": request}  # noqa: E731
    start = call("starter", "StartPipelineExecution", {"name": f"pipeline-{suffix}"})
    others = [
        call("installer", "CreatePipeline", {"pipeline": {"name": f"pipeline-{suffix}"}}),
        call("tagger", "PutJobSuccessResult", {"jobId": "j-1"}),
        call("notifier", "GetPipelineExecution", {"pipelineName": f"pipeline-{suffix}", "pipelineExecutionId": "e"}),
    ]
    cases = {
        "a refused call": (fine + [dict(fine[0], decision="ImplicitDeny")], [start] + others, "was refused"),
        "a call MiniStack could not judge": (
            fine + [dict(fine[0], decision="Unmapped")], [start] + others, "not judged"),
        "a CodePipeline call on another pipeline": (
            fine, [dict(start, request={"name": "pipeline-other"})] + others, "is refused"),
        "a CodePipeline call no session explains": (
            fine, [dict(start, accessKey="ASIAUNKNOWN")] + others, "no function's session"),
        "a role that made no call": (fine[1:], [start] + others[1:], "no call of it was recorded"),
        "no CodePipeline call recorded": (fine, [], "none of its CodePipeline calls"),
    }
    with tempfile.TemporaryDirectory() as work:
        def write(name, rows):
            path = os.path.join(work, name)
            with open(path, "w", encoding="utf-8") as out:
                out.write("".join(json.dumps(r) + "\n" for r in rows))
            return path

        roles_path = os.path.join(work, "roles.json")
        with open(roles_path, "w", encoding="utf-8") as out:
            json.dump(roles, out)
        sessions_path = write("sessions.jsonl", sessions)

        def run(decisions, calls):
            return subprocess.run(
                [sys.executable, __file__, "check", "--suffix", suffix, "--roles", roles_path,
                 "--decisions", write("decisions.jsonl", decisions), "--sessions", sessions_path,
                 "--calls", write("calls.jsonl", calls)],
                capture_output=True, text=True, check=False,
            )

        passed = run(fine, [start] + others)
        if passed.returncode != 0:
            sys.exit(f"iam self-test: a clean record failed the check: {passed.stderr}")
        for name, (decisions, calls, expected) in cases.items():
            got = run(decisions, calls)
            if got.returncode == 0 or expected not in got.stderr:
                sys.exit(f"iam self-test: {name} was not caught ({expected!r}): {got.stderr or got.stdout}")
    print(f"iam: the self-test caught each of {len(cases)} kinds of violation")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("--suffix", required=True)
    snap.add_argument("--out", required=True)
    chk = sub.add_parser("check")
    for flag in ("--suffix", "--roles", "--decisions", "--sessions", "--calls"):
        chk.add_argument(flag, required=True)
    sub.add_parser("self-test")
    args = parser.parse_args()
    if args.command == "self-test":
        self_test()
    elif args.command == "snapshot":
        snapshot(args.suffix, args.out)
    else:
        check(args)


if __name__ == "__main__":
    main()
