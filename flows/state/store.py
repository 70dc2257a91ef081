"""The state: an embedded DuckDB file (`--state`, default state/vsb.duckdb), and the lock that runs hold on it.

The state's low-level parts: the one way to open DuckDB (`connect`), the checks that a file is a vsb state,
the lock, and a connection opened and migrated (`open_state`: the tables are made by the numbered migrations
of flows/state/migrations.py). Runs use them through `State` (flows/state/state.py), which alone holds the
connection. A run changes the state in one transaction, committed only once its output folder is complete in
staging (see flows/publication/folder.py); a run that fails leaves the state as it was.

docs/spec/outputs.md, Only a vsb state: the file carries a marker table `vsb_state` with its schema version
(`STATE_VERSION`). A file that is not DuckDB (SQLite, text, empty), or a DuckDB file with a table of its own
and no marker (another program's database), is refused in one line naming it (`check_state_file`), before
anything is written to it. Every DuckDB connection the project opens comes from `connect`: extension autoload
and autoinstall off, so that nothing reaches the network at run time (a SQLite file would make DuckDB fetch
its sqlite extension).

docs/spec/outputs.md, Ordered: every run holds an exclusive lock on the state for its whole duration
(`hold_state`): a lock file beside the state, `<state>.lock`, locked with flock and holding the
holder's kind, date, process id and start time as JSON. The kernel releases the lock when the
process ends, however it ends: a lock file left by a dead process blocks nothing (its content
only describes the last holder).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.state.migrations import migrate

STATE_VERSION = 1  # the schema version the marker carries (vsb_state.schema_version)
MARKER = "vsb_state"
# no extension is installed or loaded at run time: nothing reaches the network (outputs.md, Only a vsb state)
OFFLINE = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}
_DUCKDB_MAGIC = (8, b"DUCK")  # offset and bytes of the magic number in a DuckDB file's header


def connect(path: Path | str = ":memory:", read_only: bool = False, **config) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection as the project opens every one (state, tests, scripts): extensions neither
    installed nor loaded automatically."""
    return duckdb.connect(str(path), read_only=read_only, config={**OFFLINE, **config})


class StateError(Exception):
    """The state cannot be opened or written (full disk, read-only, open in another program); one line."""


class StateInUse(StateError):
    """Another run holds the state's lock."""


