"""The nightly run's state: grant history, the payment ledger and the recoveries listed.

A run reads the state as it was before the run itself: the rows of its own run key, and of the
nightly runs committed after it, are left out (`not_before`). So a rerun after a crash between
the state commit and the publication computes exactly the same files, and so does the rerun of a
published date after later nights (a no-op when its deliveries did not change).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.state.queries import query
from pipelines.settle.grants import GRANT_COLUMNS
from pipelines.settle.payments import (
    LEDGER_COLUMNS,
    MASK_MONTHS,
    OWED_COLUMNS,
    due_absences,
    entitled_periods,
    pay_month,
    pay_recovery,
)
from pipelines.settle.settlement import Previous, Settlement
from pipelines.timeline import add_months

RECOVERABLE_COLUMNS = {c: t for c, t in LEDGER_COLUMNS.items() if c != "run_key"}


def frame_of(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict, schema: dict) -> pl.DataFrame:
    """A query's result with exactly `schema` (an empty result keeps its types)."""
    got = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    if got.height == 0:
        return pl.DataFrame(schema=schema)
    return got.select([pl.col(c).cast(t) for c, t in schema.items()])


def not_before(con: duckdb.DuckDBPyConnection, run_key: str) -> list[str]:
    """The run keys whose rows the run `run_key` does not see: its own, and those of the nightly runs
    committed after it (none, unless `run_key` is a rerun of a date before the latest night)."""
    later = con.sql(query("not_before"), params={"run_key": run_key}).fetchall()
    return [run_key, *(r[0] for r in later)]


def previous_grants(con: duckdb.DuckDBPyConnection, unseen: list[str]) -> pl.DataFrame:
    """The grants of the latest nightly run committed before this one."""
    latest = con.sql(query("previous_grants"), params={"unseen": unseen}).fetchall()
    sql = f"SELECT {', '.join(GRANT_COLUMNS)} FROM grant_history WHERE run_key = ?"
    return frame_of(con, sql, [latest[0][0] if latest else ""], GRANT_COLUMNS)


def previous(
    con: duckdb.DuckDBPyConnection,
    run_key: str,
    periods: pl.DataFrame,
    absences: pl.DataFrame,
    window: tuple[dt.date, dt.date],
    payment_run: bool,
) -> Previous:
    """The state before the run `run_key`, and the set differences of this run's decisions with its ledger:
    what is owed (`pay_month`) and, on the payment run, what is to be recovered (`pay_recovery`).

    Computed inside DuckDB, where the ledger lives, without holding 24 months of ledger and entitled
    months in memory. `periods`, `absences`: this run's decisions (on a night without payments, only
    those of the members W-IBAN-MISSING looks at). `window`: the first month of the window and the month
    of the run (the payment month).
    """
    first, through = window
    if add_months(first, MASK_MONTHS - 1) < through:
        raise ValueError(f"an evaluation window of more than {MASK_MONTHS} months is not supported (pay_month)")
    unseen = not_before(con, run_key)
    con.register("entitled_periods", entitled_periods(periods, through).to_arrow())
    con.register("due_absences", due_absences(absences).to_arrow())
    try:
        owed = {"unseen": unseen, "first": first, "mask_months": MASK_MONTHS}
        unpaid = frame_of(con, pay_month(), owed, OWED_COLUMNS)
        recoverable = pl.DataFrame(schema=RECOVERABLE_COLUMNS)
        if payment_run:
            query = {"unseen": unseen, "first": first, "through": through}
            recoverable = frame_of(con, pay_recovery(), query, RECOVERABLE_COLUMNS)
    finally:
        con.unregister("entitled_periods")
        con.unregister("due_absences")
    return Previous(previous_grants(con, unseen), unpaid, recoverable)


def earlier_payment_run(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> bool:
    """Whether a nightly run of an earlier date in the same month was already the payment run."""
    found = con.sql(
        "SELECT count(*) FROM runs WHERE kind = 'nightly' AND payment_run AND run_date >= ? AND run_date < ?",
        params=[run_date.replace(day=1), run_date],
    ).fetchall()
    return bool(found[0][0])


def run_rows(run_key: str, run_date: dt.date, settlement: Settlement) -> dict[str, pl.DataFrame]:
    """The run's rows of grant_history, payment_ledger and recovery_ledger, in the tables' column order (what
    `State.record` writes, and what the run exports for `vsb rebuild-state`: flows/state/export.py)."""
    ledger = settlement.payments.select(
        "insz", "budget", "month", "amount", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("paid_on")
    )
    recovered = settlement.recoveries.select(
        "insz", "budget", "month", "amount", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("listed_on")
    )
    grants = settlement.grants.select(pl.lit(run_key).alias("run_key"), *GRANT_COLUMNS)
    return {"grant_history": grants, "payment_ledger": ledger, "recovery_ledger": recovered}
