"""Atomic publication of a run folder: built in a staging folder, published by one rename.

docs/spec/outputs.md, Guarantees: a run appears whole or not at all; a rerun whose result is
identical to the published one is a no-op; a different result is refused unless
`--replace`, which publishes the date again as `<D>.v2` (v3, ...). Files are readable by
owner and group only.

Durable: `seal` writes the run manifest into the staging folder last and flushes every file and
folder of it to disk (fsync) before the state commit; `rename` flushes the outbox folders after
the rename. A sealed staging folder is complete: its `_manifest.json` lists every file with its
sha256 (`is_complete` checks them), so a run killed between the commit and the rename can be
published by the next run (flows/publication/protocol.py).

A file that cannot be written (full disk, read-only outbox) is an OutboxError naming it, in one line.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

FILE_MODE = 0o640
DIR_MODE = 0o750
MANIFEST = "_manifest.json"


class PublishError(Exception):
    """A run cannot be published (a different result exists and --replace was not given)."""


class OutboxError(Exception):
    """A file or folder of the outbox cannot be written (full disk, read-only outbox); one line naming it."""


def os_errno(exc: BaseException) -> int | None:
    """The errno of an OSError, or of a Polars error that only names it in its text ("(os error 28)")."""
    if isinstance(getattr(exc, "errno", None), int):
        return exc.errno
    found = re.search(r"\(os error (\d+)\)", str(exc))
    return int(found[1]) if found else None


def outbox_failure(path: Path, exc: BaseException) -> OutboxError | None:
    """One line naming the path and what to do, for a full disk or a read-only outbox; None otherwise."""
    code = os_errno(exc)
    path = Path(getattr(exc, "filename", None) or path)  # the folder that refused, when the error names it
    if code in (errno.ENOSPC, errno.EDQUOT):
        return OutboxError(f"no space left on device writing {path}: free space in the outbox and run again")
    if code == errno.EROFS:
        return OutboxError(f"cannot write {path}: read-only file system: give the run a writable --outbox")
    if code in (errno.EACCES, errno.EPERM):
        return OutboxError(f"cannot write {path}: permission denied: give the run write access to the outbox")
    return None


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Writing `path`: a full disk or a read-only outbox becomes an OutboxError naming it."""
    try:
        yield
    except (OSError, pl.exceptions.PolarsError) as exc:
        failure = outbox_failure(path, exc)
        if failure is None:
            raise
        raise failure from exc


