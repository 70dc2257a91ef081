"""The landing zone: finding each feed's delivery for a run date and reading its Parquet files.

docs/spec/feeds.md: a delivery is `<landing>/<feed>/delivery_date=YYYY-MM-DD/*.parquet`; a run as of D
reads, per feed, the newest delivery with delivery_date <= D. Every problem is a `FeedError`
that names the feed, and the file and column where there is one.
A feed folder, delivery folder or file that is a symbolic link out of the landing zone is one
too: the engine never reads outside the landing zone (an operator who wants that copies the file in).
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

from pipelines.ingest.quarantine import ROW_NUMBER, SOURCE_FILE
from schemas.feeds import FeedContract

_PARTITION = re.compile(r"^delivery_date=(\d{4}-\d{2}-\d{2})$")

_TYPE_NAMES = {pl.String: "str", pl.Date: "date", pl.Boolean: "bool", pl.Int64: "int", pl.Float64: "float"}
_STRINGS = (pa.string(), pa.large_string(), pa.string_view())
# every integer of up to 32 bits is an exact Float64; a decimal of up to 15 digits survives a Float64 (DBL_DIG)
_FLOAT_EXACT_INT_BITS = 32
_FLOAT_EXACT_DIGITS = 15
_DECIMAL_READ_DIGITS = 38  # Polars reads decimals of up to 38 digits
LOSSLESS, BY_VALUE = "lossless", "by value"


def physical_variant(dtype: type[pl.DataType], arrow_type: pa.DataType) -> str | None:
    """How a Parquet column of `arrow_type` holds the contract type `dtype` (docs/spec/feeds.md "Types"):
    LOSSLESS (every value it can hold), BY_VALUE (only some values: each must survive the trip to the contract type
    and back, `lossy_value`), or None (a wrong type).

    str: a string, large string or string view, plain or dictionary-encoded. int: any integer width (uint64 by
    value). float: any float width; an integer of up to 32 bits; int64 and uint64 by value; a decimal of up to
    15 digits (up to 38 by value; Polars reads no wider decimal). date: a Parquet DATE; a timestamp without
    time zone or a date64 by value (midnight). A timestamp with a time zone is a wrong type: it names an
    instant, and which calendar day that is depends on a zone the contract does not name.
    """
    if dtype == pl.String:
        value_type = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
        return LOSSLESS if value_type in _STRINGS else None
    if dtype == pl.Boolean:
        return LOSSLESS if arrow_type == pa.bool_() else None
    if dtype == pl.Int64 and pa.types.is_integer(arrow_type):
        return BY_VALUE if arrow_type == pa.uint64() else LOSSLESS
    if dtype == pl.Float64:
        if pa.types.is_floating(arrow_type):
            return LOSSLESS
        if pa.types.is_integer(arrow_type):
            return LOSSLESS if arrow_type.bit_width <= _FLOAT_EXACT_INT_BITS else BY_VALUE
        if pa.types.is_decimal(arrow_type) and arrow_type.precision <= _DECIMAL_READ_DIGITS:
            return LOSSLESS if arrow_type.precision <= _FLOAT_EXACT_DIGITS else BY_VALUE
    if dtype == pl.Date:
        if arrow_type == pa.date32():
            return LOSSLESS
        if arrow_type == pa.date64() or (pa.types.is_timestamp(arrow_type) and arrow_type.tz is None):
            return BY_VALUE
    return None


class FeedError(Exception):
    """A feed cannot be used: names the feed, and the file and column where there is one."""


class NoDelivery(FeedError):
    """A feed has no delivery on or before the run date; `first`: its first delivery, if any."""

    def __init__(self, message: str, feed: str, first: dt.date | None):
        super().__init__(message)
        self.feed, self.first = feed, first


@dataclass(frozen=True)
class Delivery:
    feed: str
    delivery_date: dt.date
    folder: Path
    files: tuple[Path, ...]
    rows: int
    previous_date: dt.date | None
    previous_rows: int | None
    previous_files: tuple[Path, ...] = ()  # the previous delivery's files (feed-level checks)


def inside_landing(landing: Path, feed: str, path: Path, kind: str) -> Path:
    """`path` itself when it resolves to a place inside the landing zone; a FeedError naming it when it is a
    symbolic link (or lies below one) that leads outside (docs/spec/feeds.md: an operator who wants that copies the file
    in). Links that stay inside the landing zone are fine, and so is a landing zone that is itself a link."""
    try:
        root, target = landing.resolve(), path.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise FeedError(f"feed {feed}: {kind} {path} cannot be resolved ({exc})") from exc
    if not target.is_relative_to(root):
        raise FeedError(
            f"feed {feed}: {kind} {path} is a symbolic link to {target}, outside the landing zone {root}; "
            "an operator who wants that copies the file in"
        )
    return path


def deliveries_of(landing: Path, feed: str) -> list[tuple[dt.date, Path]]:
    """Every delivery folder of a feed, oldest first."""
    feed_dir = landing / feed
    found = []
    if feed_dir.is_dir():
        inside_landing(landing, feed, feed_dir, "feed folder")
        for child in feed_dir.iterdir():
            match = _PARTITION.match(child.name)
            if (child.is_dir() or child.is_symlink()) and match:
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


def _parquet_files(landing: Path, feed: str, folder: Path) -> tuple[Path, ...]:
    """The .parquet files of a delivery folder (a symbolic link among them only when it stays in the landing)."""
    inside_landing(landing, feed, folder, "delivery folder")
    if not folder.is_dir():
        raise FeedError(f"feed {feed}: delivery {folder.name} is not a folder")
    found = sorted(p for p in folder.iterdir() if (p.is_file() or p.is_symlink()) and p.suffix == ".parquet")
    files = tuple(inside_landing(landing, feed, p, "file") for p in found)
    if not files:
        raise FeedError(f"feed {feed}: delivery {folder.name} holds no .parquet file")
    return files


def locate_delivery(landing: Path, feed: str, as_of: dt.date) -> Delivery:
    """The newest delivery of `feed` on or before `as_of`, with the previous one's row count."""
    found = deliveries_of(landing, feed)
    usable = [(d, p) for d, p in found if d <= as_of]
    if not usable:
        first = found[0][0] if found else None
        raise NoDelivery(f"feed {feed}: no delivery on or before {as_of.isoformat()} in {landing / feed}", feed, first)
    delivery_date, folder = usable[-1]
    files = _parquet_files(landing, feed, folder)
    previous_date = previous_rows = None
    previous_files: tuple[Path, ...] = ()
    if len(usable) > 1:
        previous_date, previous_folder = usable[-2]
        previous_files = _parquet_files(landing, feed, previous_folder)
        previous_rows = _row_count(feed, previous_files)
    rows = _row_count(feed, files)
    return Delivery(feed, delivery_date, folder, files, rows, previous_date, previous_rows, previous_files)


