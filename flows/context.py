"""The run context: what a run is, decided once when it starts and handed to every step.

One immutable object per run: its kind, the run date D (the one notion of "today" inside the
engine: nothing below the flows reads the clock), the folders, the operator's options, the
reference data and the parameters in force on D (resolved once), and the deliveries chosen for
D. A simulation swaps the reference for a reformed one (`with_reference`); nothing else changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from flows.io.landing import (
    Delivery,
    FeedError,
    NoDelivery,
    identical_files,
    locate_delivery,
    non_null_counts,
    row_hashes,
)
from flows.reference import Reference, load_reference
from flows.runtime import tag_flow_run
from pipelines.decide.decisions import Amounts
from pipelines.params import Params
from pipelines.timeline import window_months
from schemas.feeds import FEEDS

TIMEZONE = "Europe/Brussels"


def today() -> dt.date:
    """The date a run started without --as-of takes: today in Brussels (the flows layer reads the clock)."""
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


@dataclass(frozen=True)
class Options:
    """What the operator allows this run (docs/spec/outputs.md, common options)."""

    accept_shrink: frozenset[str] = frozenset()
    accept_mass_change: bool = False
    replace: bool = False
    quiet: bool = False
    accept_quarantine: frozenset[str] = frozenset()  # feeds whose quarantined share may pass max_quarantine_fraction


DEFAULTS = Options()


@dataclass(frozen=True)
class RunContext:
    kind: str  # nightly, invoices, fines, explain, simulate
    run_date: dt.date  # D
    landing: Path
    outbox: Path
    state: Path
    reference: Reference
    params: Params  # the parameters as seen on D (a rule reads others on the days it says: Params.periods)
    options: Options = DEFAULTS
    year: int | None = None  # the premium year of an invoice run, the fine year of a fine run
    deliveries: dict[str, Delivery] = field(default_factory=dict)  # per feed read, the delivery of D
    warnings: tuple[str, ...] = ()  # feed-level warnings (accepted shrinks, old deliveries)

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """First and last month of the evaluation window (D-DECISION)."""
        return window_months(self.run_date, self.params.evaluation_window_months)

    @property
    def amounts(self) -> Amounts:
        """The dated ZZB and BOB monthly amounts over the window."""
        first, _ = self.window
        return Amounts.in_force(self.params, first, self.run_date)

    @property
    def info(self) -> dict:
        """The run as manifests and reports name it."""
        found = {"kind": self.kind, "date": self.run_date.isoformat()}
        if self.year is not None:
            found["premium_year" if self.kind == "invoices" else "fine_year"] = self.year
        return found

    def with_reference(self, reference: Reference) -> RunContext:
        """The same run under other reference data (a reform): parameters resolved again."""
        return replace(self, reference=reference, params=reference.parameters.params_on(self.run_date))


def start(
    kind: str,
    run_date: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    options: Options = DEFAULTS,
    feeds: tuple[str, ...] = tuple(FEEDS),
    year: int | None = None,
    reference: Reference | None = None,
) -> RunContext:
    """The context of a run: parameters in force on `run_date`, and each feed's delivery chosen and
    checked (docs/spec/feeds.md, feed-level checks: a missing feed, a shrunk delivery or column, a file sent
    twice stop the run, naming them all; a delivery older than max_delivery_age_days is a warning)."""
    tag_flow_run(kind, run_date, year)  # the flow run's tags: kind and date (no-op outside a flow run)
    reference = reference or load_reference()
    params = reference.parameters.params_on(run_date)
    landing = Path(landing)
    deliveries = locate_deliveries(landing, run_date, feeds)
    warnings = check_shrink(deliveries, params.min_rows_ratio, options.accept_shrink)
    warnings += check_column_shrink(deliveries, params.min_rows_ratio, options.accept_shrink)
    check_repeats(deliveries)
    if kind in AGE_CHECKED:  # a simulation or a lookup of another date is no run on old data
        warnings += delivery_age(deliveries, run_date, params.max_delivery_age_days)
    return RunContext(
        kind, run_date, landing, Path(outbox), Path(state), reference, params, options, year, deliveries, warnings
    )


def locate_deliveries(landing: Path, as_of: dt.date, feeds: tuple[str, ...] = tuple(FEEDS)) -> dict[str, Delivery]:
    """Each feed's delivery for `as_of` (default every feed); all missing feeds are named in one error."""
    if not landing.is_dir():
        raise FeedError(f"the landing zone {landing} does not exist: give the run its --landing (or VSB_LANDING)")
    found, missing, errors = {}, [], []
    for feed in feeds:
        try:
            found[feed] = locate_delivery(landing, feed, as_of)
        except NoDelivery as exc:
            missing.append(exc)
        except FeedError as exc:
            errors.append(str(exc))
    if missing:
        errors.insert(0, no_delivery(landing, as_of, missing, len(feeds)))
    if errors:
        raise FeedError("; ".join(errors))
    return found


