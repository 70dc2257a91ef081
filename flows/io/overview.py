"""Each zorgkas's overview.xlsx (docs/spec/outputs.md): its run's files as one workbook for its staff.

Written after the zorgkas's other files and before its manifest: one typed sheet per Parquet file of
its folder, in the order they were written (grants, worklist, payments, recoveries, quarantine, and
letters once written), read back from the staging folder, then the `codes` sheet in Dutch and French
(pipelines/emit/overview.py). Byte-identical for the same run: the document's date is the run date.
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath

import polars as pl

from flows.codes import load_codes
from flows.context import RunContext
from flows.io.outbox import FileLog
from pipelines.emit.overview import overview_xlsx

OVERVIEW = "overview.xlsx"


def sheets_of(files: FileLog, code: str) -> dict[str, pl.DataFrame]:
    """The zorgkas's Parquet files written so far, by sheet name (the file's stem), in the order written; the
    letters (rendered first, for every zorgkas at once) last: staff read the decisions first."""
    prefix = f"{code}/"
    names = [name for name in files.entries if name.startswith(prefix) and name.endswith(".parquet")]
    names.sort(key=lambda name: name.endswith("/letters.parquet"))  # stable: the others keep their order
    return {PurePosixPath(name).stem: pl.read_parquet(files.run.staging / name) for name in names}


def write_overview(ctx: RunContext, files: FileLog, code: str) -> None:
    """<zorgkas>/overview.xlsx, from the zorgkas's files written so far (the last of its files but the manifest)."""
    sheets = sheets_of(files, code)
    title = f"vsb-engine {ctx.kind} {ctx.run_date.isoformat()} {code}"
    headers, details = readers_words(staff_language(ctx.reference.zorgkassen, code))
    data = overview_xlsx(sheets, codes_frame(), created=ctx.run_date, title=title, headers=headers, details=details)
    files.bytes(f"{code}/{OVERVIEW}", data, sum(frame.height for frame in sheets.values()))


def staff_language(zorgkassen: pl.DataFrame, code: str) -> str:
    """The language of a zorgkas's staff (data/reference/zorgkassen.csv `language`): NL or FR, NL when absent."""
    if "language" not in zorgkassen.columns:
        return "NL"
    found = zorgkassen.filter(pl.col("code") == code)["language"].to_list()
    return (found[0] or "NL").upper() if found else "NL"


@functools.cache
def readers_words(language: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The headers of overview.xlsx and the (pattern, text) of the work list's details in `language`
    (data/reference/codes.yaml, terms `column` and `detail`)."""
    codes = load_codes()
    headers = {column: codes.term("column", column, language) for column in codes.terms["column"]}
    details = [(d["pattern"], codes.term("detail", key, language)) for key, d in codes.terms["detail"].items()]
    return headers, details


@functools.cache
def codes_frame() -> pl.DataFrame:
    """The codes and their NL and FR texts (data/reference/codes.yaml), read once per process."""
    return load_codes().frame()
