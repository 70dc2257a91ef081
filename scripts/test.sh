#!/usr/bin/env bash
# Sets up .venv/ and runs the test suite (what CI runs: .ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# every Python folder, linted and in ruff's format
python_folders=(flows pipelines schemas synthdata tests benchmarks scripts)
.venv/bin/ruff check "${python_folders[@]}"
.venv/bin/ruff format --check --quiet "${python_folders[@]}"
# One pytest-xdist worker per logical CPU (VSB_TEST_WORKERS to choose; 0 runs in this process), each with its
# own Prefect test server and PREFECT_HOME (tests/conftest.py); worksteal keeps both cores busy to the end.
# The tests marked slow (a 35-day backfill, a real Prefect server) run only with VSB_ALL_TESTS=1: CI sets it.
select=(-m "not slow")
if [ "${VSB_ALL_TESTS:-}" = 1 ]; then
  select=()
fi
exec .venv/bin/python -m pytest -q -n "${VSB_TEST_WORKERS:-logical}" --dist worksteal "${select[@]}" "$@"
