#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then runs pytest.
# Usage: bash tests/run.sh [pytest args...]
#
# What it installs, and where (never into the system Python):
#   .venv/               this project and its test extras (`pip install -e ".[test,otel]"`); ELL_VENV=DIR to use another
#   bench/.venv-peer/    ell-ai 0.0.17, the reference the compat tests compare with (it is also named `ell`)
#   tests/.venv-phoenix/ Arize Phoenix, the OTLP receiver the OpenTelemetry tests start and query
#   Debian's chromium    for the browser tests (apt-get, as root or through sudo)
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${ELL_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "tests/run.sh: creating the virtualenv $venv" >&2
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test,otel]"

# Arize Phoenix, the real OTLP receiver tests/otel starts as a server and queries over HTTP, in its own
# virtualenv: its ~100 pinned dependencies never touch the project's (large: ~75 s the first time).
phoenix="$PWD/tests/.venv-phoenix"
if [ -z "${ELL_PHOENIX_PYTHON:-}" ] && ! "$phoenix/bin/python" -c 'import phoenix.server.main' >/dev/null 2>&1; then
  echo "tests/run.sh: installing arize-phoenix into tests/.venv-phoenix (the OTLP receiver of tests/otel)" >&2
  { python3 -m venv "$phoenix" && "$phoenix/bin/python" -m pip install -q --disable-pip-version-check "arize-phoenix"; } \
    || echo "tests/run.sh: could not install arize-phoenix: the tests that export spans to it will skip" >&2
fi
export ELL_PHOENIX_PYTHON="${ELL_PHOENIX_PYTHON:-$phoenix/bin/python}"

# ell-ai 0.0.17 in its own virtualenv (its package is named `ell` too); tests that need it skip without it.
peer="$PWD/bench/.venv-peer"
is_peer() { (cd / && "$peer/bin/python" -c 'import ell, sys; sys.exit(ell.__version__ != "0.0.17")') 2>/dev/null; }
if [ -z "${ELL_AI_PYTHON:-}" ] && ! is_peer; then
  echo "tests/run.sh: installing ell-ai 0.0.17 into bench/.venv-peer" >&2
  { python3 -m venv "$peer" && "$peer/bin/python" -m pip install -q --disable-pip-version-check "ell-ai[sqlite]==0.0.17"; } \
    || echo "tests/run.sh: could not install ell-ai 0.0.17: the tests comparing with it will skip" >&2
fi
export ELL_AI_PYTHON="${ELL_AI_PYTHON:-$peer/bin/python}"

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

exec "$venv/bin/python" -m pytest -q "$@"
