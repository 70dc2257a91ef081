"""The parameter table (pipelines/params.py): a parameter added by one entry of the file, typed by its unit;
values per year; the runs of months between changes (`periods`) and values read per record (`read_on`)."""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import polars as pl
import pytest

from flows.reference import load_reference
from pipelines.params import SINCE_EVER, ParameterError, ParameterTable
from tests.helpers.decide import cases

D = dt.date
REF = load_reference()


def entry(unit: str, *values: tuple, **keys) -> dict:
    """A parameter file entry: (from, value) pairs."""
    return {"label": "a test parameter", "unit": unit, **keys} | {
        "values": [{"from": day, "value": value, "source": "test"} for day, value in values]
    }


def table(**entries: dict) -> ParameterTable:
    return ParameterTable(entries)


# --- types from the unit ------------------------------------------------------------------------

# fmt: off
UNITS = [
    # name                                              unit             written       read
    ("EUR: money, two decimals",                         "EUR",           "75",         Decimal("75.00")),
    ("EUR per month: money",                             "EUR per month", "140.00",     Decimal("140.00")),
    ("EUR per year: money",                              "EUR per year",  "35.5",       Decimal("35.50")),
    ("days: a whole number",                             "days",          "90",         90),
    ("working days: a whole number",                     "working days",  "5",          5),
    ("months: a whole number",                           "months",        "4",          4),
    ("years: a whole number",                            "years",         "18",         18),
    ("day of month: a whole number",                     "day of month",  "26",         26),
    ("points: a number",                                 "points",        "5.5",        5.5),
    ("ratio: a number",                                  "ratio",         "0.9",        0.9),
    ("date: a date",                                     "date",          "2017-01-01", D(2017, 1, 1)),
    ("MM-DD: (month, day)",                              "MM-DD",         "04-30",      (4, 30)),
]
# fmt: on


@pytest.mark.parametrize("unit, written, read", cases(UNITS))
def test_a_value_is_typed_by_its_unit(unit, written, read):
    p = table(x=entry(unit, (SINCE_EVER, written))).params_on(D(2026, 1, 1))
    assert p.x == read and type(p.x) is type(read)


def test_a_parameter_is_added_by_one_entry_of_the_file():
    """No code to edit: the new entry is read by name, typed by its unit, on the day it holds from."""
    spec = REF.parameters.spec | {"new_threshold": entry("points", (D(2026, 7, 1), "7.5"))}
    p = ParameterTable(spec).params_on(D(2026, 7, 1))
    assert p.new_threshold == 7.5 and p.belrai_total_min == 13.0
    with pytest.raises(ParameterError, match="new_threshold has no value in force on 2026-06-30"):
        _ = ParameterTable(spec).params_on(D(2026, 6, 30)).new_threshold


def test_every_parameter_of_the_file_reads_on_the_run_date_of_the_sample():
    p = REF.parameters.params_on(D(2026, 11, 26))
    for name in REF.parameters.names:
        assert getattr(p, name) is not None, name


# fmt: off
ENTRY_ERRORS = [
    # name                                   entries                                                                        message
    ("a unit the engine does not know",      {"x": entry("kilograms", (SINCE_EVER, "1"))},                                   "parameter x: unit 'kilograms' is not one of"),
    ("no unit",                              {"x": {"values": [{"from": SINCE_EVER, "value": "1"}]}},                        "parameter x: unit None is not one of"),
    ("a count that is not whole",            {"x": entry("days", (SINCE_EVER, "1.5"))},                                      "parameter x: value '1.5' from 1900-01-01 is not a whole value"),
    ("money that is not a number",           {"x": entry("EUR", (D(2026, 1, 1), "a lot"))},                                  "parameter x: value 'a lot' from 2026-01-01 is not a money value"),
    ("a day of the year that is none",       {"x": entry("MM-DD", (SINCE_EVER, "02-30"))},                                   "parameter x: value '02-30' from 1900-01-01 is not a day of year value"),
    ("a misspelt key",                       {"x": entry("days", (SINCE_EVER, "1"), per_yaer=True)},                         "parameter x: unknown key 'per_yaer'"),
    ("a name Params keeps for itself",       {"replace": entry("days", (SINCE_EVER, "1"))},                                  "parameter replace: a name Params keeps for itself"),
    ("no dated values",                      {"x": entry("days")},                                                           "parameter x: no dated values"),
    ("two values from the same date",        {"x": entry("days", (D(2020, 1, 1), "1"), (D(2020, 1, 1), "2"))},               "parameter x: two values from the same date"),
    ("a from that is not a date",            {"x": entry("days", ("soon", "1"))},                                            "parameter x: 'from' 'soon' is not a date"),
]
# fmt: on


