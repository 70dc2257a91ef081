"""Progress on the terminal for long steps, and their timings for the run report.

On a terminal: a spinner from the command's first second (`start_waiting`, while Prefect starts), then
one per step while it is busy, and a line with its counts when it ends. Off a terminal (cron, a pipe,
a test) nothing is shown: the command prints only its one result line. In the run's Prefect log: each
step's time (logged by the flow), and its counts, logged by the task that made them (`log_counts`). Shows
only counts and step names: never an insz, a name or an IBAN.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from rich.console import Console

console = Console(stderr=True, highlight=False)
_waiting = []  # the spinner shown before the first step, if any


def start_waiting(label: str) -> None:
    """A spinner until the first step starts (or `stop_waiting`); nothing off a terminal."""
    stop_waiting()
    if console.is_terminal:
        status = console.status(label + " …")
        status.start()
        _waiting.append(status)


def stop_waiting() -> None:
    while _waiting:
        _waiting.pop().stop()


class Steps:
    """Times named steps; on a terminal, a spinner runs while a step is busy."""

    def __init__(self, quiet: bool = False):
        self.timings: dict[str, float] = {}
        self.quiet = quiet or not console.is_terminal
        self.started = time.perf_counter()

    def timed(self, function, label: str = "publish"):
        """`function` run as the step `label` each time it is called."""

        def run(*args, **kwargs):
            with self.step(label):
                return function(*args, **kwargs)

        return run

    @contextmanager
    def step(self, label: str) -> Iterator[dict]:
        """Run one step; put counts in the yielded dict to show them when it ends."""
        shown: dict = {}
        stop_waiting()
        start = time.perf_counter()
        busy = console.status(label + " …") if not self.quiet else nullcontext()
        with busy:
            yield shown
        elapsed = time.perf_counter() - start
        self.timings[label] = round(elapsed, 3)
        details = counts_text(shown)
        if not self.quiet:
            console.print(f"  {label}: {details + ', ' if details else ''}{elapsed:.1f} s")
        from flows.report import run_logger

        # the step's time in the flow's log; its counts were logged by the task that made them (`log_counts`)
        run_logger().info("%s: %.1f s", label, elapsed)


def counts_text(counts: dict) -> str:
    """`rows read 1,234, quarantined 5`: the counts of a step, integers with thousands separators."""
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())


def log_counts(step: str, counts: dict) -> None:
    """The counts of a step in the run's log, from where they are made: inside a Prefect task run the line is that
    task's (its run logger), inside a flow run the flow's, else the `vsb` logger (a benchmark, a Dask worker).
    Counts and codes only: never an insz, a name or an IBAN (docs/spec/outputs.md, Private)."""
    from flows.report import run_logger

    run_logger().info("%s: %s", step, counts_text(counts))
