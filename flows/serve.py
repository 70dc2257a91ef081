"""`vsb serve`: the flows with their schedules (docs/spec/outputs.md): nightly at 02:00, the premium invoices on
2 January, the fine candidates on 16 October, all in Europe/Brussels.

Schedules need a real Prefect server (docs/stack-notes.md: the temporary server of the local mode does
not schedule): the operator starts `prefect server start` and sets PREFECT_API_URL (docs/operators.md).
The scheduled flows take their dates from the clock, in Brussels, when they start.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from prefect import flow
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
from prefect.schedules import Cron

from flows.context import TIMEZONE, today
from flows.nightly import run_nightly
from flows.premium import run_fines, run_invoices

NIGHTLY_CRON = "0 2 * * *"
INVOICES_CRON = "0 3 2 1 *"
FINES_CRON = "0 3 16 10 *"


@flow(name="vsb-invoices-scheduled", validate_parameters=False)
def scheduled_invoices(landing: str, outbox: str, state: str) -> dict:
    """The yearly invoice run on 2 January: year and invoice date from the day it runs."""
    day = today()
    return run_invoices(year=day.year, as_of=day, landing=Path(landing), outbox=Path(outbox), state=Path(state))


@flow(name="vsb-fines-scheduled", validate_parameters=False)
def scheduled_fines(landing: str, outbox: str, state: str) -> dict:
    """The yearly fine run on 16 October: the fine year F is the year it runs in (reference date 15 October F)."""
    return run_fines(year=today().year, landing=Path(landing), outbox=Path(outbox), state=Path(state))


def deployments(landing: Path, outbox: Path, state: Path) -> list:
    """The three deployments with their schedules and the folders they work on."""
    folders = {"landing": str(landing.resolve()), "outbox": str(outbox.resolve()), "state": str(state.resolve())}
    return [
        run_nightly.to_deployment(
            name="nightly",
            schedule=Cron(NIGHTLY_CRON, timezone=TIMEZONE),
            parameters=folders,
            enforce_parameter_schema=False,
        ),
        scheduled_invoices.to_deployment(
            name="invoices",
            schedule=Cron(INVOICES_CRON, timezone=TIMEZONE),
            parameters=folders,
            enforce_parameter_schema=False,
        ),
        scheduled_fines.to_deployment(
            name="fines",
            schedule=Cron(FINES_CRON, timezone=TIMEZONE),
            parameters=folders,
            enforce_parameter_schema=False,
        ),
    ]


class _Runner(Runner):
    """Prefect's runner, stopped by SIGTERM (systemd's stop) as by Ctrl-C: its own SIGTERM handler calls an
    asynchronous stop without awaiting it (a RuntimeWarning on every stop) and exits from inside the loop."""

    def handle_sigterm(self, *args, **kwargs) -> None:
        raise TerminationSignal(signal.SIGTERM)


def serve_flows(landing: Path, outbox: Path, state: Path, limit: int | None = None) -> None:
    """Register the deployments with the Prefect server and run their scheduled runs (blocks until Ctrl-C or
    SIGTERM: then the deployments are paused and it returns)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise RuntimeError(
            "vsb serve needs a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (docs/operators.md, Scheduling)"
        )
    runner = _Runner(pause_on_shutdown=True, limit=limit)
    for deployment in deployments(landing, outbox, state):
        runner.add_deployment(deployment)
    print(
        "vsb serve: serving vsb-nightly/nightly (every day 02:00), vsb-invoices-scheduled/invoices (2 January "
        f"03:00), vsb-fines-scheduled/fines (16 October 03:00), {TIMEZONE}; stop with Ctrl-C or SIGTERM",
        flush=True,
    )
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        print("vsb serve: stopped", flush=True)
