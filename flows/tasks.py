"""The steps of a run as Prefect tasks: `@step` makes a function a Prefect task inside a flow run and leaves it a
plain function outside one (a Dask worker, a benchmark, a test calling a run directly: no Prefect API to record
it in). So a flow calls its steps by name, and no step is handed the function it should run.

Prefect keeps every task run's inputs and result until its flow run ends. A step's values are handed to its task
and back in a `Handoff` that is emptied once the step is done: Prefect keeps an empty box, and a run that lets go
of a value (a night lets its feeds' valid rows go once decided: at 7M members a third of a GiB) frees it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.report import in_flow_run


class Handoff:
    """A step's call and its value, given to its Prefect task and taken back (then nothing is left in it)."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict) -> None:
        self.call = (function, args, kwargs)
        self.value = None

    def run(self) -> None:
        function, args, kwargs = self.call
        self.call = None
        self.value = function(*args, **kwargs)

    def take(self):
        value, self.value, self.call = self.value, None, None
        return value


def run_handoff(handoff: Handoff) -> None:
    """The body of every step's Prefect task."""
    handoff.run()


def step(name: str, run_name: str | None = None) -> Callable[[Callable], Callable]:
    """`function` as the step `name`, its task runs named `run_name` (e.g. "ingest-{feed}": a parameter's value)."""

    def make(function: Callable) -> Callable:
        as_task = task(name=name, cache_policy=NO_CACHE)(run_handoff)
        signature = inspect.signature(function)

        @functools.wraps(function)
        def run(*args, **kwargs):
            if not in_flow_run():
                return function(*args, **kwargs)
            named = (run_name or name).format(**signature.bind(*args, **kwargs).arguments)
            handoff = Handoff(function, args, kwargs)
            try:
                as_task.with_options(task_run_name=named)(handoff)
                return handoff.take()
            finally:
                handoff.take()  # also when the step failed: nothing left for Prefect to keep

        run.fn = function  # the plain function, always
        return run

    return make
