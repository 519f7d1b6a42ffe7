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
# Standard output carries the functions' metric lines: not wanted here.
SHELVER_TEST_ENDPOINT="http://127.0.0.1:$port" \
  target/release/shelver-bench --python .venv/bench/bin/python --out . "$@" > /dev/null
.venv/bench/bin/python bench/baselines/chart.py BENCHMARKS.json BENCHMARKS.png
echo "bench: wrote BENCHMARKS.md, BENCHMARKS.json and BENCHMARKS.png"
