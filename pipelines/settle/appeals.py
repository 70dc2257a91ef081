"""Appeals to the agency (docs/spec/rules.md §10): an open appeal holds back the recoveries of its budget.

`cases`: the valid rows of the `case_decisions` feed (docs/spec/feeds.md). An APPEAL names the letter or
the zorgkas decision it contests in `refers_to`; its budget is that of the row; the agency's outcome
(APPEAL_GRANT, APPEAL_REFUSAL) names the APPEAL. Whether an appeal was lodged in time is the agency's to judge.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.decide.applications import members_of
from pipelines.decide.worklist import work_rows

# the columns of case_decisions (docs/spec/feeds.md) as this module reads them
CASE_COLUMNS = {
    "record_id": pl.String,
    "insz": pl.String,
    "budget": pl.String,
    "kind": pl.String,
    "received_date": pl.Date,
    "decided_date": pl.Date,
    "refers_to": pl.String,
    "first_month": pl.Date,
    "last_month": pl.Date,
}


def open_appeals(cases: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """The APPEAL rows open on D (received on or before D, and no APPEAL_GRANT or APPEAL_REFUSAL of D or
    before refers to them): insz, budget, record_id, received_date, refers_to."""
    outcomes = cases.filter(
        pl.col("kind").is_in(["APPEAL_GRANT", "APPEAL_REFUSAL"]) & (pl.col("decided_date") <= run_date)
    ).select("insz", "budget", pl.col("refers_to").alias("record_id"))
    return (
        cases.filter((pl.col("kind") == "APPEAL") & (pl.col("received_date") <= run_date))
        .join(outcomes, on=["insz", "budget", "record_id"], how="anti")
        .select("insz", "budget", "record_id", "received_date", "refers_to")
    )


# the ledger's budgets and the case budget each belongs to: an absence budget is a ZZB paid for a school year
CASE_BUDGET = pl.col("budget").replace({"ZZB-ABSENCE": "ZZB"})


def m_appeal_suspends(recoverable: pl.LazyFrame, cases: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """M-APPEAL-SUSPENDS: an APPEAL row is open until an APPEAL_GRANT or APPEAL_REFUSAL refers to it. While an
    open appeal of a person and budget exists on D, no recovery of that person and budget is listed
    (PAY-RECOVERY waits: the months stay owed to the agency, not forgotten).

    docs/spec/rules.md §10. `recoverable`: the paid months PAY-RECOVERY finds no longer entitled (insz, budget,
    month, ...); gives those of persons and budgets without an open appeal. What waits is not written to the
    recovery ledger, so the first payment run after an APPEAL_REFUSAL lists it (`pay_recovery`); a month an
    APPEAL_GRANT grants is entitled again (M-ENTITLED) and so no longer recoverable. An absence budget
    (ZZB-ABSENCE) waits on an appeal of the ZZB (local decision: it is a ZZB paid for a school year).
    """
    waiting = open_appeals(cases, run_date).select("insz", pl.col("budget").alias("_case_budget")).unique()
    return (
        recoverable.with_columns(CASE_BUDGET.alias("_case_budget"))
        .join(waiting, on=["insz", "_case_budget"], how="anti")
        .drop("_case_budget")
    )


def w_appeal_open(cases: pl.LazyFrame, members: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """W-APPEAL-OPEN: an appeal of the member is open at the agency on D (M-APPEAL-SUSPENDS); its budget's
    recoveries wait. `since` = received_date; one row per open appeal.

    docs/spec/rules.md §10. Members only (the zorgkas is theirs).
    """
    found = open_appeals(cases, run_date)
    appeals = found.join(members_of(members, found, ["insz", "zorgkas"]), on="insz")
    return work_rows(
        appeals,
        "W-APPEAL-OPEN",
        pl.col("received_date"),
        pl.format("{} appeal received {}, against {}", pl.col("budget"), pl.col("received_date"), pl.col("refers_to")),
        pl.concat_list(pl.format("case_decisions:{}", pl.col("record_id"))),
    )
