"""`State`: the one door to the state (an embedded DuckDB file, `--state`, default state/vsb.duckdb).

A run opens it once (`State.open`): the state's lock is taken first (a second run exits at once, naming
this one), then one connection, opened when first used, created and migrated (flows/state/migrations.py), and
closed when the run ends. A run command opens it before its flow starts; the flow's own `State.open` of the same
path is then that same State: one lock and one open per run, however many nights a backfill runs. Read-only
looks (`State.read_only`) take no lock and change nothing.

Nothing outside flows/state/ holds the connection: the runs ask by name. `before(ctx, run_key)` is the state as it
was before the run (`Before`: what earlier runs granted, paid and sent, and whether this night is the month's
payment run, decided once); `record(change)` writes a run's `Change` (its rows of each table, its letter numbers
and trends row) inside `transaction()`, with `record_run_row`, when the publication protocol commits the run
(flows/publication/protocol.py). The SQL of more than a line is in flows/state/queries/ and flows/state/sql/.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import polars as pl

from flows.state import export, ledger, letter_numbers, letters_ledger, premium_ledger, trends
from flows.state.migrations import columns_of
from flows.state.queries import query
from flows.state.store import (
    check_marker,
    check_state_file,
    connect,
    hold_state,
    lock_path,
    open_connection,
    state_errors,
)
from flows.state.store import transaction as in_transaction
from pipelines.settle.payments import is_payment_run
from pipelines.settle.settlement import Previous

# tables whose rows a later run may already hold (a request letter sent by a later night): INSERT OR IGNORE
IGNORE_DUPLICATES = {"letters_ledger"}
RUN_KIND_TABLES = ("runs", "run_trends")  # their `kind` is the run's (elsewhere a run key names one kind's run)
_OPEN: dict[str, State] = {}  # lock file -> the State this process holds open on it


@dataclass(frozen=True)
class Change:
    """A run's state change, committed with it: its rows of each table (in the tables' columns: what the run
    exports in `_state/` for `vsb rebuild-state`), its letter numbers and its trends row."""

    kind: str
    run_key: str
    run_date: dt.date
    tables: dict[str, pl.DataFrame]
    replaces: bool = True  # an earlier attempt's rows of the run key go first (premium ledgers: only added to)
    letter_numbers: pl.DataFrame | None = None  # zorgkas, kind, last_number (nightly)
    trend: dict | None = None  # the trends row (TRENDS_COLUMNS but kind)
    started: float | None = None  # time.perf_counter at the run's start: the trend's seconds count to the commit


class State:
    """The state of one run (module docstring); `State.open` or `State.read_only` make it."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None

    @classmethod
    @contextmanager
    def open(cls, path: Path, kind: str, run: str) -> Iterator[State]:
        """The run's state: its lock held (`kind` and `run` describe the run to whoever finds it in use), one
        connection; closed at the end. Within a block of the same path (a command opened it before its flow
        started): that same State."""
        key = os.path.abspath(lock_path(path))
        if key in _OPEN:
            yield _OPEN[key]
            return
        with hold_state(Path(path), kind, run):
            state = _OPEN[key] = cls(path)
            try:
                with state_errors(state.path, (duckdb.Error,)):  # the state's failures in one line naming it
                    yield state
            finally:
                del _OPEN[key]
                state.close()

    @classmethod
    @contextmanager
    def read_only(cls, path: Path) -> Iterator[State]:
        """A look at the state without its lock: nothing created, migrated or written."""
        state = cls(path, read_only=True)
        try:
            yield state
        finally:
            state.close()

    @staticmethod
    def check(path: Path) -> None:
        """Refuse, in one line naming it, a file that cannot be a vsb state (flows/state/store.py)."""
        check_state_file(Path(path))

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.read_only:
                self._con = connect(self.path, read_only=True)
                check_marker(self._con, self.path)
            else:
                self._con = open_connection(self.path)
        return self._con

    def close(self) -> None:
        """Close the connection (a later question opens it again)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    # --- reading ----------------------------------------------------------------------------------------

    def before(self, ctx, run_key: str | None = None) -> Before:
        """The state before the run of `ctx` as `run_key` (default: the run date, a night's first version)."""
        nightly = ctx.kind == "nightly"
        payment_run = nightly and is_payment_run(
            ctx.run_date, ctx.params.payment_day, self.earlier_payment_run(ctx.run_date)
        )
        return Before(self, run_key or ctx.run_date.isoformat(), ctx.run_date, payment_run)

    def earlier_payment_run(self, run_date: dt.date) -> bool:
        return ledger.earlier_payment_run(self.con, run_date)

    def holds_runs(self) -> bool:
        """Whether the state holds any run (committed, published or not)."""
        tables = {t for (t,) in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        return "runs" in tables and self.con.execute("SELECT count(*) FROM runs").fetchall()[0][0] > 0

    def unpublished(self) -> list[tuple]:
        """(kind, run_key, folder, manifest_sha256, run_date) of the runs committed but not published."""
        sql = "SELECT kind, run_key, folder, manifest_sha256, run_date FROM runs WHERE NOT published ORDER BY seq, kind"
        return self.con.sql(sql).fetchall()

    def folders(self) -> set[str]:
        """The folders of every run the state knows."""
        return {r[0] for r in self.con.sql("SELECT folder FROM runs").fetchall()}

    def night_dates(self) -> set[dt.date]:
        """The dates of the nightly runs committed."""
        return {r[0] for r in self.con.sql("SELECT DISTINCT run_date FROM runs WHERE kind = 'nightly'").fetchall()}

    def the_run(self, kind: str, day: dt.date) -> tuple | None:
        """(kind, run_key, folder, manifest_sha256, run_date, seq) of the latest run of `kind` dated `day`."""
        found = self.con.execute(query("the_run"), {"kind": kind, "day": day}).fetchall()
        return found[0] if found else None

    def latest_run(self, kind: str) -> tuple | None:
        """(kind, run_key, run_date) of the latest run of `kind`."""
        sql = "SELECT kind, run_key, run_date FROM runs WHERE kind = ? ORDER BY seq DESC LIMIT 1"
        found = self.con.execute(sql, [kind]).fetchall()
        return found[0] if found else None

    def run_after(self, seq: int) -> tuple | None:
        """(kind, run_key, run_date) of the latest run committed after the run `seq`."""
        sql = "SELECT kind, run_key, run_date FROM runs WHERE seq > ? ORDER BY seq DESC LIMIT 1"
        found = self.con.execute(sql, [seq]).fetchall()
        return found[0] if found else None

    # --- writing ----------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with in_transaction(self.con):
            yield

    def record(self, change: Change) -> None:
        """The run's change, inside `transaction()`: each table's rows (an earlier attempt's of the same run key
        replaced, unless the change only adds), its letter numbers, its trends row (`seconds` up to now)."""
        for table, rows in change.tables.items():
            if change.replaces:
                self.con.execute(f'DELETE FROM "{table}" WHERE run_key = ?', [change.run_key])
            self.insert(table, rows)
        if change.letter_numbers is not None:
            letter_numbers.record_letter_numbers(self.con, change.run_key, change.run_date, change.letter_numbers)
        if change.trend is not None:
            seconds = {} if change.started is None else {"seconds": round(time.perf_counter() - change.started, 3)}
            trends.record_trend(self.con, change.kind, change.run_key, change.trend | seconds)

    def insert(self, table: str, rows: pl.DataFrame) -> None:
        self.con.register("new_rows", rows.to_arrow())
        try:
            ignore = "OR IGNORE " if table in IGNORE_DUPLICATES else ""
            columns = ", ".join(f'"{c}"' for c in rows.columns)
            self.con.execute(f'INSERT {ignore}INTO "{table}" ({columns}) SELECT {columns} FROM new_rows')
        finally:
            self.con.unregister("new_rows")

    def record_run_row(self, kind: str, run_key: str, folder: str, digest: str, run_date, payment_run: bool) -> None:
        """The run's row, committed with its change, not yet published; an earlier attempt's row is replaced."""
        self.con.execute("DELETE FROM runs WHERE kind = ? AND run_key = ?", [kind, run_key])
        params = {"kind": kind, "run_key": run_key, "folder": folder, "manifest_sha256": digest}
        self.con.execute(query("record_run_row"), params | {"run_date": run_date, "payment_run": payment_run})

    def add_published_run(self, info: dict, folder: str, digest: str) -> None:
        """A run rebuilt from its published folder (flows/state/rebuild.py): its row as it was, published."""
        self.con.execute(
            "INSERT INTO runs (kind, run_key, folder, manifest_sha256, run_date, seq, payment_run, published) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, true)",
            [info["kind"], info["run_key"], folder, digest, info["run_date"], info["seq"], info["payment_run"]],
        )

    def mark_published(self, kind: str, run_key: str) -> None:
        self.con.execute("UPDATE runs SET published = true WHERE kind = ? AND run_key = ?", [kind, run_key])

    def remove_run(self, kind: str, run_key: str) -> None:
        """Every row of the run, inside `transaction()` (`vsb withdraw`): each table with a run_key loses the rows
        of this run; `runs` and `run_trends` also match the kind."""
        tables = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
        for (table,) in tables:
            if "run_key" not in columns_of(self.con, table):
                continue
            if table in RUN_KIND_TABLES:
                self.con.execute(f'DELETE FROM "{table}" WHERE kind = ? AND run_key = ?', [kind, run_key])
            else:
                self.con.execute(f'DELETE FROM "{table}" WHERE run_key = ?', [run_key])


@dataclass(frozen=True)
class Before:
    """The state as it was before the run `run_key` (its own rows and those of the nightly runs committed after
    it left out: flows/state/ledger.py `not_before`), asked by name; the ledgers stay in DuckDB."""

    state: State = field(repr=False)
    run_key: str
    run_date: dt.date
    payment_run: bool  # the month's payment run (PAY-MONTH): decided once, when the run starts

    def of(self, run_key: str) -> Before:
        """The same state before the run as another version of its key (`2026-11-26.v2`)."""
        return replace(self, run_key=run_key)

    def owed(self, periods: pl.DataFrame, absences: pl.DataFrame, window: tuple[dt.date, dt.date]) -> Previous:
        """The previous grants, what is owed and (payment run) what is to be recovered (flows/state/ledger.py)."""
        return ledger.previous(self.state.con, self.run_key, periods, absences, window, self.payment_run)

    def letter_persons(self, window_first: dt.date) -> pl.DataFrame:
        return letters_ledger.letter_persons(self.state.con, self.run_key, window_first, self.payment_run)

    def requests_sent(self, wanted: pl.DataFrame, window_first: dt.date) -> pl.DataFrame:
        return letters_ledger.requests_sent(self.state.con, self.run_key, wanted, window_first)

    def granted_evidence(self, recovered: pl.DataFrame) -> pl.DataFrame:
        return letters_ledger.granted_evidence(self.state.con, self.run_key, recovered)

    def letter_offsets(self) -> pl.DataFrame:
        return letter_numbers.letter_offsets(self.state.con, self.run_key, self.run_date)

    def trends(self, kind: str) -> pl.DataFrame:
        return trends.earlier_trends(self.state.con, kind, self.run_key, self.run_date)

    def seq(self, kind: str) -> int:
        return export.run_seq(self.state.con, kind, self.run_key)

    def invoices_of_year(self, year: int) -> pl.DataFrame:
        return premium_ledger.invoices_of_year(self.state.con, year)

    def last_reference_bases(self) -> pl.DataFrame:
        return premium_ledger.last_reference_bases(self.state.con)

    def fines_of_year(self, year: int) -> pl.DataFrame:
        return premium_ledger.fines_of_year(self.state.con, year)

    def premium_rows(self, table: str, new: pl.DataFrame) -> pl.DataFrame:
        return export.premium_rows(self.state.con, table, self.run_key, new)
