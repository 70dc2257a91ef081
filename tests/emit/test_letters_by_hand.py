"""L-DECISION for decisions by hand and on appeal, docs/spec/rules.md §10: the motivation names the decision ("your
zorgkas decided on <decided_date> on your application of <received_date>"; "the agency decided on <decided_date> on
your appeal of <received_date>"), in Dutch and French; a letter about a decision on appeal carries no L-APPEAL
paragraph and says so. Letters about automatic grants are unchanged."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import polars as pl
import pytest

from flows.io.letters import render_letters
from pipelines.emit.letters import content
from tests.emit.test_letters import (
    JAN,
    MARIE,
    PIET,
    TERMS,
    ZORGKASSEN,
    by_insz,
    decision_case,
    events,
    members,
    motivation,
    payments,
    pdf_pages,
)
from tests.helpers.cases import by_hand, granted

D = dt.date
M = Decimal
MONTH_OF_RUN = D(2026, 11, 1)


def hand_events() -> pl.DataFrame:
    return events(
        [
            (JAN, "ZZB", "NEW", D(2026, 9, 1), None, M("140.00")),  # granted by hand by C2, open
            (MARIE, "BOB", "NEW", D(2025, 3, 1), D(2025, 12, 1), M("300.00")),  # granted on appeal, closed
            (PIET, "ZZB", "NEW", D(2026, 9, 1), None, M("140.00")),  # automatic
        ]
    )


def hand_granted() -> pl.DataFrame:
    rows = [by_hand(m, "C2", insz=JAN) for m in (D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1))]
    rows.append(by_hand(D(2025, 12, 1), "AG1", on_appeal=True, budget="BOB", insz=MARIE))
    rows[-1] |= dict(decided_date=D(2026, 10, 14), received_date=D(2026, 6, 30))
    rows.append(by_hand(D(2026, 11, 1), "AG2", on_appeal=True, insz=JAN) | dict(decided_date=D(2026, 1, 1)))
    rows[-1]["month"] = D(2026, 8, 1)  # a month that is not the grant's latest: it does not name the letter's decision
    return granted(rows).collect()


def hand_letters() -> pl.DataFrame:
    ev = hand_events()
    noted = content.decided_by_hand(ev, hand_granted(), MONTH_OF_RUN)
    reasons = motivation(
        [
            (JAN, "ZZB", D(2026, 9, 1), "M-GRANT", "HOLDS", "case_decisions", "C2", D(2026, 3, 2), None, None, None),
            (
                MARIE,
                "BOB",
                D(2025, 3, 1),
                "M-APPEAL",
                "HOLDS",
                "case_decisions",
                "AG1",
                D(2026, 10, 14),
                None,
                None,
                None,
            ),
        ]
    )
    return content.decision_letters(
        ev, payments([]), reasons, members(), TERMS, pl.DataFrame({"insz": [MARIE]}), by_hand=noted
    )


def test_decided_by_hand_names_the_decision_of_the_grants_latest_month():
    noted = content.decided_by_hand(hand_events(), hand_granted(), MONTH_OF_RUN).sort("insz")
    assert noted.rows() == [
        (MARIE, "BOB", D(2025, 3, 1), "AGENCY", D(2026, 10, 14), D(2026, 6, 30)),
        (JAN, "ZZB", D(2026, 9, 1), "ZORGKAS", D(2026, 3, 2), D(2026, 1, 5)),
    ]


def test_a_month_granted_both_ways_names_the_appeal():
    both = [by_hand(MONTH_OF_RUN, "C2", insz=JAN), by_hand(MONTH_OF_RUN, "AG1", on_appeal=True, insz=JAN)]
    noted = content.decided_by_hand(hand_events(), granted(both).collect(), MONTH_OF_RUN)
    assert noted["by"].to_list() == ["AGENCY"]


def test_letter_by_hand_names_the_zorgkas_decision_and_keeps_the_appeal_route():
    jan = by_insz(hand_letters(), JAN)
    assert jan["by_hand"] == {"by": "ZORGKAS", "decided": "2 maart 2026", "received": "5 januari 2026"}
    assert jan["appeal"] is not None and jan["appeal"]["days"] == "90"


def test_letter_on_appeal_names_the_agency_decision_and_has_no_appeal_route():
    marie = by_insz(hand_letters(), MARIE)
    assert marie["by_hand"] == {"by": "AGENCY", "decided": "14 octobre 2026", "received": "30 juin 2026"}
    assert marie["appeal"] is None


def test_an_automatic_grant_names_no_decision_by_hand():
    piet = by_insz(hand_letters(), PIET)
    assert piet["by_hand"] is None and piet["appeal"] is not None


def test_letters_without_decisions_by_hand_name_none_and_keep_the_appeal_route():
    before = decision_case()
    assert before["by_hand"].is_null().all() and before["appeal"].is_not_null().all()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_rendered_letters_by_hand_in_dutch_and_french(tmp_path):
    letters = hand_letters()
    rows = render_letters(letters, tmp_path, ZORGKASSEN, workers=1)
    pages = pdf_pages(tmp_path / "0001.pdf")
    text = {
        r["insz"]: " ".join(pages[r["first_page"] - 1 : r["first_page"] - 1 + r["pages"]])
        for r in rows.iter_rows(named=True)
    }
    assert "Uw zorgkas besliste op 2 maart 2026 over uw aanvraag van 5 januari 2026." in text[JAN]
    assert "toegekend op uw aanvraag" in text[JAN] and "beslissing van 2 maart 2026, ref. C2" in text[JAN]
    assert "accordé ce budget de soins pour ces mois sur votre recours" in text[MARIE]
    assert "décision du 14 octobre 2026, réf. AG1" in text[MARIE]
    assert "Niet akkoord?" in text[JAN] and "beroep aantekenen" in text[JAN]
    marie = text[MARIE]
    assert (
        "L'Agentschap Vlaamse Sociale Bescherming a décidé le 14 octobre 2026 sur votre recours du 30 juin 2026."
        in marie
    )
    assert "ne mentionne pas de recours auprès de l'Agentschap" in marie
    assert "taxe de dossier" not in marie and "jours calendrier" not in marie  # no L-APPEAL paragraph
    assert "besliste" not in text[PIET] and "Niet akkoord?" in text[PIET]


def test_case_records_name_the_grant_or_appeal_grant_behind_m_grant_and_m_appeal():
    from pipelines.emit.letters.motivation import case_records
    from tests.helpers.cases import application, cases_frame, decision

    rows = [
        application("A1", D(2026, 1, 5)),
        decision("C2", "GRANT", D(2026, 3, 2), "A1", first_month=D(2026, 3, 1)),
        decision("AG1", "APPEAL_GRANT", D(2026, 10, 14), "AP1", budget="BOB", first_month=D(2025, 3, 1)),
        decision("R1", "REFUSAL", D(2026, 3, 2), "A1"),
    ]
    found = case_records(cases_frame(rows).collect())
    assert found.select("evidence", "zzb_code", "bob_code", "feed", "record_date").rows() == [
        ("case_decisions:C2", "M-GRANT", None, "case_decisions", D(2026, 3, 2)),
        ("case_decisions:AG1", None, "M-APPEAL", "case_decisions", D(2026, 10, 14)),
    ]
