"""The nightly run and the backfill: ingest → decide → settle → letters → emit → publish, for one date or a range.

outbox/nightly/<D>/: quarantine/<feed>.parquet, _decisions/, one folder per zorgkas (grants,
worklist, payments and their SEPA file on a payment run, recoveries), _report.json, and
_manifest.json written last (flows/emit.py); published by the one protocol of every run
(flows/publication/protocol.py).

`night` is the run, top to bottom: each step a value in and a value out; only its first line (`state.before`)
and its last (`publish`) touch the state. A backfill runs `night` for each date on one open state; with
`--dask-address` its nights' first halves (ingest, decide: no night depends on another) run on a Dask cluster
(`decide_night_job`) and this process finishes them in date order (`finish_night`).
"""

from __future__ import annotations

import datetime as dt
import functools
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from flows.context import Options, RunContext, start, today
from flows.decide import CASE_FEED, DECIDE_FEEDS, Decided, run_decisions
from flows.emit import emit_night, write_report
from flows.ingest import Ingested, ingest
from flows.io.outbox import FileLog
from flows.letters import NightLetters, allowance_active_on, night_letters
from flows.progress import Steps
from flows.publication.protocol import (
    Built,
    Target,
    Version,
    again_as,
    check_order,
    complete_unpublished,
    first_version,
    nightly_runs_of,
    publish,
)
from flows.report import announce
from flows.runtime import code_version, release_frames
from flows.scaleout import cluster, results_in_order
from flows.settle import ForSettlement, Settled, for_settlement, night_rows, premiums_of_voluntary_members, settle_night
from flows.state.export import export_state, run_info
from flows.state.letter_numbers import used_numbers
from flows.state.state import Before, Change, State
from pipelines.emit.report import person_counts

NIGHT_FEEDS = {*DECIDE_FEEDS, CASE_FEED, "premium_payments", "increased_allowance"}  # the feeds whose rows it keeps


def releasing_frames_on_error(function):
    """On an exception, clear the frames of its traceback before it goes up: they hold the state and the run's
    frames, and Prefect keeps the exception."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except BaseException as exc:
            release_frames(exc)
            raise

    return wrapper


def night_context(day: dt.date, landing: Path, outbox: Path, state: Path, options: Options) -> RunContext:
    return start("nightly", day, landing, outbox, state, options)


@dataclass(frozen=True)
class DecidedNight:
    """The first half of a night: what settling and publishing need (collected frames: it pickles, so that a Dask
    worker decides it, `decide_night_job`)."""

    ctx: RunContext
    ingested: Ingested  # counts and quarantines (the valid rows let go)
    decided: Decided
    kept: ForSettlement
    timings: dict


@releasing_frames_on_error
def night(ctx: RunContext, state: State, completed: list[Path] = ()) -> dict:
    """One night (the state open, its lock held). `completed`: folders the run published first (a night left
    unpublished by a killed attempt): when it is this very night's, the run reports it published."""
    steps = Steps(quiet=ctx.options.quiet)
    before = state.before(ctx)  # what earlier nights granted, paid and sent; the month's payment run or not
    feeds = ingest_night(ctx, steps)  # Parquet -> valid rows and quarantine
    decided = decide_night(ctx, feeds, steps)  # pure: periods with their rule codes
    kept = for_settlement(ctx, feeds, decided, before)  # what settling and the letters need of the valid rows
    feeds = feeds.counted()  # the valid rows let go (at 7M members, a third of a GiB)
    built = build_night(DecidedNight(ctx, feeds, decided, kept, {}), before, steps)  # settle, letters, files
    return night_result(ctx, publish(state, built, ctx.options.accept_mass_change), completed)


def ingest_night(ctx: RunContext, steps: Steps) -> Ingested:
    """Every feed read and validated; the valid rows kept of the feeds a night needs, narrowed to what it uses."""
    narrow = {
        "premium_payments": premiums_of_voluntary_members,  # W-VOLUNTARY-ARREARS needs only these
        "increased_allowance": allowance_active_on(ctx.run_date),  # the letters' appeal fee (L-APPEAL)
    }
    return ingest(ctx, steps, keep=NIGHT_FEEDS, narrow=narrow)


