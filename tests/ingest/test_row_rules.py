"""Row rules of docs/spec/feeds.md (R-ID, R-NULL, R-ENUM, R-DATES, R-RANGE, R-REQUIRED, R-DUPLICATE):
each case is one row of one feed, changed from a valid row, and the rule it must break first."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.reference import load_reference
from pipelines.ingest.insz import insz_number
from pipelines.ingest.quarantine import (
    INSZ_NUMBER,
    duplicate_rows,
    exact_duplicates,
    range_maxima,
    repeated_hashes,
    row_checks,
    with_duplicate_flag,
)
from pipelines.ingest.staging import stage_feed
from schemas.feeds import FEEDS
from tests.helpers.builders import INSZ_1985, INSZ_2000, frame, valid_rows

D = dt.date
DELIVERY = D(2026, 11, 1)
RUN = D(2026, 11, 20)
NAN, INF = float("nan"), float("inf")
REFERENCE = {"zorgkassen": ["ZK100", "ZK200", "ZK300", "ZK400", "ZK500", "ZK600"]}
PARAMS = load_reference().parameters.params_on(RUN)


def stage(feed: str, rows: list[dict], delivery: dt.date = DELIVERY, run: dt.date = RUN):
    raw = frame(feed, rows).with_columns(
        pl.lit("f.parquet").alias("source_file"), pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row_number")
    )
    return stage_feed(raw, FEEDS[feed], delivery, run, REFERENCE, maxima=range_maxima(FEEDS[feed], PARAMS))


def one(feed: str, **changes) -> dict:
    return valid_rows()[feed][0] | changes


# fmt: off
CASES = [
    # name                                              feed                 changes                                                   rule / column (None: valid)
    ("the valid row of every feed is valid",             "members",           {},                                                        None),
    ("R-ID wrong check digits",                          "members",           {"insz": "85073112306"},                                   ("R-ID", "insz")),
    ("R-ID ten digits",                                  "residence_periods", {"insz": "8507311230"},                                    ("R-ID", "insz")),
    ("R-ID separators are not allowed",                  "vaph_support",      {"insz": "85.07.31-123.05"},                               ("R-ID", "insz")),
    ("R-ID month 13 is no month",                        "members",           {"insz": "85133112347"},                                   ("R-ID", "insz")),
    ("R-ID born 2000: post-2000 check digits valid",     "members",           {"insz": INSZ_2000},                                       None),
    ("R-ID BIS number month+20",                         "members",           {"insz": "85273112348"},                                   None),
    ("R-ID null insz is R-NULL, not R-ID",               "members",           {"insz": None},                                            ("R-NULL", "insz")),
    ("R-NULL non-nullable date",                         "members",           {"birth_date": None},                                      ("R-NULL", "birth_date")),
    ("R-NULL nullable death_date may be null",           "members",           {"death_date": None},                                      None),
    ("R-NULL bool",                                      "belrai_screeners",  {"service_recognised": None},                              ("R-NULL", "service_recognised")),
    ("R-ENUM unknown region",                            "residence_periods", {"region": "NL"},                                          ("R-ENUM", "region")),
    ("R-ENUM unknown zorgkas",                           "members",           {"zorgkas": "ZK999"},                                      ("R-ENUM", "zorgkas")),
    ("R-ENUM unknown affiliation basis",                 "members",           {"affiliation_basis": "RESIDENT_WAL"},                     ("R-ENUM", "affiliation_basis")),
    ("R-ENUM unknown special category",                  "facility_stays",    {"special_category": "OTHER"},                             ("R-ENUM", "special_category")),
    ("R-ENUM members' language outside NL, FR",          "members",           {"language": "EN"},                                        ("R-ENUM", "language")),
    ("R-ENUM members' language FR is fine",              "members",           {"language": "FR", "country": "BE"},                       None),
    ("R-ENUM an absent language is fine (default NL)",   "members",           {"language": None},                                        None),
    ("R-ENUM codes are case-sensitive",                  "vaph_support",      {"support_kind": "pvb"},                                   ("R-ENUM", "support_kind")),
    ("R-DATES end before start",                         "residence_periods", {"start_date": D(2020, 1, 2), "end_date": D(2020, 1, 1)},  ("R-DATES", "end_date")),
    ("R-DATES end on the start day is fine",             "residence_periods", {"start_date": D(2020, 1, 1), "end_date": D(2020, 1, 1)},  None),
    ("R-DATES death before birth",                       "members",           {"death_date": D(1985, 7, 30)},                            ("R-DATES", "death_date")),
    ("R-DATES date before 1900-01-01",                   "increased_allowance", {"start_date": D(1899, 12, 31)},                         ("R-DATES", "start_date")),
    ("R-DATES 1900-01-01 itself is fine",                "increased_allowance", {"start_date": D(1900, 1, 1)},                           None),
    ("R-DATES assessment after the delivery date",       "belrai_screeners",  {"assessment_date": D(2026, 11, 2), "valid_until": None},  ("R-DATES", "assessment_date")),
    ("R-DATES assessment on the delivery date is fine",  "belrai_screeners",  {"assessment_date": DELIVERY},                             None),
    ("R-DATES valid_until before assessment_date",       "belrai_screeners",  {"valid_until": D(2026, 1, 14)},                           ("R-DATES", "valid_until")),
    ("R-DATES valid_until before valid_from",            "medsoc_scales",     {"valid_until": D(2025, 1, 31)},                           ("R-DATES", "valid_until")),
    ("R-DATES paid after the delivery date",             "premium_payments",  {"paid_date": D(2026, 11, 2)},                             ("R-DATES", "paid_date")),
    ("R-DATES admission after the delivery date",        "facility_stays",    {"admission_date": D(2026, 11, 2)},                        ("R-DATES", "admission_date")),
    ("R-DATES a future end date is fine",                "vaph_support",      {"end_date": D(2027, 8, 31)},                              None),
    ("R-RANGE negative score",                           "medsoc_scales",     {"score": -0.5},                                           ("R-RANGE", "score")),
    ("R-RANGE zero score is fine",                       "medsoc_scales",     {"score": 0.0},                                            None),
    ("R-RANGE negative pillar",                          "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": -1.0, "pillar_3": 6.0}, ("R-RANGE", "pillar_2")),
    ("R-RANGE negative amount paid",                     "premium_payments",  {"amount_paid": -1.0},                                     ("R-RANGE", "amount_paid")),
    ("R-RANGE negative ADL score",                       "belrai_screeners",  {"adl_score": -0.1},                                       ("R-RANGE", "adl_score")),
    ("R-RANGE absence_days 366 is fine",                 "vaph_support",      {"support_kind": "MFC_FULLTIME", "school_year": 2025, "absence_days": 366}, None),
    ("R-RANGE absence_days 367",                         "vaph_support",      {"support_kind": "MFC_FULLTIME", "school_year": 2025, "absence_days": 367}, ("R-RANGE", "absence_days")),
    ("R-RANGE negative absence_days",                    "vaph_support",      {"support_kind": "MFC_FULLTIME", "school_year": 2025, "absence_days": -1},  ("R-RANGE", "absence_days")),
    ("R-RANGE NaN total score (NaN is above every threshold)", "belrai_screeners", {"total_score": NAN},                                  ("R-RANGE", "total_score")),
    ("R-RANGE +infinity medsoc score",                   "medsoc_scales",     {"score": INF},                                            ("R-RANGE", "score")),
    ("R-RANGE -infinity ADL score",                      "belrai_screeners",  {"adl_score": -INF},                                       ("R-RANGE", "adl_score")),
    ("R-RANGE NaN amount due",                           "premium_payments",  {"amount_due": NAN},                                       ("R-RANGE", "amount_due")),
    ("R-RANGE +infinity amount paid",                    "premium_payments",  {"amount_paid": INF},                                      ("R-RANGE", "amount_paid")),
    ("R-RANGE NaN pillar of a ZTK scale",                "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 6.0, "pillar_3": NAN}, ("R-RANGE", "pillar_3")),
    ("R-RANGE NaN score of a ZTK scale (not required, still no number)", "medsoc_scales", {"scale_kind": "ZTK", "score": NAN, "pillar_1": 6.0, "pillar_2": 6.0, "pillar_3": 6.0}, ("R-RANGE", "score")),
    ("R-RANGE NaN score is R-RANGE, not R-REQUIRED",     "medsoc_scales",     {"score": NAN},                                            ("R-RANGE", "score")),
    ("R-RANGE IT score 18 is fine",                      "medsoc_scales",     {"score": 18.0},                                           None),
    ("R-RANGE IT score over 18",                         "medsoc_scales",     {"score": 18.5},                                           ("R-RANGE", "score")),
    ("R-RANGE THAB score over 18",                       "medsoc_scales",     {"scale_kind": "THAB", "score": 19.0},                     ("R-RANGE", "score")),
    # maxima from the parameters (belrai_total_max 30, ztk_pillar_1..3_max 6/12/18, max_amount 100000)
    ("R-RANGE BelRAI total 30 is fine",                  "belrai_screeners",  {"total_score": 30.0},                                     None),
    ("R-RANGE BelRAI total just over 30",                "belrai_screeners",  {"total_score": 30.01},                                    ("R-RANGE", "total_score")),
    ("R-RANGE BelRAI total 1e12 (issue 20: granted)",    "belrai_screeners",  {"total_score": 1e12},                                     ("R-RANGE", "total_score")),
    ("R-RANGE ADL over belrai_total_max",                "belrai_screeners",  {"adl_score": 31.0},                                       ("R-RANGE", "adl_score")),
    ("R-RANGE IADL over belrai_total_max",               "belrai_screeners",  {"iadl_score": 1e26},                                      ("R-RANGE", "iadl_score")),
    ("R-RANGE ZTK pillars at their maxima are fine",     "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 12.0, "pillar_3": 18.0}, None),
    ("R-RANGE ZTK pillar 1 over 6",                      "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.5, "pillar_2": 12.0, "pillar_3": 18.0}, ("R-RANGE", "pillar_1")),
    ("R-RANGE ZTK pillar 2 over 12",                     "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 12.5, "pillar_3": 18.0}, ("R-RANGE", "pillar_2")),
    ("R-RANGE ZTK pillar 3 over 18",                     "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 12.0, "pillar_3": 18.5}, ("R-RANGE", "pillar_3")),
    ("R-RANGE amount due 100000 is fine",                "premium_payments",  {"amount_due": 100000.0},                                  None),
    ("R-RANGE amount due over max_amount",               "premium_payments",  {"amount_due": 100000.01},                                 ("R-RANGE", "amount_due")),
    ("R-RANGE amount paid 1e26",                         "premium_payments",  {"amount_paid": 1e26},                                     ("R-RANGE", "amount_paid")),
    ("R-RANGE ZBO score 1e12",                           "medsoc_scales",     {"scale_kind": "ZBO", "score": 1e12},                      ("R-RANGE", "score")),
    ("R-RANGE ZTK score over 18 is not on the self-reliance scale", "medsoc_scales", {"scale_kind": "ZTK", "score": 40.0, "pillar_1": 6.0, "pillar_2": 6.0, "pillar_3": 6.0}, None),
    ("R-RANGE a huge finite amount is over max_amount",   "premium_payments",  {"amount_due": 1e300},                                     ("R-RANGE", "amount_due")),
    ("R-REQUIRED IT without score",                      "medsoc_scales",     {"score": None},                                           ("R-REQUIRED", "score")),
    ("R-REQUIRED ZBO without score",                     "medsoc_scales",     {"scale_kind": "ZBO", "score": None},                      ("R-REQUIRED", "score")),
    ("R-REQUIRED ZTK without a pillar",                  "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 6.0, "pillar_3": None}, ("R-REQUIRED", "pillar_3")),
    ("R-REQUIRED ZTK with its pillars needs no score",   "medsoc_scales",     {"scale_kind": "ZTK", "score": None, "pillar_1": 6.0, "pillar_2": 6.0, "pillar_3": 6.0}, None),
    ("R-REQUIRED school_year without absence_days",      "vaph_support",      {"support_kind": "MFC_FULLTIME", "school_year": 2025},     ("R-REQUIRED", "absence_days")),
    ("R-REQUIRED absence_days without school_year",      "vaph_support",      {"support_kind": "MFC_FULLTIME", "absence_days": 40},      ("R-REQUIRED", "school_year")),
]
# fmt: on


@pytest.mark.parametrize("name, feed, changes, expected", CASES, ids=[c[0] for c in CASES])
def test_row_rule(name, feed, changes, expected):
    staged = stage(feed, [one(feed, **changes)])
    if expected is None:
        assert staged.quarantine.height == 0, staged.quarantine.to_dicts()
        assert staged.valid.height == 1
    else:
        assert staged.valid.height == 0
        row = staged.quarantine.row(0, named=True)
        assert (row["rule"], row["column"]) == expected
        assert row["feed"] == feed and row["source_file"] == "f.parquet" and row["row_number"] == 1


def test_r_id_post_2000_rule_needs_the_run_year():
    """R-ID: the post-2000 check applies only when 2000 + YY is at most the run's year (no clock)."""
    born_2026 = "26010100166"  # 97 - (2260101001 mod 97) = 66
    assert stage("members", [one("members", insz=born_2026, birth_date=D(2026, 1, 1))]).valid.height == 1
    earlier = stage(
        "members", [one("members", insz=born_2026, birth_date=D(2025, 1, 1))], D(2025, 11, 1), D(2025, 11, 20)
    )
    assert earlier.quarantine["rule"].to_list() == ["R-ID"]