def non_null_counts(contract: FeedContract, files: tuple[Path, ...]) -> dict[str, int]:
    """Per nullable column of the contract, its count of non-null values over `files` (docs/spec/feeds.md,
    feed-level checks): from the Parquet footers' statistics where every row group has them, else by reading that
    column. A column a file lacks (an optional one) counts no value there."""
    wanted = sorted(contract.nullable, key=list(contract.columns).index)
    counts = dict.fromkeys(wanted, 0)
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:
            raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        to_read = []
        for column in wanted:
            if column not in names:
                continue
            index = names.index(column)
            nulls = 0
            for group in range(meta.num_row_groups):
                stats = meta.row_group(group).column(index).statistics
                if stats is None or not stats.has_null_count:
                    to_read.append(column)
                    break
                nulls += stats.null_count
            else:
                counts[column] += meta.num_rows - nulls
        if to_read:
            read = _read_columns(contract, path, to_read).select(pl.all().count())
            for column in to_read:
                counts[column] += int(read[column][0])
    return counts


def identical_files(files: tuple[Path, ...]) -> list[tuple[Path, ...]]:
    """The groups of files with the same content (sha256), among files of equal size only."""
    by_size: dict[int, list[Path]] = {}
    for path in files:
        by_size.setdefault(path.stat().st_size, []).append(path)
    candidates = [p for group in by_size.values() if len(group) > 1 for p in group]
    by_digest: dict[str, list[Path]] = {}
    for path, digest in file_digests(candidates).items():
        by_digest.setdefault(digest, []).append(path)
    return [tuple(group) for group in by_digest.values() if len(group) > 1]


def row_hashes(contract: FeedContract, files: tuple[Path, ...]) -> pl.Series:
    """A 64-bit hash of each row (the contract's columns every file holds), file by file."""
    columns = [c for c in contract.columns if c not in contract.optional]
    parts = [_read_columns(contract, path, columns).select(pl.struct(columns).hash(seed=0)) for path in files]
    return pl.concat(parts, how="vertical").to_series()


