"""The care premium, docs/spec/rules.md §7 and §5: P-LIABLE, P-REDUCED, P-AMOUNT, P-DUE, P-REFERENCE, P-DEFAULT,
F-FINE and W-VOLUNTARY-ARREARS, as tables of cases at the edges.

Each case is the builder's member (born 1985-07-31, RESIDENT_VL, affiliated since 2011, in ZK100,
domiciled in Flanders since birth) with only what the case is about changed. The pure functions of
pipelines/premium/invoices.py do not check an insz (staging did): each case is its own person.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import polars as pl
import pytest
from pandera.errors import SchemaErrors
from stdnum.be import ogm_vcs

from flows.premium import premium_amounts
from flows.reference import load_reference
from pipelines.params import ParameterError
from pipelines.premium.fines import (
    fine_candidates,
    fine_reference_date,
    p_default,
    plan_fines,
    w_voluntary_arrears,
    years_in_default,
)
from pipelines.premium.invoices import (
    INVOICE_COLUMNS,
    LEDGER_INVOICE_COLUMNS,
    REFERENCE_BASE_LIMIT,
    Amounts,
    PremiumRunError,
    check_new_invoices,
    p_reference,
    plan_invoices,
    premium_due,
    structured_reference,
)
from schemas.outputs import Invoices
from tests.helpers.builders import frame, valid_rows
from tests.helpers.decide import cases

D = dt.date
REFERENCE = load_reference()
Y = 2026
INVOICED = D(2026, 11, 26)
PREMIUM_2026 = Amounts(Decimal("100.00"), Decimal("35.00"))
FINE = Amounts(Decimal("250.00"), Decimal("100.00"))
PERSON = "85073112305"
BORN = D(1985, 7, 31)


def params(day: dt.date):
    return REFERENCE.parameters.params_on(day)


def members(**changes) -> pl.LazyFrame:
    return frame("members", [valid_rows()["members"][0] | {"insz": PERSON} | changes]).lazy()


def residence(*periods: tuple) -> pl.LazyFrame:
    """Residence periods (region, start, end) of the case's person; default: Flanders since birth."""
    periods = periods or (("VL", BORN, None),)
    return frame(
        "residence_periods", [dict(insz=PERSON, region=r, start_date=s, end_date=e) for r, s, e in periods]
    ).lazy()


def allowance(*periods: tuple) -> pl.LazyFrame:
    """Increased-allowance periods (start, end) of the case's person."""
    return frame("increased_allowance", [dict(insz=PERSON, start_date=s, end_date=e) for s, e in periods]).lazy()


def payments(*years: tuple) -> pl.LazyFrame:
    """premium_payments rows (year, amount_due, amount_paid, due_date, paid_date) of the case's person."""
    rows = [
        dict(insz=PERSON, premium_year=y, amount_due=due, amount_paid=paid, due_date=d, paid_date=pd)
        for y, due, paid, d, pd in years
    ]
    return frame("premium_payments", rows).lazy()


def invoice(member_changes=None, residence_rows=(), allowance_rows=(), year=Y, invoiced=INVOICED, premium=None):
    """The case's invoice as premium_due gives it (None: not invoiced)."""
    due = premium_due(
        members(**(member_changes or {})),
        residence(*residence_rows),
        allowance(*allowance_rows),
        year,
        invoiced,
        params(invoiced),
        premium or PREMIUM_2026,
    ).collect()
    assert due.height <= 1
    return due.row(0, named=True) if due.height else None


# --- P-LIABLE -------------------------------------------------------------------------------------

# fmt: off
LIABLE = [
    # name                                                                      member changes                                                              invoice date      liable
    ("P-LIABLE turns 26 on 31 December Y: owes the whole year",                 {"birth_date": D(2000, 12, 31)},                                            INVOICED,         True),
    ("P-LIABLE turns 26 on 1 January Y",                                        {"birth_date": D(2000, 1, 1)},                                              INVOICED,         True),
    ("P-LIABLE turns 25 in Y (born 1 January Y-25): not yet",                   {"birth_date": D(2001, 1, 1)},                                              INVOICED,         False),
    ("P-LIABLE turns 25 on 31 December Y: not yet",                             {"birth_date": D(2001, 12, 31)},                                            INVOICED,         False),
    ("P-LIABLE long past 26",                                                   {"birth_date": D(1940, 2, 29)},                                             INVOICED,         True),
    ("P-LIABLE affiliated from 31 December Y: one day is enough",               {"affiliation_start": D(2026, 12, 31)},                                     INVOICED,         True),
    ("P-LIABLE affiliated from 1 January Y+1: not affiliated in Y",             {"affiliation_start": D(2027, 1, 1)},                                       INVOICED,         False),
    ("P-LIABLE affiliation ended on 1 January Y: one day is enough",            {"affiliation_end": D(2026, 1, 1)},                                         INVOICED,         True),
    ("P-LIABLE affiliation ended 31 December Y-1: not affiliated in Y",         {"affiliation_end": D(2025, 12, 31)},                                       INVOICED,         False),
    ("P-LIABLE died 1 January Y, invoiced that day: alive on 1 January",        {"death_date": D(2026, 1, 1)},                                              D(2026, 1, 1),    True),
    ("P-LIABLE died 31 December Y-1: not alive on 1 January Y",                 {"death_date": D(2025, 12, 31)},                                            D(2026, 1, 2),    False),
    ("P-LIABLE died on the invoice date D: still invoiced (alive on D)",        {"death_date": D(2026, 1, 2)},                                              D(2026, 1, 2),    True),
    ("P-LIABLE died the day before D: deceased on D, not invoiced (local)",     {"death_date": D(2026, 1, 1)},                                              D(2026, 1, 2),    False),
    ("P-LIABLE died in March, invoiced in November: deceased, not invoiced",    {"death_date": D(2026, 3, 15)},                                             INVOICED,         False),
    ("P-LIABLE a voluntary member owes it too",                                 {"affiliation_basis": "RESIDENT_BXL"},                                      INVOICED,         True),
    ("P-LIABLE birth date unknown (null): not liable (never null)",             {"birth_date": None},                                                       INVOICED,         False),
]
# fmt: on


