"""Writing a run's files: per-zorgkas folders (only that zorgkas's members) and their manifests."""

from __future__ import annotations

import polars as pl

from flows.io.landing import file_digests
from flows.publication.folder import RunFolder


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists as ';'-joined text; dates ISO 8601 and decimals as plain 123.45 (polars' CSV defaults)."""
    return frame.with_columns([pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List)])


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

    def _log(self, relative: str, path, rows: int) -> None:
        self.entries[relative] = {"name": relative, "rows": rows, "sha256": file_digests([path])[path]}

    def under(self, folder: str) -> list[dict]:
        prefix = folder.rstrip("/") + "/"
        return [
            {**e, "name": e["name"][len(prefix) :]} for k, e in sorted(self.entries.items()) if k.startswith(prefix)
        ]


def zorgkas_slices(frame: pl.DataFrame, codes: list[str]) -> dict[str, pl.DataFrame]:
    """The rows of each zorgkas (every code present, possibly empty): never another's members.

    A frame sorted by zorgkas (without nulls) is cut into zero-copy slices, in their order: the
    payments of a go-live night are 6.5M rows, not to be copied once more."""
    zorgkas = frame["zorgkas"]
    if zorgkas.null_count() == 0 and zorgkas.is_sorted():
        cuts = pl.Series(codes, dtype=pl.String)
        starts = zorgkas.search_sorted(cuts, side="left").to_list()
        ends = zorgkas.search_sorted(cuts, side="right").to_list()
        return {code: frame.slice(start, end - start) for code, start, end in zip(codes, starts, ends, strict=True)}
    return {code: frame.filter(pl.col("zorgkas") == code) for code in codes}
