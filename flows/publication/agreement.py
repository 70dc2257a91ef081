"""State and outbox agree (docs/spec/outputs.md, Guarantees): every published folder is a run the state knows.

A state behind its outbox (lost, or restored from a backup older than the outbox) would not see what the
published folders paid: the next payment night would pay those months again. So every run, holding the
state's lock, first completes what an interrupted run left (flows/publication/protocol.py
`complete_unpublished`, flows/withdraw.py) and then checks each published folder (nightly, invoices,
fines; not withdrawn, not staging) against the state's runs, by kind, date and version (its folder): one
unknown folder refuses the run in one line naming it and what to do (`vsb rebuild-state`,
flows/state/rebuild.py).
"""

from __future__ import annotations

from pathlib import Path

KIND_FOLDERS = ("nightly", "invoices", "fines")


class StateBehindError(Exception):
    """The state does not know a folder its outbox published."""


def _folders(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))


def published_folders(outbox: Path) -> list[str]:
    """The published run folders of the outbox, relative to it: nightly/<D>[.vN], invoices/<Y>/<D>[.vN],
    fines/<F>[.vN] (staging folders, simulations and withdrawn runs aside), in kind then name order."""
    outbox = Path(outbox)
    found = [f for f in _folders(outbox / "nightly")]
    found += [f for year in _folders(outbox / "invoices") for f in _folders(year)]
    found += _folders(outbox / "fines")
    return [f.relative_to(outbox).as_posix() for f in found]


def check_agreement(known: set[str], outbox: Path) -> None:
    """Refuse a state that does not know a published folder of `outbox` (StateBehindError, one line). `known`: the
    folders of the state's runs (flows/state/state.py `State.folders`)."""
    unknown = [f for f in published_folders(outbox) if f not in known]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise StateBehindError(
            f"the state does not know the published folder {Path(outbox) / unknown[0]}{more}: it is behind its "
            "outbox (lost, or restored from an older backup) and would pay again what was sent: run "
            f"`vsb rebuild-state --outbox {outbox} --state NEW_FILE` and use NEW_FILE as --state (or restore the "
            "latest backup), then run again"
        )