@pytest.mark.parametrize("name, changes, invoiced, liable", LIABLE, ids=[c[0] for c in LIABLE])
def test_p_liable(name, changes, invoiced, liable):
    """P-LIABLE: affiliated on a day of Y, year(birth) + 26 <= Y, alive on 1 January Y; not deceased on D."""
    assert (invoice(changes, invoiced=invoiced) is not None) == liable


# --- P-REDUCED and P-AMOUNT -----------------------------------------------------------------------

WALLONIA = [("WAL", BORN, None)]
ALLOWANCE_SINCE_2020 = [(D(2020, 1, 1), None)]

# fmt: off
REDUCED = [
    # name                                                                       member changes                          residence periods                                                  allowance periods                      amount
    ("P-REDUCED VT on 1 January Y-1 and resident for years",                     {},                                     [],                                                                ALLOWANCE_SINCE_2020,                  "35.00"),
    ("P-REDUCED VT starting on 1 January Y-1 counts",                            {},                                     [],                                                                [(D(2025, 1, 1), None)],               "35.00"),
    ("P-REDUCED VT starting 2 January Y-1 does not",                             {},                                     [],                                                                [(D(2025, 1, 2), None)],               "100.00"),
    ("P-REDUCED VT ending on 1 January Y-1 counts",                              {},                                     [],                                                                [(D(2020, 1, 1), D(2025, 1, 1))],      "35.00"),
    ("P-REDUCED VT ending 31 December Y-2 does not",                             {},                                     [],                                                                [(D(2020, 1, 1), D(2024, 12, 31))],    "100.00"),
    ("P-REDUCED VT only on 1 January Y does not count (Y-1 is the day)",         {},                                     [],                                                                [(D(2025, 6, 1), None)],               "100.00"),
    ("P-REDUCED no VT: normal amount",                                           {},                                     [],                                                                [],                                    "100.00"),
    ("P-REDUCED VT, 5 years 2021..2025 of residence (one day at each end)",      {},                                     [("VL", D(2021, 12, 31), D(2025, 1, 1)), ("WAL", D(2025, 1, 2), None)], ALLOWANCE_SINCE_2020,         "35.00"),
    ("P-REDUCED VT, only 4 years 2022..2025 of residence: normal",               {},                                     [("VL", D(2022, 1, 1), D(2025, 1, 1)), ("WAL", D(2025, 1, 2), None)], ALLOWANCE_SINCE_2020,           "100.00"),
    ("P-REDUCED VT, 5 years 2022..2026 include Y itself: normal",                {},                                     [("WAL", BORN, D(2021, 12, 31)), ("VL", D(2022, 1, 1), None)],     ALLOWANCE_SINCE_2020,                  "100.00"),
    ("P-REDUCED VT, BXL counts as VL",                                           {},                                     [("BXL", D(2000, 1, 1), None)],                                    ALLOWANCE_SINCE_2020,                  "35.00"),
    ("P-REDUCED VT, Wallonia without EU insurance: normal",                      {},                                     WALLONIA,                                                          ALLOWANCE_SINCE_2020,                  "100.00"),
    ("P-REDUCED VT, Wallonia, EU-insured since 1 January Y-1",                   {"eu_insured_since": D(2025, 1, 1)},    WALLONIA,                                                          ALLOWANCE_SINCE_2020,                  "35.00"),
    ("P-REDUCED VT, Wallonia, EU-insured since 2 January Y-1: normal",           {"eu_insured_since": D(2025, 1, 2)},    WALLONIA,                                                          ALLOWANCE_SINCE_2020,                  "100.00"),
    ("P-REDUCED EU-insured and resident but no VT: normal",                      {"eu_insured_since": D(2000, 1, 1)},    [],                                                                [],                                    "100.00"),
]
# fmt: on


@pytest.mark.parametrize("name, changes, residence_rows, allowance_rows, amount", REDUCED, ids=[c[0] for c in REDUCED])
def test_p_reduced_and_p_amount(name, changes, residence_rows, allowance_rows, amount):
    """P-REDUCED: VT active on 1 January Y-1 and (5 consecutive years in VL/BXL before Y, or EU-insured since
    1 January Y-1). P-AMOUNT: the reduced amount then, else the normal one (2026: 35 / 100)."""
    got = invoice(changes, residence_rows, allowance_rows)
    assert got["amount"] == Decimal(amount)
    assert got["reduced"] == (amount == "35.00")
    assert got["grounds"] == (["P-LIABLE", "P-REDUCED"] if got["reduced"] else ["P-LIABLE"])


# fmt: off
AMOUNTS = [
    # name                                                 year   normal     reduced
    ("P-AMOUNT 2023 (first year in the file)",             2023,  "58.00",   "29.00"),
    ("P-AMOUNT 2024: the value from 1 January 2024",       2024,  "62.00",   "31.00"),
    ("P-AMOUNT 2026: the leaflet's 100 / 35",              2026,  "100.00",  "35.00"),
]
# fmt: on


