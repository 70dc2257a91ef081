"""The nightly run and the backfill: ingest → decide → settle → emit → publish, for one date or a range.

outbox/nightly/<D>/: quarantine/<feed>.parquet, _decisions/, one folder per zorgkas (grants,
worklist, payments and their SEPA file on a payment run, recoveries), _report.json, and
_manifest.json written last (flows/emit.py); published by the one protocol of every run
(flows/publication/protocol.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.context import Options, RunContext, start, today
from flows.decide import CASE_FEED, DECIDE_FEEDS, Decided, run_decisions
from flows.emit import emit_night, zorgkas_night_files
from flows.ingest import Ingested, ingest, ingest_feed
from flows.io.outbox import FileLog
from flows.letters import allowance_active_on
from flows.progress import Steps
from flows.publication.folder import RunFolder
from flows.publication.protocol import (
    Built,
    Target,
    check_order,
    commit_and_publish,
    complete_unpublished,
    nightly_runs_of,
    publish_run,
)
from flows.report import announce, write_report_page
from flows.runtime import release_frames
from flows.settle import (
    ForSettlement,
    for_settlement,
    night_rows,
    premiums_of_voluntary_members,
    record_night,
    settle_night,
)
from flows.state.export import export_state
from flows.state.letter_numbers import record_letter_numbers, used_numbers
from flows.state.store import hold_state, open_state
from flows.state.trends import with_trend
from pipelines.emit.report import person_counts


@task(name="ingest-feed", cache_policy=NO_CACHE, task_run_name="ingest-{feed}")
def ingest_feed_task(ctx: RunContext, feed: str, members=None, narrow=None):
    return ingest_feed(ctx, feed, members=members, narrow=narrow)


@task(name="decide", cache_policy=NO_CACHE, task_run_name="decide")
def decide_task(ctx: RunContext, ingested: Ingested) -> Decided:
    return run_decisions(ctx, ingested)


@task(name="settle", cache_policy=NO_CACHE, task_run_name="settle")
def settle_task(ctx: RunContext, con, run_key: str, ingested: Ingested, decided: Decided, kept: ForSettlement):
    return settle_night(ctx, con, run_key, ingested, decided, kept)


@task(name="zorgkas-files", cache_policy=NO_CACHE, task_run_name="files-{code}")
def zorgkas_files_task(ctx: RunContext, files: FileLog, code: str, run_key: str, mine, accounts, payment_run: bool):
    return zorgkas_night_files(ctx, files, code, run_key, mine, accounts, payment_run)


@task(name="report", cache_policy=NO_CACHE, task_run_name="report")
def report_task(run: RunFolder, con, kind: str, run_key: str, timings: dict, started: float | None = None) -> dict:
    return write_report_page(run, con, kind, run_key, timings, started)


@task(name="publish", cache_policy=NO_CACHE, task_run_name="publish")
def publish_task(con, run: RunFolder, name: str, manifest: dict, kind: str, run_key: str, *args) -> Path:
    """Seal the staging folder, commit the state change, rename (flows/publication/protocol.py)."""
    return commit_and_publish(con, run, name, manifest, kind, run_key, *args)


def releasing_frames_on_error(function):
    """On an exception, clear the frames of its traceback before it goes up: they hold the DuckDB
    handle and the run's frames, and Prefect keeps the exception."""

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


@releasing_frames_on_error
def begin_nights(outbox: Path, state: Path, first: dt.date, last: dt.date) -> list[Path]:
    """What the nights first..last do first, holding the lock: complete the runs committed but not published
    (a committed night among first..last that cannot be completed is redone by its own run), then check
    that the nights come in date order. Returns the folders it published."""
    with open_state(state) as con:
        completed = complete_unpublished(con, outbox, redo=nightly_runs_of(first, last))
        check_order(con, first, last)
    return completed


@releasing_frames_on_error
def night(ctx: RunContext, completed: list[Path] = ()) -> dict:
    """One night, the state's lock held: ingest, validate, decide, settle, emit, publish.

    `completed`: folders the run published first (a night left unpublished by a killed attempt): when it
    is this very night's, the run reports it published."""
    steps = Steps(quiet=ctx.options.quiet)
    return publish_night(decide_night(ctx, steps), steps, completed)


@dataclass(frozen=True)
class DecidedNight:
    """The first half of a night: what settling and publishing need (collected frames: it pickles, so that
    `vsb backfill --dask-address` decides nights on a cluster, flows/scaleout.py)."""

    ctx: RunContext
    ingested: Ingested  # quarantines and counts (the valid rows are let go)
    decided: Decided
    kept: ForSettlement
    timings: dict


