"""What an operator reads in Prefect (docs/spec/outputs.md, "Run report and Prefect"), against a Prefect server on
loopback (the worker's, tests/conftest.py prefect_api: the same server application as `prefect server start`): `vsb nightly`, `vsb invoices` and `vsb fines` run as the operator runs them, then the flow runs are
read back through the Prefect client: their names, a task run per step, the counts in their logs, and the
two artifacts of each run linking to its `_report.html`. Counts and codes only: no insz, name or IBAN in
any of them. A nightly run started without a date (as a schedule starts it) is named after today.

Slow: five runs in their own processes.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.emit.report import personal_data
from tests.helpers.builders import valid_rows, write_landing

ROOT = Path(__file__).resolve().parents[2]
CODES = ["ZK100", "ZK200", "ZK300", "ZK400", "ZK500", "ZK600"]
FEEDS = list(valid_rows())
pytestmark = pytest.mark.slow


def vsb(env: dict, tmp: Path, *args: str) -> None:
    folders = ["--landing", str(tmp / "landing"), "--outbox", str(tmp / "out"), "--state", str(tmp / "s.duckdb")]
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args, *folders, "--allow-future-date"],  # the sample's dates
        env=env,
        cwd=ROOT,
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
    vsb(env, tmp, "nightly", "--as-of", "2026-11-26")
    vsb(env, tmp, "invoices", "--year", "2026", "--as-of", "2026-01-02")
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
    steps = ["decide", "publish", "report", "settle", *(f"files-{c}" for c in CODES), *(f"ingest-{f}" for f in FEEDS)]
    assert sorted(night["tasks"]) == sorted(steps)


def test_the_run_logs_its_counts(runs):
    _, found = runs
    logs = "\n".join(found["nightly-2026-11-26"]["logs"])
    assert "ingest members: rows read 1, quarantined 0" in logs
    assert "decide: persons with an entitled month 1" in logs
    assert "nightly 2026-11-26 published: Persons with an entitled month 1; Grant events NEW 2" in logs


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
        report = (tmp / "out" / folder / "_report.html").resolve().as_uri()
        assert summary.type == "markdown" and f"]({report})" in summary.data
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
