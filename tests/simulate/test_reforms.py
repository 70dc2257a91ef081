"""Reform files (pipelines/simulate/reform.py, flows/simulate.py load_reform): checked on load, each failure one
line naming the file and the entry; values replace (same `from`) or are added to the parameter file's values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from flows.reference import load_reference
from flows.scenarios import load_reform, scenarios_of, simulation_name
from pipelines.simulate.reform import ReformError, value_kind

D = dt.date
ROOT = Path(__file__).resolve().parents[2]
REFORMS = ROOT / "data" / "reforms"
BASELINE = load_reference()
AS_OF = D(2026, 11, 26)
HEAD = "name: r1\ndescription: a test reform\n"

# fmt: off
ERRORS = [
    # name                                            text                                                                                   error (after "reform <file>: ")
    ("not a mapping",                                 "- 1\n- 2\n",                                                                          "not a mapping with name, description and parameters"),
    ("not YAML",                                      "name: [unclosed\n",                                                                   "not valid YAML at line 2"),
    ("an unknown top-level key",                      HEAD + "parameter: []\n",                                                              "unknown key 'parameter'"),
    ("a name with a slash",                           "name: a/b\ndescription: x\nparameters: [{name: medsoc_min, from: 1900-01-01, value: 16}]\n", "name 'a/b' must be letters"),
    ("the name baseline",                             "name: baseline\ndescription: x\nparameters: [{name: medsoc_min, from: 1900-01-01, value: 16}]\n", "name 'baseline' must be letters"),
    ("no description",                                "name: r1\nparameters: [{name: medsoc_min, from: 1900-01-01, value: 16}]\n",           "description is missing"),
    ("no parameters",                                 HEAD + "parameters: []\n",                                                             "parameters must be a non-empty list"),
    ("an unknown parameter",                          HEAD + "parameters: [{name: medsoc_minimum, from: 1900-01-01, value: 16}]\n",          "parameters entry 1: unknown parameter 'medsoc_minimum'"),
    ("an unknown key in an entry",                    HEAD + "parameters: [{name: medsoc_min, from: 1900-01-01, value: 16, until: 2030-01-01}]\n", "parameters entry 1: unknown key 'until'"),
    ("a from that is not a date",                     HEAD + "parameters: [{name: medsoc_min, from: 2027-13-01, value: 16}]\n",              "parameters entry 1 (medsoc_min): 'from' '2027-13-01' is not a date"),
    ("a from missing",                                HEAD + "parameters: [{name: medsoc_min, value: 16}]\n",                                "parameters entry 1 (medsoc_min): 'from' is missing"),
    ("a value missing",                               HEAD + "parameters: [{name: medsoc_min, from: 1900-01-01}]\n",                         "parameters entry 1 (medsoc_min): 'value' is missing"),
    ("money as a YAML number",                        HEAD + "parameters: [{name: zzb_monthly, from: 2027-01-01, value: 150}]\n",            "parameters entry 1 (zzb_monthly): value 150 is not a money amount"),
    ("money with three decimals",                     HEAD + "parameters: [{name: zzb_monthly, from: 2027-01-01, value: \"150.001\"}]\n",    "value '150.001' is not a money amount"),
    ("money as text",                                 HEAD + "parameters: [{name: bob_monthly, from: 2027-01-01, value: \"much\"}]\n",       "parameters entry 1 (bob_monthly): value 'much' is not a money amount"),
    ("a threshold that is not a number",              HEAD + "parameters: [{name: belrai_adl_iadl_min, from: 1900-01-01, value: six}]\n",    "value 'six' is not a number"),
    ("a threshold as a boolean",                      HEAD + "parameters: [{name: belrai_adl_iadl_min, from: 1900-01-01, value: true}]\n",   "value True is not a number"),
    ("a count of months with decimals",               HEAD + "parameters: [{name: bob_delay_months, from: 1900-01-01, value: 1.5}]\n",       "parameters entry 1 (bob_delay_months): value 1.5 is not a whole number"),
    ("a date parameter that is not a date",           HEAD + "parameters: [{name: nrth_transition_date, from: 1900-01-01, value: soon}]\n",  "value 'soon' is not a date"),
    ("a day of the year that is not MM-DD",           HEAD + "parameters: [{name: premium_due_day, from: 1900-01-01, value: \"04-31\"}]\n",  "value '04-31' is not a day of the year"),
    ("the second entry is named",                     HEAD + "parameters:\n  - {name: medsoc_min, from: 1900-01-01, value: 16}\n  - {name: ztk, from: 1900-01-01, value: 16}\n", "parameters entry 2: unknown parameter 'ztk'"),
    ("two values of one date",                        HEAD + "parameters:\n  - {name: medsoc_min, from: 1900-01-01, value: 16}\n  - {name: medsoc_min, from: 1900-01-01, value: 17}\n", "two values of medsoc_min from 1900-01-01"),
    ("a value that leaves D without one",             HEAD + "parameters: [{name: premium_reduced, from: 2025-01-01, value: \"x\"}]\n",      "value 'x' is not a money amount"),
]
# fmt: on


@pytest.mark.parametrize("text, error", [pytest.param(*c[1:], id=c[0]) for c in ERRORS])
def test_a_wrong_reform_file_is_one_line_naming_the_file_and_entry(tmp_path, text, error):
    path = tmp_path / "r1.yaml"
    path.write_text(text)
    with pytest.raises(ReformError) as raised:
        load_reform(path, BASELINE, AS_OF)
    message = str(raised.value)
    assert message.startswith(f"reform {path}: ") and error in message, message
    assert "\n" not in message


def test_a_missing_reform_file_is_named(tmp_path):
    with pytest.raises(ReformError, match=r"reform .*nothing\.yaml: cannot be read"):
        load_reform(tmp_path / "nothing.yaml", BASELINE, AS_OF)


# fmt: off
ACCEPTED = [
    # name                                        parameter              value          written
    ("money as a decimal string",                 "zzb_monthly",         '"150.00"',    "150.00"),
    ("money without decimals, as text",           "zzb_monthly",         '"150"',       "150"),
    ("a threshold as text (the issue's example)", "belrai_adl_iadl_min", '"6"',         "6"),
    ("a threshold as a YAML number",              "belrai_adl_iadl_min", "6",           "6"),
    ("a threshold with decimals",                 "belrai_adl_iadl_min", "5.75",        "5.75"),
    ("a count as a YAML number",                  "bob_delay_months",    "4",           "4"),
    ("a count as text",                           "bob_delay_months",    '"0"',         "0"),
    ("a date",                                    "nrth_transition_date", "2018-01-01", "2018-01-01"),
    ("a day of the year",                         "premium_due_day",     '"05-31"',     "05-31"),
]
# fmt: on


@pytest.mark.parametrize("parameter, value, written", [pytest.param(*c[1:], id=c[0]) for c in ACCEPTED])
def test_values_of_the_right_kind_are_written_as_the_parameter_file_writes_them(tmp_path, parameter, value, written):
    path = tmp_path / "r1.yaml"
    path.write_text(HEAD + f"parameters: [{{name: {parameter}, from: 1900-01-01, value: {value}}}]\n")
    scenario = load_reform(path, BASELINE, AS_OF)
    assert scenario.reform.values[0].value == written
    assert scenario.reform.values[0].source == "reform r1"


def test_the_kind_of_every_parameter_follows_its_unit_as_params_reads_it():
    """value_kind (from the unit) agrees with how pipelines/params.py reads each parameter."""
    spec, table = BASELINE.parameters.spec, BASELINE.parameters
    for name in spec:
        assert value_kind(spec[name]["unit"]) == table.kind(name), name
    money = [name for name in spec if value_kind(spec[name]["unit"]) == "money"]
    assert set(money) >= {"zzb_monthly", "bob_monthly", "premium_normal", "fine_normal", "appeal_fee"}


def test_a_value_from_an_existing_date_replaces_it_and_one_from_a_new_date_is_added(tmp_path):
    path = tmp_path / "r1.yaml"
    path.write_text(
        HEAD + "parameters:\n"
        '  - {name: zzb_monthly, from: 2024-01-01, value: "145.00"}\n'
        '  - {name: zzb_monthly, from: 2027-01-01, value: "150.00", source: "budget 2027"}\n'
    )
    table = load_reform(path, BASELINE, AS_OF).reference.parameters
    dated = table.dated("zzb_monthly")
    assert [(v.from_date, v.value) for v in dated] == [
        (D(2023, 1, 1), "135.00"),
        (D(2024, 1, 1), "145.00"),
        (D(2027, 1, 1), "150.00"),
    ]
    assert dated[2].source == "budget 2027"
    assert table.value_on("zzb_monthly", D(2026, 12, 31)) == Decimal("145.00")
    assert table.value_on("zzb_monthly", D(2027, 1, 1)) == Decimal("150.00")
    assert BASELINE.parameters.value_on("zzb_monthly", D(2027, 1, 1)) == Decimal("140.00")  # baseline untouched
    assert [v["value"] for v in BASELINE.parameters.spec["zzb_monthly"]["values"]] == ["135.00", "140.00"]


def test_the_committed_example_reforms_load_and_change_what_they_say():
    scenarios = scenarios_of(sorted(REFORMS.glob("*.yaml")), BASELINE, D(2027, 12, 26))
    by_name = {s.name: s.reference.parameters for s in scenarios}
    assert set(by_name) == {"baseline", "adl-iadl-6", "zzb-150-2027", "bob-delay-4", "residence-3-years"}
    assert by_name["residence-3-years"].params_on(D(2027, 12, 26)).residence_years == 3
    assert by_name["adl-iadl-6"].raw_on("belrai_adl_iadl_min", D(1990, 1, 1)) == "6"
    assert by_name["adl-iadl-6"].params_on(D(2027, 12, 26)).belrai_adl_iadl_min == 6.0
    assert by_name["zzb-150-2027"].value_on("zzb_monthly", D(2027, 1, 1)) == Decimal("150.00")
    assert by_name["zzb-150-2027"].value_on("zzb_monthly", D(2026, 12, 1)) == Decimal("140.00")
    assert by_name["bob-delay-4"].params_on(D(2027, 12, 26)).bob_delay_months == 4
    assert by_name["baseline"].params_on(D(2027, 12, 26)).bob_delay_months == 1


def test_names_of_a_simulation():
    scenarios = scenarios_of([REFORMS / "adl-iadl-6.yaml", REFORMS / "bob-delay-4.yaml"], BASELINE, AS_OF)
    assert simulation_name(scenarios, None) == "adl-iadl-6+bob-delay-4"
    assert simulation_name(scenarios, "threshold-study") == "threshold-study"
    with pytest.raises(ReformError, match="--name '../x' must be"):
        simulation_name(scenarios, "../x")
    with pytest.raises(ReformError, match="another reform file is also named 'adl-iadl-6'"):
        scenarios_of([REFORMS / "adl-iadl-6.yaml", REFORMS / "adl-iadl-6.yaml"], BASELINE, AS_OF)
