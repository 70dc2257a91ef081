"""Running the decide pipeline on ingested feeds: parameters in, collected and sorted frames out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from flows.ingest import Ingested
from flows.reference import Reference
from pipelines.absence import ABSENCE_COLUMNS
from pipelines.decide import MONTH_COLUMNS, Amounts, Feeds, decide
from pipelines.timeline import window_months
from pipelines.worklist import WORKLIST_COLUMNS

DECIDE_FEEDS = ["members", "residence_periods", "belrai_screeners", "medsoc_scales", "facility_stays", "vaph_support"]


@dataclass(frozen=True)
class Decided:
    months: pl.DataFrame  # MONTH_COLUMNS, sorted by insz, budget, month
    flags: pl.DataFrame | None  # every rule flag of every month (explain only)
    absences: pl.DataFrame
    worklist: pl.DataFrame


def amounts_for(reference: Reference, as_of: dt.date, window: int) -> Amounts:
    first, _ = window_months(as_of, window)
    money = reference.parameters.money_series
    return Amounts(zzb=money("zzb_monthly", first, as_of), bob=money("bob_monthly", first, as_of))


def run_decisions(ingested: Ingested, reference: Reference, as_of: dt.date, full_window: bool = False) -> Decided:
    """Decide every member and budget for the run date (bulk, or every month of the window)."""
    p = reference.parameters.params_on(as_of)
    feeds = Feeds(**{name: ingested.valid(name).lazy() for name in DECIDE_FEEDS})
    decisions = decide(feeds, p, amounts_for(reference, as_of, p.evaluation_window_months), as_of, full_window)
    months, absences, worklist = pl.collect_all([decisions.months, decisions.absences, decisions.worklist])
    return Decided(
        months=months.select(list(MONTH_COLUMNS)).sort("insz", "budget", "month"),
        flags=months.sort("insz", "budget", "month") if full_window else None,
        absences=absences.select(list(ABSENCE_COLUMNS)).sort("insz", "school_year"),
        worklist=worklist.select(list(WORKLIST_COLUMNS)).sort("zorgkas", "insz", "code", "since"),
    )
