# Shared by the project's scripts: step reporting and the tool PATH.
# shellcheck shell=bash

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/.tools/bin:$PATH"
export SAM_CLI_TELEMETRY=0
# One target directory for every cargo invocation (tests, clippy, sam build).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

steps_done=0
current_step=""

# step NAME COMMAND [ARG ...]: runs one named step and prints one line about it.
step() {
  local name=$1 started=$SECONDS
  shift
  current_step=$name
  echo "---- $name"
  if "$@"; then
    steps_done=$((steps_done + 1))
    echo "ok   $name ($((SECONDS - started)) s)"
  else
    local status=$?
    echo "FAIL $name (exit $status after $((SECONDS - started)) s)" >&2
    return "$status"
  fi
}
