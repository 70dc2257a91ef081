"""Decisions by hand and on appeal, docs/spec/rules.md §10: M-GRANT, M-END, M-APPEAL (the months `granted_by_hand`
gives) and M-ENTITLED (the union with the automatic rules, E-AFFILIATED and E-ALIVE still cutting), on a run of
2026-11-20 (window 2024-12 .. 2026-11)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from pipelines.decide.cases import BY_HAND_COLUMNS, granted_by_hand
from schemas.feeds import FEEDS
from tests.helpers.cases import case as case_row
from tests.helpers.decide import (
    PERSON,
    Batch,
    cases,
    indexed,
    member,
    residence,
    run,
    scale,
    standing_ground,
    support_need,
    vaph,
)

D = dt.date
WINDOW = (D(2024, 12, 1), D(2026, 11, 1))


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    return pl.date_range(first, last, "1mo", eager=True).to_list()


def case(record_id: str, kind: str, decided: dt.date | None = None, first=None, last=None, **changes) -> dict:
    """A valid case_decisions row of the builder's member, ZZB (tests.helpers.cases.case, dates by position)."""
    return case_row(record_id, kind, insz=PERSON, decided_date=decided, first_month=first, last_month=last, **changes)


def grant(record_id, decided, first, last=None, **changes):
    return case(record_id, "GRANT", decided, first, last, **changes)


def end(record_id, decided, first, **changes):
    return case(record_id, "END", decided, first, **changes)


def appeal_grant(record_id, decided, first, last=None, **changes):
    return case(record_id, "APPEAL_GRANT", decided, first, last, refers_to="P1", **changes)


APPLICATION = case("A1", "APPLICATION", received_date=D(2025, 12, 1))
APPEAL = case("P1", "APPEAL", received_date=D(2026, 6, 20), refers_to="L-1")

# fmt: off
GRANTED = [
    # name                                                                       case rows                                                                                          months granted by hand (ZZB)
    ("M-GRANT a closed grant grants first_month .. last_month",                  [grant("G1", D(2026, 2, 1), D(2026, 3, 1), D(2026, 6, 1))],                                        months(D(2026, 3, 1), D(2026, 6, 1))),
    ("M-GRANT an open grant grants every later month of the window",             [grant("G1", D(2026, 9, 1), D(2026, 9, 1))],                                                       months(D(2026, 9, 1), D(2026, 11, 1))),
    ("M-GRANT a grant of one month",                                             [grant("G1", D(2026, 2, 1), D(2026, 3, 1), D(2026, 3, 1))],                                        [D(2026, 3, 1)]),
    ("M-GRANT a grant from before the window is cut at its first month",         [grant("G1", D(2023, 2, 1), D(2023, 1, 1))],                                                       months(*WINDOW)),
    ("M-GRANT a grant wholly before the window grants nothing in it",            [grant("G1", D(2023, 2, 1), D(2023, 1, 1), D(2024, 11, 1))],                                       []),
    ("M-GRANT a REFUSAL grants nothing",                                         [APPLICATION, case("R1", "REFUSAL", D(2026, 2, 1), refers_to="A1")],                              []),
    ("M-GRANT an APPLICATION grants nothing",                                    [APPLICATION],                                                                                     []),
    ("M-END ends from its first month on",                                       [grant("G1", D(2026, 1, 10), D(2026, 1, 1)), end("E1", D(2026, 5, 2), D(2026, 5, 1))],             months(D(2026, 1, 1), D(2026, 4, 1))),
    ("M-END then a new GRANT grants again",                                      [grant("G1", D(2026, 1, 10), D(2026, 1, 1)), end("E1", D(2026, 5, 2), D(2026, 5, 1)),
                                                                                  grant("G2", D(2026, 8, 1), D(2026, 8, 1))],                                                       months(D(2026, 1, 1), D(2026, 4, 1)) + months(D(2026, 8, 1), D(2026, 11, 1))),
    ("M-END decided after a grant of later months removes them too",             [grant("G1", D(2026, 3, 1), D(2026, 8, 1)), end("E1", D(2026, 4, 1), D(2026, 5, 1))],              []),
    ("M-END decided before a grant does not touch it (order of decided_date)",   [end("E1", D(2026, 4, 1), D(2026, 5, 1)), grant("G1", D(2026, 6, 1), D(2026, 3, 1))],              months(D(2026, 3, 1), D(2026, 11, 1))),
    ("M-END the same decided_date: the END with the later record_id wins",        [end("E2", D(2026, 4, 1), D(2026, 1, 1)), grant("E1", D(2026, 4, 1), D(2026, 1, 1))],              []),
    ("M-END the same decided_date: a later record_id grants again",              [end("E1", D(2026, 4, 1), D(2026, 1, 1)), grant("G1", D(2026, 4, 1), D(2026, 1, 1))],              months(D(2026, 1, 1), D(2026, 11, 1))),
    ("M-END an END before the window ends every month of it",                    [grant("G1", D(2023, 1, 1), D(2023, 1, 1)), end("E1", D(2024, 1, 5), D(2024, 2, 1))],             []),
    ("M-APPEAL an APPEAL_GRANT after a zorgkas END is not undone by it",         [APPEAL, appeal_grant("X1", D(2026, 3, 1), D(2026, 3, 1), D(2026, 8, 1)),
                                                                                  grant("G1", D(2026, 1, 10), D(2026, 1, 1)), end("E1", D(2026, 6, 1), D(2026, 2, 1))],             [D(2026, 1, 1)] + months(D(2026, 3, 1), D(2026, 8, 1))),
    ("M-APPEAL an APPEAL_REFUSAL grants nothing",                                [APPEAL, case("X1", "APPEAL_REFUSAL", D(2026, 8, 1), refers_to="P1")],                            []),
    ("M-APPEAL an open APPEAL_GRANT",                                            [APPEAL, appeal_grant("X1", D(2026, 9, 1), D(2026, 7, 1))],                                        months(D(2026, 7, 1), D(2026, 11, 1))),
    ("a grant of the other budget is not one of this budget",                    [grant("G1", D(2026, 2, 1), D(2026, 3, 1), budget="BOB")],                                        []),
]
# fmt: on


