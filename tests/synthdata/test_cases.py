"""The synthetic case_decisions feed (synthdata/cases.py; docs/spec/feeds.md, rules.md §10) and the scenario persons
of rules.md §10 (synthdata/scenarios.py S15-S26): realistic, deterministic by seed, good rows that refer rightly, a
feed that only grows, and the sample's deliberate bad case rows.

The row rules themselves (every labelled row breaks its rule, no other row breaks any) are tested with the other
feeds in tests/synthdata/test_synthetic.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthdata.cases import case_decisions
from synthdata.landing import zorgkas_codes
from synthdata.scenarios import SCENARIOS, scenario_rows
from synthdata.synthetic import _day, _population, delivery_dates, generate

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
CODES = zorgkas_codes(REFERENCE)
AS_OF = dt.date(2026, 11, 1)
MEMBERS = 50_000
LETTER_ID = r"^[0-9]{8}-ZK[0-9]{3}-(DEC|REC)-[0-9]{7}$"
OUTCOME_OF = {"GRANT": "APPLICATION", "REFUSAL": "APPLICATION", "APPEAL_GRANT": "APPEAL", "APPEAL_REFUSAL": "APPEAL"}


def cases(members: int, seed: int) -> dict[dt.date, pl.DataFrame]:
    return {d: f for _, d, f in generate(members, seed, AS_OF, CODES, labels=True, feeds=("case_decisions",))}


@pytest.fixture(scope="module")
def feed() -> dict[dt.date, pl.DataFrame]:
    """The good rows of both deliveries (the deliberately broken ones are tested in test_synthetic.py)."""
    return {d: f.filter(pl.col("_bad").is_null()).drop("_bad") for d, f in cases(MEMBERS, 5).items()}


def referred(rows: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Each of `rows` that refers to a record of the delivery `frame`, joined with that record (suffix _to)."""
    return rows.join(frame, left_on="refers_to", right_on="record_id", suffix="_to")


def open_rows(frame: pl.DataFrame, kind: str, closed_by: tuple[str, ...]) -> pl.DataFrame:
    closing = frame.filter(pl.col("kind").is_in(closed_by))["refers_to"].drop_nulls()
    return frame.filter((pl.col("kind") == kind) & ~pl.col("record_id").is_in(closing.implode()))


def test_case_decisions_are_deterministic_by_seed():
    a, b, c = cases(3_000, 3), cases(3_000, 3), cases(3_000, 4)
    for d in a:
        assert a[d].equals(b[d]) and not a[d].equals(c[d])


def test_about_43_case_rows_per_1000_members_of_every_kind_and_budget(feed):
    frame = feed[AS_OF]
    assert 35 <= frame.height / MEMBERS * 1000 <= 55, frame.height  # about 300,000 at 7M members
    kinds = dict(frame["kind"].value_counts().iter_rows())
    assert set(kinds) == {"APPLICATION", "GRANT", "END", "REFUSAL", "APPEAL", "APPEAL_GRANT", "APPEAL_REFUSAL"}
    assert kinds["APPLICATION"] > kinds["APPEAL"] > kinds["END"] > 0
    assert set(frame["budget"]) == {"ZZB", "BOB"}
    assert frame["record_id"].is_unique().all()


def test_decisions_come_20_to_120_days_after_receipt_some_open_some_past_the_term(feed):
    frame = feed[AS_OF]
    decided = referred(frame.filter(pl.col("kind").is_in(["GRANT", "REFUSAL"])), frame)
    assert (decided["kind_to"] == "APPLICATION").all()
    days = (decided["decided_date"] - decided["received_date_to"]).dt.total_days()
    assert days.min() >= 20 and days.max() <= 120
    assert 0.8 < (days <= 90).mean() < 0.9  # most within the legal 90 days
    assert frame.filter((pl.col("kind") == "GRANT") & pl.col("refers_to").is_null()).height > 0  # predates the feed
    waiting = open_rows(frame, "APPLICATION", ("GRANT", "REFUSAL"))
    overdue = waiting.filter(pl.col("received_date") < pl.lit(AS_OF) - pl.duration(days=90))
    assert waiting.height > overdue.height > 0


def test_grants_months_are_whole_months_and_ends_follow_a_grant(feed):
    frame = feed[AS_OF]
    months = frame.filter(pl.col("first_month").is_not_null())
    assert (months["first_month"].dt.day() == 1).all()
    assert (months["last_month"].drop_nulls().dt.day() == 1).all()
    assert (months["last_month"] >= months["first_month"]).fill_null(True).all()
    grants = frame.filter(pl.col("kind") == "GRANT")
    assert 0 < grants["last_month"].null_count() < grants.height  # open-ended and limited grants
    ends = frame.filter(pl.col("kind") == "END")
    earlier = ends.join(grants, on=["insz", "budget"], suffix="_grant").filter(
        (pl.col("first_month_grant") < pl.col("first_month")) & (pl.col("decided_date_grant") < pl.col("decided_date"))
    )
    assert earlier["record_id"].n_unique() == ends.height


