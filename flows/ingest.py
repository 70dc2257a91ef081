"""Ingest: read each feed's delivery of the run and stage it (row rules, quarantine).

Plain functions, so that every flow, the benchmarks and the tests share one path. The deliveries
were chosen and checked when the run started (flows/context.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import polars as pl
from pandera import config as pandera_config

from flows.context import MIN_PREVIOUS_VALUES, Options, RunContext
from flows.io.landing import Delivery, FeedError, check_delivery_schema, read_file, read_key_hashes, read_key_rows
from flows.progress import Steps, log_counts
from flows.tasks import step
from pipelines.ingest.quarantine import exact_duplicates, key_hash, range_maxima, repeated_hashes
from pipelines.ingest.staging import StagedFeed, combine, iban_counts, member_numbers, rows_without_member, stage_feed
from schemas.feeds import FEEDS


@dataclass
class Ingested:
    as_of: dt.date
    deliveries: dict[str, Delivery]
    feeds: dict[str, StagedFeed]
    warnings: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def valid(self, feed: str) -> pl.DataFrame:
        return self.feeds[feed].valid

    def counted(self) -> Ingested:
        """The same feeds without their valid rows (counts, deliveries and quarantines kept): what a run holds on to
        once it has taken what it needs of the rows. The caller lets go of this one to free their memory."""
        feeds = {name: without_rows(staged) for name, staged in self.feeds.items()}
        return replace(self, feeds=feeds)


def without_rows(staged: StagedFeed) -> StagedFeed:
    """`staged` without its valid rows (its counts unchanged)."""
    rows_valid = staged.valid.height if staged.rows_valid is None else staged.rows_valid
    return replace(staged, valid=staged.valid.clear(), rows_valid=rows_valid)


@step("ingest-feed", "ingest-{feed}")
def ingest_feed(
    ctx: RunContext,
    feed: str,
    where: pl.Expr | None = None,
    members: pl.Series | None = None,
    narrow=None,
) -> StagedFeed:
    """Read one delivery (or its rows meeting `where`) file by file, apply the row rules, and check the
    valid rows against the pandera model.

    `members` (for every feed but members: the members' insz numbers, pipelines/ingest/staging.py
    member_numbers): count the valid rows whose insz is not a member (docs/spec/feeds.md). `narrow`:
    function(valid rows) giving the only valid rows the caller needs; applied file by file, so that
    memory never holds all valid rows of a large feed (premium_payments: 18M rows at 7M members,
    of which the nightly run keeps 1.6M).

    R-DUPLICATE is judged over the whole delivery first, on the key columns only; then each file
    is staged on its own, so that memory holds one file's rows at a time besides the valid rows (a feed with
    R-REFERENCE, case_decisions, small, is staged as one frame: its rows name each other).
    The row rules are derived from the pandera model itself (pipelines/ingest/quarantine.py), so the
    valid rows meet the model's data checks by construction; here pandera checks the schema
    (columns and types) of what goes on, which costs nothing at 7M members. The test suite
    validates the valid rows with pandera at full data depth (tests/ingest/test_pandera_agreement.py).
    """
    contract, delivery, landing, as_of = FEEDS[feed], ctx.deliveries[feed], ctx.landing, ctx.run_date
    extra = check_delivery_schema(contract, delivery)
    codes = {"zorgkassen": ctx.reference.zorgkas_codes}
    maxima = range_maxima(contract, ctx.params)

    # a feed the run only counts (`_none`): its valid rows are staged with their insz alone, never copied whole
    only_counted = narrow is _none
    valid_columns = ["insz"] if only_counted and "insz" in contract.columns else None

    def counted(part: StagedFeed) -> StagedFeed:
        if members is not None:
            part.rows_without_member = rows_without_member(part.valid, members)
        if narrow is not None:
            part.rows_valid = part.valid.height
            part.valid = pl.DataFrame(schema=contract.columns) if only_counted else narrow(part.valid)
        return part

    if where is not None or contract.references:
        # one person's rows (vsb explain), or a feed whose rows refer to each other (case_decisions, R-REFERENCE:
        # a small feed): the whole selection at once; diagonal: a file may lack an optional column another holds
        raw = pl.concat([read_file(contract, path, landing, where) for path in delivery.files], how="diagonal")
        staged = counted(stage_feed(raw, contract, delivery.delivery_date, as_of, codes, maxima=maxima))
    else:
        staged = _staged_by_file(ctx, contract, codes, maxima, counted, valid_columns)
    staged.extra_columns = extra
    with pandera_config.config_context(validation_depth=pandera_config.ValidationDepth.SCHEMA_ONLY):
        contract.model.validate(staged.valid.select(list(contract.columns)))
    counts = staged.counts()
    shown = {"rows read": counts["rows_read"], "valid": counts["rows_valid"], "quarantined": counts["rows_quarantined"]}
    log_counts(f"ingest {feed}", shown | {"delivery": counts["delivery_date"]})
    return staged


def _staged_by_file(ctx: RunContext, contract, codes: dict, maxima, counted, valid_columns) -> StagedFeed:
    """A delivery staged file by file (memory holds one file's rows at a time besides the valid rows), its
    R-DUPLICATE judged over the whole delivery first, on the key columns only."""
    delivery = ctx.deliveries[contract.name]
    duplicates = pl.Series([], dtype=pl.UInt32)
    if contract.key:  # hashes of the whole delivery, then the exact keys of the few repeated ones
        candidates = repeated_hashes(read_key_hashes(contract, delivery, key_hash(contract.key)))
        duplicates = exact_duplicates(read_key_rows(contract, delivery, candidates), contract.key)
    parts, offset = [], 0
    for path in delivery.files:
        raw = read_file(contract, path, ctx.landing)
        mine = duplicates.filter((duplicates >= offset) & (duplicates < offset + raw.height)) - offset
        staged_file = stage_feed(
            raw, contract, delivery.delivery_date, ctx.run_date, codes, mine, maxima=maxima, valid_columns=valid_columns
        )
        parts.append(counted(staged_file))
        offset += raw.height
        del raw
    return combine(parts)


def _none(valid: pl.DataFrame) -> pl.DataFrame:
    """None of the valid rows (a feed the run only counts and quarantines)."""
    return valid.clear()


def ingest(
    ctx: RunContext,
    steps: Steps | None = None,
    keep: set[str] | None = None,
    narrow: dict | None = None,
    where: pl.Expr | None = None,
) -> Ingested:
    """Every feed of the run's deliveries (members first), read, validated and quarantined.

    `keep`: the feeds whose valid rows the caller needs (default all); the others keep only
    their counts and quarantine. `narrow`: feed -> function(valid members) giving a
    function(valid rows) -> the only rows the caller needs of that feed (e.g. the premiums of
    voluntary members). `where`: only the rows meeting it (one person's: vsb explain).
    """
    steps = steps or Steps(quiet=True)
    staged: dict[str, StagedFeed] = {}
    counts: dict[str, dict] = {}
    warnings = list(ctx.warnings)
    numbers = None
    for feed in ctx.deliveries:  # members first: the other feeds are counted against it
        only = narrow[feed](staged["members"].valid) if narrow and feed in narrow else None
        if keep is not None and feed not in keep and feed != "members":  # (members: the others are counted against it)
            only = _none  # counted, then let go file by file: memory never holds all its valid rows
        with steps.step(f"ingest {feed}") as shown:
            one = ingest_feed(ctx, feed, where=where, members=numbers, narrow=only)
            shown["rows read"] = one.rows_read
            shown["quarantined"] = one.quarantine.height
        counts[feed] = one.counts()
        warnings += quarantine_share(feed, counts[feed], ctx.params.max_quarantine_fraction, ctx.options)
        if feed == "members":
            counts[feed]["iban"] = iban_counts(one.valid)
            numbers = member_numbers(one.valid)
        else:
            counts[feed]["rows_without_member"] = one.rows_without_member
        if one.extra_columns:
            warnings.append(f"feed {feed}: extra columns ignored: {', '.join(one.extra_columns)}")
        staged[feed] = one if keep is None or feed in keep else without_rows(one)  # (read with `_none`: no rows)
    return Ingested(ctx.run_date, ctx.deliveries, staged, warnings, counts)


def quarantine_share(feed: str, counts: dict, max_fraction: float, options: Options) -> list[str]:
    """docs/spec/feeds.md, feed-level check: a feed whose quarantined share of this delivery's rows is above
    max_quarantine_fraction (a broken export, not bad rows) fails the run with the counts per rule, unless
    --accept-quarantine FEED (then a warning): a delivery that quarantines everyone holds everyone, and must not
    quietly use up the month's payment run. Judged on deliveries of at least MIN_PREVIOUS_VALUES (100) rows, as
    the column shrink is (flows/context.py): a share of a handful of rows says nothing of the export."""
    read, quarantined = counts["rows_read"], counts["rows_quarantined"]
    if read < MIN_PREVIOUS_VALUES or quarantined <= max_fraction * read:
        return []
    per_rule = ", ".join(f"{rule} {n:,}" for rule, n in counts["quarantined_by_rule"].items())
    message = (
        f"feed {feed}: {quarantined:,} of {read:,} rows of delivery {counts['delivery_date']} quarantined "
        f"({per_rule}), above {max_fraction:.0%} (max_quarantine_fraction)"
    )
    if feed in options.accept_quarantine:
        return [message + " (accepted with --accept-quarantine)"]
    raise FeedError(
        message + f": ask the data provider for a corrected delivery, or pass --accept-quarantine {feed} "
        "if the rows are rightly quarantined"
    )
