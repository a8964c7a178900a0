"""moto's server, plus a recording stand-in for CodePipeline's job-result API.

moto implements CodePipeline pipelines but not PutJobSuccessResult or
PutJobFailureResult, which the tagger calls to finish every job. This launcher
adds both actions to moto's CodePipeline responses. They are NOT a model of
CodePipeline's job state: any job id is accepted (AWS answers
JobNotFoundException for an unknown one) and each call is appended as one JSON
line to the file named by JOB_RESULTS_FILE, which the tests read back.
"""

import json
import os
import threading

from moto.codepipeline.responses import CodePipelineResponse
from moto.server import main

_lock = threading.Lock()


def _record(response, action):
    body = json.loads(response.body or "{}")
    if not body.get("jobId"):
        return 400, {}, json.dumps(
            {"__type": "ValidationException", "message": "jobId is required"}
        )
    path = os.environ.get("JOB_RESULTS_FILE")
    if path:
        with _lock, open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"action": action, **body}) + "\n")
    return "{}"


def put_job_success_result(self):
    return _record(self, "PutJobSuccessResult")


def put_job_failure_result(self):
    return _record(self, "PutJobFailureResult")


CodePipelineResponse.put_job_success_result = put_job_success_result
CodePipelineResponse.put_job_failure_result = put_job_failure_result

if __name__ == "__main__":
    main()
