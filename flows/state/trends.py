"""The trends of the runs: one row per committed run (docs/spec/outputs.md, "Run report": trends over the
previous runs).

Counts only, never an insz: the run's kind and key, its date, the active grants after it, its payment
rows and amount, the share of rows quarantined, its time in seconds and, for a night, its open applications
(those past their legal term included), those past their term and its open appeals (rules.md §10). Written in
the transaction that commits the run (publication protocol: `Built.change`), so a failed run leaves no row;
read by the next runs' reports (pipelines/emit/report.py TRENDS_COLUMNS).

The row's `seconds` is the run's time from its start to its commit, measured when the row is written;
the report of the run itself, written before, shows only the steps up to the files.

A state from before a column (the case counts came with issue 21) gets it on open (`ensure_trends`, as
flows/state/store.py `ensure_runs` adds `published`): its earlier rows hold null there, which the report leaves
out of the chart. The schema version stays: an older vsb reads the table by its column names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import polars as pl

from flows.state.store import register
from pipelines.emit.report import TRENDS_COLUMNS

TABLE = """
CREATE TABLE IF NOT EXISTS run_trends (
    kind VARCHAR NOT NULL,          -- nightly, invoices, fines
    run_key VARCHAR NOT NULL,       -- as in runs
    run_date DATE NOT NULL,
    active_grants BIGINT,           -- open grants after the run (nightly)
    payment_rows BIGINT,            -- payment runs
    payment_amount DECIMAL(18,2),
    quarantine_rate DOUBLE,         -- quarantined rows / rows read
    seconds DOUBLE,                 -- from the start of the run to its commit
    PRIMARY KEY (kind, run_key)
);
"""
# columns added since the table was first created, in order: (name, type); a state from before gets them on open
ADDED = (
    ("applications_open", "BIGINT"),  # nightly: open applications, those past their legal term included
    ("applications_overdue", "BIGINT"),  # nightly: open applications past their legal term
    ("appeals_open", "BIGINT"),  # nightly: open appeals
)
COLUMNS = (
    "kind", "run_key", "run_date", "active_grants", "payment_rows", "payment_amount", "quarantine_rate", "seconds",
    *(name for name, _ in ADDED),
)  # fmt: skip
HISTORY = 400  # runs shown: more than a year of nights


@register
def ensure_trends(con: duckdb.DuckDBPyConnection) -> None:
    """The table; a state from before a column of ADDED gets it (null in its earlier rows)."""
    con.execute(TABLE)
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = 'run_trends'"
    present = {c for (c,) in con.execute(query).fetchall()}
    for name, kind in ADDED:
        if name not in present:
            con.execute(f"ALTER TABLE run_trends ADD COLUMN {name} {kind}")


def record_trend(con: duckdb.DuckDBPyConnection, kind: str, run_key: str, row: dict) -> None:
    """The run's row (TRENDS_COLUMNS but kind), replacing an earlier attempt's: inside the run's transaction."""
    con.execute("DELETE FROM run_trends WHERE kind = ? AND run_key = ?", [kind, run_key])
    values = {"kind": kind, "run_key": run_key, "run_date": row["run_date"]}
    con.execute(
        f"INSERT INTO run_trends ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [values.get(c, row.get(c)) for c in COLUMNS],
    )


def earlier_trends(con: duckdb.DuckDBPyConnection, kind: str, run_key: str, run_date: dt.date) -> pl.DataFrame:
    """The trends of the committed runs of `kind` up to `run_date`, but this run's own key (TRENDS_COLUMNS)."""
    table = con.sql(
        "SELECT run_date, kind, active_grants, payment_rows, payment_amount::DOUBLE AS payment_amount, "
        "quarantine_rate, seconds, applications_open, applications_overdue, appeals_open FROM run_trends "
        "WHERE kind = ? AND run_key <> ? AND run_date <= ? "
        "ORDER BY run_date DESC, run_key DESC LIMIT ?",
        params=[kind, run_key, run_date, HISTORY],
    ).to_arrow_table()
    frame = pl.from_arrow(table) if table.num_rows else pl.DataFrame(schema=TRENDS_COLUMNS)
    return frame.select([pl.col(c).cast(t) for c, t in TRENDS_COLUMNS.items()]).sort("run_date")


def with_trend(
    change: Callable[[duckdb.DuckDBPyConnection], None], kind: str, run_key: str, row: dict, started: float
) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """The run's state change and its trends row, in one transaction; `seconds` counted from `started`
    (time.perf_counter) to the commit."""
    import time

    def both(con: duckdb.DuckDBPyConnection) -> None:
        change(con)
        record_trend(con, kind, run_key, row | {"seconds": round(time.perf_counter() - started, 3)})

    return both
