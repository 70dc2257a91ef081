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

from flows.io.landing import Delivery, FeedError, NoDelivery, locate_delivery
from flows.reference import Reference, load_reference
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
    warnings: tuple[str, ...] = ()  # feed-level warnings (accepted shrinks)

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
    checked (docs/spec/feeds.md: a missing feed and a shrunk delivery stop the run, naming them all)."""
    reference = reference or load_reference()
    params = reference.parameters.params_on(run_date)
    landing = Path(landing)
    deliveries = locate_deliveries(landing, run_date, feeds)
    warnings = check_shrink(deliveries, params.min_rows_ratio, options.accept_shrink)
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
