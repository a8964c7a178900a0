#!/usr/bin/env bash
# The local cloud: MiniStack (most services, CloudFormation, Lambda) and moto
# (CodePipeline), each on a free port of 127.0.0.1, with dummy credentials.
#
#   scripts/sandbox.sh run COMMAND [ARG ...]
#       start both, run COMMAND with the client environment exported, stop both;
#       exits with COMMAND's status.
#   scripts/sandbox.sh serve
#       start both, print the client environment as NAME=VALUE lines followed by
#       a line READY, then keep them up until standard input closes (the test
#       support crate uses this; its drop closes the pipe).
#
# Either way the emulators are stopped by their process ids on exit, failure,
# Ctrl-C or after SANDBOX_MAX_SECONDS (default 3600). State and logs go to
# .sandbox/<pid>/ and are removed on exit unless SANDBOX_KEEP=1.
#
# With SANDBOX_IAM=enforce, MiniStack evaluates every call against the caller's IAM
# policies (each Lambda function runs with a session of its role) and records its
# decisions and sessions; moto records every CodePipeline call with its access key.
# tests/iam/check_recorded_calls.py reads the records (docs/iam.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
max_seconds=${SANDBOX_MAX_SECONDS:-3600}
region=ap-southeast-1

die() { echo "sandbox: $*" >&2; exit 1; }

mode=${1:-}
case "$mode" in
  run) shift; [[ $# -gt 0 ]] || die "usage: sandbox.sh run COMMAND [ARG ...]" ;;
  serve) shift ;;
  *) die "usage: sandbox.sh run COMMAND [ARG ...] | sandbox.sh serve" ;;
esac
case "${SANDBOX_IAM:-off}" in
  enforce | off) ;;
  *) die "SANDBOX_IAM must be enforce or off, not ${SANDBOX_IAM}" ;;
esac
for tool in ministack moto-python; do
  [[ -x "$bin/$tool" ]] || die "$bin/$tool is missing: run scripts/setup.sh (make setup) first"
done

state="$root/.sandbox/$$"
mkdir -p "$state"
pids=()
stop() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    # Each emulator runs in its own process group (setsid): stop the group.
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if [[ "${SANDBOX_KEEP:-0}" != 1 ]]; then rm -rf "$state"; else echo "sandbox: kept $state" >&2; fi
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$bin/moto-python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # name url log
  local deadline=$((SECONDS + 90))
  until "$bin/moto-python" - "$2" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
PY
  do
    if ((SECONDS > deadline)); then
      tail -n 30 "$3" >&2 || true
      die "$1 did not answer at $2 within 90 s (log above)"
    fi
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { tail -n 30 "$3" >&2 || true; die "$1 exited while starting (log above)"; }
    done
    sleep 0.3
  done
}

moto_port=$(free_port)
ministack_port=$(free_port)
while [[ "$ministack_port" == "$moto_port" ]]; do ministack_port=$(free_port); done
ministack_url="http://127.0.0.1:$ministack_port"
moto_url="http://127.0.0.1:$moto_port"

# moto checks a pipeline's role in MiniStack's IAM, where the roles are.
JOB_RESULTS_FILE="$state/job-results.jsonl" START_REQUESTS_FILE="$state/start-requests.jsonl" \
  CODEPIPELINE_CALLS_FILE="$state/codepipeline-calls.jsonl" MINISTACK_ENDPOINT="$ministack_url" \
  AWS_REGION="$region" setsid "$bin/moto-python" "$root/tests/sandbox/moto_server_with_job_results.py" \
  --host 127.0.0.1 --port "$moto_port" >"$state/moto.log" 2>&1 &
pids+=($!)

# MiniStack hands its own environment to the Lambda processes it starts, so
# they reach MiniStack for every service and moto for CodePipeline.
(
  cd "$state"
  export GATEWAY_PORT="$ministack_port" BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1
  export IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 MINISTACK_REGION="$region"
  export S3_DATA_DIR="$state/s3" TMPDIR="$state"
  export AWS_ENDPOINT_URL="$ministack_url" AWS_ENDPOINT_URL_CODEPIPELINE="$moto_url"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="$region" AWS_DEFAULT_REGION="$region"
  if [[ "${SANDBOX_IAM:-off}" == enforce ]]; then
    export IAM_DECISIONS_FILE="$state/iam-decisions.jsonl" IAM_SESSIONS_FILE="$state/iam-sessions.jsonl"
    exec setsid "$bin/ministack-python" "$root/tests/sandbox/ministack_with_iam_record.py"
  fi
  exec setsid "$bin/ministack"
) >"$state/ministack.log" 2>&1 &
pids+=($!)

wait_for moto "$moto_url/moto-api/" "$state/moto.log"
wait_for MiniStack "$ministack_url/_ministack/health" "$state/ministack.log"

client_env=(
  "AWS_ENDPOINT_URL=$ministack_url"
  "AWS_ENDPOINT_URL_CODEPIPELINE=$moto_url"
  "AWS_ACCESS_KEY_ID=test"
  "AWS_SECRET_ACCESS_KEY=test"
  "AWS_REGION=$region"
  "AWS_DEFAULT_REGION=$region"
  "SANDBOX_STATE_DIR=$state"
  "SANDBOX_JOB_RESULTS=$state/job-results.jsonl"
  "SANDBOX_START_REQUESTS=$state/start-requests.jsonl"
  "SANDBOX_CODEPIPELINE_CALLS=$state/codepipeline-calls.jsonl"
  "SANDBOX_IAM_DECISIONS=$state/iam-decisions.jsonl"
  "SANDBOX_IAM_SESSIONS=$state/iam-sessions.jsonl"
)

if [[ "$mode" == serve ]]; then
  printf '%s\n' "${client_env[@]}"
  echo READY
  # Up until the reader closes standard input, or the time bound.
  while IFS= read -r -t "$max_seconds" _; do :; done || true
  exit 0
fi

for kv in "${client_env[@]}"; do export "${kv?}"; done
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "sandbox: MiniStack at $ministack_url, moto at $moto_url" >&2
status=0
timeout --foreground "$max_seconds" "$@" || status=$?
exit "$status"
