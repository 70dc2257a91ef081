"""IBAN validity as a Polars expression (feeds.md: an invalid IBAN is treated as missing).

The rule is python-stdnum's `stdnum.iban.is_valid`, which for a Belgian IBAN also checks the
account's own check digits and that the bank code is known. Belgian IBANs (nearly all rows)
are checked in Polars: the mod-97 of the rearranged number fits in an Int64. Foreign IBANs
are few: each distinct value is checked with stdnum itself. tests/test_iban.py compares the
result with stdnum on many generated values.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl
from stdnum import iban as std_iban
from stdnum import numdb

IBAN_VALID = "VALID"
IBAN_MISSING = "MISSING"
IBAN_INVALID = "INVALID"


@lru_cache(maxsize=1)
def belgian_bank_codes() -> tuple[str, ...]:
    """Bank codes (three digits) that stdnum knows, as `stdnum.be.iban` requires."""
    banks = numdb.get("be/banks")
    return tuple(code for code in (f"{i:03d}" for i in range(1000)) if banks.info(code)[0][1])


def compact_iban(iban: pl.Expr) -> pl.Expr:
    """Without spaces, upper case, as stdnum compacts it."""
    return iban.str.replace_all(r"[\s-]", "").str.to_uppercase()


def belgian_iban_valid(iban: pl.Expr) -> pl.Expr:
    """A compacted Belgian IBAN: shape, IBAN mod-97, account check digits, known bank code."""
    shaped = iban.str.contains(r"^BE[0-9]{14}$")
    digits = pl.when(shaped).then(iban)
    # rearranged: BBAN (12 digits) + "BE" as 11 14 + the two IBAN check digits = 18 digits
    rearranged = pl.concat_str([digits.str.slice(4, 12), pl.lit("1114"), digits.str.slice(2, 2)]).cast(pl.Int64)
    account = digits.str.slice(4, 10).cast(pl.Int64)
    account_check = digits.str.slice(14, 2).cast(pl.Int64)
    expected = pl.when(account % 97 == 0).then(97).otherwise(account % 97)
    known_bank = digits.str.slice(4, 3).is_in(list(belgian_bank_codes()))
    return (shaped & (rearranged % 97 == 1) & (account_check == expected) & known_bank).fill_null(False)


def with_iban_status(frame: pl.DataFrame, column: str = "iban") -> pl.DataFrame:
    """`frame` with `<column>_status` (VALID, MISSING or INVALID) and the invalid IBANs set to null.

    MISSING: null or empty; INVALID: fails `stdnum.iban.is_valid`. Foreign IBANs are checked
    with stdnum once per distinct value.
    """
    status = f"{column}_status"
    compact = compact_iban(pl.col(column))
    staged = frame.with_columns(compact.alias("_iban"))
    foreign = (
        staged.select(pl.col("_iban").unique())
        .filter(pl.col("_iban").is_not_null() & ~pl.col("_iban").str.starts_with("BE") & (pl.col("_iban") != ""))
        .with_columns(pl.col("_iban").map_elements(std_iban.is_valid, return_dtype=pl.Boolean).alias("_foreign_ok"))
    )
    staged = staged.join(foreign, on="_iban", how="left", maintain_order="left")
    valid = (
        pl.when(pl.col("_iban").str.starts_with("BE"))
        .then(belgian_iban_valid(pl.col("_iban")))
        .otherwise(pl.col("_foreign_ok"))
        .fill_null(False)
    )
    labelled = staged.with_columns(
        pl.when(pl.col("_iban").is_null() | (pl.col("_iban") == ""))
        .then(pl.lit(IBAN_MISSING))
        .when(valid)
        .then(pl.lit(IBAN_VALID))
        .otherwise(pl.lit(IBAN_INVALID))
        .alias(status)
    )
    return labelled.with_columns(pl.when(pl.col(status) == IBAN_VALID).then(pl.col("_iban")).alias(column)).drop(
        "_iban", "_foreign_ok"
    )
