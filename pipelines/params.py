"""Dated parameters: the values in force on a date (docs/spec/rules.md, "Parameters").

Pure: built from the parsed parameter file (flows/reference.py reads it). A value holds from
its `from` date until the next `from`. A parameter is added by one entry of the file: its type
follows its `unit` (`KINDS`), and `Params` gives it by name (`p.belrai_total_min`, a float;
`p.appeal_fee`, a Decimal). A value that a run needs but that is missing (no value in force, or
a value known to be missing, written `null`) is a `ParameterError` naming the parameter and the
date when it is read, never a zero. A parameter marked `per_year: true` (the premium amounts) is
a value of one year: read on a day of year Y, it needs a value whose `from` lies in Y.

Which day a rule reads a parameter on is the rule's to say (its docstring): most on the first
day of the month judged (`ParameterTable.periods`: the months between two changes), some on a
day of each record (`ParameterTable.read_on`), the run's own on the run date D (`params_on(D)`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

SINCE_EVER = dt.date(1900, 1, 1)  # the file's "always, as far as this engine knows"
ENTRY_KEYS = {"label", "unit", "values", "per_year"}
MONEY = pl.Decimal(12, 2)
# the kind of value a unit gives, and its Polars type when a rule reads it per record
KINDS = {
    "EUR": "money",
    "EUR per month": "money",
    "EUR per year": "money",
    "days": "whole",
    "working days": "whole",
    "months": "whole",
    "years": "whole",
    "day of month": "whole",
    "points": "number",
    "ratio": "number",
    "date": "date",
    "MM-DD": "day_of_year",
}
DTYPES = {"money": MONEY, "whole": pl.Int64, "number": pl.Float64, "date": pl.Date}


class ParameterError(ValueError):
    """A parameter is missing, or has no value in force on the date a run needs."""


def value_kind(unit: str | None) -> str:
    """The kind of value a parameter takes, from its unit: money, whole, number, date or day_of_year."""
    unit = (unit or "").strip()
    return KINDS.get(unit) or ("money" if unit.startswith("EUR") else "number")


def _money(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"))


def _day_of_year(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    dt.date(2000, int(month), int(day))  # a leap year: 02-29 is a day of some years
    return int(month), int(day)


CONVERT: dict[str, Callable[[str], Any]] = {
    "money": _money,
    "whole": int,
    "number": float,
    "date": dt.date.fromisoformat,
    "day_of_year": _day_of_year,
}


@dataclass(frozen=True)
class DatedValue:
    from_date: dt.date
    value: str | None  # as the file writes it; None: known to be missing
    source: str
    typed: Any = None  # the value as its unit reads it (int, float, Decimal, date, (month, day))


@dataclass(frozen=True)
class _Missing:
    """A value a Params could not give: the error its reading raises."""

    message: str


class Params:
    """The parameters as seen on one day `on`: each one's value in force then, by name and typed by its
    unit (`p.residence_years` an int, `p.zzb_monthly` a Decimal, `p.premium_due_day` (4, 30)). Immutable.

    Reading a value that is missing on `on` raises ParameterError; a name not in the file, AttributeError.
    `at(day)` is the same file seen on another day; `periods`, `read_on` and `series` read it over time.
    """

    __slots__ = ("on", "table", "_values")

    def __init__(self, table: ParameterTable, on: dt.date):
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "on", on)
        object.__setattr__(self, "_values", {name: table.resolved(name, on) for name in table.names})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(f"parameter {name} is not in the parameter file") from None
        if isinstance(value, _Missing):
            raise ParameterError(value.message)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Params is immutable: {name} cannot be set (use replace)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Params is immutable: {name} cannot be deleted")

    def __reduce__(self):
        return (Params, (self.table, self.on))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and (self.on, self._values) == (other.on, other._values)

    def __hash__(self) -> int:
        return hash(self.on)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={'missing' if isinstance(v, _Missing) else repr(v)}" for k, v in self._values.items())
        return f"Params(on={self.on.isoformat()}, {shown})"

    def at(self, day: dt.date) -> Params:
        """The same parameters seen on `day`."""
        return self.table.params_on(day)

    def replace(self, **values: Any) -> Params:
        """The parameters seen on the same day from a file where each named parameter holds the given value
        on every date, or the given (from, value) pairs (`ParameterTable.with_values`)."""
        return self.table.with_values(values).params_on(self.on)

    def periods(
        self, names: Iterable[str], first: dt.date | None = None, last: dt.date | None = None
    ) -> tuple[Period, ...]:
        """The runs of months between changes of `names` (`ParameterTable.periods`)."""
        return self.table.periods(names, first, last)

    def read_on(self, name: str, day: pl.Expr) -> Any:
        """`name` in force on each row's `day` (`ParameterTable.read_on`)."""
        return self.table.read_on(name, day)

    def series(self, name: str, first: dt.date, last: dt.date) -> pl.DataFrame:
        """`name` over the days [first, last] (`ParameterTable.series`)."""
        return self.table.series(name, first, last)


