"""Small hand-made feeds for the rule tests: one member, the records a case needs, one decision run.

Built on tests/helpers/builders.py: every record starts from the builder's valid row of its feed and
changes only what the case is about. Feeds a case does not name are empty, except the member
and their residence (domiciled in Flanders since birth).
"""

from __future__ import annotations

import datetime as dt
from functools import cache, cached_property

import polars as pl
import pytest

from flows.reference import load_reference
from pipelines.decide.decisions import Amounts, Decisions, Feeds, decide
from pipelines.params import ParameterTable, Params
from pipelines.timeline import window_months
from tests.helpers.builders import INSZ_1985, frame, valid_rows

D = dt.date
RUN = D(2026, 11, 20)  # window 2024-12 .. 2026-11
PERSON = INSZ_1985
BORN = D(1985, 7, 31)  # the builder's member
SCREENED = D(2026, 1, 15)  # the builder's screener
SCALED = D(2025, 2, 1)  # the builder's scale decision
ADMITTED = D(2026, 3, 1)  # the builder's stay
SINCE_2020 = D(2020, 1, 1)
FEED_NAMES = [
    "members",
    "residence_periods",
    "belrai_screeners",
    "medsoc_scales",
    "facility_stays",
    "vaph_support",
    "case_decisions",
]


@cache
def parameters() -> ParameterTable:
    return load_reference().parameters


def params(run_date: dt.date = RUN) -> Params:
    return parameters().params_on(run_date)


def amounts(run_date: dt.date = RUN) -> Amounts:
    first, last = window_months(run_date, params(run_date).evaluation_window_months)
    return Amounts.in_force(params(run_date), first, last)


def cases(table: list[tuple]) -> list:
    """A table of cases whose first column is the case's name (a sentence) as pytest parameters."""
    return [pytest.param(*case[1:], id=case[0]) for case in table]


def row(feed: str, **changes) -> dict:
    """The builder's valid row of `feed` with `changes`."""
    return valid_rows()[feed][0] | changes


def member(**changes) -> dict:
    return row("members", **changes)


def residence(region: str = "VL", start: dt.date = BORN, end: dt.date | None = None, **changes) -> dict:
    return row("residence_periods", **({"region": region, "start_date": start, "end_date": end} | changes))


def screener(assessment_id: str = "BR1", date: dt.date = SCREENED, **changes) -> dict:
    """A screener of a recognised GEZINSZORG service that proves severe care need (total 14)."""
    return row("belrai_screeners", **({"assessment_id": assessment_id, "assessment_date": date} | changes))


def scale(decision_id: str = "MS1", kind: str = "IT", valid_from: dt.date = SCALED, **changes) -> dict:
    """A medical-social scale decision (IT, score 16 unless changed); decided on its valid_from."""
    base = {"decision_id": decision_id, "scale_kind": kind, "valid_from": valid_from, "decision_date": valid_from}
    return row("medsoc_scales", **(base | changes))


def ztk(decision_id: str = "ZT1", pillars=(6.0, 6.0, 6.0), valid_from: dt.date = SCALED, **changes) -> dict:
    p1, p2, p3 = pillars
    return scale(
        decision_id, "ZTK", valid_from, **({"score": None, "pillar_1": p1, "pillar_2": p2, "pillar_3": p3} | changes)
    )


def stay(stay_id: str = "FS1", admission: dt.date = ADMITTED, discharge: dt.date | None = None, **changes) -> dict:
    """A stay in a recognised WZC in Flanders without special category unless changed."""
    return row(
        "facility_stays", **({"stay_id": stay_id, "admission_date": admission, "discharge_date": discharge} | changes)
    )


def vaph(record_id: str, kind: str, start: dt.date, end: dt.date | None = None, **changes) -> dict:
    base = {"record_id": record_id, "support_kind": kind, "start_date": start, "end_date": end}
    return row("vaph_support", **(base | changes))


def standing_ground(decision_id: str = "MS0") -> dict:
    """A G-MEDSOC scale open since 2020: a ZZB right over the whole window of RUN."""
    return scale(decision_id, "IT", SINCE_2020)


def support_need(record_id: str = "SN0", start: dt.date = SINCE_2020, end: dt.date | None = None) -> dict:
    """A G-BOB record open since 2020: a BOB right over the whole window of RUN."""
    return vaph(record_id, "SUPPORT_NEED", start, end)


def feed_rows(
    members: list[dict] | None = None,
    residence_periods: list[dict] | None = None,
    belrai_screeners: list[dict] = (),
    medsoc_scales: list[dict] = (),
    facility_stays: list[dict] = (),
    vaph_support: list[dict] = (),
    case_decisions: list[dict] = (),
) -> dict[str, list[dict]]:
    """The rows of the seven feeds decide reads; the member and their VL residence unless given."""
    return {
        "members": [member()] if members is None else list(members),
        "residence_periods": [residence()] if residence_periods is None else list(residence_periods),
        "belrai_screeners": list(belrai_screeners),
        "medsoc_scales": list(medsoc_scales),
        "facility_stays": list(facility_stays),
        "vaph_support": list(vaph_support),
        "case_decisions": list(case_decisions),
    }


