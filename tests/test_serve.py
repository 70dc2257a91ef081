"""`vsb serve` against a real Prefect server on loopback: the three schedules are registered, a run of the
nightly deployment triggered through the API completes and publishes, then everything is stopped.

Slow (a real server starts: about 20-40 s); it talks to the server over HTTP only, on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from builders import write_landing

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, body: dict | None = None, method: str | None = None) -> dict | list:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method or ("POST" if data else "GET"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.slow
def test_serve_registers_the_schedules_and_a_triggered_nightly_run_completes(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    landing = write_landing(tmp_path / "landing")
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=(logs / "server.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    serving = None
    try:
        wait_for(lambda: call(f"{api}/health"), 120, "the Prefect server")
        serving = subprocess.Popen(
            [
                str(BIN / "vsb"),
                "serve",
                "--landing",
                str(landing),
                "--outbox",
                str(tmp_path / "out"),
                "--state",
                str(tmp_path / "state" / "vsb.duckdb"),
            ],
            env=env,
            cwd=ROOT,
            stdout=(logs / "serve.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deployments = wait_for(
            lambda: len(found := call(f"{api}/deployments/filter", {})) >= 3 and found, 90, "the three deployments"
        )
        by_name = {d["name"]: d for d in deployments}
        assert set(by_name) == {"nightly", "invoices", "fines"}
        schedules = {name: [s["schedule"] for s in d["schedules"]] for name, d in by_name.items()}
        assert schedules["nightly"] == [{"cron": "0 2 * * *", "timezone": "Europe/Brussels", "day_or": True}]
        assert schedules["invoices"][0]["cron"] == "0 3 2 1 *"
        assert schedules["fines"][0]["cron"] == "0 3 16 10 *"
        run = call(
            f"{api}/deployments/{by_name['nightly']['id']}/create_flow_run", {"parameters": {"as_of": "2026-11-20"}}
        )
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
        assert (tmp_path / "out" / "nightly" / "2026-11-20" / "_manifest.json").exists()
    finally:
        if serving is not None:
            stop(serving)
        stop(server)
