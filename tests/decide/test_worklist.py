"""Work lists, docs/spec/rules.md §5: W-APPLY-SPECIAL, W-APPLY-FACILITY, W-NRTH-TRANSITION, W-CHECK-RESIDENCE.

Run date D = 2026-11-20 (month of D: November 2026). Each case gives the rows the work list
must hold for the code: (since, evidence), or none.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.decide.worklist import trailing_run_start
from tests.helpers.decide import (
    RUN,
    Batch,
    Run,
    cases,
    indexed,
    member,
    residence,
    run,
    scale,
    screener,
    standing_ground,
    stay,
    support_need,
    vaph,
)

D = dt.date
ADMITTED = D(2025, 6, 1)
FS1 = ["facility_stays:FS1"]


def work(decided: Run, code: str) -> list[tuple]:
    """(since, evidence) of the person's work list rows of `code`, each with the member's zorgkas."""
    rows = decided.work(code)
    assert all((r["insz"], r["zorgkas"], r["code"]) == (decided.insz, "ZK100", code) for r in rows)
    return [(r["since"], r["evidence"]) for r in rows]


# --- W-APPLY-SPECIAL -------------------------------------------------------------------------------

COMA = dict(special_category="COMA_NAH")

# fmt: off
SPECIAL = [
    # name                                                                          records                                                                                           rows (since, evidence)
    ("W-APPLY-SPECIAL a special stay active on D is listed since admission",        dict(facility_stays=[stay("FS1", ADMITTED, **COMA)]),                                             [(ADMITTED, FS1)]),
    ("W-APPLY-SPECIAL listed whatever other ground exists",                         dict(facility_stays=[stay("FS1", ADMITTED, **COMA)], medsoc_scales=[standing_ground()]),          [(ADMITTED, FS1)]),
    ("W-APPLY-SPECIAL a PVT with MS_ALS_HUNTINGTON is listed",                      dict(facility_stays=[stay("FS1", ADMITTED, facility_kind="PVT", special_category="MS_ALS_HUNTINGTON")]), [(ADMITTED, FS1)]),
    ("W-APPLY-SPECIAL discharged on D: still listed",                               dict(facility_stays=[stay("FS1", ADMITTED, RUN, **COMA)]),                                        [(ADMITTED, FS1)]),
    ("W-APPLY-SPECIAL discharged the day before D: not listed",                     dict(facility_stays=[stay("FS1", ADMITTED, D(2026, 11, 19), **COMA)]),                            []),
    ("W-APPLY-SPECIAL admitted on D: listed",                                       dict(facility_stays=[stay("FS1", RUN, **COMA)]),                                                  [(RUN, FS1)]),
    ("W-APPLY-SPECIAL admitted the day after D: not listed",                        dict(facility_stays=[stay("FS1", D(2026, 11, 21), **COMA)]),                                      []),
    ("W-APPLY-SPECIAL a special stay in Brussels is not (W-APPLY-FACILITY)",        dict(facility_stays=[stay("FS1", ADMITTED, facility_region="BXL", **COMA)]),                     []),
    ("W-APPLY-SPECIAL a special stay not recognised is not (W-APPLY-FACILITY)",     dict(facility_stays=[stay("FS1", ADMITTED, recognised_by_flanders=False, **COMA)]),              []),
    ("W-APPLY-SPECIAL a service flat with a special category is not listed",        dict(facility_stays=[stay("FS1", ADMITTED, facility_kind="SERVICEFLAT", **COMA)]),               []),
    ("W-APPLY-SPECIAL an ordinary stay is not listed",                              dict(facility_stays=[stay("FS1", ADMITTED)]),                                                     []),
]
# fmt: on


SPECIAL_RUN = Batch([records for _, records, _ in SPECIAL])


@pytest.mark.parametrize("i, records, expected", indexed(SPECIAL))
def test_w_apply_special(i, records, expected):
    """W-APPLY-SPECIAL: a stay in a recognised WZC or PVT in VL with a special_category active on D."""
    assert work(SPECIAL_RUN[i], "W-APPLY-SPECIAL") == expected


# --- W-APPLY-FACILITY ------------------------------------------------------------------------------

BXL = dict(facility_region="BXL")

# fmt: off
FACILITY = [
    # name                                                                          records                                                                                             rows
    ("W-APPLY-FACILITY a WZC in Brussels active on D, no right: listed",            dict(facility_stays=[stay("FS1", ADMITTED, **BXL)]),                                                [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY a PVT in Wallonia: listed",                                  dict(facility_stays=[stay("FS1", ADMITTED, facility_kind="PVT", facility_region="WAL")]),            [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY a WZC in VL not recognised by Flanders: listed",             dict(facility_stays=[stay("FS1", ADMITTED, recognised_by_flanders=False)]),                         [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY a special stay in Brussels: listed",                         dict(facility_stays=[stay("FS1", ADMITTED, **BXL, **COMA)]),                                        [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY discharged on D: still listed",                              dict(facility_stays=[stay("FS1", ADMITTED, RUN, **BXL)]),                                           [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY discharged the day before D: not listed",                    dict(facility_stays=[stay("FS1", ADMITTED, D(2026, 11, 19), **BXL)]),                               []),
    ("W-APPLY-FACILITY a service flat in Brussels is not listed",                   dict(facility_stays=[stay("FS1", ADMITTED, facility_kind="SERVICEFLAT", **BXL)]),                   []),
    ("W-APPLY-FACILITY a recognised WZC in VL is a ground, not listed",             dict(facility_stays=[stay("FS1", ADMITTED)]),                                                       []),
    ("W-APPLY-FACILITY another ground's right covering the month of D: not listed", dict(facility_stays=[stay("FS1", ADMITTED, **BXL)], medsoc_scales=[standing_ground()]),             []),
    ("W-APPLY-FACILITY a right ending in the month of D covers it: not listed",     dict(facility_stays=[stay("FS1", ADMITTED, **BXL)], medsoc_scales=[scale("MS1", "IT", D(2020, 1, 1), valid_until=D(2026, 11, 5))]), []),
    ("W-APPLY-FACILITY a right ended the month before D: listed",                   dict(facility_stays=[stay("FS1", ADMITTED, **BXL)], medsoc_scales=[scale("MS1", "IT", D(2020, 1, 1), valid_until=D(2026, 10, 31))]), [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY a right starting in the month of D covers it: not listed",   dict(facility_stays=[stay("FS1", ADMITTED, **BXL)], belrai_screeners=[screener("BR1", D(2026, 7, 31))]), []),
    ("W-APPLY-FACILITY an episode whose right starts after D: listed",              dict(facility_stays=[stay("FS1", ADMITTED, **BXL)], belrai_screeners=[screener("BR1", D(2026, 8, 1))]),  [(ADMITTED, FS1)]),
    ("W-APPLY-FACILITY a BOB right does not cover it: listed",                      dict(facility_stays=[stay("FS1", ADMITTED, **BXL)], vaph_support=[support_need()]),                 [(ADMITTED, FS1)]),
]
# fmt: on


FACILITY_RUN = Batch([records for _, records, _ in FACILITY])


@pytest.mark.parametrize("i, records, expected", indexed(FACILITY))
def test_w_apply_facility(i, records, expected):
    """W-APPLY-FACILITY: a WZC or PVT stay outside VL or not recognised by Flanders, active on D, while the
    month of D lies inside no care-need episode's right."""
    assert work(FACILITY_RUN[i], "W-APPLY-FACILITY") == expected