@pytest.mark.parametrize("name, year, normal, reduced", AMOUNTS, ids=[c[0] for c in AMOUNTS])
def test_p_amount_in_force_for_the_premium_year(name, year, normal, reduced):
    """P-AMOUNT: premium_normal / premium_reduced in force on 1 January Y, on both sides of each year boundary;
    the invoice carries them whatever the invoice date."""
    premium = premium_amounts(REFERENCE, year)
    assert premium == Amounts(Decimal(normal), Decimal(reduced))
    invoiced = D(year, 1, 2)
    assert invoice(year=year, invoiced=invoiced, premium=premium)["amount"] == Decimal(normal)
    assert invoice({}, [], ALLOWANCE_SINCE_2020, year=year, invoiced=invoiced, premium=premium)["amount"] == Decimal(
        reduced
    )


# fmt: off
UNKNOWN_YEARS = [
    # name                                                                    year   message
    ("P-AMOUNT 2025: the reduced premium is known missing (null)",            2025,  "parameter premium_reduced is missing for the year 2025 (not known"),
    ("P-AMOUNT 2027: no value from 2027, 2026's is not carried on",           2027,  "parameter premium_normal has no value for the year 2027 (a value per year; the newest is from 2026-01-01)"),
    ("P-AMOUNT 2030: no premium amount at all",                               2030,  "parameter premium_normal has no value for the year 2030"),
    ("P-AMOUNT 2022: before the first value",                                 2022,  "parameter premium_normal has no value for the year 2022$"),
]
# fmt: on


@pytest.mark.parametrize("year, message", cases(UNKNOWN_YEARS))
def test_p_amount_of_a_year_without_its_own_value_is_a_clear_error_never_another_years(year, message):
    """P-AMOUNT: premium_normal and premium_reduced are per year (docs/spec/rules.md, Parameters: "the run
    fails with a clear error for a year whose amount is missing"): a year needs a value whose `from` lies in
    it; one line naming the parameter and the year, never a zero nor an earlier year's amount."""
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        premium_amounts(REFERENCE, year)


def test_p_amount_per_year_is_a_mark_of_the_parameter_file():
    """Only the parameters marked `per_year` need a value of the year: 2025's normal premium is there, the
    fines (not dated per year) hold on in any year."""
    table = REFERENCE.parameters
    assert [n for n in table.names if table.per_year(n)] == ["premium_normal", "premium_reduced"]
    assert table.value_on("premium_normal", D(2025, 12, 31)) == Decimal("64.00")
    assert table.value_on("fine_normal", D(2030, 10, 15)) == Decimal("250.00")


# --- P-DUE ----------------------------------------------------------------------------------------

# fmt: off
DUE = [
    # name                                                              invoice date       due date
    ("P-DUE invoiced on 2 January: 30 April Y",                         D(2026, 1, 2),     D(2026, 4, 30)),
    ("P-DUE invoiced 31 March: +30 days is 30 April, the same day",     D(2026, 3, 31),    D(2026, 4, 30)),
    ("P-DUE invoiced 1 April: +30 days is 1 May, after 30 April",       D(2026, 4, 1),     D(2026, 5, 1)),
    ("P-DUE invoiced late in November: +30 days",                       INVOICED,          D(2026, 12, 26)),
    ("P-DUE invoiced in December: due in the next year",                D(2026, 12, 15),   D(2027, 1, 14)),
]
# fmt: on


@pytest.mark.parametrize("name, invoiced, due", DUE, ids=[c[0] for c in DUE])
def test_p_due(name, invoiced, due):
    """P-DUE: the later of 30 April Y and the invoice date + 30 days."""
    got = invoice(invoiced=invoiced)
    assert (got["due_date"], got["invoice_date"]) == (due, invoiced)


# --- the premium year's own parameters ------------------------------------------------------------

# fmt: off
YEARS_OWN = [
    # name                                                                  parameter changed (from 1 January 2026)     birth             year   invoiced          liable  due
    ("P-LIABLE age 26, then 25 from 2026: born 2000, 25 in 2025, not yet",  ("premium_liable_age", "26", "25"),          D(2000, 3, 1),    2025,  D(2025, 1, 2),    False,  None),
    ("P-LIABLE age 26, then 25 from 2026: born 2001, 25 in 2026, liable",   ("premium_liable_age", "26", "25"),          D(2001, 3, 1),    2026,  D(2026, 1, 2),    True,   D(2026, 4, 30)),
    ("P-LIABLE the year's age, whenever invoiced (2026 on 31 Dec 2025)",    ("premium_liable_age", "26", "25"),          D(2001, 3, 1),    2026,  D(2025, 12, 31),  True,   D(2026, 4, 30)),
    ("P-DUE the year's due day: 31 May from 2026, invoiced in 2025",         ("premium_due_day", "04-30", "05-31"),       D(1985, 7, 31),   2026,  D(2025, 12, 1),   True,   D(2026, 5, 31)),
    ("P-DUE the year's due day: 30 April for 2025, the year before",         ("premium_due_day", "04-30", "05-31"),       D(1985, 7, 31),   2025,  D(2025, 1, 2),    True,   D(2025, 4, 30)),
]
# fmt: on


