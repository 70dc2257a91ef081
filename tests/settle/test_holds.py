"""Holds and guards, rules.md §8 (S-HOLD, S-MASS-CHANGE) and §5 (W-IBAN-MISSING, W-MEMBER-MISSING, W-HELD).

Hand-made frames with the exact schemas (tests/helpers/settle.py), composed by `settle`.
"""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.settle.holds import s_mass_change
from schemas.feeds import FEEDS
from tests.helpers.builders import INSZ_1985, INSZ_2000
from tests.helpers.decide import cases
from tests.helpers.settle import (
    DIED,
    IBAN_1985,
    IBAN_2000,
    MONTH_OF_RUN,
    PAID_THROUGH_OCTOBER,
    PARAMS,
    RUN,
    D,
    M,
    absence,
    g,
    ledger_of,
    member,
    months,
    paid,
    paid_months,
    period,
    previous,
    quarantined,
    run,
    worklist,
)

# --- S-HOLD ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", [f for f in FEEDS if f != "members"])
def test_s_hold_a_quarantined_row_in_any_feed_holds_the_person(feed):
    """S-HOLD: a person with a quarantined row in any feed is held: no event, no payment, no recovery; their
    previous grants stand in the new state; the hold is reported (held, W-HELD)."""
    before = previous([g(M(2025, 1)), g(M(2025, 1), M(2025, 6), "BOB")], PAID_THROUGH_OCTOBER)
    settled = run(DIED, before=before, quarantines={feed: quarantined(feed, rule="R-DATES")})
    assert settled.events.height == 0
    assert settled.payments.height == 0 and settled.recoveries.height == 0
    assert settled.grants.equals(before.grants.sort("insz", "budget", "first_month"))
    assert settled.held.to_dicts() == [{"insz": INSZ_1985, "feed": feed, "rule": "R-DATES"}]
    assert worklist(settled, "W-HELD") == [
        dict(insz=INSZ_1985, zorgkas="ZK100", since=RUN, detail=f"held: R-DATES in {feed}", evidence=[])
    ]
    assert settled.mass_change is None


def test_s_hold_a_quarantined_members_row_holds_the_person():
    """S-HOLD: a person whose own members row is quarantined is held too (the row is not among the valid
    members); their grants stand."""
    before = previous([g(M(2025, 1))], PAID_THROUGH_OCTOBER)
    settled = run(DIED, member_rows=[], before=before, quarantines={"members": quarantined("members", rule="R-ENUM")})
    assert settled.events.height == 0 and settled.payments.height == 0 and settled.recoveries.height == 0
    assert ("members", "R-ENUM") in [(r["feed"], r["rule"]) for r in settled.held.iter_rows(named=True)]
    assert settled.grants.equals(before.grants)


def test_s_hold_a_first_run_emits_nothing_for_a_held_person_and_keeps_no_grant():
    """S-HOLD: a held person without previous grants gets no NEW event and no payment; others go on."""
    rows = [period(M(2026, 1), MONTH_OF_RUN), period(M(2026, 1), MONTH_OF_RUN, insz=INSZ_2000)]
    settled = run(
        rows,
        member_rows=[member(), member(INSZ_2000, IBAN_2000)],
        quarantines={"belrai_screeners": quarantined("belrai_screeners", INSZ_2000)},
    )
    assert settled.events["insz"].to_list() == [INSZ_1985]
    assert settled.payments["insz"].unique().to_list() == [INSZ_1985]
    assert settled.grants["insz"].to_list() == [INSZ_1985]


# fmt: off
HOLD_WHO = [
    # name                                                                         quarantined insz      held
    ("S-HOLD a valid insz in the quarantined row: held",                            INSZ_1985,            True),
    ("S-HOLD an insz with a wrong check digit holds nobody",                        "85073112306",        False),
    ("S-HOLD an insz of 10 digits holds nobody",                                    INSZ_1985[:10],       False),
    ("S-HOLD a null insz holds nobody",                                             None,                 False),
    ("S-HOLD another person's valid insz does not hold this one",                   INSZ_2000,            False),
]
# fmt: on


