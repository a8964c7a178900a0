"""A hand-written STAND-IN for the few GitHub REST calls the acceptance run makes,
so that its GitHub steps run in `make test` against the local cloud. It is not
GitHub and models only what the run uses, as GitHub documents it:

- webhooks: POST /repos/{owner}/{repo}/hooks (201; a `ping` is delivered at once),
  GET /repos/{owner}/{repo}/hooks (the list), GET and DELETE
  /repos/{owner}/{repo}/hooks/{id} (200 / 204, 404 when absent)
  (https://docs.github.com/en/rest/webhooks/repos);
- GET /repos/{owner}/{repo}/git/ref/heads/{branch}, PATCH
  /repos/{owner}/{repo}/git/refs/heads/{branch} (422 unless a fast-forward or
  `force`) (https://docs.github.com/en/rest/git/refs);
- GET /repos/{owner}/{repo}/git/commits/{sha}, POST /repos/{owner}/{repo}/git/commits
  (https://docs.github.com/en/rest/git/commits).

A moved branch is delivered to every active hook subscribed to `push`, as GitHub
delivers it: a JSON push payload, `X-GitHub-Event`, `X-GitHub-Delivery` and
`X-Hub-Signature-256` (HMAC-SHA256 of the body with the hook's secret)
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
Every call needs `Authorization: Bearer <--token>`. `GET /_stand-in/state` answers
the hooks, the deliveries made with their HTTP status and the number still in
flight, for the checks.

It listens on 127.0.0.1 only, writes its port to --port-file when ready, and exits
after --max-seconds whatever happens.
"""

import argparse
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_state = {"hooks": {}, "deliveries": [], "in_flight": 0, "commits": {}, "branches": {}, "next_hook": 1}
_args = None


def _sha(text):
    return hashlib.sha1(text.encode()).hexdigest()


def _deliver(hook_id, hook, event, payload):
    body = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    signature = "sha256=" + hmac.new(str(hook["secret"]).encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        hook["url"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/stand-in",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Hook-ID": str(hook_id),
            "X-Hub-Signature-256": signature,
        },
    )
    status = "not sent"
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        status = f"unreachable: {error}"
    finally:
        with _lock:
            _state["deliveries"].append(
                {"hook": hook_id, "event": event, "delivery": delivery, "status": status,
                 "after": payload.get("after")}
            )
            _state["in_flight"] -= 1


def _start_delivery(hook_id, hook, event, payload):
    """Delivers in the background, as GitHub does; the caller holds _lock."""
    _state["in_flight"] += 1
    threading.Thread(target=_deliver, args=(hook_id, hook, event, payload), daemon=True).start()


