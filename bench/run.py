"""The benchmark run: Rust functions against their Python/boto3 references,
in one local cloud (started by scripts/bench.sh through scripts/sandbox.sh).

Sections (each can be chosen with --only):
  functions  cold start, warm latency (median / p99) and peak RSS per function
  calls      AWS calls per invocation, counted by a pass-through proxy
  empty      emptying a versioned bucket of 10,000 versions + delete markers
  load       the webhook behind a function URL front under bounded load (hey)

Results go to OUT/results.json and OUT/results.md. Every invocation's answer
is checked (status, job result, CloudFormation answer), so a broken function
fails the run instead of producing figures.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import http.server
import json
import math
import os
import platform
import re
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import uuid

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_proxy import CountingProxy  # noqa: E402
from lambda_emulator import Environment, FunctionUrl, environment_variables  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HANDLERS = os.path.join(ROOT, "bench", "handlers")
ACCOUNT = "123456789012"  # moto's account; the role ARNs use it
WEBHOOK_SECRET = "local-webhook-secret-do-not-use-in-production"
LANGS = ("rust", "python")


# ---------------------------------------------------------------- helpers

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    # Nearest rank: the smallest value with at least p % of the values at or below it.
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def load_average() -> float:
    return os.getloadavg()[0]


class ResponseUrl:
    """CloudFormation's side of the ResponseURL: records each PUT body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

            def log_message(self, *args) -> None:
                pass

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                listener.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cloudformation-response/bench"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def last(self) -> dict:
        if not self.bodies:
            raise RuntimeError("the function did not answer CloudFormation")
        return self.bodies.pop()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------- the cloud

class Cloud:
    def __init__(self) -> None:
        cfg = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)
        self.s3 = boto3.client("s3", config=cfg)
        self.ecr = boto3.client("ecr", config=cfg)
        self.iam = boto3.client("iam", config=cfg)
        self.events = boto3.client("events", config=cfg)
        self.secrets = boto3.client("secretsmanager", config=cfg)
        moto = os.environ["AWS_ENDPOINT_URL_CODEPIPELINE"]
        self.moto_iam = boto3.client("iam", endpoint_url=moto, config=cfg)

    def prepare(self) -> dict:
        """What the template would have created: secret, bus, roles, images, buckets."""
        secret_arn = self.secrets.create_secret(Name="webhook-secret-bench", SecretString=WEBHOOK_SECRET)["ARN"]
        self.events.create_event_bus(Name="github-events-bench")
        trust = lambda service: json.dumps({  # noqa: E731
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        })
        for name, service in (("codebuild-role-bench", "codebuild.amazonaws.com"),
                              ("codepipeline-role-bench", "codepipeline.amazonaws.com"),
                              ("events-role-bench", "events.amazonaws.com")):
            self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))
        # moto's CreatePipeline looks the pipeline role up in moto's own IAM.
        self.moto_iam.create_role(RoleName="codepipeline-role-bench", AssumeRolePolicyDocument=trust("codepipeline.amazonaws.com"))
        images = {}
        for lang in LANGS:
            repository = f"images-bench-{lang}"
            self.ecr.create_repository(repositoryName=repository)
            images[lang] = [self.push_image(repository, f"{lang}-{label}") for label in ("a", "b")]
            self.bucket(f"artifacts-bench-{lang}")
        return {"secret_arn": secret_arn, "images": images}

    def push_image(self, repository: str, label: str) -> str:
        """Pushes a small single-platform Docker v2 image; returns its digest."""
        def blob(data: bytes, media_type: str) -> dict:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            upload = self.ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
            self.ecr.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                                       partLastByte=len(data) - 1, layerPartBlob=data)
            self.ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
            return {"mediaType": media_type, "size": len(data), "digest": digest}

        layer = blob(f"layer of {label}".encode(), "application/vnd.docker.image.rootfs.diff.tar.gzip")
        config = blob(json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"bench": label}},
                                  "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode(),
                      "application/vnd.docker.container.image.v1+json")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": config, "layers": [layer]}, indent=3)
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        self.ecr.put_image(repositoryName=repository, imageManifest=manifest, imageDigest=digest,
                           imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json",
                           imageTag=f"build-{label}")
        return digest

    def bucket(self, name: str) -> None:
        self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
        self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def fill(self, bucket: str, keys: int, versions: int) -> int:
        """`keys` keys of `versions` versions each, then a delete marker on each."""
        def one(i: int) -> None:
            key = f"pipeline-bench/SourceArti/{i:05d}.zip"
            for v in range(versions):
                self.s3.put_object(Bucket=bucket, Key=key, Body=f"{key} v{v}".encode())
            self.s3.delete_object(Bucket=bucket, Key=key)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(keys)))
        return self.count_versions(bucket)

    def count_versions(self, bucket: str) -> int:
        total = 0
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            total += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        return total


