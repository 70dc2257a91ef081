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

from flows.state.store import register
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

TABLES = """
CREATE TABLE IF NOT EXISTS grant_history (
    run_key VARCHAR NOT NULL,
    insz VARCHAR NOT NULL, zorgkas VARCHAR NOT NULL, budget VARCHAR NOT NULL,
    first_month DATE NOT NULL, last_month DATE, monthly_amount DECIMAL(12,2),
    grounds VARCHAR[], evidence VARCHAR[]
);
CREATE TABLE IF NOT EXISTS payment_ledger (
    insz VARCHAR NOT NULL, budget VARCHAR NOT NULL, month DATE NOT NULL,
    amount DECIMAL(12,2) NOT NULL, run_key VARCHAR NOT NULL, paid_on DATE NOT NULL,
    PRIMARY KEY (insz, budget, month)
);
CREATE TABLE IF NOT EXISTS recovery_ledger (
    insz VARCHAR NOT NULL, budget VARCHAR NOT NULL, month DATE NOT NULL,
    amount DECIMAL(12,2) NOT NULL, run_key VARCHAR NOT NULL, listed_on DATE NOT NULL,
    PRIMARY KEY (insz, budget, month)
);
"""
RECOVERABLE_COLUMNS = {c: t for c, t in LEDGER_COLUMNS.items() if c != "run_key"}


@register
def pay_once(con: duckdb.DuckDBPyConnection) -> None:
    """PAY-ONCE: the payment ledger holds one row per (insz, budget, month) and per (insz, school year) for
    absence budgets: no month is ever paid twice, whatever reruns, backfills or crashes happen.

    docs/spec/rules.md §8. The ledger's primary key (absence budgets: budget ZZB-ABSENCE, month the 31 August that
    ends the school year) refuses a second row, so a second payment of a month can never be committed;
    `pay_month` pays only what the ledger does not hold, and `record_run` writes what a run paid in the
    transaction that commits the run. Created with the state (flows/state/store.py `register`).
    """
    con.execute(TABLES)


def frame_of(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict, schema: dict) -> pl.DataFrame:
    """A query's result with exactly `schema` (an empty result keeps its types)."""
    got = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    if got.height == 0:
        return pl.DataFrame(schema=schema)
    return got.select([pl.col(c).cast(t) for c, t in schema.items()])


def not_before(con: duckdb.DuckDBPyConnection, run_key: str) -> list[str]:
    """The run keys whose rows the run `run_key` does not see: its own, and those of the nightly runs
    committed after it (none, unless `run_key` is a rerun of a date before the latest night)."""
    later = con.sql(
        "SELECT run_key FROM runs WHERE kind = 'nightly' AND seq > "
        "(SELECT seq FROM runs WHERE kind = 'nightly' AND run_key = ?) ORDER BY seq",
        params=[run_key],
    ).fetchall()
    return [run_key, *(r[0] for r in later)]


def previous_grants(con: duckdb.DuckDBPyConnection, unseen: list[str]) -> pl.DataFrame:
    """The grants of the latest nightly run committed before this one."""
    latest = con.sql(
        "SELECT run_key FROM runs WHERE kind = 'nightly' AND NOT list_contains(?, run_key) ORDER BY seq DESC LIMIT 1",
        params=[unseen],
    ).fetchall()
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
    `record_run` writes, and what the run exports for `vsb rebuild-state`: flows/state/export.py)."""
    ledger = settlement.payments.select(
        "insz", "budget", "month", "amount", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("paid_on")
    )
    recovered = settlement.recoveries.select(
        "insz", "budget", "month", "amount", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("listed_on")
    )
    grants = settlement.grants.select(pl.lit(run_key).alias("run_key"), *GRANT_COLUMNS)
    return {"grant_history": grants, "payment_ledger": ledger, "recovery_ledger": recovered}


def record_run(con: duckdb.DuckDBPyConnection, run_key: str, run_date: dt.date, settlement: Settlement) -> None:
    """The run's state change, inside the transaction that commits the run (flows/publication/protocol.py):
    its grants, payments and recoveries.

    Rows of an earlier attempt of the same run key (a crash after the commit, before the
    publication) are replaced by the same rows.
    """
    rows = run_rows(run_key, run_date, settlement)
    grants, ledger, recovered = rows["grant_history"], rows["payment_ledger"], rows["recovery_ledger"]
    for table in ("grant_history", "payment_ledger", "recovery_ledger"):
        con.execute(f"DELETE FROM {table} WHERE run_key = ?", [run_key])
    con.register("new_grants", grants.to_arrow())
    con.register("new_ledger", ledger.to_arrow())
    con.register("new_recovered", recovered.to_arrow())
    try:
        con.execute("INSERT INTO grant_history SELECT * FROM new_grants")
        con.execute("INSERT INTO payment_ledger SELECT * FROM new_ledger")  # the primary key refuses a second payment
        con.execute("INSERT INTO recovery_ledger SELECT * FROM new_recovered")
    finally:
        for name in ("new_grants", "new_ledger", "new_recovered"):
            con.unregister(name)
