"""docs/spec/outputs.md, Guarantees, for runs of one state: Ordered (one run at a time under a lock; nights in date order;
a run committed but not published is completed by the next run of any kind), Durable (fsync before the
commit and after the rename), and one line on stderr, without a traceback, for what an operator can fix
(a state in use, a full disk, a read-only outbox or state)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from flows.publication.protocol import RunOrderError
from flows.state.store import StateInUse, connect, hold_state
from tests.helpers.runs import PAYMENT_DAY, files_of, ledger, nightly, two_members

D = dt.date
pytestmark = pytest.mark.usefixtures("prefect_harness")
FAULTS = Path(__file__).resolve().parents[1] / "helpers" / "faults.py"


def state_of(tmp: Path) -> Path:
    return tmp / "state" / "vsb.duckdb"


def runs(tmp: Path) -> list[tuple]:
    with connect(str(state_of(tmp)), read_only=True) as con:
        return con.sql("SELECT kind, run_key, run_date, payment_run, published FROM runs ORDER BY seq").fetchall()


def vsb(tmp: Path, landing: Path, *args: str, fault: tuple[str, ...] = ("none",)) -> subprocess.CompletedProcess:
    """`vsb ARGS` in a real process (with a simulated fault), against the test's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    env.pop("VSB_CRASH_AT", None)
    common = ["--landing", str(landing), "--outbox", str(tmp / "out"), "--state", str(state_of(tmp)), "--quiet"]
    common += ["--allow-future-date"]  # the test dates, whatever the machine's clock
    return subprocess.run(
        [sys.executable, str(FAULTS), *fault, "--", *args, *common],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=300,
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    """The only line on stderr of a failed command (no traceback, no Prefect log)."""
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def published_files(tmp: Path) -> dict[str, bytes]:
    """The published files of the outbox (files_of, without staging folders)."""
    return {name: data for name, data in files_of(tmp / "out").items() if "/.staging-" not in "/" + name}


def paid_months_published(tmp: Path) -> tuple[list[tuple], list[tuple]]:
    """The payment ledger's (insz, budget, month), and the same rows of every published payments.parquet."""
    paid = [r[:3] for r in ledger(tmp)]
    files = sorted((tmp / "out" / "nightly").glob("*/*/payments.parquet"))
    published = pl.concat([pl.read_parquet(f).select("insz", "budget", "month") for f in files])
    return sorted(paid), sorted(published.rows())


# --- the lock ---------------------------------------------------------------------------------------------


@pytest.fixture
def holder(tmp_path):
    """Another process holding the state's lock as a run does; killed with SIGKILL at the end."""
    state = state_of(tmp_path)
    child = subprocess.Popen(
        [sys.executable, str(FAULTS), "hold-lock", str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout.readline().strip() == b"held"
    yield child
    if child.poll() is None:
        child.kill()
    child.wait()


def test_a_second_run_exits_at_once_with_one_line_naming_the_holder(tmp_path, holder):
    landing = two_members(tmp_path / "landing")
    done = vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-27")
    line = one_line(done)
    assert line.startswith(
        f"vsb nightly: error: the state {state_of(tmp_path)} is in use by nightly 2026-11-26 (pid {holder.pid}, since "
    )
    assert line.endswith("): wait for it to end")
    assert not (tmp_path / "out").exists()
    held = json.loads(state_of(tmp_path).with_name("vsb.duckdb.lock").read_text())
    assert held["kind"] == "nightly" and held["run"] == "2026-11-26" and held["pid"] == holder.pid
    dt.datetime.fromisoformat(held["since"])


@pytest.mark.parametrize("kind", ["nightly", "backfill", "invoices", "fines"])
def test_every_kind_of_run_holds_the_lock(tmp_path, holder, kind):
    from flows.nightly import run_backfill, run_nightly
    from flows.premium import run_fines, run_invoices

    where = dict(landing=tmp_path / "landing", outbox=tmp_path / "out", state=state_of(tmp_path), quiet=True)
    start = {
        "nightly": lambda: run_nightly(as_of=D(2026, 11, 27), **where),
        "backfill": lambda: run_backfill(first=D(2026, 11, 27), last=D(2026, 11, 28), **where),
        "invoices": lambda: run_invoices(year=2026, as_of=D(2026, 11, 27), **where),
        "fines": lambda: run_fines(year=2026, **where),
    }[kind]
    with pytest.raises(StateInUse, match=rf"in use by nightly 2026-11-26 \(pid {holder.pid}, since "):
        start()


def test_a_lock_left_by_a_killed_run_blocks_nothing(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert "2026-11-26" in state_of(tmp_path).with_name("vsb.duckdb.lock").read_text()  # its content stays
    with hold_state(state_of(tmp_path), "nightly", "2026-11-27"):  # taken: the kernel released the dead one's
        other = subprocess.run(
            [sys.executable, str(FAULTS), "hold-lock", str(state_of(tmp_path))],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert other.returncode != 0 and f"in use by nightly 2026-11-27 (pid {os.getpid()}, since " in other.stderr


def test_explain_reads_no_state_and_answers_while_a_run_holds_it(tmp_path, holder, capsys):
    from flows.cli import main

    landing = two_members(tmp_path / "landing")
    code = main(["explain", "85073112305", "--as-of", "2026-11-26", "--landing", str(landing)])
    assert code == 0 and capsys.readouterr().out.strip()


def test_a_state_open_in_another_program_is_one_line(tmp_path):
    state_of(tmp_path).parent.mkdir(parents=True)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(state_of(tmp_path))!r}); "
         "print('open', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == b"open"
        landing = two_members(tmp_path / "landing")
        line = one_line(vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-20"))
    finally:
        reader.kill()
        reader.wait()
    assert line == (
        f"vsb nightly: error: the state {state_of(tmp_path)} is open in another program (pid {reader.pid}): "
        "close it and run again"
    )


# --- nights in date order -----------------------------------------------------------------------------


def test_a_night_before_the_latest_committed_night_is_refused_unless_it_is_a_rerun(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    nightly(tmp_path, landing, D(2026, 11, 27))  # the payment run of November
    before = (ledger(tmp_path), runs(tmp_path))
    with pytest.raises(
        RunOrderError,
        match="nightly 2026-11-26 comes before the latest committed nightly run 2026-11-27 and was never run",
    ):
        nightly(tmp_path, landing, PAYMENT_DAY)
    assert (ledger(tmp_path), runs(tmp_path)) == before
    assert not (tmp_path / "out" / "nightly" / "2026-11-26").exists()
    # a rerun of a published date, even before later nights, is a no-op: it reads the state as before it
    assert nightly(tmp_path, landing, D(2026, 11, 20))["status"] == "identical"
    assert nightly(tmp_path, landing, D(2026, 11, 27))["status"] == "identical"
    assert (ledger(tmp_path), runs(tmp_path)) == before


def test_a_backfill_over_published_nights_is_a_no_op_and_one_over_a_never_run_night_is_refused(tmp_path):
    from flows.nightly import run_backfill

    landing = two_members(tmp_path / "landing")
    where = dict(landing=landing, outbox=tmp_path / "out", state=state_of(tmp_path), quiet=True)
    run_backfill(first=D(2026, 11, 24), last=D(2026, 11, 27), **where)
    before = (files_of(tmp_path / "out"), ledger(tmp_path))
    again = run_backfill(first=D(2026, 11, 24), last=D(2026, 11, 28), **where)
    assert [r["status"] for r in again] == ["identical"] * 4 + ["published"]
    after = files_of(tmp_path / "out")
    assert {name: after[name] for name in before[0]} == before[0] and ledger(tmp_path) == before[1]
    with pytest.raises(
        RunOrderError,
        match=r"backfill 2026-11-20..2026-11-30: 2026-11-20 comes before the latest committed nightly run "
        r"2026-11-28 and was never run \(and 3 more dates of the range\)",
    ):
        run_backfill(first=D(2026, 11, 20), last=D(2026, 11, 30), **where)
    assert not (tmp_path / "out" / "nightly" / "2026-11-29").exists()


# --- a run committed but not published ----------------------------------------------------------------


@pytest.fixture(scope="module")
def three_clean_nights(tmp_path_factory, two_members_after):
    """The two members' landing (read only by the tests that take it) and the files and ledger of the nights
    2026-11-20, 2026-11-26 (paying) and 2026-11-27 run without a crash: run once for both crash points."""
    tmp = tmp_path_factory.mktemp("clean")
    landing = two_members(tmp / "landing")
    two_members_after(tmp / "clean", D(2026, 11, 20))
    for day in (PAYMENT_DAY, D(2026, 11, 27)):
        nightly(tmp / "clean", landing, day)
    return landing, files_of(tmp / "clean" / "out"), ledger(tmp / "clean")


@pytest.mark.parametrize(
    "point",
    # after-commit in CI only: the next run completing a night crashed after its commit is every run's with
    # before-rename here, and after-commit with its rerun in tests/flows/test_publication.py (docs/testing.md)
    [pytest.param("after-commit", marks=pytest.mark.slow), "before-rename"],
)
def test_the_next_night_publishes_a_payment_night_killed_between_commit_and_rename(
    tmp_path, monkeypatch, point, three_clean_nights, two_members_after
):
    """Finding: killed between the commit and the rename of 2026-11-26, the next nights published while the
    ledger held November as paid and no payments file did. Now the next night publishes 2026-11-26 first."""
    landing, clean_files, clean_ledger = three_clean_nights
    crashed = tmp_path / "crashed"
    two_members_after(crashed, D(2026, 11, 20))  # the same landing's first night
    monkeypatch.setenv("VSB_CRASH_AT", point)
    with pytest.raises(Exception, match="crash injected"):
        nightly(crashed, landing, PAYMENT_DAY)
    monkeypatch.delenv("VSB_CRASH_AT")
    assert not (crashed / "out" / "nightly" / "2026-11-26").exists() and ledger(crashed)  # paid, unpublished

    assert nightly(crashed, landing, D(2026, 11, 27))["status"] == "published"
    paid, published = paid_months_published(crashed)
    assert paid and paid == published  # every ledger month in a published payments file, once
    assert not list((crashed / "out").rglob(".staging-*"))
    assert all(r[4] for r in runs(crashed))
    assert files_of(crashed / "out") == clean_files
    assert ledger(crashed) == clean_ledger


def test_a_backfill_crashed_before_a_nights_rename_is_completed_by_the_next_backfill(
    tmp_path, monkeypatch, three_clean_nights, two_members_after
):
    """The crash probe of a backfill (every run kind has one that every test run runs): after the crash, the
    backfill run again gives the files and ledger of the nights run without a crash."""
    from flows.nightly import run_backfill

    landing, clean_files, clean_ledger = three_clean_nights
    where = dict(landing=landing, outbox=tmp_path / "out", state=state_of(tmp_path), quiet=True)
    two_members_after(tmp_path, D(2026, 11, 20))  # the same landing's first night
    monkeypatch.setenv("VSB_CRASH_AT", "before-rename")
    with pytest.raises(Exception, match="crash injected"):
        run_backfill(first=PAYMENT_DAY, last=D(2026, 11, 27), **where)
    monkeypatch.delenv("VSB_CRASH_AT")
    assert not (tmp_path / "out" / "nightly" / "2026-11-26").exists() and ledger(tmp_path)  # paid, unpublished
    run_backfill(first=PAYMENT_DAY, last=D(2026, 11, 27), **where)
    assert not list((tmp_path / "out").rglob(".staging-*"))
    assert files_of(tmp_path / "out") == clean_files
    assert ledger(tmp_path) == clean_ledger


def test_a_committed_night_whose_staging_folder_is_incomplete_must_be_rerun_first(tmp_path, monkeypatch):
    landing = two_members(tmp_path / "landing")
    monkeypatch.setenv("VSB_CRASH_AT", "before-rename")
    with pytest.raises(Exception, match="crash injected"):
        nightly(tmp_path, landing, PAYMENT_DAY)
    monkeypatch.delenv("VSB_CRASH_AT")
    (tmp_path / "out" / "nightly" / ".staging-2026-11-26" / "ZK100" / "payments.parquet").unlink()
    paid = ledger(tmp_path)
    with pytest.raises(
        RunOrderError,
        match=r"nightly run 2026-11-26 was committed to the state but never published, and its staging folder is "
        r"incomplete: rerun `vsb nightly --as-of 2026-11-26` first",
    ):
        nightly(tmp_path, landing, D(2026, 11, 27))
    assert ledger(tmp_path) == paid and not (tmp_path / "out" / "nightly" / "2026-11-27").exists()
    assert nightly(tmp_path, landing, PAYMENT_DAY)["status"] == "published"
    assert ledger(tmp_path) == paid
    assert paid_months_published(tmp_path)[0] == paid_months_published(tmp_path)[1]
    assert nightly(tmp_path, landing, D(2026, 11, 27))["status"] == "published"


def test_a_night_killed_before_its_commit_leaves_nothing_the_next_night_keeps(tmp_path, monkeypatch):
    landing = two_members(tmp_path / "landing")
    monkeypatch.setenv("VSB_CRASH_AT", "before-commit")
    with pytest.raises(Exception, match="crash injected"):
        nightly(tmp_path, landing, PAYMENT_DAY)
    monkeypatch.delenv("VSB_CRASH_AT")
    assert not ledger(tmp_path)
    for left in ("nightly/.staging-2026-11-26", "invoices/2026/.staging-2026-11-26", "fines/.staging-2026"):
        (tmp_path / "out" / left).mkdir(parents=True)  # what a SIGKILL before the commit leaves
        (tmp_path / "out" / left / "_report.json").write_text("{}")
    nightly(tmp_path, landing, D(2026, 11, 27))  # the payment run of November now
    assert not list((tmp_path / "out").rglob(".staging-*"))
    assert {r[4] for r in ledger(tmp_path)} == {"2026-11-27"}
    assert paid_months_published(tmp_path)[0] == paid_months_published(tmp_path)[1]


def test_an_older_state_keeps_its_runs_and_its_premium_flags(tmp_path):
    """A state from before `runs.published`: its runs count as published; premium_runs' flags move over."""
    state_of(tmp_path).parent.mkdir(parents=True)
    with connect(str(state_of(tmp_path))) as con:
        con.execute(
            "CREATE TABLE runs (kind VARCHAR NOT NULL, run_key VARCHAR NOT NULL, folder VARCHAR NOT NULL, "
            "manifest_sha256 VARCHAR NOT NULL, run_date DATE, seq BIGINT, payment_run BOOLEAN DEFAULT FALSE, "
            "PRIMARY KEY (kind, run_key))"
        )
        con.execute(
            "CREATE TABLE premium_runs (kind VARCHAR, year INTEGER, run_date DATE, run_key VARCHAR, folder VARCHAR, "
            "manifest_sha256 VARCHAR, published BOOLEAN)"
        )
        con.execute(
            "INSERT INTO runs VALUES ('nightly', '2026-11-26', 'nightly/2026-11-26', 'x', '2026-11-26', 1, true)"
        )
        con.execute("INSERT INTO runs VALUES ('fines', '2026', 'fines/2026', 'y', NULL, NULL, false)")
        con.execute("INSERT INTO premium_runs VALUES ('fines', 2026, '2026-10-15', '2026', 'fines/2026', 'y', false)")
    from flows.state.store import open_state

    with open_state(state_of(tmp_path)) as con:
        assert con.sql("SELECT kind, run_key, run_date, published FROM runs ORDER BY kind").fetchall() == [
            ("fines", "2026", D(2026, 10, 15), False),
            ("nightly", "2026-11-26", D(2026, 11, 26), True),
        ]
        assert not con.sql("SELECT * FROM information_schema.tables WHERE table_name = 'premium_runs'").fetchall()


# --- durable --------------------------------------------------------------------------------------------


def test_every_file_and_folder_is_flushed_before_the_commit_and_the_outbox_after_the_rename(tmp_path, monkeypatch):
    from flows.state.state import State

    events = []
    fsync, replace, record = os.fsync, os.replace, State.record_run_row
    monkeypatch.setattr(
        os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))), fsync(fd))
    )
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("rename", str(b))), replace(a, b)))
    monkeypatch.setattr(State, "record_run_row", lambda *a, **k: (events.append(("commit", "")), record(*a, **k)))
    landing = two_members(tmp_path / "landing")
    folder = Path(nightly(tmp_path, landing, PAYMENT_DAY)["path"]).resolve()
    staging = folder.parent / ".staging-2026-11-26"
    commit = events.index(("commit", ""))
    rename = events.index(("rename", str(folder)))
    flushed = {Path(p) for kind, p in events[:commit] if kind == "fsync"}
    written = [p for p in folder.rglob("*")]
    assert len(written) > 30
    for path in [*written, folder]:
        assert staging / path.relative_to(folder) in flushed, path
    assert folder.parent in flushed  # the staging folder's entry
    assert commit < rename
    assert ("fsync", str(folder.parent)) in events[rename:]
    assert ("fsync", str(folder.parent.parent)) in events[rename:]


