"""Running the decide pipeline on ingested feeds: parameters in, collected and sorted frames out."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from flows.context import RunContext
from flows.ingest import Ingested
from flows.progress import log_counts
from flows.tasks import step
from pipelines.decide.absence import ABSENCE_COLUMNS
from pipelines.decide.applications import case_worklist
from pipelines.decide.cases import BY_HAND_COLUMNS, granted_by_hand
from pipelines.decide.decisions import MONTH_COLUMNS, PERIOD_COLUMNS, Feeds, decide
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.emit.report import person_counts
from pipelines.settle.appeals import CASE_COLUMNS

DECIDE_FEEDS = [
    "members",
    "residence_periods",
    "belrai_screeners",
    "medsoc_scales",
    "facility_stays",
    "vaph_support",
    "case_decisions",
]
CASE_FEED = "case_decisions"  # docs/spec/feeds.md: applications, decisions by hand and appeals (rules.md §10)


@dataclass(frozen=True)
class Decided:
    periods: pl.DataFrame  # PERIOD_COLUMNS, sorted by insz, budget, first_month
    months: pl.DataFrame | None  # MONTH_COLUMNS month by month (full_window only: explain)
    absences: pl.DataFrame
    worklist: pl.DataFrame
    cases: pl.DataFrame = None  # CASE_COLUMNS: the valid rows of case_decisions (rules.md §10; a small feed)
    granted: pl.DataFrame = None  # BY_HAND_COLUMNS: the months granted by hand or on appeal

    def __post_init__(self):
        if self.cases is None:
            object.__setattr__(self, "cases", pl.DataFrame(schema=CASE_COLUMNS))
        if self.granted is None:
            object.__setattr__(self, "granted", pl.DataFrame(schema=BY_HAND_COLUMNS))

    def months_entitled(self) -> int:
        months = (pl.col("last_month").dt.year() - pl.col("first_month").dt.year()) * 12 + (
            pl.col("last_month").dt.month() - pl.col("first_month").dt.month() + 1
        )
        return int(self.periods.filter("entitled").select(months.sum()).item() or 0)


@step("decide")
def run_decisions(ctx: RunContext, ingested: Ingested, full_window: bool = False) -> Decided:
    """Decide every member and budget for the run date (bulk, or every month of the window)."""
    feeds = Feeds(**{name: ingested.valid(name).lazy() for name in DECIDE_FEEDS})
    decisions = decide(feeds, ctx.params, ctx.amounts, ctx.run_date, full_window)
    cases = case_rows(ingested)
    granted = granted_by_hand(cases.join(ingested.valid("members").select("insz"), on="insz", how="semi"), *ctx.window)
    granted = granted.collect()
    worklist = case_worklist(
        decisions.worklist, cases.lazy(), granted.lazy(), feeds.members, feeds.vaph_support, ctx.params, ctx.run_date
    )
    wanted = [decisions.periods, decisions.absences, worklist]
    periods, absences, worklist = pl.collect_all(wanted)
    months = (
        decisions.months.collect().select(list(MONTH_COLUMNS)).sort("insz", "budget", "month") if full_window else None
    )
    decided = Decided(
        periods=compact(periods.select(list(PERIOD_COLUMNS)).sort("insz", "budget", "first_month")),
        months=months,
        absences=compact(absences.select(list(ABSENCE_COLUMNS)).sort("insz", "school_year")),
        worklist=compact(worklist.select(list(WORKLIST_COLUMNS)).sort("zorgkas", "insz", "code", "since")),
        cases=compact(cases),
        granted=compact(granted),
    )
    log_counts("decide", decided_counts(decided))  # from inside the task that decides (issue 22)
    return decided


def decided_counts(decided: Decided) -> dict[str, int]:
    """What the run's log says of a decide step: persons (named as the run report names them), months, work list."""
    persons = person_counts(decided.periods)
    return {
        "persons with an entitled month": persons["persons_entitled"],
        "persons decided": persons["persons_decided"],
        "months entitled": decided.months_entitled(),
        "months granted by hand or on appeal": decided.granted.height,
        "work-list rows": decided.worklist.height,
    }


def case_rows(ingested: Ingested) -> pl.DataFrame:
    """The valid rows of case_decisions (CASE_COLUMNS); none when the run reads no such feed."""
    if CASE_FEED not in ingested.feeds:
        return pl.DataFrame(schema=CASE_COLUMNS)
    return ingested.valid(CASE_FEED).select([pl.col(c).cast(t) for c, t in CASE_COLUMNS.items()])


def compact(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in buffers of its own size. Polars' strings are views into shared buffers, and a few
    rows filtered out of a large intermediate keep all of its buffers alive: at 7M members the 42k
    work-list rows held 330 MB that way. A round trip through Arrow's plain layout copies only the
    rows' own bytes (the values and the schema are unchanged)."""
    return pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
