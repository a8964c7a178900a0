#!/usr/bin/env bash
# What is in production, and how to go back: each command invokes the stack's
# deployed tagger (with its role) and prints its answer.
#
#   scripts/production.sh --stack NAME status
#   scripts/production.sh --stack NAME rollback [--to DIGEST|TAG] [--expect DIGEST]
#   scripts/production.sh --stack NAME release
#
# - status: the digest `production` and `production-previous` are on, the commit
#   each was built from, when and by which pipeline execution it was promoted,
#   and whether a hold is set.
# - rollback: moves `production` onto --to (a digest, or a tag such as a commit's;
#   by default the image tagged `production-previous`). With --expect it moves only
#   if `production` still holds that digest. It sets a hold: builds still run and
#   push their commit tags, but nothing is promoted until `release`. The same
#   rollback again changes nothing.
# - release: ends the hold; the next passing build is promoted.
#
# Options: --region REGION; --json prints the tagger's whole answer instead of
# its report. Needs the AWS CLI (v1 or v2), python3, and lambda:InvokeFunction
# on the stack's tagger. Exits 1 when the tagger refuses (the reason is printed).
set -euo pipefail

usage() {
  echo "usage: $0 --stack NAME [--region REGION] [--json] status | rollback [--to DIGEST|TAG] [--expect DIGEST] | release" >&2
  exit 2
}
stack="" region_args=() command="" to="" expect="" json=false
while (($#)); do
  case "$1" in
    --stack) stack=${2:?--stack needs a stack name}; shift 2 ;;
    --region) region_args=(--region "${2:?--region needs a region}"); shift 2 ;;
    --json) json=true; shift ;;
    --to) to=${2:?--to needs a digest or a tag}; shift 2 ;;
    --expect) expect=${2:?--expect needs a digest}; shift 2 ;;
    status | rollback | release) [[ -z "$command" ]] || usage; command=$1; shift ;;
    *) usage ;;
  esac
done
[[ -n "$stack" && -n "$command" ]] || usage
[[ "$command" == rollback || (-z "$to" && -z "$expect") ]] ||
  { echo "production: --to and --expect belong to rollback" >&2; exit 2; }

tagger=$(aws "${region_args[@]}" cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='TaggerFunctionName'].OutputValue" --output text)
[[ -n "$tagger" && "$tagger" != None ]] ||
  { echo "production: the stack $stack has no TaggerFunctionName output" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The request, written by python3 so that no value needs shell quoting.
python3 - "$command" "$to" "$expect" >"$work/request.json" <<'PY'
import json, sys
command, to, expect = sys.argv[1:4]
body = {}
if to:
    body["to"] = to
if expect:
    body["expect"] = expect
print(json.dumps({command: body}))
PY
error=$(aws "${region_args[@]}" lambda invoke --function-name "$tagger" \
  --payload "fileb://$work/request.json" --query FunctionError --output text "$work/answer.json")
python3 - "$work/answer.json" "$json" "${error:-None}" <<'PY'
import json, sys
path, whole, error = sys.argv[1], sys.argv[2] == "true", sys.argv[3]
answer = json.load(open(path))
if error not in ("", "None"):
    message = answer.get("errorMessage") if isinstance(answer, dict) else None
    print(f"production: refused: {message or json.dumps(answer)}", file=sys.stderr)
    sys.exit(1)
if whole:
    print(json.dumps(answer, indent=2))
else:
    print("\n".join(answer.get("report") or [json.dumps(answer)]))
PY
