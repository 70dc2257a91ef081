"""The trends of the runs: one row per committed run (docs/spec/outputs.md, "Run report": trends over the
previous runs).

Counts only, never an insz: the run's kind and key, its date, the active grants after it, its payment
rows and amount, the share of rows quarantined, its time in seconds and, for a night, its open applications
(those past their legal term included), those past their term and its open appeals (rules.md §10). Written in
the transaction that commits the run (publication protocol: `Built.change`), so a failed run leaves no row;
read by the next runs' reports (pipelines/emit/report.py TRENDS_COLUMNS).

The row's `seconds` is the run's time from its start to its commit, measured when the row is written;
the report of the run itself, written before, shows only the steps up to the files.

A state from before a column (the case counts came with issue 21) gets it on open (migration 7,
flows/state/migrations.py): its earlier rows hold null there, which the report leaves
out of the chart. The schema version stays: an older vsb reads the table by its column names.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.state.migrations import TREND_CASE_COLUMNS, sql_file
from flows.state.queries import query
from pipelines.emit.report import TRENDS_COLUMNS

TABLE = sql_file("006_run_trends.sql")  # the table as first made (migration 6)
ADDED = TREND_CASE_COLUMNS  # columns added since (migration 7)
COLUMNS = (
    "kind", "run_key", "run_date", "active_grants", "payment_rows", "payment_amount", "quarantine_rate", "seconds",
    *(name for name, _ in ADDED),
)  # fmt: skip
HISTORY = 400  # runs shown: more than a year of nights


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
    params = {"kind": kind, "run_key": run_key, "run_date": run_date, "history": HISTORY}
    table = con.sql(query("earlier_trends"), params=params).to_arrow_table()
    frame = pl.from_arrow(table) if table.num_rows else pl.DataFrame(schema=TRENDS_COLUMNS)
    return frame.select([pl.col(c).cast(t) for c, t in TRENDS_COLUMNS.items()]).sort("run_date")
