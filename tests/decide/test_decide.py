"""D-DECISION, docs/spec/rules.md §8: every month of the evaluation window, per member and budget, with the codes that
hold and fail, the records behind them and the monthly amount in force on the month's first day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from pipelines.decide.decisions import Feeds, decide
from pipelines.timeline import add_months
from tests.helpers.decide import (
    FEED_NAMES,
    RUN,
    amounts,
    cases,
    lazy,
    member,
    money,
    params,
    residence,
    run,
    scale,
    screener,
    standing_ground,
    stay,
    support_need,
    vaph,
    ztk,
)

D = dt.date
CONDITIONS = ["E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]
WINDOW = [add_months(D(2024, 12, 1), i) for i in range(24)]  # the window of RUN (2026-11-20)


# --- The window ------------------------------------------------------------------------------------

# fmt: off
WINDOWS = [
    # name                                                                     situation                                                                 ZZB entitled  BOB entitled
    ("D-DECISION a member with both rights: 24 months per budget, all paid",   dict(medsoc_scales=[standing_ground()], vaph_support=[support_need()]),   24,           24),
    ("D-DECISION a member without any right: 24 months per budget, none paid", dict(),                                                                   0,            0),
    ("D-DECISION a right from May 2026: 7 ZZB months of 24 paid",              dict(belrai_screeners=[screener("BR1", D(2026, 1, 15))]),                 7,            0),
    ("D-DECISION a BOB right ending in March 2025: 4 BOB months of 24 paid",   dict(vaph_support=[support_need("SN1", D(2020, 1, 1), D(2025, 3, 3))]),   0,            4),
]
# fmt: on


@pytest.mark.parametrize("situation, zzb, bob", cases(WINDOWS))
def test_d_decision_full_window(situation, zzb, bob):
    """D-DECISION: with full_window every member gets every month of the window (24, ending with the month of
    D) for both budgets, once each; a month is ENTITLED exactly when `entitled`."""
    months = run(full_window=True, **situation).months
    for budget, paid in (("ZZB", zzb), ("BOB", bob)):
        rows = months.filter(pl.col("budget") == budget).sort("month")
        assert rows["month"].to_list() == WINDOW
        assert rows["entitled"].sum() == paid
        assert rows["entitled"].to_list() == (rows["status"] == "ENTITLED").to_list()
        assert set(rows["zorgkas"]) == {"ZK100"}


def test_d_decision_months_outside_the_right_fail_the_right():
    """D-DECISION: a month outside the right fails ZZB-START (ZZB) or G-BOB (BOB), and holds the conditions."""
    decided = run(full_window=True, belrai_screeners=[screener("BR1", D(2026, 1, 15))])
    zzb = decided.month("ZZB", D(2026, 4, 1))
    assert (zzb["status"], zzb["holds"], zzb["fails"]) == ("NOT_ENTITLED", ["G-BELRAI", *CONDITIONS], ["ZZB-START"])
    bob = decided.month("BOB", D(2026, 4, 1))
    assert (bob["status"], bob["holds"], bob["fails"]) == ("NOT_ENTITLED", CONDITIONS, ["G-BOB"])


def test_d_decision_bulk_gives_the_months_inside_a_right_as_full_window_does():
    """D-DECISION: without full_window only the months inside a right are given, decided as with it."""
    situation = dict(
        belrai_screeners=[screener("BR1", D(2025, 3, 10))],
        vaph_support=[support_need("SN1", D(2025, 8, 20)), vaph("P1", "PVB", D(2026, 2, 1), D(2026, 4, 30))],
    )
    bulk = run(**situation).months
    full = run(full_window=True, **situation).months
    in_right = full.filter(~pl.col("fails").list.contains("ZZB-START") & ~pl.col("fails").list.contains("G-BOB"))
    columns = [
        "insz",
        "zorgkas",
        "budget",
        "month",
        "status",
        "entitled",
        "holds",
        "fails",
        "evidence",
        "monthly_amount",
    ]
    assert bulk.height == 17 + 15  # ZZB 2025-07..2026-11, BOB 2025-09..2026-11
    assert bulk.select(columns).sort("budget", "month").equals(in_right.select(columns).sort("budget", "month"))


def test_d_decision_only_members_are_decided():
    """§0: only members are decided: records of a person missing from `members` give no month."""
    other = "00120555686"
    decided = run(full_window=True, medsoc_scales=[standing_ground(), scale("MS9", "IT", D(2020, 1, 1), insz=other)])
    assert set(decided.months["insz"]) == {decided.insz}


# --- Who is decided in bulk -----------------------------------------------------------------------

# fmt: off
BULK = [
    # name                                                                       situation                                                                                 month            status
    ("D-DECISION a right starting in the month of D is decided",                 dict(belrai_screeners=[screener("BR1", D(2026, 7, 15))]),                                 D(2026, 11, 1),  "ENTITLED"),
    ("D-DECISION a right ending in the window's first month is decided there",   dict(medsoc_scales=[scale("MS1", "IT", D(2020, 1, 1), valid_until=D(2024, 12, 15))]),      D(2024, 12, 1),  "ENTITLED"),
    ("D-DECISION ... and not the month after it",                                dict(medsoc_scales=[scale("MS1", "IT", D(2020, 1, 1), valid_until=D(2024, 12, 15))]),      D(2025, 1, 1),   "NOT_ENTITLED"),
]
# fmt: on


@pytest.mark.parametrize("situation, month, status", cases(BULK))
def test_d_decision_bulk_decides_every_right_that_touches_the_window(situation, month, status):
    """D-DECISION in bulk (the nightly run): every person with a right from the month of D or before, through the
    window's first month or later, is decided; the right's last month (the month containing the episode's end) is
    inside it."""
    assert run(**situation).status("ZZB", month) == status


def test_d_decision_is_in_bulk_by_default():
    """D-DECISION: decide without full_window (the nightly run) gives only the months inside a right."""
    rows = {"members": [member()], "residence_periods": [residence()], "medsoc_scales": [], "facility_stays": []}
    rows |= {"belrai_screeners": [screener("BR1", D(2026, 7, 15))], "vaph_support": [], "case_decisions": []}
    months = decide(Feeds(*[lazy(name, rows[name]) for name in FEED_NAMES]), params(), amounts(), RUN).months.collect()
    assert months.select("budget", "month").rows() == [("ZZB", D(2026, 11, 1))]


# --- What a month records --------------------------------------------------------------------------

# fmt: off
EXPLAINED = [
    # name                                                                       situation                                                                                                                    budget  month            status          holds                                                                   fails              evidence
    ("D-DECISION an entitled ZZB month: ground, right and conditions hold",      dict(medsoc_scales=[standing_ground()]),                                                                                    "ZZB",  D(2026, 6, 1),   "ENTITLED",     ["G-MEDSOC", "ZZB-START", *CONDITIONS],                                 [],                ["medsoc_scales:MS0"]),
    ("D-DECISION an entitled BOB month: the right and conditions hold",          dict(vaph_support=[support_need()]),                                                                                        "BOB",  D(2026, 6, 1),   "ENTITLED",     ["G-BOB", *CONDITIONS],                                                 [],                ["vaph_support:SN0"]),
    ("D-DECISION every ground of the month and its record id",                   dict(belrai_screeners=[screener("BR1", D(2025, 1, 15))], medsoc_scales=[scale("MS1", "THAB", D(2025, 2, 1)), ztk("ZT1", valid_from=D(2025, 3, 1))], facility_stays=[stay("FS1", D(2025, 4, 1))]), "ZZB", D(2026, 6, 1), "ENTITLED", ["G-BELRAI", "G-FACILITY", "G-MEDSOC", "G-ZTK", "ZZB-START", *CONDITIONS], [], ["belrai_screeners:BR1", "facility_stays:FS1", "medsoc_scales:MS1", "medsoc_scales:ZT1"]),
    ("D-DECISION a ground that ended mid-month is still named for that month",   dict(medsoc_scales=[standing_ground(), scale("MS1", "ZBO", D(2024, 1, 1), valid_until=D(2026, 6, 10))]),                   "ZZB",  D(2026, 6, 1),   "ENTITLED",     ["G-MEDSOC", "ZZB-START", *CONDITIONS],                                 [],                ["medsoc_scales:MS0", "medsoc_scales:MS1"]),
    ("D-DECISION an excluded month names the exclusion and its record",          dict(medsoc_scales=[standing_ground()], vaph_support=[vaph("P1", "PVB", D(2026, 1, 1))]),                                  "ZZB",  D(2026, 6, 1),   "NOT_ENTITLED", ["G-MEDSOC", "ZZB-START", *CONDITIONS],                                 ["X-VAPH-PVB"],    ["medsoc_scales:MS0", "vaph_support:P1"]),
    ("D-DECISION a BOB exclusion names its record",                              dict(vaph_support=[support_need(), vaph("P1", "PVB", D(2026, 1, 1))]),                                                      "BOB",  D(2026, 6, 1),   "NOT_ENTITLED", ["G-BOB", *CONDITIONS],                                                 ["X-BOB-PVB"],     ["vaph_support:P1", "vaph_support:SN0"]),
    ("D-DECISION a failing condition is named and the others hold",              dict(members=[member(death_date=D(2026, 2, 14))], medsoc_scales=[standing_ground()]),                                      "ZZB",  D(2026, 6, 1),   "NOT_ENTITLED", ["G-MEDSOC", "ZZB-START", "E-AFFILIATED", "E-RESIDENCE", "E-WAITING"], ["E-ALIVE"],       ["medsoc_scales:MS0"]),
    ("D-DECISION a pending month names T-NRTH-2017",                             dict(medsoc_scales=[standing_ground()], vaph_support=[vaph("N1", "NRTH", D(2016, 1, 1))]),                                 "ZZB",  D(2026, 6, 1),   "PENDING",      ["G-MEDSOC", "ZZB-START", *CONDITIONS],                                 ["T-NRTH-2017"],   ["medsoc_scales:MS0", "vaph_support:N1"]),
    ("D-DECISION a ground starting on the last day of M is named for M",         dict(medsoc_scales=[standing_ground()], belrai_screeners=[screener("BR1", D(2026, 5, 31))]),                               "ZZB",  D(2026, 5, 1),   "ENTITLED",     ["G-BELRAI", "G-MEDSOC", "ZZB-START", *CONDITIONS],                     [],                ["belrai_screeners:BR1", "medsoc_scales:MS0"]),
    ("D-DECISION a ground starting mid-month is named from that month",          dict(medsoc_scales=[standing_ground()], belrai_screeners=[screener("BR1", D(2026, 6, 15))]),                               "ZZB",  D(2026, 6, 1),   "ENTITLED",     ["G-BELRAI", "G-MEDSOC", "ZZB-START", *CONDITIONS],                     [],                ["belrai_screeners:BR1", "medsoc_scales:MS0"]),
    ("D-DECISION a ground starting on first(M+1) is not named for M",            dict(medsoc_scales=[standing_ground()], belrai_screeners=[screener("BR1", D(2026, 6, 1))]),                                "ZZB",  D(2026, 5, 1),   "ENTITLED",     ["G-MEDSOC", "ZZB-START", *CONDITIONS],                                 [],                ["medsoc_scales:MS0"]),
    ("D-DECISION a ground ending on first(M) is named for M (M opens a period)", dict(medsoc_scales=[standing_ground()], belrai_screeners=[screener("BR1", D(2024, 1, 15), valid_until=D(2024, 12, 1))]),  "ZZB",  D(2024, 12, 1),  "ENTITLED",     ["G-BELRAI", "G-MEDSOC", "ZZB-START", *CONDITIONS],                     [],                ["belrai_screeners:BR1", "medsoc_scales:MS0"]),
    ("D-DECISION two BOB records of the month are both named",                   dict(vaph_support=[support_need("SN1", D(2020, 1, 1)), support_need("SN2", D(2024, 1, 1))]),                               "BOB",  D(2026, 6, 1),   "ENTITLED",     ["G-BOB", *CONDITIONS],                                                 [],                ["vaph_support:SN1", "vaph_support:SN2"]),
]
# fmt: on


@pytest.mark.parametrize("situation, budget, month, status, holds, fails, evidence", cases(EXPLAINED))
def test_d_decision_explains_each_month(situation, budget, month, status, holds, fails, evidence):
    """D-DECISION: each month records its status, the codes that hold and fail, and the source records used
    (assessment_id, decision_id, stay_id, record_id)."""
    row = run(**situation).month(budget, month)
    assert (row["status"], row["holds"], row["fails"]) == (status, holds, fails)
    assert sorted(row["evidence"]) == evidence  # docs/spec/rules.md names the records, not their order
    assert row["entitled"] is (status == "ENTITLED")


# --- The monthly amount on both sides of a parameter's `from` date ---------------------------------

RUN_2025 = D(2025, 6, 20)  # window 2023-07 .. 2025-06: zzb_monthly 135.00 until 2023-12, 140.00 from 2024-01

# fmt: off
AMOUNTS = [
    # name                                                                 budget  month            amount
    ("D-DECISION ZZB in the first month of the window: 135.00",            "ZZB",  D(2023, 7, 1),   Decimal("135.00")),
    ("D-DECISION ZZB in December 2023, the day before the change: 135.00", "ZZB",  D(2023, 12, 1),  Decimal("135.00")),
    ("D-DECISION ZZB in January 2024, from the change: 140.00",            "ZZB",  D(2024, 1, 1),   Decimal("140.00")),
    ("D-DECISION ZZB in the month of D: 140.00",                           "ZZB",  D(2025, 6, 1),   Decimal("140.00")),
    ("D-DECISION BOB in December 2023: 300.00",                            "BOB",  D(2023, 12, 1),  Decimal("300.00")),
    ("D-DECISION BOB in January 2024: still 300.00",                       "BOB",  D(2024, 1, 1),   Decimal("300.00")),
]
# fmt: on


@pytest.fixture(scope="module")
def run_2025():
    return run(RUN_2025, full_window=True, medsoc_scales=[standing_ground()], vaph_support=[support_need()])


@pytest.mark.parametrize("budget, month, amount", cases(AMOUNTS))
def test_d_decision_monthly_amount(run_2025, budget, month, amount):
    """D-DECISION: the monthly amount is the one in force on first(month): zzb_monthly 135.00 from 2023-01-01,
    140.00 from 2024-01-01; bob_monthly 300.00 from 2019-01-01."""
    row = run_2025.month(budget, month)
    assert (row["status"], row["monthly_amount"]) == ("ENTITLED", amount)


def test_d_decision_amount_changes_once_in_the_window(run_2025):
    """D-DECISION: a 2025 run's ZZB window holds 6 months at 135.00 and 18 at 140.00."""
    zzb = run_2025.months.filter(pl.col("budget") == "ZZB")
    assert zzb.height == 24
    counts = dict(zzb.group_by("monthly_amount").len().rows())
    assert counts == {Decimal("135.00"): 6, Decimal("140.00"): 18}


def test_d_decision_evaluation_window_is_the_parameter():
    """D-DECISION: the window has evaluation_window_months (24) months ending with the month of D."""
    from tests.helpers.decide import params

    assert params(RUN).evaluation_window_months == 24
    months = run(full_window=True, members=[member()], residence_periods=[residence()]).months
    assert months["month"].min() == WINDOW[0] and months["month"].max() == D(2026, 11, 1)


# --- The monthly amount when a `from` date is not the first of a month ------------------------------

LATER = D(9999, 12, 31)
FROM_2_MARCH = money([(D(2023, 1, 1), D(2025, 3, 1), Decimal("140.00")), (D(2025, 3, 2), LATER, Decimal("150.00"))])
FROM_2_DECEMBER = money(
    [(D(2023, 1, 1), D(2024, 12, 1), Decimal("140.00")), (D(2024, 12, 2), LATER, Decimal("150.00"))]
)
FROM_MONTH_OF_D = money(
    [(D(2023, 1, 1), D(2026, 10, 31), Decimal("140.00")), (D(2026, 11, 1), LATER, Decimal("150.00"))]
)

# fmt: off
AMOUNT_FROM = [
    # name                                                                          zzb_monthly       month            amount
    ("D-DECISION a new amount from 2 March: March keeps the old one (1 March)",     FROM_2_MARCH,     D(2025, 3, 1),   Decimal("140.00")),
    ("D-DECISION a new amount from 2 March: paid from April",                       FROM_2_MARCH,     D(2025, 4, 1),   Decimal("150.00")),
    ("D-DECISION a new amount from 2 December: the window's first month keeps the old one", FROM_2_DECEMBER, D(2024, 12, 1), Decimal("140.00")),
    ("D-DECISION a new amount from 2 December: paid from January",                  FROM_2_DECEMBER,  D(2025, 1, 1),   Decimal("150.00")),
    ("D-DECISION a new amount from the first of the month of D: paid in it",        FROM_MONTH_OF_D,  D(2026, 11, 1),  Decimal("150.00")),
    ("D-DECISION a new amount from the first of the month of D: not the month before", FROM_MONTH_OF_D, D(2026, 10, 1), Decimal("140.00")),
]
# fmt: on


@pytest.mark.parametrize("zzb_monthly, month, amount", cases(AMOUNT_FROM))
def test_d_decision_monthly_amount_on_either_side_of_any_from_date(zzb_monthly, month, amount):
    """D-DECISION: the monthly amount in force on first(month), whatever the day of a parameter's `from` date: a
    value from the 2nd of a month holds from the next month on."""
    row = run(zzb_amounts=zzb_monthly, medsoc_scales=[standing_ground()]).month("ZZB", month)
    assert (row["status"], row["monthly_amount"]) == ("ENTITLED", amount)
