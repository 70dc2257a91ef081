"""The state: an embedded DuckDB file (`--state`, default state/vsb.duckdb).

Each feature keeps its tables here and creates them itself (`CREATE TABLE IF NOT EXISTS` in
its own `ensure_*` function, run on every open), so a fresh file or an older one is brought
up to date by the code. A run changes the state in one transaction, committed only once
its output folder is complete in staging (see flows/publish.py); a run that fails leaves
the state as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    kind VARCHAR NOT NULL,          -- nightly, invoices, fines
    run_key VARCHAR NOT NULL,       -- e.g. 2026-11-26, 2026-11-26.v2, 2026/2026-01-02
    folder VARCHAR NOT NULL,        -- the published folder, relative to the outbox
    manifest_sha256 VARCHAR NOT NULL,
    run_date DATE,
    seq BIGINT,                     -- commit order
    payment_run BOOLEAN DEFAULT FALSE,
    PRIMARY KEY (kind, run_key)
);
"""

_ensure: list[Callable[[duckdb.DuckDBPyConnection], None]] = []


def register(ensure: Callable[[duckdb.DuckDBPyConnection], None]) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """Register a feature's table creation, run on every open."""
    _ensure.append(ensure)
    return ensure


@contextmanager
def open_state(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The state database, created and migrated if needed; closed on exit."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # bounded: the ledger set differences spill to disk rather than grow the run (512 MB: 256 MB fails on
    # the go-live night, which inserts 6.5M ledger rows in one transaction)
    con = duckdb.connect(str(path), config={"memory_limit": "512MB"})
    try:
        con.execute(SCHEMA)
        for ensure in _ensure:
            ensure(con)
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
