#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs the whole suite.
# Usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q -e ".[test]"

# Browser tests drive Debian's chromium through Playwright (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and cannot be installed without root: browser tests will fail" >&2
  fi
fi

# Tests make their own repositories; give git an identity only inside the test process.
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-ell tests}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-tests@localhost}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-ell tests}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-tests@localhost}"

exec python3 -m pytest -q "$@"
