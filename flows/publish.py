"""Atomic publication of a run folder: built in a staging folder, published by one rename.

outputs.md, Guarantees: a run appears whole or not at all; a rerun whose result is
identical to the published one is a no-op; a different result is refused unless
`--replace`, which publishes the date again as `<D>.v2` (v3, ...). Files are readable by
owner and group only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

FILE_MODE = 0o640
DIR_MODE = 0o750
MANIFEST = "_manifest.json"


class PublishError(Exception):
    """A run cannot be published (a different result exists and --replace was not given)."""


def _crash_point(name: str) -> None:
    """Tests inject a crash at a named step of publication through VSB_CRASH_AT."""
    if os.environ.get("VSB_CRASH_AT") == name:
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
        self.parent = outbox / kind
        self.key = key
        self.staging = self.parent / f".staging-{key}"
        if self.staging.exists():  # left behind by a crashed run: never published, safe to drop
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
                folder.mkdir(mode=DIR_MODE)
                self.secure(folder)
        return target

    def write_bytes(self, relative: str, data: bytes) -> Path:
        target = self.path(relative)
        target.write_bytes(data)
        self.secure(target)
        return target

    def write_json(self, relative: str, value) -> Path:
        return self.write_bytes(relative, canonical_json(value))

    def write_parquet(self, relative: str, frame: pl.DataFrame) -> Path:
        target = self.path(relative)
        frame.write_parquet(target, compression="zstd", statistics=True)
        self.secure(target)
        return target

    def versions(self) -> list[Path]:
        """Published versions of this key, oldest first: <key>, <key>.v2, <key>.v3, ..."""
        pattern = re.compile(rf"^{re.escape(self.key)}(?:\.v(\d+))?$")
        found = []
        if self.parent.is_dir():
            for child in self.parent.iterdir():
                match = pattern.match(child.name)
                if match and child.is_dir():
                    found.append((int(match.group(1) or 1), child))
        return [p for _, p in sorted(found)]

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

    def publish_as(self, name: str, manifest: dict) -> Path:
        """Write the manifest last and publish the staging folder as `name` by one rename."""
        _crash_point("before-manifest")
        self.write_bytes(MANIFEST, canonical_json(manifest))
        _crash_point("before-rename")
        target = self.parent / name
        os.replace(self.staging, target)
        _crash_point("after-rename")
        return target

    def publish(self, manifest: dict, replace: bool) -> Published:
        """Publish unless an identical result is there already; a different one needs `replace`."""
        status, latest = self.compare(manifest)
        if status == "identical":
            self.discard()
            return Published(latest, "identical")
        if status == "different" and not replace:
            self.discard()
            raise PublishError(self.refusal(latest))
        name = self.version_name(len(self.versions()) + 1)
        return Published(self.publish_as(name, manifest), "replaced" if status == "different" else "published")

    def refusal(self, latest: Path) -> str:
        return (
            f"{self.parent.name} {self.key} is already published as {latest.name} with a different "
            "result; pass --replace to publish it again as a new version"
        )

    def discard(self) -> None:
        if self.staging.exists():
            shutil.rmtree(self.staging)
