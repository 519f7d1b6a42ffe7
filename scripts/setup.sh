#!/usr/bin/env bash
# Installs what the run and test commands need, pinned, into project-local
# virtual environments under .venv/ (`setup.sh bench` adds the benchmark's). Re-running is cheap: an environment is only
# rebuilt when its requirements file changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}

# venv NAME: builds .venv/NAME from tools/requirements/NAME.txt, with every
# dependency held to tools/requirements/NAME.lock, if either file changed.
venv() {
  local name=$1 requirements="tools/requirements/$1.txt" lock="tools/requirements/$1.lock"
  local dir=".venv/$1" stamp
  stamp=$(cat "$requirements" "$lock" | sha256sum | cut -d' ' -f1)
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then
    return
  fi
  echo "setup: installing $name (pinned in $requirements)"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check \
    --requirement "$requirements" --constraint "$lock"
  echo "$stamp" > "$dir/.stamp"
}

# The environments named on the command line, or the two every command needs.
for name in "${@:-localstack tools}"; do
  for environment in $name; do
    venv "$environment"
  done
done
