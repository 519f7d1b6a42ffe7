#!/usr/bin/env bash
# The long proof: the fault-injection run of `make test`, at 10,000 records
# over 500 groups (SHELVER_PROOF_MESSAGES changes it), against its own
# LocalStack on 127.0.0.1:4577.
set -euo pipefail
cd "$(dirname "$0")/.."

state=.run/soak
port=${SHELVER_SOAK_PORT:-4577}
trap 'scripts/localstack.sh stop "$state"' EXIT

scripts/setup.sh
cargo build --workspace --bins --locked
scripts/localstack.sh start "$state" "$port"
SHELVER_TEST_ENDPOINT="http://127.0.0.1:$port" \
  SHELVER_PROOF_MESSAGES="${SHELVER_PROOF_MESSAGES:-10000}" \
  cargo test --workspace --locked --test proof -- --nocapture 2>&1 \
  | grep -v '^\[function\]'
