"""`vsb simulate --as-of D --reform FILE...`: the decide stage under the baseline and each reform, side by side.

docs/spec/outputs.md, Simulation. The deliveries of D are chosen once (the feed checks of the nightly run: a missing
feed or a shrunk delivery stops it, unless --accept-shrink) and read once; the decide stage runs on them
under the baseline parameters and under each reform (the nightly run's own code: flows/decide.py
run_decisions); the comparison (pipelines/simulate/) writes under `<outbox>/simulations/<name>/<D>/`:

    summary.json     per budget, per zorgkas and per calendar year: baseline and reform (counts and money)
    changes.parquet  one row per reform, person and budget whose months differ (mode 0640: it holds insz)
    report.html      the summary as charts (counts only)

No state is read or changed, no zorgkas folder, no ledger, no letter; no lock is taken.

Where the scenarios run: by default here, one after another, on the frames read once (each decide uses
every core through Polars); with `dask_address`, each scenario is a task on that Dask cluster and each
worker reads the landing zone itself, once per worker (flows/scaleout.py).

Publication: built in a staging folder beside the target, published by one rename. A rerun replaces the
published folder by one atomic exchange (renameat2 RENAME_EXCHANGE), or leaves it when identical: a
simulation is a what-if, recorded nowhere else; summary.json names the reform files (and their sha256),
the parameter file's digest and the deliveries, so a copy of a folder says what it shows.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.context import Options, RunContext, start
from flows.decide import DECIDE_FEEDS
from flows.ingest import Ingested, ingest, ingest_feed
from flows.progress import Steps
from flows.publication.folder import RunFolder, folders_up_to, fsync_path, writing
from flows.publication.protocol import drop_stray_simulations
from flows.reference import Reference, load_reference
from flows.runtime import code_version
from flows.scenarios import (
    Scenario,
    ScenarioJob,
    absolute,
    decide_scenario_job,
    scenario_periods,
    scenarios_of,
    simulation_name,
)
from pipelines.simulate.compare import (
    CHANGES_COLUMNS,
    LEVELS,
    RUN_KEYS,
    baseline_cube,
    candidates,
    changes,
    cube,
    differences,
    entitled,
    entitled_runs,
    reform_levels,
    rollup,
    window_years,
)
from pipelines.simulate.reform import BASELINE
from pipelines.simulate.report import simulation_html
from pipelines.simulate.summary import budgets_summary, summary_document
from schemas.outputs import SimulationChanges, check


def check_reforms(paths: list[Path], as_of: dt.date, name: str | None = None) -> str:
    """The simulation's name once every reform file is checked (the command checks them before it starts)."""
    return simulation_name(scenarios_of([Path(p) for p in paths], load_reference(), as_of), name)


def simulation_context(
    landing: Path, outbox: Path, as_of: dt.date, options: Options, reference: Reference
) -> RunContext:
    """The run context of a simulation: the decide feeds' deliveries of D, checked as the night checks them."""
    return start("simulate", as_of, landing, outbox, Path("."), options, tuple(DECIDE_FEEDS), reference=reference)


# --- the scenarios ------------------------------------------------------------------------------------


@task(name="ingest-feed", cache_policy=NO_CACHE, task_run_name="ingest-{feed}")
def ingest_feed_task(ctx: RunContext, feed: str, members=None, narrow=None):
    return ingest_feed(ctx, feed, members=members, narrow=narrow)


@task(name="decide-scenario", cache_policy=NO_CACHE, task_run_name="decide-{scenario.name}")
def decide_scenario_task(ctx: RunContext, ingested: Ingested, scenario: Scenario) -> pl.DataFrame:
    return scenario_periods(ctx, ingested, scenario)


@dataclass(frozen=True)
class Decided:
    """Each scenario's periods, and the counts of the ingest they were decided on."""

    periods: dict[str, pl.DataFrame]
    feeds: dict[str, dict]
    warnings: list[str]


