"""report.html of a simulation in the user's language (pipelines/simulate/report.py): Dutch or French texts, Belgian
number formats (Babel), the figures named as the run report names them."""

from __future__ import annotations

import pytest

from pipelines.simulate.report import TEXTS, simulation_html
from pipelines.simulate.summary import DEFINITIONS, figures, summary_document

ROW = {
    "persons_baseline": 12345, "persons_reform": 12400, "months_baseline": 150000, "months_reform": 151000,
    "cost_baseline": "21000000.00", "cost_reform": "21140000.00", "persons_gaining": 60, "persons_losing": 5,
    "months_gained": 1200, "months_lost": 200, "months_amount_changed": 0,
}  # fmt: skip


def summary() -> dict:
    block = {
        "total": figures(ROW),
        "years": {"2026": figures(ROW)},
        "zorgkassen": {"ZK100": {"total": figures(ROW), "years": {"2026": figures(ROW)}}},
    }
    simulation = {
        "name": "adl-iadl-6",
        "as_of": "2026-11-26",
        "window": {"first_month": "2024-12-01", "last_month": "2026-11-01"},
        "reforms": [
            {
                "name": "adl-iadl-6",
                "parameters": [{"name": "belrai_adl_iadl_min", "value": "6", "from": "2027-01-01", "source": "x"}],
            }
        ],
        "deliveries": {"members": "2026-11-01"},
    }
    reforms = {"adl-iadl-6": {"description": "ADL+IADL 6", "budgets": {"ZZB": block, "BOB": block}}}
    return summary_document(simulation, {}, [], reforms)


# fmt: off
CASES = [
    # lang  words                                                              numbers
    ("NL", ["Personen met een maand recht", "Hoe leest u de cijfers?", "Hervorming adl-iadl-6", "Verschil in kostprijs"],
           ["12.345 → 12.400", "€\u00a021.000.000,00 → €\u00a021.140.000,00", "+€\u00a0140.000,00"]),
    ("FR", ["Personnes avec un mois de droit", "Comment lire les chiffres", "Réforme adl-iadl-6", "Différence de coût"],
           ["12\u202f345 → 12\u202f400", "21\u202f000\u202f000,00\u00a0€ → 21\u202f140\u202f000,00\u00a0€", "+140\u202f000,00\u00a0€"]),
]
# fmt: on


@pytest.mark.parametrize("lang, words, numbers", CASES, ids=[c[0] for c in CASES])
def test_the_report_speaks_the_users_language_with_belgian_numbers(lang, words, numbers):
    page = simulation_html(summary(), lang)
    assert f'<html lang="{lang.lower()}">' in page
    for text in [*words, *numbers]:
        assert text in page, text
    for english in ("Persons with a right", "How to read", "Cost difference", "12,345"):
        assert english not in page, english


def test_every_definition_is_told_in_both_languages():
    for lang in ("NL", "FR"):
        assert set(TEXTS[lang]["definitions"]) == set(DEFINITIONS)
    assert set(TEXTS["NL"]) == set(TEXTS["FR"])
