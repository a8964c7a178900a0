#!/usr/bin/env bash
# The acceptance run on a real AWS account (`make aws-acceptance`), opt in:
# deploys a stack with a random suffix, adds its webhook to a test repository,
# pushes an empty commit, waits for that commit's one pipeline execution, checks
# that `production` is the digest its Build stage exported and that the Deploy
# job's result names the commit, reports the push-to-production time with each
# stage's duration, then deletes the stack and checks that nothing is left. The
# webhook, the stack and the run's deployment bucket are removed on every exit
# path, a failure or Ctrl-C included. See README.md, "Acceptance run on AWS".
#
#   scripts/aws-acceptance.sh           against AWS; refuses (exit 2) without what it
#                                       needs, and says what that is
#   scripts/aws-acceptance.sh --local   the same run against the local cloud, with a
#                                       stand-in for GitHub (make test): first a run
#                                       made to fail after its push, which must still
#                                       leave nothing behind, then a whole run
#
# ACCEPTANCE_FAIL_AFTER=STEP (deploy, hook, push, wait) ends a run with a failure
# after that step, to see its clean-up work.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"

region=ap-southeast-1
export AWS_REGION=$region AWS_DEFAULT_REGION=$region
e2e() { "$CARGO_TARGET_DIR/debug/e2e" "$@"; }
say() { echo "aws-acceptance: $*"; }