def check_file_schema(contract: FeedContract, path: Path) -> list[str]:
    """The extra columns of one file; a missing column or a wrong or lossy type is a FeedError.

    The Parquet schema decides (its footer only); the values of a column are read only when its physical
    type holds the contract type for some values alone (`physical_variant` BY_VALUE).
    """
    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    present = {f.name: f.type for f in schema}
    for column, dtype in contract.columns.items():
        if column not in present:
            if column in contract.optional:
                continue  # docs/spec/feeds.md: a delivery may lack an optional column (read as null)
            raise FeedError(f"feed {contract.name}, file {path}: missing column {column}")
        arrow_type = present[column]
        if arrow_type == pa.null() and column in contract.nullable:
            continue  # an all-null column of a nullable type
        variant = physical_variant(dtype, arrow_type)
        if variant is None:
            why = _why_wrong(dtype, arrow_type)
            raise FeedError(
                f"feed {contract.name}, file {path}: column {column} has type {arrow_type}, "
                f"the contract says {_TYPE_NAMES[dtype]}{why}"
            )
        if variant == BY_VALUE:
            lossy = lossy_value(contract, path, column)
            if lossy is not None:
                row, value = lossy
                raise FeedError(
                    f"feed {contract.name}, file {path}: column {column} has type {arrow_type} and a value that "
                    f"{_TYPE_NAMES[dtype]} cannot hold (row {row}: {value})"
                )
    return [name for name in present if name not in contract.columns]


def _why_wrong(dtype: type[pl.DataType], arrow_type: pa.DataType) -> str:
    """A hint after a wrong type that looks like the contract type."""
    if dtype == pl.Date and pa.types.is_timestamp(arrow_type) and arrow_type.tz:
        return " (a time zone makes it an instant, not a calendar day)"
    if dtype == pl.Float64 and pa.types.is_decimal(arrow_type):
        return f" (a decimal of more than {_DECIMAL_READ_DIGITS} digits is not read)"
    return ""


def lossy_value(contract: FeedContract, path: Path, column: str) -> tuple[int, object] | None:
    """The first row (1 for the file's first row) and value of `column` that does not survive the trip to its
    contract type and back (a timestamp not at midnight, a uint64 beyond Int64, a number a Float64 cannot hold
    exactly), or None. Reads that one column."""
    try:
        scan = pl.scan_parquet(path).select(column)
        source = scan.collect_schema()[column]
        col = pl.col(column)
        back = col.cast(contract.columns[column], strict=False).cast(source, strict=False)
        first = (
            scan.with_row_index(ROW_NUMBER, offset=1)
            .filter(col.is_not_null() & (back == col).fill_null(False).not_())
            .head(1)
            .collect()
        )
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    return None if first.is_empty() else (first[ROW_NUMBER][0], first[column][0])


def read_file(contract: FeedContract, path: Path, landing: Path, where: pl.Expr | None = None) -> pl.DataFrame:
    """The rows of one file (or those meeting `where`) in the contract's columns and canonical types,
    plus source_file and row_number (1 for the first row of the file). An optional column the file
    lacks is left out (staging adds it as null).

    A physical variant of a type (check_file_schema accepted it) is cast to the contract type here.
    """
    columns = _delivered(contract, path)
    try:
        if where is None:
            frame = _canonical(contract, pl.read_parquet(path, columns=columns))
            frame = frame.with_row_index(ROW_NUMBER, offset=1)
        else:
            scan = pl.scan_parquet(path).select(columns)
            frame = (
                scan.with_columns(_casts(contract, scan.collect_schema()))
                .with_row_index(ROW_NUMBER, offset=1)
                .filter(where)
                .collect()
            )
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    return frame.with_columns(
        pl.col(ROW_NUMBER).cast(pl.Int64), pl.lit(path.relative_to(landing).as_posix()).alias(SOURCE_FILE)
    ).select([*columns, SOURCE_FILE, ROW_NUMBER])


def _delivered(contract: FeedContract, path: Path) -> list[str]:
    """The contract's columns the file holds, in the contract's order: all but the optional ones it lacks."""
    if not contract.optional:
        return list(contract.columns)
    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    return [c for c in contract.columns if c in names or c not in contract.optional]


def _casts(contract: FeedContract, schema: pl.Schema) -> list[pl.Expr]:
    return [
        pl.col(c).cast(contract.columns[c])
        for c, t in schema.items()
        if c in contract.columns and t != contract.columns[c]
    ]


def _canonical(contract: FeedContract, frame: pl.DataFrame) -> pl.DataFrame:
    """The columns read in their contract types (a physical variant cast)."""
    casts = _casts(contract, frame.schema)
    return frame.with_columns(casts) if casts else frame


def _read_columns(contract: FeedContract, path: Path, columns: list[str]) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path, columns=columns)
    except Exception as exc:
        raise FeedError(f"feed {contract.name}, file {path}: unreadable Parquet file ({exc})") from exc
    return _canonical(contract, frame)


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