# --- W-NRTH-TRANSITION -----------------------------------------------------------------------------

OLD_NRTH = vaph("N1", "NRTH", D(2016, 1, 1))
MS1 = scale("MS1", "IT", D(2025, 3, 10))  # right from 2025-07-01
MS1_N1 = ["medsoc_scales:MS1", "vaph_support:N1"]

# fmt: off
TRANSITION = [
    # name                                                                          member changes                         records                                                                                    rows
    ("W-NRTH-TRANSITION pending in the month of D: listed since the right began",   {},                                    dict(medsoc_scales=[MS1], vaph_support=[OLD_NRTH]),                                        [(D(2025, 7, 1), MS1_N1)]),
    ("W-NRTH-TRANSITION since: the first month of the unbroken pending run",        {},                                    dict(medsoc_scales=[MS1], vaph_support=[OLD_NRTH, vaph("P1", "PVB", D(2025, 10, 1), D(2026, 1, 15))]), [(D(2026, 2, 1), MS1_N1)]),
    ("W-NRTH-TRANSITION an NRTH from 2017-01-01 still counts",                      {},                                    dict(medsoc_scales=[MS1], vaph_support=[vaph("N1", "NRTH", D(2017, 1, 1))]),               [(D(2025, 7, 1), MS1_N1)]),
    ("W-NRTH-TRANSITION an NRTH from 2017-01-02 excludes: not listed",              {},                                    dict(medsoc_scales=[MS1], vaph_support=[vaph("N1", "NRTH", D(2017, 1, 2))]),               []),
    ("W-NRTH-TRANSITION the NRTH ended before the month of D: not listed",          {},                                    dict(medsoc_scales=[MS1], vaph_support=[vaph("N1", "NRTH", D(2016, 1, 1), D(2026, 10, 31))]), []),
    ("W-NRTH-TRANSITION the month of D outside the right: not listed",              {},                                    dict(medsoc_scales=[scale("MS1", "IT", D(2025, 3, 10), valid_until=D(2026, 10, 31))], vaph_support=[OLD_NRTH]), []),
    ("W-NRTH-TRANSITION a condition failing in the month of D: not listed",         {"affiliation_end": D(2026, 10, 31)},  dict(medsoc_scales=[MS1], vaph_support=[OLD_NRTH]),                                        []),
    ("W-NRTH-TRANSITION a person of 17 is not in transition: not listed",           {"birth_date": D(2008, 11, 2)},        dict(medsoc_scales=[MS1], vaph_support=[OLD_NRTH]),                                        []),
]
# fmt: on


