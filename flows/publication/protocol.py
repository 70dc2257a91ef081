"""The runs of a state: how a run ends (commit, then publish), and what the next run does first.

docs/spec/outputs.md, Guarantees (Atomic, Ordered, Durable). Every run of every kind (nightly, invoices,
fines) ends the same way (`publish`): it was built as the latest published version of its key (`first_version`),
and built again as the next one when it differs and the operator passed --replace (`again_as`); an identical
run is a no-op. Then (`commit_and_publish`) its staging folder is sealed (the run manifest written last,
everything flushed to disk); its state change (flows/state/state.py `Change`) and its row in `runs`, with the
manifest's digest and `published = false`, are committed in one transaction; the folder is published by one
rename; a second small transaction sets `published`.

A run killed between the commit and the rename leaves a committed run without a folder. The next
run of any kind, holding the state's lock, first completes it (`complete_unpublished`): the sealed
staging folder is checked file by file against its manifest and published; when that is not
possible (the staging folder is gone or incomplete), the next run refuses in one line naming the
run to rerun. So the payment ledger never holds a month that no published payments file holds,
for longer than until the next run starts.

Nights run in date order (`check_order`): a nightly run for a date before the latest committed
night is refused unless that date was run before (a rerun: a no-op when identical, or --replace).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.publication.agreement import check_agreement
from flows.publication.folder import (
    Published,
    PublishError,
    RunFolder,
    _crash_point,
    canonical_json,
    is_complete,
    publish_staging,
    sha256_bytes,
    staging_of,
    versions_of,
    writing,
)
from flows.state.state import Change, State
from flows.tasks import step
from flows.withdraw import complete_withdrawal

KINDS = ("nightly", "invoices", "fines")


class RunOrderError(Exception):
    """A run that cannot go ahead: an earlier run cannot be completed, or a night out of date order."""


@step("publish")
def commit_and_publish(state: State, built: Built) -> Path:
    """Seal the staging folder, commit the run's change with its row, publish the folder as `version`, mark it so.

    Once the commit may have happened the staging folder is no longer dropped on a failure: the next run
    publishes it (the run's row is there) or drops it (it is not).
    """
    run, manifest, version = built.run, built.manifest, built.version
    target = version.target
    run.seal(manifest)
    folder = (run.parent / version.name).relative_to(run.outbox).as_posix()
    digest = sha256_bytes(canonical_json(manifest))
    _crash_point("before-commit")
    with state.transaction():
        state.record(built.change)
        state.record_run_row(target.kind, version.run_key, folder, digest, target.run_date, built.payment_run)
        run.committing = True
    _crash_point("after-commit")
    path = run.rename(version.name)
    state.mark_published(target.kind, version.run_key)
    return path


class GuardError(Exception):
    """A guard refuses the run (S-MASS-CHANGE) and the operator did not accept it; nothing is published."""


@dataclass(frozen=True)
class Target:
    """Where a run is published: `<outbox>/<parent>/<key>` (then `<key>.v2`, ...), and how the state knows it."""

    kind: str  # nightly, invoices, fines
    parent: str  # nightly, invoices/2026, fines
    key: str  # 2026-11-26, 2026-01-02, 2026
    run_date: dt.date

    def run_key(self, name: str) -> str:
        """The run's key in the state: the folder below the kind (`2026-11-26.v2`, `2026/2026-01-02`)."""
        below = self.parent.partition("/")[2]
        return f"{below}/{name}" if below else name


@dataclass(frozen=True)
class Version:
    """The folder a run is built as: `<key>` or, when published before, its latest version (`<key>.v2`), or the
    next one (`replaces`: the run differs from the latest and the operator passed --replace)."""

    target: Target
    name: str
    published: int  # versions of the key published so far
    replaces: bool = False

    @property
    def run_key(self) -> str:
        return self.target.run_key(self.name)

    def folder(self, outbox: Path) -> RunFolder:
        """A fresh staging folder for the run."""
        return RunFolder(outbox, self.target.parent, self.target.key)


def first_version(outbox: Path, target: Target) -> Version:
    """The version a run is built as first: the latest published one of its key (to compare with), else the key."""
    versions = versions_of(outbox / target.parent, target.key)
    return Version(target, versions[-1].name if versions else target.key, len(versions))


@dataclass
class Built:
    """A run built in its staging folder, ready to be committed and published."""

    run: RunFolder
    manifest: dict
    change: Change  # the run's state change, committed with it
    version: Version  # the folder it is built as
    payment_run: bool = False
    refusal: str | None = None  # a guard's refusal (S-MASS-CHANGE), unless the operator accepts it
    result: dict = field(default_factory=dict)  # counts for the command's one line and the flow's return


def again_as(built: Built, replace: bool) -> Version | None:
    """The version to build the run again as: when it differs from the latest published version of its key, the
    next version if `replace` (its staging folder dropped), else a PublishError; None when it is new or identical."""
    version = built.version
    if version.replaces:
        return None
    status, latest = built.run.compare(built.manifest)
    if status != "different":
        return None
    built.run.discard()
    if not replace:
        raise PublishError(built.run.refusal(latest))
    return Version(version.target, built.run.version_name(version.published + 1), version.published, True)


def publish(state: State, built: Built, accept_refusal: bool = False) -> Published:
    """The end of every run (docs/spec/outputs.md, Guarantees): an identical run is a no-op; a guard's refusal
    stops it unless accepted; then `commit_and_publish`: seal, one state transaction, one rename, published."""
    if not built.version.replaces:
        status, latest = built.run.compare(built.manifest)
        if status == "identical":
            built.run.discard()
            return Published(latest, "identical")
    if built.refusal and not accept_refusal:
        built.run.discard()
        raise GuardError(built.refusal)
    try:
        path = commit_and_publish(state, built)
    except BaseException:
        built.run.discard()  # kept once the commit may have happened: the next run completes it
        raise
    return Published(path, "replaced" if built.version.replaces else "published")


# --- what every run does first ------------------------------------------------------------------------


def rerun_command(kind: str, run_key: str, run_date: dt.date | None) -> str:
    """The command that redoes a run: `vsb nightly --as-of 2026-11-26` (with --replace for a version v2...)."""
    replace = " --replace" if re.search(r"[.]v[0-9]+$", run_key) else ""
    if kind == "invoices":
        return f"vsb invoices --year {run_key.split('/')[0]} --as-of {run_date}{replace}"
    if kind == "fines":
        return f"vsb fines --year {run_key.split('.')[0]}{replace}"
    return f"vsb {kind} --as-of {run_date}{replace}"


def complete_unpublished(state: State, outbox: Path, redo: Callable[[str, str, dt.date | None], bool]) -> list[Path]:
    """Publish every run committed to the state but not published; returns the folders it published.

    First an interrupted `vsb withdraw` is completed (flows/withdraw.py); last the outbox's published folders are
    checked against the state (flows/publication/agreement.py: a state behind its outbox is refused).
    A run whose folder exists was renamed before the crash: it is only marked published. A run whose
    staging folder is complete is published by the rename. Otherwise the run must be redone: fine when
    it is the run about to start (`redo(kind, run_key, run_date)`), else a RunOrderError naming it.
    Then staging folders of runs that never committed are dropped.
    """
    complete_withdrawal(state, outbox)
    done = []
    for kind, run_key, folder, manifest_sha256, run_date in state.unpublished():
        target = outbox / folder
        if target.is_dir():
            state.mark_published(kind, run_key)
            continue
        staging = staging_of(target)
        if is_complete(staging, manifest_sha256):
            with writing(target):
                publish_staging(staging, target, outbox)
            state.mark_published(kind, run_key)
            done.append(target)
            continue
        if redo(kind, run_key, run_date):
            continue
        what = "missing" if not staging.exists() else "incomplete"
        raise RunOrderError(
            f"{kind} run {run_key} was committed to the state but never published, and its staging folder is "
            f"{what}: rerun `{rerun_command(kind, run_key, run_date)}` first"
        )
    drop_stray_staging(outbox)
    check_agreement(state.folders(), outbox)
    return done


def drop_stray_staging(outbox: Path) -> None:
    """Drop the staging folders left by runs killed before their commit (the lock is held: none is being built),
    with the letters' scratch folders inside them, and those of killed simulations."""
    parents = [outbox / "nightly", outbox / "fines", *(outbox / "invoices").glob("[0-9]*")]
    for parent in parents:
        if parent.is_dir():
            for staging in parent.glob(".staging-*"):
                with writing(staging):
                    shutil.rmtree(staging)
    drop_stray_simulations(outbox)


def drop_stray_simulations(outbox: Path) -> None:
    """Drop `<outbox>/simulations/<name>/.staging-<D>.<pid>` of simulations whose process is gone (a killed
    simulation: its changes.parquet holds national numbers). A simulation holds no lock: the folder of a
    process still running is its own, left alone."""
    for staging in Path(outbox).glob("simulations/*/.staging-*"):
        pid = staging.name.rpartition(".")[2]
        if not pid.isdigit() or not process_alive(int(pid)):
            with writing(staging):
                shutil.rmtree(staging, ignore_errors=True)


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def nightly_runs_of(first: dt.date, last: dt.date) -> Callable[[str, str, dt.date | None], bool]:
    """`redo` for the nights first..last: a committed night among them is redone by the run itself."""
    return lambda kind, run_key, run_date: kind == "nightly" and run_date is not None and first <= run_date <= last


def check_order(state: State, first: dt.date, last: dt.date) -> None:
    """Refuse nights first..last before the latest committed nightly run that were never run (a rerun is fine).

    A night computed after a later one would decide its grant events against the later night and could
    be a second payment run of its month: nights run in date order.
    """
    ran = state.night_dates() - {None}
    latest = max(ran, default=None)
    if latest is None or first >= latest:
        return
    never = []
    day = first
    while day <= last and day < latest:
        if day not in ran:
            never.append(day)
        day += dt.timedelta(days=1)
    if never:
        what = f"nightly {first}" if first == last else f"backfill {first}..{last}: {never[0]}"
        more = f" (and {len(never) - 1} more dates of the range)" if len(never) > 1 else ""
        raise RunOrderError(
            f"{what} comes before the latest committed nightly run {latest} and was never run{more}: "
            f"run a date from {latest} on (nights run in date order; only a date already run can be run again)"
        )