def test_r_duplicate_quarantines_every_row_of_a_repeated_key():
    rows = [
        one("belrai_screeners"),
        one("belrai_screeners", total_score=2.0),
        one("belrai_screeners", assessment_id="BR2"),
    ]
    staged = stage("belrai_screeners", rows)
    assert staged.quarantine.sort("row_number")["row_number"].to_list() == [1, 2]
    assert set(staged.quarantine["rule"]) == {"R-DUPLICATE"}
    assert staged.valid["assessment_id"].to_list() == ["BR2"]


def test_r_duplicate_composite_key_of_premium_payments():
    rows = [
        one("premium_payments"),
        one("premium_payments", premium_year=2024),
        one("premium_payments", amount_paid=0.0),
    ]
    staged = stage("premium_payments", rows)
    assert staged.quarantine["row_number"].to_list() == [1, 3]
    assert staged.quarantine["column"].to_list() == ["insz,premium_year"] * 2
    assert staged.valid["premium_year"].to_list() == [2024]


def test_r_duplicate_members_insz_and_null_ids_are_not_duplicates():
    members = stage("members", [one("members"), one("members", name="Other")])
    assert members.quarantine["rule"].to_list() == ["R-DUPLICATE", "R-DUPLICATE"]
    nulls = stage("vaph_support", [one("vaph_support", record_id=None), one("vaph_support", record_id=None)])
    assert nulls.quarantine["rules"].to_list() == [["R-NULL"], ["R-NULL"]]


