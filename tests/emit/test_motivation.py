"""The motivation of decision letters (docs/spec/rules.md §9 L-DECISION): the rules that decided each event, with the
records behind them, from the decided periods (pipelines/emit/letters/motivation.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from flows.reference import load_reference
from pipelines.decide.exclusions import BOB_VAPH, ZZB_VAPH
from pipelines.emit.letters.content import MOTIVATION_COLUMNS
from pipelines.emit.letters.motivation import (
    RECORD_COLUMNS,
    VAPH_CODES,
    evidence_records,
    member_records,
    motivation,
)
from pipelines.settle.grants import EVENT_COLUMNS, EVENT_ORDER
from schemas.outputs import DecidedPeriods, columns

D = dt.date
MONTH = D(2026, 11, 1)
NRTH_TRANSITION = D(2017, 1, 1)
A, B, C = "85073112305", "00120555686", "90010112345"
PERIODS = columns(DecidedPeriods)


def periods(rows: list[tuple]) -> pl.DataFrame:
    """rows: (insz, budget, first_month, last_month, entitled, holds, fails, evidence)."""
    full = [
        (i, "ZK100", b, f, last, "ENTITLED" if ok else "NOT_ENTITLED", ok, h, fl, ev, Decimal("140.00"))
        for i, b, f, last, ok, h, fl, ev in rows
    ]
    return pl.DataFrame(full, schema=PERIODS, orient="row")


def events(rows: list[tuple]) -> pl.DataFrame:
    """rows: (insz, budget, event, first_month, last_month)."""
    full = [(i, "ZK100", b, f, last, Decimal("140.00"), [], [], e, MONTH) for i, b, e, f, last in rows]
    order = ["insz", "zorgkas", "budget", "first_month", "last_month", "monthly_amount", "grounds", "evidence"]
    return pl.DataFrame(
        full, schema={c: EVENT_COLUMNS[c] for c in [*order, "event", "decided_on"]}, orient="row"
    ).select(EVENT_ORDER)


def feeds() -> dict[str, pl.DataFrame]:
    screeners = pl.DataFrame(
        {
            "assessment_id": ["BS-1", "BS-OLD"],
            "insz": [A, A],
            "assessment_date": [D(2026, 5, 15), D(2020, 1, 1)],
            "service_kind": ["GEZINSZORG", "GEZINSZORG"],
            "service_recognised": [True, True],
            "total_score": [14.5, 20.0],
            "adl_score": [1.0, 1.0],
            "iadl_score": [1.0, 1.0],
            "valid_until": [None, D(2020, 12, 31)],
        }
    )
    scales = pl.DataFrame(
        {
            "decision_id": ["ZTK-1"],
            "insz": [B],
            "scale_kind": ["ZTK"],
            "decision_date": [D(2025, 8, 20)],
            "valid_from": [D(2025, 9, 1)],
            "valid_until": [None],
            "score": [None],
            "pillar_1": [8.0],
            "pillar_2": [6.0],
            "pillar_3": [5.0],
        },
        schema_overrides={"score": pl.Float64, "valid_until": pl.Date},
    )
    stays = pl.DataFrame(
        {
            "stay_id": ["FS-1"],
            "insz": [A],
            "facility_id": ["WZC-1"],
            "facility_kind": ["WZC"],
            "facility_region": ["VL"],
            "recognised_by_flanders": [True],
            "admission_date": [D(2026, 2, 1)],
            "discharge_date": [None],
            "special_category": ["COMA_NAH"],
        },
        schema_overrides={"discharge_date": pl.Date},
    )
    vaph = pl.DataFrame(
        {
            "record_id": ["V-PVB", "V-NRTH-OLD", "V-SN"],
            "insz": [B, C, C],
            "support_kind": ["PVB", "NRTH", "SUPPORT_NEED"],
            "start_date": [D(2026, 7, 1), D(2015, 3, 1), D(2024, 2, 10)],
            "end_date": [None, None, None],
        },
        schema_overrides={"end_date": pl.Date},
    )
    return {"screeners": screeners, "scales": scales, "stays": stays, "vaph": vaph}


def records(wanted: list[str], members: pl.DataFrame | None = None) -> pl.DataFrame:
    f = feeds()
    found = evidence_records(
        f["screeners"],
        f["scales"],
        f["stays"],
        f["vaph"],
        pl.DataFrame({"evidence": wanted}, schema={"evidence": pl.String}),
        NRTH_TRANSITION,
    )
    if members is not None:
        found = pl.concat([found, member_records(members)])
    return found


def reasons(frame: pl.DataFrame, insz: str) -> list[tuple]:
    return frame.filter(pl.col("insz") == insz).select("code", "outcome", "record_id").rows()


def test_records_behind_the_evidence_ids_with_their_date_score_and_kind():
    found = records(["belrai_screeners:BS-1", "medsoc_scales:ZTK-1", "facility_stays:FS-1", "vaph_support:V-NRTH-OLD"])
    assert found.schema == pl.Schema(RECORD_COLUMNS)
    rows = {r["evidence"]: r for r in found.iter_rows(named=True)}
    assert set(rows) == {
        "belrai_screeners:BS-1",
        "medsoc_scales:ZTK-1",
        "facility_stays:FS-1",
        "vaph_support:V-NRTH-OLD",
    }
    screener = rows["belrai_screeners:BS-1"]
    assert (screener["zzb_code"], screener["record_date"], screener["score"], screener["record_kind"]) == (
        "G-BELRAI",
        D(2026, 5, 15),
        14.5,
        "GEZINSZORG",
    )
    assert (rows["medsoc_scales:ZTK-1"]["zzb_code"], rows["medsoc_scales:ZTK-1"]["score"]) == ("G-ZTK", 19.0)
    assert rows["facility_stays:FS-1"]["zzb_code"] == "X-SPECIAL-STAY"  # a special category: the exclusion
    assert rows["vaph_support:V-NRTH-OLD"]["zzb_code"] == "T-NRTH-2017"  # NRTH since before 2017


@pytest.mark.parametrize("code", [*ZZB_VAPH, *BOB_VAPH])
def test_each_vaph_code_is_named_by_the_kind_it_flags(code):
    """VAPH_CODES agrees with the exclusion rules: a record of the kind the table names for a code raises that
    code's flag (for an adult, or a minor where the rule is about minors)."""
    budget = 1 if code in BOB_VAPH else 0
    kinds = [k for k, codes in VAPH_CODES.items() if codes[budget] == code]
    if code == "T-NRTH-2017":
        kinds = ["NRTH"]
    assert len(kinds) == 1, code
    rule = {**ZZB_VAPH, **BOB_VAPH}[code]
    p = load_reference().parameters.params_on(D(2026, 11, 26)).replace(nrth_transition_date=NRTH_TRANSITION)
    start = D(2015, 1, 1) if code == "T-NRTH-2017" else D(2020, 1, 1)
    row = pl.DataFrame({"support_kind": kinds, "start_date": [start]})
    flags = [row.with_columns(pl.lit(age).alias("age")).select(rule(p)).item() for age in (10, 40)]
    assert any(flags), code


