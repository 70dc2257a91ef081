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
