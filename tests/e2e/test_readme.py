"""Every command of README.md and docs/*.md works as written: each ```bash block runs, as a bash script, in a copy of the
repository (its tracked files, and the project's .venv), with its own PREFECT_HOME and no VSB_ variables.

What a test machine cannot take literally is changed, and only that: the operator's folders (/data/...,
/var/lib/vsb) become folders of the test, port 4200 a free port. Left out: `bash scripts/test.sh` is the test suite itself (CI runs it); the mutation run takes an
hour and needs a git checkout; the benchmarks are measured at the scale they name, on generated landings,
never in a test (the developers' guide), and their scripts are run by hand (their results are committed);
`vsb serve` is tests/flows/test_serve.py's (a real server on loopback: serve, the schedules, a triggered night, a
clean stop): run here beside the other tests' load, Prefect's runner sometimes lost its server while pausing
the deployments on SIGTERM (a traceback after "vsb serve: stopped"), which test_serve.py has not shown.

Slow: the sample night, a backfill, the premium runs, a real Prefect server and the benchmarks at 2,000
members (several minutes).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers.prefect_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
LEFT_OUT = ("bash scripts/test.sh", "bash scripts/mutation.sh", ".venv/bin/python benchmarks/", ".venv/bin/vsb serve")
pytestmark = pytest.mark.long  # only with VSB_ALL_TESTS=1 (docs/testing.md)


def blocks() -> list[str]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [block for page in pages for block in BLOCK.findall(page.read_text())]


def copy_of_repository(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def for_the_test(script: str, tmp: Path, port: int) -> str:
    """The block as the test runs it (see the module docstring)."""
    lines = [line for line in script.splitlines() if not any(line.startswith(x) for x in LEFT_OUT)]
    script = "\n".join(lines)
    for operator, test in [
        ("/var/lib/vsb", str(tmp / "var")),
        ("/data/landing", "data/sample/landing"),
        ("/data/", str(tmp / "data") + "/"),
        ("/tmp/vsb-landing", str(tmp / "generated")),
        ("--port 4200", f"--port {port}"),
        ("127.0.0.1:4200", f"127.0.0.1:{port}"),
    ]:
        script = script.replace(operator, test)
    return "set -eo pipefail\n" + script + "\n"


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    return copy_of_repository(tmp_path_factory.mktemp("readme") / "vsb-engine")


@pytest.mark.parametrize("number", range(len(blocks())), ids=lambda n: blocks()[n].splitlines()[0][:50])
def test_every_readme_command_runs(repository, tmp_path, number):
    script = for_the_test(blocks()[number], tmp_path, free_port())
    (tmp_path / "var").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSB_", "PREFECT_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=repository,
            env=env,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=1500)
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # what the block left running (a Prefect server)
            except ProcessLookupError:
                pass
    printed = out.read_text() + err.read_text()
    assert code == 0, printed[-3000:]
    assert "Traceback" not in printed, printed[-3000:]
