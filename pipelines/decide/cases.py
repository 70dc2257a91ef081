"""Decisions by hand and on appeal (docs/spec/rules.md §10): the months the zorgkas granted by hand (M-GRANT,
M-END) and the agency on appeal (M-APPEAL), from the valid rows of the case_decisions feed.

The engine does not re-judge them: `granted_by_hand` gives the months, and pipelines/decide/decisions.py
makes them part of the one record of rights (M-ENTITLED). Vectorised: every GRANT, END and APPEAL_GRANT row is
expanded to its months inside the window (a few hundred thousand rows at 7M members), and per person, budget
and month the last row in the order the spec gives wins (one sort, one unique); no loop per person.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

GRANTING = ("GRANT", "APPEAL_GRANT")
BY_HAND_COLUMNS = {
    "insz": pl.String,
    "budget": pl.String,
    "month": pl.Date,
    "record_id": pl.String,
    "on_appeal": pl.Boolean,
    "decided_date": pl.Date,
    "received_date": pl.Date,
}


def m_grant() -> pl.Expr:
    """M-GRANT: a GRANT row grants by hand the months first_month .. last_month (null: every later month) of that
    person and budget; the zorgkas rows of a person and budget apply in the order of decided_date, then record_id.

    docs/spec/rules.md §10. True for the rows that add months (the zorgkas's GRANT); `_ordered_rows` gives each its
    place in the order, `granted_by_hand` lets the last row touching a month decide it. A REFUSAL grants nothing.
    """
    return pl.col("kind") == "GRANT"


def m_end() -> pl.Expr:
    """M-END: an END row ends what was granted by hand from its first_month on: it removes that month and every
    later one (a later GRANT, in the order of decided_date then record_id, may grant again).

    docs/spec/rules.md §10. True for the rows that remove months; an END reaches every month of the window from its
    first_month (`_months_touched`)."""
    return pl.col("kind") == "END"


def m_appeal() -> pl.Expr:
    """M-APPEAL: an APPEAL_GRANT row of the agency grants its months like a GRANT and is applied after every zorgkas
    row of that person and budget, whatever the dates: an END of the zorgkas does not undo it. An APPEAL_REFUSAL
    grants nothing.

    docs/spec/rules.md §10. True for the agency's granting rows; `_ordered_rows` puts them after every zorgkas row."""
    return pl.col("kind") == "APPEAL_GRANT"


def _ordered_rows(cases: pl.LazyFrame) -> pl.LazyFrame:
    """The GRANT, END and APPEAL_GRANT rows with `_phase` (0: the zorgkas, 1: the agency, after every zorgkas row),
    `grants` (True: adds its months, False: removes them) and the received_date of the application or appeal it
    decides (null when it names none in the delivery, e.g. an application that predates the feed)."""
    received = cases.filter(pl.col("kind").is_in(["APPLICATION", "APPEAL"])).select(
        pl.col("record_id").alias("refers_to"), "insz", "budget", pl.col("received_date").alias("_received")
    )
    return (
        cases.filter(m_grant() | m_end() | m_appeal())
        .join(received, on=["refers_to", "insz", "budget"], how="left")
        .select(
            "insz",
            "budget",
            "record_id",
            "decided_date",
            "first_month",
            "last_month",
            pl.when(m_appeal()).then(1).otherwise(0).cast(pl.Int8).alias("_phase"),
            (m_grant() | m_appeal()).alias("grants"),
            pl.when(m_grant() | m_appeal()).then(pl.col("_received")).alias("received_date"),
        )
    )


def _months_touched(rows: pl.LazyFrame, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """Each row with every month of the window [first, last] it touches (`month`): a grant its first_month ..
    last_month (open: to the end of the window), an END its first_month and every later month."""
    start = pl.max_horizontal("first_month", pl.lit(first))
    end = pl.when(pl.col("grants")).then(pl.col("last_month")).fill_null(pl.lit(last))
    end = pl.min_horizontal(end, pl.lit(last))
    return rows.filter(start <= end).with_columns(pl.date_ranges(start, end, "1mo").alias("month")).explode("month")


def granted_by_hand(cases: pl.LazyFrame | pl.DataFrame, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """The months of the window [first, last] (first days of months) granted by hand or on appeal, after applying
    M-GRANT, M-END and M-APPEAL to the valid case_decisions rows `cases` (the feed's columns).

    One row per (insz, budget, month) that holds by hand or on appeal, BY_HAND_COLUMNS: insz, budget, month (date,
    first day), record_id (the GRANT or APPEAL_GRANT that grants it: the last one in the order), on_appeal (True:
    granted by the agency, M-APPEAL), decided_date (of that row), received_date (of the APPLICATION or APPEAL it
    decides, its `refers_to`; null when it names none). Sorted by insz, budget, month.

    Not judged here: E-AFFILIATED and E-ALIVE (M-ENTITLED, pipelines/decide/decisions.py), and whether the rows
    are valid (the caller passes the feed's valid rows: a quarantined row holds the person, S-HOLD).
    """
    rows = _ordered_rows(cases.lazy())
    touched = _months_touched(rows, first, last)
    return (
        touched.sort("insz", "budget", "month", "_phase", "decided_date", "record_id")
        .unique(subset=["insz", "budget", "month"], keep="last", maintain_order=True)
        .filter("grants")
        .select(
            "insz",
            "budget",
            "month",
            "record_id",
            (pl.col("_phase") == 1).alias("on_appeal"),
            "decided_date",
            "received_date",
        )
        .sort("insz", "budget", "month")
    )


def by_hand_runs(months: pl.LazyFrame) -> pl.LazyFrame:
    """The months of `granted_by_hand` as runs of consecutive months of one person and budget granted by the same
    row: insz, budget, right_from, right_until (first and last month), record_id, on_appeal."""
    index = pl.col("month").dt.year().cast(pl.Int32) * 12 + pl.col("month").dt.month().cast(pl.Int32)
    key = ["insz", "budget", "record_id"]
    run = (index - pl.int_range(pl.len()).cast(pl.Int32)).over(key, order_by="month")
    return (
        months.with_columns(run.alias("_run"))
        .group_by(*key, "_run")
        .agg(
            pl.col("month").min().alias("right_from"),
            pl.col("month").max().alias("right_until"),
            pl.col("on_appeal").first(),
        )
        .select("insz", "budget", "right_from", "right_until", "record_id", "on_appeal")
    )