def decide_here(
    ctx: RunContext,
    scenarios: list[Scenario],
    steps: Steps,
    ingest_one=ingest_feed_task,
    decide=decide_scenario_task,
) -> Decided:
    """Read the deliveries once, then decide each scenario in turn on the same frames (`ingest_one`, `decide`:
    the Prefect tasks in the flow; their plain functions in benchmarks/simulate.py)."""
    ingested = ingest(ctx, steps, ingest_one=ingest_one, keep=set(DECIDE_FEEDS))
    periods = {}
    for scenario in scenarios:
        with steps.step(f"decide {scenario.name}") as shown:
            periods[scenario.name] = decide(ctx, ingested, scenario)
            shown["periods"] = periods[scenario.name].height
    return Decided(periods, ingested.counts, ingested.warnings)


def decide_on_cluster(address: str, ctx: RunContext, scenarios: list[Scenario], steps: Steps) -> Decided:
    """Each scenario a task on the Dask cluster at `address`; each worker reads the landing zone itself."""
    from flows.scaleout import cluster, forget_reads, same_code

    landing = Path(ctx.landing).resolve()
    deliveries = {feed: absolute(d) for feed, d in ctx.deliveries.items()}
    jobs = [ScenarioJob(landing, ctx.run_date, deliveries, ctx.options, ctx.warnings, s) for s in scenarios]
    with steps.step(f"decide {len(jobs)} scenarios on {address}") as shown, cluster(address) as client:
        token = hashlib.sha256(repr((landing, ctx.run_date, code_version())).encode()).hexdigest()[:8]
        futures = [
            client.submit(decide_scenario_job, job, key=f"vsb-scenario-{job.scenario.name}-{token}", pure=False)
            for job in jobs
        ]
        try:
            results = client.gather(futures)
        finally:
            client.run(forget_reads)
        shown["workers"] = len(client.scheduler_info()["workers"])
    same_code([r[4] for r in results])
    by_name = {r[0]: r for r in results}
    baseline = by_name[BASELINE]
    return Decided({s.name: by_name[s.name][1] for s in scenarios}, baseline[2], baseline[3])


# --- comparison and publication -----------------------------------------------------------------------


def compare_scenarios(
    ctx: RunContext, name: str, scenarios: list[Scenario], decided: Decided
) -> tuple[dict, pl.DataFrame]:
    """summary.json's content and changes.parquet's rows (pipelines/simulate/compare.py): the baseline's
    figures once, then per reform only the persons whose entitled periods differ."""
    first, last = ctx.window
    years = window_years(first, last)
    baseline = entitled(decided.periods[BASELINE].lazy()).collect().lazy()
    everyone = baseline_cube(baseline, years).collect()
    levels = {level: rollup(everyone, by) for level, by in LEVELS.items()}
    reforms, rows = {}, []
    for scenario in scenarios[1:]:
        reform = entitled(decided.periods[scenario.name].lazy())
        keys = candidates(baseline, reform).lazy()
        mine = [entitled_runs(e.join(keys, on=RUN_KEYS, how="semi")).collect().lazy() for e in (baseline, reform)]
        moved = differences(*mine, years).collect().lazy()
        rows.append(changes(moved, *mine, scenario.name).collect())
        changed = cube(*mine, moved, years).collect()
        reforms[scenario.name] = {
            "description": scenario.reform.description,
            "budgets": budgets_summary(reform_levels(levels, changed), ctx.reference.zorgkas_codes, years),
        }
    simulation = {
        "name": name,
        "as_of": ctx.run_date.isoformat(),
        "window": {"first_month": first.isoformat(), "last_month": last.isoformat()},
        "code_version": code_version(),
        "parameters_sha256": ctx.reference.parameters_sha256,
        "reforms": [s.reform.as_dict() for s in scenarios[1:]],
        "deliveries": {feed: d.delivery_date.isoformat() for feed, d in ctx.deliveries.items()},
    }
    summary = summary_document(simulation, decided.feeds, decided.warnings, reforms)
    changed_rows = pl.concat(rows).sort("reform", "insz", "budget") if rows else pl.DataFrame(schema=CHANGES_COLUMNS)
    return summary, check(SimulationChanges, changed_rows)


