"""L-APPEAL: the appeal route printed on decision and recovery letters (docs/spec/rules.md §9).

An appeal goes to the Agentschap Vlaamse Sociale Bescherming within `appeal_days` (90) calendar
days from the day after receipt; the letter counts as received `appeal_receipt_working_days` (5)
working days after its date (the run date D). A working day is Monday to Friday except a Belgian
public holiday (the `holidays` package's Belgium calendar: computed, no download). The file fee is
`appeal_fee` (75.00 EUR), or `appeal_fee_reduced` (37.50 EUR) for a member with an
increased-allowance period active on the letter's date.

Pure: the parameter values come in as arguments (the flow reads them from data/reference/parameters.yaml).
Local reading of "within 90 days from the day after receipt": day 1 is the day after receipt, so the
last day is receipt + 90 days. A deadline that falls on a weekend or holiday is not moved (the sources
say nothing of it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import holidays
import polars as pl

MONEY = pl.Decimal(12, 2)


@cache
def _belgian_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.Belgium(years=year))


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday, and not a Belgian public holiday."""
    return day.weekday() < 5 and day not in _belgian_holidays(day.year)


def receipt_date(letter_date: dt.date, working_days: int) -> dt.date:
    """The day the letter counts as received: the `working_days`-th working day after its date."""
    day, counted = letter_date, 0
    while counted < working_days:
        day += dt.timedelta(days=1)
        counted += is_working_day(day)
    return day


def appeal_deadline(letter_date: dt.date, appeal_days: int, receipt_working_days: int) -> dt.date:
    """The last day to appeal: `appeal_days` calendar days counted from the day after receipt."""
    return receipt_date(letter_date, receipt_working_days) + dt.timedelta(days=appeal_days)


@dataclass(frozen=True)
class AppealTerms:
    """The appeal route of the letters of one date: what L-APPEAL prints."""

    letter_date: dt.date
    appeal_days: int
    receipt: dt.date
    deadline: dt.date
    fee: Decimal
    fee_reduced: Decimal


def appeal_terms(
    letter_date: dt.date, appeal_days: int, receipt_working_days: int, fee: Decimal, fee_reduced: Decimal
) -> AppealTerms:
    """L-APPEAL for letters dated `letter_date`, from the parameter values in force on that date."""
    return AppealTerms(
        letter_date=letter_date,
        appeal_days=appeal_days,
        receipt=receipt_date(letter_date, receipt_working_days),
        deadline=appeal_deadline(letter_date, appeal_days, receipt_working_days),
        fee=Decimal(fee),
        fee_reduced=Decimal(fee_reduced),
    )


def appeal_fee(terms: AppealTerms) -> pl.Expr:
    """The file fee per letter: the reduced fee when `increased_allowance` (a boolean column: an
    increased-allowance period active on the letter's date) is True; null counts as False."""
    return (
        pl.when(pl.col("increased_allowance").fill_null(False))
        .then(pl.lit(terms.fee_reduced, dtype=MONEY))
        .otherwise(pl.lit(terms.fee, dtype=MONEY))
        .alias("appeal_fee")
    )
