"""The letters' state: the request letters sent (docs/spec/rules.md §9, L-REQUEST), and who may get a letter.

letters_ledger: one row per (insz, code, since) whose request letter a nightly run sent: a request for
W-IBAN-MISSING, W-CHECK-RESIDENCE, W-APPLY-SPECIAL or W-APPLY-FACILITY goes out in the run in which its
work-list row first appears, and not again while the row stays (`requests_sent`). The rows are written in
the transaction that commits the run (flows/state/state.py `State.record`: an earlier attempt's rows replaced,
a row a later night already holds kept, as that letter went out), like the payment ledger; a run reads the
ledger as it was before the run itself (flows/state/ledger.py `not_before`), so a rerun of the same run key
sends the same letters again.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.state.ledger import frame_of, not_before
from flows.state.queries import query

REQUEST_KEY = {"insz": pl.String, "code": pl.String, "since": pl.Date}


def requests_sent(
    con: duckdb.DuckDBPyConnection, run_key: str, wanted: pl.DataFrame, window_first: dt.date
) -> pl.DataFrame:
    """The (insz, code, since) of `wanted` whose request letter an earlier run sent (REQUEST_KEY): the ledger
    without the rows of the run `run_key` itself and of the nightly runs committed after it.

    A work-list row whose since is the first month of the evaluation window began before the window (the
    decisions see no further back: W-IBAN-MISSING's first unpaid month, W-CHECK-RESIDENCE's first month), so
    its since moves with the window every month while the row stays: it is the request already sent with a
    since on or before that month. A row that came back after a break starts inside the window: a new since.
    """
    con.register("wanted_requests", wanted.select(list(REQUEST_KEY)).unique().to_arrow())
    try:
        params = {"window_first": window_first, "unseen": not_before(con, run_key)}
        return frame_of(con, query("l_request_sent"), params, REQUEST_KEY)
    finally:
        con.unregister("wanted_requests")


def request_rows(run_key: str, run_date: dt.date, sent: pl.DataFrame) -> pl.DataFrame:
    """The run's rows of the letters ledger, in the table's column order."""
    return sent.select(*REQUEST_KEY, "letter_id", pl.lit(run_key).alias("run_key"), pl.lit(run_date).alias("sent_on"))


def letter_persons(con: duckdb.DuckDBPyConnection, run_key: str, window_first: dt.date, payments: bool) -> pl.DataFrame:
    """Persons (insz) the state says may get a letter in the run `run_key` though this run decided nothing for
    them: those with a grant in the latest nightly run or in the run before `run_key` (a cancelled grant), and
    on a payment run those paid for a month of the window (a recovery). A superset: the run takes their names
    and addresses before it lets the members feed go."""
    sql, params = query("letter_persons"), {"unseen": not_before(con, run_key)}
    if payments:
        sql += "\nUNION SELECT DISTINCT insz FROM payment_ledger WHERE month >= $window_first"
        params["window_first"] = window_first
    return frame_of(con, sql, params, {"insz": pl.String})


def granted_evidence(con: duckdb.DuckDBPyConnection, run_key: str, recovered: pl.DataFrame) -> pl.DataFrame:
    """(insz, budget, evidence): the records ("feed:record id") the grants that paid the `recovered` months rested
    on, as the latest earlier nightly run that granted each month recorded them (the grant history; not the runs
    the run `run_key` does not see). L-REASON: a recovery letter names what changed since."""
    schema = {"insz": pl.String, "budget": pl.String, "evidence": pl.String}
    if recovered.height == 0:
        return pl.DataFrame(schema=schema)
    con.register("recovered_months", recovered.select("insz", "budget", "month").unique().to_arrow())
    try:
        return frame_of(con, query("l_reason_granted_evidence"), {"unseen": not_before(con, run_key)}, schema)
    finally:
        con.unregister("recovered_months")
