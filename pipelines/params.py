"""Dated parameters: the values in force on a date (docs/spec/rules.md, "Parameters").

Pure: built from the parsed parameter file (flows/reference.py reads it). A value holds from
its `from` date until the next `from`. A value that a run needs but that is missing (no value
in force, or a value known to be missing, written `null`) is a `ParameterError` naming the
parameter and the date, never a zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl


class ParameterError(ValueError):
    """A parameter is missing, or has no value in force on the date a run needs."""


@dataclass(frozen=True)
class DatedValue:
    from_date: dt.date
    value: str | None
    source: str


@dataclass(frozen=True)
class Params:
    """The scalar thresholds in force on one date (amounts stay dated: see ParameterTable)."""

    on: dt.date
    belrai_total_min: float
    belrai_adl_iadl_min: float
    medsoc_min: float
    ztk_min: float
    ground_delay_months: int
    bob_delay_months: int
    residence_years: int
    late_waiting_years: int
    nrth_transition_date: dt.date
    absence_one_days: int
    absence_two_days: int
    fine_min_years: int
    voluntary_arrears_years: int
    payment_day: int
    premium_late_invoice_days: int
    premium_due_day: tuple[int, int]
    fine_reference_day: tuple[int, int]
    min_rows_ratio: float
    evaluation_window_months: int
    max_stop_fraction: float
    max_new_fraction: float


_FLOATS = ("belrai_total_min", "belrai_adl_iadl_min", "medsoc_min", "ztk_min", "min_rows_ratio")
_FLOATS += ("max_stop_fraction", "max_new_fraction")
_INTS = (
    "ground_delay_months",
    "bob_delay_months",
    "residence_years",
    "late_waiting_years",
    "absence_one_days",
    "absence_two_days",
    "fine_min_years",
    "voluntary_arrears_years",
    "payment_day",
    "premium_late_invoice_days",
    "evaluation_window_months",
)
_DAYS_OF_YEAR = ("premium_due_day", "fine_reference_day")
_DATES = ("nrth_transition_date",)


class ParameterTable:
    """All parameters with their dated values."""

    def __init__(self, raw: dict[str, Any]):
        self.spec = raw  # the parsed file (labels, units, values): a reform builds its own table from it
        self._values: dict[str, list[DatedValue]] = {}
        for name, spec in raw.items():
            values = spec.get("values") if isinstance(spec, dict) else None
            if not values:
                raise ParameterError(f"parameter {name}: no dated values")
            dated = [
                DatedValue(
                    _as_date(v["from"], name),
                    None if v.get("value") is None else str(v["value"]),
                    str(v.get("source") or ""),
                )
                for v in values
            ]
            dated.sort(key=lambda d: d.from_date)
            if any(a.from_date == b.from_date for a, b in zip(dated, dated[1:], strict=False)):
                raise ParameterError(f"parameter {name}: two values from the same date")
            self._values[name] = dated

    @property
    def names(self) -> list[str]:
        return sorted(self._values)

    def dated(self, name: str) -> list[DatedValue]:
        if name not in self._values:
            raise ParameterError(f"parameter {name} is not in the parameter file")
        return self._values[name]

    def raw_on(self, name: str, day: dt.date) -> str:
        """The value of `name` in force on `day` as written in the file."""
        in_force = [v for v in self.dated(name) if v.from_date <= day]
        if not in_force:
            raise ParameterError(f"parameter {name} has no value in force on {day.isoformat()}")
        value = in_force[-1]
        if value.value is None:
            raise ParameterError(
                f"parameter {name} is missing for {day.isoformat()} "
                f"(from {value.from_date.isoformat()}: {value.source})"
            )
        return value.value

    def money_on(self, name: str, day: dt.date) -> Decimal:
        return Decimal(self.raw_on(name, day)).quantize(Decimal("0.01"))

    def params_on(self, day: dt.date) -> Params:
        """The scalar thresholds in force on `day`."""
        kw: dict[str, Any] = {"on": day}
        for name in _FLOATS:
            kw[name] = float(self.raw_on(name, day))
        for name in _INTS:
            kw[name] = int(self.raw_on(name, day))
        for name in _DATES:
            kw[name] = dt.date.fromisoformat(self.raw_on(name, day))
        for name in _DAYS_OF_YEAR:
            month, dom = self.raw_on(name, day).split("-")
            kw[name] = (int(month), int(dom))
        return Params(**kw)

    def money_series(self, name: str, first: dt.date, last: dt.date) -> pl.DataFrame:
        """`name` as a frame of (from_date, to_date, amount) covering [first, last].

        For joins by date (e.g. the monthly amount in force on the first of each month).
        Fails when any day of [first, last] has no value.
        """
        rows = []
        dated = self.dated(name)
        for i, v in enumerate(dated):
            end = dated[i + 1].from_date - dt.timedelta(days=1) if i + 1 < len(dated) else dt.date.max
            if end < first or v.from_date > last:
                continue
            if v.value is None:
                raise ParameterError(f"parameter {name} is missing from {v.from_date.isoformat()} ({v.source})")
            rows.append((v.from_date, end, Decimal(v.value).quantize(Decimal("0.01"))))
        if not rows or rows[0][0] > first:
            raise ParameterError(f"parameter {name} has no value in force on {first.isoformat()}")
        return pl.DataFrame(
            rows,
            schema={"from_date": pl.Date, "to_date": pl.Date, "amount": pl.Decimal(12, 2)},
            orient="row",
        )


def _as_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ParameterError(f"parameter {name}: 'from' {value!r} is not a date") from exc
