"""Days, months and ages, docs/spec/rules.md §0: "Age on a day", "Active on a day", months and the evaluation window.

Every rule judges first(M) through these; the decision tests see them only on the first month of a period,
so their edges are tested here, directly.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.timeline import active_on, add_months, age_on, window_months
from tests.helpers.decide import cases

D = dt.date

# fmt: off
AGES = [
    # name                                                                 birth_date       day              age
    ("§0 age on the 18th birthday: 18",                                    D(2008, 11, 1),  D(2026, 11, 1),  18),
    ("§0 age the day before the 18th birthday: 17",                        D(2008, 11, 2),  D(2026, 11, 1),  17),
    ("§0 age with the birthday in a later month of the year: 17",          D(2008, 12, 1),  D(2026, 11, 1),  17),
    ("§0 age with the birthday in an earlier month of the year: 18",       D(2008, 10, 31), D(2026, 11, 1),  18),
    ("§0 age born on 29 February, on 28 February of a common year: 17",    D(2008, 2, 29),  D(2026, 2, 28),  17),
    ("§0 age born on 29 February, on 1 March of a common year: 18",        D(2008, 2, 29),  D(2026, 3, 1),   18),
    ("§0 age on the day of birth: 0",                                      D(2026, 11, 1),  D(2026, 11, 1),  0),
    ("§0 age unknown birth date: null",                                    None,            D(2026, 11, 1),  None),
]
# fmt: on


@pytest.mark.parametrize("birth_date, day, age", cases(AGES))
def test_age_on(birth_date, day, age):
    """§0 Age on a day: full years since birth_date."""
    frame = pl.DataFrame({"birth_date": [birth_date], "day": [day]}, schema={"birth_date": pl.Date, "day": pl.Date})
    assert frame.select(age_on(pl.col("birth_date"), pl.col("day"))).item() == age


DAY = D(2026, 11, 1)

# fmt: off
ACTIVE = [
    # name                                                       start            end              active
    ("§0 active: starting on the day",                           DAY,             None,            True),
    ("§0 active: starting the day after is not",                 D(2026, 11, 2),  None,            False),
    ("§0 active: ending on the day",                             D(2020, 1, 1),   DAY,             True),
    ("§0 active: ending the day before is not",                  D(2020, 1, 1),   D(2026, 10, 31), False),
    ("§0 active: a one-day record on its day",                   DAY,             DAY,             True),
    ("§0 active: an open record that started before",            D(2020, 1, 1),   None,            True),
    ("§0 active: no start (null) is never active, never null",   None,            None,            False),
]
# fmt: on


@pytest.mark.parametrize("start, end, active", cases(ACTIVE))
def test_active_on(start, end, active):
    """§0 Active on a day: start <= d and (end null or d <= end); never null."""
    frame = pl.DataFrame({"start": [start], "end": [end]}, schema={"start": pl.Date, "end": pl.Date})
    assert frame.select(active_on(pl.col("start"), pl.col("end"), pl.lit(DAY))).item() is active


# fmt: off
MONTHS = [
    # name                                                       month            months  expected
    ("§0 months: the next month",                                D(2026, 11, 1),  1,      D(2026, 12, 1)),
    ("§0 months: December to January of the next year",          D(2026, 12, 1),  1,      D(2027, 1, 1)),
    ("§0 months: January back to December of the year before",   D(2026, 1, 1),   -1,     D(2025, 12, 1)),
    ("§0 months: January to December of the same year",          D(2026, 1, 1),   11,     D(2026, 12, 1)),
    ("§0 months: zero months",                                   D(2026, 11, 1),  0,      D(2026, 11, 1)),
    ("§0 months: 23 back, the first month of a 24-month window", D(2026, 11, 1),  -23,    D(2024, 12, 1)),
]
# fmt: on


@pytest.mark.parametrize("month, months, expected", cases(MONTHS))
def test_add_months(month, months, expected):
    assert add_months(month, months) == expected


# fmt: off
WINDOWS = [
    # name                                                                  run date         months  first            last
    ("D-DECISION window: 24 months ending with the month of D",             D(2026, 11, 20), 24,     D(2024, 12, 1),  D(2026, 11, 1)),
    ("D-DECISION window: run on the first of a month",                      D(2026, 11, 1),  24,     D(2024, 12, 1),  D(2026, 11, 1)),
    ("D-DECISION window: one month is the month of D",                      D(2026, 1, 31),  1,      D(2026, 1, 1),   D(2026, 1, 1)),
]
# fmt: on


@pytest.mark.parametrize("run_date, months, first, last", cases(WINDOWS))
def test_window_months(run_date, months, first, last):
    """D-DECISION: the evaluation window is `months` months ending with the month of D, as first days."""
    assert window_months(run_date, months) == (first, last)