@pytest.mark.parametrize("change, birth, year, invoiced, liable, due", cases(YEARS_OWN))
def test_the_premium_year_reads_its_own_age_and_due_day(change, birth, year, invoiced, liable, due):
    """P-LIABLE's 26 (premium_liable_age) and P-DUE's 30 April (premium_due_day) are those in force on 1 January
    of the premium year Y, whatever the invoice date; both sides of a value from 1 January 2026."""
    name, before, after = change
    p = params(invoiced).replace(**{name: [(D(1900, 1, 1), before), (D(2026, 1, 1), after)]})
    got = premium_due(members(birth_date=birth), residence(), allowance(), year, invoiced, p, PREMIUM_2026).collect()
    assert got.height == int(liable)
    assert (got["due_date"][0] if liable else None) == due


# --- P-REFERENCE ----------------------------------------------------------------------------------

EDGE_BASES = [1, 96, 97, 98, 194, 9_699_999_903, 9_999_999_999, REFERENCE_BASE_LIMIT - 97]


def references(bases: list[int]) -> list[str]:
    return (
        pl.DataFrame({"reference_base": bases}, schema={"reference_base": pl.Int64})
        .select(structured_reference())["structured_reference"]
        .to_list()
    )


def test_p_reference_agrees_with_stdnum_on_edges_and_many_generated_bases():
    """P-REFERENCE: +++DDD/DDDD/DDDDD+++, check digits = base mod 97, 97 when the remainder is 0; python-stdnum's
    be.ogm_vcs accepts every one and formats it the same."""
    rng = random.Random(6)
    bases = EDGE_BASES + [rng.randrange(1, REFERENCE_BASE_LIMIT) for _ in range(20_000)]
    for base, reference in zip(bases, references(bases), strict=True):
        digits = f"{base:010d}{(base % 97) or 97:02d}"
        assert ogm_vcs.validate(reference) == digits
        assert reference == f"+++{ogm_vcs.format(digits)}+++"


# fmt: off
CHECK_DIGITS = [
    # name                                                  base            reference
    ("P-REFERENCE base 1: check 01",                        1,              "+++000/0000/00101+++"),
    ("P-REFERENCE base 97: remainder 0 gives check 97",     97,             "+++000/0000/09797+++"),
    ("P-REFERENCE base 98: check 01 again",                 98,             "+++000/0000/09801+++"),
    ("P-REFERENCE the largest base",                        9_999_999_999,  "+++999/9999/99948+++"),
]
# fmt: on


@pytest.mark.parametrize("name, base, reference", CHECK_DIGITS, ids=[c[0] for c in CHECK_DIGITS])
def test_p_reference_check_digits(name, base, reference):
    assert references([base]) == [reference]


def test_p_reference_bases_follow_each_zorgkas_sequence_in_insz_order_whatever_the_input_order():
    """P-REFERENCE: unique within a zorgkas across years: new invoices follow the zorgkas's last base in the
    ledger (here ZK100 has used 1..5 in earlier years, ZK200 nothing), numbered in insz order."""
    a, b, c, d, e = "00120555686", "85073112305", "00000000097", "99999999999", "12345678901"
    new = pl.DataFrame(
        {
            "insz": [b, a, c, e, d],
            "zorgkas": ["ZK100", "ZK100", "ZK200", "ZK100", "ZK200"],
            "premium_year": [2027] * 5,
        },
        schema_overrides={"premium_year": pl.Int32},
    )
    last = pl.LazyFrame({"zorgkas": ["ZK100", "ZK300"], "last_base": [5, 40]})
    expected = {
        (a, 6, "ZK100-2027-0000000006"),
        (e, 7, "ZK100-2027-0000000007"),
        (b, 8, "ZK100-2027-0000000008"),
        (c, 1, "ZK200-2027-0000000001"),
        (d, 2, "ZK200-2027-0000000002"),
    }
    for shuffled in (new, new.reverse(), new.sample(fraction=1.0, shuffle=True, seed=3)):
        got = p_reference(shuffled.lazy(), last).collect()
        assert set(got.select("insz", "reference_base", "invoice_id").iter_rows()) == expected
        assert got["structured_reference"].to_list() == references(got["reference_base"].to_list())


# --- P-DEFAULT ------------------------------------------------------------------------------------

R = D(2026, 10, 15)
DUE_2025 = D(2025, 4, 30)

