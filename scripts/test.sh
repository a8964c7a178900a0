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
# The serverless rules (cfn-lint-serverless), less six whose advice this template
# declines on purpose:
# - WS1000 (X-Ray tracing): billed per trace; the functions log structured JSON;
# - WS1004 (a log group with retention per function): every function has one
#   (7 days), named in its LoggingConfig; the rule only recognises a group whose
#   name references the function;
# - ES1007 (an OnFailure destination for an asynchronously invoked function): the
#   starter keeps failed events with its DeadLetterConfig, AWS's other documented
#   way, so that Lambda's and EventBridge's dead letters are both the event itself
#   and one replay serves both; the notifier's events are notices (see ES4000);
# - ES6000 (a redrive policy on every queue): the only queue is the dead-letter queue;
# - ES4000 (a dead-letter queue for every rule target) for the pipeline-failure rule
#   and ES7000 (a redrive policy on every SNS subscription) for the email one: they
#   carry notifications. EventBridge retries handing the event to the notifier, Lambda
#   retries a failed notifier twice and its errors raise the notifier-errors alarm,
#   and SNS retries its deliveries; a queue of undelivered notifications would be read
#   by nobody, and the failure stays in the pipeline's execution history
#   (docs/notifications.md).
step "cfn-lint serverless rules" cfn-lint template.yaml --append-rules cfn_lint_serverless.rules \
  --ignore-checks WS1000 WS1004 ES1007 ES6000 ES4000 ES7000
step "sam validate --lint" sam validate --lint --region ap-southeast-1
step "checkov" checkov -f template.yaml --config-file .checkov.yaml
step "IAM grants against AWS's authorization data" scripts/check-iam.sh
step "end to end (make local)" make local
step "the acceptance run, against the local cloud" scripts/aws-acceptance.sh --local
step "the panic guards in a binary built as sam build builds it" scripts/panic-probe.sh
step "the README's commands, as written" scripts/readme.sh

trap - ERR
echo "test: PASSED - $steps_done steps in $((SECONDS - started)) s"
