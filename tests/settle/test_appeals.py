"""Appeals, docs/spec/rules.md §10: M-APPEAL-SUSPENDS and W-APPEAL-OPEN, over several nights.

The member (INSZ_1985, ZK100) died in July 2026, reported late: August to October 2026 were paid and are
recoverable on the payment run of 2026-11-26 (tests/helpers/settle.py DIED, PAID_THROUGH_OCTOBER). The member
appealed (the recovery letter, or the stop) on 2026-11-10.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.settle.appeals import m_appeal_suspends, open_appeals, w_appeal_open
from tests.helpers.builders import INSZ_2000
from tests.helpers.cases import appeal, cases_frame, decision
from tests.helpers.decide import cases
from tests.helpers.settle import (
    DIED,
    MONTH_OF_RUN,
    PAID_THROUGH_OCTOBER,
    RUN,
    M,
    absence,
    g,
    paid,
    period,
    previous,
    quarantined,
    run,
    worklist,
)

D = dt.date
APPEALED = D(2026, 11, 10)
APPEAL = appeal("AP1", APPEALED, refers_to="ZK100-2026-000017")
RECOVERABLE = [M(2026, 8), M(2026, 9), M(2026, 10)]
BEFORE = previous([g(M(2025, 1))], PAID_THROUGH_OCTOBER)
DECEMBER_RUN = D(2026, 12, 28)
# the next payment run: dead since July, decided through December
DIED_DECEMBER = [period(M(2025, 1), M(2026, 7)), period(M(2026, 8), M(2026, 12), False, fails=["E-ALIVE"])]


def recovered(settled) -> list[tuple]:
    return settled.recoveries.select("budget", "month").rows()


# --- open appeals ----------------------------------------------------------------------------------------------

# fmt: off
OPEN = [
    # name                                                                         rows                                                                            open
    ("M-APPEAL-SUSPENDS an appeal without outcome is open",                         [APPEAL],                                                                        ["AP1"]),
    ("M-APPEAL-SUSPENDS an APPEAL_REFUSAL referring to it closes it",              [APPEAL, decision("AR1", "APPEAL_REFUSAL", D(2026, 11, 15), "AP1")],            []),
    ("M-APPEAL-SUSPENDS an APPEAL_GRANT referring to it closes it",                [APPEAL, decision("AG1", "APPEAL_GRANT", D(2026, 11, 15), "AP1", first_month=M(2026, 8))], []),
    ("M-APPEAL-SUSPENDS an outcome of another appeal leaves it open",              [APPEAL, appeal("AP2", APPEALED), decision("AR1", "APPEAL_REFUSAL", D(2026, 11, 15), "AP2")], ["AP1"]),
    ("M-APPEAL-SUSPENDS an outcome after D does not count yet",                    [APPEAL, decision("AR1", "APPEAL_REFUSAL", RUN + dt.timedelta(days=1), "AP1")], ["AP1"]),
    ("M-APPEAL-SUSPENDS received after D: not yet open",                           [appeal("AP1", RUN + dt.timedelta(days=1))],                                     []),
    ("M-APPEAL-SUSPENDS a zorgkas REFUSAL does not close an appeal",               [APPEAL, decision("R1", "REFUSAL", D(2026, 11, 15), "AP1")],                     ["AP1"]),
]
# fmt: on


@pytest.mark.parametrize("rows, expected", cases(OPEN))
def test_an_appeal_is_open_until_an_appeal_grant_or_refusal_refers_to_it(rows, expected):
    assert open_appeals(cases_frame(rows), RUN).collect()["record_id"].to_list() == expected


# --- M-APPEAL-SUSPENDS on one payment run ------------------------------------------------------------------------

# fmt: off
SUSPENDS = [
    # name                                                                          case rows                                                                  recovered                           W-APPEAL-OPEN
    ("M-APPEAL-SUSPENDS no appeal: the months are recovered",                        [],                                                                        [("ZZB", m) for m in RECOVERABLE],  0),
    ("M-APPEAL-SUSPENDS an open appeal of the ZZB: nothing recovered",               [APPEAL],                                                                  [],                                 1),
    ("M-APPEAL-SUSPENDS an appeal of the BOB: the ZZB is recovered",                 [appeal("AP1", APPEALED, budget="BOB")],                                   [("ZZB", m) for m in RECOVERABLE],  1),
    ("M-APPEAL-SUSPENDS another person's appeal: recovered",                         [appeal("AP1", APPEALED, insz=INSZ_2000)],                                 [("ZZB", m) for m in RECOVERABLE],  0),
    ("M-APPEAL-SUSPENDS an appeal refused before D: recovered",                      [APPEAL, decision("AR1", "APPEAL_REFUSAL", D(2026, 11, 20), "AP1")],       [("ZZB", m) for m in RECOVERABLE],  0),
]
# fmt: on


@pytest.mark.parametrize("case_rows, expected, listed", cases(SUSPENDS))
def test_m_appeal_suspends_no_recovery_of_the_budget_while_an_appeal_is_open(case_rows, expected, listed):
    """M-APPEAL-SUSPENDS: while an open appeal of a person and budget exists on D, no recovery of that person and
    budget is listed; W-APPEAL-OPEN since the day the appeal was received."""
    settled = run(DIED, before=BEFORE, case_rows=case_rows)
    assert recovered(settled) == expected
    appeals = worklist(settled, "W-APPEAL-OPEN")
    assert [a["since"] for a in appeals] == [APPEALED] * listed


def test_m_appeal_suspends_an_absence_budget_waits_on_an_appeal_of_the_zzb():
    """Local decision: an absence budget (ZZB-ABSENCE) is a ZZB paid for a school year; its recovery waits too."""
    before = previous([g(M(2025, 1))], [paid(D(2025, 8, 31), "ZZB-ABSENCE", "280.00")])
    rows = [period(M(2025, 1), MONTH_OF_RUN)]
    not_due = absence(due=False, fails=["E-ALIVE"])
    assert recovered(run(rows, before=before, absence_rows=[not_due])) == [("ZZB-ABSENCE", D(2025, 8, 31))]
    assert recovered(run(rows, before=before, absence_rows=[not_due], case_rows=[APPEAL])) == []


def test_m_appeal_suspends_the_function_keeps_other_budgets_and_persons():
    recoverable = pl.LazyFrame(
        {
            "insz": [APPEAL["insz"], APPEAL["insz"], INSZ_2000],
            "budget": ["ZZB", "BOB", "ZZB"],
            "month": [M(2026, 8)] * 3,
        }
    )
    kept = m_appeal_suspends(recoverable, cases_frame([APPEAL]), RUN).collect()
    assert kept.rows() == [(APPEAL["insz"], "BOB", M(2026, 8)), (INSZ_2000, "ZZB", M(2026, 8))]


# --- over several nights ----------------------------------------------------------------------------------------


def nights(outcome: list[dict], december_rows=DIED_DECEMBER) -> tuple:
    """The payment run of November with the appeal open, a night in between, and the payment run of December after
    the agency's `outcome` (decided 2026-12-10), each against the state the earlier nights left."""
    november = run(DIED, before=BEFORE, case_rows=[APPEAL])
    ledger = PAID_THROUGH_OCTOBER + [paid(r["month"], paid_on=RUN) for r in november.payments.iter_rows(named=True)]
    recovered_before = [(r["insz"], r["budget"], r["month"]) for r in november.recoveries.iter_rows(named=True)]
    between = run(
        DIED_DECEMBER,
        run_date=D(2026, 12, 5),
        before=previous(november.grants.to_dicts(), ledger, recovered_before),
        case_rows=[APPEAL],
        payment_run=False,
    )
    december = run(
        december_rows,
        run_date=DECEMBER_RUN,
        before=previous(november.grants.to_dicts(), ledger, recovered_before),
        case_rows=[APPEAL, *outcome],
    )
    return november, between, december


