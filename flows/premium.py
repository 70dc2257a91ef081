"""The care premium runs: the yearly invoices (docs/spec/rules.md §7, P-*) and the fine candidates (F-FINE).

    <outbox>/invoices/<Y>/<D>/<zorgkas>/invoices.parquet, invoices.csv, manifest.json
    <outbox>/fines/<F>/<zorgkas>/fines.parquet, fines.csv, manifest.json
    and per run _report.json and _manifest.json (written last), as the nightly run.

Each run reads its feeds as the nightly run does, plans against its ledger (flows/state/
premium_ledger.py), emits, and is published by the one protocol of every run: a crash between the
commit and the rename is completed by the next run of any kind (flows/publication/protocol.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.context import DEFAULTS, Options, RunContext, start, today
from flows.emit import emit_premium, fine_totals, invoice_totals, premium_zorgkas_files
from flows.ingest import Ingested, ingest, ingest_feed
from flows.io.outbox import FileLog
from flows.letters import invoice_letters_of, member_letter_columns
from flows.nightly import ingest_feed_task, publish_task, releasing_frames_on_error, report_task
from flows.preflight import RUN_FEEDS
from flows.progress import Steps, log_counts
from flows.publication.folder import RunFolder
from flows.publication.protocol import Built, Target, complete_unpublished, publish_run
from flows.reference import Reference, load_reference
from flows.report import REPORT_JSON, announce, maybe_task
from flows.state.export import export_state, premium_rows
from flows.state.premium_ledger import fines_of_year, insert_rows, invoices_of_year, last_reference_bases
from flows.state.store import hold_state, open_state
from flows.state.trends import with_trend
from pipelines.premium.fines import fine_candidates, fine_reference_date, plan_fines
from pipelines.premium.invoices import Amounts, plan_invoices, premium_due, published_invoices
from pipelines.settle.holds import s_hold
from schemas.outputs import Fines, Invoices

INVOICE_FEEDS = RUN_FEEDS["invoices"]
FINE_FEEDS = RUN_FEEDS["fines"]


def premium_amounts(reference: Reference, year: int) -> Amounts:
    """The normal and reduced premium of `year` (`p_amount` applies them): per-year parameters, so a year without a
    value of its own (the reduced premium of 2025, any year after the newest) is a ParameterError naming the
    parameter and the year, never a zero nor an earlier year's amount."""
    p = reference.parameters.params_on(dt.date(year, 1, 1))
    return Amounts(p.premium_normal, p.premium_reduced)


def fine_amounts(reference: Reference, reference_date: dt.date) -> Amounts:
    """The normal and reduced fine in force on the fine reference date."""
    p = reference.parameters.params_on(reference_date)
    return Amounts(p.fine_normal, p.fine_reduced)


def held_persons(ctx: RunContext, ingested: Ingested):
    """The persons held this run (S-HOLD, as the nightly run holds them): not invoiced or fined this run."""
    quarantines = {feed: staged.quarantine for feed, staged in ingested.feeds.items()}
    return s_hold(quarantines, None, ctx.run_date.year).select("insz").unique()


def release_feeds(ingested: Ingested) -> None:
    """Free the feeds' rows once planned: the run keeps only counts, deliveries and quarantines."""
    for staged in ingested.feeds.values():
        staged.valid = staged.valid.clear()


def begin_premium_run(con: duckdb.DuckDBPyConnection, ctx: RunContext, key: str) -> list[Path]:
    """What a premium run does first: complete the runs committed but not published (a run of this very
    kind and key, e.g. `2026/2026-01-02` or `2026`, that cannot be completed is redone by this run)."""
    versions = re.compile(rf"^{re.escape(key)}(?:[.]v[0-9]+)?$")
    redo = lambda kind, run_key, _: kind == ctx.kind and bool(versions.match(run_key))  # noqa: E731
    return complete_unpublished(con, ctx.outbox, redo=redo)


@dataclass(frozen=True)
class Planned:
    """What an invoice or fine run publishes and adds to its ledger."""

    rows: pl.DataFrame  # the rows of this run's files (issued earlier on the same run, then new)
    new: pl.DataFrame  # the new ledger rows
    counts: dict  # for the report
    table: str  # the ledger table
    model: type  # the files' model (schemas/outputs.py)
    order_by: str  # each zorgkas's file order
    totals: Callable[[pl.DataFrame], dict]  # a zorgkas's totals for its manifest
    letters_of: Callable[[str], pl.DataFrame] | None = None  # each zorgkas's letters (invoices: L-INVOICE)