def test_new_grant_is_motivated_by_its_latest_period_with_its_records():
    decided = periods(
        [
            (A, "ZZB", D(2026, 9, 1), D(2026, 10, 1), True, ["G-BELRAI", "ZZB-START", "E-ALIVE"], [], ["belrai_screeners:BS-1"]),
            (A, "ZZB", D(2026, 11, 1), D(2026, 11, 1), True, ["G-BELRAI", "ZZB-START", "E-ALIVE"], [], ["belrai_screeners:BS-1"]),
        ]
    )  # fmt: skip
    found = motivation(
        events([(A, "ZZB", "NEW", D(2026, 9, 1), None)]), decided, records(["belrai_screeners:BS-1"]), MONTH
    )
    assert found.schema == pl.Schema(MOTIVATION_COLUMNS)
    assert reasons(found, A) == [
        ("E-ALIVE", "HOLDS", None),
        ("G-BELRAI", "HOLDS", "BS-1"),
        ("ZZB-START", "HOLDS", None),
    ]
    screener = found.filter(pl.col("code") == "G-BELRAI").row(0, named=True)
    assert (screener["feed"], screener["record_date"], screener["score"]) == ("belrai_screeners", D(2026, 5, 15), 14.5)
    assert found["first_month"].unique().to_list() == [D(2026, 9, 1)]  # the letter's key: the grant's first month


