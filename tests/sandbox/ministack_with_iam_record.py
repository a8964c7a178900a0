"""MiniStack for the local cloud, with its IAM enforcement on and its decisions recorded.

With AUTH=true, MiniStack runs each Lambda function with a session of the function's
execution role and evaluates every request it serves against the caller's IAM
policies (ministack.core.iam_evaluator: explicit deny, then an allow that every
boundary and session policy also allows, else an implicit deny), on the resource it
builds from the request. A call a role does not allow is refused, as on AWS.

This launcher starts MiniStack with AUTH=true and records, as JSON lines, without
changing anything MiniStack decides:

1. IAM_DECISIONS_FILE: MiniStack's decision on each call made with a session it issued
   (the functions' calls): the principal, the action, the resource and the decision
   (its `enforce`: the identity policies, then the resource's own policy where it
   combines them there; SNS's topic-policy gate runs apart and is not recorded, a
   refusal there fails the scenario instead), and, as `Unmapped`, each such call
   MiniStack maps to no IAM action and so does not judge;
2. IAM_SESSIONS_FILE: each temporary-credential session MiniStack issues (access key
   id and the assumed-role ARN), so that a call to the other emulator (moto, for
   CodePipeline), which sees only the access key, can be tied to its function's role.

tests/iam/check_recorded_calls.py reads both after the scenario.

Four differences from AWS are corrected here, so that a call is judged on the resource
AWS authorizes it on (the Service Authorization Reference,
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):

- The local cloud is plain HTTP on loopback; AWS's endpoints take only HTTPS, so every
  call the functions make there carries `aws:SecureTransport` true. The launcher
  evaluates every call as made over TLS (otherwise the artifact bucket's deny of
  non-TLS access refuses the installer's emptying of it).
- MiniStack builds no resource for CodeBuild's BatchGetProjects (it judges it on `*`);
  AWS authorizes it on each project the request names (list_awscodebuild.html). The
  launcher gives it the ARN of the first project named (the installer names one).
- For EventBridge's PutTargets, RemoveTargets and ListTargetsByRule, which name their
  rule in `Rule`, MiniStack builds the event bus's ARN, and for ListTagsForResource,
  TagResource and UntagResource, which name it in `ResourceARN`, none (`*`); AWS
  authorizes them on the rule (list_amazoneventbridge.html: `rule/BUS/NAME` on a
  custom bus, `rule/NAME` on the default one). The launcher gives them the rule's ARN.
- MiniStack's CloudFormation answers `Ref` of an AWS::SecretsManager::Secret with the
  secret's name; AWS answers with its ARN (aws-resource-secretsmanager-secret.html,
  "Return values"), which the webhook's role names as its resource. The launcher makes
  the ARN the secret's physical id, and hands MiniStack the name back on update and
  delete.
"""

import json
import os
import re
import sys
import threading

os.environ["AUTH"] = "true"

from ministack.core import iam_evaluator  # noqa: E402

_pin_request_origin = iam_evaluator.pin_request_origin


def pin_request_origin_tls(source_ip, secure_transport):
    _pin_request_origin(source_ip, True)


# Before MiniStack's app imports it by name.
iam_evaluator.pin_request_origin = pin_request_origin_tls

from ministack.core import iam_actions  # noqa: E402
from ministack.services import sts  # noqa: E402

_lock = threading.Lock()


def _append(variable, entry):
    path = os.environ.get(variable)
    if path:
        with _lock, open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


_extract_resource_arn = iam_actions.extract_resource_arn


def _request(body):
    try:
        request = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return request if isinstance(request, dict) else {}


def extract_resource_arn_as_aws(service, method, path, headers, body, query_params, region, account_id):
    arn = _extract_resource_arn(service, method, path, headers, body, query_params, region, account_id)
    if service not in ("codebuild", "events"):
        return arn
    request = _request(body)
    names = request.get("names")
    if service == "codebuild" and arn == "*" and isinstance(names, list) and names and isinstance(names[0], str):
        name = names[0]
        return name if name.startswith("arn:") else f"arn:aws:codebuild:{region}:{account_id}:project/{name}"
    tagged = request.get("ResourceARN")
    if service == "events" and isinstance(tagged, str) and tagged.startswith("arn:"):
        return tagged
    rule = request.get("Rule")
    if service == "events" and isinstance(rule, str) and rule:
        if rule.startswith("arn:"):
            return rule
        bus = request.get("EventBusName") or "default"
        if isinstance(bus, str) and bus.startswith("arn:"):
            bus = bus.rsplit("/", 1)[-1]
        where = rule if bus == "default" else f"{bus}/{rule}"
        return f"arn:aws:events:{region}:{account_id}:rule/{where}"
    return arn


iam_actions.extract_resource_arn = extract_resource_arn_as_aws


def _secret_ref_is_its_arn():
    from ministack.services.cloudformation import provisioners

    handlers = provisioners._RESOURCE_HANDLERS["AWS::SecretsManager::Secret"]
    create, update, delete = handlers["create"], handlers["update"], handlers["delete"]

    def name_of(physical_id):
        if ":secret:" in physical_id:
            return physical_id.split(":secret:", 1)[1].rsplit("-", 1)[0]
        return physical_id

    def create_by_arn(logical_id, props, stack_name):
        _, attributes = create(logical_id, props, stack_name)
        return attributes["Arn"], attributes

    def update_by_arn(physical_id, old_props, new_props, stack_name, logical_id=None):
        _, attributes = update(name_of(physical_id), old_props, new_props, stack_name, logical_id)
        return attributes["Arn"], attributes

    def delete_by_arn(physical_id, props):
        return delete(name_of(physical_id), props)

    handlers.update(create=create_by_arn, update=update_by_arn, delete=delete_by_arn)


_secret_ref_is_its_arn()

_sessions = {}
_enforce = iam_evaluator.enforce


def enforce_recorded(access_key_id, iam_action, service, region, resource_arn="*", service_context=None):
    result = _enforce(access_key_id, iam_action, service, region, resource_arn, service_context)
    principal = _sessions.get(access_key_id or "")
    if principal:
        if result is None:
            decision = "Allow"
        elif isinstance(result, iam_evaluator.AuthError):
            decision = f"AuthError {result.code}"
        else:
            decision = result.decision
        _append(
            "IAM_DECISIONS_FILE",
            {"principal": principal, "action": iam_action, "resource": resource_arn, "decision": decision},
        )
    return result


iam_evaluator.enforce = enforce_recorded

_extract_iam_action = iam_actions.extract_iam_action
_SIGNED_BY = re.compile(r"Credential=([^/,\s]+)/")


def extract_iam_action_recorded(service, method, path, headers, body, query_params):
    action = _extract_iam_action(service, method, path, headers, body, query_params)
    if action is None:
        signed = _SIGNED_BY.search(headers.get("authorization") or headers.get("Authorization") or "")
        principal = _sessions.get(signed.group(1)) if signed else None
        if principal:
            _append(
                "IAM_DECISIONS_FILE",
                {"principal": principal, "action": f"{service} {method} {path}", "resource": "", "decision": "Unmapped"},
            )
    return action


iam_actions.extract_iam_action = extract_iam_action_recorded

_register_session = sts.register_session


def register_session_recorded(access_key, session):
    _register_session(access_key, session)
    _sessions[access_key] = session.get("Arn", "")
    _append("IAM_SESSIONS_FILE", {"accessKey": access_key, "arn": session.get("Arn", "")})


sts.register_session = register_session_recorded

if __name__ == "__main__":
    from ministack.app import main

    sys.exit(main())
