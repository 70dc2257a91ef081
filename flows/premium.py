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

import polars as pl
from prefect import flow

from flows.context import DEFAULTS, Options, RunContext, start, today
from flows.emit import emit_premium, fine_totals, invoice_totals, write_report
from flows.ingest import Ingested, ingest
from flows.io.outbox import FileLog
from flows.letters import invoice_letters_of, member_letter_columns
from flows.nightly import releasing_frames_on_error
from flows.preflight import RUN_FEEDS
from flows.progress import Steps, log_counts
from flows.publication.protocol import Built, Target, Version, again_as, complete_unpublished, first_version, publish
from flows.reference import Reference, load_reference
from flows.report import REPORT_JSON, announce
from flows.state.export import export_state, run_info
from flows.state.state import Before, Change, State
from flows.tasks import step
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


def begin_premium_run(state: State, ctx: RunContext, key: str) -> list[Path]:
    """What a premium run does first: complete the runs committed but not published (a run of this very
    kind and key, e.g. `2026/2026-01-02` or `2026`, that cannot be completed is redone by this run)."""
    versions = re.compile(rf"^{re.escape(key)}(?:[.]v[0-9]+)?$")
    redo = lambda kind, run_key, _: kind == ctx.kind and bool(versions.match(run_key))  # noqa: E731
    return complete_unpublished(state, ctx.outbox, redo=redo)


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


def held_members(ctx: RunContext, ingested: Ingested) -> pl.DataFrame:
    """insz, zorgkas of the members held this run: their quarantined rows go to their zorgkas."""
    return held_persons(ctx, ingested).join(ingested.valid("members").select("insz", "zorgkas"), on="insz")


def premium_run(ctx: RunContext, state: State, target: Target, steps: Steps) -> dict:
    """An invoice or fine run (the state open, its lock held), top to bottom; only its first lines (completing an
    unpublished run, `state.before`) and its last (`publish`) touch the state."""
    completed = begin_premium_run(state, ctx, target.run_key(target.key))
    before = state.before(ctx, target.run_key(target.key))  # the ledgers before the run
    feeds = ingest(ctx, steps)  # Parquet -> valid rows and quarantine
    with steps.step(f"plan {ctx.kind}") as shown:
        planned = plan_invoice_run(ctx, feeds, before) if ctx.kind == "invoices" else plan_fine_run(ctx, feeds, before)
        held = held_members(ctx, feeds)
        shown["new"] = planned.new.height
    feeds = feeds.counted()  # the valid rows let go: the run keeps counts, deliveries and quarantines
    built = build_premium(ctx, target, feeds, planned, held, before, steps)  # the files, as the key's version
    published = publish(state, built)
    return premium_result(ctx, published, completed, planned)


def build_premium(ctx, target: Target, feeds: Ingested, planned, held, before: Before, steps: Steps) -> Built:
    """The run's files as the latest published version of its key, and again as the next one when it differs
    and --replace was passed (flows/publication/protocol.py)."""
    version = first_version(ctx.outbox, target)
    built = premium_version(ctx, feeds, planned, held, before.of(version.run_key), version, steps)
    again = again_as(built, ctx.options.replace)
    return premium_version(ctx, feeds, planned, held, before.of(again.run_key), again, steps) if again else built


def premium_version(ctx, feeds: Ingested, planned, held, before: Before, version: Version, steps: Steps) -> Built:
    """Every file of the run as `version` in a staging folder, its report and `_state/`, and its state change."""
    run, run_key = version.folder(ctx.outbox), before.run_key
    try:
        with steps.step("files"):
            files = FileLog(run)
            rows = {planned.table: before.premium_rows(planned.table, planned.new)}
            export_state(files, run_info(ctx.kind, run_key, ctx.run_date, before.seq(ctx.kind), False), rows)
            manifest = emit_premium(ctx, files, feeds, planned, steps.timings, run_key, held)
        with steps.step("report"):
            trend = write_report(run, before.trends(ctx.kind), steps.timings, steps.started)
    except BaseException:
        run.discard()
        raise
    new = {planned.table: planned.new.with_columns(pl.lit(run_key).alias("run_key"))}
    change = Change(ctx.kind, run_key, ctx.run_date, new, replaces=False, trend=trend, started=steps.started)
    return Built(run, manifest, change, version)


