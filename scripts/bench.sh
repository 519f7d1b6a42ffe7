#!/usr/bin/env bash
# The benchmark command: builds what Lambda would run, starts LocalStack on
# 127.0.0.1:4578, runs every scenario against it in one go, and writes
# BENCHMARKS.md, BENCHMARKS.json and BENCHMARKS.png. `--quick` does fewer and
# smaller runs (for trying it out, not for the record).
set -euo pipefail
cd "$(dirname "$0")/.."

state=.run/bench
port=${SHELVER_BENCH_PORT:-4578}
trap 'scripts/localstack.sh stop "$state"' EXIT

scripts/setup.sh localstack tools bench
# The arm64 zips whose sizes are reported.
scripts/package.sh
# The host's release build, for the timings.
cargo build --release --locked -p shelver-consumer -p shelver-http -p shelver-bench

scripts/localstack.sh start "$state" "$port"
echo "bench: $(nproc) cores; this takes several minutes"
# The functions' logs and metric lines go to a file; the terminal shows the
# benchmark's own progress.
log="$state/functions.log"
echo "bench: the functions' output goes to $log"
: > "$log"
SHELVER_TEST_ENDPOINT="http://127.0.0.1:$port" \
  target/release/shelver-bench --python .venv/bench/bin/python --out . "$@" \
  >> "$log" 2> >(tee -a "$log" | grep --line-buffered -v '^\[function\]' >&2)
.venv/bench/bin/python bench/baselines/chart.py BENCHMARKS.json BENCHMARKS.png
echo "bench: wrote BENCHMARKS.md, BENCHMARKS.json and BENCHMARKS.png"
