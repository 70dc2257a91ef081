"""Pandera models of the output files (outputs.md), checked before a run publishes."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

RULES = ["R-ID", "R-NULL", "R-ENUM", "R-DATES", "R-RANGE", "R-REQUIRED", "R-DUPLICATE"]


class Quarantine(pa.DataFrameModel):
    """quarantine/<feed>.parquet: one row per bad source row, with the first rule it broke."""

    feed: str
    delivery_date: dt.date
    source_file: str
    row_number: int = pa.Field(ge=1)
    rule: str = pa.Field(isin=RULES)
    column: str
    rules: pl.List(pl.String)
    row: str

    class Config:
        strict = True
        unique = ["source_file", "row_number"]


WORK_CODES = [
    "W-APPLY-SPECIAL",
    "W-APPLY-FACILITY",
    "W-NRTH-TRANSITION",
    "W-CHECK-RESIDENCE",
    "W-IBAN-MISSING",
    "W-MEMBER-MISSING",
    "W-VOLUNTARY-ARREARS",
    "W-HELD",
]


class Worklist(pa.DataFrameModel):
    """<zorgkas>/worklist.parquet: what the zorgkas must do by hand (rules.md §5)."""

    insz: str
    zorgkas: str
    code: str = pa.Field(isin=WORK_CODES)
    since: dt.date
    detail: str
    evidence: pl.List(pl.String)

    class Config:
        strict = True


class DecidedPeriods(pa.DataFrameModel):
    """_decisions/periods.parquet: the decided months inside a right, as runs of months judged alike
    (rules.md D-DECISION): every month from first_month to last_month has this decision."""

    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=["ZZB", "BOB"])
    first_month: dt.date
    last_month: dt.date
    status: str = pa.Field(isin=["ENTITLED", "NOT_ENTITLED", "PENDING"])
    entitled: bool
    holds: pl.List(pl.String)
    fails: pl.List(pl.String)
    evidence: pl.List(pl.String)
    monthly_amount: pl.Decimal(12, 2)

    class Config:
        strict = True
        unique = ["insz", "budget", "first_month"]


BUDGETS = ["ZZB", "BOB"]
EVENTS = ["NEW", "CONTINUED", "CHANGED", "STOPPED", "CANCELLED"]


class Grants(pa.DataFrameModel):
    """<zorgkas>/grants.parquet: one row per grant event (rules.md D-EVENTS)."""

    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=BUDGETS)
    event: str = pa.Field(isin=EVENTS)
    first_month: dt.date
    last_month: dt.date = pa.Field(nullable=True)
    monthly_amount: pl.Decimal(12, 2)
    grounds: pl.List(pl.String)
    evidence: pl.List(pl.String)
    decided_on: dt.date

    class Config:
        strict = True


class Payments(pa.DataFrameModel):
    """<zorgkas>/payments.parquet: one row per paid month or school year of absence budgets (PAY-MONTH)."""

    end_to_end_id: str = pa.Field(str_length={"min_value": 1, "max_value": 35})
    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=["ZZB", "BOB", "ZZB-ABSENCE"])
    month: dt.date
    quantity: int = pa.Field(ge=1, le=2)
    amount: pl.Decimal(12, 2)
    iban: str
    name: str

    class Config:
        strict = True
        unique = ["insz", "budget", "month"]


class Recoveries(pa.DataFrameModel):
    """<zorgkas>/recoveries.parquet: paid months now found not entitled (PAY-RECOVERY)."""

    insz: str
    zorgkas: str = pa.Field(nullable=True)
    budget: str = pa.Field(isin=["ZZB", "BOB", "ZZB-ABSENCE"])
    month: dt.date
    amount: pl.Decimal(12, 2)
    paid_on: dt.date
    reason: pl.List(pl.String)

    class Config:
        strict = True
        unique = ["insz", "budget", "month"]
