#!/usr/bin/env bash
# Replays the pushes in the stack's dead-letter queue: each message is handed to
# the starter again (a synchronous invoke, with the deployed function and its
# role) and deleted once the starter has handled it. A push it started before
# is answered "duplicate" and starts nothing, an older one "superseded": replaying
# is always safe. The summary counts each answer.
#
#   scripts/replay-dead-letters.sh --stack container-pipeline [--region ap-southeast-1]
#
# Needs the AWS CLI (v1 or v2) with credentials for the stack's account. Prints
# one line per message and a summary; exits 1 when a message could not be
# replayed (it stays in the queue, visible again after a minute).
set -euo pipefail

stack="" region_args=()
while (($#)); do
  case "$1" in
    --stack) stack=${2:?--stack needs a stack name}; shift 2 ;;
    --region) region_args=(--region "${2:?--region needs a region}"); shift 2 ;;
    *) echo "usage: $0 --stack NAME [--region REGION]" >&2; exit 2 ;;
  esac
done
[[ -n "$stack" ]] || { echo "usage: $0 --stack NAME [--region REGION]" >&2; exit 2; }

output() {
  aws "${region_args[@]}" cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
queue=$(output DeadLetterQueueUrl)
starter=$(output StarterFunctionName)
[[ -n "$queue" && "$queue" != None && -n "$starter" && "$starter" != None ]] ||
  { echo "replay: the stack $stack has no DeadLetterQueueUrl or StarterFunctionName output" >&2; exit 1; }

# The AWS CLI v1 sends SQS calls to the regional endpoint even when
# AWS_ENDPOINT_URL names another (a local emulator); against AWS nothing is set.
sqs=(aws "${region_args[@]}")
[[ -n "${AWS_ENDPOINT_URL:-}" ]] && sqs+=(--endpoint-url "$AWS_ENDPOINT_URL")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
replayed=0 failed=0
declare -A results=()
# Bounded: at most 100 rounds of up to 10 messages.
for _ in $(seq 100); do
  "${sqs[@]}" sqs receive-message --queue-url "$queue" --max-number-of-messages 10 \
    --wait-time-seconds 1 --visibility-timeout 60 --output json >"$work/batch.json"
  count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("Messages") or []))' "$work/batch.json" 2>/dev/null || echo 0)
  ((count > 0)) || break
  for ((i = 0; i < count; i++)); do
    python3 - "$work/batch.json" "$i" "$work/event.json" "$work/receipt" <<'PY'
import json, sys
message = json.load(open(sys.argv[1]))["Messages"][int(sys.argv[2])]
open(sys.argv[3], "w").write(message["Body"])
open(sys.argv[4], "w").write(message["ReceiptHandle"])
PY
    error=$(aws "${region_args[@]}" lambda invoke --function-name "$starter" \
      --payload "fileb://$work/event.json" --query FunctionError --output text "$work/answer.json")
    if [[ -z "$error" || "$error" == None ]]; then
      "${sqs[@]}" sqs delete-message --queue-url "$queue" --receipt-handle "$(cat "$work/receipt")"
      result=$(python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); print(a.get("result", "unknown") if isinstance(a, dict) else "unknown")' \
        "$work/answer.json" 2>/dev/null || echo unknown)
      results[$result]=$((${results[$result]:-0} + 1))
      echo "replayed ($result): $(cat "$work/answer.json")"
      replayed=$((replayed + 1))
    else
      echo "not replayed ($error): $(cat "$work/answer.json")" >&2
      failed=$((failed + 1))
    fi
  done
done
summary=""
for result in started duplicate superseded refused unknown; do
  [[ -n "${results[$result]:-}" ]] && summary+=", ${results[$result]} $result"
done
echo "replay: $replayed replayed${summary}; $failed left in the queue"
((failed == 0))