# fmt: off
DEFAULT = [
    # name                                                                  due      paid     due date          paid date          in default on R
    ("P-DEFAULT paid in full on R: counts",                                 64.0,    64.0,    DUE_2025,         R,                 False),
    ("P-DEFAULT paid in full the day after R: does not count at all",       64.0,    64.0,    DUE_2025,         D(2026, 10, 16),   True),
    ("P-DEFAULT paid in full long before: not in default",                  64.0,    64.0,    DUE_2025,         D(2025, 3, 1),     False),
    ("P-DEFAULT one cent short: in default",                                64.0,    63.99,   DUE_2025,         D(2025, 3, 1),     True),
    ("P-DEFAULT paid more than due: not in default",                        64.0,    70.0,    DUE_2025,         D(2025, 3, 1),     False),
    ("P-DEFAULT nothing paid (no paid date)",                               64.0,    0.0,     DUE_2025,         None,              True),
    ("P-DEFAULT an amount paid without a paid date does not count",         64.0,    64.0,    DUE_2025,         None,              True),
    ("P-DEFAULT due on R itself: not yet in default",                       100.0,   0.0,     R,                None,              False),
    ("P-DEFAULT due the day before R: in default",                          100.0,   0.0,     R - dt.timedelta(days=1), None,      True),
    ("P-DEFAULT nothing due: never in default",                             0.0,     0.0,     DUE_2025,         None,              False),
    ("P-DEFAULT 1.00 due, paid the day after R: nothing has arrived",       1.0,     1.0,     DUE_2025,         D(2026, 10, 16),   True),
    ("P-DEFAULT 64.51 due, 64.50 paid: one cent short, in default",         64.51,   64.50,   DUE_2025,         D(2025, 3, 1),     True),
    ("P-DEFAULT 63.99502 paid of 64.00: short of less than half a cent, paid", 64.0,  63.99502, DUE_2025,       D(2025, 3, 1),     False),
    ("P-DEFAULT no due date (null): not in default (never null)",           64.0,    0.0,     None,             None,              False),
    ("P-DEFAULT float amounts compared in cents (0.1 + 0.2 paid of 0.3)",   0.3,     0.1 + 0.2, DUE_2025,       D(2025, 3, 1),     False),
    ("P-DEFAULT 1e300 due (cents beyond Int64), nothing paid: in default",  1e300,   0.0,     DUE_2025,         None,              True),
    ("P-DEFAULT 1e300 due and paid: not in default",                        1e300,   1e300,   DUE_2025,         D(2025, 3, 1),     False),
    ("P-DEFAULT 1e300 paid of 64 due: not in default",                      64.0,    1e300,   DUE_2025,         D(2025, 3, 1),     False),
    ("P-DEFAULT 1.7e308 due (cents overflow a float), 1e307 paid: in default", 1.7e308, 1e307, DUE_2025,        D(2025, 3, 1),     True),
    ("P-DEFAULT 1.7e308 due and paid: not in default",                      1.7e308, 1.7e308, DUE_2025,         D(2025, 3, 1),     False),
]
# fmt: on


@pytest.mark.parametrize("name, due, paid, due_date, paid_date, expected", DEFAULT, ids=[c[0] for c in DEFAULT])
def test_p_default(name, due, paid, due_date, paid_date, expected):
    """P-DEFAULT on R: due_date < R and amount_paid < amount_due, counting only payments with paid_date <= R."""
    got = payments((2025, due, paid, due_date, paid_date)).select(p_default(R)).collect()
    assert got["p_default"].to_list() == [expected]


def test_p_default_years_and_the_days_they_fell_in_default_are_sorted():
    rows = payments(
        (2025, 64.0, 0.0, D(2025, 4, 30), None),
        (2023, 58.0, 0.0, D(2024, 1, 16), None),  # a late invoice: due after the next year's
        (2024, 62.0, 62.0, D(2024, 4, 30), D(2024, 4, 1)),
    )
    got = years_in_default(rows, R).collect().row(0, named=True)
    assert got["years_in_default"] == [2023, 2025]
    assert got["default_dates"] == [D(2024, 1, 17), D(2025, 5, 1)]


# --- F-FINE ---------------------------------------------------------------------------------------

UNPAID_2024 = (2024, 62.0, 0.0, D(2024, 4, 30), None)
UNPAID_2025 = (2025, 64.0, 0.0, D(2025, 4, 30), None)
PAID_2025_ON = lambda day: (2025, 64.0, 64.0, D(2025, 4, 30), day)  # noqa: E731
UNPAID_2023 = (2023, 58.0, 0.0, D(2023, 4, 30), None)
PAID_2024 = (2024, 62.0, 62.0, D(2024, 4, 30), D(2024, 4, 1))

# fmt: off
FINES = [
    # name                                                                      member changes                              premium rows                                allowance                      fine      years
    ("F-FINE RESIDENT_VL with 2 years in default: candidate",                   {},                                         [UNPAID_2024, UNPAID_2025],                 [],                            "250.00", [2024, 2025]),
    ("F-FINE ABROAD_EMPLOYER_VL is mandatory too",                              {"affiliation_basis": "ABROAD_EMPLOYER_VL"}, [UNPAID_2024, UNPAID_2025],                [],                            "250.00", [2024, 2025]),
    ("F-FINE one year in default is not enough",                                {},                                         [UNPAID_2024, PAID_2025_ON(D(2025, 3, 1))], [],                None,     None),
    ("F-FINE years need not be consecutive (2023 and 2025)",                    {},                                         [UNPAID_2023, PAID_2024, UNPAID_2025],      [],                            "250.00", [2023, 2025]),
    ("F-FINE second year paid on R: one year left, no candidate",               {},                                         [UNPAID_2024, PAID_2025_ON(R)],             [],                            None,     None),
    ("F-FINE second year paid the day after R: still a candidate",              {},                                         [UNPAID_2024, PAID_2025_ON(D(2026, 10, 16))], [],                          "250.00", [2024, 2025]),
    ("F-FINE voluntary RESIDENT_BXL: no fine (W-VOLUNTARY-ARREARS instead)",    {"affiliation_basis": "RESIDENT_BXL"},      [UNPAID_2024, UNPAID_2025],                 [],                            None,     None),
    ("F-FINE voluntary ABROAD_EMPLOYER_BXL: no fine",                           {"affiliation_basis": "ABROAD_EMPLOYER_BXL"}, [UNPAID_2024, UNPAID_2025],               [],                            None,     None),
    ("F-FINE VT active on 1 January F-1: reduced fine",                         {},                                         [UNPAID_2024, UNPAID_2025],                 [(D(2025, 1, 1), None)],       "100.00", [2024, 2025]),
    ("F-FINE VT from 2 January F-1: normal fine",                               {},                                         [UNPAID_2024, UNPAID_2025],                 [(D(2025, 1, 2), None)],       "250.00", [2024, 2025]),
    ("F-FINE VT ended 31 December F-2: normal fine",                            {},                                         [UNPAID_2024, UNPAID_2025],                 [(D(2020, 1, 1), D(2024, 12, 31))], "250.00", [2024, 2025]),
    ("F-FINE died on R: still a candidate",                                     {"death_date": R},                          [UNPAID_2024, UNPAID_2025],                 [],                            "250.00", [2024, 2025]),
    ("F-FINE died the day before R: no candidate (local decision)",             {"death_date": R - dt.timedelta(days=1)},   [UNPAID_2024, UNPAID_2025],                 [],                            None,     None),
    ("F-FINE affiliation basis unknown (null): no candidate (never null)",      {"affiliation_basis": None},                [UNPAID_2024, UNPAID_2025],                 [],                            None,     None),
    ("F-FINE affiliation ended: the unpaid years still count",                  {"affiliation_end": D(2025, 12, 31)},       [UNPAID_2024, UNPAID_2025],                 [],                            "250.00", [2024, 2025]),
]
# fmt: on