# ---------------------------------------------------------------- functions

class Functions:
    """Starts execution environments of the three functions, in either language."""

    def __init__(self, args, fixtures: dict, logs: str) -> None:
        self.args = args
        self.fixtures = fixtures
        self.logs = logs
        self.python = args.python

    def start(self, function: str, lang: str, endpoint: str | None = None, moto: str | None = None) -> Environment:
        extra = {
            "webhook": {"EVENT_BUS_NAME": "github-events-bench", "WEBHOOK_SECRET_ARN": self.fixtures["secret_arn"],
                        "ALLOWED_EVENTS": "push"},
            "tagger": {"SCAN_GATE": "OFF"},
            "installer": {"BUILDSPEC_FILE": os.path.join(ROOT, "functions", "installer", "buildspec.yml")},
        }[function]
        if endpoint:
            extra["AWS_ENDPOINT_URL"] = endpoint
        if moto:
            extra["AWS_ENDPOINT_URL_CODEPIPELINE"] = moto
        env = environment_variables(extra)
        log = os.path.join(self.logs, f"{function}-{lang}.log")
        if lang == "rust":
            binary = os.path.join(self.args.rust_dir, function, "bootstrap")
            return Environment(f"{function}-bench", [binary], env, os.path.dirname(binary), log)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return Environment(f"{function}-bench", [self.python, "-m", "awslambdaric", f"{function}_py.handler"],
                           env, HANDLERS, log)


