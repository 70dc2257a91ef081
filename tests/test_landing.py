"""Landing reader and feed-level checks (feeds.md): delivery choice, schema errors, shrink, counts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from builders import INSZ_2000, frame, valid_rows, write_delivery, write_landing

from flows.ingest import ingest
from flows.landing import FeedError
from flows.reference import load_reference

D = dt.date
REF = load_reference()


def test_newest_delivery_on_or_before_the_run_date(tmp_path):
    write_landing(tmp_path, D(2026, 10, 1))
    write_landing(tmp_path, D(2026, 11, 1), {"belrai_screeners": valid_rows()["belrai_screeners"] * 0})
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 21), valid_rows()["belrai_screeners"])
    got = ingest(tmp_path, D(2026, 11, 20), REF, accept_shrink={"belrai_screeners"})
    assert got.deliveries["belrai_screeners"].delivery_date == D(2026, 11, 1)
    assert got.valid("belrai_screeners").height == 0
    assert ingest(tmp_path, D(2026, 10, 31), REF).deliveries["members"].delivery_date == D(2026, 10, 1)


def test_no_delivery_names_every_missing_feed(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    with pytest.raises(FeedError, match=r"feed members: no delivery on or before 2026-10-31.*feed vaph_support"):
        ingest(tmp_path, D(2026, 10, 31), REF)


def test_missing_column_names_feed_file_and_column(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    path = write_delivery(
        tmp_path,
        "medsoc_scales",
        D(2026, 11, 1),
        frame("medsoc_scales", valid_rows()["medsoc_scales"]).drop("pillar_2"),
    )
    with pytest.raises(FeedError, match=rf"feed medsoc_scales, file {path}: missing column pillar_2"):
        ingest(tmp_path, D(2026, 11, 20), REF)


def test_wrong_type_names_feed_file_and_column(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    bad = frame("premium_payments", valid_rows()["premium_payments"]).with_columns(pl.col("amount_due").cast(pl.String))
    path = write_delivery(tmp_path, "premium_payments", D(2026, 11, 1), bad)
    with pytest.raises(
        FeedError,
        match=rf"feed premium_payments, file {path}: column amount_due has type large_string, "
        "the contract says float",
    ):
        ingest(tmp_path, D(2026, 11, 20), REF)


def test_unreadable_file_names_feed_and_file(tmp_path):
    write_landing(tmp_path, D(2026, 11, 1))
    broken = tmp_path / "vaph_support" / "delivery_date=2026-11-01" / "part-00001.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(FeedError, match=rf"feed vaph_support, file {broken}: unreadable Parquet file"):
        ingest(tmp_path, D(2026, 11, 20), REF)


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
    got = ingest(tmp_path, D(2026, 11, 20), REF)
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
        ingest(tmp_path, D(2026, 11, 20), REF)


def test_accept_shrink_lets_the_run_go_on_with_a_warning(tmp_path):
    _shrinking_landing(tmp_path)
    got = ingest(tmp_path, D(2026, 11, 20), REF, accept_shrink={"residence_periods"})
    assert got.valid("residence_periods").height == 8
    assert any("accepted with --accept-shrink" in w for w in got.warnings)
    with pytest.raises(FeedError, match="--accept-shrink names no feed: residence"):
        ingest(tmp_path, D(2026, 11, 20), REF, accept_shrink={"residence"})


def test_exactly_min_rows_ratio_passes(tmp_path):
    rows = valid_rows()["increased_allowance"]
    write_landing(tmp_path, D(2026, 10, 1), {"increased_allowance": rows * 10})
    write_landing(tmp_path, D(2026, 11, 1), {"increased_allowance": rows * 9})
    assert ingest(tmp_path, D(2026, 11, 20), REF).valid("increased_allowance").height == 9


def test_rows_of_non_members_are_counted_not_errors(tmp_path):
    other = valid_rows()["increased_allowance"][0] | {"insz": INSZ_2000}
    write_landing(tmp_path, D(2026, 11, 1), {"increased_allowance": [valid_rows()["increased_allowance"][0], other]})
    got = ingest(tmp_path, D(2026, 11, 20), REF)
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
    whole = ingest(tmp_path, D(2026, 11, 20), REF)
    kept = []

    def only_members(members):
        def rows_of_members(rows):
            kept.append(rows.height)
            return rows.join(members.select("insz"), on="insz", how="semi")

        return rows_of_members

    narrowed = ingest(tmp_path, D(2026, 11, 20), REF, narrow={"premium_payments": only_members})
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
    got = ingest(tmp_path, D(2026, 11, 20), REF)
    assert got.feeds["belrai_screeners"].quarantine["row_number"].to_list() == [1, 1]
    assert got.valid("belrai_screeners")["assessment_id"].to_list() == ["BR9"]


def test_r_duplicate_across_the_files_of_one_delivery(tmp_path):
    """R-DUPLICATE is judged over the whole delivery, though each file is staged on its own."""
    write_landing(tmp_path, D(2026, 11, 1))
    rows = valid_rows()["belrai_screeners"]
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 1), rows + [rows[0] | {"assessment_id": "BR9"}])
    write_delivery(tmp_path, "belrai_screeners", D(2026, 11, 1), rows, name="part-00001.parquet")
    got = ingest(tmp_path, D(2026, 11, 20), REF)
    quarantine = got.feeds["belrai_screeners"].quarantine
    assert quarantine.select("source_file", "row_number", "rule").rows() == [
        ("belrai_screeners/delivery_date=2026-11-01/part-00000.parquet", 1, "R-DUPLICATE"),
        ("belrai_screeners/delivery_date=2026-11-01/part-00001.parquet", 1, "R-DUPLICATE"),
    ]
    assert got.valid("belrai_screeners")["assessment_id"].to_list() == ["BR9"]