def test_appeals_contest_refusals_ends_and_letters_and_some_are_still_open(feed):
    frame = feed[AS_OF]
    appeals = frame.filter(pl.col("kind") == "APPEAL")
    on_records = referred(appeals, frame)  # (a contested record broken on purpose is not among the good rows)
    assert set(on_records["kind_to"]) == {"REFUSAL", "END"}
    assert (on_records["received_date"] > on_records["decided_date_to"]).all()
    assert (
        on_records.select((pl.col("insz") == pl.col("insz_to")) & (pl.col("budget") == pl.col("budget_to")))
        .to_series()
        .all()
    )
    on_letters = appeals.filter(~pl.col("refers_to").str.starts_with("CD"))
    assert on_letters.height > 0 and on_letters["refers_to"].str.contains(LETTER_ID).all()
    assert set(on_letters["refers_to"].str.slice(15, 3)) == {"DEC", "REC"}
    assert open_rows(frame, "APPEAL", ("APPEAL_GRANT", "APPEAL_REFUSAL")).height > 0


def test_every_outcome_names_its_row_of_the_same_person_and_budget_once(feed):
    for frame in feed.values():
        outcomes = frame.filter(pl.col("kind").is_in(list(OUTCOME_OF)) & pl.col("refers_to").is_not_null())
        named = referred(outcomes, frame)
        assert named.height == outcomes.height
        assert (named["kind_to"] == named["kind"].replace_strict(OUTCOME_OF)).all()
        assert (named["insz"] == named["insz_to"]).all() and (named["budget"] == named["budget_to"]).all()
        assert outcomes["refers_to"].is_unique().all()  # one GRANT or REFUSAL per application, one outcome per appeal


def test_the_feed_only_grows():
    """Before the bad rows are added, every row of the first delivery is in the second, unchanged."""
    pop = _population(20_000, 5, AS_OF, CODES)
    snapshot = case_decisions(pop, np.random.default_rng([5, 9]))
    first, second = (snapshot(_day(d)).drop("_referenced") for d in delivery_dates(AS_OF))
    assert first.join(second, on=first.columns, how="anti", nulls_equal=True).is_empty()
    assert second.height > first.height


def test_the_w_apply_population_applies():
    """Most W-APPLY stays (a special category, or a WZC/PVT outside Flanders or not recognised) have an application
    of their person received after admission."""
    landing = {(f, d): x for f, d, x in generate(20_000, 5, AS_OF, CODES, feeds=("facility_stays", "case_decisions"))}
    stays = landing[("facility_stays", AS_OF)].filter(
        pl.col("facility_kind").is_in(["WZC", "PVT"])
        & (
            pl.col("special_category").is_not_null()
            | (pl.col("facility_region") != "VL")
            | ~pl.col("recognised_by_flanders")
        )
        & (pl.col("admission_date") > pl.lit(AS_OF) - pl.duration(days=4 * 365))
    )
    applications = landing[("case_decisions", AS_OF)].filter(pl.col("kind") == "APPLICATION")
    applied = stays.join(applications, on="insz").filter(pl.col("received_date") >= pl.col("admission_date"))
    assert 0.4 < applied["stay_id"].n_unique() / stays.height < 0.8


def test_the_bad_rows_break_no_row_a_decision_refers_to():
    for frame in cases(20_000, 7).values():
        bad = frame.filter(pl.col("_bad").is_not_null())
        assert bad.height >= 7 * 3  # at least three rows for each rule of the feed
        named = frame.filter(pl.col("kind").is_in(list(OUTCOME_OF)) & pl.col("_bad").is_null())["refers_to"]
        broken_on_purpose = bad.filter(pl.col("_bad").str.starts_with("R-DUPLICATE"))["record_id"]
        assert not named.is_in(broken_on_purpose.implode()).any()
        assert bad.filter(pl.col("record_id").is_in(named.implode())).is_empty()


# --- the scenario persons of rules.md §10 ------------------------------------------------------------------------


def test_section_10_scenarios_hold_every_kind_and_two_bad_rows():
    rows = pl.DataFrame(scenario_rows()["case_decisions"])
    assert set(rows["kind"]) == set(OUTCOME_OF) | {"APPLICATION", "END", "APPEAL", "REVIEW"}
    assert rows["record_id"].is_unique().all()
    assert rows.filter(pl.col("kind") == "REVIEW").height == 1  # S25: R-ENUM
    dangling = rows.filter(pl.col("kind").is_in(list(OUTCOME_OF))).join(
        rows, left_on="refers_to", right_on="record_id", how="anti"
    )
    assert dangling["refers_to"].to_list() == ["SC-CD-62"]  # S26: R-REFERENCE
    shows = " ".join(SCENARIOS[c]["shows"] for c in SCENARIOS)
    for code in ("M-APPLICATION", "W-APPLICATION-OVERDUE", "M-GRANT", "M-END", "M-APPEAL", "APPEAL_REFUSAL",
                 "M-APPEAL-SUSPENDS", "W-MANUAL-CONFLICT", "REFUSAL", "R-ENUM", "R-REFERENCE"):  # fmt: skip
        assert code in shows, code


def test_a_scenario_case_row_is_delivered_from_the_delivery_after_its_date():
    first, second = (pl.DataFrame(scenario_rows(d)["case_decisions"]) for d in delivery_dates(AS_OF))
    day = pl.coalesce("received_date", "decided_date")
    assert (first.select(day <= delivery_dates(AS_OF)[0]).to_series()).all()
    later = second.join(first, on="record_id", how="anti")
    assert set(later["record_id"]) == {"SC-CD-15", "SC-CD-23E", "SC-CD-23B"}
