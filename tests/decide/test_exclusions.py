"""Exclusions of the ZZB, docs/spec/rules.md §4: X-VAPH-*, X-MPI-BOARDING, X-SPECIAL-STAY and the transition T-NRTH-2017.

Each case is a member with a ZZB right over the whole window (a G-MEDSOC scale open since 2020)
and one record active or not on first(M): the ZZB month must be entitled, or fail exactly the
code of the case, with the record among its evidence.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers.decide import (
    Batch,
    Run,
    indexed,
    member,
    residence,
    run,
    scale,
    screener,
    standing_ground,
    stay,
    vaph,
)

D = dt.date
M = D(2026, 11, 1)  # the month judged
AGE_18 = D(2008, 11, 1)  # 18 on first(M)
AGE_17 = D(2008, 11, 2)  # 17 on first(M): turns 18 the next day
SINCE_2020 = D(2020, 1, 1)


def situation(birth: dt.date, records: dict) -> dict:
    """A member born on `birth`, domiciled in VL since, with a ZZB right over the whole window."""
    return dict(
        members=[member(birth_date=birth)],
        residence_periods=[residence("VL", birth)],
        medsoc_scales=[standing_ground()],
        **records,
    )


def zzb_month(decided: Run, month: dt.date = M) -> dict:
    row = decided.month("ZZB", month)
    assert row is not None, "the month is inside the right and must be decided"
    return row


def outcome(row: dict) -> tuple[str, list[str]]:
    return row["status"], row["fails"]


def expected(failing: str | None) -> tuple[str, list[str]]:
    return ("ENTITLED", []) if failing is None else ("NOT_ENTITLED", [failing])


# --- Age edges: 17 or 18 on first(M) ---------------------------------------------------------------

# fmt: off
AGES = [
    # name                                                              support_kind                     birth    failing
    ("X-VAPH-PVB excludes a person of 18",                              "PVB",                           AGE_18,  "X-VAPH-PVB"),
    ("X-VAPH-PVB does not exclude a person of 17",                      "PVB",                           AGE_17,  None),
    ("X-VAPH-NRTH excludes a person of 18",                             "NRTH",                          AGE_18,  "X-VAPH-NRTH"),
    ("X-VAPH-NRTH does not exclude a person of 17",                     "NRTH",                          AGE_17,  None),
    ("X-VAPH-PAB excludes a person of 17",                              "PAB",                           AGE_17,  "X-VAPH-PAB"),
    ("X-VAPH-PAB does not exclude a person of 18",                      "PAB",                           AGE_18,  None),
    ("X-VAPH-MFC excludes a person of 17",                              "MFC_FULLTIME",                  AGE_17,  "X-VAPH-MFC"),
    ("X-VAPH-MFC excludes a person of 18",                              "MFC_FULLTIME",                  AGE_18,  "X-VAPH-MFC"),
    ("X-VAPH-ADULT-OUTSIDE excludes a person of 17",                    "ADULT_FACILITY_OUTSIDE_VL",     AGE_17,  "X-VAPH-ADULT-OUTSIDE"),
    ("X-VAPH-ADULT-OUTSIDE excludes a person of 18",                    "ADULT_FACILITY_OUTSIDE_VL",     AGE_18,  "X-VAPH-ADULT-OUTSIDE"),
    ("X-VAPH-MINOR-OUTSIDE excludes a person of 17",                    "MINOR_RESIDENTIAL_OUTSIDE_VL",  AGE_17,  "X-VAPH-MINOR-OUTSIDE"),
    ("X-VAPH-MINOR-OUTSIDE excludes a person of 18",                    "MINOR_RESIDENTIAL_OUTSIDE_VL",  AGE_18,  "X-VAPH-MINOR-OUTSIDE"),
    ("X-VAPH-AMBULATORY-OUTSIDE excludes a person of 17",               "ADULT_AMBULATORY_OUTSIDE_VL",   AGE_17,  "X-VAPH-AMBULATORY-OUTSIDE"),
    ("X-VAPH-AMBULATORY-OUTSIDE excludes a person of 18",               "ADULT_AMBULATORY_OUTSIDE_VL",   AGE_18,  "X-VAPH-AMBULATORY-OUTSIDE"),
    ("X-MPI-BOARDING excludes a person of 17",                          "MPI_BOARDING",                  AGE_17,  "X-MPI-BOARDING"),
    ("X-MPI-BOARDING excludes a person of 18",                          "MPI_BOARDING",                  AGE_18,  "X-MPI-BOARDING"),
    ("a SUPPORT_NEED record does not exclude the ZZB (18)",             "SUPPORT_NEED",                  AGE_18,  None),
    ("a SUPPORT_NEED record does not exclude the ZZB (17)",             "SUPPORT_NEED",                  AGE_17,  None),
]
# fmt: on


AGES_RUN = Batch([situation(birth, {"vaph_support": [vaph("X1", kind, SINCE_2020)]}) for _, kind, birth, _ in AGES])


@pytest.mark.parametrize("i, kind, birth, failing", indexed(AGES))
def test_zzb_exclusion_by_age(i, kind, birth, failing):
    """X-VAPH-PVB and X-VAPH-NRTH from 18, X-VAPH-PAB under 18, the others at any age (age on first(M))."""
    row = zzb_month(AGES_RUN[i])
    assert outcome(row) == expected(failing)
    if failing:
        assert "vaph_support:X1" in row["evidence"]


# A period is judged on its first month, and AGE_17 is 16 on the first month of the period that holds M
# (the window's, 2024-12): these cases are 17 on the window's first month itself, a day before turning 18.
AGE_17_AT_WINDOW_START = D(2006, 12, 2)
WINDOW_START = D(2024, 12, 1)

# fmt: off
AGES_AT_PERIOD_START = [
    # name                                                                          support_kind  failing
    ("X-VAPH-PVB does not exclude a person of 17 on the first month of a period",  "PVB",        None),
    ("X-VAPH-NRTH does not exclude a person of 17 on the first month of a period", "NRTH",       None),
    ("X-VAPH-PAB excludes a person of 17 on the first month of a period",          "PAB",        "X-VAPH-PAB"),
]
# fmt: on


AGES_AT_PERIOD_START_RUN = Batch(
    [
        situation(AGE_17_AT_WINDOW_START, {"vaph_support": [vaph("X1", kind, SINCE_2020)]})
        for _, kind, _ in AGES_AT_PERIOD_START
    ]
)


@pytest.mark.parametrize("i, kind, failing", indexed(AGES_AT_PERIOD_START))
def test_zzb_exclusion_by_age_at_the_start_of_a_period(i, kind, failing):
    """X-VAPH-PVB and X-VAPH-NRTH from 18, X-VAPH-PAB under 18: 17 on first(M) when M begins a period."""
    row = zzb_month(AGES_AT_PERIOD_START_RUN[i], WINDOW_START)
    assert outcome(row) == expected(failing)


# --- Active on first(M) ----------------------------------------------------------------------------

BEFORE = D(2026, 10, 31)  # the day before first(M)
SECOND = D(2026, 11, 2)

# fmt: off
ACTIVE = [
    # name                                                              support_kind                    birth    start       end      failing
    ("X-VAPH-PVB ending on first(M) still excludes M",                 "PVB",                          AGE_18,  SINCE_2020, M,       "X-VAPH-PVB"),
    ("X-VAPH-PVB ending the day before first(M) does not",             "PVB",                          AGE_18,  SINCE_2020, BEFORE,  None),
    ("X-VAPH-PVB starting on first(M) excludes M",                     "PVB",                          AGE_18,  M,          None,    "X-VAPH-PVB"),
    ("X-VAPH-PVB starting on the 2nd does not exclude M",              "PVB",                          AGE_18,  SECOND,     None,    None),
    ("X-VAPH-NRTH ending on first(M) still excludes M",                "NRTH",                         AGE_18,  SINCE_2020, M,       "X-VAPH-NRTH"),
    ("X-VAPH-NRTH ending the day before first(M) does not",            "NRTH",                         AGE_18,  SINCE_2020, BEFORE,  None),
    ("X-VAPH-PAB ending on first(M) still excludes M",                 "PAB",                          AGE_17,  SINCE_2020, M,       "X-VAPH-PAB"),
    ("X-VAPH-PAB ending the day before first(M) does not",             "PAB",                          AGE_17,  SINCE_2020, BEFORE,  None),
    ("X-VAPH-MFC ending on first(M) still excludes M",                 "MFC_FULLTIME",                 AGE_18,  SINCE_2020, M,       "X-VAPH-MFC"),
    ("X-VAPH-MFC ending the day before first(M) does not",             "MFC_FULLTIME",                 AGE_18,  SINCE_2020, BEFORE,  None),
    ("X-VAPH-MFC starting on the 2nd does not exclude M",              "MFC_FULLTIME",                 AGE_18,  SECOND,     None,    None),
    ("X-VAPH-ADULT-OUTSIDE ending on first(M) still excludes M",       "ADULT_FACILITY_OUTSIDE_VL",    AGE_18,  SINCE_2020, M,       "X-VAPH-ADULT-OUTSIDE"),
    ("X-VAPH-ADULT-OUTSIDE ending the day before first(M) does not",   "ADULT_FACILITY_OUTSIDE_VL",    AGE_18,  SINCE_2020, BEFORE,  None),
    ("X-VAPH-MINOR-OUTSIDE ending on first(M) still excludes M",       "MINOR_RESIDENTIAL_OUTSIDE_VL", AGE_17,  SINCE_2020, M,       "X-VAPH-MINOR-OUTSIDE"),
    ("X-VAPH-MINOR-OUTSIDE ending the day before first(M) does not",   "MINOR_RESIDENTIAL_OUTSIDE_VL", AGE_17,  SINCE_2020, BEFORE,  None),
    ("X-VAPH-AMBULATORY-OUTSIDE ending on first(M) still excludes M",  "ADULT_AMBULATORY_OUTSIDE_VL",  AGE_18,  SINCE_2020, M,       "X-VAPH-AMBULATORY-OUTSIDE"),
    ("X-VAPH-AMBULATORY-OUTSIDE ending the day before does not",       "ADULT_AMBULATORY_OUTSIDE_VL",  AGE_18,  SINCE_2020, BEFORE,  None),
    ("X-MPI-BOARDING ending on first(M) still excludes M",             "MPI_BOARDING",                 AGE_17,  SINCE_2020, M,       "X-MPI-BOARDING"),
    ("X-MPI-BOARDING ending the day before first(M) does not",         "MPI_BOARDING",                 AGE_17,  SINCE_2020, BEFORE,  None),
]
# fmt: on


ACTIVE_RUN = Batch([situation(c[2], {"vaph_support": [vaph("X1", c[1], c[3], c[4])]}) for c in ACTIVE])


@pytest.mark.parametrize("i, kind, birth, start, end, failing", indexed(ACTIVE))
def test_zzb_exclusion_active_on_first_of_month(i, kind, birth, start, end, failing):
    """An exclusion counts when its record is active on first(M): start <= first(M) <= end (end null: open)."""
    assert outcome(zzb_month(ACTIVE_RUN[i])) == expected(failing)


# --- T-NRTH-2017 -----------------------------------------------------------------------------------

# fmt: off
TRANSITION = [
    # name                                                                  records                                                                          birth    status          fails
    ("T-NRTH-2017 NRTH started on 2017-01-01: pending, not refused",       [vaph("N1", "NRTH", D(2017, 1, 1))],                                             AGE_18,  "PENDING",      ["T-NRTH-2017"]),
    ("T-NRTH-2017 NRTH started in 2016: pending",                          [vaph("N1", "NRTH", D(2016, 6, 1))],                                             AGE_18,  "PENDING",      ["T-NRTH-2017"]),
    ("T-NRTH-2017 NRTH started on 2017-01-02: X-VAPH-NRTH excludes",       [vaph("N1", "NRTH", D(2017, 1, 2))],                                             AGE_18,  "NOT_ENTITLED", ["X-VAPH-NRTH"]),
    ("T-NRTH-2017 does not apply to a person of 17",                       [vaph("N1", "NRTH", D(2017, 1, 1))],                                             AGE_17,  "ENTITLED",     []),
    ("T-NRTH-2017 with another exclusion active: not entitled",            [vaph("N1", "NRTH", D(2017, 1, 1)), vaph("P1", "PVB", SINCE_2020)],              AGE_18,  "NOT_ENTITLED", ["X-VAPH-PVB", "T-NRTH-2017"]),
    ("T-NRTH-2017 an old NRTH ended before first(M) is no transition",     [vaph("N1", "NRTH", D(2016, 6, 1), BEFORE)],                                     AGE_18,  "ENTITLED",     []),
]
# fmt: on


TRANSITION_RUN = Batch([situation(birth, {"vaph_support": records}) for _, records, birth, _, _ in TRANSITION])


@pytest.mark.parametrize("i, records, birth, status, fails", indexed(TRANSITION))
def test_t_nrth_2017(i, records, birth, status, fails):
    """T-NRTH-2017: an adult's NRTH record active on first(M) with start_date <= 2017-01-01 puts the month on
    hold (PENDING, the zorgkas decides) instead of excluding it (X-VAPH-NRTH)."""
    row = zzb_month(TRANSITION_RUN[i])
    assert outcome(row) == (status, fails)
    if status == "PENDING":
        assert not row["entitled"]
        assert "vaph_support:N1" in row["evidence"]


def test_t_nrth_2017_with_a_failing_condition_is_not_pending():
    """T-NRTH-2017: a month that fails a condition is not entitled, not pending."""
    decided = run(
        members=[member(affiliation_end=D(2026, 6, 30))],
        medsoc_scales=[standing_ground()],
        vaph_support=[vaph("N1", "NRTH", D(2017, 1, 1))],
    )
    assert decided.status("ZZB", D(2026, 6, 1)) == "PENDING"
    assert outcome(decided.month("ZZB", D(2026, 7, 1))) == ("NOT_ENTITLED", ["E-AFFILIATED", "T-NRTH-2017"])


# --- X-SPECIAL-STAY --------------------------------------------------------------------------------

# fmt: off
SPECIAL = [
    # name                                                                     stay changes                                                                         failing
    ("X-SPECIAL-STAY a WZC in VL with COMA_NAH excludes, whatever other ground", dict(special_category="COMA_NAH"),                                                  "X-SPECIAL-STAY"),
    ("X-SPECIAL-STAY a PVT in VL with MS_ALS_HUNTINGTON excludes",             dict(facility_kind="PVT", special_category="MS_ALS_HUNTINGTON"),                    "X-SPECIAL-STAY"),
    ("X-SPECIAL-STAY ACCIDENT_INSURER excludes",                               dict(special_category="ACCIDENT_INSURER"),                                          "X-SPECIAL-STAY"),
    ("X-SPECIAL-STAY a special stay discharged on first(M) still excludes M",  dict(special_category="COMA_NAH", discharge_date=M),                                 "X-SPECIAL-STAY"),
    ("X-SPECIAL-STAY discharged the day before first(M) does not exclude M",   dict(special_category="COMA_NAH", discharge_date=BEFORE),                            None),
    ("X-SPECIAL-STAY admitted on the 2nd does not exclude M",                  dict(special_category="COMA_NAH", admission_date=SECOND),                            None),
    ("X-SPECIAL-STAY a special stay in Brussels is no exclusion",              dict(special_category="COMA_NAH", facility_region="BXL"),                           None),
    ("X-SPECIAL-STAY a special stay not recognised by Flanders is none",       dict(special_category="COMA_NAH", recognised_by_flanders=False),                    None),
    ("X-SPECIAL-STAY a service flat with a special category is none",          dict(special_category="COMA_NAH", facility_kind="SERVICEFLAT"),                     None),
    ("X-SPECIAL-STAY an ordinary stay is no exclusion",                        dict(),                                                                             None),
    ("X-SPECIAL-STAY recognition unknown (null) is no exclusion (never null)", dict(special_category="COMA_NAH", recognised_by_flanders=None),                     None),
]
# fmt: on


SPECIAL_RUN = Batch(
    [situation(D(1985, 7, 31), {"facility_stays": [stay("FS1", D(2025, 6, 1), **c[1])]}) for c in SPECIAL]
)


@pytest.mark.parametrize("i, changes, failing", indexed(SPECIAL))
def test_x_special_stay(i, changes, failing):
    """X-SPECIAL-STAY: a stay in a recognised WZC or PVT in VL with a special_category, active on first(M),
    excludes the month even when another ground (here G-MEDSOC) gives the right."""
    row = zzb_month(SPECIAL_RUN[i])
    assert outcome(row) == expected(failing)
    if failing:
        assert "facility_stays:FS1" in row["evidence"]


# --- Resumption ------------------------------------------------------------------------------------


def test_exclusion_ended_resumes_at_once_without_a_new_delay():
    """§3: when an exclusion (X-VAPH-PVB) ends, the next month whose first day it no longer covers is
    entitled again, without a new ZZB-START delay."""
    decided = run(medsoc_scales=[standing_ground()], vaph_support=[vaph("P1", "PVB", D(2025, 3, 1), D(2025, 10, 15))])
    assert decided.entitled("ZZB", D(2025, 2, 1))
    assert not decided.entitled("ZZB", D(2025, 3, 1))
    assert not decided.entitled("ZZB", D(2025, 10, 1))
    assert decided.entitled("ZZB", D(2025, 11, 1))


def test_exclusion_during_the_delay_ends_into_the_right_that_already_started():
    """§3: a ground found while a PVB is active starts its delay as usual; the PVB ending later does not
    restart it: the first month after the PVB is entitled."""
    decided = run(
        medsoc_scales=[],
        belrai_screeners=[screener("BR1", D(2025, 3, 10))],
        vaph_support=[vaph("P1", "PVB", D(2025, 1, 1), D(2025, 10, 15))],
    )
    assert decided.entitled_months("ZZB")[0] == D(2025, 11, 1)
    assert decided.status("ZZB", D(2025, 7, 1)) == "NOT_ENTITLED"  # inside the right, excluded
    assert decided.month("ZZB", D(2025, 7, 1))["fails"] == ["X-VAPH-PVB"]


def test_special_stay_ended_resumes_on_the_other_ground():
    """X-SPECIAL-STAY: after the special stay ends, the other ground's right pays again at once."""
    decided = run(
        medsoc_scales=[scale("MS1", "IT", D(2024, 1, 1))],
        facility_stays=[stay("FS1", D(2025, 4, 10), D(2025, 8, 31), special_category="COMA_NAH")],
    )
    assert decided.entitled("ZZB", D(2025, 4, 1))
    assert not decided.entitled("ZZB", D(2025, 5, 1))
    assert not decided.entitled("ZZB", D(2025, 8, 1))
    assert decided.entitled("ZZB", D(2025, 9, 1))
