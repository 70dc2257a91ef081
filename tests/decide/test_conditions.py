"""Conditions judged on the first day of each month, docs/spec/rules.md §3: E-AFFILIATED, E-ALIVE, E-RESIDENCE, E-WAITING.

Each case is a member with a ZZB right (a G-MEDSOC scale open since 2020) and a BOB right (a
SUPPORT_NEED record open since 2020) over the whole window of the run of 2026-11-20, and one
month M: the month must be entitled for both budgets, or fail exactly the condition of the case.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.decide.conditions import residence_from_year
from tests.helpers.decide import (
    RUN,
    Batch,
    Run,
    cases,
    indexed,
    lazy,
    member,
    params,
    residence,
    run,
    standing_ground,
    support_need,
)

D = dt.date


def situation(member_changes: dict, residence_rows: list[dict] | None = None) -> dict:
    """The member with rights over the whole window of both budgets."""
    return dict(
        members=[member(**member_changes)],
        residence_periods=residence_rows,
        medsoc_scales=[standing_ground()],
        vaph_support=[support_need()],
    )


def judged(decided: Run, month: dt.date) -> dict[str, tuple]:
    """Per budget, (status, fails) of `month`."""
    out = {}
    for budget in ("ZZB", "BOB"):
        row = decided.month(budget, month)
        assert row is not None, f"{budget} {month} is inside the right and must be decided"
        out[budget] = (row["status"], row["fails"])
    return out


def expect(failing: str | None) -> dict[str, tuple]:
    outcome = ("ENTITLED", []) if failing is None else ("NOT_ENTITLED", [failing])
    return {"ZZB": outcome, "BOB": outcome}


# --- E-AFFILIATED and E-ALIVE ----------------------------------------------------------------------

# fmt: off
AFFILIATED_ALIVE = [
    # name                                                                   member changes                                                    month           failing
    ("E-AFFILIATED affiliation starting on first(M) counts for M",           {"affiliation_start": D(2026, 3, 1)},                             D(2026, 3, 1),  None),
    ("E-AFFILIATED affiliation starting on the 2nd does not count for M",    {"affiliation_start": D(2026, 3, 2)},                             D(2026, 3, 1),  "E-AFFILIATED"),
    ("E-AFFILIATED ... but does for the next month",                         {"affiliation_start": D(2026, 3, 2)},                             D(2026, 4, 1),  None),
    ("E-AFFILIATED affiliation ending on first(M) still counts for M",       {"affiliation_end": D(2026, 3, 1)},                               D(2026, 3, 1),  None),
    ("E-AFFILIATED affiliation ending the day before first(M) does not",     {"affiliation_end": D(2026, 2, 28)},                              D(2026, 3, 1),  "E-AFFILIATED"),
    ("E-AFFILIATED affiliation ending on first(M): the next month fails",    {"affiliation_end": D(2026, 3, 1)},                               D(2026, 4, 1),  "E-AFFILIATED"),
    ("E-ALIVE death on first(M): the month of death is paid",                {"death_date": D(2026, 3, 1)},                                    D(2026, 3, 1),  None),
    ("E-ALIVE death on the last day of M: M is paid",                        {"death_date": D(2026, 3, 31)},                                   D(2026, 3, 1),  None),
    ("E-ALIVE death on the last day of M: the next month is not",            {"death_date": D(2026, 3, 31)},                                   D(2026, 4, 1),  "E-ALIVE"),
    ("E-ALIVE death the day before first(M): M is not paid",                 {"death_date": D(2026, 2, 28)},                                   D(2026, 3, 1),  "E-ALIVE"),
    # A period is judged on its first month: the death day must be the first day of a period's first month
    # (here the window's, 2024-12) for the case to judge first(M) <= death_date on that very day.
    ("E-ALIVE death on first(M), M the first of its period: M is paid",      {"death_date": D(2024, 12, 1)},                                   D(2024, 12, 1), None),
    ("E-ALIVE death on first(M), M the first of its period: M+1 is not",     {"death_date": D(2024, 12, 1)},                                   D(2025, 1, 1),  "E-ALIVE"),
    ("E-ALIVE death the day before that first(M): M is not paid",            {"death_date": D(2024, 11, 30)},                                  D(2024, 12, 1), "E-ALIVE"),
]
# fmt: on


AFFILIATED_ALIVE_RUN = Batch([situation(case[1]) for case in AFFILIATED_ALIVE])


@pytest.mark.parametrize("i, changes, month, failing", indexed(AFFILIATED_ALIVE))
def test_e_affiliated_and_e_alive(i, changes, month, failing):
    """E-AFFILIATED: affiliation_start <= first(M) <= affiliation_end (end null: open).
    E-ALIVE: death_date null or first(M) <= death_date. Both budgets."""
    assert judged(AFFILIATED_ALIVE_RUN[i], month) == expect(failing)


# --- E-RESIDENCE -----------------------------------------------------------------------------------

ADULT = {"birth_date": D(1985, 7, 31)}
WALLONIA = [residence("WAL", D(1985, 7, 31))]

# fmt: off
RESIDENCE = [
    # name                                                                        member changes                                          residence periods                                                                                         month           failing
    ("E-RESIDENCE 17 on first(M) without any residence holds",                    {"birth_date": D(2008, 11, 2)},                         [],                                                                                                       D(2026, 11, 1), None),
    ("E-RESIDENCE 18 on first(M) without any residence fails",                    {"birth_date": D(2008, 11, 1)},                         [],                                                                                                       D(2026, 11, 1), "E-RESIDENCE"),
    ("E-RESIDENCE 17 on first(M) living in Wallonia holds",                       {"birth_date": D(2008, 11, 2)},                         [residence("WAL", D(2008, 11, 2))],                                                                       D(2026, 11, 1), None),
    ("E-RESIDENCE domiciled in VL since birth holds",                             ADULT,                                                  [residence("VL", D(1985, 7, 31))],                                                                        D(2026, 6, 1),  None),
    ("E-RESIDENCE domiciled in BXL for years holds",                              ADULT,                                                  [residence("BXL", D(2000, 1, 1))],                                                                        D(2026, 6, 1),  None),
    ("E-RESIDENCE VL then BXL make one run of 5 years",                           ADULT,                                                  [residence("VL", D(2019, 1, 1), D(2021, 12, 31)), residence("BXL", D(2022, 1, 1), D(2023, 12, 31)), residence("WAL", D(2024, 1, 1))], D(2025, 6, 1), None),
    ("E-RESIDENCE 5 years 2021..2025, one day at each end, hold in 2026",         ADULT,                                                  [residence("VL", D(2021, 12, 31), D(2025, 1, 1)), residence("WAL", D(2025, 1, 2))],                       D(2026, 6, 1),  None),
    ("E-RESIDENCE the same 5 years 2021..2025 hold from January 2026",           ADULT,                                                  [residence("VL", D(2021, 12, 31), D(2025, 1, 1)), residence("WAL", D(2025, 1, 2))],                       D(2026, 1, 1),  None),
    ("E-RESIDENCE the same 4 years 2021..2024 are not enough in 2025",            ADULT,                                                  [residence("VL", D(2021, 12, 31), D(2025, 1, 1)), residence("WAL", D(2025, 1, 2))],                       D(2025, 6, 1),  "E-RESIDENCE"),
    ("E-RESIDENCE one day in 2020 makes 2020 count",                              ADULT,                                                  [residence("VL", D(2020, 12, 31), D(2020, 12, 31)), residence("VL", D(2021, 6, 1), D(2024, 12, 31)), residence("WAL", D(2025, 1, 1))], D(2025, 6, 1), None),
    ("E-RESIDENCE without that day in 2020 four years are not enough",            ADULT,                                                  [residence("WAL", D(2020, 1, 1), D(2021, 5, 31)), residence("VL", D(2021, 6, 1), D(2024, 12, 31)), residence("WAL", D(2025, 1, 1))], D(2025, 6, 1), "E-RESIDENCE"),
    ("E-RESIDENCE the current year does not count (2022..2026 in 2026)",          ADULT,                                                  [residence("WAL", D(2000, 1, 1), D(2021, 12, 31)), residence("VL", D(2022, 1, 1))],                       D(2026, 6, 1),  "E-RESIDENCE"),
    ("E-RESIDENCE the years need not be the last ones",                           ADULT,                                                  [residence("VL", D(2010, 1, 1), D(2014, 6, 30)), residence("ABROAD", D(2014, 7, 1))],                     D(2026, 6, 1),  None),
    ("E-RESIDENCE a year without VL or BXL breaks the run",                       ADULT,                                                  [residence("VL", D(2018, 1, 1), D(2020, 12, 31)), residence("WAL", D(2021, 1, 1), D(2021, 12, 31)), residence("VL", D(2022, 1, 1))], D(2026, 6, 1), "E-RESIDENCE"),
    ("E-RESIDENCE a gap within one year does not break the run",                  ADULT,                                                  [residence("VL", D(2018, 1, 1), D(2021, 3, 31)), residence("WAL", D(2021, 4, 1), D(2021, 11, 30)), residence("VL", D(2021, 12, 1))], D(2026, 6, 1), None),
    ("E-RESIDENCE Wallonia does not count",                                       ADULT,                                                  WALLONIA,                                                                                                 D(2026, 6, 1),  "E-RESIDENCE"),
    ("E-RESIDENCE abroad does not count",                                         ADULT,                                                  [residence("ABROAD", D(1985, 7, 31))],                                                                    D(2026, 6, 1),  "E-RESIDENCE"),
    ("E-RESIDENCE EU-insured since 1 January of year(M) holds",                   {"eu_insured_since": D(2026, 1, 1)},                    WALLONIA,                                                                                                 D(2026, 6, 1),  None),
    ("E-RESIDENCE EU-insured since 2 January of year(M) fails",                   {"eu_insured_since": D(2026, 1, 2)},                    WALLONIA,                                                                                                 D(2026, 6, 1),  "E-RESIDENCE"),
    ("E-RESIDENCE EU-insured since 2 January 2025 holds in 2026",                 {"eu_insured_since": D(2025, 1, 2)},                    WALLONIA,                                                                                                 D(2026, 1, 1),  None),
    ("E-RESIDENCE EU-insured since 1 January of year(M) holds in January",        {"eu_insured_since": D(2026, 1, 1)},                    WALLONIA,                                                                                                 D(2026, 1, 1),  None),
    ("E-RESIDENCE 4 consecutive years long before year(M) are not enough",        ADULT,                                                  [residence("VL", D(2010, 1, 1), D(2013, 12, 31)), residence("ABROAD", D(2014, 1, 1))],                    D(2026, 6, 1),  "E-RESIDENCE"),
    # A period is judged on its first month: these edges fall on the window's first month (2024-12), the
    # first month of every period, so that the rule is judged on that very day.
    ("E-RESIDENCE 17 on first(M), a day before turning 18, M the first of its period, holds", {"birth_date": D(2006, 12, 2)},        [],                                                                                                       D(2024, 12, 1), None),
    ("E-RESIDENCE EU-insured since 1 January of year(M), M the first of its period, holds",   {"eu_insured_since": D(2024, 1, 1)},  WALLONIA,                                                                                                 D(2024, 12, 1), None),
    ("E-RESIDENCE EU-insured since 2 January of year(M), M the first of its period, fails",   {"eu_insured_since": D(2024, 1, 2)},  WALLONIA,                                                                                                 D(2024, 12, 1), "E-RESIDENCE"),
]
# fmt: on


RESIDENCE_RUN = Batch([situation(case[1], case[2]) for case in RESIDENCE])


@pytest.mark.parametrize("i, changes, residence_rows, month, failing", indexed(RESIDENCE))
def test_e_residence(i, changes, residence_rows, month, failing):
    """E-RESIDENCE: younger than 18 on first(M); or 5 consecutive calendar years, all before year(M), each
    with at least one day domiciled in VL or BXL; or eu_insured_since <= 1 January of year(M). Both budgets."""
    assert judged(RESIDENCE_RUN[i], month) == expect(failing)


# fmt: off
RESIDENCE_YEARS = [
    # name                                                                              residence periods                                                                          from year
    ("E-RESIDENCE a domicile starting on the run date makes that year count",          [residence("VL", D(2022, 1, 1), D(2025, 12, 31)), residence("BXL", RUN)],                   2027),
    ("E-RESIDENCE a domicile starting the day after the run date does not count",      [residence("VL", D(2022, 1, 1), D(2025, 12, 31)), residence("BXL", RUN + dt.timedelta(1))], None),
    ("E-RESIDENCE a domicile ending after the run date counts up to the run date",     [residence("VL", D(2022, 1, 1), D(2030, 12, 31))],                                          2027),
]
# fmt: on


@pytest.mark.parametrize("rows, from_year", cases(RESIDENCE_YEARS))
def test_e_residence_years_count_up_to_the_run_date(rows, from_year):
    """E-RESIDENCE (residence_from_year): one day domiciled in VL or BXL makes a year count, as known on the run
    date D: a domicile starting on D counts for year(D), which matters for a premium year after D (P-REDUCED)."""
    got = residence_from_year(lazy("residence_periods", rows), params(), RUN).collect()
    assert got["residence_from_year"].to_list() == ([] if from_year is None else [from_year])


# --- E-WAITING -------------------------------------------------------------------------------------

BORN_1985 = D(1985, 7, 31)  # turns 27 in 2012: own deadline 2012-12-31


def brussels_since(birth: dt.date, start: dt.date | None) -> list[dict]:
    """Domiciled in VL since birth, then (from `start`) in Brussels; enough years either way for E-RESIDENCE."""
    if start is None:
        return [residence("VL", birth)]
    return [residence("VL", birth, start - dt.timedelta(days=1)), residence("BXL", start)]


# fmt: off
WAITING = [
    # name                                                                            basis                    birth            BXL domicile from  affiliation_start  month           failing
    ("E-WAITING Brussels domicile from 30 June: on time through 31 Dec S+1",          "RESIDENT_BXL",          BORN_1985,       D(2019, 6, 30),    D(2020, 12, 31),   D(2025, 12, 1), None),
    ("E-WAITING Brussels domicile from 30 June: late on 1 Jan S+2",                   "RESIDENT_BXL",          BORN_1985,       D(2019, 6, 30),    D(2021, 1, 1),     D(2025, 12, 1), "E-WAITING"),
    ("E-WAITING late: entitled from affiliation_start + 5 years",                     "RESIDENT_BXL",          BORN_1985,       D(2019, 6, 30),    D(2021, 1, 1),     D(2026, 1, 1),  None),
    ("E-WAITING Brussels domicile from 1 July: on time through 31 Dec S+2",           "RESIDENT_BXL",          BORN_1985,       D(2019, 7, 1),     D(2021, 12, 31),   D(2025, 12, 1), None),
    ("E-WAITING Brussels domicile from 1 July: late on 1 Jan S+3",                    "RESIDENT_BXL",          BORN_1985,       D(2019, 7, 1),     D(2022, 1, 1),     D(2026, 11, 1), "E-WAITING"),
    ("E-WAITING turns 27 in 2021: on time on 31 December 2021",                       "RESIDENT_BXL",          D(1994, 5, 10),  None,              D(2021, 12, 31),   D(2025, 12, 1), None),
    ("E-WAITING turns 27 in 2021: late on 1 January 2022",                            "RESIDENT_BXL",          D(1994, 5, 10),  None,              D(2022, 1, 1),     D(2026, 11, 1), "E-WAITING"),
    ("E-WAITING the later of the two deadlines counts (age)",                         "RESIDENT_BXL",          D(1994, 5, 10),  D(2010, 1, 1),     D(2021, 12, 31),   D(2025, 12, 1), None),
    ("E-WAITING the later of the two deadlines counts (domicile)",                    "RESIDENT_BXL",          D(1990, 5, 10),  D(2019, 6, 30),    D(2020, 12, 31),   D(2025, 12, 1), None),
    ("E-WAITING abroad employer in Brussels can be late too",                         "ABROAD_EMPLOYER_BXL",   BORN_1985,       D(2019, 6, 30),    D(2021, 1, 1),     D(2025, 12, 1), "E-WAITING"),
    ("E-WAITING late on the 15th: the month of the 5th anniversary is not entitled",  "RESIDENT_BXL",          BORN_1985,       D(2019, 6, 30),    D(2021, 3, 15),    D(2026, 3, 1),  "E-WAITING"),
    ("E-WAITING late on the 15th: the next month is entitled",                        "RESIDENT_BXL",          BORN_1985,       D(2019, 6, 30),    D(2021, 3, 15),    D(2026, 4, 1),  None),
    ("E-WAITING mandatory resident in VL is never late",                              "RESIDENT_VL",           BORN_1985,       None,              D(2022, 1, 1),     D(2025, 12, 1), None),
    ("E-WAITING mandatory abroad employer in VL is never late",                       "ABROAD_EMPLOYER_VL",    BORN_1985,       None,              D(2022, 1, 1),     D(2025, 12, 1), None),
]
# fmt: on


def waiting_situation(basis: str, birth: dt.date, bxl_from: dt.date | None, affiliation_start: dt.date) -> dict:
    changes = {"affiliation_basis": basis, "birth_date": birth, "affiliation_start": affiliation_start}
    return situation(changes, brussels_since(birth, bxl_from))


WAITING_RUN = Batch([waiting_situation(*case[1:5]) for case in WAITING])


@pytest.mark.parametrize("i, basis, birth, bxl_from, affiliation_start, month, failing", indexed(WAITING))
def test_e_waiting(i, basis, birth, bxl_from, affiliation_start, month, failing):
    """E-WAITING: a voluntary member (RESIDENT_BXL, ABROAD_EMPLOYER_BXL) is late when affiliation_start is after
    the latest of 31 December of the year they turn 27 and, for a Brussels domicile that began in year S
    (the one active on affiliation_start), 31 December S+1 (began before 1 July) or S+2; a late member is
    entitled only from affiliation_start + 5 years. Both budgets."""
    assert judged(WAITING_RUN[i], month) == expect(failing)


def test_e_waiting_only_the_brussels_domicile_active_on_affiliation_start_counts():
    """E-WAITING: a Brussels domicile that ended before affiliation_start gives no later deadline."""
    residence_rows = [
        residence("VL", BORN_1985, D(2019, 6, 30)),
        residence("BXL", D(2019, 7, 1), D(2020, 12, 31)),
        residence("VL", D(2021, 1, 1)),
    ]
    changes = {"affiliation_basis": "RESIDENT_BXL", "affiliation_start": D(2021, 3, 1)}
    assert judged(run(**situation(changes, residence_rows)), D(2025, 12, 1)) == expect("E-WAITING")