def publish_simulation(
    outbox: Path, name: str, as_of: dt.date, summary: dict, changed: pl.DataFrame, lang: str = "NL"
) -> dict:
    """Build `<outbox>/simulations/<name>/<D>/` in a staging folder of its own (two simulations at once do not
    share one), flush it to disk, and publish it by one rename; a rerun replaces the published folder by one
    atomic exchange, or leaves it when every file is identical."""
    drop_stray_simulations(Path(outbox))  # the staging folders of killed simulations (national numbers)
    run = RunFolder(Path(outbox), f"simulations/{name}", f"{as_of.isoformat()}.{os.getpid()}")
    target = run.parent / as_of.isoformat()
    try:
        run.write_json("summary.json", summary)
        run.write_parquet("changes.parquet", changed)
        run.write_bytes("report.html", simulation_html(summary, lang).encode())
        with writing(run.staging):
            for path in sorted(run.staging.iterdir()):
                fsync_path(path)
            fsync_path(run.staging)
            status = place(run.staging, target)
            for folder in folders_up_to(target.parent, Path(outbox)):
                fsync_path(folder)
    finally:
        if run.staging.exists():
            shutil.rmtree(run.staging)
    return {"path": str(target), "status": status, "changes": changed.height}


def place(staging: Path, target: Path) -> str:
    """Put the staging folder at `target`: "published" (new), "identical" (left as it is) or "replaced"."""
    if not target.exists():
        os.rename(staging, target)
        return "published"
    if same_files(staging, target):
        return "identical"
    exchange(staging, target)  # the old folder is now at `staging`, dropped by the caller
    return "replaced"


def same_files(one: Path, other: Path) -> bool:
    names = sorted(p.name for p in one.iterdir())
    if names != sorted(p.name for p in other.iterdir()):
        return False
    return all((one / n).read_bytes() == (other / n).read_bytes() for n in names)


def exchange(one: Path, other: Path) -> None:
    """Swap two folders in one atomic step (Linux renameat2 with RENAME_EXCHANGE): a reader sees the old folder
    or the new one, never none. Where the call is missing (not Linux, an old kernel or file system), two
    renames: the target is then absent for an instant."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if renameat2(at_fdcwd, os.fsencode(one), at_fdcwd, os.fsencode(other), rename_exchange) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(other))
    aside = one.with_name(one.name + ".old")
    os.rename(other, aside)
    os.rename(one, other)
    os.rename(aside, one)


# --- the flow -----------------------------------------------------------------------------------------


@flow(name="vsb-simulate", flow_run_name="simulate-{as_of}", validate_parameters=False)
def run_simulation(
    as_of: dt.date,
    reforms: list[Path],
    landing: Path = Path("data/sample/landing"),
    outbox: Path = Path("out"),
    name: str | None = None,
    dask_address: str | None = None,
    accept_shrink: tuple[str, ...] = (),
    accept_quarantine: tuple[str, ...] = (),
    quiet: bool = False,
    lang: str = "NL",
) -> dict:
    """The simulation of `reforms` (reform files) on the deliveries of `as_of`, published under
    `<outbox>/simulations/<name>/<as_of>/`; with `dask_address`, the scenarios run on that Dask cluster. `lang`:
    the language of report.html (NL or FR)."""
    steps = Steps(quiet=quiet)
    baseline = load_reference()
    scenarios = scenarios_of([Path(r) for r in reforms], baseline, as_of)
    name = simulation_name(scenarios, name)
    options = Options(
        accept_shrink=frozenset(accept_shrink), quiet=quiet, accept_quarantine=frozenset(accept_quarantine)
    )
    ctx = simulation_context(Path(landing), Path(outbox), as_of, options, baseline)
    if dask_address:
        decided = decide_on_cluster(dask_address, ctx, scenarios, steps)
    else:
        decided = decide_here(ctx, scenarios, steps)
    with steps.step("compare") as shown:
        summary, changed = compare_scenarios(ctx, name, scenarios, decided)
        shown["persons and budgets changed"] = changed.height
    with steps.step("publish") as shown:
        result = publish_simulation(ctx.outbox, name, as_of, summary, changed, lang)
        shown["folder"] = result["path"]
    return result | {"name": name, "timings": steps.timings}


SIMULATED = {"published": "published", "replaced": "published (replacing the previous)", "identical": "unchanged"}


def simulated_line(result: dict) -> str:
    """The command's one line."""
    return f"simulate {result['name']}: {result['changes']:,} changed, {SIMULATED[result['status']]} {result['path']}"
