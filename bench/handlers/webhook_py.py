"""Reference webhook in Python/boto3: the same calls and checks as the Rust
webhook (functions/webhook), written the way a Python Lambda usually is.

Function URL request -> X-Hub-Signature-256 checked over the raw body with
hmac.compare_digest (secret from Secrets Manager, read once and cached) ->
ping answered, other events not in ALLOWED_EVENTS acknowledged -> payload
plus delivery_id put on the bus with EventBridge PutEvents.
"""

import base64
import hashlib
import hmac
import json
import os
import urllib.parse

import boto3
from botocore.config import Config

_TIMEOUTS = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "max_attempts": 3})
_secrets = boto3.client("secretsmanager", config=_TIMEOUTS)
_events = boto3.client("events", config=_TIMEOUTS)
_BUS = os.environ["EVENT_BUS_NAME"]
_SECRET_ID = os.environ["WEBHOOK_SECRET_ARN"]
_ALLOWED = {n.strip() for n in os.environ.get("ALLOWED_EVENTS", "push").split(",") if n.strip()}
_MAX_BODY = 6 * 1024 * 1024
_MAX_ENTRY = 256 * 1024
_secret = None


def _answer(status, message, **extra):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": json.dumps({"message": message, **extra}),
        "isBase64Encoded": False,
    }


def _secret_bytes():
    global _secret
    if _secret is None:
        value = _secrets.get_secret_value(SecretId=_SECRET_ID)
        _secret = value["SecretString"].encode() if "SecretString" in value else value["SecretBinary"]
    return _secret


def _trimmed(payload, delivery_id):
    out = {k: payload[k] for k in ("ref", "before", "after", "pusher") if k in payload}
    repo = payload.get("repository")
    if isinstance(repo, dict):
        kept = {k: repo[k] for k in ("full_name", "name", "html_url") if k in repo}
        if isinstance(repo.get("owner"), dict):
            kept["owner"] = {k: repo["owner"][k] for k in ("login", "name") if k in repo["owner"]}
        out["repository"] = kept
    commit = payload.get("head_commit")
    if isinstance(commit, dict):
        kept = {k: commit[k] for k in ("id", "timestamp", "url", "author") if k in commit}
        if isinstance(commit.get("message"), str):
            kept["message"] = commit["message"].encode()[:1024].decode(errors="ignore")
        out["head_commit"] = kept
    out["delivery_id"] = delivery_id
    out["trimmed"] = True
    return out


def handler(event, context):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if event.get("requestContext", {}).get("http", {}).get("method", "").upper() != "POST":
        return _answer(405, "method not allowed")
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except ValueError:
        return _answer(400, "invalid body")
    if len(raw) > _MAX_BODY:
        return _answer(413, "body too large")

    signature = headers.get("x-hub-signature-256", "")
    if not signature.startswith("sha256="):
        return _answer(401, "invalid signature")
    expected = "sha256=" + hmac.new(_secret_bytes(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        print(json.dumps({"level": "INFO", "message": "refused", "status": 401, "error": "signature mismatch"}))
        return _answer(401, "invalid signature")

    name = headers.get("x-github-event")
    if not name:
        return _answer(400, "missing event name")
    if name == "ping":
        return _answer(200, "pong")
    if name not in _ALLOWED:
        return _answer(202, "event type not forwarded")
    delivery_id = headers.get("x-github-delivery", "")
    if not delivery_id or len(delivery_id) > 128:
        return _answer(400, "invalid delivery id")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            payload = json.loads(raw)
        elif content_type == "application/x-www-form-urlencoded":
            payload = json.loads(urllib.parse.parse_qs(raw.decode())["payload"][0])
        else:
            return _answer(415, "unsupported media type")
    except (ValueError, KeyError):
        return _answer(400, "malformed payload")
    if not isinstance(payload, dict):
        return _answer(400, "payload is not an object")

    payload["delivery_id"] = delivery_id
    detail = json.dumps(payload, separators=(",", ":"))
    trimmed = False
    if len("github.com") + len(name) + len(detail) + len(_BUS) >= _MAX_ENTRY:
        detail = json.dumps(_trimmed(payload, delivery_id), separators=(",", ":"))
        trimmed = True
    result = _events.put_events(
        Entries=[{"Source": "github.com", "DetailType": name, "Detail": detail, "EventBusName": _BUS}]
    )
    entry = (result.get("Entries") or [{}])[0]
    if not entry.get("EventId"):
        print(json.dumps({"level": "ERROR", "message": "entry rejected", "code": entry.get("ErrorCode")}))
        return _answer(502, "could not forward the event")
    print(json.dumps({"level": "INFO", "message": "forwarded", "delivery_id": delivery_id}))
    return _answer(200, "forwarded", trimmed=trimmed)
