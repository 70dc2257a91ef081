"""What a run adds to the state, published with it in `_state/`: what `vsb rebuild-state` rebuilds a lost state from.

docs/spec/outputs.md, State and outbox agree. The zorgkas files do not hold all the state keeps (the grants
of a held person carried over, the request letters' ledger keys, the commit order of the runs), so each
run folder also holds, beside `_decisions/`, its own state change:

    _state/run.json                 kind, run_key, run_date, seq (the commit order), payment_run
    _state/<table>.parquet          the run's rows of each table its state change writes, in the table's
                                    columns (nightly: grant_history, payment_ledger, recovery_ledger,
                                    letters_ledger; invoices: premium_invoices; fines: premium_fines)

listed in the run manifest (`_manifest.json` "files") with rows and sha256 like every file: every other
file of the run is byte-identical to what it was without them. Deterministic: no clock (the run's time stays
in `_report.json`); `seq` is the run key's place in the state (kept by a rerun of the same key, the next
number for a new one). The letter numbers (flows/state/letter_numbers.py) and the trends row
(flows/state/trends.py) are rebuilt from letters.parquet and `_report.json`.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.io.outbox import FileLog
from flows.publication.folder import canonical_json
from flows.state.ledger import frame_of

STATE_DIR = "_state"
RUN_FILE = f"{STATE_DIR}/run.json"


def run_seq(con: duckdb.DuckDBPyConnection, kind: str, run_key: str) -> int:
    """The run's place in the commit order: its own when the state holds the key (a rerun), else the next one."""
    found = con.execute("SELECT seq FROM runs WHERE kind = ? AND run_key = ?", [kind, run_key]).fetchall()
    if found and found[0][0] is not None:
        return int(found[0][0])
    return int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchall()[0][0])


def premium_rows(con: duckdb.DuckDBPyConnection, table: str, run_key: str, new: pl.DataFrame) -> pl.DataFrame:
    """The ledger rows of a premium run `run_key`: those an earlier attempt of the same run key issued (a rerun
    issues only what no run issued) and `new`, with the run key, in key order: the same for a rerun as for the
    first attempt, so an identical rerun stays a no-op."""
    new = new.with_columns(pl.lit(run_key).alias("run_key"))
    columns = ", ".join(f'"{c}"' for c in new.columns)
    earlier = frame_of(con, f'SELECT {columns} FROM "{table}" WHERE run_key = ?', [run_key], dict(new.schema))
    keys = [c for c in ("insz", "premium_year", "fine_year") if c in new.columns]
    return pl.concat([earlier, new]).unique(subset=keys, keep="first").sort(keys)


def export_state(files: FileLog, info: dict, tables: dict[str, pl.DataFrame]) -> None:
    """Write the run's `_state/` files into its staging folder (logged for the run manifest): `info` (kind,
    run_key, run_date, seq, payment_run: `run_info`) and the run's rows of each table."""
    files.bytes(RUN_FILE, canonical_json(info), 1)
    for table, frame in sorted(tables.items()):
        files.parquet(f"{STATE_DIR}/{table}.parquet", frame)


def run_info(kind: str, run_key: str, run_date: dt.date, seq: int, payment_run: bool) -> dict:
    """`_state/run.json`: the run's kind, key, date, place in the commit order and whether it paid."""
    return {
        "kind": kind,
        "run_key": run_key,
        "run_date": run_date.isoformat(),
        "seq": seq,
        "payment_run": bool(payment_run),
    }