@task(name="plan", cache_policy=NO_CACHE, task_run_name="plan-{kind}")
def plan_task(plan: Callable, con, ingested: Ingested, kind: str):
    planned = plan(con, ingested)
    counts = {k.replace("_", " "): v for k, v in planned.counts.items() if isinstance(v, int)}
    log_counts(f"plan {kind}", counts)  # from inside the task (issue 22)
    return planned


@task(name="zorgkas-files", cache_policy=NO_CACHE, task_run_name="files-{code}")
def premium_files_task(ctx: RunContext, files: FileLog, code: str, rows, planned, quarantined):
    return premium_zorgkas_files(ctx, files, code, rows, planned, quarantined)


def held_members(ctx: RunContext, ingested: Ingested) -> pl.DataFrame:
    """insz, zorgkas of the members held this run: their quarantined rows go to their zorgkas."""
    return held_persons(ctx, ingested).join(ingested.valid("members").select("insz", "zorgkas"), on="insz")


def premium_run(ctx: RunContext, target: Target, plan: Callable, steps: Steps, ingest_one) -> dict:
    """An invoice or fine run, the state's lock held: complete an unpublished run, read the feeds, plan
    against the ledger (`plan(con, ingested) -> Planned`), emit, publish."""
    with hold_state(ctx.state, ctx.kind, target.run_key(target.key)), open_state(ctx.state) as con:
        completed = begin_premium_run(con, ctx, target.run_key(target.key))
        ingested = ingest(ctx, steps, ingest_one=ingest_one)
        with steps.step(f"plan {ctx.kind}") as shown:
            planned = maybe_task(plan_task)(plan, con, ingested, ctx.kind)
            held = held_members(ctx, ingested)
            release_feeds(ingested)
            shown["new"] = planned.new.height

        def build(con, run: RunFolder, run_key: str) -> Built:
            with steps.step("files"):
                files_one = maybe_task(premium_files_task)
                files = FileLog(run)
                rows = {planned.table: premium_rows(con, planned.table, run_key, planned.new)}
                export_state(files, con, ctx.kind, run_key, ctx.run_date, False, rows)  # for vsb rebuild-state
                manifest = emit_premium(ctx, files, ingested, planned, steps.timings, run_key, held, files_one)
            with steps.step("report"):
                trend = maybe_task(report_task)(run, con, ctx.kind, run_key, steps.timings, steps.started)
            change = insert_rows(planned.table, planned.new, run_key)
            return Built(run, manifest, change=with_trend(change, ctx.kind, run_key, trend, steps.started))

        commit = steps.timed(maybe_task(publish_task))
        published, _ = publish_run(con, ctx.outbox, target, build, ctx.options.replace, commit=commit)
    status, new = published.status, planned.new.height
    if status == "identical" and published.path in completed:
        status = "published"  # this very run published its folder, left by a killed attempt
        new = published_count(published.path, ctx.kind)  # what that folder issued, not this run's 0 (issue 20)
    announce(ctx.kind, published.path, status)
    return {"path": str(published.path), "status": status, "new": new}


def published_count(folder: Path, kind: str) -> int:
    """The invoices issued or fines proposed by a published folder, from its report."""
    report = json.loads((Path(folder) / REPORT_JSON).read_text())
    return int(report[kind]["issued" if kind == "invoices" else "proposed"])


@releasing_frames_on_error
def invoice_run(ctx: RunContext, steps: Steps | None = None, ingest_one=ingest_feed) -> dict:
    """The invoice run of premium year `ctx.year` on invoice date D (flows and benchmarks call it)."""
    year, invoice_date = ctx.year, ctx.run_date
    premium = premium_amounts(ctx.reference, year)

    def plan(con, ingested: Ingested):
        members = ingested.valid("members").lazy()
        residence, allowance = ingested.valid("residence_periods").lazy(), ingested.valid("increased_allowance").lazy()
        due = premium_due(members, residence, allowance, year, invoice_date, ctx.params, premium).collect()
        ledger, last_bases = invoices_of_year(con, year), last_reference_bases(con)
        held = held_persons(ctx, ingested)
        planned = plan_invoices(due, members, held, ledger, last_bases, year, invoice_date, ctx.params)
        rows = published_invoices(planned.rows.lazy()).collect()
        counts, order = planned.counts, "reference_base"
        letters = invoice_letters_of(
            ctx, rows, member_letter_columns(members.collect().join(rows, on="insz", how="semi"))
        )
        return Planned(rows, planned.new, counts, "premium_invoices", Invoices, order, invoice_totals, letters)

    target = Target("invoices", f"invoices/{year}", invoice_date.isoformat(), invoice_date)
    result = premium_run(ctx, target, plan, steps or Steps(quiet=True), ingest_one)
    return result | {"issued": result.pop("new")}


