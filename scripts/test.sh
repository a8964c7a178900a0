#!/usr/bin/env bash
# The test command (`make test`): every check, in order; stops at the first failure
# and names it. CI runs exactly this.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"
started=$SECONDS
trap 'echo "test: FAILED at step: $current_step" >&2' ERR

step "setup" scripts/setup.sh
step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy" cargo clippy --locked --workspace --all-targets -- -D warnings
step "cargo test" cargo test --locked --workspace
step "cfn-lint" cfn-lint template.yaml
step "sam validate --lint" sam validate --lint --region ap-southeast-1
step "checkov" checkov -f template.yaml --config-file .checkov.yaml
step "IAM grants against AWS's authorization data" scripts/check-iam.sh
step "end to end (make local)" make local
step "the panic guards in a binary built as sam build builds it" scripts/panic-probe.sh
step "the README's commands, as written" scripts/readme.sh

trap - ERR
echo "test: PASSED - $steps_done steps in $((SECONDS - started)) s"