PARAMS_ATTRIBUTES = {"on", "table", "at", "replace", "periods", "read_on", "series"}


@dataclass(frozen=True)
class Period:
    """A run of months in which none of some parameters changes: from `first` through `last` (first days of
    months; None: unbounded), with the parameters in force on its first month (`params`)."""

    first: dt.date | None
    last: dt.date | None
    params: Params

    def holds(self, month: pl.Expr) -> pl.Expr:
        """The months of `month` (first days) inside the period."""
        inside = pl.lit(True)
        if self.first is not None:
            inside = inside & (month >= self.first)
        if self.last is not None:
            inside = inside & (month <= self.last)
        return inside

    @property
    def unbounded(self) -> bool:
        return self.first is None and self.last is None


def by_period(
    frame: pl.LazyFrame, periods: tuple[Period, ...], rule: Callable[[pl.LazyFrame, Params], pl.LazyFrame], month: str
) -> pl.LazyFrame:
    """`rule` applied to the rows of each period (those whose column `month` lies in it) with that period's
    parameters, the results one frame; a single unbounded period applies it to the whole frame."""
    if len(periods) == 1 and periods[0].unbounded:
        return rule(frame, periods[0].params)
    return pl.concat([rule(frame.filter(p.holds(pl.col(month))), p.params) for p in periods])


def month_ceil(day: dt.date) -> dt.date:
    """The first month whose first day is on or after `day`: a value from the 15th is in force from the next month."""
    if day.day == 1:
        return day
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _previous_month(month: dt.date) -> dt.date:
    return dt.date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