def lazy(feed: str, rows: list[dict]) -> pl.LazyFrame:
    return frame(feed, rows).lazy()


class _Collected:
    """The three outputs of one decide call, each collected when first asked for."""

    def __init__(self, decisions: Decisions):
        self._decisions = decisions

    @cached_property
    def months(self) -> pl.DataFrame:
        return self._decisions.months.collect()

    @cached_property
    def absences(self) -> pl.DataFrame:
        return self._decisions.absences.collect()

    @cached_property
    def worklist(self) -> pl.DataFrame:
        return self._decisions.worklist.collect()


class Run:
    """The decisions of one run for one person (`insz`), or for everyone in it (insz None)."""

    def __init__(self, collected: _Collected, insz: str | None = None):
        self._collected = collected
        self.insz = PERSON if insz is None else insz
        self._only = insz

    def _mine(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame if self._only is None else frame.filter(pl.col("insz") == self._only)

    @property
    def months(self) -> pl.DataFrame:
        return self._mine(self._collected.months)

    @property
    def absences(self) -> pl.DataFrame:
        return self._mine(self._collected.absences)

    @property
    def worklist(self) -> pl.DataFrame:
        return self._mine(self._collected.worklist)

    def month(self, budget: str, month: dt.date) -> dict | None:
        """The decided month of the person's `budget`, or None when no row was decided for it."""
        rows = self.months.filter((pl.col("budget") == budget) & (pl.col("month") == month))
        assert rows.height <= 1, rows
        return rows.row(0, named=True) if rows.height else None

    def status(self, budget: str, month: dt.date) -> str:
        """The status of a month; a month without a row (bulk mode: no right) is NOT_ENTITLED."""
        decided = self.month(budget, month)
        return "NOT_ENTITLED" if decided is None else decided["status"]

    def entitled(self, budget: str, month: dt.date) -> bool:
        return self.status(budget, month) == "ENTITLED"

    def entitled_months(self, budget: str) -> list[dt.date]:
        rows = self.months.filter((pl.col("budget") == budget) & pl.col("entitled"))
        return sorted(rows["month"].to_list())

    def work(self, code: str) -> list[dict]:
        return self.worklist.filter(pl.col("code") == code).sort("since", "insz").to_dicts()


def money(rows: list[tuple]) -> pl.DataFrame:
    """A dated amount as Amounts.in_force gives it, from (from_date, to_date, amount) rows."""
    return pl.DataFrame(
        rows, schema={"from_date": pl.Date, "to_date": pl.Date, "amount": pl.Decimal(12, 2)}, orient="row"
    )


def _decide(
    rows: dict[str, list[dict]],
    run_date: dt.date,
    full_window: bool,
    zzb_amounts: pl.DataFrame | None = None,
    dated: dict | None = None,
) -> _Collected:
    frames = Feeds(*[frame(name, rows[name]).lazy() for name in FEED_NAMES])
    p = params(run_date) if dated is None else params(run_date).replace(**dated)
    first, last = window_months(run_date, p.evaluation_window_months)
    money = Amounts.in_force(p, first, last)
    if zzb_amounts is not None:
        money = Amounts(zzb_amounts, money.bob)
    return _Collected(decide(frames, p, money, run_date, full_window=full_window))


def run(
    run_date: dt.date = RUN,
    full_window: bool = False,
    zzb_amounts: pl.DataFrame | None = None,
    dated: dict | None = None,
    **situation,
) -> Run:
    """Decide one situation (the feed rows of `feed_rows`) on `run_date`; with `zzb_amounts` (`money`) instead
    of the zzb_monthly of the reference data when given, and the parameters of `dated` (name: value on every
    date, or [(from, value), ...]: `Params.replace`) instead of the reference data's."""
    return Run(_decide(feed_rows(**situation), run_date, full_window, zzb_amounts, dated))


class Batch:
    """Many independent situations of a table decided in one run, situation i as person `case_insz(i)`.

    A decision over one person costs about as much as over fifty; every rule is per person, so a
    table's cases are decided together and each case reads its own person's rows.
    """

    def __init__(self, situations: list[dict], run_date: dt.date = RUN, full_window: bool = False):
        self._situations = situations
        self._run_date = run_date
        self._full_window = full_window

    @cached_property
    def _collected(self) -> _Collected:
        rows: dict[str, list[dict]] = {name: [] for name in FEED_NAMES}
        for i, situation in enumerate(self._situations):
            for name, records in feed_rows(**situation).items():
                rows[name] += [record | {"insz": case_insz(i)} for record in records]
        return _decide(rows, self._run_date, self._full_window)

    def __getitem__(self, i: int) -> Run:
        return Run(self._collected, case_insz(i))


def case_insz(i: int) -> str:
    """The person of case i in a Batch (decide does not check an insz: staging did)."""
    return f"CASE{i:07d}"


def indexed(table: list[tuple]) -> list:
    """Like `cases`, with the case's index in the table first (its person in a Batch)."""
    return [pytest.param(i, *case[1:], id=case[0]) for i, case in enumerate(table)]
