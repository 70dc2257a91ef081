"""The state's one door (flows/state/state.py `State`, issue 19): numbered migrations recorded in `schema_version`,
a state file written before them opened and brought to the same tables with its rows, one lock and one
connection per run, and no connection outside flows/state/."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

import flows.state.store as store
from flows.state.migrations import LATEST, MIGRATIONS, TREND_CASE_COLUMNS, sql_file
from flows.state.state import State
from flows.state.store import StateInUse, connect
from tests.helpers.runs import PAYMENT_DAY, nightly, two_members

ROOT = Path(__file__).resolve().parents[2]
D = dt.date


def columns(path: Path) -> dict[str, list[tuple]]:
    """Every table's columns and types, in order."""
    with connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    found: dict[str, list[tuple]] = {}
    for table, column, kind in rows:
        found.setdefault(table, []).append((column, kind))
    return found


def older_state(path: Path) -> None:
    """A state as vsb wrote it before the migrations: the marker and every table made by `CREATE TABLE IF NOT
    EXISTS` on each open (the tables of sql/), the trends' case columns added by ALTER, no `schema_version`."""
    with connect(str(path)) as con:
        con.execute("CREATE TABLE vsb_state (schema_version INTEGER NOT NULL); INSERT INTO vsb_state VALUES (1)")
        for name in sorted(p.name for p in (ROOT / "flows" / "state" / "sql").glob("*.sql")):
            con.execute(sql_file(name))
        for column, kind in TREND_CASE_COLUMNS:
            con.execute(f"ALTER TABLE run_trends ADD COLUMN {column} {kind}")
        con.execute(
            "INSERT INTO runs VALUES ('nightly', '2026-11-26', 'nightly/2026-11-26', 'x', DATE '2026-11-26', 1, "
            "true, true)"
        )
        con.execute(
            "INSERT INTO payment_ledger VALUES ('85010112345', 'ZZB', DATE '2026-11-01', 140, '2026-11-26', "
            "DATE '2026-11-26')"
        )


def test_a_new_state_has_every_migration_in_order(tmp_path):
    with State.open(tmp_path / "vsb.duckdb", "nightly", "2026-11-26") as state:
        assert not state.holds_runs()
    with connect(str(tmp_path / "vsb.duckdb"), read_only=True) as con:
        applied = con.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    assert applied == [(m.version, m.name) for m in MIGRATIONS] and applied[-1][0] == LATEST


def test_a_state_from_before_the_migrations_opens_with_its_rows_and_the_tables_of_a_new_one(tmp_path):
    older, new = tmp_path / "older.duckdb", tmp_path / "new.duckdb"
    older_state(older)
    with State.open(older, "nightly", "2026-11-27") as state:
        assert state.holds_runs() and state.folders() == {"nightly/2026-11-26"}
        assert state.night_dates() == {D(2026, 11, 26)}
    with State.open(new, "nightly", "2026-11-27") as state:
        assert not state.holds_runs()  # (the connection is opened by the first question)
    assert columns(older) == columns(new)
    with connect(str(older), read_only=True) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (LATEST,)
        assert con.execute("SELECT count(*) FROM payment_ledger").fetchone() == (1,)
    with State.open(older, "nightly", "2026-11-28") as state:  # opened again: nothing left to apply
        assert state.holds_runs()
    with connect(str(older), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)


def test_a_read_only_look_creates_and_migrates_nothing(tmp_path):
    older = tmp_path / "older.duckdb"
    older_state(older)
    with State.read_only(older) as state:
        assert state.holds_runs()
    assert "schema_version" not in columns(older)


def test_the_state_is_opened_once_and_its_lock_taken_once_per_run(tmp_path, monkeypatch, prefect_harness):
    """A nightly run, and a backfill of two nights, each: one lock taken and one connection to the state (the
    command's own open, when the command opened it first, is the flow's)."""
    landing = two_members(tmp_path / "landing")
    opened, locked = [], []
    real_connect, real_hold = store.connect, store.hold_state

    def counting_connect(path=":memory:", read_only=False, **config):
        opened.append((Path(path).name, read_only))
        return real_connect(path, read_only, **config)

    def counting_hold(state, kind, run):
        locked.append((kind, run))
        return real_hold(state, kind, run)

    monkeypatch.setattr(store, "connect", counting_connect)
    monkeypatch.setattr("flows.state.state.hold_state", counting_hold)
    nightly(tmp_path, landing, PAYMENT_DAY)
    assert (opened, locked) == ([("vsb.duckdb", False)], [("nightly", "2026-11-26")])
    opened.clear(), locked.clear()
    from flows.nightly import run_backfill

    where = dict(landing=landing, outbox=tmp_path / "out", state=tmp_path / "state" / "vsb.duckdb", quiet=True)
    assert len(run_backfill(first=D(2026, 11, 27), last=D(2026, 11, 28), **where)) == 2
    assert (opened, locked) == ([("vsb.duckdb", False)], [("backfill", "2026-11-27..2026-11-28")])


def test_a_second_taking_of_the_lock_in_the_same_process_is_refused(tmp_path):
    with store.hold_state(tmp_path / "vsb.duckdb", "nightly", "2026-11-26"):
        with pytest.raises(StateInUse, match="in use by nightly 2026-11-26"):
            with store.hold_state(tmp_path / "vsb.duckdb", "nightly", "2026-11-27"):
                pass


def test_nothing_outside_flows_state_takes_a_connection():
    """No function of flows/ outside flows/state/ has a `con` parameter, and none opens DuckDB."""
    found = []
    for path in sorted((ROOT / "flows").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("flows/state/"):
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                params = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
                if "con" in params:
                    found.append(f"{name}:{getattr(node, 'name', 'lambda')}")
        if "import duckdb" in source or "connect(" in source.replace("def connect(", ""):
            found.append(f"{name}: opens DuckDB")
    assert found == []
