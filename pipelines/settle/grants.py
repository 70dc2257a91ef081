"""Grants and their events (docs/spec/rules.md §8, D-EVENTS), from the decided periods.

A grant is a maximal run of consecutive entitled months of one person and budget. Each run
compares its grants with the previous run's and emits NEW, CONTINUED, CHANGED, STOPPED or
CANCELLED.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.outputs import Grants, columns

EVENT_COLUMNS = columns(Grants)  # grants.parquet
EVENT_ORDER = list(EVENT_COLUMNS)
# a grant as the state keeps it (grant_history): the event without its kind and date
GRANT_COLUMNS = {c: t for c, t in EVENT_COLUMNS.items() if c not in ("event", "decided_on")}
BY_HAND = ["M-GRANT", "M-APPEAL"]  # docs/spec/rules.md M-ENTITLED: a grant's grounds name them where its month holds so


def _month_index(month: pl.Expr) -> pl.Expr:
    return month.dt.year().cast(pl.Int32) * 12 + month.dt.month().cast(pl.Int32)


def grants_of(periods: pl.DataFrame, run_date: dt.date) -> pl.DataFrame:
    """The grants of this run (`grant_events`): maximal runs of consecutive entitled months per person and budget.

    `last_month` is null when the run reaches the month of D (open grant); `grounds` are the G-
    codes holding in its latest month, and M-GRANT or M-APPEAL where that month holds by hand or on appeal
    (docs/spec/rules.md M-ENTITLED), and `monthly_amount` that month's amount; `evidence` the
    records of its latest month. Sorted once, then plain shifts: no list aggregation (which is
    slow on 7M members).
    """
    month_of_run = run_date.replace(day=1)
    entitled = periods.filter("entitled").sort("insz", "budget", "first_month")
    same_key = (pl.col("insz") == pl.col("insz").shift(1)) & (pl.col("budget") == pl.col("budget").shift(1))
    follows = _month_index(pl.col("first_month")) == _month_index(pl.col("last_month").shift(1)) + 1
    starts = ~(same_key & follows).fill_null(False)
    runs = entitled.with_columns(starts.cum_sum().alias("_grant"))
    first = runs.group_by("_grant").agg(pl.col("first_month").min().alias("_first"))
    latest = runs.filter(pl.col("_grant").is_last_distinct()).join(first, on="_grant")
    return latest.select(
        "insz",
        "zorgkas",
        "budget",
        pl.col("_first").alias("first_month"),
        pl.when(pl.col("last_month") >= month_of_run).then(None).otherwise(pl.col("last_month")).alias("last_month"),
        "monthly_amount",
        pl.col("holds").list.filter(pl.element().str.starts_with("G-") | pl.element().is_in(BY_HAND)).alias("grounds"),
        "evidence",
    ).sort("insz", "budget", "first_month")


def _overlaps(a_first: str, a_last: str, b_first: str, b_last: str, far: dt.date) -> pl.Expr:
    return (pl.col(a_first) <= pl.col(b_last).fill_null(far)) & (pl.col(b_first) <= pl.col(a_last).fill_null(far))


def _pairs(current: pl.DataFrame, prev: pl.DataFrame, far: dt.date) -> pl.DataFrame:
    """Every (current grant `_cur`, previous grant `_prev`) of one person and budget that overlap."""
    return (
        current.with_row_index("_cur")
        .join(prev.with_row_index("_prev"), on=["insz", "budget"], how="inner", suffix="_prev")
        .filter(_overlaps("first_month", "last_month", "first_month_prev", "last_month_prev", far))
    )


def _carried_over(current: pl.DataFrame, pairs: pl.DataFrame, window_first: dt.date) -> pl.DataFrame:
    """The current grants (with `_cur`), each cut by the start of the window keeping the first month of the
    earlier grant it continues."""
    carried = pairs.filter((pl.col("first_month") == window_first) & (pl.col("first_month_prev") < window_first))
    carried = carried.group_by("_cur").agg(pl.col("first_month_prev").min().alias("_carried"))
    return (
        current.with_row_index("_cur")
        .join(carried, on="_cur", how="left")
        .with_columns(pl.coalesce("_carried", "first_month").alias("first_month"))
        .drop("_carried")
    )


def _compared(current: pl.DataFrame, pairs: pl.DataFrame, far: dt.date) -> pl.DataFrame:
    """The current grants with `_equal` (equal to a previous grant it overlaps; null: it overlaps none) and
    `_was_open` (one of those previous grants was open)."""
    same = (
        (pl.col("first_month") == pl.col("first_month_prev"))
        & (pl.col("last_month").is_null() == pl.col("last_month_prev").is_null())
        & (pl.col("last_month").fill_null(far) == pl.col("last_month_prev").fill_null(far))
        & (pl.col("grounds") == pl.col("grounds_prev"))
        & (pl.col("monthly_amount") == pl.col("monthly_amount_prev"))
    )
    judged = pairs.with_columns(same.alias("_same"), pl.col("last_month_prev").is_null().alias("_prev_open"))
    per_current = judged.group_by("_cur").agg(
        pl.col("_same").any().alias("_equal"), pl.col("_prev_open").any().alias("_was_open")
    )
    return current.join(per_current, on="_cur", how="left")


def _event() -> pl.Expr:
    """The event of a compared current grant (`_compared`); null: a closed grant that did not change."""
    is_open = pl.col("last_month").is_null()
    return (
        pl.when(pl.col("_equal").is_null())
        .then(pl.lit("NEW"))
        .when(is_open & pl.col("_equal"))
        .then(pl.lit("CONTINUED"))
        .when(is_open)
        .then(pl.lit("CHANGED"))
        .when(pl.col("_was_open"))
        .then(pl.lit("STOPPED"))
        .when(~pl.col("_equal"))
        .then(pl.lit("CHANGED"))
    )


def grant_events(
    current: pl.DataFrame, previous: pl.DataFrame, run_date: dt.date, window_first: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """D-EVENTS: the events of this run against the previous run's grants, and the grants to keep.

    docs/spec/rules.md §8: a grant is a maximal run of consecutive entitled months of one person and budget
    (`grants_of`); each run compares its grants with the previous run's and emits NEW, CONTINUED, CHANGED,
    STOPPED or CANCELLED.

    NEW: overlaps no previous grant of that person and budget (also a closed grant in the past
    that late data revealed). CONTINUED: an open grant equal to a previous one. CHANGED:
    overlaps a previous grant and is open, but its first month, grounds or amount differ
    (local decision: a closed grant that overlaps a previous one and differs from it in any
    way is CHANGED too). STOPPED: a previous open grant is now closed. CANCELLED: a previous
    grant no longer overlaps any entitled month. Closed grants that did not change are not
    repeated. Previous grants that lie wholly before the evaluation window are out of reach:
    no event; a current grant that starts with the window continues the previous grant it
    overlaps, so it keeps that grant's first month.
    Returns (events with EVENT_COLUMNS, the current grants with first months carried over).
    """
    far = dt.date(9999, 12, 1)
    prev = previous.filter(pl.col("last_month").is_null() | (pl.col("last_month") >= window_first))
    pairs = _pairs(current, prev, far)
    current = _carried_over(current, pairs, window_first)
    pairs = pairs.drop("first_month").join(current.select("_cur", "first_month"), on="_cur")
    from_current = _compared(current, pairs, far).with_columns(_event().alias("event"))
    cancelled = (
        prev.with_row_index("_prev")
        .join(pairs.select("_prev").unique(), on="_prev", how="anti")
        .with_columns(pl.lit("CANCELLED").alias("event"))
    )
    events = pl.concat(
        [
            from_current.filter(pl.col("event").is_not_null()).select(list(GRANT_COLUMNS) + ["event"]),
            cancelled.select(list(GRANT_COLUMNS) + ["event"]),
        ]
    ).with_columns(pl.lit(run_date).alias("decided_on"))
    return (
        events.select(EVENT_ORDER).sort("zorgkas", "insz", "budget", "first_month", "event"),
        current.drop("_cur").select(list(GRANT_COLUMNS)),
    )
