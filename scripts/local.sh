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
  SANDBOX_IAM=enforce scripts/sandbox.sh run "$0" --inside-sandbox || status=$?
  if ((status == 0)); then
    echo "local: PASSED - deployed; a signed push went webhook -> rule -> starter -> exactly its commit started once -> promoted; notifications received; rolled back, held, released; updated; deleted, nothing left; every call the functions made allowed by their roles ($((SECONDS - started)) s)"
  else
    echo "local: FAILED (see the FAIL line above)" >&2
  fi
  exit "$status"
fi

# Inside the sandbox: the client environment is exported.
stack=pipeline-sandbox
suffix=sandbox
e2e() { "$CARGO_TARGET_DIR/debug/e2e" "$@"; }
# The IAM check of the functions' recorded calls (docs/iam.md, "Checked in the local cloud").
iam_calls() { ministack-python tests/iam/check_recorded_calls.py "$@"; }
roles="$SANDBOX_STATE_DIR/roles.json"
# The sandbox parameters of samconfig.toml, with the branch changed: the update step.
updated_parameters=(EnvironmentSuffix=$suffix GitHubOwner=octo-org GitHubRepo=hello-app
  GitHubBranch=release ScanGate=OFF
  ConnectionArn=arn:aws:codeconnections:ap-southeast-1:000000000000:connection/0b5c9a4e-1d2f-4c3b-8a7e-5f6d7c8b9a01)

step "the IAM check catches what it must" iam_calls self-test
step "build the scenario runner" cargo build --quiet --locked -p e2e
step "sam build" sam build
step "prepare the local cloud" e2e prepare
step "sam deploy" sam deploy --config-env sandbox --no-progressbar
step "stack outputs" sam list stack-outputs --stack-name "$stack" --output table
step "the roles' policies, for the IAM check" iam_calls snapshot --suffix "$suffix" --out "$roles"
step "scenario" e2e scenario --stack "$stack"
step "sam deploy (update: GitHubBranch=release)" \
  sam deploy --config-env sandbox --no-progressbar --parameter-overrides "${updated_parameters[@]}"
step "installer reconciled the update" e2e check-updated --stack "$stack" --branch release
step "sam delete" sam delete --config-env sandbox --no-prompts
step "nothing left" e2e check-deleted --suffix "$suffix"
step "every call the functions made, against their roles" iam_calls check --suffix "$suffix" \
  --roles "$roles" --decisions "$SANDBOX_IAM_DECISIONS" --sessions "$SANDBOX_IAM_SESSIONS" \
  --calls "$SANDBOX_CODEPIPELINE_CALLS"
