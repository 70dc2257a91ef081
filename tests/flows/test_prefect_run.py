"""What an operator reads in Prefect (docs/spec/outputs.md, "Run report and Prefect"), against a Prefect server on
loopback (the worker's, tests/conftest.py prefect_api: the same server application as `prefect server start`): `vsb nightly`, `vsb invoices` and `vsb fines` run as the operator runs them, then the flow runs are
read back through the Prefect client: their names, a task run per step, the counts in their logs, and the
two artifacts of each run linking to its `_report.html`. Counts and codes only: no insz, name or IBAN in
any of them. A nightly run started without a date (as a schedule starts it) is named after today.

Slow: five runs in their own processes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.emit.report import personal_data, run_seconds
from tests.helpers.builders import valid_rows, write_landing

ROOT = Path(__file__).resolve().parents[2]
CODES = ["ZK100", "ZK200", "ZK300", "ZK400", "ZK500", "ZK600"]
FEEDS = list(valid_rows())
pytestmark = pytest.mark.slow


def vsb(env: dict, tmp: Path, *args: str, relative: bool = False) -> None:
    """`vsb` with the test's folders; `relative`: named relative to tmp, the command's working folder."""
    where = Path() if relative else tmp
    folders = ["--landing", str(where / "landing"), "--outbox", str(where / "out"), "--state", str(where / "s.duckdb")]
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args, *folders, "--allow-future-date"],  # the sample's dates
        env=env,
        cwd=tmp if relative else ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def read_back(env: dict, name: str, since: dt.datetime) -> dict:
    """The flow run of that name started since `since` (the worker's server also holds the runs of the tests
    before), with its task runs, logs and artifacts, through the Prefect client of that server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterName,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        mine = FlowRunFilter(name=FlowRunFilterName(any_=[name]), start_time=FlowRunFilterStartTime(after_=since))
        runs = client.read_flow_runs(flow_run_filter=mine)
        assert len(runs) == 1, [r.name for r in runs]
        run = runs[0]
        only = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        tasks = client.read_task_runs(flow_run_filter=only)
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    return {"run": run, "tasks": sorted(t.name for t in tasks), "logs": [log.message for log in logs],
            "task_logs": [log.message for log in logs if log.task_run_id is not None],
            "flow_logs": [log.message for log in logs if log.task_run_id is None],
            "artifacts": {a.key: a for a in artifacts}}  # fmt: skip


def check_private(found: dict) -> None:
    texts = [*found["logs"], *(str(a.data) + str(a.description) for a in found["artifacts"].values())]
    assert not [t for t in texts if personal_data(t)], "an insz or IBAN in Prefect"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_api):
    tmp = tmp_path_factory.mktemp("prefect-runs")
    write_landing(tmp / "landing", dt.date(2026, 1, 1))
    write_landing(tmp / "landing", dt.date(2026, 11, 1))
    env = {**prefect_api, "PREFECT_HOME": str(tmp / "client-home")}
    since = dt.datetime.now(dt.UTC)
    vsb(env, tmp, "nightly", "--as-of", "2026-11-26", relative=True)  # folders relative to the working folder
    served = {**env, "VSB_REPORT_URL": "https://reports.example/vsb"}  # the outbox served over the web
    vsb(served, tmp, "invoices", "--year", "2026", "--as-of", "2026-01-02")
    vsb(env, tmp, "fines", "--year", "2026")
    vsb(env, tmp, "backfill", "--from", "2026-11-27", "--to", "2026-11-28")
    scheduled = [sys.executable, "-c", "from flows.nightly import run_nightly; import sys; "
                 f"run_nightly(landing={str(tmp / 'landing')!r}, outbox={str(tmp / 'out')!r}, "
                 f"state={str(tmp / 's.duckdb')!r}, quiet=True)"]  # fmt: skip
    assert subprocess.run(scheduled, env=env, cwd=ROOT, capture_output=True, text=True).returncode == 0
    from flows.context import today

    names = ["nightly-2026-11-26", "invoices-2026-2026-01-02", "fines-2026", "backfill-2026-11-27..2026-11-28"]
    names.append(f"nightly-{today().isoformat()}")
    return tmp, {name: read_back(env, name, since) for name in names}


def test_the_nightly_flow_run_is_named_after_its_date_with_a_task_per_step(runs):
    _, found = runs
    night = found["nightly-2026-11-26"]
    assert night["run"].state.type.value == "COMPLETED"
    steps = [
        "decide", "letters", "publish", "report", "settle",
        *(f"files-{c}" for c in CODES), *(f"ingest-{f}" for f in FEEDS),
    ]  # fmt: skip
    assert sorted(night["tasks"]) == sorted(steps)


