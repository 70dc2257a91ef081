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

# Embedded defaults (STACK-NOTES.md): a temporary local Prefect server on SQLite, no network,
# and a startup timeout that a cold start on a small CI machine fits in. Operators override any
# of these in the environment (e.g. PREFECT_API_URL for a real server).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def configure_environment() -> None:
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.umask(0o027)  # outputs.md: files readable by owner and group only


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


def release_frames(exc: BaseException) -> None:
    """Clear the locals of the finished frames of an exception and of those it was raised from: they hold
    the DuckDB handle and the run's frames, which Prefect and the command keep with the exception."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
