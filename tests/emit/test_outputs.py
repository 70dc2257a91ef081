"""Per-zorgkas slices of a run's frames (flows/io/outbox.py): each zorgkas gets its own rows and no other's."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.emit.files import zorgkas_slices

CODES = ["ZK100", "ZK200", "ZK300"]


@pytest.mark.parametrize("ordered", [True, False], ids=["sorted: zero-copy slices", "unsorted: filtered"])
def test_each_zorgkas_gets_exactly_its_own_rows_in_their_order(ordered):
    rows = pl.DataFrame({"zorgkas": ["ZK300", "ZK100", "ZK300", "ZK100", "ZK900"], "n": [1, 2, 3, 4, 5]})
    frame = rows.sort("zorgkas", "n") if ordered else rows
    slices = zorgkas_slices(frame, CODES)
    assert list(slices) == CODES
    assert slices["ZK100"]["n"].to_list() == [2, 4]
    assert slices["ZK200"].height == 0 and slices["ZK200"].schema == frame.schema
    assert slices["ZK300"]["n"].to_list() == [1, 3]
    for code, part in slices.items():
        assert (part["zorgkas"] == code).all()


def test_a_sorted_frame_with_a_null_zorgkas_is_filtered_not_sliced():
    frame = pl.DataFrame({"zorgkas": [None, "ZK100", "ZK200"], "n": [1, 2, 3]}, schema_overrides={"zorgkas": pl.String})
    slices = zorgkas_slices(frame, CODES)
    assert slices["ZK100"]["n"].to_list() == [2] and slices["ZK200"]["n"].to_list() == [3]
    assert sum(part.height for part in slices.values()) == 2
