"""Landing reader and feed-level checks (docs/spec/feeds.md): delivery choice, schema errors, shrink, counts."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pytest

from flows.explain import explain_context, load_person
from flows.io.landing import FeedError
from flows.reference import load_reference
from schemas.feeds import FEEDS
from tests.helpers.builders import (
    INSZ_1985,
    INSZ_2000,
    frame,
    ingest_at,
    valid_rows,
    with_arrow_column,
    write_delivery,
    write_landing,
)

D = dt.date
DT = dt.datetime
REF = load_reference()


def test_newest_delivery_on_or_before_the_run_date(tmp_path):
    write_landing(tmp_path, D(2026, 10, 1))
    write_landing(tmp_path, D(2026, 11, 1), {"belrai_screeners": valid_rows()["belrai_screeners"] * 0})
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 21), valid_rows()["belrai_screeners"])
    got = ingest_at(tmp_path, D(2026, 11, 20), accept_shrink={"belrai_screeners"})
    assert got.deliveries["belrai_screeners"].delivery_date == D(2026, 11, 1)
    assert got.valid("belrai_screeners").height == 0
    assert ingest_at(tmp_path, D(2026, 10, 31)).deliveries["members"].delivery_date == D(2026, 10, 1)


def test_no_delivery_names_every_missing_feed_in_one_sentence(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    with pytest.raises(FeedError, match=r"no delivery on or before 2026-10-31 in .* for every feed: the first is of "
                       r"2026-11-01: run a later date, or add the missing deliveries$"):  # fmt: skip
        ingest_at(tmp_path, D(2026, 10, 31))
    for folder in (tmp_path / "vaph_support").iterdir():
        folder.rename(folder.with_name("delivery_date=2026-12-01"))
    with pytest.raises(
        FeedError, match=r"on or before 2026-11-20 in .* for feed vaph_support: the first is of 2026-12"
    ):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_missing_column_names_feed_file_and_column(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    path = write_delivery(
        tmp_path,
        "medsoc_scales",
        D(2026, 11, 1),
        frame("medsoc_scales", valid_rows()["medsoc_scales"]).drop("pillar_2"),
    )
    with pytest.raises(FeedError, match=rf"feed medsoc_scales, file {path}: missing column pillar_2"):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_wrong_type_names_feed_file_and_column(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    bad = frame("premium_payments", valid_rows()["premium_payments"]).with_columns(pl.col("amount_due").cast(pl.String))
    path = write_delivery(tmp_path, "premium_payments", D(2026, 11, 1), bad)
    with pytest.raises(
        FeedError,
        match=rf"feed premium_payments, file {path}: column amount_due has type large_string, "
        "the contract says float",
    ):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_unreadable_file_names_feed_and_file(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    broken = tmp_path / "vaph_support" / "delivery_date=2026-11-01" / "part-00001.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(FeedError, match=rf"feed vaph_support, file {broken}: unreadable Parquet file"):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_int32_and_all_null_columns_are_accepted_and_extra_columns_warn_once(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    rows = frame("vaph_support", valid_rows()["vaph_support"])
    odd = rows.with_columns(
        pl.col("school_year").cast(pl.Int32), pl.lit(None).alias("end_date"), pl.lit("x").alias("comment")
    )
    write_delivery(tmp_path, "vaph_support", D(2026, 11, 1), odd)
    write_delivery(
        tmp_path,
        "vaph_support",
        D(2026, 11, 1),
        odd.with_columns(pl.lit("VA2").alias("record_id")),
        name="part-00001.parquet",
    )
    got = ingest_at(tmp_path, D(2026, 11, 20))
    assert got.valid("vaph_support").schema["school_year"] == pl.Int64
    assert got.valid("vaph_support")["record_id"].to_list() == ["VA1", "VA2"]
    assert [w for w in got.warnings if "vaph_support" in w] == ["feed vaph_support: extra columns ignored: comment"]


def _shrinking_landing(tmp_path):
    rows = valid_rows()["residence_periods"]
    write_landing(tmp_path, D(2026, 10, 1), {"residence_periods": rows * 10})
    write_landing(tmp_path, D(2026, 11, 1), {"residence_periods": rows * 8})


def test_delivery_below_min_rows_ratio_fails_with_both_counts(tmp_path):
    _shrinking_landing(tmp_path)
    with pytest.raises(
        FeedError,
        match=r"feed residence_periods: delivery 2026-11-01 has 8 rows, below 0.9 of the "
        r"previous delivery 2026-10-01 \(10 rows\).*--accept-shrink residence_periods",
    ):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_accept_shrink_lets_the_run_go_on_with_a_warning(tmp_path):
    _shrinking_landing(tmp_path)
    got = ingest_at(tmp_path, D(2026, 11, 20), accept_shrink={"residence_periods"})
    assert got.valid("residence_periods").height == 8
    assert any("accepted with --accept-shrink" in w for w in got.warnings)
    with pytest.raises(FeedError, match="--accept-shrink names no feed: residence"):
        ingest_at(tmp_path, D(2026, 11, 20), accept_shrink={"residence"})


def test_exactly_min_rows_ratio_passes(tmp_path):
    rows = valid_rows()["increased_allowance"]
    write_landing(tmp_path, D(2026, 10, 1), {"increased_allowance": rows * 10})
    write_landing(tmp_path, D(2026, 11, 1), {"increased_allowance": rows * 9})
    assert ingest_at(tmp_path, D(2026, 11, 20)).valid("increased_allowance").height == 9


def test_rows_of_non_members_are_counted_not_errors(tmp_path):
    other = valid_rows()["increased_allowance"][0] | {"insz": INSZ_2000}
    write_landing(tmp_path, D(2026, 11, 1), {"increased_allowance": [valid_rows()["increased_allowance"][0], other]})
    got = ingest_at(tmp_path, D(2026, 11, 20))
    assert got.counts["increased_allowance"]["rows_without_member"] == 1
    assert got.counts["increased_allowance"]["rows_valid"] == 2


def test_narrowing_a_feed_file_by_file_keeps_the_counts_of_all_its_valid_rows(tmp_path):
    """The nightly run keeps only the premiums of voluntary members, narrowed file by file; the report
    still counts every valid row and every row without a member."""
    write_landing(tmp_path, D(2026, 11, 1))
    premium = valid_rows()["premium_payments"][0]
    stranger = premium | {"insz": INSZ_2000}
    write_delivery(tmp_path, "premium_payments", D(2026, 11, 1), [premium, stranger])
    earlier = stranger | {"premium_year": 2024, "due_date": D(2024, 6, 30), "paid_date": None}
    write_delivery(tmp_path, "premium_payments", D(2026, 11, 1), [earlier], name="part-00001.parquet")
    whole = ingest_at(tmp_path, D(2026, 11, 20))
    kept = []

    def only_members(members):
        def rows_of_members(rows):
            kept.append(rows.height)
            return rows.join(members.select("insz"), on="insz", how="semi")

        return rows_of_members

    narrowed = ingest_at(tmp_path, D(2026, 11, 20), narrow={"premium_payments": only_members})
    assert kept == [2, 1]  # once per file
    assert narrowed.valid("premium_payments")["insz"].to_list() == [premium["insz"]]
    assert whole.valid("premium_payments").height == 3
    for got in (whole, narrowed):
        assert got.counts["premium_payments"]["rows_valid"] == 3
        assert got.counts["premium_payments"]["rows_without_member"] == 2


def test_r_duplicate_every_hash_colliding_quarantines_no_distinct_key(tmp_path, monkeypatch):
    """R-DUPLICATE: hashes only pick candidates; with every key hashed alike, the keys themselves decide."""
    import flows.ingest

    monkeypatch.setattr(flows.ingest, "key_hash", lambda key: pl.repeat(0, pl.len(), dtype=pl.UInt64).alias("_hash"))
    write_landing(tmp_path, D(2026, 11, 1))
    rows = valid_rows()["belrai_screeners"]
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 1), rows + [rows[0] | {"assessment_id": "BR9"}])
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 1), rows, name="part-00001.parquet")
    got = ingest_at(tmp_path, D(2026, 11, 20))
    assert got.feeds["belrai_screeners"].quarantine["row_number"].to_list() == [1, 1]
    assert got.valid("belrai_screeners")["assessment_id"].to_list() == ["BR9"]


def test_r_duplicate_across_the_files_of_one_delivery(tmp_path):
    """R-DUPLICATE is judged over the whole delivery, though each file is staged on its own."""
    write_landing(tmp_path, D(2026, 11, 1))
    rows = valid_rows()["belrai_screeners"]
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 1), rows + [rows[0] | {"assessment_id": "BR9"}])
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 1), rows, name="part-00001.parquet")
    got = ingest_at(tmp_path, D(2026, 11, 20))
    quarantine = got.feeds["belrai_screeners"].quarantine
    assert quarantine.select("source_file", "row_number", "rule").rows() == [
        ("belrai_screeners/delivery_date=2026-11-01/part-00000.parquet", 1, "R-DUPLICATE"),
        ("belrai_screeners/delivery_date=2026-11-01/part-00001.parquet", 1, "R-DUPLICATE"),
    ]
    assert got.valid("belrai_screeners")["assessment_id"].to_list() == ["BR9"]


# --- physical variants of the contract types (docs/spec/feeds.md "Types") ------------------------------------------


def dictionary(values: list, indices: pa.DataType | None = None, value_type: pa.DataType | None = None) -> pa.Array:
    """The values dictionary-encoded (int32 indices and plain strings unless given)."""
    positions = pa.array(range(len(values)), indices or pa.int32())
    return pa.DictionaryArray.from_arrays(positions, pa.array(values, value_type or pa.string()))


# fmt: off
LOSSLESS = [
    # name                                                    feed                 column          values                                                       read as
    ("str: dictionary-encoded string",                        "members",           "name",         dictionary(["An Peeters"]),                                  "An Peeters"),
    ("str: dictionary of int8 indices and large strings",     "members",           "zorgkas",      dictionary(["ZK100"], pa.int8(), pa.large_string()),         "ZK100"),
    ("str: large string",                                     "members",           "insz",         pa.array([INSZ_1985], pa.large_string()),                    INSZ_1985),
    ("str: string view",                                      "members",           "domicile_region", pa.array(["VL"], pa.string_view()),                    "VL"),
    ("int: int16",                                            "premium_payments",  "premium_year", pa.array([2025], pa.int16()),                                2025),
    ("int: uint16",                                           "premium_payments",  "premium_year", pa.array([2025], pa.uint16()),                               2025),
    ("int: uint32",                                           "premium_payments",  "premium_year", pa.array([2025], pa.uint32()),                               2025),
    ("int: uint64 whose values fit Int64",                    "premium_payments",  "premium_year", pa.array([2025], pa.uint64()),                               2025),
    ("float: Float32",                                        "premium_payments",  "amount_due",   pa.array([63.5], pa.float32()),                              63.5),
    ("float: Float16",                                        "belrai_screeners",  "total_score",  pa.array([14.5], pa.float16()),                              14.5),
    ("float: int32",                                          "premium_payments",  "amount_due",   pa.array([64], pa.int32()),                                  64.0),
    ("float: uint8",                                          "belrai_screeners",  "adl_score",    pa.array([3], pa.uint8()),                                   3.0),
    ("float: int64 by value (2**53 + 1 is lossy, below)",     "premium_payments",  "amount_due",   pa.array([99_999], pa.int64()),                              99_999.0),
    ("float: uint64",                                         "premium_payments",  "amount_paid",  pa.array([64], pa.uint64()),                                 64.0),
    ("float: decimal(12,2)",                                  "premium_payments",  "amount_due",   pa.array([Decimal("63.99")], pa.decimal128(12, 2)),          63.99),
    ("float: decimal(38,2) whose values a float holds",       "premium_payments",  "amount_due",   pa.array([Decimal("63.99")], pa.decimal128(38, 2)),          63.99),
    ("float: decimal256(38,10)",                              "medsoc_scales",     "score",        pa.array([Decimal("16.5")], pa.decimal256(38, 10)),          16.5),
    ("date: timestamp[s] at midnight",                        "members",           "birth_date",   pa.array([DT(1985, 7, 31)], pa.timestamp("s")),              D(1985, 7, 31)),
    ("date: timestamp[ms] at midnight",                       "members",           "birth_date",   pa.array([DT(1985, 7, 31)], pa.timestamp("ms")),             D(1985, 7, 31)),
    ("date: timestamp[us] at midnight",                       "members",           "birth_date",   pa.array([DT(1985, 7, 31)], pa.timestamp("us")),             D(1985, 7, 31)),
    ("date: timestamp[ns] at midnight",                       "members",           "birth_date",   pa.array([DT(1985, 7, 31)], pa.timestamp("ns")),             D(1985, 7, 31)),
    ("date: timestamp[us] 9999-12-31",                        "vaph_support",      "end_date",     pa.array([DT(9999, 12, 31)], pa.timestamp("us")),            D(9999, 12, 31)),
    ("date: timestamp[ms] 1900-01-01",                        "residence_periods", "start_date",   pa.array([DT(1900, 1, 1)], pa.timestamp("ms")),              D(1900, 1, 1)),
    ("date: date64",                                          "members",           "birth_date",   pa.array([D(1985, 7, 31)], pa.date64()),                     D(1985, 7, 31)),
    ("date?: all-null timestamp column",                      "members",           "death_date",   pa.array([None], pa.timestamp("us")),                        None),
]

LOSSY = [
    # name                                                    feed                 column          values                                                       error after the column name
    ("int: uint64 beyond Int64",                              "premium_payments",  "premium_year", pa.array([2**63], pa.uint64()),                              "has type uint64 and a value that int cannot hold (row 1: 9223372036854775808)"),
    ("int: a float is no int",                                "premium_payments",  "premium_year", pa.array([2025.0], pa.float64()),                            "has type double, the contract says int"),
    ("int: a decimal is no int",                              "premium_payments",  "premium_year", pa.array([Decimal(2025)], pa.decimal128(4, 0)),              "has type decimal128(4, 0), the contract says int"),
    ("float: int64 beyond 2**53",                             "premium_payments",  "amount_due",   pa.array([2**53 + 1], pa.int64()),                           "has type int64 and a value that float cannot hold (row 1: 9007199254740993)"),
    ("float: decimal(38,2) of 17 significant digits",         "premium_payments",  "amount_due",   pa.array([Decimal("100000000000000.01")], pa.decimal128(38, 2)), "has type decimal128(38, 2) and a value that float cannot hold (row 1: 100000000000000.01)"),
    ("float: a string is no float",                           "belrai_screeners",  "total_score",  pa.array(["14"], pa.string()),                               "has type string, the contract says float"),
    ("date: timestamp at noon",                               "members",           "birth_date",   pa.array([DT(1985, 7, 31, 12)], pa.timestamp("us")),         "has type timestamp[us] and a value that date cannot hold (row 1: 1985-07-31 12:00:00)"),
    ("date: timestamp one microsecond after midnight",        "members",           "birth_date",   pa.array([DT(1985, 7, 31, 0, 0, 0, 1)], pa.timestamp("us")), "has type timestamp[us] and a value that date cannot hold (row 1: 1985-07-31 00:00:00.000001)"),
    ("date: timestamp with a time zone, even at midnight",    "members",           "birth_date",   pa.array([DT(1985, 7, 31)], pa.timestamp("us", tz="UTC")),  "has type timestamp[us, tz=UTC], the contract says date (a time zone makes it an instant, not a calendar day)"),
    ("date: timestamp in Brussels time",                      "members",           "birth_date",   pa.array([DT(1985, 7, 31)], pa.timestamp("ms", tz="Europe/Brussels")), "has type timestamp[ms, tz=Europe/Brussels], the contract says date (a time zone makes it an instant, not a calendar day)"),
    ("date: a string is no date",                             "members",           "birth_date",   pa.array(["1985-07-31"], pa.string()),                       "has type string, the contract says date"),
    ("bool: an integer is no bool",                           "belrai_screeners",  "service_recognised", pa.array([1], pa.int8()),                              "has type int8, the contract says bool"),
    ("str: dictionary-encoded integers are no str",           "members",           "zorgkas",      pa.array([100]).dictionary_encode(),                         "has type int64, the contract says str"),
    ("float: a decimal of more than 38 digits is not read",   "medsoc_scales",     "score",        pa.array([Decimal("16.5")], pa.decimal256(50, 10)),          "has type decimal256(50, 10), the contract says float (a decimal of more than 38 digits is not read)"),
]
# fmt: on


@pytest.mark.parametrize("name, feed, column, values, expected", LOSSLESS, ids=[c[0] for c in LOSSLESS])
def test_a_lossless_physical_variant_is_read_as_the_contract_type(tmp_path, name, feed, column, values, expected):
    """docs/spec/feeds.md "Types": a dictionary or large string, any integer width that fits, an integer, Float32 or decimal
    for float, a timestamp at midnight for date: accepted and read as the contract type."""
    write_landing(tmp_path, D(2026, 11, 1))
    write_delivery(tmp_path, feed, D(2026, 11, 1), with_arrow_column(feed, valid_rows()[feed], column, values))
    got = ingest_at(tmp_path, D(2026, 11, 20))
    assert got.feeds[feed].quarantine.is_empty(), got.feeds[feed].quarantine.to_dicts()
    assert got.valid(feed).schema[column] == FEEDS[feed].columns[column]
    assert got.valid(feed)[column].to_list() == [expected]


@pytest.mark.parametrize("name, feed, column, values, error", LOSSY, ids=[c[0] for c in LOSSY])
def test_a_lossy_physical_variant_is_an_error_naming_feed_file_and_column(tmp_path, name, feed, column, values, error):
    """docs/spec/feeds.md "Types": anything lossy stays an error naming feed, file and column, in one line."""
    write_landing(tmp_path, D(2026, 11, 1))
    path = write_delivery(tmp_path, feed, D(2026, 11, 1), with_arrow_column(feed, valid_rows()[feed], column, values))
    with pytest.raises(FeedError) as raised:
        ingest_at(tmp_path, D(2026, 11, 20))
    assert str(raised.value) == f"feed {feed}, file {path}: column {column} {error}"
    assert "\n" not in str(raised.value)


def test_a_lossy_value_is_named_by_its_row_among_many(tmp_path):
    """The value check reads the column and names the first row that does not hold (the others are fine)."""
    write_landing(tmp_path, D(2026, 11, 1))
    rows = [valid_rows()["members"][0] | {"insz": insz} for insz in (INSZ_1985, INSZ_2000, "85273112348")]
    births = pa.array([DT(1985, 7, 31), DT(2000, 12, 5), DT(1985, 7, 31, 23, 59)], pa.timestamp("ms"))
    path = write_delivery(tmp_path, "members", D(2026, 11, 1), with_arrow_column("members", rows, "birth_date", births))
    message = re.escape(f"feed members, file {path}: column birth_date has type timestamp[ms] and a value that date")
    with pytest.raises(FeedError, match=message + r" cannot hold \(row 3: 1985-07-31 23:59:00\)"):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_files_of_one_delivery_may_use_different_variants(tmp_path):
    """Each file is read as the contract types, so the files of one delivery concatenate whatever their variants."""
    write_landing(tmp_path, D(2026, 11, 1))
    rows = valid_rows()["premium_payments"]
    write_delivery(
        tmp_path,
        "premium_payments",
        D(2026, 11, 1),
        with_arrow_column("premium_payments", rows, "amount_due", pa.array([Decimal("64.00")], pa.decimal128(12, 2))),
    )
    later = [rows[0] | {"premium_year": 2024}]
    write_delivery(tmp_path, "premium_payments", D(2026, 11, 1), later, name="part-00001.parquet")
    got = ingest_at(tmp_path, D(2026, 11, 20))
    assert got.valid("premium_payments").select("premium_year", "amount_due").rows() == [(2025, 64.0), (2024, 64.0)]


def test_finding_5_a_dictionary_encoded_string_and_a_decimal_amount_are_valid_parquet(tmp_path):
    """Issue 11 finding 5: a dictionary-encoded string column and a decimal(12,2) amount were refused as
    "wrong type"; they hold the contract's values without loss and are read as str and float, with the same
    result as the plain types (R-DUPLICATE over dictionary keys, and one person's rows for vsb explain)."""
    plain, variant = tmp_path / "plain", tmp_path / "variant"
    screeners = valid_rows()["belrai_screeners"] * 2  # a repeated assessment_id: R-DUPLICATE reads the keys
    write_landing(plain, D(2026, 11, 1), {"belrai_screeners": screeners})
    write_landing(variant, D(2026, 11, 1), {"belrai_screeners": screeners})
    members = with_arrow_column("members", valid_rows()["members"], "insz", dictionary([INSZ_1985]))
    write_delivery(variant, "members", D(2026, 11, 1), members)
    ids = pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int32()), pa.array(["BR1"]))
    write_delivery(
        variant,
        "belrai_screeners",
        D(2026, 11, 1),
        with_arrow_column("belrai_screeners", screeners, "assessment_id", ids),
    )
    amounts = pa.array([Decimal("64.00")], pa.decimal128(12, 2))
    premium = with_arrow_column("premium_payments", valid_rows()["premium_payments"], "amount_due", amounts)
    premium = premium.set_column(premium.schema.get_field_index("amount_paid"), "amount_paid", amounts)
    write_delivery(variant, "premium_payments", D(2026, 11, 1), premium)
    expected, got = ingest_at(plain, D(2026, 11, 20)), ingest_at(variant, D(2026, 11, 20))
    for feed in FEEDS:
        assert got.valid(feed).equals(expected.valid(feed)), feed
        assert got.feeds[feed].quarantine.drop("row").equals(expected.feeds[feed].quarantine.drop("row")), feed
    assert got.feeds["belrai_screeners"].quarantine["rule"].to_list() == ["R-DUPLICATE", "R-DUPLICATE"]
    person = load_person(explain_context(variant, D(2026, 11, 20)), INSZ_1985)
    assert person.valid("members")["insz"].to_list() == [INSZ_1985]


