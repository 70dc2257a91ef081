"""IBAN validity as Polars expressions (docs/spec/feeds.md: an invalid IBAN is treated as missing).

The rule is python-stdnum's `stdnum.iban.is_valid`: the country's BBAN structure from
stdnum's IBAN registry, the ISO 7064 mod 97-10 check, and the country's own module where
stdnum has one (Belgium: the account's check digits and a known bank code; Spain,
Montenegro and Norway: few values here, checked with stdnum itself). Everything else is
vectorised; tests/ingest/test_iban.py compares the result with stdnum on many generated values.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

import polars as pl
from stdnum import iban as std_iban
from stdnum import numdb

IBAN_VALID = "VALID"
IBAN_MISSING = "MISSING"
IBAN_INVALID = "INVALID"
STDNUM_COUNTRY_MODULES = ["ES", "ME", "NO"]  # stdnum checks these with a module of their own (BE is vectorised)
_LETTERS = list(string.ascii_uppercase)
_LETTER_VALUES = [str(10 + i) for i in range(26)]


@lru_cache(maxsize=1)
def belgian_bank_codes() -> tuple[str, ...]:
    """Bank codes (three digits) that stdnum knows, as `stdnum.be.iban` requires."""
    banks = numdb.get("be/banks")
    return tuple(code for code in (f"{i:03d}" for i in range(1000)) if banks.info(code)[0][1])


@lru_cache(maxsize=1)
def iban_pattern() -> str:
    """One regular expression for every country's IBAN structure in stdnum's registry."""
    registry = numdb.get("iban")
    classes = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}
    alternatives = []
    for a in string.ascii_uppercase:
        for b in string.ascii_uppercase:
            props = registry.info(a + b + "00")[0][1]
            if props:
                bban = re.sub(r"(\d+)(!)?([nac])", lambda m: f"{classes[m.group(3)]}{{{m.group(1)}}}", props["bban"])
                alternatives.append(f"{a}{b}[A-Z0-9]{{2}}{bban}")
    return "^(?:" + "|".join(alternatives) + ")$"


def compact_iban(iban: pl.Expr) -> pl.Expr:
    """Without spaces and dashes, upper case, as stdnum compacts it."""
    return iban.str.replace_all(r"[\s-]", "").str.to_uppercase()


def mod97(digits: pl.Expr, max_length: int = 72) -> pl.Expr:
    """The remainder of a long decimal string by 97, nine digits at a time (an empty chunk changes nothing)."""
    remainder = pl.lit(0, pl.Int64)
    for start in range(0, max_length, 9):
        chunk = digits.str.slice(start, 9)
        value = chunk.str.to_integer(base=10, strict=False).fill_null(0)
        remainder = (remainder * pl.lit(10, pl.Int64).pow(chunk.str.len_bytes()) + value) % 97
    return remainder


def iban_digits(iban: pl.Expr) -> pl.Expr:
    """The IBAN rearranged for the mod 97-10 check: BBAN, then country and check digits, letters as numbers."""
    return pl.concat_str([iban.str.slice(4), iban.str.slice(0, 4)]).str.replace_many(_LETTERS, _LETTER_VALUES)


def iban_structure_and_check(iban: pl.Expr, digits: pl.Expr | None = None) -> pl.Expr:
    """The country's BBAN structure and the mod 97-10 check (stdnum.iban without country modules).

    `digits`: `iban_digits(iban)` computed once into a column (`mod97` reads it 24 times: as an
    expression it would be computed again each time)."""
    digits = iban_digits(iban) if digits is None else digits
    return iban.str.contains(iban_pattern()) & (mod97(digits) == 1)


def belgian_bban(iban: pl.Expr) -> pl.Expr:
    """The 12 digits after a Belgian IBAN's check digits, as an integer (null when they are not digits)."""
    return iban.str.slice(4, 12).str.to_integer(base=10, strict=False)


def belgian_iban_valid(iban: pl.Expr, bban: pl.Expr | None = None) -> pl.Expr:
    """A compacted Belgian IBAN, with all of stdnum's checks, in Int64 arithmetic.

    IBAN mod 97-10 over BBAN + "BE" (11 14) + the check digits (18 digits); the account's own
    check digits (mod 97, 97 for 0); a bank code that stdnum knows (stdnum.be.iban). `bban`:
    `belgian_bban(iban)` computed once into a column (it is read four times).
    """
    shaped = iban.str.contains(r"^BE[0-9]{14}$")
    bban = belgian_bban(iban) if bban is None else bban
    iban_check = iban.str.slice(2, 2).str.to_integer(base=10, strict=False)
    account, account_check = bban // 100, bban % 100
    expected = pl.when(account % 97 == 0).then(97).otherwise(account % 97)
    known_bank = (bban // 1_000_000_000).is_in([int(code) for code in belgian_bank_codes()])
    iban_ok = (bban * 1_000_000 + 111_400 + iban_check) % 97 == 1
    return (shaped & iban_ok & (account_check == expected) & known_bank).fill_null(False)


def with_iban_status(frame: pl.DataFrame, column: str = "iban") -> pl.DataFrame:
    """`frame` with `<column>_status` (VALID, MISSING or INVALID) and the invalid IBANs set to null.

    MISSING: null or empty; INVALID: fails `stdnum.iban.is_valid`. Belgian IBANs (nearly all)
    take the Int64 path on every row; the general path runs on the other rows only; values of
    countries with a stdnum module of their own are checked with stdnum once per value.
    """
    status = f"{column}_status"
    staged = frame.with_columns(compact_iban(pl.col(column)).alias("_iban"))
    bban = staged.select("_iban", belgian_bban(pl.col("_iban")).alias("_bban"))
    valid = bban.select(belgian_iban_valid(pl.col("_iban"), pl.col("_bban"))).to_series()
    country = pl.col("_iban").str.slice(0, 2)
    others = staged.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), "_iban").filter(
        pl.col("_iban").is_not_null() & (country != "BE")
    )
    by_module = others.filter(country.is_in(STDNUM_COUNTRY_MODULES))
    module_ok = by_module.select(pl.col("_iban").unique()).with_columns(
        pl.col("_iban").map_elements(std_iban.is_valid, return_dtype=pl.Boolean).alias("_ok")
    )
    judged = pl.concat(
        [
            others.filter(~country.is_in(STDNUM_COUNTRY_MODULES))
            .with_columns(iban_digits(pl.col("_iban")).alias("_digits"))
            .select("_row", iban_structure_and_check(pl.col("_iban"), pl.col("_digits")).fill_null(False).alias("_ok")),
            by_module.join(module_ok, on="_iban").select("_row", "_ok"),
        ]
    )
    valid = valid.scatter(judged["_row"], judged["_ok"])
    labelled = staged.with_columns(
        pl.when(pl.col("_iban").is_null() | (pl.col("_iban") == ""))
        .then(pl.lit(IBAN_MISSING))
        .when(valid)
        .then(pl.lit(IBAN_VALID))
        .otherwise(pl.lit(IBAN_INVALID))
        .alias(status)
    )
    return labelled.with_columns(pl.when(pl.col(status) == IBAN_VALID).then(pl.col("_iban")).alias(column)).drop(
        "_iban"
    )