def test_stopped_grant_is_motivated_by_what_fails_the_month_after_with_the_date_of_death():
    decided = periods(
        [
            (A, "ZZB", D(2025, 5, 1), D(2026, 7, 1), True, ["G-BELRAI", "ZZB-START", "E-ALIVE"], [], ["belrai_screeners:BS-1"]),
            (A, "ZZB", D(2026, 8, 1), D(2026, 11, 1), False, ["G-BELRAI", "ZZB-START"], ["E-ALIVE"], ["belrai_screeners:BS-1"]),
        ]
    )  # fmt: skip
    members = pl.DataFrame({"insz": [A], "death_date": [D(2026, 7, 14)], "affiliation_end": [None]})
    members = members.with_columns(pl.col("affiliation_end").cast(pl.Date))
    stopped = events([(A, "ZZB", "STOPPED", D(2025, 5, 1), D(2026, 7, 1))])
    found = motivation(stopped, decided, records(["belrai_screeners:BS-1"], members), MONTH)
    assert reasons(found, A) == [("E-ALIVE", "FAILS", None)]
    death = found.row(0, named=True)
    assert (death["feed"], death["record_date"], death["record_kind"]) == ("members", D(2026, 7, 14), "DEATH")


def test_cancelled_grant_without_any_right_left_fails_on_the_right_itself():
    found = motivation(events([(A, "ZZB", "CANCELLED", D(2026, 3, 1), None)]), periods([]), records([]), MONTH)
    assert reasons(found, A) == [("ZZB-START", "FAILS", None)]
    bob = motivation(events([(C, "BOB", "CANCELLED", D(2026, 3, 1), None)]), periods([]), records([]), MONTH)
    assert reasons(bob, C) == [("G-BOB", "FAILS", None)]


def test_cancelled_grant_names_the_exclusion_and_its_vaph_record():
    decided = periods(
        [(B, "ZZB", D(2026, 7, 1), D(2026, 11, 1), False, ["G-ZTK", "ZZB-START"], ["X-VAPH-PVB"], ["medsoc_scales:ZTK-1", "vaph_support:V-PVB"])]
    )  # fmt: skip
    cancelled = events([(B, "ZZB", "CANCELLED", D(2026, 7, 1), None)])
    found = motivation(cancelled, decided, records(["medsoc_scales:ZTK-1", "vaph_support:V-PVB"]), MONTH)
    assert reasons(found, B) == [("X-VAPH-PVB", "FAILS", "V-PVB")]


def test_bob_grant_names_the_support_need_and_the_transition_is_told_apart():
    decided = periods(
        [
            (C, "BOB", D(2024, 3, 1), D(2026, 11, 1), True, ["G-BOB", "E-ALIVE"], [], ["vaph_support:V-SN"]),
            (C, "ZZB", D(2025, 1, 1), D(2026, 11, 1), False, ["ZZB-START"], ["T-NRTH-2017"], ["vaph_support:V-NRTH-OLD"]),
        ]
    )  # fmt: skip
    both = events([(C, "BOB", "NEW", D(2024, 3, 1), None), (C, "ZZB", "CANCELLED", D(2025, 1, 1), None)])
    found = motivation(both, decided, records(["vaph_support:V-SN", "vaph_support:V-NRTH-OLD"]), MONTH)
    assert found.filter(pl.col("budget") == "BOB").select("code", "record_id").rows() == [
        ("E-ALIVE", None),
        ("G-BOB", "V-SN"),
    ]
    assert found.filter(pl.col("budget") == "ZZB").select("code", "record_id").rows() == [("T-NRTH-2017", "V-NRTH-OLD")]