@pytest.mark.parametrize("entries, message", cases(ENTRY_ERRORS))
def test_a_wrong_entry_fails_when_the_file_is_read_naming_the_parameter(entries, message):
    with pytest.raises(ParameterError) as failed:
        ParameterTable(entries)
    assert str(failed.value).startswith(message)


# --- Params: by name, immutable -------------------------------------------------------------------


def test_params_are_immutable_and_read_by_name():
    p = REF.parameters.params_on(D(2026, 11, 26))
    with pytest.raises(AttributeError, match="immutable"):
        p.payment_day = 1
    with pytest.raises(AttributeError, match="parameter payment_dya is not in the parameter file"):
        _ = p.payment_dya
    assert p.replace(payment_day=1).payment_day == 1 and p.payment_day == 26
    assert pickle.loads(pickle.dumps(p)) == p  # Dask workers receive them
    assert p.at(D(2023, 6, 1)).zzb_monthly == Decimal("135.00") and p.on == D(2026, 11, 26)


# --- per year -------------------------------------------------------------------------------------

PER_YEAR = table(
    premium=entry(
        "EUR per year", (D(2023, 1, 1), "58.00"), (D(2024, 1, 1), None), (D(2026, 1, 1), "100.00"), per_year=True
    ),
    fine=entry("EUR", (D(2023, 1, 1), "250.00")),
)

# fmt: off
YEARS = [
    # name                                                     day               premium                                                                      fine
    ("the first year with its own value",                      D(2023, 1, 1),    Decimal("58.00"),                                                             Decimal("250.00")),
    ("its last day",                                           D(2023, 12, 31),  Decimal("58.00"),                                                             Decimal("250.00")),
    ("a year known missing (null)",                            D(2024, 6, 1),    "parameter premium is missing for the year 2024 (test)",                      Decimal("250.00")),
    ("a year without a value of its own: not the one before",  D(2025, 1, 1),    "parameter premium has no value for the year 2025 (a value per year; the newest is from 2024-01-01)", Decimal("250.00")),
    ("the next year with its own value",                       D(2026, 1, 1),    Decimal("100.00"),                                                            Decimal("250.00")),
    ("a year after the newest: not carried on",                D(2030, 1, 1),    "parameter premium has no value for the year 2030 (a value per year; the newest is from 2026-01-01)", Decimal("250.00")),
    ("before the first value",                                 D(2022, 12, 31),  "parameter premium has no value for the year 2022",                           "parameter fine has no value in force on 2022-12-31"),
]
# fmt: on


@pytest.mark.parametrize("day, premium, fine", cases(YEARS))
def test_a_per_year_parameter_needs_a_value_from_the_year_asked(day, premium, fine):
    """docs/spec/rules.md, Parameters: premium amounts are per year; "the run fails with a clear error for a year
    whose amount is missing". A parameter not marked per year holds on until its next value."""
    p = PER_YEAR.params_on(day)
    for name, expected in (("premium", premium), ("fine", fine)):
        if isinstance(expected, str):
            with pytest.raises(ParameterError) as failed:
                getattr(p, name)
            assert str(failed.value) == expected
        else:
            assert getattr(p, name) == expected


# --- periods: the months between changes ----------------------------------------------------------