TRANSITION_RUN = Batch([dict(members=[member(**changes)], **records) for _, changes, records, _ in TRANSITION])


@pytest.mark.parametrize("i, changes, records, expected", indexed(TRANSITION))
def test_w_nrth_transition(i, changes, records, expected):
    """W-NRTH-TRANSITION: the month of D is inside the right and T-NRTH-2017 applies on its first day (the
    month is PENDING); since: the first month of the unbroken run of pending months ending with it."""
    assert work(TRANSITION_RUN[i], "W-NRTH-TRANSITION") == expected


# --- W-CHECK-RESIDENCE -----------------------------------------------------------------------------

TURNS_18 = D(2008, 3, 15)  # 17 on 2026-03-01, 18 on 2026-04-01: E-RESIDENCE fails from April 2026
WALLONIA = [residence("WAL", TURNS_18)]
BOTH_RIGHTS = dict(medsoc_scales=[standing_ground()], vaph_support=[support_need()])

# fmt: off
RESIDENCE = [
    # name                                                                          member changes                                              residence    records                                                                                       ZZB rows                                        BOB rows
    ("W-CHECK-RESIDENCE only E-RESIDENCE fails: listed for ZZB and BOB",            {"birth_date": TURNS_18},                                   WALLONIA,    BOTH_RIGHTS,                                                                                  [(D(2026, 4, 1), ["medsoc_scales:MS0"])],       [(D(2026, 4, 1), ["vaph_support:SN0"])]),
    ("W-CHECK-RESIDENCE from the month of D itself (18 on its first day)",          {"birth_date": D(2008, 11, 1)},                             [residence("WAL", D(2008, 11, 1))], BOTH_RIGHTS,                                                           [(D(2026, 11, 1), ["medsoc_scales:MS0"])],      [(D(2026, 11, 1), ["vaph_support:SN0"])]),
    ("W-CHECK-RESIDENCE since the first month of the run (whole window)",           {},                                                         [residence("WAL", D(1985, 7, 31))], BOTH_RIGHTS,                                                           [(D(2024, 12, 1), ["medsoc_scales:MS0"])],      [(D(2024, 12, 1), ["vaph_support:SN0"])]),
    ("W-CHECK-RESIDENCE E-RESIDENCE holds: not listed",                             {"birth_date": TURNS_18},                                   [residence("VL", TURNS_18)], BOTH_RIGHTS,                                                                  [],                                             []),
    ("W-CHECK-RESIDENCE holds again in the month of D (EU-insured): not listed",     {"birth_date": D(1985, 7, 31), "eu_insured_since": D(2026, 1, 1)}, [residence("WAL", D(1985, 7, 31))], BOTH_RIGHTS,                                  [],                                             []),
    ("W-CHECK-RESIDENCE E-AFFILIATED also fails: not listed",                       {"birth_date": TURNS_18, "affiliation_end": D(2026, 10, 31)}, WALLONIA,  BOTH_RIGHTS,                                                                                  [],                                             []),
    ("W-CHECK-RESIDENCE E-WAITING also fails (late voluntary): not listed",        {"birth_date": D(1985, 7, 31), "affiliation_basis": "ABROAD_EMPLOYER_BXL", "affiliation_start": D(2023, 1, 1)}, [residence("WAL", D(1985, 7, 31))], BOTH_RIGHTS, [],                  []),
    ("W-CHECK-RESIDENCE a ZZB exclusion also fails: only the BOB is listed",        {"birth_date": TURNS_18},                                   WALLONIA,    dict(medsoc_scales=[standing_ground()], vaph_support=[support_need(), vaph("X1", "ADULT_FACILITY_OUTSIDE_VL", D(2020, 1, 1))]), [], [(D(2026, 4, 1), ["vaph_support:SN0"])]),
    ("W-CHECK-RESIDENCE an adult's PVB also fails both: neither is listed",         {"birth_date": TURNS_18},                                   WALLONIA,    dict(medsoc_scales=[standing_ground()], vaph_support=[support_need(), vaph("X1", "PVB", D(2026, 5, 1))]), [],                                    []),
    ("W-CHECK-RESIDENCE T-NRTH-2017 also applies: the ZZB is not listed",           {"birth_date": TURNS_18},                                   WALLONIA,    dict(medsoc_scales=[standing_ground()], vaph_support=[support_need(), vaph("N1", "NRTH", D(2016, 1, 1))]), [], [(D(2026, 4, 1), ["vaph_support:SN0"])]),
    ("W-CHECK-RESIDENCE the month of D outside the right: not listed",              {"birth_date": TURNS_18},                                   WALLONIA,    dict(medsoc_scales=[scale("MS1", "IT", D(2020, 1, 1), valid_until=D(2026, 10, 31))]),         [],                                             []),
]
# fmt: on


