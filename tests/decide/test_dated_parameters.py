"""Parameters that change inside the evaluation window: each month reads those in force on its first day
(docs/spec/rules.md §0, §3: "judged on the first day of each month"), a delay those of the day its episode or
record starts, the absence thresholds those of 31 August (pipelines/params.py `periods`, `read_on`).

Every case decides one person on RUN (window 2024-12 .. 2026-11) with one parameter changed from a date
inside the window, and looks at a month on each side of that date. With today's parameter file nothing a
month reads changes (tests/reference/test_params.py): these are the cases a new `from` date would bring.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.params import SINCE_EVER
from tests.helpers.decide import (
    cases,
    member,
    residence,
    run,
    scale,
    screener,
    standing_ground,
    support_need,
    vaph,
    ztk,
)

D = dt.date
ENTITLED, NOT_ENTITLED, PENDING = "ENTITLED", "NOT_ENTITLED", "PENDING"
SINCE_2024 = D(2024, 6, 15)


def changed(name: str, before: str, after: str, on: dt.date) -> dict:
    """`name` at `before` until the day before `on`, at `after` from `on`."""
    return {name: [(SINCE_EVER, before), (on, after)]}


def low_screener(total: float = 12.5, adl: float = 0.0, iadl: float = 0.0) -> dict:
    """A recognised home-care screener of 15 June 2024 with the given scores, still valid."""
    return dict(belrai_screeners=[screener("BR1", SINCE_2024, total_score=total, adl_score=adl, iadl_score=iadl)])


ONE_SCALE = dict(medsoc_scales=[standing_ground()])  # a G-MEDSOC ground since 2020 (IT score 16)
RESIDENT_SINCE_2022 = dict(residence_periods=[residence("VL", D(2022, 3, 1))], **ONE_SCALE)
LATE_IN_2022 = dict(members=[member(affiliation_basis="RESIDENT_BXL", affiliation_start=D(2022, 3, 1))], **ONE_SCALE)
BORN_2006 = D(2006, 3, 10)  # 19 through 2025
PVB_AT_19 = dict(
    members=[member(birth_date=BORN_2006)],
    residence_periods=[residence("VL", BORN_2006)],
    vaph_support=[vaph("PV1", "PVB", D(2024, 1, 1))],
    **ONE_SCALE,
)
NRTH_OF_2017 = dict(vaph_support=[vaph("NR1", "NRTH", D(2017, 6, 1))], **ONE_SCALE)


def absence_rows(days: int) -> dict:
    """A care-need episode since 2020 and an MFC_FULLTIME record of school year 2024 with `days` absent."""
    record = vaph("A1", "MFC_FULLTIME", D(2024, 9, 1), D(2025, 8, 31), school_year=2024, absence_days=days)
    return dict(vaph_support=[record], **ONE_SCALE)


def scale_from(day: dt.date) -> dict:
    return dict(medsoc_scales=[scale("MS1", "IT", day)])


def support_from(day: dt.date) -> dict:
    return dict(vaph_support=[support_need("SN1", day)])


def voluntary(affiliated: dt.date) -> dict:
    """A Brussels voluntary member born 10 May 1990 (27 in 2017, 30 in 2020), never domiciled in Brussels."""
    born = D(1990, 5, 10)
    people = [member(affiliation_basis="RESIDENT_BXL", birth_date=born, affiliation_start=affiliated)]
    return dict(members=people, residence_periods=[residence("VL", born)], **ONE_SCALE)


# fmt: off
MONTHS = [
    # name                                                                           parameters changed                                                     situation                 budget  month             status
    # G-BELRAI, G-MEDSOC, G-ZTK: the minimum in force on first(M) of each month the ground's interval covers
    ("G-BELRAI minimum 12 then 13 from 1 July: 12.5 a ground through June",          changed("belrai_total_min", "12", "13", D(2025, 7, 1)),             low_screener(),           "ZZB",  D(2025, 6, 1),    ENTITLED),
    ("G-BELRAI minimum 12 then 13 from 1 July: 12.5 no ground from July",            changed("belrai_total_min", "12", "13", D(2025, 7, 1)),             low_screener(),           "ZZB",  D(2025, 7, 1),    NOT_ENTITLED),
    ("G-BELRAI minimum 13 then 12 from 1 July: a ground from July, the right 4 later", changed("belrai_total_min", "13", "12", D(2025, 7, 1)),           low_screener(),           "ZZB",  D(2025, 10, 1),   NOT_ENTITLED),
    ("G-BELRAI minimum 13 then 12 from 1 July: entitled from November",              changed("belrai_total_min", "13", "12", D(2025, 7, 1)),             low_screener(),           "ZZB",  D(2025, 11, 1),   ENTITLED),
    ("G-BELRAI a minimum from 15 July holds from August: July still under 12",       changed("belrai_total_min", "12", "13", D(2025, 7, 15)),            low_screener(),           "ZZB",  D(2025, 7, 1),    ENTITLED),
    ("G-BELRAI a minimum from 15 July holds from August: August under 13",           changed("belrai_total_min", "12", "13", D(2025, 7, 15)),            low_screener(),           "ZZB",  D(2025, 8, 1),    NOT_ENTITLED),
    ("G-BELRAI ADL+IADL minimum 5.5 then 5 from 1 July: October not yet",            changed("belrai_adl_iadl_min", "5.5", "5", D(2025, 7, 1)),          low_screener(10, 2.5, 2.5), "ZZB", D(2025, 10, 1),  NOT_ENTITLED),
    ("G-BELRAI ADL+IADL minimum 5.5 then 5 from 1 July: November entitled",          changed("belrai_adl_iadl_min", "5.5", "5", D(2025, 7, 1)),          low_screener(10, 2.5, 2.5), "ZZB", D(2025, 11, 1),  ENTITLED),
    ("G-MEDSOC minimum 15 then 17 from 1 July: score 16 through June",               changed("medsoc_min", "15", "17", D(2025, 7, 1)),                    ONE_SCALE,                "ZZB",  D(2025, 6, 1),    ENTITLED),
    ("G-MEDSOC minimum 15 then 17 from 1 July: score 16 no ground from July",        changed("medsoc_min", "15", "17", D(2025, 7, 1)),                    ONE_SCALE,                "ZZB",  D(2025, 7, 1),    NOT_ENTITLED),
    ("G-ZTK minimum 18 then 19 from 1 July: 18 points through June",                 changed("ztk_min", "18", "19", D(2025, 7, 1)),                       dict(medsoc_scales=[ztk("ZT1", valid_from=D(2020, 1, 1))]), "ZZB", D(2025, 6, 1), ENTITLED),
    ("G-ZTK minimum 18 then 19 from 1 July: 18 points no ground from July",          changed("ztk_min", "18", "19", D(2025, 7, 1)),                       dict(medsoc_scales=[ztk("ZT1", valid_from=D(2020, 1, 1))]), "ZZB", D(2025, 7, 1), NOT_ENTITLED),
    # E-RESIDENCE, E-WAITING: residence_years and late_waiting_years in force on first(M)
    ("E-RESIDENCE 5 years then 3 from 2026: resident since 2022, December 2025 fails", changed("residence_years", "5", "3", D(2026, 1, 1)),              RESIDENT_SINCE_2022,      "ZZB",  D(2025, 12, 1),   NOT_ENTITLED),
    ("E-RESIDENCE 5 years then 3 from 2026: January 2026 holds (2022-2024)",         changed("residence_years", "5", "3", D(2026, 1, 1)),                 RESIDENT_SINCE_2022,      "ZZB",  D(2026, 1, 1),    ENTITLED),
    ("E-RESIDENCE 5 years then 3 from 2026: the BOB as well",                        changed("residence_years", "5", "3", D(2026, 1, 1)),                 RESIDENT_SINCE_2022 | support_from(D(2020, 1, 1)), "BOB", D(2026, 1, 1), ENTITLED),
    ("E-WAITING 5 years then 3 from 2026: late in March 2022, December 2025 waits",  changed("late_waiting_years", "5", "3", D(2026, 1, 1)),              LATE_IN_2022,             "ZZB",  D(2025, 12, 1),   NOT_ENTITLED),
    ("E-WAITING 5 years then 3 from 2026: January 2026 entitled",                    changed("late_waiting_years", "5", "3", D(2026, 1, 1)),              LATE_IN_2022,             "ZZB",  D(2026, 1, 1),    ENTITLED),
    # §4 and §6: adult_age and nrth_transition_date in force on first(M)
    ("X-VAPH-PVB adult from 18 then 21 from 1 July: a PVB at 19 excludes June",      changed("adult_age", "18", "21", D(2025, 7, 1)),                     PVB_AT_19,                "ZZB",  D(2025, 6, 1),    NOT_ENTITLED),
    ("X-VAPH-PVB adult from 18 then 21 from 1 July: July entitled at 19",            changed("adult_age", "18", "21", D(2025, 7, 1)),                     PVB_AT_19,                "ZZB",  D(2025, 7, 1),    ENTITLED),
    ("T-NRTH-2017 transition date 2017 then 2018 from 1 July: June excluded",        changed("nrth_transition_date", "2017-01-01", "2018-01-01", D(2025, 7, 1)), NRTH_OF_2017,  "ZZB",  D(2025, 6, 1),    NOT_ENTITLED),
    ("T-NRTH-2017 transition date 2017 then 2018 from 1 July: July pending",         changed("nrth_transition_date", "2017-01-01", "2018-01-01", D(2025, 7, 1)), NRTH_OF_2017,  "ZZB",  D(2025, 7, 1),    PENDING),
    # ZZB-START and G-BOB: the delay in force on the day the episode or record starts
    ("ZZB-START delay 4 then 2 from 1 June: a ground from 31 May starts in September", changed("ground_delay_months", "4", "2", D(2025, 6, 1)),          scale_from(D(2025, 5, 31)), "ZZB", D(2025, 8, 1),   NOT_ENTITLED),
    ("ZZB-START delay 4 then 2 from 1 June: a ground from 31 May, September",        changed("ground_delay_months", "4", "2", D(2025, 6, 1)),             scale_from(D(2025, 5, 31)), "ZZB", D(2025, 9, 1),   ENTITLED),
    ("ZZB-START delay 4 then 2 from 1 June: a ground from 1 June starts in August",  changed("ground_delay_months", "4", "2", D(2025, 6, 1)),             scale_from(D(2025, 6, 1)), "ZZB",  D(2025, 8, 1),    ENTITLED),
    ("ZZB-START delay 4 then 2 from 1 June: a ground from 1 June, not July",         changed("ground_delay_months", "4", "2", D(2025, 6, 1)),             scale_from(D(2025, 6, 1)), "ZZB",  D(2025, 7, 1),    NOT_ENTITLED),
    ("G-BOB delay 1 then 3 from 1 June: a record from 31 May gives June",            changed("bob_delay_months", "1", "3", D(2025, 6, 1)),                support_from(D(2025, 5, 31)), "BOB", D(2025, 6, 1), ENTITLED),
    ("G-BOB delay 1 then 3 from 1 June: a record from 1 June, not August",           changed("bob_delay_months", "1", "3", D(2025, 6, 1)),                support_from(D(2025, 6, 1)), "BOB", D(2025, 8, 1),  NOT_ENTITLED),
    ("G-BOB delay 1 then 3 from 1 June: a record from 1 June gives September",       changed("bob_delay_months", "1", "3", D(2025, 6, 1)),                support_from(D(2025, 6, 1)), "BOB", D(2025, 9, 1),  ENTITLED),
    # E-WAITING's age 27: voluntary_on_time_age in force on affiliation_start
    ("E-WAITING on-time age 27 then 30 from 2020: affiliated 31 Dec 2019 is late",   changed("voluntary_on_time_age", "27", "30", D(2020, 1, 1)),         voluntary(D(2019, 12, 31)), "ZZB", D(2024, 12, 1),  NOT_ENTITLED),
    ("E-WAITING on-time age 27 then 30 from 2020: late, entitled after 5 years",     changed("voluntary_on_time_age", "27", "30", D(2020, 1, 1)),         voluntary(D(2019, 12, 31)), "ZZB", D(2025, 1, 1),   ENTITLED),
    ("E-WAITING on-time age 27 then 30 from 2020: affiliated 1 Jan 2020 on time",    changed("voluntary_on_time_age", "27", "30", D(2020, 1, 1)),         voluntary(D(2020, 1, 1)), "ZZB",   D(2024, 12, 1),   ENTITLED),
]
# fmt: on


@pytest.mark.parametrize("dated, situation, budget, month, status", cases(MONTHS))
def test_a_month_reads_the_parameters_in_force_on_its_first_day(dated, situation, budget, month, status):
    assert run(dated=dated, **situation).status(budget, month) == status


def zzb_periods(decided) -> list[tuple]:
    periods = decided._collected._decisions.periods.collect()
    zzb = periods.filter(periods["budget"] == "ZZB").sort("first_month")
    return zzb.select("first_month", "last_month", "status").rows()


def test_a_from_date_inside_the_window_starts_a_new_period():
    """D-DECISION: a period is a run of months in which no rule can change its answer; a parameter the months
    read that changes on a first day inside the window starts one there, like a monthly amount, whether or not
    the answer changes."""
    assert zzb_periods(run(**RESIDENT_SINCE_2022)) == [(D(2024, 12, 1), D(2026, 11, 1), NOT_ENTITLED)]
    assert zzb_periods(run(dated=changed("residence_years", "5", "3", D(2026, 1, 1)), **RESIDENT_SINCE_2022)) == [
        (D(2024, 12, 1), D(2025, 12, 1), NOT_ENTITLED),
        (D(2026, 1, 1), D(2026, 11, 1), ENTITLED),
    ]
    assert zzb_periods(run(dated=changed("adult_age", "18", "17", D(2025, 7, 15)), **ONE_SCALE)) == [
        (D(2024, 12, 1), D(2025, 7, 1), ENTITLED),
        (D(2025, 8, 1), D(2026, 11, 1), ENTITLED),
    ]


# fmt: off
ABSENCES = [
    # name                                                                           parameters changed                                          quantity
    ("G-ABSENCE one budget above 30 days, 20 from 31 August 2025: 25 days give one", changed("absence_one_days", "30", "20", D(2025, 8, 31)),    1),
    ("G-ABSENCE one budget above 30 days, 20 from 1 September 2025: 25 give none",   changed("absence_one_days", "30", "20", D(2025, 9, 1)),     None),
    ("G-ABSENCE two budgets above 100, 20 from 31 August 2025: 25 days give two",    changed("absence_two_days", "100", "20", D(2025, 8, 31)),   2),
    ("G-ABSENCE two budgets above 100, 20 from 1 September 2025: 25 give none",      changed("absence_two_days", "100", "20", D(2025, 9, 1)),    None),
]
# fmt: on


@pytest.mark.parametrize("dated, quantity", cases(ABSENCES))
def test_absence_thresholds_are_those_of_31_august_of_the_school_year(dated, quantity):
    """G-ABSENCE: the thresholds in force on 31 August Y+1, the last day of school year Y (2024 here)."""
    got = run(dated=dated, **absence_rows(25)).absences.to_dicts()
    assert (got[0]["quantity"] if got else None) == quantity


def test_absence_residence_reads_the_years_in_force_in_its_month():
    """G-ABSENCE: E-RESIDENCE as for the month of 31 August Y+1, with the residence_years in force on its first
    day: resident since 2022, the absence of 31 August 2025 holds E-RESIDENCE only under 3 years."""
    situation = absence_rows(45) | dict(residence_periods=[residence("VL", D(2022, 3, 1))])
    for on, holds in ((D(2025, 8, 1), True), (D(2025, 9, 1), False)):
        got = run(dated=changed("residence_years", "5", "3", on), **situation).absences.to_dicts()
        assert ("E-RESIDENCE" in got[0]["holds"]) == holds, on
