"""Reference tagger in Python/boto3: the same ECR and CodePipeline calls as
the Rust tagger (functions/tagger) for a job with a digest and SCAN_GATE=OFF.

BatchGetImage of the digest, of the tag and of the rollback tag; PutImage of
the rollback tag onto the old holder and of the tag onto the digest (manifest
and media type passed through, "already exists" is success); one
PutJobSuccessResult with PROMOTED_DIGEST / PREVIOUS_DIGEST, or one
PutJobFailureResult.
"""

import json

import boto3
from botocore.config import Config

_ecr = boto3.client("ecr")
_pipeline = boto3.client("codepipeline", config=Config(retries={"mode": "standard", "max_attempts": 5}))
_MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]


def _get(repository, image_id):
    found = _ecr.batch_get_image(repositoryName=repository, imageIds=[image_id], acceptedMediaTypes=_MEDIA_TYPES)
    images = found.get("images") or []
    if images:
        image = images[0]
        return {
            "digest": image["imageId"].get("imageDigest") or image_id.get("imageDigest"),
            "manifest": image["imageManifest"],
            "mediaType": image.get("imageManifestMediaType"),
        }
    failures = found.get("failures") or []
    if failures and failures[0].get("failureCode") not in ("ImageNotFound", None):
        raise RuntimeError(f"BatchGetImage: {failures[0].get('failureCode')}: {failures[0].get('failureReason')}")
    return None


def _put(repository, image, tag):
    args = {"repositoryName": repository, "imageManifest": image["manifest"], "imageDigest": image["digest"], "imageTag": tag}
    if image["mediaType"]:
        args["imageManifestMediaType"] = image["mediaType"]
    try:
        _ecr.put_image(**args)
    except _ecr.exceptions.ImageAlreadyExistsException:
        pass


def _promote(params):
    repository, tag = params["repository"], params.get("tag") or "production"
    previous_tag = f"{tag}-previous"
    target = _get(repository, {"imageDigest": params["digest"]})
    if target is None:
        raise LookupError(f"{repository} has no image {params['digest']}")
    holder = _get(repository, {"imageTag": tag})
    previous_holder = _get(repository, {"imageTag": previous_tag})
    previous = previous_holder["digest"] if previous_holder else None
    if holder and holder["digest"] != target["digest"]:
        _put(repository, holder, previous_tag)
        previous = holder["digest"]
    _put(repository, target, tag)
    return target["digest"], previous


def handler(event, context):
    job = event["CodePipeline.job"]
    job_id = job["id"]
    try:
        params = json.loads(job["data"]["actionConfiguration"]["configuration"]["UserParameters"])
        promoted, previous = _promote(params)
    except Exception as error:  # every path answers the job
        print(json.dumps({"level": "ERROR", "message": "failed", "error": str(error)}))
        _pipeline.put_job_failure_result(jobId=job_id, failureDetails={"type": "JobFailed", "message": str(error)[:5000]})
        return {"jobId": job_id, "result": "failed"}
    _pipeline.put_job_success_result(
        jobId=job_id,
        executionDetails={"summary": f"promoted {promoted}", "percentComplete": 100},
        outputVariables={"PROMOTED_DIGEST": promoted, "PREVIOUS_DIGEST": previous or "none"},
    )
    print(json.dumps({"level": "INFO", "message": "promoted", "digest": promoted}))
    return {"jobId": job_id, "result": "succeeded"}
