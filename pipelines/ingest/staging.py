"""Staging of one feed delivery: row rules, quarantine, IBAN status, counts for the run report.

Pure: frames in, frames out. The caller reads the files (flows/io/landing.py) and writes the
quarantine (flows/publication/folder.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from pipelines.ingest.iban import IBAN_INVALID, IBAN_MISSING, with_iban_status
from pipelines.ingest.insz import insz_number
from pipelines.ingest.quarantine import RULE_ORDER, row_checks, split_rows
from schemas.feeds import FeedContract
from schemas.outputs import Quarantine, columns

QUARANTINE_COLUMNS = columns(Quarantine)


@dataclass
class StagedFeed:
    feed: str
    delivery_date: dt.date
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int
    extra_columns: list[str] = field(default_factory=list)
    # valid rows before the caller narrowed `valid` to the rows it needs (None: not narrowed)
    rows_valid: int | None = None
    # valid rows whose insz is not a member (feeds other than members; None: not counted)
    rows_without_member: int | None = None

    def counts(self) -> dict:
        """Rows read, valid and quarantined, and quarantined rows per first-broken rule."""
        per_rule = dict(self.quarantine.group_by("rule").len().sort("rule").iter_rows())
        return {
            "delivery_date": self.delivery_date.isoformat(),
            "rows_read": self.rows_read,
            "rows_valid": self.valid.height if self.rows_valid is None else self.rows_valid,
            "rows_quarantined": self.quarantine.height,
            "quarantined_by_rule": {rule: per_rule[rule] for rule in RULE_ORDER if rule in per_rule},
        }


def stage_feed(
    raw: pl.DataFrame,
    contract: FeedContract,
    delivery_date: dt.date,
    run_date: dt.date,
    reference_codes: dict[str, list[str]],
    duplicates: pl.Series | None = None,
    *,
    maxima: Mapping[str, float],
    valid_columns: Sequence[str] | None = None,
) -> StagedFeed:
    """Apply every row rule of the feed to `raw` (the delivery, or one file of it with the positions
    of its rows whose key repeats in the whole delivery in `duplicates`).

    Members get `iban_status` (VALID, MISSING, INVALID) and an invalid IBAN becomes null:
    docs/spec/feeds.md, an IBAN that fails its check digits is treated as missing. An optional column that `raw`
    lacks is null in the valid rows and left out of the quarantined row's JSON. `maxima`: R-RANGE's maxima
    from the parameters (pipelines/ingest/quarantine.py range_maxima). `valid_columns`: only these columns in the
    valid rows (split_rows; a caller that only counts the valid rows), default all.
    """
    checks = row_checks(contract, delivery_date, run_date.year, reference_codes, maxima)
    absent = [c for c in contract.optional if c not in raw.columns]
    # docs/spec/feeds.md: an optional column the delivery lacks is null (its default applies where it is used)
    if absent:
        raw = raw.with_columns([pl.lit(None, contract.columns[c]).alias(c) for c in absent])
    valid, quarantine = split_rows(raw, contract, checks, duplicates, absent, valid_columns)
    if "iban" in valid.columns:
        valid = with_iban_status(valid, "iban")
    quarantine = quarantine.with_columns(pl.lit(delivery_date).alias("delivery_date")).select(
        [pl.col(c).cast(t) for c, t in QUARANTINE_COLUMNS.items()]
    )
    return StagedFeed(contract.name, delivery_date, valid, quarantine.sort("source_file", "row_number"), raw.height)


def combine(parts: list[StagedFeed]) -> StagedFeed:
    """The staged files of one delivery as one staged feed."""
    first = parts[0]
    return StagedFeed(
        first.feed,
        first.delivery_date,
        pl.concat([p.valid for p in parts], how="vertical"),
        pl.concat([p.quarantine for p in parts], how="vertical").sort("source_file", "row_number"),
        sum(p.rows_read for p in parts),
        rows_valid=None if first.rows_valid is None else sum(p.rows_valid for p in parts),
        rows_without_member=None if first.rows_without_member is None else sum(p.rows_without_member for p in parts),
    )


def iban_counts(members: pl.DataFrame) -> dict[str, int]:
    """Members whose IBAN is missing or invalid (treated as missing), for the run report."""
    counts = dict(members.group_by("iban_status").len().iter_rows())
    return {"missing": counts.get(IBAN_MISSING, 0), "invalid": counts.get(IBAN_INVALID, 0)}


def member_numbers(members: pl.DataFrame) -> pl.Series:
    """The members' insz as sorted numbers: a valid insz is exactly 11 digits, so its number identifies it."""
    return members.select(insz_number(pl.col("insz")))["insz"].unique().sort()


def rows_without_member(feed: pl.DataFrame, numbers: pl.Series) -> int:
    """Valid rows of another feed whose insz is not a member (`numbers`: member_numbers): not errors,
    counted (docs/spec/feeds.md). Sorted rows searched in the sorted numbers: no hash table of 7M members per file."""
    if numbers.len() == 0:
        return feed.height
    wanted = feed.select(insz_number(pl.col("insz")))["insz"].sort()
    at = numbers.search_sorted(wanted).clip(0, numbers.len() - 1)
    return int((numbers.gather(at) != wanted).fill_null(True).sum())