class Workload:
    """One invocation of a function, and the check that it did its job."""

    def __init__(self, function: str, lang: str, fixtures: dict, response_url: ResponseUrl, job_results: str):
        self.function, self.lang = function, lang
        self.fixtures, self.response_url, self.job_results = fixtures, response_url, job_results
        self.count = 0
        # Called with the label of each invocation as it completes (the call
        # counts use it to split an installer Create from its Delete).
        self.on_step = lambda label: None
        with open(os.path.join(ROOT, "events", "webhook-push.json")) as f:
            self.webhook_event = json.load(f)
        with open(os.path.join(ROOT, "events", "installer-create.json")) as f:
            self.create_event = json.load(f)

    # Each call returns the invocations it made: (label, Invocation).
    def run(self, env: Environment) -> list:
        self.count += 1
        return getattr(self, self.function)(env)

    def webhook(self, env: Environment) -> list:
        result = env.invoke(self.webhook_event, 30)
        if not result.ok or result.payload.get("statusCode") != 200:
            raise RuntimeError(f"webhook answered {result.payload}")
        return [("invoke", result)]

    # Per language, across workloads: which image the next job promotes.
    promotions = {lang: 0 for lang in LANGS}

    def tagger(self, env: Environment) -> list:
        digests = self.fixtures["images"][self.lang]
        Workload.promotions[self.lang] += 1
        # Alternate, so that every job moves both tags (production and
        # production-previous) rather than finding the image already tagged.
        digest = digests[Workload.promotions[self.lang] % 2]
        job_id = str(uuid.uuid4())
        event = {"CodePipeline.job": {"id": job_id, "accountId": ACCOUNT, "data": {
            "actionConfiguration": {"configuration": {"FunctionName": "tagger-bench", "UserParameters": json.dumps(
                {"repository": f"images-bench-{self.lang}", "digest": digest, "tag": "production"})}},
            "inputArtifacts": [], "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": "AKIAFAKE", "secretAccessKey": "fake", "sessionToken": "fake"}}}}
        result = env.invoke(event, 60)
        if not result.ok:
            raise RuntimeError(f"tagger failed: {result.payload}")
        with open(self.job_results) as f:
            recorded = [json.loads(line) for line in f if job_id in line]
        if [r.get("action") for r in recorded] != ["PutJobSuccessResult"]:
            raise RuntimeError(f"tagger job {job_id}: results {recorded}")
        return [("invoke", result)]

    def installer_event(self, kind: str, suffix: str, bucket: str, physical_id: str | None = None) -> dict:
        event = json.loads(json.dumps(self.create_event))
        event["RequestType"] = kind
        event["RequestId"] = str(uuid.uuid4())
        event["ResponseURL"] = self.response_url.url
        event["StackId"] = f"arn:aws:cloudformation:ap-southeast-1:{ACCOUNT}:stack/bench/{self.lang}"
        props = event["ResourceProperties"]
        props.update({
            "EnvironmentSuffix": suffix, "ProjectName": f"build-{suffix}", "PipelineName": f"pipeline-{suffix}",
            "RuleName": f"github-push-{suffix}", "EventBusName": "github-events-bench",
            "CodeBuildRoleArn": f"arn:aws:iam::{ACCOUNT}:role/codebuild-role-bench",
            "PipelineRoleArn": f"arn:aws:iam::{ACCOUNT}:role/codepipeline-role-bench",
            "EventsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-role-bench",
            "ArtifactBucket": bucket, "RepositoryName": f"images-bench-{self.lang}",
            "RepositoryUri": f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/images-bench-{self.lang}",
            "TaggerFunctionName": "tagger-bench", "BuildLogGroupName": f"/aws/codebuild/build-{suffix}",
        })
        if physical_id:
            event["PhysicalResourceId"] = physical_id
        return event

    def installer(self, env: Environment) -> list:
        suffix = f"b{self.lang[0]}{self.count}-{uuid.uuid4().hex[:6]}"
        bucket = f"artifacts-bench-{self.lang}"
        create = env.invoke(self.installer_event("Create", suffix, bucket), 300)
        self.on_step("create")
        answer = self.response_url.last()
        if not create.ok or answer["Status"] != "SUCCESS":
            raise RuntimeError(f"installer Create: {answer}")
        delete = env.invoke(self.installer_event("Delete", suffix, bucket, answer["PhysicalResourceId"]), 300)
        self.on_step("delete")
        answer = self.response_url.last()
        if not delete.ok or answer["Status"] != "SUCCESS":
            raise RuntimeError(f"installer Delete: {answer}")
        return [("create", create), ("delete", delete)]


