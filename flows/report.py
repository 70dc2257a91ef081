"""What operators see of a run: `_report.html` beside `_report.json`, the run's log lines through Prefect's run
logger, and the Prefect artifacts `vsb-<kind>-summary` (Markdown) and `vsb-<kind>-zorgkassen` (a table), both
linking to `_report.html` (docs/spec/outputs.md, "Run report and Prefect"). Counts and codes only.

The report is written inside the staging folder, before the publication: its timings stop at the files
(`TIMINGS_NOTE`); the trends row the state keeps for the run (flows/state/trends.py) is written with the
run's commit and counts the time up to it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

import polars as pl

from flows.codes import load_codes
from flows.publication.folder import RunFolder
from pipelines.emit.report import EVENTS, TRENDS_COLUMNS, report_html, trend_row
from pipelines.emit.summary import key_figures, report_reference, summary_markdown, zorgkas_table

REPORT_JSON, REPORT_HTML = "_report.json", "_report.html"
TIMINGS_NOTE = (
    "Written before the publication: the seal, the state commit and the rename are not timed here; "
    "the run's time up to its commit is in the next runs' trends."
)


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a flow or task run (its lines go to the Prefect API), else the module's."""
    if "prefect" not in sys.modules:  # no run without Prefect: do not import it for a line (vsb generate)
        return logging.getLogger("vsb")
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        from prefect.logging import get_run_logger

        return get_run_logger()
    return logging.getLogger("vsb")


def settled_counts(settlement, payment_run: bool) -> dict:
    """What the run's log says of a settle step (pipelines/settle/settlement.py Settlement): grant events per kind,
    on a payment run payment rows and recoveries, the work list and the persons held. Counts only."""
    found = dict(settlement.events.group_by("event").len().iter_rows())
    counts = {f"events {event}": found[event] for event in EVENTS if event in found}
    if payment_run:
        counts |= {"payment rows": settlement.payments.height, "recoveries": settlement.recoveries.height}
    return counts | {"work-list rows": settlement.worklist.height, "persons held": settlement.held["insz"].n_unique()}


def in_flow_run() -> bool:
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def write_report_page(run: RunFolder, earlier: pl.DataFrame, timings: dict, started: float | None = None) -> dict:
    """Complete `_report.json` with the timings known now and write `_report.html` beside it (with `earlier`, the
    trends of the earlier runs of its kind in the state, and this run's point marked); returns its trends row.
    `started`: the run's start (time.perf_counter(), flows/progress.py Steps): its wall time up to now."""
    report = json.loads((run.staging / REPORT_JSON).read_text())
    report["timings_seconds"] = dict(timings)
    if started is not None:
        report["wall_seconds"] = round(time.perf_counter() - started, 3)
    report["timings_note"] = TIMINGS_NOTE
    run.write_json(REPORT_JSON, report)
    row = trend_row(report, active_grants=report.get("grants", {}).get("active_after"))
    trends = pl.concat([earlier, pl.DataFrame([row], schema=TRENDS_COLUMNS)])
    run.write_bytes(REPORT_HTML, report_html(report, trends, load_codes().frame()).encode())
    return row


REPORT_URL = "VSB_REPORT_URL"  # the web address the outbox is served at (docs/operators.md, What you see)
OUTBOX_DEPTH = {"nightly": 2, "fines": 2, "invoices": 3}  # <outbox>/nightly/<D>, fines/<F>, invoices/<Y>/<D>


def report_link(folder: Path, kind: str) -> str:
    """Where the run's `_report.html` opens: under VSB_REPORT_URL when the operator serves the outbox over the web
    (e.g. https://reports.example/outbox + /nightly/2026-11-26/_report.html), else its file: URI (an absolute path)."""
    path = (Path(folder) / REPORT_HTML).resolve()
    base = os.environ.get(REPORT_URL, "").strip()
    if not base:
        return path.as_uri()
    inside = path.relative_to(path.parents[OUTBOX_DEPTH[kind]]).as_posix()
    return f"{base.rstrip('/')}/{quote(inside)}"


def announce(kind: str, folder: Path, status: str) -> None:
    """The run's last log line and its two Prefect artifacts, from the published folder's report (inside a
    flow run only: a benchmark or a test calling the run directly has no run to attach them to)."""
    report = json.loads((Path(folder) / REPORT_JSON).read_text())
    link = report_link(Path(folder), kind)
    run = report["run"]
    run_logger().info(
        "%s %s %s: %s", kind, run.get("date"), status, "; ".join(f"{k} {v}" for k, v in key_figures(report))
    )
    for warning in report.get("warnings", []):  # counts only (pipelines/emit/report.py threshold_warnings)
        run_logger().warning("%s %s warning: %s", kind, run.get("date"), warning)
    if not in_flow_run():
        return
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    what = f"{kind} {run.get('date')}"
    create_markdown_artifact(
        key=f"vsb-{kind}-summary", markdown=summary_markdown(report, status, link), description=f"Summary of {what}"
    )
    create_table_artifact(
        key=f"vsb-{kind}-zorgkassen",
        table=zorgkas_table(report),
        description=f"Per zorgkas, {what}: the full report is {report_reference(link)}",
    )
