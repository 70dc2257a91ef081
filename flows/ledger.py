"""The nightly run's state: runs, grant history, the payment ledger and the recoveries listed.

PAY-ONCE: the payment ledger holds one row per (insz, budget, month) (absence budgets: budget
ZZB-ABSENCE, month the 31 August that ends the school year); its primary key makes a second
payment of a month impossible, whatever reruns, backfills or crashes happen. A run reads the
state as it was before the run itself (rows of its own run key are left out), so that a rerun
after a crash between the state commit and the publication computes exactly the same files.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.state import register, transaction
from pipelines.grants import GRANT_COLUMNS
from pipelines.payments import LEDGER_COLUMNS
from pipelines.settle import Previous, Settlement

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


@register
def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list, schema: dict) -> pl.DataFrame:
    got = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    if got.height == 0:
        return pl.DataFrame(schema=schema)
    return got.select([pl.col(c).cast(t) for c, t in schema.items()])


def previous_state(
    con: duckdb.DuckDBPyConnection, run_key: str, ledger_of: pl.DataFrame | None = None, since: dt.date | None = None
) -> Previous:
    """The state before the run `run_key`: the grants of the latest other nightly run, the ledgers without
    the rows of `run_key` itself. `ledger_of` (insz): read the payment ledger of these persons only
    (a night without payments needs it only for the members without a valid IBAN). `since`: only ledger
    months from this month on (the evaluation window: older months are never paid or recovered again,
    so the ledger read stays the size of the window however long the engine runs)."""
    months = "AND l.month >= ?" if since else ""
    extra = [since] if since else []
    latest = con.sql(
        "SELECT run_key FROM runs WHERE kind = 'nightly' AND run_key <> ? ORDER BY seq DESC LIMIT 1", params=[run_key]
    ).fetchall()
    grants = _frame(
        con,
        f"SELECT {', '.join(GRANT_COLUMNS)} FROM grant_history WHERE run_key = ?",
        [latest[0][0] if latest else ""],
        GRANT_COLUMNS,
    )
    if ledger_of is None:
        ledger = _frame(
            con,
            f"SELECT {', '.join('l.' + c for c in LEDGER_COLUMNS)} FROM payment_ledger l WHERE l.run_key <> ? {months}",
            [run_key, *extra],
            LEDGER_COLUMNS,
        )
    else:
        con.register("ledger_persons", ledger_of.select("insz").unique().to_arrow())
        ledger = _frame(
            con,
            f"SELECT {', '.join('l.' + c for c in LEDGER_COLUMNS)} FROM payment_ledger l "
            f"SEMI JOIN ledger_persons p ON l.insz = p.insz WHERE l.run_key <> ? {months}",
            [run_key, *extra],
            LEDGER_COLUMNS,
        )
        con.unregister("ledger_persons")
    recovered = _frame(
        con,
        "SELECT insz, budget, month FROM recovery_ledger WHERE run_key <> ?",
        [run_key],
        {"insz": pl.String, "budget": pl.String, "month": pl.Date},
    )
    return Previous(grants, ledger, recovered)


def earlier_payment_run(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> bool:
    """Whether a nightly run of an earlier date in the same month was already the payment run."""
    found = con.sql(
        "SELECT count(*) FROM runs WHERE kind = 'nightly' AND payment_run AND run_date >= ? AND run_date < ?",
        params=[run_date.replace(day=1), run_date],
    ).fetchall()
    return bool(found[0][0])


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_key: str,
    run_date: dt.date,
    folder: str,
    manifest_sha256: str,
    payment_run: bool,
    settlement: Settlement,
) -> None:
    """The run's state change, in one transaction: its grants, payments and recoveries, and the run itself.

    Rows of an earlier attempt of the same run key (a crash after the commit, before the
    publication) are replaced by the same rows.
    """
    ledger = settlement.payments.select(
        "insz", "budget", "month", "amount", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("paid_on")
    )
    recovered = settlement.recoveries.select(
        "insz", "budget", "month", "amount", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("listed_on")
    )
    grants = settlement.grants.select(pl.lit(run_key).alias("run_key"), *GRANT_COLUMNS)
    with transaction(con):
        for table in ("grant_history", "payment_ledger", "recovery_ledger"):
            con.execute(f"DELETE FROM {table} WHERE run_key = ?", [run_key])
        con.execute("DELETE FROM runs WHERE kind = 'nightly' AND run_key = ?", [run_key])
        con.register("new_grants", grants.to_arrow())
        con.register("new_ledger", ledger.to_arrow())
        con.register("new_recovered", recovered.to_arrow())
        con.execute("INSERT INTO grant_history SELECT * FROM new_grants")
        con.execute("INSERT INTO payment_ledger SELECT * FROM new_ledger")  # the primary key refuses a second payment
        con.execute("INSERT INTO recovery_ledger SELECT * FROM new_recovered")
        con.execute(
            "INSERT INTO runs SELECT 'nightly', ?, ?, ?, ?, coalesce(max(seq), 0) + 1, ? FROM runs",
            [run_key, folder, manifest_sha256, run_date, payment_run],
        )
        for name in ("new_grants", "new_ledger", "new_recovered"):
            con.unregister(name)
