#!/usr/bin/env bash
# The main job, on this machine: LocalStack on 127.0.0.1:4566, both functions
# under cargo-lambda's local runtime on 127.0.0.1:9000, and a stand-in for the
# SQS event source mapping feeding the consumer. Sends the sample records in
# events/books/, prints where each one went, and serves until Ctrl-C, which
# stops everything this script started. SHELVER_MAPPING=off leaves the queue
# alone, for trying the HTTP function's drain.
set -euo pipefail
cd "$(dirname "$0")/.."

state=.run/local
emulator_port=${SHELVER_EMULATOR_PORT:-4566}
invoke_port=${SHELVER_INVOKE_PORT:-9000}

export AWS_ENDPOINT_URL="http://127.0.0.1:$emulator_port"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export PATH="$PWD/.venv/tools/bin:$PATH"

scripts/setup.sh
echo "run: building the functions"
cargo build --workspace --bins --quiet

mkdir -p "$state"
watch_pid= map_pid=
cleanup() {
  trap - EXIT INT TERM
  if [[ -n "$map_pid" ]]; then
    kill -TERM "$map_pid" 2>/dev/null || true
  fi
  if [[ -n "$watch_pid" ]]; then
    # cargo lambda watch runs the functions as its children: end its group.
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  scripts/localstack.sh stop "$state"
  echo "run: stopped"
}
trap cleanup EXIT
# Ctrl-C is how a run ends: a clean stop, not an error.
trap 'exit 0' INT
trap 'exit 143' TERM

scripts/localstack.sh start "$state" "$emulator_port"
target/debug/shelver-local provision --env-file "$state/functions.env"

# NO_COLOR: plain text in the log file, no terminal colour codes.
NO_COLOR=1 setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
  --env-file "$state/functions.env" > "$state/functions.log" 2>&1 < /dev/null &
watch_pid=$!
# Ready when the port accepts a connection (an HTTP probe would be logged as
# an error by the runtime, which has no route at /).
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$invoke_port") 2>/dev/null && break
  kill -0 "$watch_pid" 2>/dev/null || { tail -n 20 "$state/functions.log" >&2; exit 1; }
  sleep 0.5
done

cat <<TEXT
run: functions on http://127.0.0.1:$invoke_port (log: $state/functions.log)
     curl -i http://127.0.0.1:$invoke_port/lambda-url/shelver-http/health
TEXT

set -a
# shellcheck source=/dev/null
source "$state/functions.env"
set +a
# In the background, so that this shell hears Ctrl-C (or a TERM) at once and
# runs its clean-up.
mapping=()
if [[ "${SHELVER_MAPPING:-on}" == off ]]; then
  mapping=(--no-poll)
fi
target/debug/shelver-local map --invoke "http://127.0.0.1:$invoke_port" \
  --function shelver-consumer --send events/books "${mapping[@]}" &
map_pid=$!
wait "$map_pid"
