"""Days, months and ages as Polars expressions (docs/spec/rules.md §0)."""

from __future__ import annotations

import datetime as dt

import polars as pl

OPEN_END = dt.date(9999, 12, 31)  # an open end (null) while intervals are merged and compared


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def window_months(run_date: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """First and last month of the evaluation window: `months` months ending with the month of D."""
    last = month_start(run_date)
    return add_months(last, -(months - 1)), last


def offset_months(day: pl.Expr, months: int | pl.Expr) -> pl.Expr:
    """`day` moved by `months` months: a number of months, or an expression giving one per row."""
    if isinstance(months, pl.Expr):
        return day.dt.offset_by(pl.format("{}mo", months))
    return day.dt.offset_by(f"{months}mo")


def age_on(birth_date: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Full years since birth_date on `day`."""
    years = day.dt.year() - birth_date.dt.year()
    before_birthday = (day.dt.month() < birth_date.dt.month()) | (
        (day.dt.month() == birth_date.dt.month()) & (day.dt.day() < birth_date.dt.day())
    )
    return years - before_birthday.cast(pl.Int32)


def active_on(start: pl.Expr, end: pl.Expr, day: pl.Expr) -> pl.Expr:
    """A record [start, end] (end null: open) is active on `day` (docs/spec/rules.md §0). Never null."""
    return ((start <= day) & (end.is_null() | (day <= end))).fill_null(False)


def open_end(end: pl.Expr) -> pl.Expr:
    return end.fill_null(OPEN_END)


def closed_end(end: pl.Expr) -> pl.Expr:
    """Back from the OPEN_END sentinel to null."""
    return pl.when(end == OPEN_END).then(None).otherwise(end)
