"""`vsb withdraw`: take back the latest published run (docs/spec/outputs.md, Guarantees, Withdrawn).

A run published from a wrong delivery or a wrong date is taken back whole, when no later run of any kind
exists: its rows leave the state in one transaction (grant events, payments, recoveries, letters, letter
numbers, trends and the run itself: every table's rows of its run key, so the state is as before the run),
its folder moves to `<outbox>/withdrawn/<folder>` (`withdrawn/nightly/<D>`, `withdrawn/invoices/<Y>/<D>`,
`withdrawn/fines/<F>`) with `_withdrawn.json` (when, why, the files and their sha256), and each zorgkas's
manifest.json says it is withdrawn: the zorgkas must not execute that run's payments.xml. A rerun of D then
builds the folder the run would have given (the same seq, letter numbers and ledgers before it).

Durable, as the publication protocol (flows/publication/protocol.py): holding the state's lock, the withdraw
first writes an intent file (`<outbox>/withdrawn/.withdraw.json`, written whole by a rename), then takes
idempotent steps (the state transaction, the move, the marks), then removes the intent. A withdraw killed
at any step is completed by the next command of any kind, before it does anything else
(`complete_withdrawal`, called by `complete_unpublished`): never half done.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from flows.publication.folder import (
    DIR_MODE,
    FILE_MODE,
    MANIFEST,
    _crash_point,
    canonical_json,
    fsync_path,
    publish_staging,
    writing,
)
from flows.state.state import State

WITHDRAWN = "withdrawn"
INTENT = ".withdraw.json"
MARK = "_withdrawn.json"
KINDS = ("nightly", "invoices", "fines")


class WithdrawError(Exception):
    """A withdraw that cannot be done (no such run, a later run exists, an intent that cannot be completed)."""


def intent_path(outbox: Path) -> Path:
    return Path(outbox) / WITHDRAWN / INTENT


def write_atomically(path: Path, data: bytes) -> None:
    """`path` holds `data` whole or keeps what it held: written beside it, flushed, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    part = path.with_name(path.name + ".part")
    with writing(path):
        part.write_bytes(data)
        part.chmod(FILE_MODE)
        fsync_path(part)
        os.replace(part, path)
        fsync_path(path.parent)


def withdraw_command(kind: str, run_key: str, run_date: dt.date) -> str:
    if kind == "invoices":
        return f"vsb withdraw --kind invoices --as-of {run_date}"
    return f"vsb withdraw --kind {kind} --as-of {run_date}"


def the_run(state: State, kind: str, day: dt.date) -> tuple:
    """The latest run of `kind` dated `day` (its latest version), checked to be the state's latest run."""
    row = state.the_run(kind, day)
    if row is None:
        latest = state.latest_run(kind)
        known = f" (the latest {kind} run is {latest[1]}, dated {latest[2]})" if latest else ""
        raise WithdrawError(f"no published {kind} run dated {day} in the state{known}: check --kind and --as-of")
    later = state.run_after(row[5])
    if later:
        raise WithdrawError(
            f"{kind} {row[1]} is not the latest run: {later[0]} {later[1]} came after it and only the latest run "
            f"can be withdrawn: run `{withdraw_command(later[0], later[1], later[2])}` first if it must go too"
        )
    return row


def withdrawn_target(outbox: Path, folder: str) -> str:
    """`withdrawn/<folder>`, or `<folder>.w2`, ... when that date was withdrawn before."""
    base = f"{WITHDRAWN}/{folder}"
    target, number = base, 1
    while (Path(outbox) / target).exists():
        number += 1
        target = f"{base}.w{number}"
    return target


