"""Scale-out on a Dask cluster: a simulation's scenarios and a backfill's nights as independent tasks.

What goes to a worker is paths and parameters (the landing zone, the run date, the deliveries chosen by
the driver, the reference data): each worker reads the landing zone itself, so the landing zone must be
on storage every worker sees at the same path, and every worker runs the same vsb-engine (checked: a
worker returns its code version, and a difference stops the run). What comes back is collected Polars
frames (they pickle; LazyFrames do not).

The worker functions are plain functions, not Prefect tasks: the Prefect flow runs on the driver, which
alone talks to the Prefect API (a worker on another machine cannot reach the driver's temporary server).

Frames with insz numbers (and, for a night, the IBANs of the members to pay) travel between the workers
and the driver: on a network between machines, run the cluster with TLS (`dask scheduler --tls-...`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.context import Options, RunContext
from flows.io.landing import Delivery
from flows.runtime import code_version

# per worker process: the last landing zone read (for the simulation's scenarios: one read per worker)
_READ: dict[tuple, object] = {}
_READING = threading.Lock()
CONNECT_TIMEOUT = "20s"  # to reach the scheduler


class ClusterError(RuntimeError):
    """The Dask cluster cannot be used (unreachable, or a worker runs other code); one line."""


@contextmanager
def cluster(address: str) -> Iterator:
    """A client of the Dask scheduler at `address` (e.g. tcp://10.0.0.5:8786); a one-line ClusterError when
    it cannot be reached."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=60)
        yield client
    finally:
        client.close()


def same_code(versions: list[str]) -> None:
    """Every worker runs the driver's code (the code version of the manifests)."""
    mine = code_version()
    other = sorted({v for v in versions if v != mine})
    if other:
        raise ClusterError(
            f"a Dask worker runs code version {other[0]}, this command {mine}: install the same vsb-engine on "
            "every worker"
        )


def read_once(key: tuple, read: Callable[[], object]) -> object:
    """`read()` once per worker process for `key` (the landing zone, date and deliveries): the scenarios of one
    simulation that land on the same worker share one ingest. Only the latest key is kept."""
    with _READING:
        if key not in _READ:
            _READ.clear()
            _READ[key] = read()
        return _READ[key]


def forget_reads() -> None:
    """Let the worker's memory go once the simulation is done (client.run on every worker)."""
    with _READING:
        _READ.clear()


def deliveries_key(landing: Path, run_date: dt.date, deliveries: dict[str, Delivery]) -> tuple:
    files = tuple((feed, d.delivery_date, tuple(str(f) for f in d.files)) for feed, d in deliveries.items())
    return (str(landing), run_date, files)


# --- the nights of a backfill -------------------------------------------------------------------------


@dataclass(frozen=True)
class NightJob:
    """What a worker needs to decide one night: paths and options (the driver's absolute paths)."""

    day: dt.date
    landing: Path
    outbox: Path
    state: Path
    options: Options


def decide_night_job(job: NightJob):
    """On a worker: the first half of a night (ingest, validate, decide, what settling needs), as the nightly
    run does it (flows/nightly.py decide_night, with the plain functions instead of Prefect tasks)."""
    from flows.decide import run_decisions
    from flows.ingest import ingest_feed
    from flows.nightly import decide_night, night_context
    from flows.progress import Steps

    ctx: RunContext = night_context(job.day, job.landing, job.outbox, job.state, job.options)
    decided = decide_night(ctx, Steps(quiet=True), ingest_one=ingest_feed, decide=run_decisions, read_state=False)
    return decided, code_version()


def parallel_nights(
    address: str, jobs: list[NightJob], finish: Callable[[object], dict], ahead: int | None = None
) -> list[dict]:
    """Decide the nights on the cluster, at most `ahead` nights ahead of the driver (default: two per worker),
    and `finish` each on the driver in date order (settle and publish). The first night that fails, on the
    cluster or here, stops the run: the nights before it are published, the ones after it are cancelled."""
    results = []
    with cluster(address) as client:
        ahead = ahead or max(2, 2 * len(client.scheduler_info()["workers"]))
        pending = list(jobs)
        futures = []

        def submit() -> None:
            while pending and len(futures) < ahead:
                job = pending.pop(0)
                key = f"vsb-night-{job.day.isoformat()}-{id(job):x}"
                futures.append(client.submit(decide_night_job, job, key=key, pure=False, retries=0))

        submit()
        try:
            while futures:
                decided, version = futures.pop(0).result()
                same_code([version])
                submit()
                results.append(finish(decided))
        finally:
            for future in futures:
                future.cancel()
    return results


def backfill_on_cluster(
    address: str, days: list[dt.date], landing: Path, outbox: Path, state: Path, options: Options, completed
) -> list[dict]:
    """The nights `days` of a backfill (the lock held, begin_nights done): decided on the cluster, settled
    and published here in date order by the nightly run's own second half (flows/nightly.py publish_night)."""
    from flows.nightly import publish_night
    from flows.progress import Steps

    landing = Path(landing).resolve()  # the workers' working folder is not ours
    jobs = [NightJob(day, landing, Path(outbox), Path(state), options) for day in days]
    return parallel_nights(address, jobs, lambda decided: publish_night(decided, Steps(quiet=options.quiet), completed))
