"""Scenarios of a simulation: the baseline, and the baseline with a reform file's values; and a scenario's
decide stage, here or on a Dask worker.

The flow is in flows/simulate.py; a scenario's decide stage is its step "decide-scenario" there, a plain
function on a Dask worker and in `vsb explain --reform` (flows/tasks.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import yaml

from flows.context import Options, RunContext
from flows.decide import DECIDE_FEEDS, compact
from flows.ingest import Ingested, ingest
from flows.io.landing import Delivery
from flows.progress import log_counts
from flows.reference import Reference
from flows.runtime import code_version
from flows.scaleout import deliveries_key, read_once
from flows.tasks import step
from pipelines.decide.decisions import ENTITLED, Amounts, Feeds, decide
from pipelines.params import ParameterError, ParameterTable
from pipelines.simulate.compare import SCENARIO_COLUMNS
from pipelines.simulate.reform import BASELINE, NAME, Reform, ReformError, parse_reform, reformed_spec
from pipelines.timeline import window_months


class DatesAsText(yaml.SafeLoader):
    """YAML's safe loader, with dates left as text: a wrong date (2027-13-01) is then the reform's one-line
    error naming its entry, not the YAML library's."""


DatesAsText.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Scenario:
    """A named set of parameters: the baseline, or the baseline with a reform's values."""

    name: str
    reference: Reference
    reform: Reform | None = None


def load_reform(path: Path, baseline: Reference, as_of: dt.date) -> Scenario:
    """The reform file at `path` as a scenario: read, checked (pipelines/simulate/reform.py) and resolved on
    `as_of` (every parameter the decide stage needs has a value on D and over the window); one-line errors."""
    where = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ReformError(f"reform {where}: cannot be read ({exc.strerror or exc})") from None
    try:
        raw = yaml.load(data, Loader=DatesAsText)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ReformError(f"reform {where}: not valid YAML{at}") from None
    reform = parse_reform(raw, baseline.parameters.spec, where)
    reform = Reform(reform.name, reform.description, reform.values, where, hashlib.sha256(data).hexdigest())
    try:
        table = ParameterTable(reformed_spec(baseline.parameters.spec, reform))
        resolved_on(table, as_of)
    except ParameterError as exc:
        raise ReformError(f"reform {where}: {exc}") from None
    digest = hashlib.sha256(baseline.parameters_sha256.encode() + data).hexdigest()
    reference = Reference(table, digest, baseline.zorgkassen)
    return Scenario(reform.name, reference, reform)


def resolved_on(table: ParameterTable, as_of: dt.date) -> None:
    """Every value the decide stage reads on `as_of` resolves (as RunContext.params and .amounts resolve them)."""
    p = table.params_on(as_of)
    first, _ = window_months(as_of, p.evaluation_window_months)
    Amounts.in_force(p, first, as_of)


def scenarios_of(paths: list[Path], baseline: Reference, as_of: dt.date) -> list[Scenario]:
    """The baseline and one scenario per reform file, names unique."""
    found = [Scenario(BASELINE, baseline)]
    for path in paths:
        scenario = load_reform(path, baseline, as_of)
        if any(s.name == scenario.name for s in found):
            raise ReformError(f"reform {path}: another reform file is also named {scenario.name!r}")
        found.append(scenario)
    return found


def simulation_name(scenarios: list[Scenario], given: str | None) -> str:
    """--name, or the reform names joined by '+'."""
    name = given or "+".join(s.name for s in scenarios if s.reform is not None)
    if not NAME.match(name) and not (given is None and all(NAME.match(p) for p in name.split("+"))):
        raise ReformError(f"--name {name!r} must be letters, digits, '-', '_' or '.' (at most 64)")
    return name


@step("decide-scenario", "decide-{scenario.name}")
def scenario_periods(ctx: RunContext, ingested: Ingested, scenario: Scenario) -> pl.DataFrame:
    """The decide stage of the nightly run (pipelines/decide/decisions.py `decide`, on the feeds as
    flows/decide.py `run_decisions` gives them) under the scenario's parameters: its decided periods, the
    columns the comparison needs. The absence budgets and the work list, which the comparison does not look
    at, are not computed (they are lazy until a run collects them)."""
    ctx = ctx.with_reference(scenario.reference)
    feeds = Feeds(**{name: ingested.valid(name).lazy() for name in DECIDE_FEEDS})
    periods = decide(feeds, ctx.params, ctx.amounts, ctx.run_date).periods.select(SCENARIO_COLUMNS).collect()
    entitled = periods.filter(pl.col("status") == ENTITLED)["insz"].n_unique()
    log_counts(f"decide {scenario.name}", {"persons with an entitled month": entitled})  # inside its task
    return compact(periods)  # its own buffers: it may be kept, or pickled back from a Dask worker


@dataclass(frozen=True)
class ScenarioJob:
    """What a Dask worker needs for one scenario: paths and parameters, not frames."""

    landing: Path
    run_date: dt.date
    deliveries: dict[str, Delivery]
    options: Options
    warnings: tuple[str, ...]  # the feed checks' accepted shrinks, found by the driver
    scenario: Scenario


def decide_scenario_job(job: ScenarioJob) -> tuple[str, pl.DataFrame, dict, list[str], str]:
    """On a worker: read the landing zone (once per worker and simulation), decide the scenario; returns its
    name, periods, the ingest counts and warnings, and the worker's code version."""

    ctx = RunContext(
        "simulate", job.run_date, job.landing, Path("."), Path("."), job.scenario.reference,
        job.scenario.reference.parameters.params_on(job.run_date), job.options, None, job.deliveries, job.warnings,
    )  # fmt: skip
    ingested = read_once(
        deliveries_key(job.landing, job.run_date, job.deliveries),
        lambda: ingest(ctx, keep=set(DECIDE_FEEDS)),
    )
    periods = scenario_periods(ctx, ingested, job.scenario)
    return job.scenario.name, periods, ingested.counts, list(ingested.warnings), code_version()


def absolute(delivery: Delivery) -> Delivery:
    return replace(
        delivery, folder=Path(delivery.folder).resolve(), files=tuple(Path(f).resolve() for f in delivery.files)
    )