def premium_result(ctx: RunContext, published, completed: list[Path], planned: Planned) -> dict:
    """The run's result, announced (its log line and Prefect artifacts)."""
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


@step("plan", "plan-invoices")
def plan_invoice_run(ctx: RunContext, ingested: Ingested, before: Before) -> Planned:
    """The invoices of premium year `ctx.year` on invoice date D against the ledger: those issued on D by an
    earlier attempt, and the members liable that no run has invoiced yet (pipelines/premium/invoices.py)."""
    year, invoice_date = ctx.year, ctx.run_date
    premium = premium_amounts(ctx.reference, year)
    members = ingested.valid("members").lazy()
    residence, allowance = ingested.valid("residence_periods").lazy(), ingested.valid("increased_allowance").lazy()
    due = premium_due(members, residence, allowance, year, invoice_date, ctx.params, premium).collect()
    ledger, last_bases = before.invoices_of_year(year), before.last_reference_bases()
    held = held_persons(ctx, ingested)
    planned = plan_invoices(due, members, held, ledger, last_bases, year, invoice_date, ctx.params)
    rows = published_invoices(planned.rows.lazy()).collect()
    counts, order = planned.counts, "reference_base"
    letters = invoice_letters_of(ctx, rows, member_letter_columns(members.collect().join(rows, on="insz", how="semi")))
    return logged(Planned(rows, planned.new, counts, "premium_invoices", Invoices, order, invoice_totals, letters))


@step("plan", "plan-fines")
def plan_fine_run(ctx: RunContext, ingested: Ingested, before: Before) -> Planned:
    """The fine candidates of fine year `ctx.year` against the fine ledger (F-FINE: pipelines/premium/fines.py)."""
    valid, fine = ingested.valid, fine_amounts(ctx.reference, ctx.run_date)
    candidates = fine_candidates(
        valid("members").lazy(), valid("premium_payments").lazy(), valid("increased_allowance").lazy(),
        ctx.year, ctx.params, fine,
    ).collect()  # fmt: skip
    planned = plan_fines(candidates, held_persons(ctx, ingested), before.fines_of_year(ctx.year))
    return logged(Planned(planned.rows, planned.new, planned.counts, "premium_fines", Fines, "insz", fine_totals))


def logged(planned: Planned) -> Planned:
    """`planned`, its counts in the run's log from inside the plan step that made them (issue 22)."""
    counts = {k.replace("_", " "): v for k, v in planned.counts.items() if isinstance(v, int)}
    log_counts(f"plan {planned.table.removeprefix('premium_')}", counts)
    return planned


@releasing_frames_on_error
def invoice_run(ctx: RunContext, state: State, steps: Steps | None = None) -> dict:
    """The invoice run of premium year `ctx.year` on invoice date D (flows and benchmarks call it)."""
    target = Target("invoices", f"invoices/{ctx.year}", ctx.run_date.isoformat(), ctx.run_date)
    result = premium_run(ctx, state, target, steps or Steps(quiet=True))
    return result | {"issued": result.pop("new")}


@releasing_frames_on_error
def fine_run(ctx: RunContext, state: State, steps: Steps | None = None) -> dict:
    """The fine run of fine year `ctx.year`, judged on its fine reference date D (flows and benchmarks)."""
    target = Target("fines", "fines", str(ctx.year), ctx.run_date)
    result = premium_run(ctx, state, target, steps or Steps(quiet=True))
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
    with State.open(state, "invoices", f"{year}/{as_of.isoformat()}") as opened:  # first: a second run exits at once
        ctx = invoice_context(year, as_of, landing, outbox, state, options)
        return invoice_run(ctx, opened, Steps(quiet=quiet))


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
    with State.open(state, "fines", str(year)) as opened:  # first: a second run exits at once
        return fine_run(fine_context(year, landing, outbox, state, options), opened, Steps(quiet=quiet))
