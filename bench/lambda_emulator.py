"""A minimal Lambda execution environment for the benchmarks.

One `Environment` is one Lambda execution environment: a process (our Rust
`bootstrap`, or Python's `awslambdaric` with a handler) that talks to the
documented Lambda Runtime API (2018-06-01: `invocation/next`, `/response`,
`/error`, `init/error`), served here on 127.0.0.1. Both languages see the same
emulator, so what differs between them is the function, not the harness.

What it records: the process start, the first `invocation/next` poll (the end
of the init phase), the time from handing an event to the runtime until its
answer, and the process's peak resident memory (`VmHWM` in /proc).

`FunctionUrl` puts an HTTP listener in front of an environment that turns each
request into a function URL event (payload version 2.0, base64 body) and the
answer back into an HTTP response, for load tests of the webhook.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import queue
import signal
import socketserver
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field

API_PREFIX = "/2018-06-01/runtime"


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class _Pending:
    request_id: str
    event: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    status: str = ""
    body: bytes = b""
    delivered_at: float = 0.0
    answered_at: float = 0.0


class RuntimeApi:
    """The Runtime API of one execution environment."""

    def __init__(self) -> None:
        self._events: queue.Queue[_Pending] = queue.Queue()
        self._inflight: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self.first_poll_at: float | None = None
        self.init_error: bytes | None = None
        self.init_settled = threading.Event()
        # Seconds each answered invocation spent in the function (from the
        # event leaving `next` to its answer); the load test reads these.
        self.handler_seconds: list[float] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(code)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    return self.rfile.read(length)
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                return b""

            def do_GET(self) -> None:
                if self.path != f"{API_PREFIX}/invocation/next":
                    self._answer(404)
                    return
                with api._lock:
                    if api.first_poll_at is None:
                        api.first_poll_at = time.perf_counter()
                        api.init_settled.set()
                pending = api._events.get()
                pending.delivered_at = time.perf_counter()
                with api._lock:
                    api._inflight[pending.request_id] = pending
                self._answer(
                    200,
                    pending.event,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(pending.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:ap-southeast-1:000000000000:function:bench",
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    },
                )

            def do_POST(self) -> None:
                body = self._body()
                if self.path == f"{API_PREFIX}/init/error":
                    api.init_error = body
                    api.init_settled.set()
                    self._answer(202)
                    return
                parts = self.path[len(API_PREFIX):].strip("/").split("/")
                if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
                    self._answer(404)
                    return
                with api._lock:
                    pending = api._inflight.pop(parts[1], None)
                if pending is None:
                    self._answer(400, b'{"errorType":"InvalidRequestID"}')
                    return
                pending.answered_at = time.perf_counter()
                api.handler_seconds.append(pending.answered_at - pending.delivered_at)
                pending.status = parts[2]
                pending.body = body
                self._answer(202)
                pending.done.set()

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def invoke(self, event: object, timeout: float) -> "Invocation":
        """Queues one event and waits for its answer (at most `timeout` s)."""
        started = time.perf_counter()
        pending = _Pending(
            request_id=str(uuid.uuid4()),
            event=json.dumps(event).encode(),
            deadline_ms=int((time.time() + timeout) * 1000),
        )
        self._events.put(pending)
        if not pending.done.wait(timeout):
            raise TimeoutError(f"no answer within {timeout} s")
        finished = time.perf_counter()
        return Invocation(
            ok=pending.status == "response",
            payload=json.loads(pending.body) if pending.body else None,
            started=started,
            finished=finished,
            handler_seconds=pending.answered_at - pending.delivered_at,
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Invocation:
    ok: bool
    payload: object
    started: float
    finished: float
    # From the event leaving /next to the answer arriving: the function's time.
    handler_seconds: float

    @property
    def seconds(self) -> float:
        return self.finished - self.started


class Environment:
    """One execution environment: a runtime process and its Runtime API."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: str, log_path: str):
        self.name = name
        self.api = RuntimeApi()
        full_env = {
            **env,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "LAMBDA_TASK_ROOT": cwd,
        }
        self._log = open(log_path, "ab")
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Seconds from the process start to its first `next` poll."""
        if not self.api.init_settled.wait(timeout):
            raise TimeoutError(f"{self.name}: no Runtime API poll within {timeout} s")
        if self.api.init_error is not None:
            raise RuntimeError(f"{self.name}: init error {self.api.init_error[:300]!r}")
        assert self.api.first_poll_at is not None
        return self.api.first_poll_at - self.spawned_at

    def invoke(self, event: object, timeout: float = 120.0) -> Invocation:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name}: the runtime exited ({self.process.returncode})")
        return self.api.invoke(event, timeout)

    def peak_rss_kib(self) -> int:
        """VmHWM: the most resident memory the process has had."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.api.close()
        self._log.close()


class FunctionUrl:
    """An HTTP listener on 127.0.0.1 that invokes `environment` per request,
    as a Lambda function URL does (payload format 2.0, body base64)."""

    def __init__(self, environment: Environment, timeout: float = 30.0):
        env = environment

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()
                    headers[key] = f"{headers[key]},{value}" if key in headers else value
                now = time.time()
                event = {
                    "version": "2.0",
                    "routeKey": "$default",
                    "rawPath": path,
                    "rawQueryString": query,
                    "headers": headers,
                    "requestContext": {
                        "accountId": "anonymous",
                        "apiId": "bench",
                        "domainName": "bench.lambda-url.ap-southeast-1.on.aws",
                        "domainPrefix": "bench",
                        "http": {
                            "method": self.command,
                            "path": path,
                            "protocol": "HTTP/1.1",
                            "sourceIp": self.client_address[0],
                            "userAgent": headers.get("user-agent", ""),
                        },
                        "requestId": str(uuid.uuid4()),
                        "routeKey": "$default",
                        "stage": "$default",
                        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                        "timeEpoch": int(now * 1000),
                    },
                    "body": base64.b64encode(body).decode(),
                    "isBase64Encoded": True,
                }
                try:
                    result = env.invoke(event, timeout)
                except Exception as error:  # the load test counts these as failures
                    self._reply(502, {}, f"invoke failed: {error}".encode())
                    return
                answer = result.payload if isinstance(result.payload, dict) else {}
                if not result.ok or "statusCode" not in answer:
                    self._reply(502, {}, b"function error")
                    return
                out = answer.get("body") or ""
                data = base64.b64decode(out) if answer.get("isBase64Encoded") else out.encode()
                self._reply(int(answer["statusCode"]), answer.get("headers") or {}, data)

            def _reply(self, status: int, headers: dict, body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = _handle
            do_GET = _handle

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def environment_variables(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a Lambda process gets here: the sandbox's client
    environment (endpoints, dummy credentials, region), PATH, and `extra`."""
    keep = (
        "PATH", "HOME", "LANG", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CODEPIPELINE",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
    )
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    env["AWS_LAMBDA_LOG_LEVEL"] = "INFO"
    env.update(extra or {})
    return env
