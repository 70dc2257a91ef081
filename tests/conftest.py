"""The suite's shared set-up: Prefect's embedded defaults, one Prefect test server per pytest-xdist worker (the
`vsb` processes the tests start talk to it: `prefect_api`), and the guard that the tests write nothing into the
repository outside its ignored paths."""

import os
import subprocess
from pathlib import Path

import pytest

from flows.runtime import configure_environment

ROOT = Path(__file__).resolve().parents[1]

configure_environment()
REPOSITORY = pytest.StashKey[set | None]()


def repository_files() -> set[str] | None:
    """The files `git status` shows (new or changed, ignored paths left out); None outside a git checkout."""
    try:
        found = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return set(found.stdout.splitlines())


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist), before any test
        session.config.stash[REPOSITORY] = repository_files()


def pytest_sessionfinish(session, exitstatus):
    """A test (or a run it starts) that writes into the repository outside ignored paths fails the suite."""
    if hasattr(session.config, "workerinput"):
        return
    before = session.config.stash.get(REPOSITORY, None)
    after = repository_files()
    if before is None or after is None:
        return
    written = sorted(after - before)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "the tests wrote into the repository outside its ignored paths (.gitignore): " + ", ".join(written),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """A temporary Prefect server for the tests that run flows, with its own PREFECT_HOME: one per pytest-xdist
    worker (each worker has its own tmp_path_factory), as a shared SQLite database breaks migrations."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api(prefect_harness) -> dict[str, str]:
    """The environment of a `vsb` process that talks to this worker's Prefect server (prefect_harness): with
    PREFECT_API_URL set, a run command starts no temporary server of its own (4-5 s of each command,
    flows/runtime.py PrefectServer). The embedded default without it: tests/project/test_repository_clean.py and
    tests/e2e/test_readme.py."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}


@pytest.fixture(scope="session")
def two_members_after(tmp_path_factory, prefect_harness):
    """`two_members_after(tmp, *days)`: a copy in `tmp` of the two members' landing, outbox and state after the
    nightly runs of `days`, each sequence run once per worker (tests/helpers/runs.py PreparedNights)."""
    from tests.helpers.runs import PreparedNights

    return PreparedNights(tmp_path_factory.mktemp("prepared-nights"))