def test_the_run_logs_its_counts_from_inside_each_task(runs):
    """Each step's counts come from the task that made them (its run logger), not from the flow after it; the flow
    logs each step's time and, last, the run's key figures."""
    _, found = runs
    night = found["nightly-2026-11-26"]
    tasks, flow = "\n".join(night["task_logs"]), "\n".join(night["flow_logs"])
    assert "ingest members: rows read 1, valid 1, quarantined 0, delivery 2026-11-01" in tasks
    assert "decide: persons with an entitled month 1, persons decided 1, months entitled" in tasks
    assert "settle: events NEW 2, payment rows" in tasks
    assert "files ZK100: grant events 2, work-list rows" in tasks
    assert "letters: letters ZK100 " in tasks  # the letters step is a task of its own (outputs.md, Prefect)
    assert "rows read" not in flow and "persons with an entitled month 1," not in flow  # no counts after a task
    assert re.search(r"^decide: \d+\.\d s$", flow, re.MULTILINE)  # the step's time, by the flow
    assert "nightly 2026-11-26 published: Persons with an entitled month 1; Grant events NEW 2" in flow
    invoices = "\n".join(found["invoices-2026-2026-01-02"]["task_logs"])
    assert "plan invoices: issued" in invoices and "files ZK100: invoices" in invoices


def test_every_flow_run_is_tagged_with_its_kind_and_date(runs):
    _, found = runs
    from flows.context import today

    assert set(found["nightly-2026-11-26"]["run"].tags) == {"vsb", "nightly", "2026-11-26"}
    assert set(found["invoices-2026-2026-01-02"]["run"].tags) == {"vsb", "invoices", "2026", "2026-01-02"}
    assert set(found["fines-2026"]["run"].tags) == {"vsb", "fines", "2026", "2026-10-15"}
    backfill = set(found["backfill-2026-11-27..2026-11-28"]["run"].tags)
    assert backfill == {"vsb", "backfill", "nightly", "2026-11-27", "2026-11-28"}  # each night's date
    assert {"vsb", "nightly", today().isoformat()} <= set(found[f"nightly-{today().isoformat()}"]["run"].tags)


def test_the_flow_runs_parameters_name_absolute_folders(runs):
    """The nightly run was given its folders relative to the command's working folder: Prefect shows them whole."""
    tmp, found = runs
    parameters = found["nightly-2026-11-26"]["run"].parameters
    assert (parameters["landing"], parameters["outbox"], parameters["state"]) == (
        str(tmp / "landing"),
        str(tmp / "out"),
        str(tmp / "s.duckdb"),
    )


def test_the_report_shows_the_wall_time_and_the_steps_each_once(runs):
    tmp, _ = runs
    report = json.loads((tmp / "out" / "nightly" / "2026-11-26" / "_report.json").read_text())
    steps = run_seconds(report["timings_seconds"])
    assert report["wall_seconds"] >= steps > 0  # the steps and the time between them


def test_each_run_publishes_a_summary_and_a_table_linking_to_its_report(runs):
    tmp, found = runs
    for name, kind, folder in [
        ("nightly-2026-11-26", "nightly", "nightly/2026-11-26"),
        ("invoices-2026-2026-01-02", "invoices", "invoices/2026/2026-01-02"),
        ("fines-2026", "fines", "fines/2026"),
    ]:
        artifacts = found[name]["artifacts"]
        assert set(artifacts) == {f"vsb-{kind}-summary", f"vsb-{kind}-zorgkassen"}, name
        summary, table = artifacts[f"vsb-{kind}-summary"], artifacts[f"vsb-{kind}-zorgkassen"]
        if kind == "invoices":  # run with VSB_REPORT_URL: a link the Prefect UI opens
            report = f"https://reports.example/vsb/{folder}/_report.html"
            assert summary.type == "markdown" and f"Report: [_report.html]({report})" in summary.data
        else:  # no web address: the path to copy (a web page cannot open a file: link)
            report = str((tmp / "out" / folder / "_report.html").resolve())
            assert summary.type == "markdown" and f"Report: `{report}`" in summary.data
            assert "file:" not in summary.data
        assert table.type == "table" and report in table.description
        assert [row["zorgkas"] for row in _rows(table.data)] == CODES
    summary = found["nightly-2026-11-26"]["artifacts"]["vsb-nightly-summary"].data
    assert "| Grant events | NEW 2 |" in summary and "| Payment rows |" in summary


def test_a_backfill_is_one_flow_run_named_after_its_dates_with_the_steps_of_each_night(runs):
    _, found = runs
    backfill = found["backfill-2026-11-27..2026-11-28"]
    assert backfill["run"].state.type.value == "COMPLETED"
    assert backfill["tasks"].count("decide") == 2 and backfill["tasks"].count("publish") == 2


def test_a_run_started_without_a_date_is_named_after_today(runs):
    _, found = runs
    from flows.context import today

    assert found[f"nightly-{today().isoformat()}"]["run"].state.type.value == "COMPLETED"


def test_prefect_holds_no_insz_name_or_iban(runs):
    _, found = runs
    for run in found.values():
        check_private(run)
        assert "An Peeters" not in str(run["logs"]) + str([a.data for a in run["artifacts"].values()])


def _rows(data) -> list[dict]:
    import json

    return json.loads(data) if isinstance(data, str) else data
