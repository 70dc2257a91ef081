"""G-ABSENCE, docs/spec/rules.md §4: lump sums for days absent from an MFC or a residential facility for minors
outside Flanders (the exception to X-VAPH-MFC and X-VAPH-MINOR-OUTSIDE).

The default case: an adult member domiciled in VL since birth, with a care-need episode open since
2020 (a G-MEDSOC scale: right from 2020-05-01), an MFC_FULLTIME record for school year 2024
(1 September 2024 to 31 August 2025), decided on 2026-11-20 (window 2024-12 to 2026-11).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipelines.decide.absence import ABSENCE_COLUMNS
from tests.helpers.decide import (
    Batch,
    Run,
    cases,
    indexed,
    member,
    money,
    residence,
    run,
    scale,
    standing_ground,
    vaph,
)

D = dt.date
RUN = D(2026, 11, 20)
DAY = D(2025, 8, 31)  # the last day of school year 2024


def absence(record_id: str = "A1", days: int = 45, year: int = 2024, kind: str = "MFC_FULLTIME") -> dict:
    return vaph(record_id, kind, D(year, 9, 1), D(year + 1, 8, 31), school_year=year, absence_days=days)


def situation(**records) -> dict:
    """The default case with `records` instead of the feeds they name."""
    return {"medsoc_scales": [standing_ground()], "vaph_support": [absence()]} | records


def absences(decided: Run) -> list[dict]:
    return decided.absences.sort("school_year").to_dicts()


# --- How many budgets ------------------------------------------------------------------------------

# fmt: off
QUANTITY = [
    # name                                                                      records                                                                          quantity
    ("G-ABSENCE 30 days absent give no budget",                                 [absence("A1", 30)],                                                             None),
    ("G-ABSENCE 31 days absent give one budget",                                [absence("A1", 31)],                                                             1),
    ("G-ABSENCE 100 days absent give one budget",                               [absence("A1", 100)],                                                            1),
    ("G-ABSENCE 101 days absent give two budgets",                              [absence("A1", 101)],                                                            2),
    ("G-ABSENCE 366 days absent give two budgets, no more",                     [absence("A1", 366)],                                                            2),
    ("G-ABSENCE 0 days absent give no budget",                                  [absence("A1", 0)],                                                              None),
    ("G-ABSENCE null absence days give no budget",                              [absence("A1", None)],                                                           None),
    ("G-ABSENCE minor residential care outside VL counts like an MFC",          [absence("A1", 101, kind="MINOR_RESIDENTIAL_OUTSIDE_VL")],                       2),
    ("G-ABSENCE absence days on another support kind give no budget",           [absence("A1", 101, kind="PVB")],                                                None),
    ("G-ABSENCE two records of a year, 31 and 101: the highest count (two)",    [absence("A1", 31), absence("A2", 101)],                                         2),
    ("G-ABSENCE two records of a year, 60 and 60: one budget, not the sum",     [absence("A1", 60), absence("A2", 60)],                                          1),
    ("G-ABSENCE two records of a year, 20 and 20: none, not the sum",           [absence("A1", 20), absence("A2", 20)],                                          None),
    ("G-ABSENCE MFC and minor care in one year: the highest count",             [absence("A1", 40), absence("A2", 120, kind="MINOR_RESIDENTIAL_OUTSIDE_VL")],    2),
]
# fmt: on


QUANTITY_RUN = Batch([situation(vaph_support=records) for _, records, _ in QUANTITY])


@pytest.mark.parametrize("i, records, quantity", indexed(QUANTITY))
def test_g_absence_quantity(i, records, quantity):
    """G-ABSENCE: more than 30 days absent give one care budget, more than 100 give two; several records of
    the same person and school year give the highest count, not the sum."""
    rows = absences(QUANTITY_RUN[i])
    if quantity is None:
        assert rows == []
        return
    assert len(rows) == 1
    row = rows[0]
    assert (row["school_year"], row["month"], row["quantity"], row["due"]) == (2024, DAY, quantity, True)
    assert row["amount"] == Decimal("140.00") * quantity
    assert "vaph_support:A1" in row["evidence"] or "vaph_support:A2" in row["evidence"]


def test_g_absence_each_school_year_on_its_own():
    """G-ABSENCE: records of different school years are not combined: one row per school year."""
    rows = absences(run(**situation(vaph_support=[absence("A1", 60, 2024), absence("A2", 60, 2025)])))
    assert [(r["school_year"], r["month"], r["quantity"], r["due"]) for r in rows] == [
        (2024, D(2025, 8, 31), 1, True),
        (2025, D(2026, 8, 31), 1, True),
    ]


# --- When it is due --------------------------------------------------------------------------------

# fmt: off
DUE = [
    # name                                                                        run date          school year  due
    ("G-ABSENCE 31 August Y+1 before the run date: due",                          D(2025, 9, 1),    2024,        True),
    ("G-ABSENCE 31 August Y+1 on the run date itself: not yet due",               D(2025, 8, 31),   2024,        False),
    ("G-ABSENCE a school year still running: not due",                            RUN,                2026,      False),
    ("G-ABSENCE 31 August Y+1 in the first month of the window: due",             D(2026, 7, 20),   2023,        True),
    ("G-ABSENCE 31 August Y+1 just before the window: not due",                   D(2026, 8, 20),   2023,        False),
]
# fmt: on


@pytest.mark.parametrize("run_date, year, due", cases(DUE))
def test_g_absence_due_date(run_date, year, due):
    """G-ABSENCE: due only when 31 August Y+1 is before the run date and in the evaluation window."""
    rows = absences(run(run_date, **situation(vaph_support=[absence("A1", 45, year)])))
    assert [(r["school_year"], r["month"], r["due"]) for r in rows] == [(year, D(year + 1, 8, 31), due)]


# --- The running file on 31 August Y+1 -------------------------------------------------------------

ADULT = D(1985, 7, 31)

# fmt: off
RUNNING = [
    # name                                                                        member changes                           residence                                      scales                                                        failing
    ("G-ABSENCE a running file on 31 August: due",                                {},                                      None,                                          [standing_ground()],                                          None),
    ("G-ABSENCE affiliation ending on 31 August: still due",                      {"affiliation_end": DAY},                None,                                          [standing_ground()],                                          None),
    ("G-ABSENCE affiliation ending on 30 August: not due",                        {"affiliation_end": D(2025, 8, 30)},     None,                                          [standing_ground()],                                          "E-AFFILIATED"),
    ("G-ABSENCE affiliation starting on 1 September: not due",                    {"affiliation_start": D(2025, 9, 1)},    None,                                          [standing_ground()],                                          "E-AFFILIATED"),
    ("G-ABSENCE death on 31 August: still due",                                   {"death_date": DAY},                     None,                                          [standing_ground()],                                          None),
    ("G-ABSENCE death on 30 August: not due",                                     {"death_date": D(2025, 8, 30)},          None,                                          [standing_ground()],                                          "E-ALIVE"),
    ("G-ABSENCE an episode ending on 31 August contains the day: due",            {},                                      None,                                          [scale("MS1", "IT", D(2020, 1, 1), valid_until=DAY)],         None),
    ("G-ABSENCE an episode ending on 30 August: not due",                         {},                                      None,                                          [scale("MS1", "IT", D(2020, 1, 1), valid_until=D(2025, 8, 30))], "ZZB-START"),
    ("G-ABSENCE an episode starting on 1 September: not due",                     {},                                      None,                                          [scale("MS1", "IT", D(2025, 9, 1))],                          "ZZB-START"),
    ("G-ABSENCE a right from 1 August (episode from 15 April): due",              {},                                      None,                                          [scale("MS1", "IT", D(2025, 4, 15))],                         None),
    ("G-ABSENCE a right only from 1 September (episode from 1 May): not due",     {},                                      None,                                          [scale("MS1", "IT", D(2025, 5, 1))],                          "ZZB-START"),
    ("G-ABSENCE no care-need ground at all: not due",                             {},                                      None,                                          [],                                                           "ZZB-START"),
    ("G-ABSENCE E-RESIDENCE: 5 years 2020..2024 hold for August 2025",            {},                                      [residence("WAL", ADULT, D(2019, 12, 31)), residence("VL", D(2020, 1, 1))], [standing_ground()],           None),
    ("G-ABSENCE E-RESIDENCE: 4 years 2021..2024 do not",                          {},                                      [residence("WAL", ADULT, D(2020, 12, 31)), residence("VL", D(2021, 1, 1))], [standing_ground()],           "E-RESIDENCE"),
    ("G-ABSENCE E-RESIDENCE: 17 on 1 August 2025 holds without residence",        {"birth_date": D(2007, 8, 2)},           [residence("WAL", D(2007, 8, 2))],             [standing_ground()],                                          None),
    ("G-ABSENCE E-RESIDENCE: 18 on 1 August 2025 fails without residence",        {"birth_date": D(2007, 8, 1)},           [residence("WAL", D(2007, 8, 1))],             [standing_ground()],                                          "E-RESIDENCE"),
    ("G-ABSENCE E-RESIDENCE: EU-insured since 1 January 2025 holds",              {"eu_insured_since": D(2025, 1, 1)},     [residence("WAL", ADULT)],                     [standing_ground()],                                          None),
    ("G-ABSENCE E-RESIDENCE: EU-insured since 2 January 2025 fails",              {"eu_insured_since": D(2025, 1, 2)},     [residence("WAL", ADULT)],                     [standing_ground()],                                          "E-RESIDENCE"),
]
# fmt: on


RUNNING_RUN = Batch([situation(members=[member(**c[1])], residence_periods=c[2], medsoc_scales=c[3]) for c in RUNNING])


@pytest.mark.parametrize("i, changes, residence_rows, scales, failing", indexed(RUNNING))
def test_g_absence_running_file(i, changes, residence_rows, scales, failing):
    """G-ABSENCE: due only when, on 31 August Y+1, the member is affiliated and alive, a care-need episode
    contains the day and its right started on or before it, and E-RESIDENCE holds as for August Y+1."""
    rows = absences(RUNNING_RUN[i])
    assert len(rows) == 1
    row = rows[0]
    assert row["due"] is (failing is None)
    assert row["fails"] == ([] if failing is None else [failing])
    assert "G-ABSENCE" in row["holds"]


# --- Amount ----------------------------------------------------------------------------------------

# fmt: off
AMOUNTS = [
    # name                                                                     run date         school year  days  amount
    ("G-ABSENCE 31 August 2023: one budget at 135.00 (in force 2023)",        D(2025, 6, 20),  2022,        45,   Decimal("135.00")),
    ("G-ABSENCE 31 August 2023: two budgets at 135.00",                       D(2025, 6, 20),  2022,        101,  Decimal("270.00")),
    ("G-ABSENCE 31 August 2024: one budget at 140.00 (in force from 2024)",   D(2025, 6, 20),  2023,        45,   Decimal("140.00")),
    ("G-ABSENCE 31 August 2024: two budgets at 140.00",                       D(2025, 6, 20),  2023,        101,  Decimal("280.00")),
]
# fmt: on


AMOUNTS_RUN = Batch([situation(vaph_support=[absence("A1", c[3], c[2])]) for c in AMOUNTS], run_date=D(2025, 6, 20))


@pytest.mark.parametrize("i, run_date, year, days, amount", indexed(AMOUNTS))
def test_g_absence_amount(i, run_date, year, days, amount):
    """G-ABSENCE: amount = the ZZB monthly amount in force on 31 August Y+1 (135.00 from 2023-01-01, 140.00 from
    2024-01-01) times the quantity, as one row."""
    assert run_date == D(2025, 6, 20)  # the run of AMOUNTS_RUN
    rows = absences(AMOUNTS_RUN[i])
    assert [(r["school_year"], r["due"], r["amount"]) for r in rows] == [(year, True, amount)]
    assert rows[0]["zorgkas"] == "ZK100"


def test_g_absence_month_is_excluded_but_the_lump_sum_is_due():
    """G-ABSENCE is an exception to X-VAPH-MFC: the months of the MFC stay stay excluded; the lump sum is due."""
    decided = run(**situation())
    assert decided.month("ZZB", D(2025, 3, 1))["fails"] == ["X-VAPH-MFC"]
    assert decided.absences["due"].to_list() == [True]


# --- Amount: both sides of a `from` date -----------------------------------------------------------


def priced_absences(zzb: list[tuple]) -> list[tuple]:
    """(school_year, amount) of the default case decided with the ZZB monthly amounts `zzb` (from, to, amount)."""
    return [(r["school_year"], r["amount"]) for r in absences(run(zzb_amounts=money(zzb), **situation()))]


LATER = D(9999, 12, 31)

# fmt: off
AMOUNT_FROM = [
    # name                                                                      ZZB monthly amounts (from, to, amount)                                                            amount
    ("G-ABSENCE an amount in force from 31 August Y+1 prices that day",        [(D(2023, 1, 1), D(2025, 8, 30), Decimal("140.00")), (D(2025, 8, 31), LATER, Decimal("150.00"))], Decimal("150.00")),
    ("G-ABSENCE an amount in force through 31 August Y+1 prices that day",     [(D(2023, 1, 1), D(2025, 8, 31), Decimal("140.00")), (D(2025, 9, 1), LATER, Decimal("150.00"))],  Decimal("140.00")),
]
# fmt: on


@pytest.mark.parametrize("zzb, amount", cases(AMOUNT_FROM))
def test_g_absence_amount_on_either_side_of_a_from_date(zzb, amount):
    """G-ABSENCE: the ZZB monthly amount in force on 31 August Y+1, also when a new amount holds from that very
    day or from the day after (a dated parameter's `from`)."""
    assert priced_absences(zzb) == [(2024, amount)]


def test_g_absence_rows_have_the_columns_and_types_of_absences_parquet():
    """G-ABSENCE: the rows are ABSENCE_COLUMNS exactly: amount is decimal(12,2), the money type of every output."""
    assert dict(run(**situation()).absences.schema) == ABSENCE_COLUMNS
