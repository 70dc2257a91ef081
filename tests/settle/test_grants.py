"""D-EVENTS, docs/spec/rules.md §8: grants (maximal runs of consecutive entitled months) and their events.

Hand-made frames with the exact schemas (PERIOD_COLUMNS, GRANT_COLUMNS). The default case: a run on
2026-11-20 (window 2024-12 to 2026-11), one person with a ZZB on G-MEDSOC at 140.00 a month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from pipelines.decide.decisions import PERIOD_COLUMNS
from pipelines.settle.grants import EVENT_COLUMNS, GRANT_COLUMNS, grant_events, grants_of
from tests.helpers.builders import INSZ_1985, INSZ_2000
from tests.helpers.decide import cases

D = dt.date
RUN = D(2026, 11, 20)
WINDOW_FIRST = D(2024, 12, 1)
MONTH_OF_RUN = D(2026, 11, 1)
MEDSOC = ("G-MEDSOC",)
HOLDS = ["G-MEDSOC", "ZZB-START", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]


def M(year: int, month: int) -> dt.date:
    return D(year, month, 1)


def period(
    first: dt.date,
    last: dt.date,
    entitled: bool = True,
    amount: str = "140.00",
    holds: list[str] = HOLDS,
    budget: str = "ZZB",
    insz: str = INSZ_1985,
) -> dict:
    return dict(
        insz=insz,
        zorgkas="ZK100",
        budget=budget,
        first_month=first,
        last_month=last,
        status="ENTITLED" if entitled else "NOT_ENTITLED",
        entitled=entitled,
        holds=holds,
        fails=[] if entitled else ["E-AFFILIATED"],
        evidence=[f"medsoc_scales:MS{first:%Y%m}"],
        monthly_amount=Decimal(amount),
    )


def periods(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PERIOD_COLUMNS, orient="row")


def g(
    first: dt.date,
    last: dt.date | None = None,
    budget: str = "ZZB",
    grounds: tuple[str, ...] = MEDSOC,
    amount: str = "140.00",
    insz: str = INSZ_1985,
) -> dict:
    """A grant (GRANT_COLUMNS)."""
    return dict(
        insz=insz,
        zorgkas="ZK100",
        budget=budget,
        first_month=first,
        last_month=last,
        monthly_amount=Decimal(amount),
        grounds=list(grounds),
        evidence=["medsoc_scales:MS0"],
    )


def grants(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=GRANT_COLUMNS, orient="row")


def summary(frame: pl.DataFrame) -> list[tuple]:
    """(budget, first_month, last_month, monthly_amount as text, grounds) per grant."""
    return [
        (r["budget"], r["first_month"], r["last_month"], str(r["monthly_amount"]), tuple(r["grounds"]))
        for r in frame.sort("budget", "first_month").iter_rows(named=True)
    ]


# --- grants_of: the grants of this run -------------------------------------------------------------

BELRAI = ["G-BELRAI", "ZZB-START", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]
FACILITY = ["G-FACILITY", "ZZB-START", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]
TWO_GROUNDS = ["G-BELRAI", "G-MEDSOC", "ZZB-START", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]
BOB_HOLDS = ["G-BOB", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]

# fmt: off
GRANTS_OF = [
    # name                                                                     periods                                                                                                    grants (budget, first, last, amount, grounds)
    ("D-EVENTS one entitled period reaching the month of D: one open grant",   [period(M(2025, 3), MONTH_OF_RUN)],                                                                        [("ZZB", M(2025, 3), None, "140.00", MEDSOC)]),
    ("D-EVENTS consecutive entitled periods are one grant",                    [period(M(2025, 3), M(2025, 12)), period(M(2026, 1), MONTH_OF_RUN)],                                       [("ZZB", M(2025, 3), None, "140.00", MEDSOC)]),
    ("D-EVENTS a grant ending in the month before D is closed",                [period(M(2025, 3), M(2026, 10))],                                                                         [("ZZB", M(2025, 3), M(2026, 10), "140.00", MEDSOC)]),
    ("D-EVENTS a month not entitled splits the grant",                         [period(M(2025, 3), M(2025, 6)), period(M(2025, 7), M(2025, 7), False), period(M(2025, 8), MONTH_OF_RUN)], [("ZZB", M(2025, 3), M(2025, 6), "140.00", MEDSOC), ("ZZB", M(2025, 8), None, "140.00", MEDSOC)]),
    ("D-EVENTS a gap month without any period splits the grant",               [period(M(2025, 3), M(2025, 6)), period(M(2025, 8), MONTH_OF_RUN)],                                        [("ZZB", M(2025, 3), M(2025, 6), "140.00", MEDSOC), ("ZZB", M(2025, 8), None, "140.00", MEDSOC)]),
    ("D-EVENTS periods that touch across a year end are one grant",            [period(M(2025, 12), M(2025, 12)), period(M(2026, 1), M(2026, 2))],                                        [("ZZB", M(2025, 12), M(2026, 2), "140.00", MEDSOC)]),
    ("D-EVENTS only months not entitled: no grant",                            [period(M(2025, 3), MONTH_OF_RUN, False)],                                                                 []),
    ("D-EVENTS no period at all: no grant",                                    [],                                                                                                        []),
    ("D-EVENTS grounds are the G- codes of the latest month",                  [period(M(2025, 3), M(2025, 12), holds=BELRAI), period(M(2026, 1), MONTH_OF_RUN, holds=FACILITY)],         [("ZZB", M(2025, 3), None, "140.00", ("G-FACILITY",))]),
    ("D-EVENTS grounds: every G- code, not ZZB-START nor the conditions",      [period(M(2025, 3), MONTH_OF_RUN, holds=TWO_GROUNDS)],                                                     [("ZZB", M(2025, 3), None, "140.00", ("G-BELRAI", "G-MEDSOC"))]),
    ("D-EVENTS the amount is that of the latest month",                        [period(M(2025, 3), M(2025, 12), amount="135.00"), period(M(2026, 1), MONTH_OF_RUN)],                      [("ZZB", M(2025, 3), None, "140.00", MEDSOC)]),
    ("D-EVENTS a closed grant: the amount of its own last month",              [period(M(2025, 3), M(2025, 6), amount="135.00"), period(M(2025, 7), M(2025, 9)), period(M(2025, 10), MONTH_OF_RUN, False)], [("ZZB", M(2025, 3), M(2025, 9), "140.00", MEDSOC)]),
    ("D-EVENTS a BOB grant has the ground G-BOB",                              [period(M(2025, 3), MONTH_OF_RUN, amount="300.00", holds=BOB_HOLDS, budget="BOB")],                        [("BOB", M(2025, 3), None, "300.00", ("G-BOB",))]),
    ("D-EVENTS a BOB grant ending the month before a ZZB grant starts: two grants", [period(M(2025, 3), M(2025, 6), amount="300.00", holds=BOB_HOLDS, budget="BOB"), period(M(2025, 7), MONTH_OF_RUN)], [("BOB", M(2025, 3), M(2025, 6), "300.00", ("G-BOB",)), ("ZZB", M(2025, 7), None, "140.00", MEDSOC)]),
    ("D-EVENTS one person's grant ending the month before another's starts: two", [period(M(2025, 3), M(2025, 6), insz=INSZ_2000), period(M(2025, 7), MONTH_OF_RUN)],                      [("ZZB", M(2025, 3), M(2025, 6), "140.00", MEDSOC), ("ZZB", M(2025, 7), None, "140.00", MEDSOC)]),
    ("D-EVENTS ZZB and BOB in the same months are two grants",                 [period(M(2025, 3), MONTH_OF_RUN), period(M(2025, 5), M(2026, 2), amount="300.00", holds=BOB_HOLDS, budget="BOB")], [("BOB", M(2025, 5), M(2026, 2), "300.00", ("G-BOB",)), ("ZZB", M(2025, 3), None, "140.00", MEDSOC)]),
]
# fmt: on


@pytest.mark.parametrize("rows, expected", cases(GRANTS_OF))
def test_d_events_grants_of(rows, expected):
    """D-EVENTS: a grant is a maximal run of consecutive entitled months of one person and budget; open
    (last_month null) when it reaches the month of D; grounds and amount of its latest month."""
    found = grants_of(periods(rows), RUN)
    assert found.schema == pl.Schema(GRANT_COLUMNS)
    assert summary(found) == expected


def test_d_events_grants_of_keeps_persons_apart_and_the_latest_evidence():
    """D-EVENTS: two persons' adjacent months never make one grant; evidence is that of the latest month."""
    rows = [period(M(2025, 3), M(2025, 6)), period(M(2025, 7), MONTH_OF_RUN, insz=INSZ_2000)]
    found = grants_of(periods(rows), RUN)
    assert found.select("insz", "first_month", "last_month", "evidence").to_dicts() == [
        {"insz": INSZ_2000, "first_month": M(2025, 7), "last_month": None, "evidence": ["medsoc_scales:MS202507"]},
        {
            "insz": INSZ_1985,
            "first_month": M(2025, 3),
            "last_month": M(2025, 6),
            "evidence": ["medsoc_scales:MS202503"],
        },
    ]


