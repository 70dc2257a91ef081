#!/usr/bin/env bash
# Sets up .venv/ and runs the test suite (what CI runs: .ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check flows pipelines schemas tests benchmarks
exec .venv/bin/python -m pytest -q "$@"
