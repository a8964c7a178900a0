"""A counting pass-through proxy for AWS API calls, on 127.0.0.1.

A function pointed at it (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CODEPIPELINE)
reaches the emulator behind it unchanged; the proxy records each call as
(service, operation): the service from the SigV4 credential scope, the
operation from X-Amz-Target (JSON protocols), the Action parameter (query
protocol) or the method and sub-resource (S3's REST protocol). Used only
for the call counts, never while timing.
"""

from __future__ import annotations

import collections
import http.client
import http.server
import re
import socketserver
import threading
import urllib.parse

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _s3_operation(method: str, path: str, query: str) -> str:
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    key = path.strip("/").partition("/")[2]
    if "versions" in params:
        return "ListObjectVersions"
    if "delete" in params and method == "POST":
        return "DeleteObjects"
    if "list-type" in params:
        return "ListObjectsV2"
    if "versioning" in params:
        return "GetBucketVersioning" if method == "GET" else "PutBucketVersioning"
    verbs = {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"}
    if not key:
        verbs = {"GET": "ListObjects", "PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}
    return verbs.get(method, f"{method} {'object' if key else 'bucket'}")


class CountingProxy:
    def __init__(self, upstream: str):
        parsed = urllib.parse.urlsplit(upstream)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.calls: collections.Counter[tuple[str, str]] = collections.Counter()
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

            def log_message(self, *args) -> None:
                pass

            def _body(self) -> bytes:
                length = self.headers.get("Content-Length")
                if length is not None:
                    return self.rfile.read(int(length))
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                return b""

            def _forward(self) -> None:
                body = self._body()
                scope = _SCOPE.search(self.headers.get("Authorization") or "")
                service = scope.group(1) if scope else "unsigned"
                target = self.headers.get("X-Amz-Target")
                path, _, query = self.path.partition("?")
                if target:
                    operation = target.rsplit(".", 1)[-1]
                elif service == "s3":
                    operation = _s3_operation(self.command, path, query)
                else:
                    form = urllib.parse.parse_qs(body.decode(errors="replace")) if body else {}
                    operation = (form.get("Action") or urllib.parse.parse_qs(query).get("Action") or [f"{self.command} {path}"])[0]
                with lock:
                    proxy.calls[(service, operation)] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Content-Length"] = str(len(body))
                connection = http.client.HTTPConnection(host, port, timeout=120)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                    self.send_response(answer.status, answer.reason)
                    for name, value in answer.getheaders():
                        if name.lower() not in _HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def take(self) -> dict[str, int]:
        """The calls counted since the last take, as {"service:Operation": n}."""
        counted = {f"{service}:{operation}": n for (service, operation), n in sorted(self.calls.items())}
        self.calls.clear()
        return counted

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
