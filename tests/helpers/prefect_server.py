"""A real Prefect server (`prefect server start`) on loopback for the tests and scripts that need one
(schedules, the flow runs an operator reads back), with its own PREFECT_HOME. Ready in about 20-40 s.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM to the process group, then SIGKILL if it has not ended within `timeout`."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def real_server(folder: Path, ui: bool = False) -> Iterator[dict]:
    """Start `prefect server start` on a free loopback port; yields the environment that points at it
    (PREFECT_API_URL, its own PREFECT_HOME) with `url` (the UI's address); stops it at the end."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true" if ui else "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=(logs / "server.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: call(f"{env['PREFECT_API_URL']}/health"), 120, "the Prefect server")
        yield env | {"url": f"http://127.0.0.1:{port}"}
    finally:
        stop(server)