def test_a_grant_by_hand_is_motivated_by_the_decision_not_by_the_automatic_rules_that_fail():
    """rules.md §10: a month granted by hand or on appeal is not re-judged by the automatic rules, so its L-DECISION
    names the decision (M-GRANT, M-APPEAL with the case record) and what holds, never ZZB-START or another automatic
    rule that fails in it (issue 21's known bug: the letter listed the failing ZZB-START among its grounds)."""
    hand = ["G-BELRAI", "M-GRANT", "E-AFFILIATED", "E-ALIVE"]
    appeal = ["M-APPEAL", "E-AFFILIATED", "E-ALIVE"]
    decided = periods(
        [
            (A, "ZZB", D(2026, 9, 1), D(2026, 11, 1), True, hand, ["ZZB-START", "E-WAITING"], ["belrai_screeners:BS-1", "case_decisions:C2"]),
            (C, "BOB", D(2025, 3, 1), D(2025, 12, 1), True, appeal, ["G-BOB", "X-BOB-PVB"], ["case_decisions:AG1"]),
        ]
    )  # fmt: skip
    grants = events([(A, "ZZB", "NEW", D(2026, 9, 1), None), (C, "BOB", "NEW", D(2025, 3, 1), D(2025, 12, 1))])
    found = motivation(grants, decided, records(["belrai_screeners:BS-1"]), MONTH)
    assert reasons(found, A) == [
        ("E-AFFILIATED", "HOLDS", None),
        ("E-ALIVE", "HOLDS", None),
        ("G-BELRAI", "HOLDS", "BS-1"),
        ("M-GRANT", "HOLDS", None),
    ]
    assert reasons(found, C) == [
        ("E-AFFILIATED", "HOLDS", None),
        ("E-ALIVE", "HOLDS", None),
        ("M-APPEAL", "HOLDS", None),
    ]


def test_continued_grants_get_no_motivation():
    decided = periods([(A, "ZZB", D(2026, 9, 1), D(2026, 11, 1), True, ["G-BELRAI"], [], ["belrai_screeners:BS-1"])])
    found = motivation(events([(A, "ZZB", "CONTINUED", D(2026, 9, 1), None)]), decided, records([]), MONTH)
    assert found.height == 0


# --- L-REASON: the facts that changed ---------------------------------------------------------------------------

ENDINGS = [
    # name                                            valid_until          facts
    ("the screener ended the day before the lost month", D(2026, 6, 30),   [("G-BELRAI", "ENDED", "BS-1")]),
    ("the screener still valid on the lost month's 1st", D(2026, 7, 1),    [("ZZB-START", "FAILS", None)]),
]  # fmt: skip


@pytest.mark.parametrize("name, until, expected", ENDINGS, ids=[e[0] for e in ENDINGS])
def test_l_reason_names_the_ground_that_ended(name, until, expected):
    """L-REASON: a STOPPED grant whose screener ended names it with its dates, not only the generic ZZB-START."""
    f = feeds()
    screeners = f["screeners"].with_columns(
        pl.when(pl.col("assessment_id") == "BS-1").then(pl.lit(until)).alias("valid_until")
    )
    found = evidence_records(
        screeners, f["scales"], f["stays"], f["vaph"], pl.DataFrame({"insz": [A]}), NRTH_TRANSITION
    )
    decided = periods(
        [
            (A, "ZZB", D(2026, 1, 1), D(2026, 6, 1), True, ["G-BELRAI", "ZZB-START"], [], ["belrai_screeners:BS-1"]),
            (A, "ZZB", D(2026, 7, 1), D(2026, 11, 1), False, [], ["ZZB-START"], []),
        ]
    )  # fmt: skip
    stopped = events([(A, "ZZB", "STOPPED", D(2026, 1, 1), D(2026, 6, 1))])
    stopped = stopped.with_columns(pl.lit(["belrai_screeners:BS-1"]).alias("evidence"))
    assert reasons(motivation(stopped, decided, found, MONTH), A) == expected


def test_l_reason_names_a_record_no_longer_delivered_and_a_newer_one_that_proves_no_need():
    """GONE: the cancelled grant's record is not among the person's records; BELOW: a newer screener of a service
    that does not count is in no period's evidence."""
    f = feeds()
    newer = f["screeners"].with_columns(pl.lit("OTHER").alias("service_kind")).filter(pl.col("assessment_id") == "BS-1")
    found = evidence_records(newer, f["scales"], f["stays"], f["vaph"], pl.DataFrame({"insz": [A]}), NRTH_TRANSITION)
    cancelled = events([(A, "ZZB", "CANCELLED", D(2025, 1, 1), D(2025, 12, 1))])
    cancelled = cancelled.with_columns(pl.lit(["belrai_screeners:GONE-1"]).alias("evidence"))
    assert reasons(motivation(cancelled, periods([]), found, MONTH), A) == [
        ("G-BELRAI", "BELOW", "BS-1"),
        ("ZZB-START", "GONE", "GONE-1"),
    ]
