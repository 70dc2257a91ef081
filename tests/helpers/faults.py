"""Run the `vsb` command in a real process with one fault of the machine simulated, for the tests of what an
operator sees (one line on stderr, no traceback).

    python tests/helpers/faults.py FAULT [ARG] -- nightly --as-of ... (the vsb arguments)

Faults, each raising what the library raises on a real machine (checked on a full tmpfs, a read-only
mount and a DuckDB file held by another process):
- none
- enospc NAME: writing a Parquet file named NAME fails as Polars fails on a full disk
- readonly-outbox OUTBOX: creating a folder under OUTBOX fails as on a read-only outbox without root
- state-full: the state's commit fails as DuckDB fails when the state's disk is full
- state-readonly: opening the state fails as DuckDB fails on a read-only file system
- hold-lock STATE: holds the state's lock as a run would, prints "held" and waits for stdin to close
"""

from __future__ import annotations

import errno
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def enospc(name: str) -> None:
    import polars as pl

    write_parquet = pl.DataFrame.write_parquet

    def full(self, file, *args, **kwargs):
        if pathlib.Path(file).name == name:
            raise pl.exceptions.ComputeError(
                "parquet: File out of specification: underlying IO error: No space left on device (os error 28)"
            )
        return write_parquet(self, file, *args, **kwargs)

    pl.DataFrame.write_parquet = full


def readonly_outbox(outbox: str) -> None:
    root = pathlib.Path(outbox).resolve()
    mkdir = pathlib.Path.mkdir

    def refused(self, *args, **kwargs):
        if self.resolve().is_relative_to(root) and not self.exists():
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return mkdir(self, *args, **kwargs)

    pathlib.Path.mkdir = refused


class FullDisk:
    """A DuckDB connection whose commit fails as on a full disk."""

    def __init__(self, con, path: str):
        self._con, self._path = con, path

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args, **kwargs):
        import duckdb

        if sql.strip().upper() == "COMMIT":
            raise duckdb.TransactionException(
                f'TransactionContext Error: Failed to commit: Could not write file "{self._path}.wal": '
                "No space left on device"
            )
        return self._con.execute(sql, *args, **kwargs)


def state_full() -> None:
    import duckdb

    connect = duckdb.connect
    duckdb.connect = lambda path, *args, **kwargs: FullDisk(connect(path, *args, **kwargs), path)


def state_readonly() -> None:
    import duckdb

    def refused(path, *args, **kwargs):
        raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Read-only file system')

    duckdb.connect = refused


def hold_lock(state: str) -> None:
    from flows.state.store import hold_state

    with hold_state(pathlib.Path(state), "nightly", "2026-11-26"):
        print("held", flush=True)
        sys.stdin.read()


def main() -> int:
    split = sys.argv.index("--") if "--" in sys.argv else len(sys.argv)
    fault, args, vsb = sys.argv[1], sys.argv[2:split], sys.argv[split + 1 :]
    if fault == "hold-lock":
        hold_lock(*args)
        return 0
    {
        "none": lambda: None,
        "enospc": enospc,
        "readonly-outbox": readonly_outbox,
        "state-full": state_full,
        "state-readonly": state_readonly,
    }[fault](*args)
    from flows.cli import main as vsb_main

    return vsb_main(vsb)


if __name__ == "__main__":
    sys.exit(main())