@releasing_frames_on_error
def fine_run(ctx: RunContext, steps: Steps | None = None, ingest_one=ingest_feed) -> dict:
    """The fine run of fine year `ctx.year`, judged on its fine reference date D (flows and benchmarks)."""
    year, fine = ctx.year, fine_amounts(ctx.reference, ctx.run_date)

    def plan(con, ingested: Ingested):
        valid = ingested.valid
        candidates = fine_candidates(
            valid("members").lazy(), valid("premium_payments").lazy(), valid("increased_allowance").lazy(),
            year, ctx.params, fine,
        ).collect()  # fmt: skip
        planned = plan_fines(candidates, held_persons(ctx, ingested), fines_of_year(con, year))
        return Planned(planned.rows, planned.new, planned.counts, "premium_fines", Fines, "insz", fine_totals)

    target = Target("fines", "fines", str(year), ctx.run_date)
    result = premium_run(ctx, target, plan, steps or Steps(quiet=True), ingest_one)
    return result | {"proposed": result.pop("new")}


def invoice_context(year: int, as_of: dt.date, landing, outbox, state, options: Options = DEFAULTS) -> RunContext:
    reference = load_reference()
    premium_amounts(reference, year)  # before reading anything: a missing amount stops the run
    return start("invoices", as_of, landing, outbox, state, options, INVOICE_FEEDS, year, reference)


def fine_context(year: int, landing, outbox, state, options: Options = DEFAULTS) -> RunContext:
    reference = load_reference()
    reference_date = fine_reference_date(year, reference.parameters.params_on(dt.date(year, 1, 1)))
    return start("fines", reference_date, landing, outbox, state, options, FINE_FEEDS, year, reference)


def invoices_name() -> str:
    """The invoice flow run's name: `invoices-2027-2027-01-02` (a scheduled run without year and date: today's, in
    Brussels)."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    as_of = str(parameters.get("as_of") or today())
    return f"invoices-{parameters.get('year') or as_of[:4]}-{as_of}"


def fines_name() -> str:
    """The fine flow run's name: `fines-2026` (a scheduled run without a year: this year, in Brussels)."""
    from prefect.runtime import flow_run

    return f"fines-{flow_run.parameters.get('year') or today().year}"


@flow(name="vsb-invoices", flow_run_name=invoices_name, validate_parameters=False)
def run_invoices(
    year: int | None = None,
    as_of: dt.date | None = None,
    landing: Path = Path("data/sample/landing"),
    outbox: Path = Path("out"),
    state: Path = Path("state/vsb.duckdb"),
    accept_shrink: tuple[str, ...] = (),
    accept_quarantine: tuple[str, ...] = (),
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The yearly premium invoice run of year `year` on invoice date `as_of` (a rerun issues only the
    invoices not yet issued). Scheduled on 2 January (flows/serve.py) without either: today, in Brussels, and its
    year."""
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of or today()  # (a deployment: text)
    year = int(year or as_of.year)
    landing, outbox, state = Path(landing), Path(outbox), Path(state)  # (a deployment passes text)
    options = Options(
        frozenset(accept_shrink), replace=replace, quiet=quiet, accept_quarantine=frozenset(accept_quarantine)
    )
    with hold_state(state, "invoices", f"{year}/{as_of.isoformat()}"):  # first: a second run exits at once
        ctx = invoice_context(year, as_of, landing, outbox, state, options)
        return invoice_run(ctx, Steps(quiet=quiet), ingest_one=ingest_feed_task)


@flow(name="vsb-fines", flow_run_name=fines_name, validate_parameters=False)
def run_fines(
    year: int | None = None,
    landing: Path = Path("data/sample/landing"),
    outbox: Path = Path("out"),
    state: Path = Path("state/vsb.duckdb"),
    accept_shrink: tuple[str, ...] = (),
    accept_quarantine: tuple[str, ...] = (),
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The fine-candidate run of year `year` (F-FINE), judged on its fine reference date (15 October F)
    with the deliveries as of that date. Scheduled on 16 October (flows/serve.py) without a year: this year, in
    Brussels."""
    year = int(year or today().year)
    landing, outbox, state = Path(landing), Path(outbox), Path(state)  # (a deployment passes text)
    options = Options(
        frozenset(accept_shrink), replace=replace, quiet=quiet, accept_quarantine=frozenset(accept_quarantine)
    )
    with hold_state(state, "fines", str(year)):  # first: a second run exits at once
        return fine_run(fine_context(year, landing, outbox, state, options), Steps(quiet=quiet), ingest_feed_task)