def decide_night(
    ctx: RunContext, steps: Steps, ingest_one=ingest_feed_task, decide=decide_task, read_state: bool = True
) -> DecidedNight:
    """Ingest, validate and decide a night, and take what settling needs. Depends on no other night (on a Dask
    worker, `read_state` False: it does not open the state)."""
    ingested = ingest(
        ctx,
        steps,
        ingest_one=ingest_one,
        keep={*DECIDE_FEEDS, CASE_FEED, "premium_payments", "increased_allowance"},
        narrow={
            "premium_payments": premiums_of_voluntary_members,  # W-VOLUNTARY-ARREARS needs only these
            "increased_allowance": allowance_active_on(ctx.run_date),  # the letters' appeal fee (L-APPEAL)
        },
    )
    with steps.step("decide") as shown:
        decided = decide(ctx, ingested)
        shown["persons with an entitled month"] = person_counts(decided.periods)["persons_entitled"]
        shown["months entitled"] = decided.months_entitled()
        kept = for_settlement(ctx, ingested, decided, read_state)
    return DecidedNight(ctx, ingested, decided, kept, dict(steps.timings))


@releasing_frames_on_error
def publish_night(night_decided: DecidedNight, steps: Steps, completed: list[Path] = ()) -> dict:
    """The second half of a night, in date order: settle against the state, emit, publish."""
    ctx, ingested, decided, kept = night_decided.ctx, night_decided.ingested, night_decided.decided, night_decided.kept
    steps.timings.update({k: v for k, v in night_decided.timings.items() if k not in steps.timings})
    with open_state(ctx.state) as con:
        build = night_builder(ctx, ingested, decided, kept, steps)
        target = Target("nightly", "nightly", ctx.run_date.isoformat(), ctx.run_date)
        options, commit = ctx.options, steps.timed(publish_task)
        published, _ = publish_run(
            con, ctx.outbox, target, build, options.replace, options.accept_mass_change, commit=commit
        )
    status = published.status
    if status == "identical" and published.path in completed:
        status = "published"  # this very run published its date's folder, left by a killed attempt
    announce("nightly", published.path, status)
    return {"date": ctx.run_date.isoformat(), "path": str(published.path), "status": status}


def night_builder(ctx: RunContext, ingested: Ingested, decided: Decided, kept: ForSettlement, steps: Steps):
    """How the publication protocol builds the night as the run `run_key`: settle against the state before
    it, emit every file and the report, and the state change to commit with it (with the run's trends row)."""

    def build(con, run: RunFolder, run_key: str) -> Built:
        with steps.step("settle") as shown:
            settled = settle_task(ctx, con, run_key, ingested, decided, kept)
            shown["events"] = settled.settlement.events.height
        with steps.step("files") as shown:
            files = FileLog(run)
            rows = night_rows(run_key, ctx.run_date, settled)
            export_state(files, con, "nightly", run_key, ctx.run_date, settled.payment_run, rows)
            manifest = emit_night(
                ctx, files, run_key, ingested, decided, kept, settled, steps.timings, zorgkas_files_task
            )
            shown["payment rows"] = settled.settlement.payments.height
        with steps.step("report"):
            trend = report_task(run, con, "nightly", run_key, steps.timings, steps.started)
        settlement = settled.settlement
        numbers = used_numbers(manifest, settled.letters.offsets)  # a later --replace version numbers after them

        def change(con) -> None:
            record_night(con, run_key, ctx.run_date, settled)
            record_letter_numbers(con, run_key, ctx.run_date, numbers)

        return Built(
            run,
            manifest,
            change=with_trend(change, "nightly", run_key, trend, steps.started),
            payment_run=settled.payment_run,
            refusal=settlement.mass_change,
        )

    return build


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
    with hold_state(state, "nightly", day.isoformat()):
        completed = begin_nights(Path(outbox), Path(state), day, day)
        result = night(night_context(day, landing, outbox, state, options), completed)
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
    results = []
    with hold_state(state, "backfill", f"{first.isoformat()}..{last.isoformat()}"):
        completed = begin_nights(Path(outbox), Path(state), first, last)
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        if dask_address:
            from flows.scaleout import backfill_on_cluster

            return backfill_on_cluster(dask_address, days, landing, outbox, state, options, completed)
        for day in days:
            results.append(night(night_context(day, landing, outbox, state, options), completed))
    return results
