#!/usr/bin/env bash
# Runs the commands README.md shows, as written and in a user's order, against
# the local cloud (and the commands of docs/rollback.md and events/README.md that
# the README sends people to). Prompts are answered on a terminal as a user would
# (tests/readme/answer.py). tests/e2e/tests/readme.rs fails when the README shows
# a command that this script does not run.
#
# The README's real-account commands run here as they would there; what differs
# is only what the local cloud needs: an existing connection ARN (MiniStack has no
# CodeConnections) and ScanGate=OFF (it has no scan findings).
# Each command prints one step line; the run ends with a summary line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"

answer() { expect-python "$root/tests/readme/answer.py" "$@"; }
# readme COMMAND: runs one command exactly as the documentation writes it.
readme() { bash -c "$1"; }

# `make sandbox` starts its own local cloud: a shell whose commands reach it.
check_make_sandbox() {
  local out
  out=$(printf '%s\n' 'aws s3api list-buckets --output json' 'echo "endpoint $AWS_ENDPOINT_URL"' |
    readme 'make sandbox' 2>&1) || { echo "$out"; return 1; }
  grep -q '^endpoint http://127.0.0.1:' <<<"$out" && grep -q '"Buckets"' <<<"$out" ||
    { echo "$out"; return 1; }
}

# `make bench`, short: a few samples of each section, into a scratch directory
# (the published figures come from a full run, see docs/benchmarks.md).
short_bench() {
  local out
  out=$(mktemp -d)
  BENCH_OUT="$out" BENCH_WAIT_SECONDS=0 BENCH_ARGS="--cold 1 --warm 3 --installer-warm 1 \
--empty-entries 100 --empty-rounds 1 --load-requests 200 --load-seconds 20" readme 'make bench'
  local section
  for section in "cold start to first answer" "Python calls" "bucket emptying" "webhook under load"; do
    grep -q "$section" "$out/results.md" ||
      { echo "make bench: no '$section' table in its report" >&2; return 1; }
  done
  rm -rf "$out"
}

# `make aws-acceptance` without what it needs: it refuses, names each need, deploys nothing.
check_aws_acceptance_refuses() {
  local out status=0
  local without=(env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u GITHUB_TOKEN
    -u ACCEPTANCE_REPO -u ACCEPTANCE_BRANCH -u ACCEPTANCE_CONNECTION_ARN)
  out=$("${without[@]}" bash -c 'make aws-acceptance' 2>&1) || status=$?
  local need
  for need in "refused:" "AWS_PROFILE, or AWS_ACCESS_KEY_ID" ACCEPTANCE_REPO ACCEPTANCE_BRANCH \
    ACCEPTANCE_CONNECTION_ARN GITHUB_TOKEN; do
    grep -qF -- "$need" <<<"$out" || { echo "$out"; echo "make aws-acceptance: no '$need' in its refusal" >&2; return 1; }
  done
  ((status != 0)) || { echo "$out"; echo "make aws-acceptance: exit 0 without credentials" >&2; return 1; }
  # make answers 2 for any failed recipe: the script's own status is the refusal's.
  status=0
  "${without[@]}" scripts/aws-acceptance.sh >/dev/null 2>&1 || status=$?
  ((status == 2)) || { echo "scripts/aws-acceptance.sh: exit $status without credentials, expected 2" >&2; return 1; }
  if grep -q -- "---- " <<<"$out"; then echo "$out"; echo "make aws-acceptance ran a step before refusing" >&2; return 1; fi
}

if [[ "${1:-}" != --inside-sandbox ]]; then
  started=$SECONDS
  trap 'echo "readme: FAILED at step: $current_step" >&2' ERR
  step "setup" scripts/setup.sh
  step "sam build" readme 'sam build'
  step "the README's commands in the local cloud" scripts/sandbox.sh run "$0" --inside-sandbox
  step "make sandbox" check_make_sandbox
  step "make aws-acceptance (refuses without credentials)" check_aws_acceptance_refuses
  step "make bench (short run)" short_bench
  echo "readme: PASSED - every command the README shows ran as written ($steps_done steps, $((SECONDS - started)) s)"
  exit 0
fi

