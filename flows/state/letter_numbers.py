"""The letter numbers a run used: the next run of the same letter date numbers its letters after them.

docs/spec/outputs.md, letters.parquet: a letter id ("<date>-<zorgkas>-<DEC|REC|REQ>-<n>",
pipelines/emit/letters/content.py `letter_ids`) names one letter. A `--replace` version of a date
(`2026-11-26.v2`) writes letters of the same date: its numbers start after the highest number the
earlier versions of that date used, per zorgkas and kind (`letter_offsets`), so that
`20261126-ZK400-DEC-0000004` is never a letter to one member in the folder and to another in its
`--replace` version. A first run of a date finds no earlier number: its ids are those of
`letter_ids` unchanged. The run's own rows are left out (a rerun of the same run key gives the same
ids); the rows are written in the transaction that commits the run and removed with it by
`vsb withdraw`. Invoice letters are numbered by their invoice's reference base (unique for ever):
not kept here.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from flows.state.ledger import frame_of
from flows.state.queries import query

OFFSET_COLUMNS = {"zorgkas": pl.String, "kind": pl.String, "offset": pl.Int64}


def letter_offsets(con: duckdb.DuckDBPyConnection, run_key: str, letter_date: dt.date) -> pl.DataFrame:
    """Per zorgkas and kind, the highest letter number that other runs of `letter_date` used (OFFSET_COLUMNS)."""
    return frame_of(con, query("letter_offsets"), {"letter_date": letter_date, "run_key": run_key}, OFFSET_COLUMNS)


def used_numbers(manifest: dict, offsets: pl.DataFrame) -> pl.DataFrame:
    """zorgkas, kind, last_number of a night: its offset plus its letters of that kind (the run manifest's counts:
    the numbers of one zorgkas and kind are 1..count, moved by the offset)."""
    counts = [
        (code, kind, n)
        for code, entry in manifest.get("zorgkassen", {}).items()
        for kind, n in entry.get("totals", {}).get("letters", {}).get("by_kind", {}).items()
        if n
    ]
    frame = pl.DataFrame(counts, schema={"zorgkas": pl.String, "kind": pl.String, "count": pl.Int64}, orient="row")
    return (
        frame.join(offsets, on=["zorgkas", "kind"], how="left")
        .select("zorgkas", "kind", (pl.col("offset").fill_null(0) + pl.col("count")).alias("last_number"))
        .sort("zorgkas", "kind")
    )


def record_letter_numbers(
    con: duckdb.DuckDBPyConnection, run_key: str, letter_date: dt.date, numbers: pl.DataFrame
) -> None:
    """The numbers the run used (zorgkas, kind, last_number), inside the transaction that commits it."""
    rows = numbers.select(
        pl.lit(run_key).alias("run_key"), pl.lit(letter_date).alias("letter_date"), "zorgkas", "kind", "last_number"
    )
    con.execute("DELETE FROM letter_numbers WHERE run_key = ?", [run_key])
    con.register("new_letter_numbers", rows.to_arrow())
    try:
        con.execute("INSERT INTO letter_numbers SELECT * FROM new_letter_numbers")
    finally:
        con.unregister("new_letter_numbers")
