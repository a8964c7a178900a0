#!/usr/bin/env bash
# The main command (`make local`): deploys the real template.yaml into the local
# cloud, runs the end-to-end scenario against it, deletes the stack and checks that
# nothing is left. Ends with one summary line; a failure names its step.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"

if [[ "${1:-}" != --inside-sandbox ]]; then
  step "setup" scripts/setup.sh
  started=$SECONDS
  status=0
  scripts/sandbox.sh run "$0" --inside-sandbox || status=$?
  if ((status == 0)); then
    echo "local: PASSED - deployed, exercised and deleted the stack in the local cloud ($((SECONDS - started)) s)"
  else
    echo "local: FAILED (see the FAIL line above)" >&2
  fi
  exit "$status"
fi

# Inside the sandbox: the client environment is exported.
stack=pipeline-sandbox
e2e() { cargo run --quiet --locked -p e2e -- "$@"; }

step "build the e2e runner" cargo build --quiet --locked -p e2e
step "sam build" sam build
step "prepare the local cloud" e2e prepare
step "sam deploy" sam deploy --config-env sandbox --no-progressbar
step "stack outputs" sam list stack-outputs --stack-name "$stack" --output table
step "scenario" e2e scenario --stack "$stack"
step "sam delete" sam delete --config-env sandbox --no-prompts
step "nothing left" e2e check-deleted --stack "$stack"