# --- grant_events: this run's grants against the previous run's ---------------------------------------

# fmt: off
EVENTS = [
    # name                                                                                 previous grants                                           current grants                                                   events (event, budget, first, last)
    ("D-EVENTS first run on an empty state: an open grant is NEW",                         [],                                                       [g(M(2025, 3))],                                                 [("NEW", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS first run on an empty state: a closed grant is NEW too",                    [],                                                       [g(M(2025, 1), M(2025, 6)), g(M(2025, 9))],                      [("NEW", "ZZB", M(2025, 1), M(2025, 6)), ("NEW", "ZZB", M(2025, 9), None)]),
    ("D-EVENTS an open grant equal to the previous one is CONTINUED",                      [g(M(2025, 3))],                                          [g(M(2025, 3))],                                                 [("CONTINUED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS late data moves the first month earlier: CHANGED",                          [g(M(2025, 3))],                                          [g(M(2025, 1))],                                                 [("CHANGED", "ZZB", M(2025, 1), None)]),
    ("D-EVENTS a later first month: CHANGED",                                              [g(M(2025, 3))],                                          [g(M(2025, 4))],                                                 [("CHANGED", "ZZB", M(2025, 4), None)]),
    ("D-EVENTS other grounds: CHANGED",                                                    [g(M(2025, 3))],                                          [g(M(2025, 3), grounds=("G-FACILITY",))],                        [("CHANGED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS one more ground: CHANGED",                                                  [g(M(2025, 3))],                                          [g(M(2025, 3), grounds=("G-BELRAI", "G-MEDSOC"))],               [("CHANGED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS another amount: CHANGED",                                                   [g(M(2025, 3), amount="135.00")],                         [g(M(2025, 3))],                                                 [("CHANGED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS a previous open grant now ending the month before D: STOPPED",              [g(M(2025, 3))],                                          [g(M(2025, 3), M(2026, 10))],                                    [("STOPPED", "ZZB", M(2025, 3), M(2026, 10))]),
    ("D-EVENTS news came late: STOPPED with last month in the past",                       [g(M(2025, 3))],                                          [g(M(2025, 3), M(2025, 7))],                                     [("STOPPED", "ZZB", M(2025, 3), M(2025, 7))]),
    ("D-EVENTS a previous open grant split by a gap: STOPPED part and CHANGED part",       [g(M(2025, 1))],                                          [g(M(2025, 1), M(2025, 6)), g(M(2025, 9))],                      [("STOPPED", "ZZB", M(2025, 1), M(2025, 6)), ("CHANGED", "ZZB", M(2025, 9), None)]),
    ("D-EVENTS a previous open grant overlapping no entitled month: CANCELLED",            [g(M(2025, 3))],                                          [],                                                              [("CANCELLED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS a previous closed grant overlapping no entitled month: CANCELLED",           [g(M(2025, 3), M(2025, 8))],                              [g(M(2025, 10))],                                                [("NEW", "ZZB", M(2025, 10), None), ("CANCELLED", "ZZB", M(2025, 3), M(2025, 8))]),
    ("D-EVENTS a closed grant that did not change is not repeated",                        [g(M(2025, 3), M(2025, 8))],                              [g(M(2025, 3), M(2025, 8))],                                     []),
    ("D-EVENTS a closed grant now longer, still closed: CHANGED (local decision)",         [g(M(2025, 3), M(2025, 8))],                              [g(M(2025, 3), M(2025, 10))],                                    [("CHANGED", "ZZB", M(2025, 3), M(2025, 10))]),
    ("D-EVENTS a closed grant that opens again: CHANGED, not CONTINUED",                   [g(M(2025, 3), M(2026, 9))],                              [g(M(2025, 3))],                                                 [("CHANGED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS a closed grant in the past revealed by late data is NEW",                   [g(M(2026, 1))],                                          [g(M(2025, 1), M(2025, 4)), g(M(2026, 1))],                      [("NEW", "ZZB", M(2025, 1), M(2025, 4)), ("CONTINUED", "ZZB", M(2026, 1), None)]),
    ("D-EVENTS a grant starting in the month a previous closed one ends overlaps it: CHANGED", [g(M(2025, 3), M(2025, 8))],                   [g(M(2025, 8))],                                                 [("CHANGED", "ZZB", M(2025, 8), None)]),
    ("D-EVENTS a grant ending in the month a previous open one starts overlaps it: STOPPED",   [g(M(2025, 8))],                              [g(M(2025, 3), M(2025, 8))],                                     [("STOPPED", "ZZB", M(2025, 3), M(2025, 8))]),
    ("D-EVENTS a previous grant ending just before the window: no event",                  [g(M(2023, 1), M(2024, 11))],                             [],                                                              []),
    ("D-EVENTS a previous grant ending in the first month of the window, now gone: CANCELLED", [g(M(2023, 1), M(2024, 12))],                         [],                                                              [("CANCELLED", "ZZB", M(2023, 1), M(2024, 12))]),
    ("D-EVENTS an open grant cut by the window keeps its first month: CONTINUED",          [g(M(2023, 5))],                                          [g(WINDOW_FIRST)],                                               [("CONTINUED", "ZZB", M(2023, 5), None)]),
    ("D-EVENTS a closed grant cut by the window, unchanged: not repeated",                 [g(M(2023, 5), M(2025, 2))],                              [g(WINDOW_FIRST, M(2025, 2))],                                   []),
    ("D-EVENTS an open grant cut by the window, now closed: STOPPED from its first month", [g(M(2023, 5))],                                          [g(WINDOW_FIRST, M(2025, 2))],                                   [("STOPPED", "ZZB", M(2023, 5), M(2025, 2))]),
    ("D-EVENTS a grant starting after the window's first month keeps its own first month", [g(M(2023, 5))],                                          [g(M(2025, 1))],                                                 [("CHANGED", "ZZB", M(2025, 1), None)]),
    ("D-EVENTS a BOB grant does not continue a ZZB grant",                                 [g(M(2025, 3))],                                          [g(M(2025, 3), budget="BOB", grounds=("G-BOB",), amount="300.00")], [("NEW", "BOB", M(2025, 3), None), ("CANCELLED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS ZZB and BOB judged apart: ZZB CONTINUED, BOB CHANGED",                      [g(M(2025, 3)), g(M(2025, 6), budget="BOB", grounds=("G-BOB",), amount="300.00")], [g(M(2025, 3)), g(M(2025, 4), budget="BOB", grounds=("G-BOB",), amount="300.00")], [("CHANGED", "BOB", M(2025, 4), None), ("CONTINUED", "ZZB", M(2025, 3), None)]),
    ("D-EVENTS another person's grant is not a previous grant: NEW and CANCELLED",         [g(M(2025, 3), insz=INSZ_2000)],                          [g(M(2025, 3))],                                                 [("NEW", "ZZB", M(2025, 3), None), ("CANCELLED", "ZZB", M(2025, 3), None)]),
]
# fmt: on


def events_of(events: pl.DataFrame) -> list[tuple]:
    """(event, budget, first_month, last_month) per event, in a fixed order."""
    rows = [(r["event"], r["budget"], r["first_month"], r["last_month"]) for r in events.iter_rows(named=True)]
    return sorted(rows, key=lambda r: (r[1], r[2], r[0]))


@pytest.mark.parametrize("previous, current, expected", cases(EVENTS))
def test_d_events_grant_events(previous, current, expected):
    """D-EVENTS: NEW, CONTINUED, CHANGED, STOPPED, CANCELLED against the previous run's grants; closed grants
    that did not change are not repeated; grants wholly before the window are out of reach."""
    events, _ = grant_events(grants(current), grants(previous), RUN, WINDOW_FIRST)
    assert events.schema == pl.Schema({c: EVENT_COLUMNS[c] for c in events.columns})
    assert set(events.columns) == set(EVENT_COLUMNS)
    assert events_of(events) == sorted(expected, key=lambda r: (r[1], r[2], r[0]))
    assert events["decided_on"].to_list() == [RUN] * events.height


def test_d_events_an_event_carries_the_grant_it_names():
    """D-EVENTS: a CHANGED event carries the new grounds and amount; a CANCELLED one the previous grant's."""
    previous = grants(
        [g(M(2025, 3), amount="135.00"), g(M(2025, 3), budget="BOB", grounds=("G-BOB",), amount="300.00")]
    )
    current = grants([g(M(2025, 3), grounds=("G-FACILITY",))])
    events, _ = grant_events(current, previous, RUN, WINDOW_FIRST)
    rows = {r["event"]: r for r in events.iter_rows(named=True)}
    assert (rows["CHANGED"]["grounds"], rows["CHANGED"]["monthly_amount"]) == (["G-FACILITY"], Decimal("140.00"))
    assert (rows["CANCELLED"]["budget"], rows["CANCELLED"]["grounds"]) == ("BOB", ["G-BOB"])
    assert rows["CANCELLED"]["monthly_amount"] == Decimal("300.00")


# fmt: off
KEPT = [
    # name                                                                          previous                        current                            kept (first, last)
    ("D-EVENTS the state keeps the first month of the grant cut by the window",     [g(M(2023, 5))],                [g(WINDOW_FIRST)],                 [(M(2023, 5), None)]),
    ("D-EVENTS the state keeps a closed grant cut by the window whole",             [g(M(2023, 5), M(2025, 2))],    [g(WINDOW_FIRST, M(2025, 2))],     [(M(2023, 5), M(2025, 2))]),
    ("D-EVENTS a grant starting with the window but new keeps the window month",    [],                             [g(WINDOW_FIRST)],                 [(WINDOW_FIRST, None)]),
    ("D-EVENTS a previous grant before the window is not carried into a new one",   [g(M(2023, 5), M(2024, 11))],   [g(WINDOW_FIRST)],                 [(WINDOW_FIRST, None)]),
    ("D-EVENTS the state holds this run's grants, not the cancelled ones",          [g(M(2025, 3))],                [],                                []),
]
# fmt: on


@pytest.mark.parametrize("previous, current, kept", cases(KEPT))
def test_d_events_the_grants_kept_in_the_state(previous, current, kept):
    """D-EVENTS: the grants the state keeps are this run's, a grant starting with the window carrying the first
    month of the previous grant it continues."""
    _, state = grant_events(grants(current), grants(previous), RUN, WINDOW_FIRST)
    assert state.schema == pl.Schema(GRANT_COLUMNS)
    assert [(r["first_month"], r["last_month"]) for r in state.iter_rows(named=True)] == kept


def test_d_events_a_grant_cut_by_the_window_is_continued_run_after_run():
    """D-EVENTS: with the state of one run as the previous grants of the next (a month later, the window moved
    on), a grant open since before both windows stays CONTINUED with its first month."""
    first_run = grants_of(periods([period(M(2024, 12), MONTH_OF_RUN)]), RUN)
    _, state = grant_events(first_run, grants([g(M(2023, 5))]), RUN, WINDOW_FIRST)
    next_run = D(2026, 12, 20)
    current = grants_of(periods([period(M(2025, 1), M(2026, 12))]), next_run)
    events, state = grant_events(current, state, next_run, M(2025, 1))
    assert events_of(events) == [("CONTINUED", "ZZB", M(2023, 5), None)]
    assert state["first_month"].to_list() == [M(2023, 5)]