def no_delivery(landing: Path, as_of: dt.date, missing: list[NoDelivery], feeds: int) -> str:
    """One sentence for every feed without a delivery on or before D, and what to do."""
    firsts = sorted(m.first for m in missing if m.first is not None)
    if not firsts and len(missing) == feeds:
        return (
            f"the landing zone {landing} holds no delivery of any feed (<feed>/delivery_date=YYYY-MM-DD/*.parquet): "
            "give the run its --landing (or VSB_LANDING)"
        )
    names = "every feed" if len(missing) == feeds else "feed " + ", ".join(m.feed for m in missing)
    hint = f"the first is of {firsts[0].isoformat()}: run a later date, or " if firsts else ""
    return f"no delivery on or before {as_of.isoformat()} in {landing} for {names}: {hint}add the missing deliveries"


def check_shrink(deliveries: dict[str, Delivery], min_rows_ratio: float, accept_shrink: frozenset[str]) -> tuple:
    """docs/spec/feeds.md, feed-level check: a delivery below min_rows_ratio of the previous one fails the run.

    Returns the warnings for shrinks the operator accepted with --accept-shrink FEED.
    """
    unknown = sorted(set(accept_shrink) - set(FEEDS))
    if unknown:
        raise FeedError(f"--accept-shrink names no feed: {', '.join(unknown)}")
    errors, warnings = [], []
    for feed, d in deliveries.items():
        if d.previous_rows is None or d.rows >= min_rows_ratio * d.previous_rows:
            continue
        message = (
            f"feed {feed}: delivery {d.delivery_date.isoformat()} has {d.rows} rows, below {min_rows_ratio} "
            f"of the previous delivery {d.previous_date.isoformat()} ({d.previous_rows} rows)"
        )
        if feed in accept_shrink:
            warnings.append(message + " (accepted with --accept-shrink)")
        else:
            errors.append(message + f"; pass --accept-shrink {feed} if the delivery is right")
    if errors:
        raise FeedError("; ".join(errors))
    return tuple(warnings)


AGE_CHECKED = ("nightly", "backfill", "invoices", "fines")  # the runs that pay or charge as of their date
MIN_PREVIOUS_VALUES = 100  # docs/spec/feeds.md: a column shrink counts where the previous delivery had at least 100


def check_column_shrink(deliveries: dict[str, Delivery], min_rows_ratio: float, accept_shrink: frozenset[str]) -> tuple:
    """docs/spec/feeds.md, feed-level check: a nullable column whose count of non-null values falls below
    min_rows_ratio of the previous delivery's (which had at least 100) fails the run naming feed, column and both
    counts (an export that lost its death_date or iban column), unless --accept-shrink FEED: then a warning."""
    errors, warnings = [], []
    for feed, d in deliveries.items():
        if not d.previous_files or not FEEDS[feed].nullable:
            continue
        now, before = non_null_counts(FEEDS[feed], d.files), non_null_counts(FEEDS[feed], d.previous_files)
        for column, previous in before.items():
            if previous < MIN_PREVIOUS_VALUES or now[column] >= min_rows_ratio * previous:
                continue
            message = (
                f"feed {feed}: column {column} of delivery {d.delivery_date.isoformat()} has {now[column]} values, "
                f"below {min_rows_ratio} of the previous delivery {d.previous_date.isoformat()} ({previous} values)"
            )
            if feed in accept_shrink:
                warnings.append(message + " (accepted with --accept-shrink)")
            else:
                errors.append(message + f"; ask the data provider for the full column, or pass --accept-shrink {feed}")
    if errors:
        raise FeedError("; ".join(errors))
    return tuple(warnings)


def check_repeats(deliveries: dict[str, Delivery]) -> None:
    """docs/spec/feeds.md, feed-level check: two files of one delivery with the same content (sha256), or a
    delivery whose rows are the previous delivery's rows twice, fail the run naming the files (every row would
    be a duplicate: everyone held, silently)."""
    errors = []
    for feed, d in deliveries.items():
        same = identical_files(d.files)
        for group in same:
            names = ", ".join(str(p) for p in group)
            errors.append(f"feed {feed}: the files {names} have the same content (sha256)")
        if same or not d.previous_rows or d.rows != 2 * d.previous_rows:
            continue  # (rows twice over: only a delivery of exactly twice the previous rows is hashed)
        now, before = row_hashes(FEEDS[feed], d.files), row_hashes(FEEDS[feed], d.previous_files)
        counts = now.value_counts()
        twice = (counts["count"] == 2).all() and set(counts[now.name]) == set(before)
        if twice:
            names = ", ".join(str(p) for p in d.files)
            errors.append(
                f"feed {feed}: delivery {d.delivery_date.isoformat()} ({names}) holds the rows of the previous "
                f"delivery {d.previous_date.isoformat()} twice"
            )
    if errors:
        raise FeedError(
            "; ".join(errors) + ": ask the data provider for a corrected delivery (or remove the copy from the "
            "delivery folder), then run again"
        )


def delivery_age(deliveries: dict[str, Delivery], run_date: dt.date, max_days: int) -> tuple:
    """The warnings for feeds whose newest delivery is more than max_delivery_age_days before the run date
    (docs/spec/rules.md, Parameters): the run decides on old data (a date typed wrong, a feed that stopped)."""
    found = []
    for feed, d in deliveries.items():
        age = (run_date - d.delivery_date).days
        if age > max_days:
            found.append(
                f"feed {feed}: the newest delivery {d.delivery_date.isoformat()} is {age} days before the run date "
                f"{run_date.isoformat()}, more than {max_days} (max_delivery_age_days): check the run date and the "
                "feed's deliveries"
            )
    return tuple(found)