@pytest.mark.parametrize("insz, held", cases(HOLD_WHO))
def test_s_hold_only_a_valid_insz_holds(insz, held):
    """S-HOLD: only a person with a valid insz is held; an invalid insz in a quarantined row holds nobody."""
    feed = "vaph_support"
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)], quarantines={feed: quarantined(feed, insz, "R-ID")})
    assert (settled.payments.height == 0) is held
    assert (INSZ_1985 in settled.held["insz"].to_list()) is held
    if insz != INSZ_1985:
        assert settled.held["insz"].to_list() == ([insz] if insz == INSZ_2000 else [])


# --- W-IBAN-MISSING -----------------------------------------------------------------------------------------

# fmt: off
IBANS = [
    # name                                                                 iban                    paid   worklist detail
    ("W-IBAN-MISSING a valid IBAN: paid, not listed",                      IBAN_1985,              6,     None),
    ("W-IBAN-MISSING a valid IBAN written with spaces: paid",              "BE72 7351 0000 0116",  6,     None),
    ("W-IBAN-MISSING no IBAN: withheld and listed",                        None,                   0,     "6 payments withheld: IBAN missing"),
    ("W-IBAN-MISSING an empty IBAN: withheld and listed",                  "",                     0,     "6 payments withheld: IBAN missing"),
    ("W-IBAN-MISSING one check digit off: invalid, withheld and listed",   "BE72735100000117",     0,     "6 payments withheld: IBAN invalid"),
]
# fmt: on


@pytest.mark.parametrize("iban, n_paid, detail", cases(IBANS))
def test_w_iban_missing_withholds_the_payment(iban, n_paid, detail):
    """W-IBAN-MISSING: without a valid IBAN the payment is withheld and listed, since the first unpaid month."""
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member(iban=iban)])
    assert settled.payments.height == n_paid
    expected = (
        [] if detail is None else [dict(insz=INSZ_1985, zorgkas="ZK100", since=M(2026, 6), detail=detail, evidence=[])]
    )
    assert worklist(settled, "W-IBAN-MISSING") == expected


def test_w_iban_missing_since_is_the_first_unpaid_month():
    """W-IBAN-MISSING: since = the first month still unpaid (months paid before the IBAN went missing excluded)."""
    ledger = [paid(m) for m in months(M(2026, 6), M(2026, 8))]
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member(iban=None)], before=previous(ledger=ledger))
    assert [r["since"] for r in worklist(settled, "W-IBAN-MISSING")] == [M(2026, 9)]


def test_w_iban_missing_an_absence_budget_is_withheld_too():
    """W-IBAN-MISSING: an unpaid absence budget without a valid IBAN is withheld and listed."""
    settled = run([], absence_rows=[absence()], member_rows=[member(iban=None)])
    assert settled.payments.height == 0
    assert [r["since"] for r in worklist(settled, "W-IBAN-MISSING")] == [D(2025, 8, 31)]


def test_w_iban_missing_is_listed_on_every_run():
    """W-IBAN-MISSING: listed on every run while a month is unpaid, not only on payment runs."""
    settled = run(
        [period(M(2026, 6), MONTH_OF_RUN)], run_date=D(2026, 11, 10), member_rows=[member(iban=None)], payment_run=False
    )
    assert settled.payments.height == 0
    assert [r["since"] for r in worklist(settled, "W-IBAN-MISSING")] == [M(2026, 6)]


def test_w_iban_missing_not_listed_when_nothing_is_unpaid():
    """W-IBAN-MISSING: a member without IBAN whose months are all paid is not listed."""
    ledger = [paid(m) for m in months(M(2026, 6), MONTH_OF_RUN)]
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member(iban=None)], before=previous(ledger=ledger))
    assert worklist(settled, "W-IBAN-MISSING") == []


def test_w_iban_missing_paid_in_the_first_payment_run_after_the_iban_arrives():
    """W-IBAN-MISSING: the withheld months stay due and are paid in the first payment run after the IBAN
    arrives, with the month of that run."""
    october = run([period(M(2026, 6), M(2026, 10))], run_date=D(2026, 10, 26), member_rows=[member(iban=None)])
    assert october.payments.height == 0
    november = run(
        [period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member()], before=previous(ledger=ledger_of(october))
    )
    assert paid_months(november) == months(M(2026, 6), MONTH_OF_RUN)
    assert worklist(november, "W-IBAN-MISSING") == []


