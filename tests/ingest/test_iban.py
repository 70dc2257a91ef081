"""IBAN validity (docs/spec/feeds.md: an invalid IBAN is treated as missing): agrees with stdnum.iban.is_valid."""

from __future__ import annotations

import random

import polars as pl
import pytest
from stdnum import iban

from pipelines.ingest.iban import with_iban_status
from tests.helpers.decide import cases


def _with_check(country: str, bban: str) -> str:
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def _generated(count: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    values: list[str | None] = [None, "", "be72 7351 0000 0116", "BE72735100000116"]
    for _ in range(count):
        r = rng.random()
        if r < 0.75:
            account = f"{rng.randint(0, 999):03d}{rng.randint(0, 9_999_999):07d}"
            check = int(account) % 97 or 97
            if rng.random() < 0.1:
                check = (check + 1) % 100
            value = _with_check("BE", f"{account}{check:02d}")
            if rng.random() < 0.05:
                value = value[:2] + "00" + value[4:]
        elif r < 0.85:
            value = _with_check("NL", "ABNA" + f"{rng.randint(0, 9_999_999_999):010d}")
        elif r < 0.87:
            value = _with_check("FR", f"{rng.randint(0, 10**22):023d}")
        elif r < 0.88:
            value = _with_check("GB", "NWBK" + f"{rng.randint(0, 10**14 - 1):014d}")
        elif r < 0.89:
            value = _with_check("ES", f"{rng.randint(0, 10**20 - 1):020d}")  # stdnum's Spanish module
        elif r < 0.9:
            value = _with_check("NO", f"{rng.randint(0, 10**11 - 1):011d}")  # stdnum's Norwegian module
        else:
            value = "".join(rng.choice("BE0123456789 ") for _ in range(16))
        values.append(value)
    return values


def test_iban_status_agrees_with_stdnum():
    values = _generated(20_000, seed=3)
    out = with_iban_status(pl.DataFrame({"iban": values}, schema={"iban": pl.String}))
    expected = ["MISSING" if not v else ("VALID" if iban.is_valid(v) else "INVALID") for v in values]
    assert out["iban_status"].to_list() == expected
    assert (
        out.filter(pl.col("iban_status") != "VALID")["iban"].null_count()
        == out.filter(pl.col("iban_status") != "VALID").height
    )
    assert 0.5 < expected.count("VALID") / len(expected) < 0.9


def test_valid_iban_is_kept_compacted():
    out = with_iban_status(pl.DataFrame({"iban": ["be72 7351 0000 0116"]}))
    assert out["iban"].to_list() == ["BE72735100000116"]


# fmt: off
EDGES = [
    # name                                                                       value                  status
    ("IBAN the first account of a bank whose code follows an unknown one",       "BE64113000000052",    "VALID"),
    ("IBAN the same account with other check digits",                            "BE64113000000053",    "INVALID"),
]
# fmt: on


@pytest.mark.parametrize("value, status", cases(EDGES))
def test_iban_status_at_the_edges(value, status):
    """W-IBAN-MISSING (docs/spec/rules.md §5): a Belgian IBAN is valid exactly when stdnum.iban.is_valid accepts it; its
    bank code is the first three digits of the BBAN, whatever follows."""
    out = with_iban_status(pl.DataFrame({"iban": [value]}, schema={"iban": pl.String}))
    assert out["iban_status"].to_list() == [status]
    assert iban.is_valid(value) is (status == "VALID")