def run_functions(args, functions: Functions, fixtures: dict, response_url: ResponseUrl) -> dict:
    results: dict = {}
    for function in args.functions:
        warm_n = args.installer_warm if function == "installer" else args.warm
        per_lang = {lang: {"init_ms": [], "cold_ms": {}, "warm_ms": {}, "handler_ms": {}, "peak_rss_kib": [],
                           "cold_rss_kib": []} for lang in LANGS}
        workloads = {lang: Workload(function, lang, fixtures, response_url, args.job_results) for lang in LANGS}
        # Cold starts: a new process each time, languages alternating.
        for rep in range(args.cold):
            for lang in (LANGS if rep % 2 == 0 else LANGS[::-1]):
                env = functions.start(function, lang)
                try:
                    per_lang[lang]["init_ms"].append(ms(env.wait_ready()))
                    for label, inv in workloads[lang].run(env):
                        # First answer of the process, counted from the process start.
                        if label in ("invoke", "create"):
                            per_lang[lang]["cold_ms"].setdefault(label, []).append(ms(inv.finished - env.spawned_at))
                    per_lang[lang]["cold_rss_kib"].append(env.peak_rss_kib())
                finally:
                    env.stop()
        # Warm: one process per language, one warm-up, then warm_n invocations.
        for lang in LANGS:
            env = functions.start(function, lang)
            try:
                env.wait_ready()
                workloads[lang].run(env)
                for _ in range(warm_n):
                    for label, inv in workloads[lang].run(env):
                        per_lang[lang]["warm_ms"].setdefault(label, []).append(ms(inv.seconds))
                        per_lang[lang]["handler_ms"].setdefault(label, []).append(ms(inv.handler_seconds))
                per_lang[lang]["peak_rss_kib"].append(env.peak_rss_kib())
            finally:
                env.stop()
        summary = {}
        for lang, data in per_lang.items():
            summary[lang] = {
                "init_ms_median": statistics.median(data["init_ms"]),
                "cold_ms_median": {k: statistics.median(v) for k, v in data["cold_ms"].items()},
                "cold_rss_mib_median": round(statistics.median(data["cold_rss_kib"]) / 1024, 1),
                "warm_ms": {k: {"median": statistics.median(v), "p99": percentile(v, 99), "n": len(v)}
                            for k, v in data["warm_ms"].items()},
                "handler_ms_median": {k: statistics.median(v) for k, v in data["handler_ms"].items()},
                "peak_rss_mib": round(max(data["peak_rss_kib"]) / 1024, 1),
                "raw": data,
            }
        results[function] = summary
        print(f"bench: {function}: " + json.dumps({k: {kk: vv for kk, vv in v.items() if kk != 'raw'}
                                                  for k, v in summary.items()}), flush=True)
    return results


def run_calls(args, functions: Functions, fixtures: dict, response_url: ResponseUrl) -> dict:
    """Each function's AWS calls, through counting proxies (not timed)."""
    ministack = CountingProxy(os.environ["AWS_ENDPOINT_URL"])
    moto = CountingProxy(os.environ["AWS_ENDPOINT_URL_CODEPIPELINE"])
    counts: dict = {}
    try:
        for function in args.functions:
            for lang in LANGS:
                workload = Workload(function, lang, fixtures, response_url, args.job_results)
                env = functions.start(function, lang, endpoint=ministack.url, moto=moto.url)
                try:
                    env.wait_ready()
                    ministack.take(), moto.take()
                    rounds = {}
                    for name in ("first", "second"):
                        def record(label: str, name: str = name) -> None:
                            rounds[f"{name} {label}"] = {**ministack.take(), **moto.take()}
                        workload.on_step = record
                        workload.run(env)
                        if function != "installer":
                            record("invoke")
                    counts.setdefault(function, {})[lang] = rounds
                finally:
                    env.stop()
    finally:
        ministack.close()
        moto.close()
    print("bench: calls " + json.dumps(counts), flush=True)
    return counts


