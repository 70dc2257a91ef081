"""Reforms: dated parameter values that replace or add values of data/reference/parameters.yaml.

A reform file (data/reforms/*.yaml) is YAML:

    name: adl-iadl-6                       # the scenario's name: letters, digits, '-', '_', '.'
    description: G-BELRAI's ADL + IADL minimum at 6 points on every date
    parameters:                            # one entry a dated value, as in parameters.yaml
      - {name: belrai_adl_iadl_min, from: 1900-01-01, value: "6", source: "zorgkas pages that say 6"}

Each entry gives a value of a parameter of the parameter file from a date: when the parameter has a
value from that very date, the reform's value replaces it; otherwise it is added, and holds from its
`from` until the parameter's next `from` (of the file or of the reform), exactly as in the parameter
file. `source` is optional (default: the reform's name).

Checked on load, each failure one line naming the file and the entry: an unknown key, an unknown
parameter, a `from` that is not a date, two entries for the same parameter and date, and a value of
the wrong kind for its parameter (the kind follows the parameter's `unit`): money (unit EUR...) is a
decimal string with at most two decimals ("150.00"), never a YAML number; a number (points, ratio)
is a number or a numeric string; a count (days, months, years) a whole number; a date an ISO date;
a day of the year (MM-DD) a valid "MM-DD".

Pure: the caller reads the file (flows/simulate.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pipelines.params import value_kind  # the kind follows the unit exactly as the parameter table reads it

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MONEY = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
TOP_KEYS = {"name", "description", "parameters"}
ENTRY_KEYS = {"name", "from", "value", "source"}
BASELINE = "baseline"


class ReformError(ValueError):
    """A reform file that cannot be used: one line naming the file and the entry."""


@dataclass(frozen=True)
class ReformValue:
    parameter: str
    from_date: dt.date
    value: str  # as the parameter file writes it
    source: str


@dataclass(frozen=True)
class Reform:
    name: str
    description: str
    values: tuple[ReformValue, ...]
    file: str = ""  # where it was read, for messages and the summary
    sha256: str = ""  # of the file's bytes

    def as_dict(self) -> dict:
        """The reform as summary.json records it."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.file,
            "sha256": self.sha256,
            "parameters": [
                {"name": v.parameter, "from": v.from_date.isoformat(), "value": v.value, "source": v.source}
                for v in self.values
            ],
        }


def parse_reform(raw: Any, spec: dict, where: str) -> Reform:
    """The reform of a parsed YAML document `raw`, checked against the parameter file `spec` (its parsed
    mapping: name -> {label, unit, values}); `where` names the file in errors."""
    if not isinstance(raw, dict):
        raise ReformError(f"reform {where}: not a mapping with name, description and parameters")
    unknown = sorted(set(map(str, raw)) - TOP_KEYS)
    if unknown:
        raise ReformError(f"reform {where}: unknown key {unknown[0]!r} (a reform has {', '.join(sorted(TOP_KEYS))})")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name) or name == BASELINE:
        raise ReformError(
            f"reform {where}: name {name!r} must be letters, digits, '-', '_' or '.' (at most 64, not 'baseline')"
        )
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ReformError(f"reform {where}: description is missing (one sentence saying what the reform changes)")
    entries = raw.get("parameters")
    if not isinstance(entries, list) or not entries:
        raise ReformError(f"reform {where}: parameters must be a non-empty list of {{name, from, value}}")
    values = tuple(_entry(entry, i, spec, where, name) for i, entry in enumerate(entries, start=1))
    seen = set()
    for v in values:
        if (v.parameter, v.from_date) in seen:
            raise ReformError(f"reform {where}: two values of {v.parameter} from {v.from_date.isoformat()}")
        seen.add((v.parameter, v.from_date))
    return Reform(name, description.strip(), values, where)


def _entry(entry: Any, i: int, spec: dict, where: str, reform: str) -> ReformValue:
    label = f"reform {where}: parameters entry {i}"
    if not isinstance(entry, dict):
        raise ReformError(f"{label}: not a mapping {{name, from, value}}")
    unknown = sorted(set(map(str, entry)) - ENTRY_KEYS)
    if unknown:
        raise ReformError(f"{label}: unknown key {unknown[0]!r} (an entry has name, from, value and source)")
    parameter = entry.get("name")
    if parameter not in spec:
        raise ReformError(f"{label}: unknown parameter {parameter!r} (not in data/reference/parameters.yaml)")
    label = f"{label} ({parameter})"
    for key in ("from", "value"):
        if key not in entry:
            raise ReformError(f"{label}: '{key}' is missing")
    from_date = _date(entry["from"])
    if from_date is None:
        raise ReformError(f"{label}: 'from' {entry['from']!r} is not a date (YYYY-MM-DD)")
    kind = value_kind(spec[parameter].get("unit"))
    value = checked_value(entry["value"], kind)
    if value is None:
        raise ReformError(f"{label}: value {entry['value']!r} is not {KIND_WORDS[kind]}")
    source = entry.get("source")
    return ReformValue(parameter, from_date, value, str(source) if source else f"reform {reform}")


KIND_WORDS = {
    "money": 'a money amount: a decimal string with at most two decimals, such as "150.00" (never a YAML number)',
    "number": "a number",
    "whole": "a whole number",
    "date": "a date (YYYY-MM-DD)",
    "day_of_year": 'a day of the year "MM-DD"',
}


def checked_value(value: Any, kind: str) -> str | None:
    """`value` written as the parameter file writes a value of `kind`; None when it is not of that kind."""
    if isinstance(value, bool) or value is None:
        return None
    if kind == "money":
        return value if isinstance(value, str) and MONEY.match(value) else None
    if kind == "date":
        day = _date(value)
        return day.isoformat() if day else None
    if kind == "day_of_year":
        return value if isinstance(value, str) and _day_of_year(value) else None
    text = str(value).strip()
    if isinstance(value, int | float | str):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        if not number.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
            return None
        if kind == "whole":
            return str(int(number)) if number == number.to_integral_value() and number >= 0 else None
        return text
    return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _day_of_year(value: str) -> bool:
    match = re.fullmatch(r"(\d\d)-(\d\d)", value)
    if not match:
        return False
    try:
        dt.date(2000, int(match[1]), int(match[2]))  # a leap year: 02-29 is a day of some years
    except ValueError:
        return False
    return True


def reformed_spec(spec: dict, reform: Reform) -> dict:
    """The parameter file's mapping with the reform's values replacing (same `from`) or added to the
    parameter's values; the other parameters as they are. A new mapping: `spec` is not changed."""
    changed = {name: dict(entry) for name, entry in spec.items()}
    for v in reform.values:
        entry = changed[v.parameter]
        kept = [x for x in entry.get("values", []) if _date(x["from"]) != v.from_date]
        added = {"from": v.from_date, "value": v.value, "source": v.source}
        entry["values"] = sorted([*kept, added], key=lambda x: _date(x["from"]))
    return changed
