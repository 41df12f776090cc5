#!/usr/bin/env bash
# Benchmark of alert-relay: notifications/s accepted durably, and p50/p99 latency from the
# webhook POST to the (never throttling) Discord double. Prints figures; asserts nothing.
# Usage: alert-relay/bench/run.sh [--rate 50] [--seconds 10] [--count 5000] [--concurrency 32]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p alert-relay --bin alert-relay --example bench >&2
echo "machine: $(nproc) cores; $(uname -sr); spool on $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2{print $2}')"
"$CARGO_TARGET_DIR/release/examples/bench" --relay "$CARGO_TARGET_DIR/release/alert-relay" "$@"