# What a run on AWS needs; each missing item is named with what it is for.
refuse_without_needs() {
  local needs=()
  if [[ -z "${AWS_PROFILE:-}" && ( -z "${AWS_ACCESS_KEY_ID:-}" || -z "${AWS_SECRET_ACCESS_KEY:-}" ) ]]; then
    needs+=("AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the account to deploy into, named explicitly (a default profile is never picked up by chance)")
  fi
  if [[ -n "$(compgen -e | grep '^AWS_ENDPOINT_URL' || true)" ]]; then
    needs+=("no AWS_ENDPOINT_URL*: this run is for AWS itself (make local runs the local cloud)")
  fi
  [[ "${ACCEPTANCE_REPO:-}" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] ||
    needs+=("ACCEPTANCE_REPO=OWNER/NAME: a test repository with a Dockerfile at its root; the run pushes one empty commit to it")
  [[ -n "${ACCEPTANCE_BRANCH:-}" ]] ||
    needs+=("ACCEPTANCE_BRANCH: the branch of that repository the run pushes to")
  [[ "${ACCEPTANCE_CONNECTION_ARN:-}" =~ ^arn:aws[a-z-]*:(codeconnections|codestar-connections):ap-southeast-1:[0-9]{12}:connection/ ]] ||
    needs+=("ACCEPTANCE_CONNECTION_ARN: a GitHub connection in ap-southeast-1, already approved (AVAILABLE), that can read the repository")
  [[ -n "${GITHUB_TOKEN:-}" ]] ||
    needs+=("GITHUB_TOKEN: a token with Contents (write) and Webhooks (write) on that repository")
  [[ "${ACCEPTANCE_TIMEOUT_MINUTES:-30}" =~ ^[1-9][0-9]*$ ]] ||
    needs+=("ACCEPTANCE_TIMEOUT_MINUTES, if set, a whole number of minutes (not '${ACCEPTANCE_TIMEOUT_MINUTES}')")
  [[ "${ACCEPTANCE_SCAN_GATE:-CRITICAL}" =~ ^(CRITICAL|HIGH|MEDIUM|LOW|OFF)$ ]] ||
    needs+=("ACCEPTANCE_SCAN_GATE, if set, one of CRITICAL HIGH MEDIUM LOW OFF (the template's ScanGate), not '${ACCEPTANCE_SCAN_GATE}'")
  if ((${#needs[@]} > 0)); then
    say "refused: it deploys a stack into a real AWS account (about US\$0.05 a run, README.md) and needs:" >&2
    printf '  - %s\n' "${needs[@]}" >&2
    exit 2
  fi
}

# run aws|local: one whole run. The clean-up trap is set before anything is made.
# Its names are globals: the EXIT trap reads them after run has returned.
run() {
  target=$1
  suffix=${ACCEPTANCE_SUFFIX:-acc$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}
  stack="pipeline-acceptance-$suffix" state="$root/.acceptance/$suffix"
  repo=$ACCEPTANCE_REPO branch=$ACCEPTANCE_BRANCH
  every=15 history=() extra=()
  mkdir -p "$state"
  if [[ $target == aws ]]; then
    account=$(aws sts get-caller-identity --query Account --output text)
    say "account $account ($(aws sts get-caller-identity --query Arn --output text)), stack $stack"
  else
    account=000000000000 every=1 history=(--history "$state/actions.json")
    # MiniStack has no image scan findings (samconfig.toml's sandbox has the same).
    extra=(ScanGate=OFF)
  fi
  if [[ $target == aws && -n "${ACCEPTANCE_SCAN_GATE:-}" ]]; then
    extra=("ScanGate=$ACCEPTANCE_SCAN_GATE")
  fi
  bucket="acceptance-deploy-$suffix-$account"

  cleanup() {
    local status=$? left=()
    # A second Ctrl-C does not cut the deletion short (the commands below inherit
    # the ignored signal); TERM still ends it.
    trap - EXIT TERM
    trap '' INT
    set +e
    [[ -z "${child:-}" ]] || kill "$child" 2>/dev/null
    echo "---- clean-up"
    e2e acceptance unhook --repo "$repo" --state "$state" || left+=("the webhook in $state/hook.json")
    if aws cloudformation describe-stacks --stack-name "$stack" >/dev/null 2>&1; then
      sam delete --stack-name "$stack" --region "$region" --no-prompts || left+=("stack $stack")
    fi
    e2e check-deleted --suffix "$suffix" || left+=("what check-deleted named above")
    e2e acceptance bucket delete --name "$bucket" || left+=("bucket $bucket")
    if ((${#left[@]} > 0)); then
      say "CLEAN-UP INCOMPLETE, delete by hand: ${left[*]}" >&2
      ((status != 0)) || status=1
    elif ((status == 0)); then
      say "PASSED - $(head -n 3 "$state/report.md" | tail -n 1)"
      say "report: .acceptance/$suffix/report.md; stack, webhook and bucket deleted, nothing left"
    else
      say "FAILED at step: $current_step; stack, webhook and bucket deleted, nothing left" >&2
    fi
    exit "$status"
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # The long wait runs in the background so that a signal is acted on at once
  # (bash runs a trap only once the foreground command has ended).
  interruptible() {
    "$@" &
    child=$!
    wait "$child"
  }
  failing_after() {
    if [[ "${ACCEPTANCE_FAIL_AFTER:-}" == "$1" ]]; then
      current_step="ACCEPTANCE_FAIL_AFTER=$1"
      echo "FAIL ACCEPTANCE_FAIL_AFTER=$1: ending the run here" >&2
      return 1
    fi
  }

  step "deployment bucket $bucket" e2e acceptance bucket create --name "$bucket"
  step "sam deploy (stack $stack)" sam deploy --config-env acceptance --stack-name "$stack" \
    --s3-bucket "$bucket" --s3-prefix "$stack" --no-progressbar --parameter-overrides \
    "EnvironmentSuffix=$suffix" "GitHubOwner=${repo%%/*}" "GitHubRepo=${repo#*/}" \
    "GitHubBranch=$branch" "ConnectionArn=$ACCEPTANCE_CONNECTION_ARN" "${extra[@]}"
  failing_after deploy
  step "the stack's webhook on $repo" e2e acceptance hook --stack "$stack" --repo "$repo" --state "$state"
  failing_after hook
  step "an empty commit pushed to $repo@$branch" e2e acceptance push --repo "$repo" --branch "$branch" --state "$state"
  if [[ $target == local ]]; then
    step "the stand-in delivered the push to the webhook" stand_in_delivered "$state/push.json"
  fi
  failing_after push
  step "that commit's one execution, succeeded" interruptible e2e acceptance wait --stack "$stack" --state "$state" \
    --timeout-seconds "$((${ACCEPTANCE_TIMEOUT_MINUTES:-30} * 60))" --every-seconds "$every"
  failing_after wait
  if [[ $target == local ]]; then
    step "the stages played (the local cloud runs none)" e2e acceptance play-stages --stack "$stack" --state "$state"
  fi
  step "production is the image the Build stage exported" e2e acceptance check --stack "$stack" \
    --state "$state" "${history[@]}"
}

# stand_in_delivered PUSH_FILE: waits for the stand-in's deliveries in flight to end;
# the pushed commit's delivery (and every other) was answered 200.
stand_in_delivered() {
  ministack-python - "$GITHUB_API_URL" "$1" <<'PY'
import json, sys, time, urllib.request
commit = json.load(open(sys.argv[2]))["commit"]
deadline = time.time() + 60
while True:
    state = json.load(urllib.request.urlopen(sys.argv[1] + "/_stand-in/state", timeout=10))
    if state["in_flight"] == 0 or time.time() > deadline:
        break
    time.sleep(0.2)
assert state["in_flight"] == 0, f"deliveries still in flight after 60 s: {state}"
pushes = [d for d in state["deliveries"] if d["event"] == "push" and d["after"] == commit]
assert len(pushes) == 1, f"push deliveries of {commit}: {pushes}"
failed = [d for d in state["deliveries"] if d["status"] != 200]
assert not failed, f"deliveries not answered 200: {failed}"
print(f"ok   push {pushes[0]['delivery']} of {commit} answered 200 by the webhook")
PY
}

# Inside the local cloud: the GitHub stand-in, a run made to fail, a whole run.
inside_sandbox() {
  local port_file="$SANDBOX_STATE_DIR/github.port" suffix
  ministack-python tests/acceptance/github_stand_in.py --repo octo-org/hello-app --branch main \
    --token local-token --port-file "$port_file" --max-seconds 1800 &
  # Global: the EXIT trap reads it after this function has returned.
  stand_in=$!
  trap 'kill "$stand_in" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [[ -s "$port_file" ]] && break; sleep 0.1; done
  [[ -s "$port_file" ]] || { echo "FAIL the GitHub stand-in did not start" >&2; return 1; }
  export GITHUB_API_URL="http://127.0.0.1:$(cat "$port_file")" GITHUB_TOKEN=local-token
  export ACCEPTANCE_REPO=octo-org/hello-app ACCEPTANCE_BRANCH=main
  ACCEPTANCE_CONNECTION_ARN=$(sed -n 's/.*ConnectionArn=\\"\([^\\]*\)\\".*/\1/p' samconfig.toml)
  export ACCEPTANCE_CONNECTION_ARN

  suffix=accfail$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
  local status=0
  ACCEPTANCE_SUFFIX=$suffix ACCEPTANCE_FAIL_AFTER=push "$0" --run local || status=$?
  ((status != 130 && status != 143)) || exit "$status"
  if ((status == 0)); then
    echo "FAIL a run made to fail after its push exited 0" >&2
    return 1
  fi
  # What the failed run made is gone: the stack, what it held, the bucket, the webhook.
  if aws cloudformation describe-stacks --stack-name "pipeline-acceptance-$suffix" >/dev/null 2>&1; then
    echo "FAIL the failed run left its stack" >&2
    return 1
  fi
  e2e check-deleted --suffix "$suffix"
  if aws s3api head-bucket --bucket "acceptance-deploy-$suffix-000000000000" >/dev/null 2>&1; then
    echo "FAIL the failed run left its deployment bucket" >&2
    return 1
  fi
  ministack-python - "$GITHUB_API_URL" <<'PY'
import json, sys, urllib.request
state = json.load(urllib.request.urlopen(sys.argv[1] + "/_stand-in/state", timeout=10))
assert not state["hooks"], f"the failed run left webhooks: {state['hooks']}"
print("ok   the failed run left no webhook on the repository")
PY
  "$0" --run local
}

case "${1:-}" in
  --run) run "$2" ;;
  --inside-sandbox) inside_sandbox ;;
  --local)
    step "setup" scripts/setup.sh
    step "build the run's steps" cargo build --quiet --locked -p e2e
    step "sam build" sam build
    step "the acceptance run in the local cloud" scripts/sandbox.sh run "$0" --inside-sandbox
    say "local: PASSED - a run failed on purpose left nothing; a whole run pushed, waited, played, checked and cleaned up"
    ;;
  "")
    refuse_without_needs
    step "setup" scripts/setup.sh
    step "build the run's steps" cargo build --quiet --locked -p e2e
    step "sam build" sam build
    exec "$0" --run aws
    ;;
  *) echo "usage: scripts/aws-acceptance.sh [--local]" >&2; exit 2 ;;
esac