# --- symbolic links (docs/spec/feeds.md: a link to a place outside the landing zone is an error naming it) ---------

OUTSIDE = "outside the landing zone"


def _moved_out(landing, outside, relative: str):
    """Moves landing/relative to outside/relative and leaves a symbolic link in its place."""
    source, target = landing / relative, outside / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    source.symlink_to(target, target_is_directory=target.is_dir())
    return source, target


# fmt: off
LINKS_OUT = [
    # name                                      what is moved out and linked back                           named as
    ("a feed folder",                           "members",                                                  "feed folder"),
    ("a delivery folder",                       "members/delivery_date=2026-11-01",                         "delivery folder"),
    ("a file",                                  "members/delivery_date=2026-11-01/part-00000.parquet",      "file"),
    ("the previous delivery's folder",          "members/delivery_date=2026-10-01",                         "delivery folder"),
]
# fmt: on


@pytest.mark.parametrize("name, relative, kind", LINKS_OUT, ids=[c[0] for c in LINKS_OUT])
def test_finding_6_a_symbolic_link_out_of_the_landing_zone_is_an_error_naming_it(tmp_path, name, relative, kind):
    """Issue 11 finding 6: links from the landing zone to files or folders outside it were followed silently."""
    landing, outside = tmp_path / "landing", tmp_path / "elsewhere"
    write_landing(landing, D(2026, 10, 1))
    write_landing(landing, D(2026, 11, 1))
    link, target = _moved_out(landing, outside, relative)
    with pytest.raises(FeedError) as raised:
        ingest_at(landing, D(2026, 11, 20))
    message = str(raised.value)
    assert message.startswith(f"feed members: {kind} {link} is a symbolic link to {target}, {OUTSIDE}")
    assert message.endswith("an operator who wants that copies the file in") and "\n" not in message


