#!/usr/bin/env bash
# The test command: formatting, lints, unit and handler tests, and end-to-end
# tests against LocalStack, which this script starts on 127.0.0.1 and stops
# again whatever happens. Prints one summary line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
state=.run/test
port=${SHELVER_TEST_PORT:-4576}
step=setup
summary() {
  local status=$? elapsed=$(( $(date +%s) - started ))
  scripts/localstack.sh stop "$state" || true
  if [[ $status -eq 0 ]]; then
    echo "test: PASSED in ${elapsed}s (fmt, clippy, template lint, unit, handler and end-to-end tests, arm64 packages)"
  else
    echo "test: FAILED at step '$step' after ${elapsed}s"
  fi
}
trap summary EXIT

scripts/setup.sh

step=fmt
cargo fmt --all -- --check

step=clippy
cargo clippy --workspace --all-targets --locked -- -D warnings

step=template
# SAM_CLI_TELEMETRY=0: no usage reports from a test run.
.venv/tools/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
SAM_CLI_TELEMETRY=0 .venv/tools/bin/sam validate --lint --region us-east-1

step=build
# The end-to-end tests run the function binaries as Lambda would.
cargo build --workspace --bins --locked

step=emulator
scripts/localstack.sh start "$state" "$port"

step=tests
SHELVER_TEST_ENDPOINT="http://127.0.0.1:$port" cargo test --workspace --locked
scripts/localstack.sh stop "$state"

step=package
scripts/package.sh