def test_m_appeal_suspends_the_months_come_back_after_an_appeal_refusal():
    """Over three nights: nothing recovered while the appeal is open (the months stay owed, not forgotten); the
    payment run after the APPEAL_REFUSAL lists every one of them, with its reason."""
    november, between, december = nights([decision("AR1", "APPEAL_REFUSAL", D(2026, 12, 10), "AP1")])
    assert recovered(november) == [] and november.payments.height == 0
    assert [a["since"] for a in worklist(november, "W-APPEAL-OPEN")] == [APPEALED]
    assert [a["since"] for a in worklist(between, "W-APPEAL-OPEN")] == [APPEALED]
    assert recovered(december) == [("ZZB", m) for m in RECOVERABLE]
    assert december.recoveries["reason"].to_list() == [["E-ALIVE"]] * 3
    assert worklist(december, "W-APPEAL-OPEN") == []


def test_m_appeal_suspends_months_granted_on_appeal_are_no_longer_recovered():
    """The APPEAL_GRANT grants August to October again (M-APPEAL, M-ENTITLED: entitled months): none is recovered
    on the next payment run, and nothing is paid twice."""
    granted_again = [period(M(2025, 1), M(2026, 10)), period(M(2026, 11), M(2026, 12), False, fails=["E-ALIVE"])]
    outcome = [decision("AG1", "APPEAL_GRANT", D(2026, 12, 10), "AP1", first_month=M(2026, 8), last_month=M(2026, 10))]
    _, _, december = nights(outcome, granted_again)
    assert recovered(december) == [] and december.payments.height == 0
    assert worklist(december, "W-APPEAL-OPEN") == []


def test_w_appeal_open_one_row_per_open_appeal_of_a_member():
    members = pl.LazyFrame({"insz": [APPEAL["insz"], INSZ_2000], "zorgkas": ["ZK100", "ZK200"]})
    rows = [APPEAL, appeal("AP2", D(2026, 11, 12), budget="BOB", insz=INSZ_2000), appeal("AP3", APPEALED, insz="1")]
    got = w_appeal_open(cases_frame(rows), members, RUN).collect().sort("since")
    assert got.select("insz", "zorgkas", "code", "since", "evidence", "due").rows() == [
        (APPEAL["insz"], "ZK100", "W-APPEAL-OPEN", APPEALED, ["case_decisions:AP1"], None),
        (INSZ_2000, "ZK200", "W-APPEAL-OPEN", D(2026, 11, 12), ["case_decisions:AP2"], None),
    ]
    assert got["detail"].to_list()[1].startswith("BOB appeal received 2026-11-12")


def test_w_appeal_open_a_held_person_gets_only_w_held():
    settled = run(DIED, before=BEFORE, case_rows=[APPEAL], quarantines={"vaph_support": quarantined("vaph_support")})
    assert settled.worklist["code"].to_list() == ["W-HELD"]
