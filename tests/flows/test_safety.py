"""Operator slips, issue 20: future run dates, old deliveries, a state that is not ours, fail fast, feed-level
checks, and the one-line messages. Each refusal is one line on stderr that names the date, path, feed or option
and what to do, and a refused run leaves no file behind."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import build_parser, main, with_advice
from flows.io.landing import FeedError
from flows.preflight import Refused, check_run
from flows.state.store import STATE_VERSION, StateError, connect, open_state
from pipelines.emit.summary import summary_markdown
from schemas.feeds import FEEDS
from tests.helpers.builders import context_at, valid_rows, write_landing
from tests.helpers.runs import nightly

D = dt.date
ROOT = Path(__file__).resolve().parents[2]
DELIVERY = D(2026, 11, 1)
FAR = dt.date.today() + dt.timedelta(days=400)  # after today on any machine clock


def folders(tmp: Path) -> list[str]:
    return ["--landing", str(tmp / "landing"), "--outbox", str(tmp / "out"), "--state", str(tmp / "st" / "vsb.duckdb")]


def refused(capsys, tmp: Path, *args: str) -> str:
    """Run `vsb args` in this process; it must fail with one line and leave no file but the landing zone."""
    before = sorted(p for p in tmp.rglob("*"))
    assert main([*args, *folders(tmp), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(p for p in tmp.rglob("*")) == before  # no state, no lock file, no outbox
    return err.strip()


# --- 1. run dates -------------------------------------------------------------------------------------

FUTURE = [
    ("nightly", ["nightly", "--as-of", FAR.isoformat()], "the run date"),
    ("backfill", ["backfill", "--from", "2026-11-20", "--to", FAR.isoformat()], "the run date"),
    ("invoices", ["invoices", "--year", str(FAR.year), "--as-of", FAR.isoformat()], "the invoice date"),
    ("fines", ["fines", "--year", str(FAR.year + 1)], "the fine reference date"),
]


@pytest.mark.parametrize("args, what", [c[1:] for c in FUTURE], ids=[c[0] for c in FUTURE])
def test_a_run_date_after_today_is_refused_in_one_line(tmp_path, capsys, args, what):
    write_landing(tmp_path / "landing", DELIVERY)
    line = refused(capsys, tmp_path, *args)
    assert f"{what} " in line and "is after today's date" in line and "pass --allow-future-date" in line


def test_today_is_handed_in_and_allow_future_date_lets_a_test_date_through(tmp_path):
    """The engine reads no clock: check_run judges against the `today` the command line read once."""
    write_landing(tmp_path / "landing", DELIVERY)
    args = build_parser().parse_args(["nightly", "--as-of", "2026-11-20", *folders(tmp_path)])
    check_run(args, today=D(2026, 11, 20))  # today itself is fine
    with pytest.raises(Refused, match="the run date 2026-11-20 is after today's date 2026-11-19"):
        check_run(args, today=D(2026, 11, 19))
    args.allow_future_date = True
    check_run(args, today=D(2026, 11, 19))
    simulate = build_parser().parse_args(["simulate", "--as-of", "2030-01-01", "--reform", "r.yaml"])
    assert not hasattr(simulate, "allow_future_date")  # vsb simulate needs none


def test_a_delivery_older_than_max_delivery_age_days_is_a_warning(tmp_path):
    write_landing(tmp_path, DELIVERY)
    assert context_at(tmp_path, DELIVERY + dt.timedelta(days=45)).warnings == ()
    warnings = context_at(tmp_path, DELIVERY + dt.timedelta(days=46)).warnings
    assert len(warnings) == len(FEEDS) and all("more than 45 (max_delivery_age_days)" in w for w in warnings)
    assert warnings[0] == (
        "feed members: the newest delivery 2026-11-01 is 46 days before the run date 2026-12-17, more than 45 "
        "(max_delivery_age_days): check the run date and the feed's deliveries"
    )


@pytest.mark.usefixtures("prefect_harness")
def test_the_old_delivery_warning_is_in_the_report_and_the_prefect_summary(tmp_path):
    landing = write_landing(tmp_path / "landing", DELIVERY)
    result = nightly(tmp_path, landing, D(2026, 12, 20))
    report = json.loads((Path(result["path"]) / "_report.json").read_text())
    old = [w for w in report["warnings"] if "max_delivery_age_days" in w]
    assert len(old) == len(FEEDS)
    assert old[0] in summary_markdown(report, "published", "file:///_report.html")


# --- 3. only a vsb state ------------------------------------------------------------------------------


def sqlite_file(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()


def other_duckdb(path: Path) -> None:
    with connect(path) as con:
        con.execute("CREATE TABLE customers (id INTEGER)")


STATES = [
    ("another program's DuckDB file", other_duckdb, "is not a vsb state (a DuckDB file with tables customers and no vsb_state marker)"),
    ("a SQLite file", sqlite_file, "is not a vsb state (not a DuckDB file)"),
    ("a text file", lambda p: p.write_text("hello\n"), "is not a vsb state (not a DuckDB file)"),
    ("an empty file", lambda p: p.write_bytes(b""), "is not a vsb state (not a DuckDB file)"),
]  # fmt: skip


@pytest.mark.parametrize("make, expected", [c[1:] for c in STATES], ids=[c[0] for c in STATES])
def test_a_file_that_is_not_a_vsb_state_is_refused_in_one_line_naming_it(tmp_path, capsys, make, expected):
    write_landing(tmp_path / "landing", DELIVERY)
    state = tmp_path / "st" / "vsb.duckdb"
    state.parent.mkdir()
    make(state)
    content = state.read_bytes()
    line = refused(capsys, tmp_path, "nightly", "--as-of", "2026-11-20")
    assert (
        line
        == f"vsb nightly: error: {state} {expected}: give the run its own --state (or VSB_STATE); a new path makes a new state"
    )
    assert state.read_bytes() == content
    with pytest.raises(StateError, match="not a vsb state"):
        with open_state(state):
            pass


def test_a_state_carries_the_marker_and_a_state_from_before_the_marker_gets_it(tmp_path):
    with open_state(tmp_path / "new.duckdb") as con:
        assert con.execute("SELECT schema_version FROM vsb_state").fetchall() == [(STATE_VERSION,)]
    older = tmp_path / "older.duckdb"
    with connect(older) as con:
        con.execute("CREATE TABLE runs (kind VARCHAR, run_key VARCHAR, folder VARCHAR, manifest_sha256 VARCHAR)")
    with open_state(older) as con:
        assert con.execute("SELECT schema_version FROM vsb_state").fetchall() == [(STATE_VERSION,)]
    with connect(older) as con:
        con.execute(f"UPDATE vsb_state SET schema_version = {STATE_VERSION + 1}")
    with pytest.raises(StateError, match=f"has schema version {STATE_VERSION + 1}, newer than this vsb knows"):
        with open_state(older):
            pass


def test_no_connection_autoloads_or_installs_an_extension():
    with connect() as con:
        settings = (
            "SELECT current_setting('autoload_known_extensions'), current_setting('autoinstall_known_extensions')"
        )
        assert con.execute(settings).fetchone() == (False, False)


def test_every_duckdb_connection_comes_from_the_one_helper():
    """flows/state/store.py connect: no other `duckdb.connect(` in the project (a test holding the state open
    as another program does, and the fault that replaces duckdb.connect, excepted)."""
    allowed = {"flows/state/store.py", "tests/helpers/faults.py", "tests/flows/test_runs.py"}
    found = []
    for folder in ("flows", "pipelines", "schemas", "synthdata", "tests", "benchmarks", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name not in allowed and name != "tests/flows/test_safety.py" and "duckdb.connect(" in path.read_text():
                found.append(name)
    assert found == []


# --- 5. fail fast -------------------------------------------------------------------------------------


def test_a_missing_landing_is_refused_within_a_second_before_prefect_is_imported(tmp_path):
    code = (
        "import sys, time; t = time.perf_counter(); from flows.cli import main; "
        f"rc = main(['nightly', '--as-of', '2026-11-20', *{folders(tmp_path)!r}]); "
        "print(rc, 'prefect' in sys.modules, round(time.perf_counter() - t, 3))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    rc, prefect, seconds = done.stdout.split()
    assert (rc, prefect) == ("1", "False") and float(seconds) < 1.0
    assert done.stderr == (
        f"vsb nightly: error: the landing zone {tmp_path / 'landing'} does not exist: give the run its --landing "
        "(or VSB_LANDING)\n"
    )
    assert list(tmp_path.iterdir()) == []  # no state, no lock file


def test_a_missing_feed_and_an_unknown_option_are_refused_before_anything_is_written(tmp_path, capsys):
    write_landing(tmp_path / "landing", DELIVERY)
    shutil.rmtree(tmp_path / "landing" / "vaph_support")
    assert "for feed vaph_support" in refused(capsys, tmp_path, "nightly", "--as-of", "2026-11-20")
    line = refused(capsys, tmp_path, "nightly", "--as-of", "2026-11-20", "--accept-quarantine", "belrai")
    assert line.startswith("vsb nightly: error: --accept-quarantine names no feed: belrai; give one of members,")


def many(feed: str, n: int, **changes) -> list[dict]:
    """`n` rows of `feed` (their keys made unique), each with `changes`."""
    base = valid_rows()[feed][0]
    key = {"belrai_screeners": "assessment_id", "members": "insz"}[feed]
    return [base | {key: f"{base[key][:-4]}{i:04d}"} | changes for i in range(n)]


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_refused_during_ingest_on_a_new_state_leaves_no_state_and_no_lock_file(tmp_path, capsys):
    """max_quarantine_fraction, judged once the rows are read: a first run refused there leaves nothing."""
    write_landing(tmp_path / "landing", DELIVERY, {"belrai_screeners": many("belrai_screeners", 120, total_score=1e12)})
    line = refused(capsys, tmp_path, "nightly", "--as-of", "2026-11-20")
    assert line == (
        "vsb nightly: error: feed belrai_screeners: 120 of 120 rows of delivery 2026-11-01 quarantined (R-RANGE 120), "
        "above 50% (max_quarantine_fraction): ask the data provider for a corrected delivery, or pass "
        "--accept-quarantine belrai_screeners if the rows are rightly quarantined"
    )


# --- 7. feed-level checks -----------------------------------------------------------------------------


def test_a_feed_more_than_half_quarantined_passes_only_with_accept_quarantine(tmp_path):
    from flows.ingest import ingest

    write_landing(tmp_path, DELIVERY, {"belrai_screeners": many("belrai_screeners", 120, total_score=31.0)})
    with pytest.raises(FeedError, match="120 of 120 rows .* quarantined \\(R-RANGE 120\\), above 50%"):
        ingest(context_at(tmp_path, D(2026, 11, 20)))
    from flows.context import Options, start

    options = Options(accept_quarantine=frozenset({"belrai_screeners"}))
    ctx = start("nightly", D(2026, 11, 20), tmp_path, tmp_path / "out", tmp_path / "s.duckdb", options)
    warnings = ingest(ctx).warnings
    assert any(w.endswith("(max_quarantine_fraction) (accepted with --accept-quarantine)") for w in warnings)


def test_a_column_emptied_since_the_previous_delivery_fails_unless_accept_shrink(tmp_path):
    """issue 20: a death_date column delivered all null paid the dead."""
    dead = many("members", 150, death_date=D(2026, 5, 1))
    write_landing(tmp_path, D(2026, 10, 1), {"members": dead})
    write_landing(tmp_path, DELIVERY, {"members": [r | {"death_date": None} for r in dead]})
    with pytest.raises(FeedError) as refusal:
        context_at(tmp_path, D(2026, 11, 20))
    assert str(refusal.value) == (
        "feed members: column death_date of delivery 2026-11-01 has 0 values, below 0.9 of the previous delivery "
        "2026-10-01 (150 values); ask the data provider for the full column, or pass --accept-shrink members"
    )
    accepted = context_at(tmp_path, D(2026, 11, 20), accept_shrink=("members",)).warnings
    assert any("column death_date" in w and w.endswith("(accepted with --accept-shrink)") for w in accepted)
    # a column with fewer than 100 values before is not judged
    write_landing(tmp_path, D(2026, 10, 1), {"members": dead[:99]})
    write_landing(tmp_path, DELIVERY, {"members": [r | {"death_date": None} for r in dead[:99]]})
    assert context_at(tmp_path, D(2026, 11, 20)).warnings == ()


def test_a_file_sent_twice_fails_naming_both_files(tmp_path):
    write_landing(tmp_path, DELIVERY)
    first = tmp_path / "vaph_support" / "delivery_date=2026-11-01" / "part-00000.parquet"
    second = shutil.copyfile(first, first.with_name("part-00001.parquet"))
    with pytest.raises(FeedError, match=f"feed vaph_support: the files {first}, {second} have the same content") as e:
        context_at(tmp_path, D(2026, 11, 20))
    assert with_advice(e.value, str(e.value)) == str(e.value)  # says what to do once


def test_a_delivery_holding_the_previous_rows_twice_fails_naming_its_files(tmp_path):
    rows = many("belrai_screeners", 3)
    write_landing(tmp_path, D(2026, 10, 1), {"belrai_screeners": rows})
    write_landing(tmp_path, DELIVERY, {"belrai_screeners": rows[1:] + rows + rows[:1]})
    files = tmp_path / "belrai_screeners" / "delivery_date=2026-11-01" / "part-00000.parquet"
    with pytest.raises(FeedError) as refusal:
        context_at(tmp_path, D(2026, 11, 20))
    assert str(refusal.value).startswith(
        f"feed belrai_screeners: delivery 2026-11-01 ({files}) holds the rows of the previous delivery 2026-10-01 twice: "
        "ask the data provider for a corrected delivery (or remove the copy from the delivery folder), then run again"
    )
    write_landing(tmp_path, DELIVERY, {"belrai_screeners": rows + many("belrai_screeners", 3, total_score=15.0)})
    context_at(tmp_path, D(2026, 11, 20))  # twice as many rows, but new ones: fine


# --- 10. messages -------------------------------------------------------------------------------------


def test_a_killed_letter_worker_names_the_letters_step():
    from concurrent.futures.process import BrokenProcessPool

    exc = BrokenProcessPool("A process in the process pool was terminated abruptly")
    assert with_advice(exc, str(exc)).startswith("the letters step failed: a letter worker process ended abruptly")


def test_the_date_order_refusal_says_what_to_run(tmp_path):
    from flows.publication.protocol import RunOrderError, check_order
    from flows.state.state import State

    with State.open(tmp_path / "vsb.duckdb", "nightly", "2026-11-26") as state:
        state.record_run_row("nightly", "2026-11-27", "nightly/2026-11-27", "x", D(2026, 11, 27), False)
        with pytest.raises(RunOrderError) as refusal:
            check_order(state, D(2026, 11, 26), D(2026, 11, 26))
    reason = str(refusal.value)
    assert with_advice(refusal.value, reason) == reason  # no "run again with --debug"
    assert reason.endswith(
        ": run a date from 2026-11-27 on (nights run in date order; only a date already run can be run again)"
    )


def test_a_full_outbox_while_letters_are_written_names_the_file(tmp_path, monkeypatch):
    import errno

    from flows.io import letters
    from flows.publication.folder import OutboxError

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OutboxError, match=f"no space left on device writing {tmp_path / '0001.pdf'}: free space"):
        with letters.writing(tmp_path / "0001.pdf"):
            (tmp_path / "0001.pdf").write_bytes(b"%PDF")