RESIDENCE_RUN = Batch([dict(members=[member(**c[1])], residence_periods=c[2], **c[3]) for c in RESIDENCE])


@pytest.mark.parametrize("i, changes, residence_rows, records, zzb, bob", indexed(RESIDENCE))
def test_w_check_residence(i, changes, residence_rows, records, zzb, bob):
    """W-CHECK-RESIDENCE: for either budget, the month of D would be entitled except for E-RESIDENCE; since: the
    first month of the unbroken run of such months ending with the month of D; evidence: the right's records."""
    decided = RESIDENCE_RUN[i]
    by_budget = {"ZZB": [], "BOB": []}
    for r in decided.work("W-CHECK-RESIDENCE"):
        assert (r["insz"], r["zorgkas"]) == (decided.insz, "ZK100")
        by_budget[r["detail"].split(":")[0]].append((r["since"], r["evidence"]))
    assert by_budget == {"ZZB": zzb, "BOB": bob}


# fmt: off
MODES = [
    # name                                                        situation                                                                                                             codes
    ("W-NRTH-TRANSITION a pending transition",                    dict(medsoc_scales=[MS1], vaph_support=[OLD_NRTH]),                                                                   ["W-NRTH-TRANSITION"]),
    ("W-CHECK-RESIDENCE residence to prove for both budgets",     dict(members=[member(birth_date=TURNS_18)], residence_periods=WALLONIA, **BOTH_RIGHTS),                               ["W-CHECK-RESIDENCE", "W-CHECK-RESIDENCE"]),
    ("W-APPLY-SPECIAL and W-APPLY-FACILITY: two stays",           dict(facility_stays=[stay("FS1", ADMITTED, **COMA), stay("FS2", ADMITTED, facility_region="BXL")]),                    ["W-APPLY-FACILITY", "W-APPLY-SPECIAL"]),
]
# fmt: on


