#!/usr/bin/env bash
# Mutation testing of the rule modules (docs/mutation.md): cosmic-ray over the modules of
# scripts/mutation.toml, each mutant judged by that module's rule-table tests, in a copy of the project
# (.mutation/tree), at low priority (the machine is shared). Not part of the test suite: about an hour
# for every module on 2 cores. Arguments: see scripts/mutation.py --help. Report: .mutation/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec nice -n "${MUTATION_NICE:-10}" .venv/bin/python scripts/mutation.py "$@"
