#!/usr/bin/env bash
# Run the whole test suite: installs what it needs into .venv first.
#   scripts/test.sh                    everything, then the cluster pass (below)
#   scripts/test.sh [pytest args...]   just pytest with these arguments
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium for the Playwright page tests (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=; if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "$@" >/dev/null 2>&1; }
  # Refresh the package lists only if the install fails without it.
  apt_get install chromium || { apt_get update && apt_get install chromium; } ||
    { echo "scripts/test.sh: cannot install Debian's chromium (apt-get install chromium failed)" >&2; exit 1; }
fi

# Debian's PostgreSQL for the cluster-mode tests (tests/postgres.py runs its own throwaway
# server from these binaries; any cluster the package starts is left alone, unused).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  SUDO=; if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "$@" >/dev/null 2>&1; }
  # Refresh the package lists only if the install fails without it.
  apt_get install postgresql || { apt_get update && apt_get install postgresql; } ||
    { echo "scripts/test.sh: cannot install Debian's postgresql (apt-get install postgresql failed)" >&2; exit 1; }
fi

# Node.js runs the docs' JavaScript examples (jose, from the npm registry); jq, curl and
# sqlite3 run their shell examples (tests/test_doc_examples.py).
missing=
for tool in node:nodejs npm:npm jq:jq curl:curl sqlite3:sqlite3; do
  command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"
done
if [ -n "$missing" ]; then
  SUDO=; if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -qq install $missing >/dev/null 2>&1 ||
    { $SUDO apt-get -qq update >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -qq install $missing >/dev/null 2>&1; } ||
    { echo "scripts/test.sh: cannot install$missing (apt-get install$missing failed)" >&2; exit 1; }
fi

# Python environment with the project and its [test] extra.
if [ ! -x .venv/bin/python ]; then "${PYTHON:-python3}" -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

# The tests. Their temporary files (SQLite stores that fsync every commit) go to a RAM disk
# when there is one: the same files and the same fsync calls, without waiting for a disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
if [ $# -gt 0 ]; then exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"; fi
.venv/bin/python -m pytest -q -p no:cacheprovider
# Then the token, sign-in, refresh, revocation, management, payment, erasure, webhook and
# audit suites again, each server in them being two nodes that share a throwaway PostgreSQL
# store behind a round-robin balancer (ASTAPA_TEST_STORE: tests/conftest.py).
ASTAPA_TEST_STORE=postgresql exec .venv/bin/python -m pytest -q -p no:cacheprovider \
  -m "not browser and not subprocess" tests/oauth tests/management tests/payments tests/pages \
  tests/erasure tests/webhooks tests/audit
