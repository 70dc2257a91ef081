"""The shape of the files a run writes: per-zorgkas slices, CSV text, a canonical memory layout (pure)."""

from __future__ import annotations

import polars as pl

from schemas.outputs import MemberQuarantine, columns


def zorgkas_slices(frame: pl.DataFrame, codes: list[str]) -> dict[str, pl.DataFrame]:
    """The rows of each zorgkas (every code present, possibly empty): never another's members.

    A frame sorted by zorgkas (without nulls) is cut into zero-copy slices, in their order: the
    payments of a go-live night are 6.5M rows, not to be copied once more."""
    zorgkas = frame["zorgkas"]
    if zorgkas.null_count() == 0 and zorgkas.is_sorted():
        cuts = pl.Series(codes, dtype=pl.String)
        starts = zorgkas.search_sorted(cuts, side="left").to_list()
        ends = zorgkas.search_sorted(cuts, side="right").to_list()
        return {code: frame.slice(start, end - start) for code, start, end in zip(codes, starts, ends, strict=True)}
    return {code: frame.filter(pl.col("zorgkas") == code) for code in codes}


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the text a CSV for machines holds (docs/spec/outputs.md: UTF-8, ISO dates, money as a plain
    123.45): lists ';'-joined, decimals and dates as text. Dates go through their few distinct values,
    which is far faster than the CSV writer's own formatting of millions of rows."""
    text = []
    for column, dtype in frame.schema.items():
        if dtype == pl.Date:
            days = frame[column].unique()
            text.append(pl.col(column).replace_strict(days, days.cast(pl.String), return_dtype=pl.String))
        elif isinstance(dtype, pl.Decimal):
            text.append(pl.col(column).cast(pl.String))
        elif isinstance(dtype, pl.List):
            text.append(pl.col(column).cast(pl.List(pl.String)).list.join(";"))
    return frame.with_columns(text)


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """The same rows in the same memory layout, however they were assembled (computed, or read back from
    the ledger): Parquet page splits follow the buffers, and a rerun must give byte-identical files."""
    lists = [pl.col(c).list.eval(pl.element()) for c, t in frame.schema.items() if isinstance(t, pl.List)]
    return frame.with_columns(lists).rechunk()


def with_titles(worklist: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """The work list with each code's title in Dutch and French (`codes`: code, title_nl, title_fr), in the
    same row order; a code without a title fails (codes.yaml holds every W- code: tests/reference/test_codes.py)."""
    return worklist.with_columns(
        pl.col("code").replace_strict(codes["code"], codes[title], return_dtype=pl.String).alias(title)
        for title in ("title_nl", "title_fr")
    )


def member_quarantine(quarantines: dict[str, pl.DataFrame], zorgkas_of: pl.DataFrame) -> pl.DataFrame:
    """The quarantined rows of the members of a zorgkas (docs/spec/outputs.md, quarantine.parquet per zorgkas): zorgkas,
    insz (read from the row's JSON) and the quarantine columns, sorted by zorgkas, insz, feed, file and row.

    `zorgkas_of` (insz, zorgkas): who belongs where (the nightly run: its W-HELD rows). A row whose insz is
    no one's there (an invalid insz, a person unknown to every zorgkas) stays only in quarantine/<feed>.parquet.
    """
    mapping = zorgkas_of.select("insz", "zorgkas").unique("insz", keep="first")
    rows = [
        frame.with_columns(pl.col("row").str.json_path_match("$.insz").alias("insz")).join(mapping, on="insz")
        for frame in quarantines.values()
    ]
    if not rows:
        return pl.DataFrame(schema={"zorgkas": pl.String, **columns(MemberQuarantine)})
    found = pl.concat(rows, how="vertical_relaxed")
    order = ["zorgkas", "insz", "feed", "source_file", "row_number"]
    return found.select("zorgkas", "insz", *(c for c in found.columns if c not in ("zorgkas", "insz"))).sort(order)
