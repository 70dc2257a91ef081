"""Property-based (Hypothesis), issue 20 point 7: no number a feed can hold pays wrongly or stops the night.

For every numeric column of the feeds the rules read (every Float64 and Int64 column of the decide feeds and of
premium_payments), any value (NaN, infinities, huge, negative, the edges of docs/spec/feeds.md's bounds) put in
one valid row is either quarantined, or the row decides exactly as it does with the nearest valid value (the
value clamped to the bounds of docs/spec/feeds.md, read here independently of the code); and neither staging
nor deciding raises. Pure functions on one-row frames (stage_feed, decide, w_voluntary_arrears, fine
candidates): no landing, no Prefect, a few seconds.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipelines.ingest.quarantine import range_maxima
from pipelines.ingest.staging import stage_feed
from pipelines.premium.fines import fine_candidates, w_voluntary_arrears
from pipelines.premium.invoices import Amounts
from schemas.feeds import FEEDS
from tests.helpers.builders import frame, valid_rows
from tests.helpers.decide import RUN, _decide, feed_rows, params, scale, screener, standing_ground, vaph, ztk
from tests.helpers.properties import examples

DELIVERY = dt.date(2026, 11, 1)
CODES = {"zorgkassen": ["ZK100", "ZK200", "ZK300", "ZK400", "ZK500", "ZK600"]}
VOLUNTARY = valid_rows()["members"][0] | {"affiliation_basis": "RESIDENT_BXL", "domicile_region": "BXL"}
UNPAID = valid_rows()["premium_payments"][0] | {"amount_paid": 0.0, "paid_date": None}

# docs/spec/feeds.md, R-RANGE, read on its own: (lowest, highest) of each numeric column; None: unbounded
BOUNDS = {
    ("belrai_screeners", "total_score"): (0.0, 30.0),
    ("belrai_screeners", "adl_score"): (0.0, 30.0),
    ("belrai_screeners", "iadl_score"): (0.0, 30.0),
    ("medsoc_scales", "score"): (0.0, 18.0),  # an IT scale: the self-reliance scale, six items of 0 to 3
    ("medsoc_scales", "pillar_1"): (0.0, 6.0),
    ("medsoc_scales", "pillar_2"): (0.0, 12.0),
    ("medsoc_scales", "pillar_3"): (0.0, 18.0),
    ("vaph_support", "absence_days"): (0, 366),
    ("vaph_support", "school_year"): (1900, 9998),  # a year: not in feeds.md; from 1900 as R-DATES (local decision)
    ("premium_payments", "amount_due"): (0.0, 100_000.0),
    ("premium_payments", "amount_paid"): (0.0, 100_000.0),
    ("premium_payments", "premium_year"): (1900, 9998),
}
# the row each column is tried in: one where the column decides something
ROWS = {
    "belrai_screeners": lambda column: screener(total_score=14.0, adl_score=3.0, iadl_score=3.0),
    "medsoc_scales": lambda column: scale() if column == "score" else ztk(pillars=(6.0, 6.0, 6.0)),
    "vaph_support": lambda column: vaph("VA1", "MFC_FULLTIME", dt.date(2020, 1, 1), school_year=2025, absence_days=120),
    "premium_payments": lambda column: UNPAID | {"premium_year": 2024, "due_date": dt.date(2024, 4, 30)},
}
NUMERIC = sorted(
    (feed, column) for feed in ROWS for column, dtype in FEEDS[feed].columns.items() if dtype in (pl.Float64, pl.Int64)
)

PROPERTY = settings(max_examples=examples(25), deadline=None, derandomize=True, database=None)


def test_every_numeric_column_has_its_bounds_here():
    """A numeric column added to a feed the rules read needs its bounds from docs/spec/feeds.md above."""
    assert set(NUMERIC) == set(BOUNDS)


def staged(feed: str, row: dict):
    raw = frame(feed, [row]).with_columns(
        pl.lit("f.parquet").alias("source_file"), pl.lit(1, pl.Int64).alias("row_number")
    )
    maxima = range_maxima(FEEDS[feed], params(RUN))
    return stage_feed(raw, FEEDS[feed], DELIVERY, RUN, CODES, maxima=maxima)


def nearest_valid(value, low, high, integer: bool):
    """The value clamped to [low, high] (NaN: the lowest)."""
    if isinstance(value, float) and math.isnan(value):
        return low
    clamped = value
    if low is not None:
        clamped = max(low, clamped)
    if high is not None:
        clamped = min(high, clamped)
    return int(clamped) if integer else float(clamped)


def decision(feed: str, row: dict) -> list:
    """What the row decides: the months of both budgets and the absences (decide feeds), or the voluntary
    arrears and the fine candidates (premium_payments)."""
    if feed == "premium_payments":
        members, payments = frame("members", [VOLUNTARY]).lazy(), frame(feed, [row]).lazy()
        arrears = w_voluntary_arrears(members, payments, params(RUN), RUN).collect()
        p = params(dt.date(2026, 10, 15))
        allowance = frame("increased_allowance", []).lazy()
        fines = fine_candidates(members, payments, allowance, 2026, p, Amounts(p.fine_normal, p.fine_reduced))
        return [arrears.rows(), fines.collect().rows()]
    others = {"vaph_support": {"medsoc_scales": [standing_ground()]}}.get(feed, {})
    collected = _decide(feed_rows(**({feed: [row]} | others)), RUN, full_window=False)
    months = collected.months.select("insz", "budget", "month", "status", "entitled").sort(pl.all())
    return [months.rows(), collected.absences.rows()]


def values(feed: str, column: str):
    integer = FEEDS[feed].columns[column] == pl.Int64
    if integer:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    return st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e12, 1e26, 30.000001, 18.5, 1e300])


@pytest.mark.parametrize("feed, column", NUMERIC, ids=[f"{f}.{c}" for f, c in NUMERIC])
def test_any_number_is_quarantined_or_decides_like_the_nearest_valid_one(feed, column):
    integer = FEEDS[feed].columns[column] == pl.Int64
    low, high = BOUNDS[(feed, column)]
    base = ROWS[feed](column)

    @PROPERTY
    @given(value=values(feed, column))
    @example(value=1e12 if not integer else 10**12)
    @example(value=-1 if integer else -0.0)
    def check(value):
        row = base | {column: value}
        result = staged(feed, row)  # never raises
        if result.quarantine.height:
            assert result.valid.is_empty()
            return
        within = (low is None or value >= low) and (high is None or value <= high)
        assert within, f"{feed}.{column} = {value!r} is outside docs/spec/feeds.md's bounds and was not quarantined"
        nearest = base | {column: nearest_valid(value, low, high, integer)}
        assert decision(feed, row) == decision(feed, nearest)  # never raises either

    check()