def run_empty(args, functions: Functions, cloud: Cloud, fixtures: dict, response_url: ResponseUrl) -> dict:
    """Emptying identical buckets: the installer's Delete (Rust: empty_bucket;
    Python: bucket.object_versions.delete()), less the same Delete on an empty
    bucket."""
    keys = args.empty_entries // (args.empty_versions + 1)
    out = {lang: {"delete_ms": [], "baseline_ms": [], "entries": []} for lang in LANGS}
    envs = {}
    try:
        for lang in LANGS:
            envs[lang] = functions.start("installer", lang)
            envs[lang].wait_ready()
        for rep in range(args.empty_rounds):
            buckets = {}
            for lang in LANGS:
                bucket = f"empty-bench-{lang}-{rep}"
                cloud.bucket(bucket)
                started = time.perf_counter()
                entries = cloud.fill(bucket, keys, args.empty_versions)
                print(f"bench: filled {bucket} with {entries} entries in {time.perf_counter() - started:.0f} s", flush=True)
                buckets[lang] = bucket
                out[lang]["entries"].append(entries)
            for lang in (LANGS if rep % 2 == 0 else LANGS[::-1]):
                workload = Workload("installer", lang, fixtures, response_url, args.job_results)
                suffix = f"e{lang[0]}{rep}"
                physical = f"installer:build-{suffix}:pipeline-{suffix}:github-push-{suffix}"
                for key in ("delete_ms", "baseline_ms"):
                    inv = envs[lang].invoke(workload.installer_event("Delete", suffix, buckets[lang], physical), 600)
                    answer = response_url.last()
                    if not inv.ok or answer["Status"] != "SUCCESS":
                        raise RuntimeError(f"{lang} Delete: {answer}")
                    out[lang][key].append(ms(inv.seconds))
                left = cloud.count_versions(buckets[lang])
                if left:
                    raise RuntimeError(f"{buckets[lang]} still has {left} entries")
            print(f"bench: empty round {rep}: " + json.dumps({k: {kk: vv[-1] for kk, vv in v.items()} for k, v in out.items()}), flush=True)
    finally:
        for env in envs.values():
            env.stop()
    for lang in LANGS:
        emptying = [d - b for d, b in zip(out[lang]["delete_ms"], out[lang]["baseline_ms"])]
        out[lang]["emptying_ms"] = emptying
        out[lang]["emptying_ms_median"] = statistics.median(emptying)
    return out


HEY_LINE = re.compile(r"^\s*(\d+)%+ in ([0-9.]+) secs")


def hey(args, url: str, body_file: str, signature: str) -> dict:
    command = [
        args.hey, "-n", str(args.load_requests), "-c", str(args.load_concurrency), "-t", "10",
        "-m", "POST", "-T", "application/json", "-D", body_file,
        "-H", "X-GitHub-Event: push", "-H", "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "-H", f"X-Hub-Signature-256: {signature}", url,
    ]
    done = subprocess.run(["timeout", str(args.load_seconds), *command], capture_output=True, text=True)
    text = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"hey exited {done.returncode} (bounded at {args.load_seconds} s): {done.stderr[-500:]}")
    result = {"percentiles_ms": {}, "status": {}}
    for line in text.splitlines():
        if m := HEY_LINE.match(line):
            result["percentiles_ms"][int(m.group(1))] = ms(float(m.group(2)))
        elif m := re.match(r"^\s*Requests/sec:\s*([0-9.]+)", line):
            result["requests_per_s"] = float(m.group(1))
        elif m := re.match(r"^\s*Total:\s*([0-9.]+) secs", line):
            result["total_s"] = float(m.group(1))
        elif m := re.match(r"^\s*\[(\d+)\]\s+(\d+) responses", line):
            result["status"][m.group(1)] = int(m.group(2))
    return result


def run_load(args, functions: Functions, out_dir: str) -> dict:
    with open(os.path.join(ROOT, "events", "webhook-push.json")) as f:
        fixture = json.load(f)
    body = base64.b64decode(fixture["body"]) if fixture.get("isBase64Encoded") else fixture["body"].encode()
    signature = {k.lower(): v for k, v in fixture["headers"].items()}["x-hub-signature-256"]
    forged = "sha256=" + "0" * 64
    body_file = os.path.join(out_dir, "webhook-body.json")
    with open(body_file, "wb") as f:
        f.write(body)
    results = {}
    for lang in LANGS:
        env = functions.start("webhook", lang)
        front = FunctionUrl(env)
        try:
            env.wait_ready()
            for kind, sig, expected in (("valid", signature, "200"), ("forged", forged, "401")):
                hey(args, front.url, body_file, sig)  # warm-up round, not recorded
                env.api.handler_seconds.clear()
                measured = hey(args, front.url, body_file, sig)
                inside = [ms(s) for s in env.api.handler_seconds]
                measured["function_ms"] = {"p50": percentile(inside, 50), "p99": percentile(inside, 99), "n": len(inside)}
                if measured["status"] != {expected: args.load_requests}:
                    raise RuntimeError(f"webhook {lang} {kind}: statuses {measured['status']}")
                measured["peak_rss_mib"] = round(env.peak_rss_kib() / 1024, 1)
                results.setdefault(lang, {})[kind] = measured
                print(f"bench: load {lang} {kind}: {json.dumps(measured)}", flush=True)
        finally:
            front.close()
            env.stop()
    return results


