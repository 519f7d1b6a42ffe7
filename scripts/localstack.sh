#!/usr/bin/env bash
# Starts or stops LocalStack's runtime on the host, on loopback only.
#
#   scripts/localstack.sh start STATE_DIR [PORT]   start, wait until SQS and S3 answer
#   scripts/localstack.sh stop STATE_DIR           stop the one started there
#
# STATE_DIR keeps the PID file, the log and the emulator's scratch files.
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:?usage: localstack.sh start|stop STATE_DIR [PORT]}
state=${2:?usage: localstack.sh start|stop STATE_DIR [PORT]}
port=${3:-4566}
pidfile="$state/localstack.pid"

stop() {
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    # It has been seen to hang on SIGTERM: give it 10 s, then insist.
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

answers() {
  curl --silent --fail --max-time 2 -o /dev/null "$@"
}

start() {
  mkdir -p "$state/filesystem"
  stop
  if answers "http://127.0.0.1:$port/_localstack/health"; then
    echo "localstack: something already answers on 127.0.0.1:$port; stop it first" >&2
    exit 1
  fi

  # GATEWAY_SERVER=hypercorn makes it honour the host part of GATEWAY_LISTEN;
  # the default server listens on every interface.
  GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_SERVER=hypercorn \
    SERVICES=sqs,s3 EAGER_SERVICE_LOADING=1 DNS_ADDRESS=0 DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 FILESYSTEM_ROOT="$PWD/$state/filesystem" \
    SQS_ENDPOINT_STRATEGY=path LOCALSTACK_HOST="127.0.0.1:$port" \
    nohup .venv/localstack/bin/python -m localstack.runtime.main \
      > "$state/localstack.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"

  # Ready means a real SQS call answers, not just the health page.
  local probe="http://127.0.0.1:$port/?Action=ListQueues&Version=2012-11-05"
  for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "localstack: exited while starting; last log lines:" >&2
      tail -n 20 "$state/localstack.log" >&2
      exit 1
    fi
    if answers -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request' "$probe"; then
      echo "localstack: ready on 127.0.0.1:$port (pid $(cat "$pidfile"), log $state/localstack.log)"
      return
    fi
    sleep 0.5
  done
  echo "localstack: not ready after 60 s; see $state/localstack.log" >&2
  stop
  exit 1
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: localstack.sh start|stop STATE_DIR [PORT]" >&2; exit 2 ;;
esac
