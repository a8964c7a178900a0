#!/usr/bin/env bash
# What is in production, and how to go back: each command invokes the stack's
# deployed tagger (with its role) and prints its answer.
#
#   scripts/production.sh --stack NAME status
#   scripts/production.sh --stack NAME rollback [--to DIGEST|TAG] [--expect DIGEST] [--yes] [--force]
#   scripts/production.sh --stack NAME release
#
# - status: the digest `production` and `production-previous` are on, the commit
#   each was built from, when and by which pipeline execution it was promoted,
#   and whether a hold is set.
# - rollback: moves `production` onto --to (a digest, or a tag such as a commit's;
#   by default the image promoted before the current one). It first prints what it
#   would do (`from -> to`) and asks; --yes answers for you (without a terminal and
#   without --yes, the answer is read from standard input: anything but y is no).
#   What it asked about is what it does: the rollback moves `production` only if it
#   still holds the digest shown (or --expect's). --to takes only an image that was
#   promoted before, unless --force. It sets a hold: builds still run and push their
#   commit tags, but nothing is promoted until `release`. A rollback to the image
#   `production` already holds does nothing and sets no hold.
# - release: ends the hold; the next passing build is promoted.
#
# Options: --region REGION; --json prints the tagger's whole answer instead of
# its report. Needs the AWS CLI (v1 or v2), python3, and lambda:InvokeFunction
# on the stack's tagger. Exits 1 when the tagger refuses (the reason is printed).
set -euo pipefail

usage() {
  echo "usage: $0 --stack NAME [--region REGION] [--json] status | rollback [--to DIGEST|TAG] [--expect DIGEST] [--yes] [--force] | release" >&2
  exit 2
}
stack="" region_args=() command="" to="" expect="" json=false yes=false force=false
while (($#)); do
  case "$1" in
    --stack) stack=${2:?--stack needs a stack name}; shift 2 ;;
    --region) region_args=(--region "${2:?--region needs a region}"); shift 2 ;;
    --json) json=true; shift ;;
    --to) to=${2:?--to needs a digest or a tag}; shift 2 ;;
    --expect) expect=${2:?--expect needs a digest}; shift 2 ;;
    --yes) yes=true; shift ;;
    --force) force=true; shift ;;
    status | rollback | release) [[ -z "$command" ]] || usage; command=$1; shift ;;
    *) usage ;;
  esac
done
[[ -n "$stack" && -n "$command" ]] || usage
[[ "$command" == rollback || (-z "$to" && -z "$expect" && $yes == false && $force == false) ]] ||
  { echo "production: --to, --expect, --yes and --force belong to rollback" >&2; exit 2; }

tagger=$(aws "${region_args[@]}" cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='TaggerFunctionName'].OutputValue" --output text)
[[ -n "$tagger" && "$tagger" != None ]] ||
  { echo "production: the stack $stack has no TaggerFunctionName output" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# invoke REQUEST-ARGS...: one request to the tagger; its answer in $work/answer.json,
# printed (the report, or the whole answer with --json). Exits 1 on a refusal.
invoke() {
  # The request, written by python3 so that no value needs shell quoting.
  python3 - "$@" >"$work/request.json" <<'PY'
import json, sys
command, to, expect, dry_run, force = sys.argv[1:6]
body = {}
if to:
    body["to"] = to
if expect:
    body["expect"] = expect
if dry_run == "true":
    body["dryRun"] = True
if force == "true":
    body["force"] = True
print(json.dumps({command: body}))
PY
  local error
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
}

# field NAME: a field of the last answer ("" when absent or null).
field() {
  python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' \
    "$work/answer.json" "$1"
}

if [[ "$command" != rollback ]]; then
  invoke "$command" "" "" false false
  exit 0
fi

# A rollback: what it would do first, then the question, then exactly that.
invoke rollback "$to" "$expect" true "$force"
[[ "$(field unchanged)" == true ]] && exit 0
from=$(field from)
if [[ "$yes" != true ]]; then
  printf 'Roll back production? [y/N] ' >&2
  reply=""
  read -r reply || true
  [[ -t 0 ]] || echo "$reply" >&2
  [[ "$reply" == [yY] || "$reply" == [yY][eE][sS] ]] ||
    { echo "production: not rolled back" >&2; exit 1; }
fi
# Swap only from the digest shown, unless the operator named one.
invoke rollback "$(field to)" "${expect:-$from}" false true