def test_r_duplicate_a_hash_collision_quarantines_no_row():
    """R-DUPLICATE: rows whose hashes repeat are only candidates; their keys themselves decide."""
    hashes = pl.Series("_hash", [7, 3, 7, None, 3, 9], dtype=pl.UInt64)
    candidates = repeated_hashes(hashes)
    assert candidates.to_list() == [0, 1, 2, 4]
    keys = pl.DataFrame({"assessment_id": ["A", "B", "C", "B"], "_row": candidates})  # 7 collides: A and C
    assert exact_duplicates(keys, ("assessment_id",)).to_list() == [1, 4]


def test_first_rule_in_feeds_md_order_and_every_rule_listed():
    row = one("vaph_support", insz="85073112306", support_kind="X", end_date=D(2020, 1, 1), absence_days=500)
    staged = stage("vaph_support", [row, one("vaph_support", record_id="VA2", insz="85073112306")])
    first = staged.quarantine.row(0, named=True)
    assert first["rule"] == "R-ID" and first["column"] == "insz"
    assert first["rules"] == ["R-ID", "R-ENUM", "R-DATES", "R-RANGE", "R-REQUIRED"]
    assert staged.quarantine.row(1, named=True)["rules"] == ["R-ID"]


def test_r_required_a_row_without_its_kind_is_r_null_only():
    """R-REQUIRED: a column required by the row's kind; a row whose kind is null (R-NULL) requires nothing more."""
    staged = stage("medsoc_scales", [one("medsoc_scales", scale_kind=None, score=None)])
    assert staged.quarantine["rules"].to_list() == [["R-NULL"]]