MONTHLY = table(
    a=entry("years", (SINCE_EVER, "5"), (D(2025, 7, 1), "3"), (D(2026, 2, 15), "4")),
    b=entry("points", (SINCE_EVER, "13"), (D(2025, 7, 1), "13")),  # restated: no change
    c=entry("points", (SINCE_EVER, "1"), (D(2025, 10, 1), "2")),
)

# fmt: off
PERIODS = [
    # name                                                            names       first             last              periods (first, last, a)
    ("a value from the first of a month holds from that month",       ["a"],      D(2024, 12, 1),   D(2026, 11, 1),   [(D(2024, 12, 1), D(2025, 6, 1), 5), (D(2025, 7, 1), D(2026, 2, 1), 3), (D(2026, 3, 1), D(2026, 11, 1), 4)]),
    ("a value from the 15th holds from the next month",               ["a"],      D(2026, 2, 1),    D(2026, 3, 1),    [(D(2026, 2, 1), D(2026, 2, 1), 3), (D(2026, 3, 1), D(2026, 3, 1), 4)]),
    ("the month before a change: one period",                         ["a"],      D(2024, 12, 1),   D(2025, 6, 1),    [(D(2024, 12, 1), D(2025, 6, 1), 5)]),
    ("a change on the window's first month is no cut",                ["a"],      D(2025, 7, 1),    D(2026, 2, 1),    [(D(2025, 7, 1), D(2026, 2, 1), 3)]),
    ("a value restated unchanged is no cut",                          ["b"],      D(2024, 12, 1),   D(2026, 11, 1),   [(D(2024, 12, 1), D(2026, 11, 1), 5)]),
    ("two parameters: cut where either changes",                      ["a", "c"], D(2025, 6, 1),    D(2025, 12, 1),   [(D(2025, 6, 1), D(2025, 6, 1), 5), (D(2025, 7, 1), D(2025, 9, 1), 3), (D(2025, 10, 1), D(2025, 12, 1), 3)]),
    ("unbounded: the earliest value holds before it",                 ["a"],      None,             None,             [(None, D(2025, 6, 1), 5), (D(2025, 7, 1), D(2026, 2, 1), 3), (D(2026, 3, 1), None, 4)]),
    ("a constant parameter: one unbounded period",                    ["b"],      None,             None,             [(None, None, 5)]),
]
# fmt: on


@pytest.mark.parametrize("names, first, last, expected", cases(PERIODS))
def test_periods_cut_the_months_where_a_parameter_changes_on_a_first_day(names, first, last, expected):
    """A month reads a parameter in force on its first day (docs/spec/rules.md §0 and §3)."""
    got = MONTHLY.periods(names, first, last)
    assert [(q.first, q.last, q.params.a) for q in got] == expected


def test_today_every_threshold_a_month_reads_is_constant():
    """With today's file nothing the months read changes: one unbounded period (the usual, fast case)."""
    from pipelines.decide.decisions import MONTHLY as DECIDE
    from pipelines.decide.grounds import THRESHOLDS

    for names in (DECIDE, THRESHOLDS):
        (only,) = REF.parameters.periods(names)
        assert only.unbounded


# --- read_on: a parameter read on a day of each record ---------------------------------------------


def test_read_on_gives_the_value_in_force_on_each_rows_day():
    days = pl.DataFrame({"day": [D(1899, 12, 31), D(2025, 6, 30), D(2025, 7, 1), D(2026, 2, 14), D(2026, 2, 15)]})
    got = days.select(MONTHLY.read_on("a", pl.col("day")).alias("a"))["a"].to_list()
    assert got == [None, 5, 3, 3, 4]
    assert MONTHLY.read_on("c", pl.col("day")) is not None
    assert REF.parameters.read_on("ground_delay_months", pl.col("day")) == 4  # constant: a plain value
    with pytest.raises(ParameterError, match="premium is missing from 2024-01-01"):
        PER_YEAR.read_on("premium", pl.col("day"))
