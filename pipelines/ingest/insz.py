"""Belgian national numbers (insz: rijksregisternummer or BIS number) as Polars expressions.

docs/spec/rules.md §1 R-ID. The check is vectorised and must agree with python-stdnum's
`stdnum.be.nn` / `stdnum.be.bis` (tests/ingest/test_insz.py compares them on many generated
numbers), except that the post-2000 computation is allowed up to the year of the run
date instead of the clock's year.
"""

from __future__ import annotations

import polars as pl


def insz_check_digits(base9: pl.Expr, born_2000_or_later: pl.Expr | bool) -> pl.Expr:
    """The two check digits of an insz from its first nine digits (as an integer).

    CC = 97 - (base mod 97); for a person born in 2000 or later the base is prefixed by 2.
    """
    base = base9.cast(pl.Int64)
    prefixed = pl.when(born_2000_or_later).then(base + 2_000_000_000).otherwise(base)
    return (97 - prefixed % 97).cast(pl.Int64)


def insz_number(insz: pl.Expr) -> pl.Expr:
    """The insz parsed as an integer (digits with an optional sign), else null."""
    return insz.str.to_integer(base=10, strict=False)


def r_id_valid(insz: pl.Expr, run_year: int, number: pl.Expr | None = None) -> pl.Expr:
    """R-ID: True when `insz` is a valid national or BIS number for a run in `run_year`.

    docs/spec/rules.md §1: exactly 11 digits, greater than zero; month part 00-12 (national number),
    20-32 or 40-52 (BIS); check digits by the pre-2000 rule, or by the post-2000 rule when
    2000 + YY is at most the run's year. Null gives null: a null insz is R-NULL, not R-ID.
    Integer arithmetic on the parsed number (`insz_number`, which a caller with a large frame
    computes once into a column and passes here): string slicing is ten times slower.
    """
    number = insz_number(insz) if number is None else number
    shaped = (insz.str.len_bytes() == 11) & ~insz.str.starts_with("+") & (number > 0)
    check = number % 100
    base9 = number // 100
    yy = number // 1_000_000_000
    mm = (number // 10_000_000) % 100
    month_ok = mm.is_between(0, 12) | mm.is_between(20, 32) | mm.is_between(40, 52)
    before_2000 = insz_check_digits(base9, False) == check
    after_2000 = (yy + 2000 <= run_year) & (insz_check_digits(base9, True) == check)
    valid = shaped & month_ok & (before_2000 | after_2000)
    return pl.when(insz.is_null()).then(None).otherwise(valid.fill_null(False))
