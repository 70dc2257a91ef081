"""End to end on the sample landing zone: the decision records of the reviewed scenario persons
(synthdata/scenarios.py, one per rule family) equal the reviewed golden files in tests/e2e/golden/.

After a deliberate change of the rules, regenerate with VSB_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from flows.explain import explain_person
from synthdata.scenarios import SCENARIOS, scenario_insz

ROOT = Path(__file__).resolve().parents[2]
LANDING = ROOT / "data" / "sample" / "landing"
GOLDEN = Path(__file__).resolve().parent / "golden"
AS_OF = dt.date(2026, 11, 26)


@pytest.mark.parametrize("code", list(SCENARIOS), ids=[f"{c} {SCENARIOS[c]['shows'][:40]}" for c in SCENARIOS])
def test_scenario_decision_record_matches_the_reviewed_golden_file(code):
    record = explain_person(scenario_insz()[code], LANDING, AS_OF)
    record["shows"] = SCENARIOS[code]["shows"]
    path = GOLDEN / f"{code}.json"
    text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("VSB_UPDATE_GOLDEN"):
        path.write_text(text)
    assert json.loads(text) == json.loads(path.read_text())


def test_every_scenario_person_is_in_the_sample():
    import polars as pl

    members = pl.read_parquet(LANDING / "members" / "delivery_date=2026-11-01" / "*.parquet")
    assert set(scenario_insz().values()) <= set(members["insz"].to_list())
