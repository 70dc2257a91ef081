"""Process-wide settings for running flows: Prefect's embedded defaults, file modes, code version.

Imported before Prefect: Prefect reads its settings from the environment when it loads.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Embedded defaults (docs/stack-notes.md): a temporary local Prefect server on SQLite, no network,
# and a startup timeout that a cold start on a small CI machine fits in. Operators override any
# of these in the environment (e.g. PREFECT_API_URL for a real server).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_LOGGING_LEVEL": "INFO",  # the run logger's counts reach the Prefect API (the console: see cli)
}


def configure_environment() -> None:
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.umask(0o027)  # docs/spec/outputs.md: files readable by owner and group only


def code_version() -> str:
    """The package version and a digest of the engine's source, for the run manifest."""
    try:
        version = metadata.version("vsb-engine")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    digest = hashlib.sha256()
    for package in ("flows", "pipelines", "schemas"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{version}+{digest.hexdigest()[:12]}"


class PrefectServer:
    """Prefect's temporary local server, started early in a subprocess (the embedded default: no server to
    run by hand).

    Prefect starts the same server on the first API call of a flow, after the whole command has been
    imported, and imports the server's code into the command's own process to do so (2.5 s): 7 s of a
    sample night's 11. Started here, first thing, the server boots on the second core while the command
    imports and reads; the flow then waits only for what is left. Used only when no server is configured
    (PREFECT_API_URL unset): an operator's real server is never replaced.
    """

    def __init__(self) -> None:
        self.process = None
        self.url: str | None = None
        self._previous_url: str | None = None

    def start(self) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as probe:  # a free port on loopback
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        # the runs use no block types: registering them is start-up time of every command (about 0.3 s)
        env.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]
        # its own log lines (e.g. events cut short when it is stopped at the end) are not the operator's concern
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        from flows.orphans import tied_command

        # tied to this process: killed with it, however it dies (flows/orphans.py)
        self.process = subprocess.Popen(tied_command(command), env=env, **quiet)
        self.url = f"http://127.0.0.1:{port}/api"
        self._previous_url = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = self.url

    def wait(self, timeout: float) -> None:
        """Until the server answers its health check; a clear error if it does not start in time."""
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prefect's temporary server stopped at start (exit code {self.process.returncode})")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Prefect's temporary server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Send what Prefect still holds (the run's last logs and events) to the server, then stop it."""
        if self.process is not None:
            import sys

            if "prefect" in sys.modules:
                from prefect.events.worker import EventsWorker
                from prefect.logging.handlers import APILogWorker

                APILogWorker.drain_all(timeout=10)
                EventsWorker.drain_all(timeout=10)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.process.kill()
            self.process = None
        if self._previous_url is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = self._previous_url


def prefect_configured() -> bool:
    """Whether flows already have a Prefect API: PREFECT_API_URL in the environment, or a test harness's
    settings (only possible once Prefect is imported)."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    import sys

    if "prefect" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        return bool(PREFECT_API_URL.value())
    return False


def tag_flow_run(kind: str, run_date, year: int | None = None) -> None:
    """Tag the flow run this is called in with `vsb`, the run's kind and its run date (and the premium or fine year),
    so that the Prefect UI filters the runs of a kind or a date (issue 22); a flow of another kind (vsb-backfill)
    also gets its own. Each night of a backfill adds its date. Called where every run starts (flows/context.py
    `start`); outside a flow run (a benchmark, a Dask worker, the command line's checks) it does nothing."""
    import sys

    if "prefect" not in sys.modules:
        return
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    run = context.flow_run
    flow_kind = context.flow.name.removeprefix("vsb-") if context.flow is not None else kind
    wanted = ["vsb", flow_kind, kind, run_date.isoformat(), *([str(year)] if year is not None else [])]
    tags = list(dict.fromkeys([*(run.tags or []), *wanted]))
    if tags == list(run.tags or []):
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.update_flow_run(run.id, tags=tags)
    run.tags = tags


def release_frames(exc: BaseException) -> None:
    """Clear the locals of the finished frames of an exception and of those it was raised from: they hold
    the DuckDB handle and the run's frames, which Prefect and the command keep with the exception."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
