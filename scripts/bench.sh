#!/usr/bin/env bash
# The benchmarks (`make bench`): each Rust function against an equivalent
# Python/boto3 handler, in one local cloud, same run. See docs/benchmarks.md.
#
#   scripts/bench.sh [ARG ...]     ARGs go to bench/run.py (e.g. --only load)
#
# Steps: the pinned tools (scripts/setup.sh), the benchmark's Python
# (.tools/bench, from bench/requirements.txt), `hey` (Debian package) for the
# load test, release builds of the three functions (cargo lambda, the tool
# sam build uses), a wait for a quiet machine, then bench/run.py inside
# scripts/sandbox.sh. Results: target/bench/results.md and results.json.
#
# Environment: BENCH_MAX_LOAD (default 1.0) and BENCH_WAIT_SECONDS (default
# 900): how quiet the machine must be (1-minute load average) and how long to
# wait for it; after the wait the run starts anyway and the report shows the
# load. BENCH_SKIP_BUILD=1 measures the binaries already in target/lambda.
# BENCH_ARGS: more arguments for bench/run.py (before the command line's), and
# BENCH_OUT: where the results go (default target/bench); the test command's
# short run of `make bench` uses both.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$root"
started=$SECONDS
out="${BENCH_OUT:-$CARGO_TARGET_DIR/bench}"
read -ra env_args <<<"${BENCH_ARGS:-}"
export PYTHONDONTWRITEBYTECODE=1

install_bench_python() {
  local env_dir="$root/.tools/bench" stamp wanted
  stamp="$env_dir/.installed"
  wanted=$(grep -v '^#' bench/requirements.txt | xargs)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then return 0; fi
  rm -rf "$env_dir"
  "${PYTHON:-python3}" -m venv "$env_dir"
  "$env_dir/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
  echo "$wanted" >"$stamp"
}

install_hey() {
  command -v hey >/dev/null && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -qq hey >/dev/null || { apt-get update -qq && apt-get install -y -qq hey >/dev/null; }
  else
    echo "bench: the load test needs 'hey' (Debian: apt-get install hey)" >&2
    return 1
  fi
}

build() {
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    # Exactly the command `sam build` runs for a provided.al2023 function, one
    # binary at a time: another --target (such as a glibc version) or building
    # the three together (which unifies their dependencies' features
    # differently) would rebuild the whole SDK next to the deployment build.
    local binary
    for binary in webhook installer tagger; do
      cargo lambda build --release --locked --bin "$binary"
    done
  fi
  # A copy, so that a later build into target/lambda (sam build writes there
  # too) cannot change the binaries under measurement.
  local function
  for function in webhook installer tagger; do
    mkdir -p "$out/bin/$function"
    cp "$CARGO_TARGET_DIR/lambda/$function/bootstrap" "$out/bin/$function/bootstrap"
  done
}

wait_for_quiet() {
  local max=${BENCH_MAX_LOAD:-1.0} deadline=$((SECONDS + ${BENCH_WAIT_SECONDS:-900})) load
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$max" 'BEGIN { exit !(l < m) }'; then
      echo "load average $load (< $max)"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "load average still $load after the wait: running anyway (the report shows it)"
      return 0
    fi
    sleep 15
  done
}

step "setup" scripts/setup.sh
step "benchmark python (.tools/bench)" install_bench_python
step "hey" install_hey
mkdir -p "$out"
step "release builds (cargo lambda)" build
step "wait for a quiet machine" wait_for_quiet
step "benchmarks in the local cloud" scripts/sandbox.sh run \
  "$root/.tools/bench/bin/python" bench/run.py --out "$out" --rust-dir "$out/bin" \
  --python "$root/.tools/bench/bin/python" --hey "$(command -v hey)" "${env_args[@]}" "$@"
echo "bench: done in $((SECONDS - started)) s; results in $out/results.md (copy the figures into docs/benchmarks.md)"