# ---------------------------------------------------------------- report

def fmt(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def ratio(rust: float, python: float) -> str:
    return f"{python / rust:.1f}x" if rust > 0 else "-"


def report(results: dict) -> str:
    lines = [f"Run of {results['started']} on {results['machine']}.", "",
             "| section | seconds | load average (1 min) before | after |", "|---|---|---|---|"]
    for name, section in results["sections"].items():
        lines.append(f"| {name} | {section['seconds']} | {section['load_before']:.2f} | {section['load_after']:.2f} |")
    lines += ["", "| binary | bytes | sha256 |", "|---|---|---|"]
    for name, binary in results["binaries"].items():
        lines.append(f"| {name} | {binary['bytes']} | {binary['sha256'][:16]} |")
    lines.append("")
    functions = results.get("functions")
    if functions:
        lines += ["| function | measure | Rust | Python | Python / Rust |", "|---|---|---|---|---|"]
        for name, data in functions.items():
            rs, py = data["rust"], data["python"]
            lines.append(f"| {name} | init (start to first poll), median ms | {fmt(rs['init_ms_median'])} | {fmt(py['init_ms_median'])} | {ratio(rs['init_ms_median'], py['init_ms_median'])} |")
            for label in rs["cold_ms_median"]:
                a, b = rs["cold_ms_median"][label], py["cold_ms_median"][label]
                lines.append(f"| {name} | cold start to first answer ({label}), median ms | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |")
            for label in rs["warm_ms"]:
                a, b = rs["warm_ms"][label], py["warm_ms"][label]
                lines.append(f"| {name} | warm {label}, median ms (n={a['n']}) | {fmt(a['median'])} | {fmt(b['median'])} | {ratio(a['median'], b['median'])} |")
                lines.append(f"| {name} | warm {label}, p99 ms | {fmt(a['p99'])} | {fmt(b['p99'])} | {ratio(a['p99'], b['p99'])} |")
                a, b = rs["handler_ms_median"][label], py["handler_ms_median"][label]
                lines.append(f"| {name} | warm {label}, time in the function, median ms | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |")
            lines.append(f"| {name} | peak RSS after the cold start, median MiB | {rs['cold_rss_mib_median']} | {py['cold_rss_mib_median']} | {ratio(rs['cold_rss_mib_median'], py['cold_rss_mib_median'])} |")
            lines.append(f"| {name} | peak RSS after the warm run, MiB | {rs['peak_rss_mib']} | {py['peak_rss_mib']} | {ratio(rs['peak_rss_mib'], py['peak_rss_mib'])} |")
        lines.append("")
    calls = results.get("calls")
    if calls:
        lines += ["| function | invocation | Rust calls | Python calls |", "|---|---|---|---|"]
        for name, data in calls.items():
            for round_name in data["rust"]:
                rs, py = data["rust"][round_name], data["python"][round_name]
                describe = lambda c: f"{sum(c.values())}: " + ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in c.items())  # noqa: E731
                lines.append(f"| {name} | {round_name} | {describe(rs)} | {describe(py)} |")
        lines.append("")
    empty = results.get("empty")
    if empty:
        rs, py = empty["rust"], empty["python"]
        lines += ["| bucket emptying | Rust (installer::empty_bucket) | Python (object_versions.delete()) | Python / Rust |", "|---|---|---|---|",
                  f"| entries per bucket | {rs['entries'][0]} | {py['entries'][0]} | |",
                  f"| Delete with the full bucket, median ms | {fmt(statistics.median(rs['delete_ms']))} | {fmt(statistics.median(py['delete_ms']))} | {ratio(statistics.median(rs['delete_ms']), statistics.median(py['delete_ms']))} |",
                  f"| the same Delete, bucket already empty, median ms | {fmt(statistics.median(rs['baseline_ms']))} | {fmt(statistics.median(py['baseline_ms']))} | |",
                  f"| emptying (difference), median ms | {fmt(rs['emptying_ms_median'])} | {fmt(py['emptying_ms_median'])} | {ratio(rs['emptying_ms_median'], py['emptying_ms_median'])} |",
                  f"| rounds | {len(rs['delete_ms'])} | {len(py['delete_ms'])} | |", ""]
    load = results.get("load")
    if load:
        lines += ["| webhook under load | deliveries | HTTP p50 ms | HTTP p99 ms | requests/s | in the function p50 ms | in the function p99 ms | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|"]
        for lang, kinds in load.items():
            for kind, m in kinds.items():
                lines.append(f"| {lang} | {kind} | {fmt(m['percentiles_ms'].get(50, float('nan')))} | {fmt(m['percentiles_ms'].get(99, float('nan')))} | {m.get('requests_per_s', 0):.0f} | {fmt(m['function_ms']['p50'])} | {fmt(m['function_ms']['p99'])} | {m['peak_rss_mib']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--rust-dir", required=True, help="directory with <function>/bootstrap")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--hey", default="hey")
    parser.add_argument("--only", nargs="*", default=["functions", "calls", "empty", "load"])
    parser.add_argument("--functions", nargs="*", default=["webhook", "installer", "tagger"])
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--installer-warm", type=int, default=20)
    parser.add_argument("--empty-entries", type=int, default=10_000)
    parser.add_argument("--empty-versions", type=int, default=4)
    parser.add_argument("--empty-rounds", type=int, default=3)
    parser.add_argument("--load-requests", type=int, default=2000)
    parser.add_argument("--load-concurrency", type=int, default=4)
    parser.add_argument("--load-seconds", type=int, default=120)
    args = parser.parse_args()
    args.job_results = os.environ["SANDBOX_JOB_RESULTS"]
    args.python, args.rust_dir = os.path.abspath(args.python), os.path.abspath(args.rust_dir)
    os.makedirs(args.out, exist_ok=True)
    logs = os.path.join(args.out, "logs")
    os.makedirs(logs, exist_ok=True)

    results = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "load_before": load_average(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("job_results",)},
    }
    results["binaries"] = {}
    for function in args.functions:
        path = os.path.join(args.rust_dir, function, "bootstrap")
        with open(path, "rb") as f:
            results["binaries"][function] = {"bytes": os.path.getsize(path), "sha256": hashlib.sha256(f.read()).hexdigest()}
    results["sections"] = {}
    cloud = Cloud()
    fixtures = cloud.prepare()
    functions = Functions(args, fixtures, logs)
    response_url = ResponseUrl()
    sections = {
        "functions": lambda: run_functions(args, functions, fixtures, response_url),
        "calls": lambda: run_calls(args, functions, fixtures, response_url),
        "empty": lambda: run_empty(args, functions, cloud, fixtures, response_url),
        "load": lambda: run_load(args, functions, args.out),
    }
    try:
        for name, section in sections.items():
            if name not in args.only:
                continue
            before, started = load_average(), time.perf_counter()
            results[name] = section()
            results["sections"][name] = {"seconds": round(time.perf_counter() - started),
                                         "load_before": before, "load_after": load_average()}
    finally:
        response_url.close()
    results["load_after"] = load_average()
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    text = report(results)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