# Inside the sandbox: the client environment is exported.
e2e() { "$CARGO_TARGET_DIR/debug/e2e" "$@"; }
trap 'echo "readme: FAILED at step: $current_step" >&2' ERR
work=$(mktemp -d "$SANDBOX_STATE_DIR/readme.XXXXXX")
connection=$(sed -n 's/.*ConnectionArn=\\"\([^\\]*\)\\".*/\1/p' samconfig.toml)
[[ -n "$connection" ]] || { echo "readme: no sandbox ConnectionArn in samconfig.toml" >&2; exit 1; }

# Credentials as a user sets them up; from here on the clients read these files.
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
step "aws configure" answer 'aws configure' \
  'AWS Access Key ID \[None\]: =test' 'AWS Secret Access Key \[None\]: =test' \
  'Default region name \[.*\]: =ap-southeast-1' 'Default output format \[None\]: =json'
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
step "the configured credentials are used" grep -q aws_access_key_id "$AWS_SHARED_CREDENTIALS_FILE"

# The prerequisite install, into a scratch environment.
pip_install() {
  python3 -m venv "$work/venv"
  PATH="$work/venv/bin:$PATH" readme 'pip install cargo-lambda==1.9.2 ziglang==0.17.1' >/dev/null
  "$work/venv/bin/cargo-lambda" lambda --version
}
step "pip install (cargo-lambda, ziglang)" pip_install

# Deploy to "AWS": a fresh project directory, as a user's clone with a build.
project="$work/project"
mkdir -p "$project"
cp samconfig.toml "$project/"
ln -s "$root/.aws-sam" "$project/.aws-sam"
# The clone's scripts (the README's replay of the dead-letter queue).
ln -s "$root/scripts" "$project/scripts"
cd "$project"
# What `sam deploy --guided` asks after the parameters, answered alike for both stacks.
guided_questions=(
  'Confirm changes before deploy \[Y/n\]: =y'
  'Allow SAM CLI IAM role creation \[Y/n\]: =y'
  'Disable rollback \[y/N\]: =n'
  'Function Url has no authentication. Is this okay\? \[y/N\]: =y'
  'Save arguments to configuration file \[Y/n\]: =y'
  'SAM configuration file \[samconfig.toml\]: ='
)
# The notification and alarm parameters, left at their defaults for both stacks.
notification_answers=(
  'Parameter NotificationEmail \[\]: ='
  'Parameter NotifyOnPromotion \[false\]: ='
  'Parameter AlarmWebhook5xx \[1\]: ='
  'Parameter AlarmWebhookThrottles \[1\]: ='
  'Parameter AlarmStarterErrors \[1\]: ='
  'Parameter AlarmInstallerFailures \[1\]: ='
)
deploy_answers=(
  'Stack Name \[container-pipeline\]: =container-pipeline'
  'AWS Region \[ap-southeast-1\]: =ap-southeast-1'
  'Parameter EnvironmentSuffix \[\]: =dev'
  'Parameter GitHubOwner \[\]: =octo-org'
  'Parameter GitHubRepo \[\]: =hello-app'
  'Parameter GitHubBranch \[main\]: ='
  "Parameter ConnectionArn \[\]: =$connection"
  'Parameter DockerfilePath \[Dockerfile\]: ='
  'Parameter BuildKitImage \[public.ecr.aws/vend/moby/buildkit:buildx-stable-1\]: ='
  'Parameter ScanGate \[CRITICAL\]: =OFF'
  'Parameter ScanWaitSeconds \[1800\]: ='
  'Parameter WebhookReservedConcurrency \[5\]: ='
  "${notification_answers[@]}"
  "${guided_questions[@]}"
  'SAM configuration environment \[default\]: ='
  'Deploy this changeset\? \[y/N\]: =y'
)
step "sam deploy --guided" answer 'sam deploy --guided' "${deploy_answers[@]}"
step "GitHub's side: deliveries and the Deploy stage" e2e scenario --stack container-pipeline

secret=$(readme 'aws secretsmanager get-secret-value --secret-id webhook-secret-dev --query SecretString --output text')
from_output=$(bash -c "$(aws cloudformation describe-stacks --stack-name container-pipeline \
  --query "Stacks[0].Outputs[?OutputKey=='WebhookSecretCommand'].OutputValue" --output text)")
step "the webhook secret (README and WebhookSecretCommand agree)" \
  test "${#secret}" -ge 32 -a "$secret" = "$from_output"

step "sam logs --tail shows the webhook's deliveries" answer --timeout 120 \
  --until 'answered\W+status\W+200' 'sam logs --stack-name container-pipeline -n WebhookFunction --tail'

