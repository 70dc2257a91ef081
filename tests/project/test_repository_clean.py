"""A run writes nothing into the repository outside its ignored paths (.gitignore): the sample night run from
the repository's root, with its outbox and state elsewhere, leaves `git status` as it was. (The suite as a whole
is held to the same by tests/conftest.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def status() -> set[str]:
    found = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.skip("not a git checkout")
    return set(found.stdout.splitlines())


def test_the_gitignore_ignores_duckdb_files_everywhere():
    found = subprocess.run(
        ["git", "check-ignore", "state.duckdb", "x/y/z.duckdb", "x/y/z.duckdb.wal", "x/z.duckdb.lock"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if found.returncode == 128:
        pytest.skip("not a git checkout")
    assert found.stdout.split() == ["state.duckdb", "x/y/z.duckdb", "x/y/z.duckdb.wal", "x/z.duckdb.lock"]


def test_no_duckdb_file_is_tracked():
    found = subprocess.run(["git", "ls-files", "*.duckdb", "*.duckdb.wal"], cwd=ROOT, capture_output=True, text=True)
    assert found.stdout.split() == []


@pytest.mark.slow  # the sample's night in its own process and server: CI runs it; every run's in-process nights are held
# to the same by tests/conftest.py (docs/testing.md)
@pytest.mark.usefixtures("prefect_harness")
def test_a_night_from_the_repository_root_writes_nothing_there(tmp_path):
    before = status()
    vsb = Path(sys.executable).with_name("vsb")
    env = {**os.environ, "VSB_OUTBOX": str(tmp_path / "out"), "VSB_STATE": str(tmp_path / "state" / "vsb.duckdb")}
    done = subprocess.run(
        [str(vsb), "nightly", "--as-of", "2026-11-26", "--allow-future-date", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert status() - before == set()
