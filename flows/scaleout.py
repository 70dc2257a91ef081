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
from pathlib import Path

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
    from distributed import Client  # optional and heavy: imported only when a cluster is asked for

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


# --- jobs whose results are taken in order ---------------------------------------------------------------


def results_in_order(client, work: Callable, jobs: list, prefix: str, ahead: int | None = None) -> Iterator:
    """`work(job)` of each job on the cluster, at most `ahead` jobs ahead of the caller (default: two per worker),
    its result given in the jobs' order (a backfill's nights: flows/nightly.py). `work` returns (result, code
    version): a worker that runs other code stops the run. Closed early (the caller failed): the jobs not taken
    are cancelled."""
    ahead = ahead or max(2, 2 * len(client.scheduler_info()["workers"]))
    pending, futures = list(enumerate(jobs)), []

    def submit() -> None:
        while pending and len(futures) < ahead:
            number, job = pending.pop(0)
            futures.append(client.submit(work, job, key=f"{prefix}-{number}-{id(job):x}", pure=False, retries=0))

    submit()
    try:
        while futures:
            result, version = futures.pop(0).result()
            same_code([version])
            submit()
            yield result
    finally:
        for future in futures:
            future.cancel()