@pytest.mark.parametrize("name, changes, premium_rows, allowance_rows, fine, years", FINES, ids=[c[0] for c in FINES])
def test_f_fine(name, changes, premium_rows, allowance_rows, fine, years):
    """F-FINE on 15 October F: mandatory affiliation and at least 2 premium years in default (P-DEFAULT on R);
    fine_reduced (100) with VT on 1 January F-1, else fine_normal (250)."""
    p = params(R)
    assert fine_reference_date(2026, p) == R
    got = fine_candidates(members(**changes), payments(*premium_rows), allowance(*allowance_rows), 2026, p, FINE)
    rows = got.collect().to_dicts()
    expected = (
        []
        if fine is None
        else [dict(insz=PERSON, zorgkas="ZK100", fine_year=2026, amount=Decimal(fine), years_in_default=years)]
    )
    assert rows == expected


# --- W-VOLUNTARY-ARREARS --------------------------------------------------------------------------

RUN = D(2026, 11, 26)
BXL = {"affiliation_basis": "RESIDENT_BXL"}

# fmt: off
ARREARS = [
    # name                                                                        member changes                                              premium rows                                    since
    ("W-VOLUNTARY-ARREARS RESIDENT_BXL, 2 years in default",                      BXL,                                                        [UNPAID_2024, UNPAID_2025],                     D(2025, 5, 1)),
    ("W-VOLUNTARY-ARREARS ABROAD_EMPLOYER_BXL, 2 years in default",               {"affiliation_basis": "ABROAD_EMPLOYER_BXL"},               [UNPAID_2024, UNPAID_2025],                     D(2025, 5, 1)),
    ("W-VOLUNTARY-ARREARS 3 years: since the second fell in default",             BXL,                                                        [UNPAID_2023, UNPAID_2024, UNPAID_2025],        D(2024, 5, 1)),
    ("W-VOLUNTARY-ARREARS one year is not enough",                                BXL,                                                        [PAID_2024, UNPAID_2025],                       None),
    ("W-VOLUNTARY-ARREARS paid on D counts: one year left",                       BXL,                                                        [UNPAID_2024, PAID_2025_ON(RUN)],               None),
    ("W-VOLUNTARY-ARREARS paid the day after D does not count",                   BXL,                                                        [UNPAID_2024, PAID_2025_ON(D(2026, 11, 27))],   D(2025, 5, 1)),
    ("W-VOLUNTARY-ARREARS a mandatory member is no voluntary member",             {},                                                         [UNPAID_2024, UNPAID_2025],                     None),
    ("W-VOLUNTARY-ARREARS affiliation already ended: nothing to end (local)",     BXL | {"affiliation_end": D(2026, 6, 30)},                  [UNPAID_2024, UNPAID_2025],                     None),
    ("W-VOLUNTARY-ARREARS affiliation ending on D: still to end",                 BXL | {"affiliation_end": RUN},                             [UNPAID_2024, UNPAID_2025],                     D(2025, 5, 1)),
    ("W-VOLUNTARY-ARREARS affiliation basis unknown (null): not voluntary",       {"affiliation_basis": None},                                [UNPAID_2024, UNPAID_2025],                     None),
    ("W-VOLUNTARY-ARREARS deceased before D: nothing to end (local)",             BXL | {"death_date": D(2026, 11, 1)},                       [UNPAID_2024, UNPAID_2025],                     None),
]
# fmt: on


@pytest.mark.parametrize("name, changes, premium_rows, since", ARREARS, ids=[c[0] for c in ARREARS])
def test_w_voluntary_arrears(name, changes, premium_rows, since):
    """W-VOLUNTARY-ARREARS: a voluntary member (RESIDENT_BXL, ABROAD_EMPLOYER_BXL) with 2 or more premium years
    in default on D: a work-list row since the day the second year fell in default."""
    got = w_voluntary_arrears(members(**changes), payments(*premium_rows), params(RUN), RUN).collect()
    assert got["since"].to_list() == ([] if since is None else [since])


