#!/usr/bin/env bash
# Installs the pinned tools of scripts/tools.lock into .tools/<name>, one
# virtual environment each (their botocore pins conflict), and links their
# commands into .tools/bin. A second run with an unchanged lock is a no-op.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
python=${PYTHON:-python3}
mkdir -p "$tools/bin"

# Commands each environment exposes in .tools/bin, as <command>[:<link name>].
declare -A commands=(
  [sam]="sam python:sam-python"
  [cargo-lambda]="cargo-lambda"
  [ministack]="ministack python:ministack-python"
  [moto]="moto_server python:moto-python"
  [cfn-lint]="cfn-lint"
  [checkov]="checkov"
)

while read -r name requirements; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  env_dir="$tools/$name"
  stamp="$env_dir/.installed"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]]; then
    continue
  fi
  echo "setup: installing $name ($requirements)"
  rm -rf "$env_dir"
  "$python" -m venv "$env_dir"
  # shellcheck disable=SC2086
  "$env_dir/bin/pip" install --quiet --disable-pip-version-check $requirements
  for cmd in ${commands[$name]}; do
    # A wrapper, not a symlink: python finds its virtual environment only
    # when started by its own path.
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$env_dir/bin/${cmd%%:*}" >"$tools/bin/${cmd##*:}"
    chmod +x "$tools/bin/${cmd##*:}"
  done
  if [[ "$name" == cargo-lambda ]]; then
    # cargo-lambda cross-links with zig, which the ziglang package ships.
    printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$env_dir/bin/python" >"$tools/bin/zig"
    chmod +x "$tools/bin/zig"
  fi
  echo "$requirements" >"$stamp"
done <"$root/scripts/tools.lock"