# --- W-MEMBER-MISSING and W-HELD ---------------------------------------------------------------------------


def test_w_member_missing_an_open_grant_whose_person_left_the_members_feed_is_held_not_stopped():
    """W-MEMBER-MISSING: a person with an open grant gone from the members feed: listed, held (S-HOLD), the grant
    kept and not stopped; their paid months are not recovered."""
    before = previous([g(M(2025, 1), insz=INSZ_2000)], [paid(M(2026, 10), insz=INSZ_2000)])
    settled = run([period(M(2026, 1), MONTH_OF_RUN)], before=before)  # only INSZ_1985 is a member
    assert [(r["insz"], r["event"]) for r in settled.events.iter_rows(named=True)] == [(INSZ_1985, "NEW")]
    assert settled.recoveries.height == 0
    assert INSZ_2000 in settled.grants["insz"].to_list()
    assert settled.grants.filter(pl.col("insz") == INSZ_2000)["last_month"].to_list() == [None]
    assert worklist(settled, "W-MEMBER-MISSING") == [
        dict(
            insz=INSZ_2000,
            zorgkas="ZK100",
            since=RUN,
            detail="open grant, person missing from the members feed",
            evidence=[],
        )
    ]
    assert settled.held.to_dicts() == [{"insz": INSZ_2000, "feed": "members", "rule": "W-MEMBER-MISSING"}]
    assert [r["detail"] for r in worklist(settled, "W-HELD")] == ["held: W-MEMBER-MISSING in members"]


# fmt: off
MEMBER_MISSING = [
    # name                                                                         previous grant                             members                   listed
    ("W-MEMBER-MISSING an open grant, person gone: listed",                        g(M(2025, 1), insz=INSZ_2000),             [member()],               True),
    ("W-MEMBER-MISSING an open grant, person still a member: not listed",          g(M(2025, 1), insz=INSZ_2000),             [member(), member(INSZ_2000, IBAN_2000)], False),
    ("W-MEMBER-MISSING a closed grant, person gone: not listed",                   g(M(2025, 1), M(2025, 6), insz=INSZ_2000), [member()],               False),
]
# fmt: on


@pytest.mark.parametrize("grant, member_rows, listed", cases(MEMBER_MISSING))
def test_w_member_missing_only_an_open_grant(grant, member_rows, listed):
    """W-MEMBER-MISSING: only a person with an active (open) grant who is gone from the members feed."""
    settled = run([], member_rows=member_rows, before=previous([grant]))
    assert bool(worklist(settled, "W-MEMBER-MISSING")) is listed
    assert (INSZ_2000 in settled.held["insz"].to_list()) is listed


def test_w_held_names_every_rule_and_feed():
    """W-HELD: one row per held person naming each quarantine rule and feed."""
    quarantines = {
        "belrai_screeners": quarantined("belrai_screeners", rule="R-RANGE"),
        "facility_stays": quarantined("facility_stays", rule="R-DATES"),
    }
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)], quarantines=quarantines, payment_run=False)
    assert worklist(settled, "W-HELD") == [
        dict(
            insz=INSZ_1985,
            zorgkas="ZK100",
            since=RUN,
            detail="held: R-DATES in facility_stays, R-RANGE in belrai_screeners",
            evidence=[],
        )
    ]


def work_row(insz: str, code: str, detail: str = "") -> dict:
    return dict(insz=insz, zorgkas="ZK100", code=code, since=M(2026, 9), detail=detail, evidence=[])


# fmt: off
HELD_WORK = [
    # name                                                                           rows the decisions gave                                        kept for the held person
    ("S-HOLD a held person's W-CHECK-RESIDENCE from partial data is not listed",    [work_row(INSZ_1985, "W-CHECK-RESIDENCE")],                    ["W-HELD"]),
    ("S-HOLD a held person's requests to apply are not listed",                      [work_row(INSZ_1985, "W-APPLY-SPECIAL"), work_row(INSZ_1985, "W-APPLY-FACILITY")], ["W-HELD"]),
    ("S-HOLD a held person's arrears and transition rows are not listed",            [work_row(INSZ_1985, "W-VOLUNTARY-ARREARS"), work_row(INSZ_1985, "W-NRTH-TRANSITION")], ["W-HELD"]),
    ("S-HOLD another person's rows stay",                                            [work_row(INSZ_2000, "W-CHECK-RESIDENCE")],                    ["W-HELD"]),
]
# fmt: on