def test_quarantine_keeps_the_original_row_as_json():
    staged = stage("residence_periods", [one("residence_periods", region="NL")])
    assert staged.quarantine["row"][0] == (
        '{"insz":"85073112305","region":"NL","start_date":"1985-07-31","end_date":null}'
    )


def test_valid_rows_pass_the_pandera_model_at_full_depth():
    rows = valid_rows()
    for feed, contract in FEEDS.items():
        staged = stage(feed, rows[feed])
        assert staged.valid.height == len(rows[feed])
        contract.model.validate(staged.valid.select(list(contract.columns)))


def test_invalid_iban_is_treated_as_missing_and_counted():
    rows = [
        one("members"),
        one("members", insz=INSZ_2000, iban="BE72735100000117"),
        one("members", insz="85273112348", iban=None),
    ]
    staged = stage("members", rows)
    assert staged.quarantine.height == 0
    assert staged.valid["iban_status"].to_list() == ["VALID", "INVALID", "MISSING"]
    assert staged.valid["iban"].to_list() == ["BE72735100000116", None, None]
    assert staged.counts()["rows_valid"] == 3
    assert INSZ_1985 in staged.valid["insz"].to_list()


def test_the_maxima_come_from_the_parameters_not_from_literals():
    """R-RANGE reads belrai_total_max from the parameters of the run date: a lower value quarantines 25."""
    contract = FEEDS["belrai_screeners"]
    raw = frame("belrai_screeners", [one("belrai_screeners", total_score=25.0)]).with_columns(
        pl.lit("f.parquet").alias("source_file"), pl.lit(1, pl.Int64).alias("row_number")
    )
    lower = range_maxima(contract, PARAMS.replace(belrai_total_max="20"))
    staged = stage_feed(raw, contract, DELIVERY, RUN, REFERENCE, maxima=lower)
    assert staged.quarantine["rule"].to_list() == ["R-RANGE"]
    with pytest.raises(KeyError, match="no maximum given for adl_score"):
        stage_feed(raw, contract, DELIVERY, RUN, REFERENCE, maxima={"total_score": 30.0, "iadl_score": 30.0})