def withdraw(outbox: Path, state: State, kind: str, day: dt.date, reason: str, now: str) -> dict:
    """Withdraw the latest run of `kind` dated `day` (the state's lock held, interrupted runs completed first);
    returns its kind, run key and where its folder went. `now`: when (read by the command line)."""
    if kind not in KINDS:
        raise WithdrawError(f"--kind {kind}: choose nightly, invoices or fines")
    if not reason.strip():
        raise WithdrawError("--reason is empty: give the reason the run is withdrawn (it is kept in _withdrawn.json)")
    run_kind, run_key, folder, manifest_sha256, run_date, _ = the_run(state, kind, day)
    intent = {
        "kind": run_kind,
        "run_key": run_key,
        "folder": folder,
        "run_date": run_date.isoformat(),
        "manifest_sha256": manifest_sha256,
        "target": withdrawn_target(outbox, folder),
        "reason": " ".join(reason.split()),
        "withdrawn_at": now,
    }
    write_atomically(intent_path(outbox), canonical_json(intent))
    _crash_point("withdraw-intent")
    carry_out(state, Path(outbox), intent)
    return intent


def complete_withdrawal(state: State, outbox: Path) -> dict | None:
    """Complete a withdraw left by a killed `vsb withdraw` (its intent file); returns its intent, or None."""
    path = intent_path(outbox)
    if not path.is_file():
        return None
    try:
        intent = json.loads(path.read_bytes())
        folder, target = Path(outbox) / intent["folder"], Path(outbox) / intent["target"]
    except (ValueError, KeyError, TypeError) as exc:
        raise WithdrawError(f"the withdraw intent {path} cannot be read ({exc}): check it, then remove it") from exc
    if not folder.is_dir() and not target.is_dir():
        raise WithdrawError(
            f"an interrupted withdraw of {intent['kind']} {intent['run_key']} ({path}) finds neither {folder} nor "
            f"{target}: check the outbox (the folder was moved by hand?), then remove {path}"
        )
    carry_out(state, Path(outbox), intent)
    return intent


def carry_out(state: State, outbox: Path, intent: dict) -> None:
    """The withdraw's steps, each idempotent: the state's rows (`State.remove_run`: every table's rows of its run
    key), the move, the marks, then the intent removed."""
    with state.transaction():
        state.remove_run(intent["kind"], intent["run_key"])
    _crash_point("withdraw-commit")
    source, target = outbox / intent["folder"], outbox / intent["target"]
    if source.is_dir() and not target.exists():
        with writing(target):
            target.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            publish_staging(source, target, outbox)  # one rename, the folders above flushed
            fsync_path(source.parent)
    _crash_point("withdraw-move")
    mark(target, intent)
    _crash_point("withdraw-mark")
    path = intent_path(outbox)
    path.unlink(missing_ok=True)
    fsync_path(path.parent)


def mark(folder: Path, intent: dict) -> None:
    """`_withdrawn.json` (when, why, the files and their sha256 as published) and `withdrawn` in every zorgkas's
    manifest.json: the zorgkas must not execute that run's payments.xml."""
    manifest = json.loads((folder / MANIFEST).read_bytes())
    files = {e["name"]: e["sha256"] for e in manifest.get("files", [])}
    for code, zorgkas in manifest.get("zorgkassen", {}).items():
        files |= {f"{code}/{e['name']}": e["sha256"] for e in zorgkas.get("files", [])}
    note = {
        "withdrawn_at": intent["withdrawn_at"],
        "reason": intent["reason"],
        "instruction": "withdrawn: do not execute this run's payments.xml nor send its letters",
    }
    record = {
        "run": {"kind": intent["kind"], "run_key": intent["run_key"], "folder": intent["folder"]},
        **note,
        "manifest_sha256": intent["manifest_sha256"],
        "files": [{"name": name, "sha256": sha} for name, sha in sorted(files.items())],
    }
    write_atomically(folder / MARK, canonical_json(record))
    for code in sorted(manifest.get("zorgkassen", {})):
        path = folder / code / "manifest.json"
        if path.is_file():
            zorgkas = json.loads(path.read_bytes())
            write_atomically(path, canonical_json(zorgkas | {"withdrawn": note}))
