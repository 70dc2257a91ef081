"""What an operator sees when a run fails through something they can change (docs/spec/outputs.md, Command line): each
failure, end to end in a real `vsb` process, prints exactly one line on stderr that names what failed and
what to do, exits non-zero, and shows no Python traceback and no Prefect log line unless --debug.

The run commands talk to the test's Prefect server (PREFECT_API_URL), as an operator's do to theirs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.helpers.builders import INSZ_2000, frame, valid_rows, write_delivery, write_landing

D = dt.date
VSB = [sys.executable, "-m", "flows.cli"]
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def vsb(tmp: Path, *args: str, folders: bool = True) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    if folders:
        args = (*args, "--landing", str(tmp / "landing"), "--outbox", str(tmp / "out"), "--state", str(tmp / "s.db"))
    return subprocess.run(
        [*VSB, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL
    )


def nightly(tmp: Path, day: str, *more: str) -> subprocess.CompletedProcess:
    return vsb(tmp, "nightly", "--as-of", day, "--allow-future-date", *more)  # whatever the machine's clock


# --- the situations: each prepares tmp and returns the failing command's result ---------------------------


def missing_landing(tmp):
    return nightly(tmp, "2026-11-20")


def empty_landing(tmp):
    (tmp / "landing").mkdir()
    return nightly(tmp, "2026-11-20")


def no_delivery_on_or_before(tmp):
    write_landing(tmp / "landing", D(2026, 11, 1))
    return nightly(tmp, "2026-10-31")


def missing_feed(tmp):
    write_landing(tmp / "landing", D(2026, 11, 1))
    shutil.rmtree(tmp / "landing" / "vaph_support")
    return nightly(tmp, "2026-11-20")


def missing_column(tmp):
    landing = write_landing(tmp / "landing", D(2026, 11, 1))
    write_delivery(
        landing, "medsoc_scales", D(2026, 11, 1), frame("medsoc_scales", valid_rows()["medsoc_scales"]).drop("pillar_2")
    )
    return nightly(tmp, "2026-11-20")


def wrong_type(tmp):
    landing = write_landing(tmp / "landing", D(2026, 11, 1))
    bad = frame("premium_payments", valid_rows()["premium_payments"]).with_columns(pl.col("amount_due").cast(pl.String))
    write_delivery(landing, "premium_payments", D(2026, 11, 1), bad)
    return nightly(tmp, "2026-11-20")


def shrunk_delivery(tmp):
    landing = write_landing(tmp / "landing", D(2026, 10, 1))
    members = valid_rows()["members"]
    more = members + [members[0] | {"insz": INSZ_2000, "birth_date": D(2000, 12, 5)}]
    write_delivery(landing, "members", D(2026, 10, 1), more)
    write_landing(landing, D(2026, 11, 1))  # one member of two: below min_rows_ratio
    return nightly(tmp, "2026-11-20")


def mass_change(tmp):
    landing = write_landing(tmp / "landing", D(2026, 11, 1))
    assert nightly(tmp, "2026-11-20").returncode == 0
    member = valid_rows()["members"][0] | {"affiliation_end": D(2026, 10, 31)}  # both grants stop: 100%
    write_delivery(landing, "members", D(2026, 11, 2), [member])
    return nightly(tmp, "2026-11-21")


def rerun_with_another_result(tmp):
    landing = write_landing(tmp / "landing", D(2026, 11, 1))
    assert nightly(tmp, "2026-11-20").returncode == 0
    members = valid_rows()["members"]
    write_delivery(landing, "members", D(2026, 11, 1), [members[0] | {"domicile_region": "WAL"}])
    return nightly(tmp, "2026-11-20")


def explain_a_non_member(tmp):
    write_landing(tmp / "landing", D(2026, 11, 1))
    return vsb(tmp, "explain", INSZ_2000, "--as-of", "2026-11-20", "--landing", str(tmp / "landing"), folders=False)


def explain_a_wrong_number(tmp):
    write_landing(tmp / "landing", D(2026, 11, 1))
    return vsb(tmp, "explain", "12345678901", "--as-of", "2026-11-20", "--landing", str(tmp / "landing"), folders=False)


def invoices_of_a_year_without_its_amount(tmp):
    write_landing(tmp / "landing", D(2025, 1, 1))
    return vsb(tmp, "invoices", "--year", "2025", "--as-of", "2025-01-02")


def not_a_date(tmp):
    return vsb(tmp, "nightly", "--as-of", "2026-13-01")


def generate_into_a_full_folder(tmp):
    (tmp / "landing").mkdir()
    (tmp / "landing" / "keep.txt").write_text("mine")
    return vsb(tmp, "generate", "--members", "10", "--out", str(tmp / "landing"), folders=False)


def serve_without_folders(tmp):
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("VSB_")}
    return subprocess.run([*VSB, "serve"], capture_output=True, text=True, env=env_free, cwd=ROOT, timeout=120)


# name, situation, what the line must say (what failed ... what to do), exit code
CASES = [
    ("missing landing folder",       missing_landing,            r"the landing zone .*landing does not exist: give the run its --landing", 1),
    ("empty landing folder",         empty_landing,              r"holds no delivery of any feed .*: give the run its --landing", 1),
    ("no delivery on or before D",   no_delivery_on_or_before,   r"no delivery on or before 2026-10-31 .* for every feed: the first is of 2026-11-01: run a later date", 1),
    ("a feed missing",               missing_feed,               r"no delivery on or before 2026-11-20 .* for feed vaph_support: add the missing deliveries", 1),
    ("a column missing",             missing_column,             r"feed medsoc_scales, file .*: missing column pillar_2: .*corrected delivery", 1),
    ("a column of the wrong type",   wrong_type,                 r"column amount_due has type .*, the contract says float: .*corrected delivery", 1),
    ("a shrunk delivery",            shrunk_delivery,            r"feed members: delivery 2026-11-01 has 1 rows, below 0.9 .*; pass --accept-shrink members if", 1),
    ("S-MASS-CHANGE",                mass_change,                r"S-MASS-CHANGE: this run would stop 2 of 2 active grants .*pass --accept-mass-change if", 1),
    ("a rerun with another result",  rerun_with_another_result,  r"nightly 2026-11-20 is already published .* different result; pass --replace", 1),
    ("explain: not a member",        explain_a_non_member,       r"not a member in the members delivery 2026-11-01 used for 2026-11-20: check the number and the date", 1),
    ("explain: not an insz",         explain_a_wrong_number,     r"not a valid national or BIS number \(R-ID\): check its 11 digits", 1),
    ("a year without its premium",   invoices_of_a_year_without_its_amount, r"premium_reduced .*2025.*: add it to data/reference/parameters.yaml", 1),
    ("not a date",                   not_a_date,                 r"argument --as-of: not a date \(YYYY-MM-DD\): 2026-13-01 \(vsb nightly --help\)", 2),
    ("generate into a full folder",  generate_into_a_full_folder, r"is not empty: choose an empty folder, or pass --force", 1),
    ("serve without folders",        serve_without_folders,      r"vsb serve needs its folders: give --landing \(or VSB_LANDING\), --outbox", 1),
]  # fmt: skip


@pytest.mark.parametrize("name, situation, says, code", CASES, ids=[c[0] for c in CASES])
def test_a_failure_is_one_line_naming_what_failed_and_what_to_do(tmp_path, name, situation, says, code):
    done = situation(tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1, done.stderr
    assert re.search(says, lines[0]), lines[0]
    assert lines[0].startswith("vsb ") and "error:" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout and "ERROR" not in done.stderr + done.stdout


def test_debug_shows_the_traceback(tmp_path):
    done = nightly(tmp_path, "2026-11-20", "--debug")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and done.stderr.strip().splitlines()[-1].startswith("vsb nightly: error:")
