#!/usr/bin/env bash
# Installs what the run and test commands need, pinned, into project-local
# virtual environments under .venv/. Re-running is cheap: an environment is only
# rebuilt when its requirements file changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}

# venv NAME: builds .venv/NAME from tools/requirements/NAME.txt if needed.
venv() {
  local name=$1 requirements="tools/requirements/$1.txt" dir=".venv/$1"
  local stamp
  stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then
    return
  fi
  echo "setup: installing $name (pinned in $requirements)"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$stamp" > "$dir/.stamp"
}

venv localstack
venv tools
