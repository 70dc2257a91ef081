"""The nightly run's state: runs, grant history, the payment ledger and the recoveries listed.

PAY-ONCE: the payment ledger holds one row per (insz, budget, month) (absence budgets: budget
ZZB-ABSENCE, month the 31 August that ends the school year); its primary key makes a second
payment of a month impossible, whatever reruns, backfills or crashes happen. A run reads the
state as it was before the run itself: the rows of its own run key, and of the nightly runs
committed after it, are left out (`not_before`). So a rerun after a crash between the state
commit and the publication computes exactly the same files, and so does the rerun of a published
date after later nights (a no-op when its deliveries did not change).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.state.store import register
from pipelines.settle.grants import GRANT_COLUMNS
from pipelines.settle.payments import LEDGER_COLUMNS, OWED_COLUMNS
from pipelines.settle.settlement import Previous, Settlement

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


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict, schema: dict) -> pl.DataFrame:
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


def previous_state(
    con: duckdb.DuckDBPyConnection, run_key: str, ledger_of: pl.DataFrame | None = None, since: dt.date | None = None
) -> Previous:
    """The state before the run `run_key`: the grants of the latest nightly run committed before it, the
    ledgers without the rows of `run_key` and of the runs after it (`not_before`). `ledger_of` (insz): read
    the payment ledger of these persons only (a night without payments needs it only for the members without
    a valid IBAN). `since`: only ledger months from this month on (the evaluation window: older months are
    never paid or recovered again, so the ledger read stays the size of the window however long the engine
    runs)."""
    months = "AND l.month >= ?" if since else ""
    extra = [since] if since else []
    unseen = not_before(con, run_key)
    latest = con.sql(
        "SELECT run_key FROM runs WHERE kind = 'nightly' AND NOT list_contains(?, run_key) ORDER BY seq DESC LIMIT 1",
        params=[unseen],
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
            f"SELECT {', '.join('l.' + c for c in LEDGER_COLUMNS)} FROM payment_ledger l "
            f"WHERE NOT list_contains(?, l.run_key) {months}",
            [unseen, *extra],
            LEDGER_COLUMNS,
        )
    else:
        con.register("ledger_persons", ledger_of.select("insz").unique().to_arrow())
        ledger = _frame(
            con,
            f"SELECT {', '.join('l.' + c for c in LEDGER_COLUMNS)} FROM payment_ledger l "
            f"SEMI JOIN ledger_persons p ON l.insz = p.insz WHERE NOT list_contains(?, l.run_key) {months}",
            [unseen, *extra],
            LEDGER_COLUMNS,
        )
        con.unregister("ledger_persons")
    recovered = _frame(
        con,
        "SELECT insz, budget, month FROM recovery_ledger WHERE NOT list_contains(?, run_key)",
        [unseen],
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
    settlement: Settlement,
) -> None:
    """The run's state change, inside the transaction that commits the run (flows/publication/protocol.py
    `commit_and_publish`): its grants, payments and recoveries.

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


def ledger_differences(
    con: duckdb.DuckDBPyConnection,
    run_key: str,
    periods: pl.DataFrame,
    absences: pl.DataFrame,
    window_first: dt.date,
    through: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PAY-MONTH and PAY-RECOVERY against the ledger, inside DuckDB where the ledger lives.

    unpaid: the entitled months (up to `through`) and due absence budgets not in the ledger;
    recoverable: the paid months of [window_first, through] that are neither entitled nor due now,
    and not yet listed as recoveries. The same sets as pipelines/settle/payments.py pay_month and
    pay_recovery compute from a ledger frame (tests/test_publication.py runs this path), without
    holding 24 months of ledger and entitled months in memory.
    """
    entitled = periods.filter(pl.col("entitled") & (pl.col("first_month") <= through)).select(
        "insz",
        "zorgkas",
        "budget",
        "first_month",
        pl.min_horizontal("last_month", pl.lit(through)).alias("last_month"),
        "monthly_amount",
    )
    due = absences.filter("due").select("insz", "zorgkas", "month", "quantity", "amount")
    unseen = not_before(con, run_key)
    con.register("entitled_periods", entitled.to_arrow())
    con.register("due_absences", due.to_arrow())
    try:
        unpaid = _frame(
            con,
            """
                WITH months AS (
                    SELECT e.insz, e.zorgkas, e.budget, CAST(m.month AS DATE) AS month, CAST(1 AS BIGINT) AS quantity,
                           e.monthly_amount AS amount
                    FROM entitled_periods e,
                         LATERAL (SELECT unnest(generate_series(CAST(e.first_month AS TIMESTAMP),
                                                                CAST(e.last_month AS TIMESTAMP),
                                                                INTERVAL 1 MONTH)) AS month) m
                    UNION ALL
                    SELECT insz, zorgkas, 'ZZB-ABSENCE', month, quantity, amount FROM due_absences
                )
                SELECT m.* FROM months m
                ANTI JOIN (SELECT insz, budget, month FROM payment_ledger WHERE NOT list_contains($unseen, run_key)) l
                  ON l.insz = m.insz AND l.budget = m.budget AND l.month = m.month
                WHERE m.month >= $first
                """,
            {"unseen": unseen, "first": window_first},
            OWED_COLUMNS,
        )
        recoverable = _frame(
            con,
            """
                SELECT l.insz, l.budget, l.month, l.amount, l.paid_on
                FROM payment_ledger l
                WHERE NOT list_contains($unseen, l.run_key) AND l.month BETWEEN $first AND $through
                  AND NOT EXISTS (SELECT 1 FROM entitled_periods e
                                  WHERE e.insz = l.insz AND e.budget = l.budget
                                    AND l.month BETWEEN e.first_month AND e.last_month)
                  AND NOT EXISTS (SELECT 1 FROM due_absences a
                                  WHERE l.budget = 'ZZB-ABSENCE' AND a.insz = l.insz AND a.month = l.month)
                  AND NOT EXISTS (SELECT 1 FROM recovery_ledger r
                                  WHERE NOT list_contains($unseen, r.run_key) AND r.insz = l.insz
                                    AND r.budget = l.budget
                                    AND r.month = l.month)
                """,
            {"unseen": unseen, "first": window_first, "through": through},
            {c: t for c, t in LEDGER_COLUMNS.items() if c != "run_key"},
        )
    finally:
        con.unregister("entitled_periods")
        con.unregister("due_absences")
    return unpaid, recoverable
