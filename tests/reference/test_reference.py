"""Reference data: dated parameters in force on a date, and the zorgkassen list."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from stdnum import bic, iban
from stdnum.eu import at_02

from flows.reference import load_reference
from pipelines.params import ParameterError

D = dt.date
REF = load_reference()
SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "rules.md"

# fmt: off
CASES = [
    # name                                   parameter          day               expected
    ("ZZB the day before the 2024 increase", "zzb_monthly",     D(2023, 12, 31),  Decimal("135.00")),
    ("ZZB on the day of the increase",       "zzb_monthly",     D(2024, 1, 1),    Decimal("140.00")),
    ("BOB since 2019",                       "bob_monthly",     D(2019, 1, 1),    Decimal("300.00")),
    ("premium 2025",                         "premium_normal",  D(2025, 6, 1),    Decimal("64.00")),
    ("premium 2026",                         "premium_normal",  D(2026, 1, 1),    Decimal("100.00")),
    ("reduced premium 2024",                 "premium_reduced", D(2024, 12, 31),  Decimal("31.00")),
    ("reduced premium 2026",                 "premium_reduced", D(2026, 1, 1),    Decimal("35.00")),
    ("fine normal",                          "fine_normal",     D(2026, 10, 15),  Decimal("250.00")),
    ("appeal fee on its first day",          "appeal_fee",      D(2021, 8, 15),   Decimal("75.00")),
    ("reduced appeal fee",                   "appeal_fee_reduced", D(2026, 11, 26), Decimal("37.50")),
]
# fmt: on


@pytest.mark.parametrize("name, parameter, day, expected", CASES, ids=[c[0] for c in CASES])
def test_money_in_force(name, parameter, day, expected):
    assert REF.parameters.value_on(parameter, day) == expected


def test_missing_value_is_a_clear_error_not_zero():
    with pytest.raises(ParameterError, match="premium_reduced is missing for the year 2025"):
        REF.parameters.value_on("premium_reduced", D(2025, 1, 1))
    with pytest.raises(ParameterError, match="zzb_monthly has no value in force on 2022-12-31"):
        REF.parameters.value_on("zzb_monthly", D(2022, 12, 31))
    old = REF.parameters.params_on(D(2018, 12, 31))  # a value is read when a rule needs it, not before
    assert old.payment_day == 26
    with pytest.raises(ParameterError, match="fine_min_years has no value in force on 2018-12-31"):
        _ = old.fine_min_years


def test_appeal_parameters_of_rules_md():
    """L-APPEAL: 90 days from the day after receipt, received 5 working days after the letter's date."""
    p = REF.parameters.params_on(D(2026, 11, 26))
    assert (p.appeal_days, p.appeal_receipt_working_days) == (90, 5)
    assert REF.parameters.raw_on("appeal_days", D(2026, 11, 26)) == "90"
    with pytest.raises(ParameterError, match="appeal_fee has no value in force on 2021-08-14"):
        _ = REF.parameters.params_on(D(2021, 8, 14)).appeal_fee


def test_thresholds_of_rules_md():
    p = REF.parameters.params_on(D(2026, 11, 20))
    assert (p.belrai_total_min, p.belrai_adl_iadl_min, p.medsoc_min, p.ztk_min) == (13, 5.5, 15, 18)
    assert (p.ground_delay_months, p.residence_years, p.late_waiting_years) == (4, 5, 5)
    assert p.nrth_transition_date == D(2017, 1, 1)
    assert (p.absence_one_days, p.absence_two_days, p.fine_min_years, p.voluntary_arrears_years) == (30, 100, 2, 2)
    assert (p.payment_day, p.premium_late_invoice_days, p.evaluation_window_months) == (26, 30, 24)
    assert (p.premium_due_day, p.fine_reference_day) == ((4, 30), (10, 15))
    assert (p.min_rows_ratio, p.max_stop_fraction, p.max_new_fraction) == (0.9, 0.02, 0.10)
    # the age limits of the rule text (§3, §4, §6, §7), named parameters
    assert (p.adult_age, p.voluntary_on_time_age, p.premium_liable_age) == (18, 27, 26)


def test_every_parameter_of_rules_md_is_in_the_file_with_a_source():
    table = SPEC.read_text().split("## Parameters", 1)[1]
    names = set()
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith("| name") and not line.startswith("|---"):
            names.update(n.strip() for n in line.split("|")[1].split("/"))
    assert names and names <= set(REF.parameters.names)
    for name in REF.parameters.names:
        assert all(v.source for v in REF.parameters.dated(name)), name


def test_series_for_date_joins():
    series = REF.parameters.series("zzb_monthly", D(2023, 6, 1), D(2026, 11, 1))
    assert series["value"].to_list() == [Decimal("135.00"), Decimal("140.00")]
    assert series["to_date"][0] == D(2023, 12, 31)
    assert series.schema["value"] == pl.Decimal(12, 2)
    with pytest.raises(ParameterError):
        REF.parameters.series("premium_reduced", D(2024, 6, 1), D(2025, 6, 1))


def test_zorgkassen_list_has_six_with_valid_accounts():
    zk = REF.zorgkassen
    assert zk.height >= 6 and zk["code"].n_unique() == zk.height
    for row in zk.iter_rows(named=True):
        assert iban.is_valid(row["iban"]) and row["iban"].startswith("BE")
        assert bic.is_valid(row["bic"])
        assert at_02.is_valid(row["creditor_id"])
        assert re.fullmatch(r"ZK\d{3}", row["code"])
