"""The steps of a run as Prefect tasks: `@step` makes a function a Prefect task inside a flow run and leaves it a
plain function outside one (a Dask worker, a benchmark, a test calling a run directly: no Prefect API to record
it in). So a flow calls its steps by name, and no step is handed the function it should run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.report import in_flow_run


def step(name: str, run_name: str | None = None) -> Callable[[Callable], Callable]:
    """`function` as the step `name` (its task runs named `run_name`, e.g. "ingest-{feed}": a parameter's value)."""

    def make(function: Callable) -> Callable:
        as_task = task(name=name, cache_policy=NO_CACHE, task_run_name=run_name or name)(function)

        @functools.wraps(function)
        def run(*args, **kwargs):
            return (as_task if in_flow_run() else function)(*args, **kwargs)

        run.fn = function  # the plain function, always
        return run

    return make