def test_a_dangling_symbolic_link_out_of_the_landing_zone_is_an_error_too(tmp_path):
    landing = write_landing(tmp_path / "landing", D(2026, 11, 1))
    link = landing / "vaph_support" / "delivery_date=2026-11-01" / "part-00001.parquet"
    link.symlink_to(tmp_path / "gone.parquet")
    with pytest.raises(
        FeedError, match=rf"feed vaph_support: file {link} is a symbolic link to .*gone.parquet, {OUTSIDE}"
    ):
        ingest_at(landing, D(2026, 11, 20))


def test_symbolic_links_that_stay_inside_the_landing_zone_are_fine(tmp_path):
    """A link to a file or folder elsewhere in the landing zone is followed; so is a landing zone that is itself a link."""
    real = write_landing(tmp_path / "real", D(2026, 11, 1))
    shared = real / "_shared"
    shared.mkdir()
    (real / "members" / "delivery_date=2026-11-01" / "part-00000.parquet").rename(shared / "members.parquet")
    (real / "members" / "delivery_date=2026-11-01" / "part-00000.parquet").symlink_to(shared / "members.parquet")
    (real / "vaph_support" / "delivery_date=2026-11-01").rename(shared / "vaph")
    (real / "vaph_support" / "delivery_date=2026-11-01").symlink_to(shared / "vaph", target_is_directory=True)
    landing = tmp_path / "landing"
    landing.symlink_to(real, target_is_directory=True)
    got = ingest_at(landing, D(2026, 11, 20))
    assert got.valid("members").height == 1 and got.valid("vaph_support").height == 1