# --- one line for what an operator can fix ----------------------------------------------------------------


def test_a_full_outbox_disk_is_one_line_naming_the_file_and_changes_nothing(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    before = (files_of(tmp_path / "out"), ledger(tmp_path), runs(tmp_path))
    done = vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-26", fault=("enospc", "payments.parquet"))
    assert one_line(done) == (
        f"vsb nightly: error: no space left on device writing {tmp_path / 'out'}/nightly/.staging-2026-11-26/ZK100/"
        "payments.parquet: free space in the outbox and run again"
    )
    assert (files_of(tmp_path / "out"), ledger(tmp_path), runs(tmp_path)) == before
    assert not list((tmp_path / "out").rglob(".staging-*"))


def test_a_read_only_outbox_is_one_line_naming_it_and_changes_nothing(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    before = (ledger(tmp_path), runs(tmp_path))
    outbox = tmp_path / "out"
    if os.geteuid() != 0:  # a real read-only outbox; root writes through any mode, so there a seam refuses
        (outbox / "nightly").chmod(0o500)
        fault = ("none",)
    else:
        fault = ("readonly-outbox", str(outbox))
    try:
        done = vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-26", fault=fault)
    finally:
        (outbox / "nightly").chmod(0o750)
    assert one_line(done) == (
        f"vsb nightly: error: cannot write {outbox}/nightly/.staging-2026-11-26: permission denied: "
        "give the run write access to the outbox"
    )
    assert (ledger(tmp_path), runs(tmp_path)) == before
    assert not (outbox / "nightly" / "2026-11-26").exists()


def test_a_full_state_disk_is_one_line_naming_the_state_and_commits_nothing(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    before = (published_files(tmp_path), ledger(tmp_path), runs(tmp_path))
    done = vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-26", fault=("state-full",))
    assert one_line(done) == (
        f"vsb nightly: error: no space left on the disk of the state {state_of(tmp_path)}: free space there "
        "and run again"
    )
    assert (published_files(tmp_path), ledger(tmp_path), runs(tmp_path)) == before
    # the staging folder whose commit failed is dropped by the next run, which pays November
    nightly(tmp_path, landing, PAYMENT_DAY)
    assert not list((tmp_path / "out").rglob(".staging-*")) and ledger(tmp_path)


def test_a_read_only_state_is_one_line_naming_it(tmp_path):
    landing = two_members(tmp_path / "landing")
    done = vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-20", fault=("state-readonly",))
    assert one_line(done) == (
        f"vsb nightly: error: the state {state_of(tmp_path)} is on a read-only file system: give the run a "
        "writable --state"
    )
    assert not (tmp_path / "out" / "nightly" / "2026-11-20").exists()


def test_a_state_folder_that_cannot_be_written_is_one_line(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes through any mode: the read-only state is tested through a seam above")
    landing = two_members(tmp_path / "landing")
    state_of(tmp_path).parent.mkdir(parents=True)
    state_of(tmp_path).parent.chmod(0o500)
    try:
        line = one_line(vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-20"))
    finally:
        state_of(tmp_path).parent.chmod(0o750)
    assert line.startswith(f"vsb nightly: error: the state {state_of(tmp_path)} cannot be written (permission denied)")


def test_debug_shows_the_traceback(tmp_path):
    landing = two_members(tmp_path / "landing")
    done = vsb(tmp_path, landing, "nightly", "--as-of", "2026-11-20", "--debug", fault=("state-readonly",))
    assert done.returncode == 1 and "Traceback" in done.stderr
    # --debug leaves Prefect's own log on: its client may still log while it shuts down, after the error line
    prefect_log = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} \| ")
    ours = [line for line in done.stderr.strip().splitlines() if not prefect_log.match(line)]
    assert ours[-1].startswith("vsb nightly: error: the state ")
