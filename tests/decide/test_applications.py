"""Applications and decisions by hand on the work list, docs/spec/rules.md §10: M-APPLICATION,
W-APPLICATION-OPEN, W-APPLICATION-OVERDUE, the requests to apply (W-APPLY-SPECIAL, W-APPLY-FACILITY) of persons who applied, W-MANUAL-CONFLICT.

Run date D = 2026-11-20; application_decision_days 90: received on D - 90 (2026-08-22) is due on D.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.decide.applications import (
    m_application,
    w_application_open,
    w_application_overdue,
    w_manual_conflict,
    without_applied,
)
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.timeline import window_months
from tests.helpers.builders import INSZ_1985, INSZ_2000, frame
from tests.helpers.cases import application, by_hand, case, cases_frame, decision, granted
from tests.helpers.decide import RUN, cases, member, params, vaph

D = dt.date
DAY = dt.timedelta(days=1)
P = params(RUN)
MEMBERS = frame("members", [member(), member(insz=INSZ_2000, zorgkas="ZK200")]).lazy()


def open_applications(rows: list[dict], run_date: dt.date = RUN) -> list[tuple]:
    got = m_application(cases_frame(rows), P, run_date).collect().sort("record_id")
    return [(r["record_id"], r["received_date"], r["due"]) for r in got.iter_rows(named=True)]


# --- M-APPLICATION ---------------------------------------------------------------------------------------------

RECEIVED = D(2026, 9, 1)
DUE = D(2026, 11, 30)  # 2026-09-01 + 90 days

# fmt: off
OPEN = [
    # name                                                                 rows                                                                               open (record, received, due)
    ("M-APPLICATION an application without decision is open",              [application("A1", RECEIVED)],                                                      [("A1", RECEIVED, DUE)]),
    ("M-APPLICATION a GRANT referring to it closes it",                    [application("A1", RECEIVED), decision("G1", "GRANT", D(2026, 10, 1), "A1", first_month=D(2026, 10, 1))], []),
    ("M-APPLICATION a REFUSAL referring to it closes it",                  [application("A1", RECEIVED), decision("R1", "REFUSAL", D(2026, 10, 1), "A1")],    []),
    ("M-APPLICATION a GRANT of another application leaves it open",        [application("A1", RECEIVED), application("A2", RECEIVED), decision("R1", "REFUSAL", D(2026, 10, 1), "A2")], [("A1", RECEIVED, DUE)]),
    ("M-APPLICATION a GRANT without reference closes nothing",             [application("A1", RECEIVED), decision("G1", "GRANT", D(2026, 10, 1), None, first_month=D(2026, 10, 1))], [("A1", RECEIVED, DUE)]),
    ("M-APPLICATION an END does not close an application",                 [application("A1", RECEIVED), decision("E1", "END", D(2026, 10, 1), "A1", first_month=D(2026, 10, 1))], [("A1", RECEIVED, DUE)]),
    ("M-APPLICATION a decision after D does not count yet",                [application("A1", RECEIVED), decision("R1", "REFUSAL", RUN + DAY, "A1")],          [("A1", RECEIVED, DUE)]),
    ("M-APPLICATION received after D: not yet open",                       [application("A1", RUN + DAY)],                                                     []),
    ("M-APPLICATION received on D: open, due in 90 days",                  [application("A1", RUN)],                                                           [("A1", RUN, RUN + 90 * DAY)]),
    ("M-APPLICATION an appeal is no application",                          [case("AP1", "APPEAL", received_date=RECEIVED, refers_to="L1")],                    []),
]
# fmt: on


@pytest.mark.parametrize("rows, expected", cases(OPEN))
def test_m_application_open_until_a_grant_or_refusal_refers_to_it(rows, expected):
    """M-APPLICATION: open from received_date until a GRANT or REFUSAL refers to it; due 90 days after receipt."""
    assert open_applications(rows) == expected


# --- W-APPLICATION-OPEN and W-APPLICATION-OVERDUE ----------------------------------------------------------------

# fmt: off
TERM = [
    # name                                                                  received            code                       due
    ("W-APPLICATION-OPEN received on D - 90: due on D, still open",         RUN - 90 * DAY,     "W-APPLICATION-OPEN",      RUN),
    ("W-APPLICATION-OVERDUE received on D - 91: the term ended yesterday",  RUN - 91 * DAY,     "W-APPLICATION-OVERDUE",   RUN - DAY),
    ("W-APPLICATION-OPEN received on D",                                    RUN,                "W-APPLICATION-OPEN",      RUN + 90 * DAY),
    ("W-APPLICATION-OVERDUE received a year ago",                           RUN - 365 * DAY,    "W-APPLICATION-OVERDUE",   RUN - 275 * DAY),
]
# fmt: on


def application_rows(rows: list[dict], run_date: dt.date = RUN) -> pl.DataFrame:
    found = m_application(cases_frame(rows), P, run_date)
    both = pl.concat([w_application_open(found, MEMBERS, run_date), w_application_overdue(found, MEMBERS, run_date)])
    return both.collect()


@pytest.mark.parametrize("received, code, due", cases(TERM))
def test_w_application_open_until_the_due_date_then_overdue(received, code, due):
    """W-APPLICATION-OPEN while D <= received_date + 90 days, W-APPLICATION-OVERDUE from the day after; both with
    since = received_date and the due date, one row (never both)."""
    got = application_rows([application("A1", received)])
    assert got.schema == pl.Schema(WORKLIST_COLUMNS)
    assert got.to_dicts() == [
        dict(
            insz=INSZ_1985,
            zorgkas="ZK100",
            code=code,
            since=received,
            detail=got["detail"][0],
            evidence=["case_decisions:A1"],
            due=due,
        )
    ]
    assert str(due) in got["detail"][0] and got["detail"][0].startswith("ZZB application")


def test_w_application_rows_only_for_members_and_with_their_zorgkas():
    rows = [
        application("A1", RUN - 10 * DAY, insz=INSZ_2000, budget="BOB"),
        application("A2", RUN - 10 * DAY, insz="11111111111"),  # not a member: no zorgkas to tell
    ]
    got = application_rows(rows)
    assert got.select("insz", "zorgkas", "code").rows() == [(INSZ_2000, "ZK200", "W-APPLICATION-OPEN")]
    assert got["detail"][0].startswith("BOB application")


def test_a_decided_application_leaves_the_work_list():
    rows = [application("A1", RUN - 100 * DAY), decision("R1", "REFUSAL", RUN - DAY, "A1")]
    assert application_rows(rows).height == 0


# --- the requests to apply (W-APPLY-SPECIAL, W-APPLY-FACILITY) of persons who applied ------------------------------------------------------------------------

SINCE = D(2026, 6, 1)


def apply_row(code: str = "W-APPLY-SPECIAL", since: dt.date = SINCE, insz: str = INSZ_1985) -> dict:
    return dict(
        insz=insz, zorgkas="ZK100", code=code, since=since, detail="", evidence=["facility_stays:FS1"], due=None
    )


# fmt: off
APPLIED = [
    # name                                                                           work rows                                     case rows                                                            granted by hand            listed codes
    ("M-APPLICATION no application: W-APPLY-SPECIAL stays",                          [apply_row()],                                [],                                                                  [],                        ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION an open application received after since: not listed",          [apply_row()],                                [application("A1", D(2026, 7, 1))],                                  [],                        []),
    ("M-APPLICATION an application received on since: not listed",                   [apply_row()],                                [application("A1", SINCE)],                                          [],                        []),
    ("M-APPLICATION an application decided (refused): not listed either",            [apply_row()],                                [application("A1", D(2026, 7, 1)), decision("R1", "REFUSAL", D(2026, 8, 1), "A1")], [], []),
    ("M-APPLICATION an application received the day before since: still listed",     [apply_row()],                                [application("A1", SINCE - DAY)],                                    [],                        ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION an application of the BOB does not count",                       [apply_row()],                                [application("A1", D(2026, 7, 1), budget="BOB")],                   [],                        ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION another person's application does not count",                    [apply_row()],                                [application("A1", D(2026, 7, 1), insz=INSZ_2000)],                 [],                        ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION an application received after D does not count yet",             [apply_row()],                                [application("A1", RUN + DAY)],                                      [],                        ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION W-APPLY-FACILITY likewise",                                      [apply_row("W-APPLY-FACILITY")],              [application("A1", D(2026, 7, 1))],                                  [],                        []),
    ("M-APPLICATION the month of D granted by hand: not listed",                     [apply_row()],                                [],                                                                  [by_hand(D(2026, 11, 1))], []),
    ("M-APPLICATION the month of D granted on appeal: not listed",                   [apply_row()],                                [],                                                                  [by_hand(D(2026, 11, 1), on_appeal=True)], []),
    ("M-APPLICATION only an earlier month granted by hand: still listed",            [apply_row()],                                [],                                                                  [by_hand(D(2026, 10, 1))], ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION the month of D granted for the BOB: still listed",               [apply_row()],                                [],                                                                  [by_hand(D(2026, 11, 1), budget="BOB")], ["W-APPLY-SPECIAL"]),
    ("M-APPLICATION other work-list codes are kept",                                 [apply_row("W-CHECK-RESIDENCE")],             [application("A1", D(2026, 7, 1))],                                  [by_hand(D(2026, 11, 1))], ["W-CHECK-RESIDENCE"]),
]
# fmt: on


@pytest.mark.parametrize("work, case_rows, hand, listed", cases(APPLIED))
def test_m_application_a_person_who_applied_is_not_asked_to_apply(work, case_rows, hand, listed):
    """M-APPLICATION: a person with an application of that budget received on or after the `since` of a W-APPLY
    row (open or decided), or whose month of D is granted by hand or on appeal, has applied: the row is not listed
    (and so no L-REQUEST is sent: the request letters are built from the work list)."""
    worklist = pl.LazyFrame(work, schema=WORKLIST_COLUMNS, orient="row")
    got = without_applied(worklist, cases_frame(case_rows), granted(hand), RUN).collect()
    assert got["code"].to_list() == listed


# --- W-MANUAL-CONFLICT --------------------------------------------------------------------------------------------

WINDOW = window_months(RUN, P.evaluation_window_months)
M = lambda y, m: D(y, m, 1)  # noqa: E731
PVB = vaph("V1", "PVB", D(2026, 5, 10))  # active from the first of June 2026
HAND = [by_hand(M(2026, m)) for m in range(3, 12)]  # March to November 2026, by hand (C2)

# fmt: off
CONFLICT = [
    # name                                                                            granted                                        vaph rows                                                          budget, since, codes
    ("W-MANUAL-CONFLICT a PVB that started later: since its first month",            HAND,                                          [PVB],                                                             [("ZZB", M(2026, 6), "X-VAPH-PVB")]),
    ("W-MANUAL-CONFLICT no exclusion: no row",                                       HAND,                                          [],                                                                []),
    ("W-MANUAL-CONFLICT months granted on appeal: no row",                           [by_hand(M(2026, 7), on_appeal=True)],         [PVB],                                                             []),
    ("W-MANUAL-CONFLICT the exclusion ended before the months granted: no row",      HAND,                                          [vaph("V1", "PVB", D(2025, 1, 1), D(2026, 2, 28))],                []),
    ("W-MANUAL-CONFLICT T-NRTH-2017 is the situation one applies for: no row",       HAND,                                          [vaph("V1", "NRTH", D(2016, 1, 1))],                               []),
    ("W-MANUAL-CONFLICT an NRTH after the transition: X-VAPH-NRTH",                  HAND,                                          [vaph("V1", "NRTH", D(2018, 1, 1))],                               [("ZZB", M(2026, 3), "X-VAPH-NRTH")]),
    ("W-MANUAL-CONFLICT MPI boarding",                                               HAND,                                          [vaph("V1", "MPI_BOARDING", D(2026, 9, 1))],                       [("ZZB", M(2026, 9), "X-MPI-BOARDING")]),
    ("W-MANUAL-CONFLICT a PAB of an adult excludes neither budget",                  HAND + [by_hand(M(2026, 8), budget="BOB")],    [vaph("V1", "PAB", D(2026, 1, 1))],                                []),
    ("W-MANUAL-CONFLICT a BOB granted by hand and a PVB: X-BOB-PVB",                 [by_hand(M(2026, 8), budget="BOB")],           [PVB],                                                             [("BOB", M(2026, 8), "X-BOB-PVB")]),
    ("W-MANUAL-CONFLICT a BOB by hand and an adult facility outside VL: no row",     [by_hand(M(2026, 8), budget="BOB")],           [vaph("V1", "ADULT_FACILITY_OUTSIDE_VL", D(2026, 1, 1))],          []),
    ("W-MANUAL-CONFLICT a month before the window: no row",                          [by_hand(M(2024, 11))],                        [vaph("V1", "PVB", D(2024, 1, 1), D(2024, 11, 30))],               []),
]
# fmt: on


def conflicts(hand: list[dict], vaph_rows: list[dict], member_rows=None) -> pl.DataFrame:
    members = frame("members", member_rows or [member()]).lazy()
    vaph_frame = frame("vaph_support", vaph_rows).lazy()
    return w_manual_conflict(granted(hand), members, vaph_frame, P, WINDOW).collect()


@pytest.mark.parametrize("hand, vaph_rows, expected", cases(CONFLICT))
def test_w_manual_conflict_a_month_granted_by_hand_under_a_vaph_or_mpi_exclusion(hand, vaph_rows, expected):
    """W-MANUAL-CONFLICT: a month of the window granted by hand (not on appeal) in which a VAPH or MPI exclusion
    holds (not X-SPECIAL-STAY, not T-NRTH-2017); since = the first such month."""
    got = conflicts(hand, vaph_rows)
    assert [(r["budget"], r["since"], r["code"]) for r in _with_budget(got)] == [
        (b, s, "W-MANUAL-CONFLICT") for b, s, _ in expected
    ]
    for (_, _, code), detail in zip(expected, got["detail"], strict=True):
        assert code in detail


def _with_budget(got: pl.DataFrame) -> list[dict]:
    return got.with_columns(pl.col("detail").str.slice(0, 3).alias("budget")).sort("budget").to_dicts()


def test_w_manual_conflict_evidence_names_the_case_record_and_the_exclusion():
    got = conflicts([by_hand(M(2026, 6), "C2"), by_hand(M(2026, 7), "C3")], [PVB])
    assert got.select("insz", "zorgkas", "code", "since", "evidence", "due").to_dicts() == [
        dict(
            insz=INSZ_1985,
            zorgkas="ZK100",
            code="W-MANUAL-CONFLICT",
            since=M(2026, 6),
            evidence=["case_decisions:C2", "case_decisions:C3", "vaph_support:V1"],
            due=None,
        )
    ]


def test_w_manual_conflict_only_months_that_are_entitled():
    """A month after the member's death is not entitled (E-ALIVE cuts a grant by hand): no conflict to check."""
    died = member(death_date=D(2026, 5, 20))
    assert conflicts(HAND, [PVB], [died]).height == 0


def test_w_manual_conflict_a_minor_with_a_pab():
    child = member(birth_date=D(2012, 3, 3))
    got = conflicts(HAND, [vaph("V1", "PAB", D(2026, 4, 1))], [child])
    assert got["since"].to_list() == [M(2026, 4)] and "X-VAPH-PAB" in got["detail"][0]