def test_a_loop_of_symbolic_links_is_an_error_naming_it(tmp_path):
    landing = write_landing(tmp_path / "landing", D(2026, 11, 1))
    link = landing / "vaph_support" / "delivery_date=2026-11-01" / "part-00001.parquet"
    link.symlink_to(link)
    with pytest.raises(FeedError, match=rf"feed vaph_support: file {link}"):
        ingest_at(landing, D(2026, 11, 20))


# --- optional columns of members (docs/spec/feeds.md: language, street, postal_code, city, country) -----------------

OPTIONAL = ("language", "street", "postal_code", "city", "country")
ADDRESS = {"language": "FR", "street": "Rue de la Loi 16", "postal_code": "1000", "city": "Bruxelles", "country": "BE"}


def test_optional_member_columns_may_be_absent_and_are_then_null(tmp_path):
    """docs/spec/feeds.md: a delivery may lack the optional columns; absent means null (the default applies where it is
    used, L-LANGUAGE); no warning about them; a quarantined row's JSON holds the columns delivered."""
    member = valid_rows()["members"][0]
    write_landing(tmp_path, D(2026, 11, 1), {"members": [member, member | {"insz": INSZ_2000, "zorgkas": "X"}]})
    got = ingest_at(tmp_path, D(2026, 11, 20))
    valid = got.valid("members")
    assert list(valid.columns)[: len(FEEDS["members"].columns)] == list(FEEDS["members"].columns)
    assert all(valid.schema[c] == pl.String for c in OPTIONAL)
    assert valid.select(OPTIONAL).rows() == [(None,) * 5]
    assert not [w for w in got.warnings if "members" in w]
    assert set(OPTIONAL).isdisjoint(json.loads(got.feeds["members"].quarantine["row"][0]))