class ParameterTable:
    """All parameters with their dated values, typed by their unit."""

    def __init__(self, raw: dict[str, Any]):
        self.spec = raw  # the parsed file (labels, units, values): a reform builds its own table from it
        self._values: dict[str, list[DatedValue]] = {}
        self._kinds: dict[str, str] = {}
        self._per_year: set[str] = set()
        for name, spec in raw.items():
            self._kinds[name] = self._checked_entry(name, spec)
            if spec.get("per_year"):
                self._per_year.add(name)
            self._values[name] = self._dated(name, spec["values"], self._kinds[name])

    @staticmethod
    def _checked_entry(name: str, spec: Any) -> str:
        """The entry's kind of value; a ParameterError for an entry that is not one."""
        values = spec.get("values") if isinstance(spec, dict) else None
        if not values:
            raise ParameterError(f"parameter {name}: no dated values")
        if name in PARAMS_ATTRIBUTES or name.startswith("_"):
            raise ParameterError(f"parameter {name}: a name Params keeps for itself; choose another")
        unknown = sorted(set(map(str, spec)) - ENTRY_KEYS)
        if unknown:
            raise ParameterError(f"parameter {name}: unknown key {unknown[0]!r} (an entry has {sorted(ENTRY_KEYS)})")
        unit = spec.get("unit")
        if unit not in KINDS:
            raise ParameterError(f"parameter {name}: unit {unit!r} is not one of {', '.join(KINDS)}")
        return KINDS[unit]

    @staticmethod
    def _dated(name: str, values: list, kind: str) -> list[DatedValue]:
        dated = []
        for v in values:
            day = _as_date(v.get("from"), name)
            text = None if v.get("value") is None else str(v["value"])
            try:
                typed = None if text is None else CONVERT[kind](text)
            except (ValueError, InvalidOperation):
                raise ParameterError(
                    f"parameter {name}: value {text!r} from {day.isoformat()} is not a {kind.replace('_', ' ')} value"
                ) from None
            dated.append(DatedValue(day, text, str(v.get("source") or ""), typed))
        dated.sort(key=lambda d: d.from_date)
        if any(a.from_date == b.from_date for a, b in zip(dated, dated[1:], strict=False)):
            raise ParameterError(f"parameter {name}: two values from the same date")
        return dated

    @property
    def names(self) -> list[str]:
        return sorted(self._values)

    def kind(self, name: str) -> str:
        self.dated(name)
        return self._kinds[name]

    def per_year(self, name: str) -> bool:
        return name in self._per_year

    def dated(self, name: str) -> list[DatedValue]:
        if name not in self._values:
            raise ParameterError(f"parameter {name} is not in the parameter file")
        return self._values[name]

    def _in_force(self, name: str, day: dt.date) -> DatedValue:
        """The value of `name` in force on `day`, missing or not; a ParameterError when none is, or when a
        per-year parameter has no value from the year of `day`."""
        in_force = [v for v in self.dated(name) if v.from_date <= day]
        per_year = name in self._per_year
        if per_year and (not in_force or in_force[-1].from_date.year != day.year):
            newest = f" (a value per year; the newest is from {in_force[-1].from_date.isoformat()})" if in_force else ""
            raise ParameterError(f"parameter {name} has no value for the year {day.year}{newest}")
        if not in_force:
            raise ParameterError(f"parameter {name} has no value in force on {day.isoformat()}")
        value = in_force[-1]
        if value.value is None:
            when = f"the year {day.year}" if per_year else day.isoformat()
            since = "" if per_year else f"from {value.from_date.isoformat()}: "
            raise ParameterError(f"parameter {name} is missing for {when} ({since}{value.source})")
        return value

    def raw_on(self, name: str, day: dt.date) -> str:
        """The value of `name` in force on `day` as written in the file."""
        return self._in_force(name, day).value

    def value_on(self, name: str, day: dt.date) -> Any:
        """The value of `name` in force on `day`, typed by its unit."""
        return self._in_force(name, day).typed

    def resolved(self, name: str, day: dt.date) -> Any:
        """`value_on`, or the error reading it would raise (for Params, which raises it when read)."""
        try:
            return self.value_on(name, day)
        except ParameterError as exc:
            return _Missing(str(exc))

    def params_on(self, day: dt.date) -> Params:
        """Every parameter as seen on `day`."""
        return Params(self, day)

    def periods(
        self, names: Iterable[str], first: dt.date | None = None, last: dt.date | None = None
    ) -> tuple[Period, ...]:
        """The months from `first` through `last` (first days of months; None: unbounded), cut at every month
        on whose first day a value of one of `names` comes into force (a value from the 15th is in force from
        the next month); adjacent periods whose values of `names` are equal are one. Each period holds the
        parameters in force on its first month; an open first period those of the earliest such month."""
        names = sorted(set(names))
        starts = sorted({month_ceil(v.from_date) for name in names for v in self.dated(name)})
        cuts = [s for s in starts if (first is None or s > first) and (last is None or s <= last)]
        if first is None and cuts:
            cuts = cuts[1:]  # the earliest value holds in the open first period
        days = [first or (starts[0] if starts else SINCE_EVER), *cuts]
        found: list[Period] = []
        for i, day in enumerate(days):
            params = self.params_on(day)
            until = _previous_month(cuts[i]) if i < len(cuts) else last
            if found and all(params._values[n] == found[-1].params._values[n] for n in names):
                found[-1] = Period(found[-1].first, until, found[-1].params)
                continue
            found.append(Period(first if i == 0 else day, until, params))
        return tuple(found)

    def read_on(self, name: str, day: pl.Expr) -> Any:
        """`name` in force on the day `day` gives, row by row: its value when it never changes (one value in
        the file), else an expression (null before its first value). A value known to be missing fails here,
        whatever the rows: the rule reads the parameter on days of records."""
        dated = self.dated(name)
        missing = [v for v in dated if v.value is None]
        if missing:
            raise ParameterError(
                f"parameter {name} is missing from {missing[0].from_date.isoformat()} ({missing[0].source})"
            )
        if len(dated) == 1:
            return dated[0].typed
        dtype = DTYPES.get(self._kinds[name])
        if dtype is None:
            raise ParameterError(f"parameter {name}: a {self._kinds[name]} value cannot be read per record")
        chain = pl.when(day >= pl.lit(dated[-1].from_date)).then(pl.lit(dated[-1].typed, dtype))
        for v in reversed(dated[:-1]):
            chain = chain.when(day >= pl.lit(v.from_date)).then(pl.lit(v.typed, dtype))
        return chain.otherwise(pl.lit(None, dtype))

    def series(self, name: str, first: dt.date, last: dt.date) -> pl.DataFrame:
        """`name` as a frame of (from_date, to_date, value) covering the days [first, last], typed by its unit.

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
            rows.append((v.from_date, end, v.typed))
        if not rows or rows[0][0] > first:
            raise ParameterError(f"parameter {name} has no value in force on {first.isoformat()}")
        schema = {"from_date": pl.Date, "to_date": pl.Date, "value": DTYPES[self._kinds[name]]}
        return pl.DataFrame(rows, schema=schema, orient="row")

    def with_values(self, values: Mapping[str, Any]) -> ParameterTable:
        """The same file where each parameter of `values` holds the given value on every date (from SINCE_EVER),
        or the given (from, value) pairs; for tests and what-if questions."""
        spec = {name: dict(entry) for name, entry in self.spec.items()}
        for name, given in values.items():
            self.dated(name)
            pairs = given if isinstance(given, list) else [(SINCE_EVER, given)]
            spec[name]["values"] = [
                {"from": day, "value": None if v is None else str(v), "source": "with_values"} for day, v in pairs
            ]
        return ParameterTable(spec)


def _as_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ParameterError(f"parameter {name}: 'from' {value!r} is not a date") from exc