def _push_payload(before, after):
    owner, name = _args.repo.split("/", 1)
    commit = _state["commits"][after]
    return {
        "ref": f"refs/heads/{_args.branch}",
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {
            "id": 1296269,
            "name": name,
            "full_name": _args.repo,
            "private": True,
            "owner": {"login": owner, "name": owner},
            "html_url": f"https://github.com/{_args.repo}",
            "default_branch": _args.branch,
            # Seconds, as in GitHub's push payloads (the starter orders pushes by it).
            "pushed_at": int(time.time()),
        },
        "pusher": {"name": "acceptance", "email": "acceptance@users.noreply.github.com"},
        "head_commit": {
            "id": after,
            "tree_id": commit["tree"],
            "message": commit["message"],
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "url": f"https://github.com/{_args.repo}/commit/{after}",
            "author": {"name": "acceptance", "email": "acceptance@users.noreply.github.com"},
        },
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def _answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self, method):
        if self.path == "/_stand-in/state" and method == "GET":
            with _lock:
                return self._answer(200, {"hooks": _state["hooks"], "deliveries": _state["deliveries"],
                                          "in_flight": _state["in_flight"]})
        if self.headers.get("Authorization") != f"Bearer {_args.token}":
            return self._answer(401, {"message": "Bad credentials"})
        prefix = f"/repos/{_args.repo}"
        if not self.path.lower().startswith(prefix.lower() + "/"):
            return self._answer(404, {"message": "Not Found"})
        path = self.path[len(prefix):]
        branch_ref = f"/git/ref/heads/{_args.branch}"
        branch_refs = f"/git/refs/heads/{_args.branch}"
        hook = re.fullmatch(r"/hooks/(\d+)", path)
        commit = re.fullmatch(r"/git/commits/([0-9a-f]{40})", path)
        with _lock:
            if method == "POST" and path == "/hooks":
                body = self._body()
                config = body.get("config") or {}
                if not config.get("url") or "push" not in (body.get("events") or []):
                    return self._answer(422, {"message": "Validation Failed"})
                hook_id = _state["next_hook"]
                _state["next_hook"] += 1
                _state["hooks"][str(hook_id)] = {
                    "url": config["url"], "secret": config.get("secret", ""),
                    "events": body["events"], "active": body.get("active", True),
                }
                created = _state["hooks"][str(hook_id)]
                _start_delivery(hook_id, created, "ping", {"zen": "Keep it logically awesome.", "hook_id": hook_id})
                return self._answer(201, {"id": hook_id, "name": "web", "active": created["active"],
                                          "events": created["events"],
                                          "config": {"url": config["url"], "content_type": "json"}})
            if method == "GET" and path.split("?")[0] == "/hooks":
                return self._answer(200, [
                    {"id": int(i), "name": "web", "active": h["active"], "events": h["events"],
                     "config": {"url": h["url"], "content_type": "json"}}
                    for i, h in _state["hooks"].items()
                ])
            if hook and method in ("GET", "DELETE"):
                if hook.group(1) not in _state["hooks"]:
                    return self._answer(404, {"message": "Not Found"})
                if method == "DELETE":
                    del _state["hooks"][hook.group(1)]
                    return self._answer(204)
                return self._answer(200, {"id": int(hook.group(1)), **_state["hooks"][hook.group(1)]})
            if method == "GET" and path == branch_ref:
                return self._answer(200, {"ref": f"refs/heads/{_args.branch}",
                                          "object": {"type": "commit", "sha": _state["branches"][_args.branch]}})
            if method == "GET" and commit:
                found = _state["commits"].get(commit.group(1))
                if found is None:
                    return self._answer(404, {"message": "Not Found"})
                return self._answer(200, {"sha": commit.group(1), "tree": {"sha": found["tree"]},
                                          "parents": [{"sha": p} for p in found["parents"]],
                                          "message": found["message"]})
            if method == "POST" and path == "/git/commits":
                body = self._body()
                if body.get("tree") is None or not isinstance(body.get("parents"), list):
                    return self._answer(422, {"message": "Validation Failed"})
                sha = _sha(json.dumps(body, sort_keys=True) + str(time.time_ns()))
                _state["commits"][sha] = {"tree": body["tree"], "parents": body["parents"],
                                          "message": body.get("message", "")}
                return self._answer(201, {"sha": sha, "tree": {"sha": body["tree"]}})
            if method == "PATCH" and path == branch_refs:
                body = self._body()
                new = body.get("sha")
                old = _state["branches"][_args.branch]
                if new not in _state["commits"]:
                    return self._answer(422, {"message": "Object does not exist"})
                if old not in _state["commits"][new]["parents"] and not body.get("force"):
                    return self._answer(422, {"message": "Update is not a fast forward"})
                _state["branches"][_args.branch] = new
                payload = _push_payload(old, new)
                for hook_id, subscribed in _state["hooks"].items():
                    if subscribed["active"] and "push" in subscribed["events"]:
                        _start_delivery(int(hook_id), subscribed, "push", payload)
                return self._answer(200, {"ref": f"refs/heads/{_args.branch}",
                                          "object": {"type": "commit", "sha": new}})
        return self._answer(404, {"message": "Not Found"})

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PATCH(self):
        self._route("PATCH")

    def do_DELETE(self):
        self._route("DELETE")


def main():
    global _args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--branch", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--max-seconds", type=float, default=1800)
    _args = parser.parse_args()
    root = _sha("initial commit")
    _state["commits"][root] = {"tree": _sha("tree"), "parents": [], "message": "initial commit"}
    _state["branches"][_args.branch] = root
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Timer(_args.max_seconds, server.shutdown).start()
    with open(_args.port_file, "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