def test_present_optional_member_columns_are_read_checked_and_kept(tmp_path):
    """A present optional column is checked like the others: language outside NL, FR is R-ENUM; the valid
    members carry the values; the quarantined row's JSON holds them."""
    rows = [
        valid_rows()["members"][0] | ADDRESS,
        valid_rows()["members"][0] | ADDRESS | {"insz": INSZ_2000, "language": "DE"},
        valid_rows()["members"][0] | {"insz": "85273112348", "language": None, "street": None},
    ]
    write_landing(tmp_path, D(2026, 11, 1), {"members": rows})
    got = ingest_at(tmp_path, D(2026, 11, 20))
    quarantine = got.feeds["members"].quarantine
    assert quarantine.select("rule", "column").rows() == [("R-ENUM", "language")]
    assert {k: json.loads(quarantine["row"][0])[k] for k in OPTIONAL} == ADDRESS | {"language": "DE"}
    assert got.valid("members").select(OPTIONAL).rows() == [tuple(ADDRESS.values()), (None,) * 5]
    assert not [w for w in got.warnings if "members" in w]


def test_a_present_optional_column_of_the_wrong_type_is_an_error(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    table = with_arrow_column("members", valid_rows()["members"], "insz", pa.array([INSZ_1985]))
    table = table.append_column("postal_code", pa.array([1000], pa.int64()))
    path = write_delivery(tmp_path, "members", D(2026, 11, 1), table)
    with pytest.raises(
        FeedError, match=rf"feed members, file {path}: column postal_code has type int64, the contract says str"
    ):
        ingest_at(tmp_path, D(2026, 11, 20))


def test_files_of_one_delivery_may_differ_in_their_optional_columns(tmp_path):
    """One file with the address, one without: both read, in bulk and for one person (vsb explain)."""
    write_landing(tmp_path, D(2026, 11, 1), {"members": [valid_rows()["members"][0] | ADDRESS]})
    other = valid_rows()["members"][0] | {"insz": INSZ_2000}
    write_delivery(tmp_path, "members", D(2026, 11, 1), [other], name="part-00001.parquet")
    got = ingest_at(tmp_path, D(2026, 11, 20))
    assert got.valid("members").select("insz", "city").rows() == [(INSZ_1985, "Bruxelles"), (INSZ_2000, None)]
    for insz, city in ((INSZ_1985, "Bruxelles"), (INSZ_2000, None)):
        assert load_person(explain_context(tmp_path, D(2026, 11, 20)), insz).valid("members")["city"].to_list() == [
            city
        ]