# docs/rollback.md: the four commands of its cycle, read from it and run as
# written, each answer kept: status, rollback, status (the hold), release.
rollback_cycle() {
  local commands i=0
  mapfile -t commands < <(awk '/^```sh$/{f=1; next} /^```$/{f=0} f' "$root/docs/rollback.md")
  [[ ${#commands[@]} -eq 4 && "${commands[1]}" == *" rollback" && "${commands[3]}" == *" release" ]] ||
    { echo "docs/rollback.md: expected status, rollback, status, release; found: ${commands[*]}" >&2; return 1; }
  for command in "${commands[@]}"; do
    i=$((i + 1))
    # The rollback asks before it acts: answered "y", as a person would.
    readme "$command" >"$work/rollback-$i.txt" <<<y || { cat "$work/rollback-$i.txt"; return 1; }
    cat "$work/rollback-$i.txt"
  done
  grep -q '^hold: none' "$work/rollback-1.txt" &&
    grep -q '^would roll production back: sha256:.* -> sha256:' "$work/rollback-2.txt" &&
    grep -q '^production: sha256:.* (was sha256:' "$work/rollback-2.txt" &&
    grep -q '^hold: since .* after a rollback to sha256:' "$work/rollback-3.txt" &&
    grep -q '^hold released' "$work/rollback-4.txt" ||
    { echo "docs/rollback.md: the cycle's answers are not what the document shows" >&2; return 1; }
}
step "rollback, hold, release (docs/rollback.md)" rollback_cycle
step "production is where the rollback said" e2e check-rollback --stack container-pipeline \
  --report "$work/rollback-2.txt"
# docs/rollback.md, "Without the script": its two commands as written (S = dev). The
# commit tag it names is not in this repository, so the answer is that refusal.
raw_request() {
  local commands
  commands=$(awk '/^## Without the script/{f=1} f && /^```text$/{b=1; next} b && /^```$/{exit} b' \
    "$root/docs/rollback.md" | sed -E 's/\btagger-S\b/tagger-dev/g')
  [[ $(grep -c . <<<"$commands") -eq 2 && "$commands" == *"aws lambda invoke"* ]] ||
    { echo "docs/rollback.md: expected two commands without the script, found: $commands" >&2; return 1; }
  (cd "$work" && readme "$commands" && grep -q 'no image tag 6113728f27ae' answer.json) ||
    { echo "docs/rollback.md: the request was not answered with the refusal: $(cat "$work/answer.json")" >&2; return 1; }
}
step "a request without the script (docs/rollback.md)" raw_request

# The README's replay of the dead-letter queue, after a push was put there.
step "a push in the dead-letter queue" e2e seed-dead-letter --stack container-pipeline --out "$work/dead-letter"
step "replay the dead-letter queue (README)" readme 'scripts/replay-dead-letters.sh --stack container-pipeline'
step "the replayed push started once" e2e check-replayed --stack container-pipeline --delivery-file "$work/dead-letter"

step "change the branch" answer 'sam deploy --parameter-overrides GitHubBranch=release' \
  'Deploy this changeset\? \[y/N\]: =y'
step "the installer moved rule and pipeline to release" \
  e2e check-updated --stack container-pipeline --branch release

staging_answers=(
  'Stack Name \[container-pipeline-staging\]: ='
  'AWS Region \[ap-southeast-1\]: ='
  'Parameter EnvironmentSuffix \[dev\]: =staging'
  'Parameter GitHubOwner \[octo-org\]: ='
  'Parameter GitHubRepo \[hello-app\]: ='
  'Parameter GitHubBranch \[main\]: ='
  'Parameter ConnectionArn \[.*\]: ='
  'Parameter DockerfilePath \[Dockerfile\]: ='
  'Parameter BuildKitImage \[public.ecr.aws/vend/moby/buildkit:buildx-stable-1\]: ='
  'Parameter ScanGate \[OFF\]: ='
  'Parameter ScanWaitSeconds \[1800\]: ='
  'Parameter WebhookReservedConcurrency \[5\]: ='
  "${notification_answers[@]}"
  "${guided_questions[@]}"
  'SAM configuration environment \[default\]: =staging'
  'Deploy this changeset\? \[y/N\]: =y'
)
step "a second environment" answer 'sam deploy --guided --stack-name container-pipeline-staging' \
  "${staging_answers[@]}"
step "the second environment works beside the first" e2e scenario --stack container-pipeline-staging
step "the first environment is untouched" e2e check-updated --stack container-pipeline --branch release
step "delete the second environment" answer 'sam delete --stack-name container-pipeline-staging' \
  'delete the stack container-pipeline-staging .*\[y/N\]: =y' \
  'delete the folder container-pipeline-staging in S3 .*\[y/N\]: =y' \
  'ECR repository .* may not be empty. .*\[y/N\]: =y'
step "nothing of the second environment is left" e2e check-deleted --suffix staging

# Invoking the functions locally (README), with the events/README.md setup.
cd "$root"
# events/README.md: its command creating the webhook fixture's secret, read from it.
fixture_secret() {
  local command
  command=$(awk '/^```text$/{f=1; next} /^```$/{f=0} f' events/README.md |
    sed -E ':a; /\\$/{N; s/\\\n *//; ba}')
  [[ "$command" == "aws secretsmanager create-secret "* ]] ||
    { echo "events/README.md: expected the create-secret command, found: $command" >&2; return 1; }
  readme "$command" >/dev/null
}
step "the webhook fixture's secret (events/README.md)" fixture_secret
step "what the other fixtures refer to" e2e fixtures prepare
watch_log="$work/watch.log"
setsid timeout 900 bash -c 'cargo lambda watch --invoke-address ::1 --env-file events/local.env' \
  >"$watch_log" 2>&1 &
watch_pid=$!
stop_watch() { kill -TERM -- "-$watch_pid" 2>/dev/null || true; }
trap stop_watch EXIT
wait_for_watch() {
  for _ in $(seq 100); do
    grep -q "starting Runtime server" "$watch_log" && return 0
    sleep 0.2
  done
  cat "$watch_log" >&2
  return 1
}
step "cargo lambda watch" wait_for_watch
# The README's "second terminal": no AWS environment at all.
second_terminal() {
  env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_CODEPIPELINE -u AWS_ACCESS_KEY_ID \
    -u AWS_SECRET_ACCESS_KEY -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_CONFIG_FILE \
    -u AWS_SHARED_CREDENTIALS_FILE bash -c "$1"
}
invoke_webhook() { second_terminal 'cargo lambda invoke webhook --data-file events/webhook-push.json' >"$work/webhook.out"; }
invoke_tagger() { second_terminal 'cargo lambda invoke tagger --data-file events/tagger-job.json' >"$work/tagger.out"; }
step "cargo lambda invoke webhook" invoke_webhook
step "the webhook forwarded the push" e2e fixtures check-webhook "$work/webhook.out"
step "cargo lambda invoke tagger" invoke_tagger
step "the tagger promoted the image" e2e fixtures check-tagger "$work/tagger.out"
# installer-create.json, then installer-update.json and installer-delete.json
# (events/README.md), each answered to a listener on the fixtures' ResponseURL.
invoke_installer() { # create|update|delete COMMAND
  local out="$work/installer-$1.json"
  e2e fixtures receive-response --out "$out" &
  local listener=$!
  for _ in $(seq 100); do [[ -f "${out%.json}.ready" ]] && break; sleep 0.1; done
  second_terminal "$2" >/dev/null
  wait "$listener"
  e2e fixtures check-installer "$1" "$out"
}
step "cargo lambda invoke installer (create)" invoke_installer create \
  'cargo lambda invoke installer --data-file events/installer-create.json'
invoke_starter() { second_terminal 'cargo lambda invoke starter --data-file events/starter-push.json' >"$work/starter.out"; }
step "cargo lambda invoke starter" invoke_starter
step "the starter started the fixture's pipeline on its commit" e2e fixtures check-starter "$work/starter.out"
step "cargo lambda invoke installer (update)" invoke_installer update \
  'cargo lambda invoke installer --data-file events/installer-update.json'
step "cargo lambda invoke installer (delete)" invoke_installer delete \
  'cargo lambda invoke installer --data-file events/installer-delete.json'
stop_watch

cd "$project"
step "sam delete" answer 'sam delete --stack-name container-pipeline' \
  'delete the stack container-pipeline .*\[y/N\]: =y' \
  'delete the folder container-pipeline in S3 .*\[y/N\]: =y' \
  'ECR repository .* may not be empty. .*\[y/N\]: =y'
step "nothing of the stack is left" e2e check-deleted --suffix dev
