"""`vsb rebuild-state`: a lost state rebuilt from the published folders (docs/spec/outputs.md, State and outbox agree).

Every published run folder of the outbox (nightly, invoices, fines; not withdrawn) is checked against its
manifests (every listed file's sha256, flows/publication/folder.py `is_complete`) and holds its own state change
in `_state/` (flows/state/export.py). The new state gets, in the runs' commit order (`seq`): each run's row
(published), its rows of grant_history, payment_ledger, recovery_ledger, letters_ledger, premium_invoices and
premium_fines, its letter numbers (the highest number of each zorgkas and kind in its letters.parquet) and its
trends row (from `_report.json`, its case counts included, without the time it took). So the next night of a
rebuilt state equals the next night of the lost one.

Written into `<state>.rebuilding` and renamed to the state when complete: a killed rebuild leaves no state
behind. An existing state is never overwritten: rebuild into a new file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl

from flows.publication.agreement import published_folders
from flows.publication.folder import MANIFEST, fsync_path, is_complete, sha256_bytes
from flows.state.export import RUN_FILE, STATE_DIR
from flows.state.state import Change, State
from pipelines.emit.report import trend_row


class RebuildError(Exception):
    """The state cannot be rebuilt from this outbox (a folder that does not match its manifest, no `_state/`)."""


def checked_runs(outbox: Path) -> list[tuple[dict, str, str]]:
    """(run.json, folder, manifest sha256) of every published folder, in commit order; a folder that does not
    match its manifest, or has no `_state/`, refuses the rebuild in one line naming it."""
    runs = []
    for folder in published_folders(outbox):
        path = Path(outbox) / folder
        try:
            digest = sha256_bytes((path / MANIFEST).read_bytes())
        except OSError as exc:
            raise RebuildError(f"{path} has no readable {MANIFEST}: it is not a complete run folder") from exc
        if not is_complete(path, digest):
            raise RebuildError(
                f"{path} does not match its manifest (a file missing or changed): check it against the copy sent to "
                "the zorgkassen and restore it, then run again"
            )
        if not (path / RUN_FILE).is_file():
            raise RebuildError(
                f"{path} holds no {STATE_DIR}/ (published by an older version), so the state cannot be rebuilt "
                "from it: check for the latest backup of the state and restore that instead"
            )
        runs.append((json.loads((path / RUN_FILE).read_bytes()), folder, digest))
    seqs = [r[0]["seq"] for r in runs]
    if len(set(seqs)) != len(seqs):
        raise RebuildError(f"two published folders of {outbox} claim the same place in the commit order: check it")
    return sorted(runs, key=lambda r: r[0]["seq"])


def letter_numbers_of(path: Path) -> pl.DataFrame:
    """zorgkas, kind, last_number: the highest number of each kind in each zorgkas's letters.parquet."""
    files = sorted(path.glob("*/letters.parquet"))
    if not files:
        return pl.DataFrame(schema={"zorgkas": pl.String, "kind": pl.String, "last_number": pl.Int64})
    letters = pl.concat([pl.read_parquet(f, columns=["zorgkas", "kind", "letter_id"]) for f in files])
    return (
        letters.group_by("zorgkas", "kind")
        .agg(pl.col("letter_id").str.tail(7).cast(pl.Int64).max().alias("last_number"))
        .sort("zorgkas", "kind")
    )


def add_run(state: State, outbox: Path, info: dict, folder: str, digest: str) -> None:
    """One published run into the state being rebuilt: its row, its `_state/` tables, letter numbers, trends."""
    path = Path(outbox) / folder
    kind, run_key, run_date = info["kind"], info["run_key"], dt.date.fromisoformat(info["run_date"])
    state.add_published_run(info, folder, digest)
    tables = {table.stem: pl.read_parquet(table) for table in sorted((path / STATE_DIR).glob("*.parquet"))}
    numbers = letter_numbers_of(path) if kind == "nightly" else None
    row = None
    report = path / "_report.json"
    if report.is_file():
        body = json.loads(report.read_bytes())
        row = trend_row(body, active_grants=body.get("grants", {}).get("active_after")) | {"seconds": None}
    numbers = numbers if numbers is not None and numbers.height else None
    state.record(Change(kind, run_key, run_date, tables, replaces=False, letter_numbers=numbers, trend=row))


def rebuild_state(outbox: Path, state: Path) -> dict:
    """Rebuild the state `state` (which must not exist) from the published folders of `outbox`; returns counts."""
    state, outbox = Path(state), Path(outbox)
    if state.exists():
        raise RebuildError(
            f"the state {state} exists and is never overwritten: give --state a new path (keep the old state "
            "until the new one is checked)"
        )
    if not outbox.is_dir():
        raise RebuildError(f"the outbox {outbox} does not exist: give rebuild-state the --outbox the runs published to")
    runs = checked_runs(outbox)
    partial = state.with_name(state.name + ".rebuilding")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)  # a killed rebuild's
    rebuilt = State(partial)  # a new file, no lock of its own: the command holds the lock of `state`
    try:
        with rebuilt.transaction():
            for info, folder, digest in runs:
                add_run(rebuilt, outbox, info, folder, digest)
    finally:
        rebuilt.close()
    fsync_path(partial)
    os.replace(partial, state)
    fsync_path(state.parent)
    counts: dict[str, int] = {}
    for info, _, _ in runs:
        counts[info["kind"]] = counts.get(info["kind"], 0) + 1
    return {"runs": len(runs), "by_kind": counts}
