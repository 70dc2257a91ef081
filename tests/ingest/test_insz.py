"""R-ID: the vectorised insz check agrees with python-stdnum (docs/spec/rules.md §1)."""

from __future__ import annotations

import random

import polars as pl
import pytest
from stdnum.be import bis, nn

from pipelines.ingest.insz import insz_check_digits, r_id_valid

# fmt: off
CASES = [
    # name                                      insz            valid
    ("worked example born 1985",                "85073112305",  True),
    ("worked example born 2000",                "00120555686",  True),
    ("BIS number, month + 20",                  "85273112348",  True),
    ("check digits off by one",                 "85073112306",  False),
    ("month 13",                                "85133112347",  False),
    ("ten digits",                              "8507311230",   False),
    ("twelve digits",                           "850731123050", False),
    ("a letter",                                "8507311230A",  False),
    ("all zeros",                               "00000000000",  False),
    ("BIS month 39, between the two BIS ranges", "85393112335",  False),
    ("BIS month 40, the first of sex known",    "85403112342",  True),
    ("month 12, day 99 (days not checked)",     "85129999934",  True),
]
# fmt: on


@pytest.mark.parametrize("name, insz, valid", CASES, ids=[c[0] for c in CASES])
def test_r_id_cases(name, insz, valid):
    got = pl.select(r_id_valid(pl.lit(insz), 2026)).item()
    assert got is valid
    assert (nn.is_valid(insz) or bis.is_valid(insz)) is valid


# fmt: off
RUN_YEARS = [
    # name                                                                insz            run year  valid
    ("R-ID born in 2022 (post-2000 check): valid in a run of 2022",       "22000000006",  2022,     True),
    ("R-ID born in 2022: not yet valid in a run of 2021",                 "22000000006",  2021,     False),
    ("R-ID born in 2000: valid in a run of 2000",                         "00120555686",  2000,     True),
]
# fmt: on


@pytest.mark.parametrize("name, insz, run_year, valid", RUN_YEARS, ids=[c[0] for c in RUN_YEARS])
def test_r_id_post_2000_rule_up_to_the_run_year(name, insz, run_year, valid):
    """R-ID: the post-2000 check digits are allowed when 2000 + YY is at most the year of the run date."""
    assert pl.select(r_id_valid(pl.lit(insz), run_year)).item() is valid


def test_r_id_null_is_not_judged():
    assert pl.select(r_id_valid(pl.lit(None, pl.String), 2026)).item() is None


def test_check_digits_of_both_centuries():
    frame = pl.DataFrame({"base": [850731123, 1205556]})
    got = frame.select(insz_check_digits(pl.col("base"), pl.Series([False, True]))).to_series().to_list()
    assert got == [5, 86]


def _generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    months = list(range(0, 13)) + list(range(20, 33)) + list(range(40, 53)) + [13, 19, 33, 60, 99]
    values = []
    for _ in range(count):
        if rng.random() < 0.7:
            base = f"{rng.randint(0, 99):02d}{rng.choice(months):02d}{rng.randint(0, 39):02d}{rng.randint(0, 999):03d}"
            prefixed = int(("2" if rng.random() < 0.5 else "") + base)
            check = (97 - prefixed % 97 + (1 if rng.random() < 0.1 else 0)) % 100
            values.append(f"{base}{check:02d}")
        else:
            values.append("".join(rng.choice("0123456789") for _ in range(rng.choice([10, 11, 11, 12]))))
    return values


def test_r_id_agrees_with_stdnum_on_many_generated_numbers():
    """stdnum uses the clock's year for the post-2000 rule; the engine uses the run year: compare in
    the clock's year, where the two must agree exactly."""
    import datetime as dt

    values = _generated(60_000, seed=7)
    year = dt.date.today().year
    got = pl.DataFrame({"insz": values}).select(r_id_valid(pl.col("insz"), year)).to_series().to_list()
    expected = [nn.is_valid(v) or bis.is_valid(v) for v in values]
    mismatches = [v for v, g, e in zip(values, got, expected, strict=True) if g != e]
    assert not mismatches, mismatches[:10]
    assert 0.2 < sum(expected) / len(expected) < 0.8  # the sample holds both kinds
