"""moto's server for the local cloud, with four additions for CodePipeline.

1. A recording stand-in for the job-result API. moto implements CodePipeline
   pipelines but not PutJobSuccessResult or PutJobFailureResult, which the tagger
   calls to finish every job. This launcher adds both actions to moto's
   CodePipeline responses. They are NOT a model of CodePipeline's job state: any
   job id is accepted (AWS answers JobNotFoundException for an unknown one) and
   each call is appended as one JSON line to the file named by JOB_RESULTS_FILE,
   which the tests read back.

3. A recorder of StartPipelineExecution requests. moto starts an execution
   but keeps nothing of its sourceRevisions or clientRequestToken. Each request
   is appended, whole, as one JSON line to START_REQUESTS_FILE before moto
   handles it as usual, so the tests can see exactly which commit was asked for.

4. A recorder of every CodePipeline call, for the IAM check. Each request is
   appended to CODEPIPELINE_CALLS_FILE as one JSON line: the access key id it was
   signed with, the operation and the request. moto enforces no IAM here; the
   check (tests/iam/check_recorded_calls.py) ties the key to a function's role
   through the sessions MiniStack recorded and evaluates the call there.

5. ListPipelineExecutions' times as AWS sends them. moto writes `startTime`
   and `lastUpdateTime` as ISO 8601 text; CodePipeline's JSON protocol sends
   timestamps as epoch seconds (a number), and the AWS SDKs read only that.
   The launcher converts them, nothing else.

2. The pipeline role is looked up where it lives. moto checks that a pipeline's
   role exists and trusts codepipeline.amazonaws.com, but in its own IAM; in the
   local cloud every role is created in MiniStack. When MINISTACK_ENDPOINT is set,
   the same check is made against MiniStack's IAM (GetRole by name) instead.
"""

import json
import os
import re
import threading
import urllib.parse

import boto3
from moto.codepipeline.models import CodePipelineBackend
from moto.codepipeline.responses import CodePipelineResponse
from moto.iam.exceptions import NotFoundException
from moto.server import main

_lock = threading.Lock()


def _append(variable, entry):
    """Appends `entry` as one JSON line to the file the variable names, if any."""
    path = os.environ.get(variable)
    if path:
        with _lock, open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def _record(response, action):
    body = json.loads(response.body or "{}")
    if not body.get("jobId"):
        return 400, {}, json.dumps(
            {"__type": "ValidationException", "message": "jobId is required"}
        )
    _append("JOB_RESULTS_FILE", {"action": action, **body})
    return "{}"


def put_job_success_result(self):
    return _record(self, "PutJobSuccessResult")


def put_job_failure_result(self):
    return _record(self, "PutJobFailureResult")


CodePipelineResponse.put_job_success_result = put_job_success_result
CodePipelineResponse.put_job_failure_result = put_job_failure_result

_moto_start_pipeline_execution = CodePipelineResponse.start_pipeline_execution


def start_pipeline_execution_recorded(self):
    _append("START_REQUESTS_FILE", json.loads(self.body or "{}"))
    return _moto_start_pipeline_execution(self)


CodePipelineResponse.start_pipeline_execution = start_pipeline_execution_recorded

_moto_list_pipeline_executions = CodePipelineResponse.list_pipeline_executions


def _epoch_seconds(text):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def list_pipeline_executions_epoch(self):
    body = json.loads(_moto_list_pipeline_executions(self))
    for summary in body.get("pipelineExecutionSummaries") or []:
        for field in ("startTime", "lastUpdateTime"):
            if isinstance(summary.get(field), str):
                summary[field] = _epoch_seconds(summary[field])
    if body.get("nextToken") is None:
        body.pop("nextToken", None)
    return json.dumps(body)


CodePipelineResponse.list_pipeline_executions = list_pipeline_executions_epoch

_moto_call_action = CodePipelineResponse.call_action
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def call_action_recorded(self):
    signed = _CREDENTIAL.search(self.headers.get("Authorization") or "")
    try:
        request = json.loads(self.body or "{}")
    except ValueError:
        request = {}
    _append(
        "CODEPIPELINE_CALLS_FILE",
        {
            "accessKey": signed.group(1) if signed else "",
            "operation": self._get_action(),
            "request": request,
        },
    )
    return _moto_call_action(self)


CodePipelineResponse.call_action = call_action_recorded


class _MiniStackRole:
    def __init__(self, document):
        self.assume_role_policy_document = document


class _MiniStackIam:
    """The one IAM call moto's CodePipeline makes, answered by MiniStack."""

    def __init__(self, endpoint):
        self._iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=os.environ.get("AWS_REGION", "ap-southeast-1"),
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def get_role_by_arn(self, arn):
        name = arn.rsplit("/", 1)[-1]
        try:
            role = self._iam.get_role(RoleName=name)["Role"]
        except self._iam.exceptions.NoSuchEntityException:
            raise NotFoundException(f"Role {arn} not found")
        document = role["AssumeRolePolicyDocument"]
        if isinstance(document, str):
            # AWS returns the document URL-encoded.
            document = json.loads(urllib.parse.unquote(document))
        return _MiniStackRole(json.dumps(document))


if os.environ.get("MINISTACK_ENDPOINT"):
    _ministack_iam = _MiniStackIam(os.environ["MINISTACK_ENDPOINT"])
    CodePipelineBackend.iam_backend = property(lambda self: _ministack_iam)

if __name__ == "__main__":
    main()