def fsync_path(path: Path) -> None:
    """Flush a file or a folder (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _crash_point(name: str) -> None:
    """Tests inject a crash at a named step of publication through VSB_CRASH_AT: `name` raises,
    `name:kill` kills the process with SIGKILL there (scripts/kill_test.py)."""
    point, _, how = os.environ.get("VSB_CRASH_AT", "").partition(":")
    if point == name:
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError(f"crash injected at {name} (VSB_CRASH_AT)")


def canonical_json(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Published:
    path: Path
    status: str  # "published", "identical" (no-op) or "replaced"


class RunFolder:
    """A run being built under `<outbox>/<kind>/.staging-<key>`, published as `<outbox>/<kind>/<key>`."""

    def __init__(self, outbox: Path, kind: str, key: str):
        self.outbox = outbox
        self.parent = outbox / kind
        self.key = key
        self.staging = self.parent / f".staging-{key}"
        self.committing = False  # set once the state commit may have happened: the staging folder is then kept
        with writing(self.staging):
            if self.staging.exists():  # left behind by a crashed run that was never committed: safe to drop
                shutil.rmtree(self.staging)
            self.staging.mkdir(parents=True, mode=DIR_MODE)
            self.secure(self.parent)
            self.secure(self.staging)

    @staticmethod
    def secure(path: Path) -> None:
        path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)

    def path(self, relative: str) -> Path:
        target = self.staging / relative
        for parent in reversed(target.relative_to(self.staging).parents[:-1]):
            folder = self.staging / parent
            if not folder.exists():
                with writing(folder):
                    folder.mkdir(mode=DIR_MODE)
                    self.secure(folder)
        return target

    def write_bytes(self, relative: str, data: bytes) -> Path:
        target = self.path(relative)
        with writing(target):
            target.write_bytes(data)
            self.secure(target)
        return target

    def write_json(self, relative: str, value) -> Path:
        return self.write_bytes(relative, canonical_json(value))

    def write_parquet(self, relative: str, frame: pl.DataFrame) -> Path:
        target = self.path(relative)
        with writing(target):
            frame.write_parquet(target, compression="zstd", statistics=True)
            self.secure(target)
        return target

    def write_csv(self, relative: str, frame: pl.DataFrame) -> Path:
        target = self.path(relative)
        with writing(target):
            frame.write_csv(target)
            self.secure(target)
        return target

    def versions(self) -> list[Path]:
        """Published versions of this key, oldest first: <key>, <key>.v2, <key>.v3, ..."""
        return versions_of(self.parent, self.key)

    def version_name(self, number: int) -> str:
        return self.key if number == 1 else f"{self.key}.v{number}"

    def compare(self, manifest: dict) -> tuple[str, Path | None]:
        """("new", None) when the key was never published; ("identical", folder) when the latest version
        has this very manifest; ("different", folder) otherwise."""
        versions = self.versions()
        if not versions:
            return "new", None
        latest = versions[-1]
        if (latest / MANIFEST).read_bytes() == canonical_json(manifest):
            return "identical", latest
        return "different", latest

    def seal(self, manifest: dict) -> None:
        """Write the run manifest last, then flush every file and folder of the staging folder to disk:
        what the state commit that follows refers to is complete on disk."""
        _crash_point("before-manifest")
        self.write_bytes(MANIFEST, canonical_json(manifest))
        with writing(self.staging):
            for folder, _, names in os.walk(self.staging):
                for name in names:
                    fsync_path(Path(folder) / name)
                fsync_path(Path(folder))
            for folder in folders_up_to(self.parent, self.outbox):  # the staging folder's entry, and new parents
                fsync_path(folder)

    def rename(self, name: str) -> Path:
        """Publish the sealed staging folder as `name` by one rename, and flush the outbox folders."""
        _crash_point("before-rename")
        target = self.parent / name
        with writing(target):
            publish_staging(self.staging, target, self.outbox)
        _crash_point("after-rename")
        return target

    def refusal(self, latest: Path) -> str:
        return (
            f"{self.parent.name} {self.key} is already published as {latest.name} with a different "
            "result; pass --replace to publish it again as a new version"
        )

    def discard(self) -> None:
        """Drop the staging folder, unless the state commit may have happened: the next run completes it."""
        if self.staging.exists() and not self.committing:
            with writing(self.staging):
                shutil.rmtree(self.staging)


def versions_of(parent: Path, key: str) -> list[Path]:
    """The published versions of `key` under `parent`, oldest first: <key>, <key>.v2, <key>.v3, ..."""
    pattern = re.compile(rf"^{re.escape(key)}(?:\.v(\d+))?$")
    found = []
    if parent.is_dir():
        for child in parent.iterdir():
            match = pattern.match(child.name)
            if match and child.is_dir():
                found.append((int(match.group(1) or 1), child))
    return [p for _, p in sorted(found)]


def folders_up_to(folder: Path, outbox: Path) -> list[Path]:
    """`folder` and each folder above it up to the outbox, included: those whose entries a run may have added."""
    chain = [folder]
    while chain[-1] != outbox and chain[-1] != chain[-1].parent:
        chain.append(chain[-1].parent)
    return chain


def publish_staging(staging: Path, target: Path, outbox: Path) -> None:
    """Rename a sealed staging folder to its published name and flush the folders holding it to disk."""
    os.replace(staging, target)
    for folder in folders_up_to(target.parent, outbox):
        fsync_path(folder)


def staging_of(folder: Path) -> Path:
    """The staging folder a published folder comes from: nightly/2026-11-26.v2 <- nightly/.staging-2026-11-26."""
    return folder.parent / f".staging-{re.sub(r'[.]v[0-9]+$', '', folder.name)}"


def is_complete(staging: Path, manifest_sha256: str) -> bool:
    """Whether a staging folder was sealed with the manifest of digest `manifest_sha256` and holds every file
    that manifest lists, unchanged (and its report)."""
    try:
        data = (staging / MANIFEST).read_bytes()
        if sha256_bytes(data) != manifest_sha256 or not (staging / "_report.json").is_file():
            return False
        manifest = json.loads(data)
        expected = {e["name"]: e["sha256"] for e in manifest.get("files", [])}
        for code, zorgkas in manifest.get("zorgkassen", {}).items():
            if (staging / code / "manifest.json").read_bytes() != canonical_json(zorgkas):
                return False
            expected |= {f"{code}/{e['name']}": e["sha256"] for e in zorgkas["files"]}
        return all(file_sha256(staging / name) == sha for name, sha in expected.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False
