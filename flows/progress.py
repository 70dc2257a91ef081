"""Progress on the terminal for long steps, and their timings for the run report.

Shows only counts and step names: never an insz, a name or an IBAN.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from rich.console import Console

console = Console(stderr=True, highlight=False)


class Steps:
    """Times named steps; on a terminal, a spinner runs while a step is busy."""

    def __init__(self, quiet: bool = False):
        self.timings: dict[str, float] = {}
        self.quiet = quiet

    @contextmanager
    def step(self, label: str) -> Iterator[dict]:
        """Run one step; put counts in the yielded dict to show them when it ends."""
        shown: dict = {}
        start = time.perf_counter()
        busy = console.status(label + " …") if console.is_terminal and not self.quiet else nullcontext()
        with busy:
            yield shown
        elapsed = time.perf_counter() - start
        self.timings[label] = round(elapsed, 3)
        if not self.quiet:
            details = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in shown.items())
            console.print(f"  {label}: {details + ', ' if details else ''}{elapsed:.1f} s")
