#!/usr/bin/env bash
# Sets up .venv/ and runs the nightly job on the sample landing zone (data/sample/landing).
# Embedded defaults: Prefect's local ephemeral mode, state in state/vsb.duckdb, outputs in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --allow-future-date: the sample's dates are fixed, whatever the machine's clock says
exec .venv/bin/vsb nightly --as-of "${VSB_SAMPLE_DATE:-2026-11-26}" --allow-future-date "$@"