def test_w_voluntary_arrears_row_has_the_work_list_columns_detail_and_evidence():
    got = w_voluntary_arrears(members(**BXL), payments(UNPAID_2024, UNPAID_2025), params(RUN), RUN).collect()
    assert got.schema == pl.Schema(
        {
            "insz": pl.String,
            "zorgkas": pl.String,
            "code": pl.String,
            "since": pl.Date,
            "detail": pl.String,
            "evidence": pl.List(pl.String),
            "due": pl.Date,
        }
    )
    assert got.to_dicts() == [
        dict(
            insz=PERSON,
            zorgkas="ZK100",
            code="W-VOLUNTARY-ARREARS",
            since=D(2025, 5, 1),
            detail="2 premium years in default: 2024, 2025",
            evidence=["premium_payments:2024", "premium_payments:2025"],
            due=None,
        )
    ]


# --- the pandera models of the published files ---------------------------------------------------


def invoice_rows(**changes) -> pl.DataFrame:
    """Two valid invoices of ZK100 (the second reduced), with `changes` applied to the second."""
    rows = [
        dict(
            invoice_id="ZK100-2026-0000000001",
            insz="00120555686",
            zorgkas="ZK100",
            premium_year=2026,
            amount=Decimal("100.00"),
            reduced=False,
            grounds=["P-LIABLE"],
            structured_reference="+++000/0000/00101+++",
            due_date=D(2026, 4, 30),
            invoice_date=D(2026, 1, 2),
        ),
        dict(
            invoice_id="ZK100-2026-0000000097",
            insz="85073112305",
            zorgkas="ZK100",
            premium_year=2026,
            amount=Decimal("35.00"),
            reduced=True,
            grounds=["P-LIABLE", "P-REDUCED"],
            structured_reference="+++000/0000/09797+++",
            due_date=D(2026, 4, 30),
            invoice_date=D(2026, 1, 2),
        ),
    ]
    rows[1] |= changes
    return pl.DataFrame(rows, schema=INVOICE_COLUMNS, orient="row")


# fmt: off
INVOICE_MODEL = [
    # name                                                          changes to the second invoice                                                                failing check
    ("valid invoices pass",                                         {},                                                                                          None),
    ("P-REFERENCE wrong check digits",                              {"structured_reference": "+++000/0000/09701+++", "invoice_id": "ZK100-2026-0000000097"},     "check_digits"),
    ("P-REFERENCE a reference twice in one zorgkas",                {"structured_reference": "+++000/0000/00101+++", "invoice_id": "ZK100-2026-0000000001"},     "reference_unique_within_zorgkas"),
    ("P-REFERENCE not +++DDD/DDDD/DDDDD+++",                        {"structured_reference": "000/0000/09797"},                                                  "str_matches"),
    ("invoice_id that does not name the reference",                 {"invoice_id": "ZK100-2026-0000000098"},                                                     "invoice_id_names_zorgkas_year_and_reference"),
    ("P-LIABLE one invoice per person and year",                    {"insz": "00120555686"},                                                                     "multiple_fields_uniqueness"),
    ("P-DUE before the invoice date",                               {"due_date": D(2026, 1, 1)},                                                                 "due_on_or_after_invoice"),
    ("P-AMOUNT zero",                                               {"amount": Decimal("0.00")},                                                                 "positive_amount"),
    ("grounds without P-REDUCED on a reduced invoice",              {"grounds": ["P-LIABLE"]},                                                                   "grounds_are_premium_codes"),
    ("grounds with P-REDUCED on a normal invoice",                  {"reduced": False},                                                                          "grounds_are_premium_codes"),
]
# fmt: on


@pytest.mark.parametrize("name, changes, failing", INVOICE_MODEL, ids=[c[0] for c in INVOICE_MODEL])
def test_invoices_model(name, changes, failing):
    """schemas/premium.py Invoices: what a published invoices.parquet must satisfy."""
    frame = invoice_rows(**changes)
    if failing is None:
        Invoices.validate(frame, lazy=True)
        return
    with pytest.raises(SchemaErrors) as raised:
        Invoices.validate(frame, lazy=True)
    assert failing in set(raised.value.failure_cases["check"].cast(pl.String).str.replace(r"\(.*", ""))


# --- P-AMOUNT: the amount as given, in cents -----------------------------------------------------------

# fmt: off
CENTS = [
    # name                                                         allowance since 2020        amount
    ("P-AMOUNT a normal amount with cents keeps them",             (),                         Decimal("100.05")),
    ("P-AMOUNT a reduced amount with cents keeps them",            ALLOWANCE_SINCE_2020,       Decimal("35.55")),
]
# fmt: on


@pytest.mark.parametrize("allowance_rows, amount", cases(CENTS))
def test_p_amount_is_money_to_the_cent(allowance_rows, amount):
    """P-AMOUNT: the amount in force, to the cent, as decimal(12,2) (the money type of every output)."""
    premium = Amounts(Decimal("100.05"), Decimal("35.55"))
    due = premium_due(members(), residence(), allowance(*allowance_rows), Y, INVOICED, params(INVOICED), premium)
    got = due.collect()
    assert got.schema["amount"] == pl.Decimal(12, 2)
    assert got["amount"].to_list() == [amount]


# --- The ledger's keys, checked before the commit (check_new_invoices) ---------------------------------

OTHER = "00120555686"
THIRD = "12345678901"

