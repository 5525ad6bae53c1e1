#!/usr/bin/env bash
# One entry point for a fresh machine: creates .venv, installs semtwin from this checkout,
# then runs what you ask for.
#   ./dev.sh serve [semtwin serve options]   serve the demo twin graph on 127.0.0.1:8000
#   ./dev.sh test [pytest options]           run the test suite
#   ./dev.sh bench [benchmark options]       run the benchmarks (see docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV="${SEMTWIN_VENV:-.venv}"

setup() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
  fi
}

command="${1:-help}"
shift || true
case "$command" in
  serve)
    setup governance
    exec "$VENV/bin/semtwin" serve --demo "$@"
    ;;
  test)
    setup test
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  bench)
    setup "test,bench"
    exec "$VENV/bin/python" -m benchmarks "$@"
    ;;
  *)
    sed -n '2,7p' "$0"
    ;;
esac
