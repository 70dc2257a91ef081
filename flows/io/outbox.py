"""Writing a run's files: per-zorgkas folders (only that zorgkas's members) and their manifests."""

from __future__ import annotations

import polars as pl

from flows.io.landing import file_digests
from flows.publication.folder import RunFolder
from pipelines.emit.files import csv_ready


class FileLog:
    """The files written to a run, with rows and sha256, for the manifests."""

    def __init__(self, run: RunFolder):
        self.run = run
        self.entries: dict[str, dict] = {}

    def parquet(self, relative: str, frame: pl.DataFrame) -> None:
        self._log(relative, self.run.write_parquet(relative, frame), frame.height)

    def bytes(self, relative: str, data: bytes, rows: int) -> None:
        self._log(relative, self.run.write_bytes(relative, data), rows)

    def csv(self, relative: str, frame: pl.DataFrame) -> None:
        self._log(relative, self.run.write_csv(relative, csv_ready(frame)), frame.height)

    def existing(self, relative: str, rows: int) -> None:
        """A file already written into the run's folder (a letters PDF, written by a worker process)."""
        self._log(relative, self.run.staging / relative, rows)

    def _log(self, relative: str, path, rows: int) -> None:
        self.entries[relative] = {"name": relative, "rows": rows, "sha256": file_digests([path])[path]}

    def under(self, folder: str) -> list[dict]:
        prefix = folder.rstrip("/") + "/"
        return [
            {**e, "name": e["name"][len(prefix) :]} for k, e in sorted(self.entries.items()) if k.startswith(prefix)
        ]
