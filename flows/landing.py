"""The landing zone: finding each feed's delivery for a run date and reading its Parquet files.

feeds.md: a delivery is `<landing>/<feed>/delivery_date=YYYY-MM-DD/*.parquet`; a run as of D
reads, per feed, the newest delivery with delivery_date <= D. Every problem is a `FeedError`
that names the feed, and the file and column where there is one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.quarantine import ROW_NUMBER, SOURCE_FILE
from schemas.feeds import FeedContract

_PARTITION = re.compile(r"^delivery_date=(\d{4}-\d{2}-\d{2})$")

# The Parquet (Arrow) types each contract type accepts; int arrives as Int32 or Int64.
_ACCEPTED: dict[type[pl.DataType], tuple[pa.DataType, ...]] = {
    pl.String: (pa.string(), pa.large_string(), pa.string_view()),
    pl.Date: (pa.date32(),),
    pl.Boolean: (pa.bool_(),),
    pl.Int64: (pa.int32(), pa.int64()),
    pl.Float64: (pa.float64(),),
}
_TYPE_NAMES = {pl.String: "str", pl.Date: "date", pl.Boolean: "bool", pl.Int64: "int", pl.Float64: "float"}


class FeedError(Exception):
    """A feed cannot be used: names the feed, and the file and column where there is one."""


@dataclass(frozen=True)
class Delivery:
    feed: str
    delivery_date: dt.date
    folder: Path
    files: tuple[Path, ...]
    rows: int
    previous_date: dt.date | None
    previous_rows: int | None

    def relative_files(self, landing: Path) -> list[str]:
        return [f.relative_to(landing).as_posix() for f in self.files]


def deliveries_of(landing: Path, feed: str) -> list[tuple[dt.date, Path]]:
    """Every delivery folder of a feed, oldest first."""
    feed_dir = landing / feed
    found = []
    if feed_dir.is_dir():
        for child in feed_dir.iterdir():
            match = _PARTITION.match(child.name)
            if child.is_dir() and match:
                try:
                    found.append((dt.date.fromisoformat(match.group(1)), child))
                except ValueError as exc:
                    raise FeedError(f"feed {feed}: folder {child.name} does not name a valid date") from exc
    return sorted(found)


def _row_count(feed: str, files: tuple[Path, ...]) -> int:
    total = 0
    for f in files:
        try:
            total += pq.ParquetFile(f).metadata.num_rows
        except Exception as exc:  # any reason a file cannot be opened as Parquet
            raise FeedError(f"feed {feed}, file {f}: unreadable Parquet file ({exc})") from exc
    return total


def _parquet_files(feed: str, folder: Path) -> tuple[Path, ...]:
    files = tuple(sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".parquet"))
    if not files:
        raise FeedError(f"feed {feed}: delivery {folder.name} holds no .parquet file")
    return files


def locate_delivery(landing: Path, feed: str, as_of: dt.date) -> Delivery:
    """The newest delivery of `feed` on or before `as_of`, with the previous one's row count."""
    usable = [(d, p) for d, p in deliveries_of(landing, feed) if d <= as_of]
    if not usable:
        raise FeedError(f"feed {feed}: no delivery on or before {as_of.isoformat()} in {landing / feed}")
    delivery_date, folder = usable[-1]
    files = _parquet_files(feed, folder)
    previous_date = previous_rows = None
    if len(usable) > 1:
        previous_date, previous_folder = usable[-2]
        previous_rows = _row_count(feed, _parquet_files(feed, previous_folder))
    return Delivery(feed, delivery_date, folder, files, _row_count(feed, files), previous_date, previous_rows)


def check_file_schema(contract: FeedContract, path: Path) -> list[str]:
    """The extra columns of one file; a missing column or a wrong type is a FeedError."""
    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    present = {f.name: f.type for f in schema}
    for column, dtype in contract.columns.items():
        if column not in present:
            raise FeedError(f"feed {contract.name}, file {path}: missing column {column}")
        arrow_type = present[column]
        nullable_all_null = arrow_type == pa.null() and column in contract.nullable
        if arrow_type not in _ACCEPTED[dtype] and not nullable_all_null:
            raise FeedError(
                f"feed {contract.name}, file {path}: column {column} has type {arrow_type}, "
                f"the contract says {_TYPE_NAMES[dtype]}"
            )
    return [name for name in present if name not in contract.columns]


def read_file(contract: FeedContract, path: Path, landing: Path, where: pl.Expr | None = None) -> pl.DataFrame:
    """The rows of one file (or those meeting `where`) in the contract's columns and canonical types,
    plus source_file and row_number (1 for the first row of the file)."""
    try:
        if where is None:
            frame = pl.read_parquet(path, columns=list(contract.columns)).with_row_index(ROW_NUMBER, offset=1)
        else:
            frame = (
                pl.scan_parquet(path)
                .select(list(contract.columns))
                .with_row_index(ROW_NUMBER, offset=1)
                .filter(where)
                .collect()
            )
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    return frame.with_columns(
        [pl.col(c).cast(t) for c, t in contract.columns.items() if frame.schema[c] != t]
        + [pl.col(ROW_NUMBER).cast(pl.Int64), pl.lit(path.relative_to(landing).as_posix()).alias(SOURCE_FILE)]
    ).select([*contract.columns, SOURCE_FILE, ROW_NUMBER])


def _read_columns(contract: FeedContract, path: Path, columns: list[str]) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path, columns=columns)
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    return frame.with_columns([pl.col(c).cast(contract.columns[c]) for c in columns])


def read_key_hashes(contract: FeedContract, delivery: Delivery, hashed: pl.Expr) -> pl.Series:
    """The expression `hashed` over the key columns, file by file, in file order: memory holds one
    file's keys at a time and the 8-byte hashes of the delivery (checks over the whole delivery)."""
    parts = [_read_columns(contract, path, list(contract.key)).select(hashed) for path in delivery.files]
    return pl.concat(parts, how="vertical").to_series()


def read_key_rows(contract: FeedContract, delivery: Delivery, rows: pl.Series) -> pl.DataFrame:
    """The key columns of the rows at positions `rows` (UInt32, over the delivery in file order), with `_row`."""
    parts, offset = [], 0
    for path in delivery.files:
        height = pq.ParquetFile(path).metadata.num_rows
        mine = rows.filter((rows >= offset) & (rows < offset + height))
        if mine.len():
            keys = _read_columns(contract, path, list(contract.key))
            parts.append(keys[mine - offset].with_columns(mine.alias("_row")))
        offset += height
    if not parts:
        return pl.DataFrame(schema={**{k: contract.columns[k] for k in contract.key}, "_row": pl.UInt32})
    return pl.concat(parts, how="vertical")


def check_delivery_schema(contract: FeedContract, delivery: Delivery) -> list[str]:
    """Every file's schema; the extra columns found, once each."""
    extra: list[str] = []
    for path in delivery.files:
        for column in check_file_schema(contract, path):
            if column not in extra:
                extra.append(column)
    return extra


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(paths: list[Path]) -> dict[Path, str]:
    """sha256 of each file; hashlib releases the GIL, so threads hash files side by side."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(paths, pool.map(sha256_of, paths), strict=True))
