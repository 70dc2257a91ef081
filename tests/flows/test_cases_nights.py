"""Section 10 over real nights (docs/spec/rules.md §10, M-APPEAL-SUSPENDS, M-APPLICATION): the case_decisions feed
read by the nightly flow, recoveries under appeal held back and listed after the agency's refusal, the work list's
application rows with their due date.

Two members (tests/helpers/runs.py): the builder's member (ZK100, a ZZB and a BOB) dies on 2026-08-15, reported in
the delivery of 2026-11-01; September and October were paid on 2026-10-26 and are recoverable on 2026-11-26.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from flows.state.store import connect
from tests.helpers.builders import INSZ_1985, valid_rows
from tests.helpers.cases import appeal, application, decision
from tests.helpers.runs import nightly, two_members

D = dt.date
DIED = dict(death_date=D(2026, 8, 15))
APPEAL = appeal("AP1", D(2026, 10, 30), refers_to="ZK100-2026-000001")


def landing_over_nights(tmp_path: Path) -> Path:
    """Deliveries of 2026-10-01 (alive, no case), 2026-11-01 (the death, an appeal of the ZZB, an application
    received 2026-08-01) and 2026-12-01 (the agency refuses the appeal)."""
    landing = tmp_path / "landing"
    two_members(landing, D(2026, 10, 1))
    members = valid_rows()["members"]
    dead = [members[0] | DIED]
    second = _second_member(landing)
    cases_nov = [APPEAL, application("A1", D(2026, 8, 1))]
    two_members(landing, D(2026, 11, 1), members=dead + second, case_decisions=cases_nov)
    refused = decision("AR1", "APPEAL_REFUSAL", D(2026, 11, 20), "AP1")
    two_members(landing, D(2026, 12, 1), members=dead + second, case_decisions=[*cases_nov, refused])
    return landing


def _second_member(landing: Path) -> list[dict]:
    """The second member's row as two_members writes it."""
    found = pl.read_parquet(landing / "members" / "delivery_date=2026-10-01" / "*.parquet")
    return found.filter(pl.col("insz") != INSZ_1985).to_dicts()


def recovered(tmp: Path) -> list[tuple]:
    con = connect(str(tmp / "state" / "vsb.duckdb"), read_only=True)
    try:
        return con.sql("SELECT budget, month, listed_on FROM recovery_ledger ORDER BY ALL").fetchall()
    finally:
        con.close()


def worklist(tmp: Path, day: str) -> pl.DataFrame:
    return pl.read_parquet(tmp / "out" / "nightly" / day / "ZK100" / "worklist.parquet")


@pytest.fixture(scope="module")
def first_night(tmp_path_factory, prefect_harness) -> Path:
    """landing_over_nights and its night of 2026-10-26 (the go-live payment night), run once for the tests that
    start there: each copies it (`after_first_night`)."""
    work = tmp_path_factory.mktemp("cases-first-night")
    nightly(work, landing_over_nights(work), D(2026, 10, 26), accept_mass_change=True)
    return work


def after_first_night(first_night: Path, tmp: Path) -> Path:
    for name in ("landing", "out", "state"):
        shutil.copytree(first_night / name, tmp / name, symlinks=True)
    return tmp / "landing"


def test_recoveries_under_appeal_wait_and_come_back_after_the_refusal(tmp_path, first_night):
    landing = after_first_night(first_night, tmp_path)
    for day in (D(2026, 11, 26), D(2026, 12, 5), D(2026, 12, 28)):
        nightly(tmp_path, landing, day, accept_mass_change=True)
    listed = recovered(tmp_path)
    months = [D(2026, 9, 1), D(2026, 10, 1)]
    # the BOB has no appeal: recovered on the payment run of November; the ZZB waits for the agency
    assert [(b, m) for b, m, on in listed if on == D(2026, 11, 26)] == [("BOB", m) for m in months]
    assert [(b, m) for b, m, on in listed if on == D(2026, 12, 28)] == [("ZZB", m) for m in months]
    november = worklist(tmp_path, "2026-11-26")
    appeals = november.filter(pl.col("code") == "W-APPEAL-OPEN")
    assert appeals.select("insz", "since", "evidence").rows() == [(INSZ_1985, D(2026, 10, 30), ["case_decisions:AP1"])]
    assert worklist(tmp_path, "2026-12-28").filter(pl.col("code") == "W-APPEAL-OPEN").height == 0


def test_an_open_application_is_on_the_work_list_with_its_due_date_then_overdue(tmp_path, first_night):
    landing = after_first_night(first_night, tmp_path)
    nightly(tmp_path, landing, D(2026, 10, 30), accept_mass_change=True)  # received 2026-08-01 + 90 = 2026-10-30
    nightly(tmp_path, landing, D(2026, 11, 2), accept_mass_change=True)
    due = D(2026, 10, 30)
    # the application is in the delivery of 2026-11-01: not known on 2026-10-30
    assert worklist(tmp_path, "2026-10-30").filter(pl.col("code").str.starts_with("W-APPLICATION")).height == 0
    rows = worklist(tmp_path, "2026-11-02").filter(pl.col("code").str.starts_with("W-APPLICATION"))
    assert rows.select("code", "since", "due").rows() == [("W-APPLICATION-OVERDUE", D(2026, 8, 1), due)]
    assert rows["title_nl"][0] and rows["title_fr"][0]
    # overview.xlsx: the same row with its due date, as a date, under the zorgkas's header
    book = openpyxl.load_workbook(tmp_path / "out" / "nightly" / "2026-11-02" / "ZK100" / "overview.xlsx")
    cells = next(
        rows for rows in (list(s.iter_rows(values_only=True)) for s in book.worksheets) if "Uiterlijk" in rows[0]
    )
    column = cells[0].index("Uiterlijk")
    overdue = [r for r in cells if "W-APPLICATION-OVERDUE" in r]
    assert [r[column] for r in overdue] == [dt.datetime(2026, 10, 30)]


def test_a_grant_by_hand_gets_a_decision_letter_naming_the_zorgkas_decision(tmp_path):
    """L-DECISION for decisions by hand: the NEW grant of a member whose months the zorgkas granted by hand (over
    the automatic ones: one grant, paid once) names the decision and the application."""
    from tests.emit.test_letters import pdf_pages

    landing = tmp_path / "landing"
    cases = [application("A1", D(2026, 7, 1)), decision("C1", "GRANT", D(2026, 9, 15), "A1", first_month=D(2025, 1, 1))]
    two_members(landing, D(2026, 10, 1), case_decisions=cases)
    nightly(tmp_path, landing, D(2026, 10, 26))
    folder = tmp_path / "out" / "nightly" / "2026-10-26" / "ZK100"
    letters = pl.read_parquet(folder / "letters.parquet").filter(
        (pl.col("insz") == INSZ_1985) & (pl.col("kind") == "L-DECISION") & pl.col("subject").str.starts_with("ZZB")
    )
    assert letters.height == 1
    row = letters.row(0, named=True)
    pages = pdf_pages(folder / row["file"])
    text = " ".join(pages[row["first_page"] - 1 : row["first_page"] - 1 + row["pages"]])
    assert "Uw zorgkas besliste op 15 september 2026 over uw aanvraag van 1 juli 2026." in text
    assert "Niet akkoord?" in text  # a zorgkas decision keeps the appeal route
    work = worklist(tmp_path, "2026-10-26")
    assert work.filter(pl.col("code").str.starts_with("W-APPLICATION")).height == 0  # granted: not open
