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
# own Prefect test server and PREFECT_HOME (tests/conftest.py), which the `vsb` processes the tests start use too;
# worksteal keeps both cores busy to the end.
# Which tests run where (docs/testing.md):
#   bash scripts/test.sh                   every test not marked slow or long (a developer's run: target 3 min on 2 cores)
#   VSB_CI_TESTS=1 bash scripts/test.sh    also the tests marked slow (.ci/run sets it: target 8 min on 2 cores)
#   VSB_ALL_TESTS=1 bash scripts/test.sh   also the tests marked long (the 35-day backfill, the Dask cluster, README's
#                                          commands, vsb serve on a real server): by hand, before a release
# The crash probes of every run kind (nightly, backfill, invoices, fines) are not marked: every run has them.
# A developer's run also tries a third of each Hypothesis property's examples (VSB_TEST_PROFILE=dev,
# tests/helpers/properties.py); CI and a release run try them all.
select=(-m "not slow and not long")
export VSB_TEST_PROFILE="${VSB_TEST_PROFILE:-dev}"
if [ "${VSB_ALL_TESTS:-}" = 1 ]; then
  select=()
  VSB_TEST_PROFILE=full
elif [ "${VSB_CI_TESTS:-}" = 1 ]; then
  select=(-m "not long")
  VSB_TEST_PROFILE=full
fi
exec .venv/bin/python -m pytest -q -n "${VSB_TEST_WORKERS:-logical}" --dist worksteal "${select[@]}" "$@"