def state_failure(path: Path, exc: BaseException) -> StateError | None:
    """One line naming the state and what to do, for the failures an operator can act on; None otherwise."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if "Could not set lock" in text:
        pid = re.search(r"PID (\d+)", text)
        by = f" (pid {pid[1]})" if pid else ""
        return StateError(f"the state {path} is open in another program{by}: close it and run again")
    if code == errno.ENOSPC or "No space left on device" in text:
        return StateError(f"no space left on the disk of the state {path}: free space there and run again")
    if code == errno.EROFS or "Read-only file system" in text:
        return StateError(f"the state {path} is on a read-only file system: give the run a writable --state")
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return StateError(
            f"the state {path} cannot be written (permission denied): give the run write access to it "
            f"and to its folder {path.parent}"
        )
    return None


def not_a_state(path: Path) -> StateError:
    return StateError(
        f"{path} is not a vsb state (not a DuckDB file): give the run its own --state (or VSB_STATE); "
        "a new path makes a new state"
    )


def check_state_header(path: Path) -> bool:
    """Refuse a file that is not a DuckDB file (SQLite, text, an empty file) in one line naming it, before DuckDB
    opens it (DuckDB would try to load an extension for it); whether the file exists."""
    path = Path(path)
    if not path.exists():
        return False
    if path.is_dir():
        raise StateError(f"the state {path} is a folder: give the run the state's file as --state (or VSB_STATE)")
    with state_errors(path, (OSError,)):
        with path.open("rb") as handle:
            header = handle.read(16)
    offset, magic = _DUCKDB_MAGIC
    if header[offset : offset + len(magic)] != magic:
        raise not_a_state(path)
    return True


def check_state_file(path: Path) -> None:
    """Refuse, in one line naming the path, a file that cannot be a vsb state: not a DuckDB file (SQLite, text,
    an empty file), or, when it can be read now (no run holds it), a DuckDB file with tables and no marker
    that are not all vsb's own. A path that does not exist is a new state. Writes nothing."""
    path = Path(path)
    if not check_state_header(path):
        return
    try:
        con = connect(path, read_only=True)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            return  # open in a run (or another program): open_state checks it once it may
        raise state_failure(path, exc) or not_a_state(path) from exc
    try:
        check_marker(con, path)
    finally:
        con.close()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def check_marker(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether the file open on `con` carries the marker. A file with tables and no marker is refused, unless it
    holds vsb's `runs` table (a state written before the marker existed: it gets the marker on open). A newer
    schema version than this code knows is refused too."""
    tables = _tables(con)
    if MARKER in tables:
        ((version,),) = con.execute(f"SELECT max(schema_version) FROM {MARKER}").fetchall()
        if version is not None and version > STATE_VERSION:
            raise StateError(
                f"the state {path} has schema version {version}, newer than this vsb knows ({STATE_VERSION}): "
                "run it with the vsb version that wrote it"
            )
        return True
    if not tables or _pre_marker_state(con, tables):
        return False
    shown = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
    raise StateError(
        f"{path} is not a vsb state (a DuckDB file with tables {shown} and no {MARKER} marker): "
        "give the run its own --state (or VSB_STATE); a new path makes a new state"
    )


def _pre_marker_state(con: duckdb.DuckDBPyConnection, tables: set[str]) -> bool:
    """A vsb state from before the marker: it holds the runs table with vsb's columns."""
    if "runs" not in tables:
        return False
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'"
    columns = {c for (c,) in con.execute(query).fetchall()}
    return {"kind", "run_key", "folder", "manifest_sha256"} <= columns


def ensure_marker(con: duckdb.DuckDBPyConnection) -> None:
    """The marker table with the schema version (outputs.md, Only a vsb state)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (schema_version INTEGER NOT NULL)")
    if con.execute(f"SELECT count(*) FROM {MARKER}").fetchall()[0][0] == 0:
        con.execute(f"INSERT INTO {MARKER} VALUES ({STATE_VERSION})")


@contextmanager
def state_errors(path: Path, kinds: tuple[type[BaseException], ...] = (duckdb.Error, OSError)) -> Iterator[None]:
    """Failures of the state's file (DuckDB's or the file system's) as one-line StateErrors naming it."""
    try:
        yield
    except kinds as exc:
        failure = state_failure(path, exc)
        if failure is None:
            raise
        raise failure from exc


def open_connection(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to the state database, created and migrated if needed (flows/state/migrations.py)."""
    path = Path(path)
    check_state_header(path)
    with state_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # bounded: the ledger set differences spill to disk rather than grow the run (512 MB: 256 MB fails on
        # the go-live night, which inserts 6.5M ledger rows in one transaction)
        con = connect(path, memory_limit="512MB")
    try:
        with state_errors(path, (duckdb.Error,)):
            check_marker(con, path)  # again, now that this run holds the file
            ensure_marker(con)
            migrate(con)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def open_state(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The state database, created and migrated if needed; closed on exit (runs use `State`, flows/state/state.py)."""
    con = open_connection(path)
    # inside the block only DuckDB's errors are the state's: an OSError there is another file's
    try:
        with state_errors(Path(path), (duckdb.Error,)):
            yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# --- the lock -----------------------------------------------------------------------------------------


def lock_path(state: Path) -> Path:
    state = Path(state)
    return state.with_name(state.name + ".lock")


def describe_holder(holder: dict) -> str:
    """`nightly 2026-11-26 (pid 1234, since 2026-12-03T22:10:05)` from a lock file's content."""
    what = " ".join(str(holder[k]) for k in ("kind", "run") if holder.get(k))
    return f"{what or 'another run'} (pid {holder.get('pid', '?')}, since {holder.get('since', '?')})"


@contextmanager
def hold_state(state: Path, kind: str, run: str) -> Iterator[None]:
    """Hold the state's exclusive lock while the block runs; another holder makes it fail at once.

    `kind` and `run` describe this run to whoever finds the state in use (`nightly`, `2026-11-26`). Taken once
    per run, by `State.open` (flows/state/state.py): a second taking, in this process too, is refused.
    """
    state = Path(state)
    path = lock_path(state)
    with state_errors(state):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:  # being written this very moment
                holder = {}
            raise StateInUse(f"the state {state} is in use by {describe_holder(holder)}: wait for it to end") from None
        since = dt.datetime.now().isoformat(timespec="seconds")  # the flows layer: the clock describes the holder
        content = json.dumps({"kind": kind, "run": run, "pid": os.getpid(), "since": since}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, content, 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # the next reader finds no stale holder
    finally:
        os.close(fd)  # releases the lock
