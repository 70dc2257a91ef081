"""Hand-made `case_decisions` rows (docs/spec/feeds.md) and months granted by hand, for the section 10 tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.decide.cases import BY_HAND_COLUMNS
from pipelines.settle.appeals import CASE_COLUMNS
from tests.helpers.builders import INSZ_1985


def case(record_id: str, kind: str, budget: str = "ZZB", insz: str = INSZ_1985, **columns) -> dict:
    """A case_decisions row: the columns not given are null."""
    return {c: None for c in CASE_COLUMNS} | dict(record_id=record_id, insz=insz, budget=budget, kind=kind) | columns


def application(record_id: str, received: dt.date, **columns) -> dict:
    return case(record_id, "APPLICATION", received_date=received, **columns)


def decision(record_id: str, kind: str, decided: dt.date, refers_to: str | None, **columns) -> dict:
    return case(record_id, kind, decided_date=decided, refers_to=refers_to, **columns)


def appeal(record_id: str, received: dt.date, refers_to: str = "L-0001", **columns) -> dict:
    return case(record_id, "APPEAL", received_date=received, refers_to=refers_to, **columns)


def cases_frame(rows: list[dict]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=CASE_COLUMNS, orient="row")


def granted(rows: list[dict]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=BY_HAND_COLUMNS, orient="row")


def by_hand(month: dt.date, record_id: str = "C2", on_appeal: bool = False, budget: str = "ZZB", insz=INSZ_1985):
    """A month granted by hand (or on appeal) by `record_id`."""
    return dict(
        insz=insz,
        budget=budget,
        month=month,
        record_id=record_id,
        on_appeal=on_appeal,
        decided_date=dt.date(2026, 3, 2),
        received_date=dt.date(2026, 1, 5),
    )