# fmt: off
LEDGER_KEYS = [
    # name                                                                        new (insz, zorgkas, base)                                        in the ledger    last bases                      refused
    ("P-REFERENCE new bases after the zorgkas's last one are accepted",           [(PERSON, "ZK100", 6), (OTHER, "ZK100", 7)],                     [],              [("ZK100", 5)],                 False),
    ("P-REFERENCE a zorgkas's bases start above 0 (no last base: 0)",             [(PERSON, "ZK100", 0)],                                          [],              [],                             True),
    ("P-REFERENCE a zorgkas's first bases (no last base) are accepted",           [(PERSON, "ZK100", 1)],                                          [],              [],                             False),
    ("P-REFERENCE the last invoice base (below the recoveries') is accepted",     [(PERSON, "ZK100", 8_999_999_999)],                              [],              [("ZK100", 8_999_999_998)],     False),
    ("P-REFERENCE the first recovery base (L-RECOVERY) is refused",               [(PERSON, "ZK100", 9_000_000_000)],                              [],              [("ZK100", 8_999_999_999)],     True),
    ("P-REFERENCE a base of 11 digits is refused",                                [(PERSON, "ZK100", 10_000_000_000)],                             [],              [("ZK100", 8_999_999_999)],     True),
    ("P-REFERENCE a base the zorgkas used before is refused",                     [(PERSON, "ZK100", 5)],                                          [],              [("ZK100", 5)],                 True),
    ("P-REFERENCE another zorgkas's last base does not count",                    [(PERSON, "ZK100", 5)],                                          [],              [("ZK600", 9)],                 False),
    ("P-LIABLE one invoice per person and year: twice in the run is refused",     [(PERSON, "ZK100", 6), (PERSON, "ZK100", 7)],                    [],              [("ZK100", 5)],                 True),
    ("P-LIABLE one invoice per person and year: already in the ledger, refused",  [(PERSON, "ZK100", 6)],                                          [PERSON],        [("ZK100", 5)],                 True),
    ("P-LIABLE one twice in the run and another in the ledger: refused",          [(PERSON, "ZK100", 6), (PERSON, "ZK100", 7), (THIRD, "ZK100", 8)], [THIRD],       [("ZK100", 5)],                 True),
]
# fmt: on


@pytest.mark.parametrize("new, ledger, last_bases, refused", cases(LEDGER_KEYS))
def test_check_new_invoices(new, ledger, last_bases, refused):
    """P-LIABLE (one premium per person and year) and P-REFERENCE (bases unique within a zorgkas, 10 digits):
    check_new_invoices refuses a run that would break the invoice ledger's keys."""
    new_rows = pl.DataFrame(
        new, schema={"insz": pl.String, "zorgkas": pl.String, "reference_base": pl.Int64}, orient="row"
    )
    ledger_rows = pl.DataFrame({"insz": ledger}, schema={"insz": pl.String})
    bases = pl.DataFrame(last_bases, schema={"zorgkas": pl.String, "last_base": pl.Int64}, orient="row")
    if refused:
        with pytest.raises(PremiumRunError):
            check_new_invoices(new_rows, ledger_rows, bases)
    else:
        check_new_invoices(new_rows, ledger_rows, bases)


# --- The run's counts: members not invoiced because deceased -------------------------------------------

# fmt: off
DECEASED = [
    # name                                                                          member changes                        invoice date     issued  deceased
    ("P-LIABLE died on 1 January Y, invoiced on 2 January: counted as deceased",    {"death_date": D(2026, 1, 1)},        D(2026, 1, 2),   0,      1),
    ("P-LIABLE died on 31 December Y-1: not liable, not counted",                   {"death_date": D(2025, 12, 31)},      D(2026, 1, 2),   0,      0),
    ("P-LIABLE died on the invoice date: invoiced, not counted",                    {"death_date": D(2026, 1, 2)},        D(2026, 1, 2),   1,      0),
    ("P-LIABLE alive: invoiced, not counted",                                       {},                                   INVOICED,        1,      0),
]
# fmt: on


@pytest.mark.parametrize("changes, invoiced, issued, deceased", cases(DECEASED))
def test_plan_invoices_counts_the_deceased_not_invoiced(changes, invoiced, issued, deceased):
    """P-LIABLE (local decision): a member liable on 1 January Y but deceased on the invoice date is not
    invoiced, and is counted in the run's report."""
    member = members(**changes)
    due = premium_due(member, residence(), allowance(), Y, invoiced, params(invoiced), PREMIUM_2026).collect()
    no_one = pl.DataFrame(schema={"insz": pl.String})
    ledger = pl.DataFrame(schema=LEDGER_INVOICE_COLUMNS)
    last_bases = pl.DataFrame(schema={"zorgkas": pl.String, "last_base": pl.Int64})
    plan = plan_invoices(due, member, no_one, ledger, last_bases, Y, invoiced, params(invoiced))
    assert (plan.counts["issued"], plan.counts["deceased_not_invoiced"]) == (issued, deceased)


# --- The fines of a year against the ledger (plan_fines) ------------------------------------------------


def test_plan_fines_proposes_each_person_once_a_year_and_holds_the_held():
    """F-FINE: at most one fine per person and year F: a candidate already in the ledger for F is not proposed
    again; a held person (S-HOLD) waits; the counts say so."""
    columns = {"insz": pl.String, "zorgkas": pl.String}
    candidates = pl.DataFrame([(PERSON, "ZK100"), (OTHER, "ZK100"), (THIRD, "ZK100")], schema=columns, orient="row")
    ledger = pl.DataFrame([(OTHER, "ZK100")], schema=columns, orient="row")
    held = pl.DataFrame({"insz": [THIRD]})
    plan = plan_fines(candidates, held, ledger)
    assert plan.new["insz"].to_list() == [PERSON]
    assert sorted(plan.rows["insz"].to_list()) == sorted([PERSON, OTHER])
    assert plan.counts == {"candidates": 3, "proposed": 1, "proposed_earlier": 1, "held": 1}
