"""`vsb serve` against a real Prefect server on loopback: the three schedules are registered, a run of the
nightly deployment triggered through the API completes and publishes, then everything is stopped.

Long (a real server starts: about 20-40 s; only with VSB_ALL_TESTS=1, docs/testing.md); it talks to the server
over HTTP only, on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers.builders import write_landing
from tests.helpers.prefect_server import BIN, call, real_server, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.long
def test_serve_registers_the_schedules_and_a_triggered_nightly_run_completes(tmp_path):
    landing = write_landing(tmp_path / "landing")
    logs = tmp_path / "logs"
    logs.mkdir()
    with real_server(tmp_path) as env:
        api = env["PREFECT_API_URL"]
        env = {**env, "PREFECT_LOGGING_LEVEL": "WARNING"}
        serving = subprocess.Popen(
            [str(BIN / "vsb"), "serve", "--landing", str(landing), "--outbox", str(tmp_path / "out"),
             "--state", str(tmp_path / "state" / "vsb.duckdb")],
            env=env,
            cwd=ROOT,
            stdout=(logs / "serve.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            deployments = wait_for(
                lambda: len(found := call(f"{api}/deployments/filter", {})) >= 3 and found, 90, "the three deployments"
            )
            by_name = {d["name"]: d for d in deployments}
            assert set(by_name) == {"nightly", "invoices", "fines"}
            schedules = {name: [s["schedule"] for s in d["schedules"]] for name, d in by_name.items()}
            assert schedules["nightly"] == [{"cron": "0 2 * * *", "timezone": "Europe/Brussels", "day_or": True}]
            assert schedules["invoices"][0]["cron"] == "0 3 2 1 *"
            assert schedules["fines"][0]["cron"] == "0 3 16 10 *"
            create = f"{api}/deployments/{by_name['nightly']['id']}/create_flow_run"
            # a loaded machine's SQLite makes the server answer 503 now and then: try again
            run = wait_for(lambda: call(create, {"parameters": {"as_of": "2026-11-20"}}), 60, "a flow run created")
            state = wait_for(
                lambda: (
                    (s := call(f"{api}/flow_runs/{run['id']}")["state"])
                    and s["type"] in {"COMPLETED", "FAILED", "CRASHED"}
                    and s
                ),
                180,
                "the nightly run",
            )
            assert state["type"] == "COMPLETED", (logs / "serve.log").read_text()[-3000:]
            assert call(f"{api}/flow_runs/{run['id']}")["name"] == "nightly-2026-11-20"
            assert (tmp_path / "out" / "nightly" / "2026-11-20" / "_manifest.json").exists()
        finally:
            os.killpg(serving.pid, signal.SIGTERM)  # as systemd stops it
            code = serving.wait(timeout=60)
    log = (logs / "serve.log").read_text()
    assert code == 0 and log.rstrip().endswith("vsb serve: stopped"), log[-3000:]
    assert "Warning" not in log and "Traceback" not in log, log[-3000:]


def test_serve_needs_a_prefect_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    folders = [
        "--landing",
        str(write_landing(tmp_path / "l")),
        "--outbox",
        str(tmp_path),
        "--state",
        str(tmp_path / "s"),
    ]
    done = subprocess.run([str(BIN / "vsb"), "serve", *folders], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "vsb serve needs a Prefect server: start one with `prefect server start`" in done.stderr