@pytest.mark.parametrize("rows, expected", cases(GRANTED))
def test_granted_by_hand(rows, expected):
    """M-GRANT, M-END, M-APPEAL: per person and budget, the zorgkas rows in the order of decided_date then
    record_id, then the agency's; each GRANT adds its months, each END removes its month and every later one."""
    frame = pl.DataFrame(rows, schema=FEEDS["case_decisions"].columns, orient="row")
    got = granted_by_hand(frame, *WINDOW).collect().sort("insz", "budget", "month")
    assert got.schema == pl.Schema(BY_HAND_COLUMNS)
    assert got.filter(pl.col("budget") == "ZZB")["month"].to_list() == expected


def test_granted_by_hand_names_the_record_and_the_application_it_decides():
    rows = [
        APPLICATION,
        grant("G1", D(2026, 2, 1), D(2026, 1, 1), D(2026, 4, 1), refers_to="A1"),
        grant("G2", D(2026, 3, 1), D(2026, 3, 1), D(2026, 3, 1)),  # decided later: March is G2's
        APPEAL,
        appeal_grant("X1", D(2026, 9, 1), D(2026, 7, 1), D(2026, 7, 1)),
    ]
    frame = pl.DataFrame(rows, schema=FEEDS["case_decisions"].columns, orient="row")
    got = granted_by_hand(frame, *WINDOW).collect().sort("insz", "budget", "month")
    assert got.select("month", "record_id", "on_appeal", "decided_date", "received_date").rows() == [
        (D(2026, 1, 1), "G1", False, D(2026, 2, 1), D(2025, 12, 1)),
        (D(2026, 2, 1), "G1", False, D(2026, 2, 1), D(2025, 12, 1)),
        (D(2026, 3, 1), "G2", False, D(2026, 3, 1), None),
        (D(2026, 4, 1), "G1", False, D(2026, 2, 1), D(2025, 12, 1)),
        (D(2026, 7, 1), "X1", True, D(2026, 9, 1), D(2026, 6, 20)),
    ]


# --- M-ENTITLED: the one record of rights -----------------------------------------------------------------------

G_MARCH_JUNE = grant("G1", D(2026, 2, 1), D(2026, 3, 1), D(2026, 6, 1))

