"""Pandera models of the premium run files (outputs.md, "Files": invoices and fines), checked before publishing."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

STRUCTURED_REFERENCE = r"^\+\+\+\d{3}/\d{4}/\d{5}\+\+\+$"
PREMIUM_CODES = ["P-LIABLE", "P-REDUCED"]


class Invoices(pa.DataFrameModel):
    """<zorgkas>/invoices.parquet: one care premium invoice per person and premium year (rules.md §7)."""

    invoice_id: str
    insz: str = pa.Field(str_matches=r"^\d{11}$")
    zorgkas: str
    premium_year: pl.Int32
    amount: pl.Decimal(12, 2)
    reduced: bool
    grounds: pl.List(pl.String)
    structured_reference: str = pa.Field(str_matches=STRUCTURED_REFERENCE)
    due_date: dt.date
    invoice_date: dt.date

    class Config:
        strict = True
        unique = ["insz", "premium_year"]

    @pa.dataframe_check
    def reference_unique_within_zorgkas(cls, data) -> pl.LazyFrame:
        """P-REFERENCE: a structured reference is unique within its zorgkas."""
        return data.lazyframe.select(pl.struct("zorgkas", "structured_reference").is_unique())

    @pa.dataframe_check
    def invoice_id_names_zorgkas_year_and_reference(cls, data) -> pl.LazyFrame:
        """invoice_id is <zorgkas>-<premium_year>-<10-digit reference base>: unique as the reference is."""
        reference = pl.col("structured_reference")
        base = pl.concat_str(reference.str.slice(3, 3), reference.str.slice(7, 4), reference.str.slice(12, 3))
        expected = pl.concat_str(
            pl.col("zorgkas"), pl.lit("-"), pl.col("premium_year").cast(pl.String), pl.lit("-"), base
        )
        return data.lazyframe.select(pl.col("invoice_id") == expected)

    @pa.dataframe_check
    def check_digits(cls, data) -> pl.LazyFrame:
        """P-REFERENCE: the last 2 digits are the base mod 97 (97 when 0)."""
        reference = pl.col("structured_reference")
        digits = pl.concat_str(reference.str.slice(3, 3), reference.str.slice(7, 4), reference.str.slice(12, 5))
        digits = digits.str.to_integer(strict=False)
        remainder = (digits // 100) % 97
        return data.lazyframe.select(pl.when(remainder == 0).then(97).otherwise(remainder) == digits % 100)

    @pa.dataframe_check
    def due_on_or_after_invoice(cls, data) -> pl.LazyFrame:
        """P-DUE: the due date is never before the invoice date."""
        return data.lazyframe.select(pl.col("due_date") >= pl.col("invoice_date"))

    @pa.dataframe_check
    def positive_amount(cls, data) -> pl.LazyFrame:
        """P-AMOUNT: an invoice is for a positive amount."""
        return data.lazyframe.select(pl.col("amount") > 0)

    @pa.dataframe_check
    def grounds_are_premium_codes(cls, data) -> pl.LazyFrame:
        """Grounds: P-LIABLE first, then P-REDUCED exactly when the reduced amount applies."""
        grounds, reduced = pl.col("grounds"), pl.col("reduced")
        last = pl.when(reduced).then(pl.lit(PREMIUM_CODES[1])).otherwise(pl.lit(PREMIUM_CODES[0]))
        # element by element: comparing whole lists costs 30 times more on millions of rows
        return data.lazyframe.select(
            (grounds.list.len() == 1 + reduced.cast(pl.UInt32))
            & (grounds.list.first() == PREMIUM_CODES[0])
            & (grounds.list.last() == last)
        )


class Fines(pa.DataFrameModel):
    """<zorgkas>/fines.parquet: one fine candidate per person and fine year (rules.md §7, F-FINE)."""

    insz: str = pa.Field(str_matches=r"^\d{11}$")
    zorgkas: str
    fine_year: pl.Int32
    amount: pl.Decimal(12, 2)
    years_in_default: pl.List(pl.Int32)

    class Config:
        strict = True
        unique = ["insz", "fine_year"]

    @pa.dataframe_check
    def some_years_in_default(cls, data) -> pl.LazyFrame:
        """F-FINE: a candidate has premium years in default."""
        return data.lazyframe.select(pl.col("years_in_default").list.len() >= 1)

    @pa.dataframe_check
    def positive_amount(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("amount") > 0)