@pytest.mark.parametrize("situation, codes", cases(MODES))
def test_worklist_is_the_same_in_bulk_and_full_window(situation, codes):
    """W-*: the work list does not depend on whether every month of the window is decided (vsb explain)."""
    bulk = run(RUN, **situation).worklist.sort("code", "since", "detail")
    full = run(RUN, full_window=True, **situation).worklist.sort("code", "since", "detail")
    assert bulk["code"].to_list() == codes
    assert bulk.equals(full)


# --- the unbroken run behind `since` (W-NRTH-TRANSITION, W-CHECK-RESIDENCE) ----------------------------------

LAST = D(2026, 11, 1)


def since_of(spans: list[tuple]) -> list[tuple]:
    """trailing_run_start over periods (first_month, last_month, meets the condition, evidence) of one person."""
    periods = pl.LazyFrame(
        [dict(insz="A", first_month=f, last_month=la, meets=m, evidence=[e]) for f, la, m, e in spans],
        schema={
            "insz": pl.String,
            "first_month": pl.Date,
            "last_month": pl.Date,
            "meets": pl.Boolean,
            "evidence": pl.List(pl.String),
        },
    )
    found = trailing_run_start(periods, pl.col("meets"), LAST, ["insz"]).collect()
    return [(r["since"], sorted(r["evidence"])) for r in found.iter_rows(named=True)]


# fmt: off
RUNS = [
    # name                                                               periods (first, last, meets the condition, evidence)                                                    since, evidence
    ("W-CHECK-RESIDENCE since spans every adjoining period that meets it", [(D(2025, 1, 1), D(2025, 6, 1), True, "a"), (D(2025, 7, 1), LAST, True, "b")],                        [(D(2025, 1, 1), ["a", "b"])]),
    ("W-CHECK-RESIDENCE a period that does not meet it ends the run",      [(D(2025, 1, 1), D(2025, 6, 1), True, "a"), (D(2025, 7, 1), D(2025, 8, 1), False, "x"), (D(2025, 9, 1), LAST, True, "b")], [(D(2025, 9, 1), ["b"])]),
    ("W-CHECK-RESIDENCE a gap between periods ends the run",               [(D(2025, 1, 1), D(2025, 6, 1), True, "a"), (D(2025, 8, 1), LAST, True, "b")],                        [(D(2025, 8, 1), ["b"])]),
    ("W-NRTH-TRANSITION no run when the month of D does not meet it",      [(D(2025, 1, 1), D(2025, 6, 1), True, "a"), (D(2025, 7, 1), LAST, False, "b")],                       []),
    ("W-NRTH-TRANSITION no run when no period reaches the month of D",     [(D(2025, 1, 1), D(2026, 10, 1), True, "a")],                                                         []),
]
# fmt: on


@pytest.mark.parametrize(("spans", "expected"), cases(RUNS))
def test_since_is_the_start_of_the_unbroken_run_ending_in_the_month_of_d(spans, expected):
    """W-NRTH-TRANSITION, W-CHECK-RESIDENCE: `since` is the first month of the unbroken run of months that meet
    the rule and end with the month of D, across adjoining periods; the evidence is that of the run's periods."""
    assert since_of(spans) == expected