def decide_night(ctx: RunContext, feeds: Ingested, steps: Steps) -> Decided:
    with steps.step("decide") as shown:
        decided = run_decisions(ctx, feeds)
        shown["persons with an entitled month"] = person_counts(decided.periods)["persons_entitled"]
        shown["months entitled"] = decided.months_entitled()
    return decided


def build_night(night: DecidedNight, before: Before, steps: Steps) -> Built:
    """Settle, write the letters and emit the night as the latest published version of its date (to compare with:
    an identical night is a no-op), and again as the next version when it differs and --replace was passed."""
    ctx = night.ctx
    steps.timings.update({k: v for k, v in night.timings.items() if k not in steps.timings})
    version = first_version(ctx.outbox, Target("nightly", "nightly", ctx.run_date.isoformat(), ctx.run_date))
    built = build_version(night, before.of(version.run_key), version, steps)
    again = again_as(built, ctx.options.replace)
    return build_version(night, before.of(again.run_key), again, steps) if again else built


def build_version(night: DecidedNight, before: Before, version: Version, steps: Steps) -> Built:
    """The night as `version`: settled against the state before it, its letters, its files in a staging folder."""
    ctx = night.ctx
    with steps.step("settle") as shown:
        settled = settle_night(ctx, night.ingested, night.decided, night.kept, before)
        shown["events"] = settled.settlement.events.height
    letters = night_letters(
        ctx, before, night.kept.letters, night.decided.periods, settled.settlement, night.decided.granted
    )
    run = version.folder(ctx.outbox)
    try:
        manifest, change = emit_files(night, settled, letters, before, run, steps)
    except BaseException:
        run.discard()
        raise
    return Built(run, manifest, change, version, settled.payment_run, settled.settlement.mass_change)


def emit_files(night: DecidedNight, settled: Settled, letters: NightLetters, before: Before, run, steps: Steps):
    """Every file of the night, its report and its `_state/`; returns the run manifest and the state change."""
    ctx, run_key, day = night.ctx, before.run_key, night.ctx.run_date
    with steps.step("files") as shown:
        files = FileLog(run)
        rows = night_rows(run_key, day, settled, letters)
        export_state(files, run_info("nightly", run_key, day, before.seq("nightly"), settled.payment_run), rows)
        manifest = emit_night(
            ctx, files, run_key, night.ingested, night.decided, night.kept, settled, letters, steps.timings
        )
        shown["payment rows"] = settled.settlement.payments.height
    with steps.step("report"):
        trend = write_report(run, before.trends("nightly"), steps.timings, steps.started)
    numbers = used_numbers(manifest, letters.offsets)  # a later --replace version numbers after them
    return manifest, Change("nightly", run_key, day, rows, letter_numbers=numbers, trend=trend, started=steps.started)


def night_result(ctx: RunContext, published, completed: list[Path]) -> dict:
    """The night's result, announced (its log line and Prefect artifacts)."""
    status = published.status
    if status == "identical" and published.path in completed:
        status = "published"  # this very run published its date's folder, left by a killed attempt
    announce("nightly", published.path, status)
    return {"date": ctx.run_date.isoformat(), "path": str(published.path), "status": status}


@releasing_frames_on_error
def begin_nights(state: State, outbox: Path, first: dt.date, last: dt.date) -> list[Path]:
    """What the nights first..last do first: complete the runs committed but not published (a committed night
    among first..last that cannot be completed is redone by its own run), then check that the nights come in
    date order. Returns the folders it published."""
    completed = complete_unpublished(state, outbox, redo=nightly_runs_of(first, last))
    check_order(state, first, last)
    return completed


def night_name() -> str:
    """The nightly flow run's name: `nightly-2026-11-26` (a scheduled run without as_of: today in Brussels)."""
    as_of = flow_run.parameters.get("as_of")
    return f"nightly-{as_of or today()}"


def backfill_name() -> str:
    parameters = flow_run.parameters
    return f"backfill-{parameters['first']}..{parameters['last']}"


