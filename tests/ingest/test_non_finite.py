"""R-RANGE (issue 11, money-safe input): a number that is not finite never reaches a rule.

NaN compares greater than every number in Polars and DuckDB, so a NaN score would pass every
threshold and entitle; NaN or infinity in an amount stopped the night in the cents cast of P-DEFAULT.
Each case runs the ingest the night runs (flows/ingest.py `ingest`) on a landing zone written to disk.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest

from flows.decide import run_decisions
from flows.reference import load_reference
from flows.settle import for_settlement
from pipelines.settle.holds import s_hold
from schemas.feeds import FEEDS
from tests.helpers.builders import INSZ_1985, context_at, ingest_at, valid_rows, write_landing

D = dt.date
DELIVERY = D(2026, 11, 1)
RUN = D(2026, 11, 20)
REF = load_reference()
NAN, INF = float("nan"), float("inf")
NON_FINITE = [NAN, INF, -INF]
NON_FINITE_IDS = ["NaN", "+inf", "-inf"]

# every float column of every feed, read from the schemas: a new float column is covered by itself
FLOAT_COLUMNS = [
    (feed, column)
    for feed, contract in FEEDS.items()
    for column, dtype in contract.columns.items()
    if dtype == pl.Float64
]


def row_using(feed: str, column: str) -> dict:
    """A valid row of `feed` in which `column` is read by a rule (a ZTK scale for the pillars)."""
    row = valid_rows()[feed][0]
    if column.startswith("pillar_"):
        row |= {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 6.0, "pillar_3": 6.0}
    return row


def json_text(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def test_the_float_columns_come_from_the_schemas():
    assert set(FLOAT_COLUMNS) >= {
        ("premium_payments", "amount_due"),
        ("premium_payments", "amount_paid"),
        ("belrai_screeners", "total_score"),
        ("belrai_screeners", "adl_score"),
        ("belrai_screeners", "iadl_score"),
        ("medsoc_scales", "score"),
        ("medsoc_scales", "pillar_1"),
        ("medsoc_scales", "pillar_2"),
        ("medsoc_scales", "pillar_3"),
    }


@pytest.mark.parametrize("value", NON_FINITE, ids=NON_FINITE_IDS)
@pytest.mark.parametrize("feed, column", FLOAT_COLUMNS, ids=[f"{f}.{c}" for f, c in FLOAT_COLUMNS])
def test_r_range_a_non_finite_number_in_any_float_column_is_quarantined_by_ingest(tmp_path, feed, column, value):
    """R-RANGE: NaN, +inf and -inf in any float column quarantine the row with that column; no valid row holds one."""
    good = row_using(feed, column)
    other_key = {"premium_payments": {"premium_year": 2024}}.get(feed, {})
    if FEEDS[feed].key and not other_key:
        other_key = {FEEDS[feed].key[0]: "OTHER"}
    write_landing(tmp_path, DELIVERY, {feed: [good | {column: value}, good | other_key]})
    got = ingest_at(tmp_path, RUN)
    quarantine = got.feeds[feed].quarantine
    assert quarantine.select("rule", "column", "row_number").rows() == [("R-RANGE", column, 1)]
    assert json.loads(quarantine["row"][0])[column] == json_text(value)  # not null: the operator sees the value
    valid = got.valid(feed)
    assert valid.height == 1
    assert valid.select(pl.col(column).is_finite().all()).item() is not False


# --- finding 1: NaN and infinite scores entitled --------------------------------------------------------

ONLY_ONE_GROUND = {"medsoc_scales": [], "facility_stays": [], "belrai_screeners": [], "vaph_support": []}
BELRAI = valid_rows()["belrai_screeners"][0]
MEDSOC = valid_rows()["medsoc_scales"][0]

# fmt: off
FINDING_1 = [
    # name                                                      feed                 row                                                        entitled
    ("control: a screener total of 14 entitles",                "belrai_screeners",  BELRAI,                                                    True),
    ("a NaN screener total entitles nobody",                    "belrai_screeners",  BELRAI | {"total_score": NAN, "adl_score": 0.0, "iadl_score": 0.0}, False),
    ("a NaN ADL score entitles nobody",                         "belrai_screeners",  BELRAI | {"total_score": 0.0, "adl_score": NAN, "iadl_score": 0.0}, False),
    ("control: a medical-social score of 16 entitles",          "medsoc_scales",     MEDSOC,                                                    True),
    ("a +infinity medical-social score entitles nobody",        "medsoc_scales",     MEDSOC | {"score": INF},                                   False),
    ("a NaN medical-social score entitles nobody",              "medsoc_scales",     MEDSOC | {"score": NAN},                                   False),
    ("a medical-social score of 1e12 entitles nobody",          "medsoc_scales",     MEDSOC | {"score": 1e12},                                  False),
    ("a NaN ZTK pillar entitles nobody",                        "medsoc_scales",     MEDSOC | {"scale_kind": "ZTK", "score": None, "pillar_1": NAN, "pillar_2": NAN, "pillar_3": NAN}, False),
]
# fmt: on


@pytest.mark.parametrize("name, feed, row, entitled", FINDING_1, ids=[c[0] for c in FINDING_1])
def test_finding_1_a_non_finite_or_out_of_scale_score_entitles_nobody(tmp_path, name, feed, row, entitled):
    """R-RANGE, issue 11 finding 1: total_score NaN (BelRAI) and score +inf or 1e12 (medsoc) made people entitled."""
    write_landing(tmp_path, DELIVERY, ONLY_ONE_GROUND | {feed: [row]})
    got = ingest_at(tmp_path, RUN)
    decided = run_decisions(context_at(tmp_path, RUN), got)
    assert decided.periods.filter("entitled").height > 0 if entitled else decided.periods.filter("entitled").is_empty()
    if not entitled:
        assert got.feeds[feed].quarantine["rule"].to_list() == ["R-RANGE"]


# --- finding 2: a non-finite amount stopped the night ---------------------------------------------------

VOLUNTARY = valid_rows()["members"][0] | {"affiliation_basis": "RESIDENT_BXL", "domicile_region": "BXL"}
UNPAID = valid_rows()["premium_payments"][0] | {"amount_paid": 0.0, "paid_date": None}


@pytest.mark.parametrize("value", NON_FINITE, ids=NON_FINITE_IDS)
@pytest.mark.parametrize("column", ["amount_due", "amount_paid"])
def test_finding_2_a_non_finite_amount_is_quarantined_and_the_night_goes_on(tmp_path, column, value):
    """R-RANGE, issue 11 finding 2: NaN or infinity in premium_payments stopped the whole night in the cents
    cast of W-VOLUNTARY-ARREARS; now the row is quarantined, the person held (S-HOLD), the others go on."""
    rows = [
        UNPAID | {"premium_year": 2023, "due_date": D(2023, 4, 30), column: value},
        UNPAID | {"premium_year": 2024, "due_date": D(2024, 4, 30)},
        UNPAID | {"premium_year": 2025},
    ]
    write_landing(tmp_path, DELIVERY, {"members": [VOLUNTARY], "premium_payments": rows})
    got = ingest_at(tmp_path, RUN)
    assert got.feeds["premium_payments"].quarantine.select("rule", "column").rows() == [("R-RANGE", column)]
    held = s_hold({f: s.quarantine for f, s in got.feeds.items()}, None, RUN.year)
    assert held.rows() == [(INSZ_1985, "premium_payments", "R-RANGE")]
    ctx = context_at(tmp_path, RUN)
    kept = for_settlement(ctx, got, run_decisions(ctx, got), None)  # the step that stopped the night
    assert kept.arrears["detail"].to_list() == ["2 premium years in default: 2024, 2025"]


def test_finding_2_a_huge_finite_amount_does_not_stop_the_night(tmp_path):
    """P-DEFAULT, issue 11: 1e300 stopped the night (its cents overflow Int64); issue 20: it is over max_amount."""
    rows = [
        UNPAID | {"premium_year": 2024, "due_date": D(2024, 4, 30), "amount_due": 1e300},
        UNPAID | {"premium_year": 2025, "amount_due": 1.7e308, "amount_paid": 1e307, "paid_date": D(2025, 4, 1)},
    ]
    write_landing(tmp_path, DELIVERY, {"members": [VOLUNTARY], "premium_payments": rows})
    got = ingest_at(tmp_path, RUN)
    assert got.feeds["premium_payments"].quarantine.select("rule", "column").rows() == [
        ("R-RANGE", "amount_due"),
        ("R-RANGE", "amount_due"),
    ]
    assert got.valid("premium_payments").is_empty()
    ctx = context_at(tmp_path, RUN)
    kept = for_settlement(ctx, got, run_decisions(ctx, got), None)  # the night goes on
    assert kept.arrears.is_empty()