@pytest.mark.parametrize("work, kept", cases(HELD_WORK))
def test_s_hold_a_held_persons_only_work_list_row_is_w_held(work, kept):
    """S-HOLD: a held person's only work-list row is W-HELD: no other W- row is built from their partial data
    (a quarantined residence row must not become a request for proof of residence); W-IBAN-MISSING neither."""
    rows = pl.DataFrame(work, schema=WORKLIST_COLUMNS, orient="row")
    settled = run(
        [period(M(2026, 6), MONTH_OF_RUN)],
        member_rows=[member(iban=None), member(INSZ_2000)],
        quarantines={"residence_periods": quarantined("residence_periods", rule="R-DATES")},
        worklist_rows=rows,
        payment_run=False,
    )
    held_codes = settled.worklist.filter(pl.col("insz") == INSZ_1985)["code"].to_list()
    assert held_codes == kept
    others = settled.worklist.filter(pl.col("insz") == INSZ_2000)["code"].to_list()
    assert others == [r["code"] for r in work if r["insz"] == INSZ_2000]


# --- S-MASS-CHANGE -----------------------------------------------------------------------------------------


def events(stopped: int = 0, cancelled: int = 0, new: int = 0, continued: int = 0, changed: int = 0) -> pl.DataFrame:
    counts = {"STOPPED": stopped, "CANCELLED": cancelled, "NEW": new, "CONTINUED": continued, "CHANGED": changed}
    return pl.DataFrame({"event": [e for e, n in counts.items() for _ in range(n)]}, schema={"event": pl.String})


# fmt: off
MASS = [
    # name                                                                     active  events                                     refused
    ("S-MASS-CHANGE exactly 2% stopped: goes on",                             100,    events(stopped=2, continued=98),           False),
    ("S-MASS-CHANGE just above 2% stopped: refused",                          100,    events(stopped=3, continued=97),           True),
    ("S-MASS-CHANGE exactly 2% of 50 stopped: goes on",                       50,     events(stopped=1),                         False),
    ("S-MASS-CHANGE 2 of 50 stopped: refused",                                50,     events(stopped=2),                         True),
    ("S-MASS-CHANGE a cancelled grant counts as stopped",                     100,    events(stopped=2, cancelled=1),            True),
    ("S-MASS-CHANGE exactly 10% new: goes on",                                100,    events(new=10, continued=100),             False),
    ("S-MASS-CHANGE just above 10% new: refused",                             100,    events(new=11, continued=100),             True),
    ("S-MASS-CHANGE changed and continued grants do not count",               100,    events(changed=100, continued=100),        False),
    ("S-MASS-CHANGE first run, no active grant: exempt",                      0,      events(new=500),                           False),
    ("S-MASS-CHANGE no active grant, cancelled closed grants: exempt",        0,      events(cancelled=5),                       False),
]
# fmt: on


@pytest.mark.parametrize("active, found, refused", cases(MASS))
def test_s_mass_change(active, found, refused):
    """S-MASS-CHANGE: refuse a run that stops more than max_stop_fraction (2%) of the active grants or starts more
    than max_new_fraction (10%); a first run on an empty state is exempt."""
    reason = s_mass_change(found, active, PARAMS.max_stop_fraction, PARAMS.max_new_fraction)
    assert (reason is not None) is refused
    if refused:
        assert reason.startswith("S-MASS-CHANGE") and f"{active} active" in reason


def test_s_mass_change_first_settle_on_an_empty_state_is_exempt_and_counts_are_named():
    """S-MASS-CHANGE via settle: a first run starts every grant; a later run stopping 1 of 1 is refused with
    the counts."""
    first = run([period(M(2026, 1), MONTH_OF_RUN)])
    assert first.events["event"].to_list() == ["NEW"] and first.mass_change is None
    stopped = run([period(M(2026, 1), M(2026, 9))], before=previous([g(M(2026, 1))]))
    assert stopped.mass_change is not None and "stop 1 of 1 active grants" in stopped.mass_change
