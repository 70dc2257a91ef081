"""Belgian national numbers (insz: rijksregisternummer or BIS number) as Polars expressions.

rules.md §1 R-ID. The check is vectorised and must agree with python-stdnum's
`stdnum.be.nn` / `stdnum.be.bis` (tests/test_insz.py compares them on many generated
numbers), except that the post-2000 computation is allowed up to the year of the run
date instead of the clock's year.
"""

from __future__ import annotations

import polars as pl

_ELEVEN_DIGITS = r"^[0-9]{11}$"


def insz_check_digits(base9: pl.Expr, born_2000_or_later: pl.Expr | bool) -> pl.Expr:
    """The two check digits of an insz from its first nine digits (as an integer).

    CC = 97 - (base mod 97); for a person born in 2000 or later the base is prefixed by 2.
    """
    base = base9.cast(pl.Int64)
    prefixed = pl.when(born_2000_or_later).then(base + 2_000_000_000).otherwise(base)
    return (97 - prefixed % 97).cast(pl.Int64)


def r_id_valid(insz: pl.Expr, run_year: int) -> pl.Expr:
    """R-ID: True when `insz` is a valid national or BIS number for a run in `run_year`.

    rules.md §1: exactly 11 digits, greater than zero; month part 00-12 (national number),
    20-32 or 40-52 (BIS); check digits by the pre-2000 rule, or by the post-2000 rule when
    2000 + YY is at most the run's year. Null gives null: a null insz is R-NULL, not R-ID.
    """
    shaped = insz.str.contains(_ELEVEN_DIGITS)
    digits = pl.when(shaped).then(insz)
    yy = digits.str.slice(0, 2).cast(pl.Int64)
    mm = digits.str.slice(2, 2).cast(pl.Int64)
    base9 = digits.str.slice(0, 9).cast(pl.Int64)
    check = digits.str.slice(9, 2).cast(pl.Int64)
    month_ok = mm.is_between(0, 12) | mm.is_between(20, 32) | mm.is_between(40, 52)
    before_2000 = insz_check_digits(base9, False) == check
    after_2000 = (yy + 2000 <= run_year) & (insz_check_digits(base9, True) == check)
    valid = (base9 * 100 + check > 0) & month_ok & (before_2000 | after_2000)
    return pl.when(insz.is_null()).then(None).otherwise(shaped & valid.fill_null(False))
