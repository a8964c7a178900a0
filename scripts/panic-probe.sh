#!/usr/bin/env bash
# Builds tests/panic-probe exactly as `sam build` builds the functions
# (`cargo lambda build --release --bin NAME`, which adds cargo-lambda's release
# settings) and checks that both panic guards answered: the deployed binaries
# unwind, so a panic becomes a FAILED answer instead of killing the process.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"
cargo lambda build --release --bin panic-probe
probe="$CARGO_TARGET_DIR/lambda/panic-probe/bootstrap"
status=0
out=$(RUST_BACKTRACE=0 "$probe" 2>&1) || status=$?
echo "$out"
if ((status != 0)); then
  echo "panic probe: exited with $status (134 is an abort: the release profile does not unwind)" >&2
  exit 1
fi
grep -q "installer guard answered: .*installer probe" <<<"$out" ||
  { echo "panic probe: the installer's guard did not answer the panic" >&2; exit 1; }
grep -q "tagger guard answered: failed .*tagger probe" <<<"$out" ||
  { echo "panic probe: the tagger's guard did not answer the panic" >&2; exit 1; }
echo "panic probe: both guards answered a panic in a binary built as sam build builds it"
