#!/usr/bin/env bash
# Start Astapa on the embedded default (SQLite under ./var): installs into .venv first.
#   scripts/serve.sh [astapa serve flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then "${PYTHON:-python3}" -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/astapa serve "$@"