# fmt: off
ENTITLED = [
    # name                                                                     member changes                         situation                                                                                   entitled ZZB months
    ("M-ENTITLED a month granted by hand is entitled without any ground",      {},                                    dict(case_decisions=[G_MARCH_JUNE]),                                                         months(D(2026, 3, 1), D(2026, 6, 1))),
    ("M-ENTITLED E-ALIVE cuts a grant by hand (died in April)",                {"death_date": D(2026, 4, 10)},        dict(case_decisions=[G_MARCH_JUNE]),                                                         months(D(2026, 3, 1), D(2026, 4, 1))),
    ("M-ENTITLED E-AFFILIATED cuts a grant by hand (affiliation ended in May)", {"affiliation_end": D(2026, 5, 31)},   dict(case_decisions=[G_MARCH_JUNE]),                                                         months(D(2026, 3, 1), D(2026, 5, 1))),
    ("M-ENTITLED residence is not re-judged (living in Wallonia)",             {},                                    dict(case_decisions=[G_MARCH_JUNE], residence_periods=[residence("WAL")]),                   months(D(2026, 3, 1), D(2026, 6, 1))),
    ("M-ENTITLED an exclusion is not re-judged (a PVB)",                       {},                                    dict(case_decisions=[G_MARCH_JUNE], vaph_support=[vaph("P1", "PVB", D(2025, 1, 1))]),          months(D(2026, 3, 1), D(2026, 6, 1))),
    ("M-ENTITLED union: automatic months and months by hand",                  {},                                    dict(case_decisions=[G_MARCH_JUNE], medsoc_scales=[scale("MS1", "IT", D(2026, 4, 10))]),    months(D(2026, 3, 1), D(2026, 6, 1)) + months(D(2026, 8, 1), D(2026, 11, 1))),
    ("M-ENTITLED an automatic right over the grant: every month once",         {},                                    dict(case_decisions=[G_MARCH_JUNE], medsoc_scales=[standing_ground()]),                     months(*WINDOW)),
    ("M-ENTITLED no grant by hand: the automatic rules alone",                 {},                                    dict(medsoc_scales=[scale("MS1", "IT", D(2026, 4, 10))]),                                    months(D(2026, 8, 1), D(2026, 11, 1))),
    ("M-ENTITLED a grant ended by the zorgkas (M-END) is not entitled",        {},                                    dict(case_decisions=[G_MARCH_JUNE, end("E1", D(2026, 5, 5), D(2026, 5, 1))]),               months(D(2026, 3, 1), D(2026, 4, 1))),
    ("M-ENTITLED on appeal after an END",                                      {},                                    dict(case_decisions=[G_MARCH_JUNE, end("E1", D(2026, 5, 5), D(2026, 5, 1)), APPEAL,
                                                                                                                            appeal_grant("X1", D(2026, 2, 1), D(2026, 5, 1), D(2026, 6, 1))]),                      months(D(2026, 3, 1), D(2026, 6, 1))),
]
# fmt: on

ENTITLED_RUN = Batch([situation | {"members": [member(**changes)]} for _, changes, situation, _ in ENTITLED])


@pytest.mark.parametrize("i, changes, situation, expected", indexed(ENTITLED))
def test_m_entitled(i, changes, situation, expected):
    """M-ENTITLED: entitled by the automatic rules, or granted by hand or on appeal with E-AFFILIATED and E-ALIVE on
    the month's first day; nothing else re-judged."""
    assert ENTITLED_RUN[i].entitled_months("ZZB") == expected


@pytest.mark.parametrize("full_window", [False, True])
def test_m_entitled_a_month_both_ways_is_one_month_with_both_records(full_window):
    """M-ENTITLED: one row per month; holds lists the automatic rules and M-GRANT, evidence the records and the case."""
    decided = run(full_window=full_window, case_decisions=[G_MARCH_JUNE], medsoc_scales=[standing_ground()])
    april = decided.month("ZZB", D(2026, 4, 1))
    assert april["status"] == "ENTITLED" and april["monthly_amount"] == Decimal("140.00")
    assert {"G-MEDSOC", "ZZB-START", "M-GRANT"} <= set(april["holds"]) and not april["fails"]
    assert april["evidence"] == ["medsoc_scales:MS0", "case_decisions:G1"]
    assert decided.months.filter(pl.col("month") == D(2026, 4, 1), pl.col("budget") == "ZZB").height == 1
    july = decided.month("ZZB", D(2026, 7, 1))
    assert "M-GRANT" not in july["holds"] and july["evidence"] == ["medsoc_scales:MS0"]


def test_m_entitled_by_hand_only_names_the_case_and_what_the_automatic_rules_lack():
    decided = run(case_decisions=[G_MARCH_JUNE])
    march = decided.month("ZZB", D(2026, 3, 1))
    assert march["status"] == "ENTITLED" and march["entitled"]
    assert "M-GRANT" in march["holds"] and "ZZB-START" in march["fails"]
    assert march["evidence"] == ["case_decisions:G1"]
    assert decided.month("ZZB", D(2026, 7, 1)) is None  # bulk: outside any right or grant


def test_m_appeal_in_the_record():
    decided = run(case_decisions=[APPEAL, appeal_grant("X1", D(2026, 9, 1), D(2026, 7, 1), D(2026, 7, 1))])
    july = decided.month("ZZB", D(2026, 7, 1))
    assert july["entitled"] and "M-APPEAL" in july["holds"] and "M-GRANT" not in july["holds"]
    assert july["evidence"] == ["case_decisions:X1"]