@pytest.mark.parametrize("feed", sorted({case[1] for case in CASES}))
def test_the_split_agrees_with_the_first_broken_check_of_every_row_and_valid_columns_keep_the_rows(feed):
    """split_rows finds the broken rows with one boolean and their first rule on them alone: the same rows and rules
    as the first broken check of every row (the formulation before, computed here over all the feed's cases at once,
    a null check not broken); `valid_columns` (a feed only counted) keeps the same valid rows, fewer columns."""
    rows = [one(f, **changes) for _, f, changes, _ in CASES if f == feed]
    raw = frame(feed, rows).with_columns(
        pl.lit("f.parquet").alias("source_file"), pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row_number")
    )
    contract, maxima = FEEDS[feed], range_maxima(FEEDS[feed], PARAMS)
    staged = stage_feed(raw, contract, DELIVERY, RUN, REFERENCE, maxima=maxima)
    counted = stage_feed(raw, contract, DELIVERY, RUN, REFERENCE, maxima=maxima, valid_columns=["insz"])
    checks = row_checks(contract, DELIVERY, RUN.year, REFERENCE, maxima)
    flagged = raw
    if contract.key:
        flagged = with_duplicate_flag(raw, duplicate_rows(raw.select(list(contract.key)), contract.key))
    flagged = flagged.with_columns(insz_number(pl.col("insz")).alias(INSZ_NUMBER))
    first = pl.coalesce([pl.when(c.broken).then(pl.lit(i)) for i, c in enumerate(checks)])
    expected = flagged.select("row_number", first.alias("first")).filter(pl.col("first").is_not_null())
    rules = [checks[i].rule for i in expected["first"]]
    assert staged.quarantine["row_number"].to_list() == expected["row_number"].to_list()
    assert staged.quarantine["rule"].to_list() == rules
    assert staged.quarantine.equals(counted.quarantine)
    assert counted.valid.columns == ["insz"]
    assert counted.valid["insz"].to_list() == staged.valid["insz"].to_list()
    assert staged.valid.height == raw.height - len(rules)