@flow(name="vsb-nightly", flow_run_name=night_name)
def run_nightly(
    as_of: dt.date | None = None,
    landing: Path = Path("data/sample/landing"),
    outbox: Path = Path("out"),
    state: Path = Path("state/vsb.duckdb"),
    accept_shrink: tuple[str, ...] = (),
    accept_quarantine: tuple[str, ...] = (),
    accept_mass_change: bool = False,
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The nightly run for `as_of` (default: today, in Brussels: the date a scheduled run starts on)."""
    day = as_of or today()
    options = Options(frozenset(accept_shrink), accept_mass_change, replace, quiet, frozenset(accept_quarantine))
    with State.open(state, "nightly", day.isoformat()) as opened:
        completed = begin_nights(opened, Path(outbox), day, day)
        result = night(night_context(day, landing, outbox, state, options), opened, completed)
    # another run's folder, left by a killed run and published first: said in the result line (issue 20)
    others = [str(p) for p in completed if str(p) != result["path"]]
    return result | {"completed": others} if others else result


@flow(name="vsb-backfill", flow_run_name=backfill_name)
def run_backfill(
    first: dt.date,
    last: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    accept_quarantine: tuple[str, ...] = (),
    accept_mass_change: bool = False,
    replace: bool = False,
    quiet: bool = False,
    dask_address: str | None = None,
) -> list[dict]:
    """The nightly runs for every date first..last, in order, each exactly as the nightly flow runs it.

    Stops at the first date that fails: the dates before it are published and in the state; a
    rerun of the backfill finds them unchanged (no-op) and goes on from the failed date. A backfill
    that starts before the latest committed night may only cover dates that were run already (each a
    rerun: a no-op when unchanged); a date among them never run refuses the whole backfill at once.

    `dask_address`: the nights' first halves (ingest, validate, decide: no night depends on another) run
    in parallel on that Dask cluster; this process settles and publishes them in date order, as above.
    """
    if last < first:
        raise ValueError(f"--to {last.isoformat()} is before --from {first.isoformat()}")
    options = Options(frozenset(accept_shrink), accept_mass_change, replace, quiet, frozenset(accept_quarantine))
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    with State.open(state, "backfill", f"{first.isoformat()}..{last.isoformat()}") as opened:
        completed = begin_nights(opened, Path(outbox), first, last)
        if dask_address:
            return nights_on_cluster(dask_address, opened, days, landing, outbox, state, options, completed)
        return [night(night_context(day, landing, outbox, state, options), opened, completed) for day in days]


# --- the nights of a backfill on a Dask cluster ---------------------------------------------------------


@dataclass(frozen=True)
class NightJob:
    """What a worker needs to decide one night: paths and options (the driver's absolute paths)."""

    day: dt.date
    landing: Path
    outbox: Path
    state: Path
    options: Options


def decide_night_job(job: NightJob) -> tuple[DecidedNight, str]:
    """On a worker: the first half of a night, as `night` runs it, away from the state (every member may get a
    letter: the letters are built on the driver); with the worker's code version."""
    ctx = night_context(job.day, job.landing, job.outbox, job.state, job.options)
    steps = Steps(quiet=True)
    feeds = ingest_night(ctx, steps)
    decided = decide_night(ctx, feeds, steps)
    kept = for_settlement(ctx, feeds, decided, None)
    return DecidedNight(ctx, feeds.counted(), decided, kept, dict(steps.timings)), code_version()


@releasing_frames_on_error
def finish_night(state: State, decided: DecidedNight, completed: list[Path]) -> dict:
    """The second half of a night decided on a worker, here, in date order: as `night` goes on."""
    ctx, steps = decided.ctx, Steps(quiet=decided.ctx.options.quiet)
    before = state.before(ctx)
    built = build_night(decided, before, steps)
    return night_result(ctx, publish(state, built, ctx.options.accept_mass_change), completed)


def nights_on_cluster(
    address: str, state: State, days: list[dt.date], landing, outbox, state_path, options: Options, completed
) -> list[dict]:
    """The nights `days` of a backfill (begin_nights done): decided on the cluster, finished here in date order.
    The first night that fails, there or here, stops the backfill: the nights after it are cancelled."""
    landing = Path(landing).resolve()  # the workers' working folder is not ours
    jobs = [NightJob(day, landing, Path(outbox), Path(state_path), options) for day in days]
    with cluster(address) as client, closing(results_in_order(client, decide_night_job, jobs, "vsb-night")) as nights:
        return [finish_night(state, decided, completed) for decided in nights]