def test_m_entitled_dead_month_by_hand_is_not_entitled_and_says_why():
    decided = run(members=[member(death_date=D(2026, 4, 10))], case_decisions=[G_MARCH_JUNE])
    may = decided.month("ZZB", D(2026, 5, 1))
    assert may["status"] == "NOT_ENTITLED" and "E-ALIVE" in may["fails"] and "M-GRANT" in may["holds"]


def test_m_grant_of_the_bob_budget():
    decided = run(case_decisions=[grant("G1", D(2026, 2, 1), D(2026, 3, 1), D(2026, 4, 1), budget="BOB")])
    assert decided.entitled_months("BOB") == months(D(2026, 3, 1), D(2026, 4, 1))
    assert decided.entitled_months("ZZB") == []
    assert decided.month("BOB", D(2026, 3, 1))["monthly_amount"] == Decimal("300.00")


def test_m_grant_of_a_person_who_is_no_member_decides_nothing():
    decided = run(case_decisions=[G_MARCH_JUNE | {"insz": "00120555686"}])
    assert decided.months.height == 0


def test_m_entitled_no_w_check_residence_for_months_by_hand():
    """W-CHECK-RESIDENCE asks for proof only where E-RESIDENCE alone stops a month: not a month granted by hand."""
    wallonia = dict(residence_periods=[residence("WAL")], medsoc_scales=[standing_ground()])
    assert run(**wallonia).work("W-CHECK-RESIDENCE")
    by_hand = grant("G1", D(2026, 10, 2), D(2026, 10, 1))
    assert run(case_decisions=[by_hand], **wallonia).work("W-CHECK-RESIDENCE") == []


def test_m_entitled_no_w_nrth_transition_for_months_by_hand():
    """A month of the transition (T-NRTH-2017, PENDING) granted by hand is entitled: no W-NRTH-TRANSITION."""
    transition = dict(
        medsoc_scales=[scale("MS1", "IT", D(2025, 3, 10))], vaph_support=[vaph("N1", "NRTH", D(2016, 1, 1))]
    )
    assert run(**transition).work("W-NRTH-TRANSITION")
    assert run(**transition).status("ZZB", D(2026, 11, 1)) == "PENDING"
    decided = run(case_decisions=[grant("G1", D(2026, 10, 2), D(2026, 9, 1))], **transition)
    assert decided.status("ZZB", D(2026, 11, 1)) == "ENTITLED"
    assert decided.status("ZZB", D(2026, 8, 1)) == "PENDING"
    assert decided.work("W-NRTH-TRANSITION") == []


def test_m_grant_bob_alongside_an_automatic_bob():
    decided = run(
        vaph_support=[support_need(start=D(2026, 5, 1))],
        case_decisions=[grant("G1", D(2026, 2, 1), D(2026, 1, 1), D(2026, 6, 1), budget="BOB")],
    )
    assert decided.entitled_months("BOB")[0] == D(2026, 1, 1)
    assert decided.entitled_months("BOB")[-1] == D(2026, 11, 1)


# --- vsb explain: the case record, NL and FR --------------------------------------------------------------------


def test_explain_shows_the_case_record_in_nl_and_fr(tmp_path):
    """M-ENTITLED: the decision record lists the case record (record_id as source record) and vsb explain shows the
    person's case rows, in Dutch and in French."""
    from flows.explain import explain_person, render
    from tests.helpers.builders import write_landing

    rows = [APPLICATION, G_MARCH_JUNE | {"refers_to": "A1"}]
    landing = write_landing(tmp_path / "landing", D(2026, 11, 1), {"case_decisions": rows})
    record = explain_person(PERSON, landing, D(2026, 11, 20))
    assert [c["record_id"] for c in record["cases"]] == ["A1", "G1"]
    assert record["cases"][1] == {
        "record_id": "G1",
        "budget": "ZZB",
        "kind": "GRANT",
        "received_date": None,
        "decided_date": "2026-02-01",
        "refers_to": "A1",
        "first_month": "2026-03-01",
        "last_month": "2026-06-01",
    }
    march = next(m for m in record["budgets"]["ZZB"] if m["month"] == "2026-03")
    assert "M-GRANT" in march["holds"] and "case_decisions:G1" in march["evidence"]
    assert "M-GRANT" in record["rules"]
    nl, fr = render(record, "NL"), render(record, "FR")
    assert "G1: toegekend door de zorgkas (ZZB), beslist op 2026-02-01, maanden 2026-03 tot 2026-06, over A1" in nl
    assert "A1: aanvraag ontvangen door de zorgkas (ZZB), ontvangen op 2025-12-01" in nl
    assert "G1: octroyé par la caisse d'assurance soins (ZZB), décidé le 2026-02-01, mois 2026-03 à 2026-06" in fr
    assert "M-GRANT: Toegekend door de zorgkas" in nl and "case_decisions:G1" in nl
