"""overview.xlsx: one zorgkas's run as an Excel workbook for its staff (docs/spec/outputs.md, "overview.xlsx").

One typed sheet per file, in the order given (grants, worklist, payments, recoveries, quarantine,
later letters), then a `codes` sheet with the title and explanation, in Dutch and French, of every
code that appears in them. Cells are typed, so that filtering and sorting in Excel work:

- text (insz among them) as text cells with the text format: never a number, leading zeros kept;
- dates as Excel dates with a date format (`DATE_FORMAT`);
- money (polars Decimal) as numbers with two decimals (`MONEY_FORMAT`); other numbers as numbers;
- booleans as Excel booleans (TRUE/FALSE, shown as WAAR/ONWAAR or VRAI/FAUX in a Dutch or French
  Excel); lists joined with "; "; nulls as empty cells.

Every sheet has a bold header row that stays in view (frozen pane) and an autofilter; column widths
follow the data (the longest value, capped at `MAX_WIDTH`). For people: the headers are the words of the
zorgkas's language (`headers`: the codes reference's `column` terms, data/reference/codes.yaml), a month
(MONTH_COLUMNS: the first day of a month) is shown as 2024-12, and the work list's `detail` is in that
language (`details`: the codes reference's `detail` terms, a pattern of the English text each); the files
themselves keep their column names and English details, and the codes sheet stays in Dutch and French.

Excel's limit: a sheet holds at most 1,048,576 rows, one of them the header. A frame longer than
`max_rows_per_sheet` (default: that limit) continues on sheets named "<name> (2)", "<name> (3)", ...,
each with the header, so that the workbook always holds the whole run ("the same content" as the
Parquet files). A go-live night of one million payment rows a zorgkas gives payments and
payments (2).

Byte-identical for the same input: the document's creation date is the `created` argument (the run
date; 2000-01-01 when not given) and every zip entry is dated 1980-01-01.

The cells are prepared column by column with polars (dates to Excel serial numbers, lists to text,
widths) and written by pipelines/emit/xlsx.py, which makes each sheet's XML with polars a slice of rows
at a time and deflates it with ISA-L: about 0.1 µs a cell where a cell-by-cell writer (XlsxWriter) takes
3.5 µs (benchmarks/emit.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from pipelines.emit.xlsx import Sheet, workbook

EXCEL_MAX_ROWS = 1_048_576  # per sheet, the header included
MAX_DATA_ROWS = EXCEL_MAX_ROWS - 1
CELL_MAX_UNITS = 32_767  # UTF-16 code units in one cell
MAX_SHEET_NAME = 31
MAX_WIDTH = 60
MIN_WIDTH = 6
LIST_SEPARATOR = "; "
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MONEY_FORMAT = "#,##0.00"
DEFAULT_CREATED = dt.datetime(2000, 1, 1)
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 is 1900-01-01 (with Excel's leap day 1900-02-29)

CODES_SHEET = "codes"
CODES_COLUMNS = {
    "code": pl.String,
    "title_nl": pl.String,
    "explanation_nl": pl.String,
    "title_fr": pl.String,
    "explanation_fr": pl.String,
}
WRAPPED = frozenset({"explanation_nl", "explanation_fr"})
# columns whose every value is a code (or a list of codes)
CODE_COLUMNS = ("code", "rule", "rules", "grounds", "reason", "fails", "holds", "kind")
# free-text columns that may name codes ("held: R-ENUM in residence_periods"): only known codes are taken
TEXT_COLUMNS = ("detail", "subject")
# columns that hold a month (its first day): shown as yyyy-mm
MONTH_COLUMNS = ("first_month", "last_month", "month")
CODE_PATTERN = r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b"


def overview_xlsx(
    sheets: Mapping[str, pl.DataFrame],
    codes: pl.DataFrame,
    *,
    created: dt.date | dt.datetime | None = None,
    title: str | None = None,
    max_rows_per_sheet: int = MAX_DATA_ROWS,
    code_columns: Iterable[str] = CODE_COLUMNS,
    text_columns: Iterable[str] = TEXT_COLUMNS,
    headers: Mapping[str, str] | None = None,
    details: Sequence[tuple[str, str]] = (),
    month_columns: Iterable[str] = MONTH_COLUMNS,
) -> bytes:
    """The workbook's bytes: a typed sheet per frame of `sheets` (sheet name -> frame, in that
    order), then the `codes` sheet explaining every code found in them.

    `codes`: one row per known code with CODES_COLUMNS (code, title_nl, explanation_nl, title_fr,
    explanation_fr); extra columns are ignored. A code that appears but is not in `codes` is listed
    with empty texts, so a missing text shows. `created` (the run date) is the document's creation
    date: the same input gives the same bytes. `headers` (column name -> header shown) and `details`
    ((regular expression, replacement) pairs, the first that matches a `detail` wins) put the sheets in
    the reader's language; `month_columns` are shown as yyyy-mm.
    """
    if not 1 <= max_rows_per_sheet <= MAX_DATA_ROWS:
        raise ValueError(f"max_rows_per_sheet must be 1..{MAX_DATA_ROWS}, not {max_rows_per_sheet}")
    if CODES_SHEET in sheets:
        raise ValueError(f"the sheet name {CODES_SHEET!r} is kept for the codes")
    names = sheet_names(sheets, max_rows_per_sheet)
    explained = codes_sheet(sheets, codes, code_columns, text_columns)
    headers, months = dict(headers or {}), set(month_columns)
    shown_months = frozenset(headers.get(c, c) for c in months)
    parts = [
        typed_sheet(part, readable(frame.slice(start, length), headers, details), months=shown_months)
        for name, frame in sheets.items()
        for part, (start, length) in zip(names[name], _chunks(frame.height, max_rows_per_sheet), strict=True)
    ]
    wrapped = frozenset(headers.get(c, c) for c in WRAPPED)
    parts.append(typed_sheet(CODES_SHEET, readable(explained, headers), wrapped))
    return workbook(parts, title or "vsb-engine overview", _created(created))


def typed_sheet(
    name: str, frame: pl.DataFrame, wrap: frozenset[str] = frozenset(), months: frozenset[str] = frozenset()
) -> Sheet:
    """A frame as a sheet: its cell values, their kinds and the column widths; the date columns `months` as months."""
    cells, kinds = cell_columns(frame)
    kinds = {n: "month" if k == "date" and n in months else k for n, k in kinds.items()}
    return Sheet(name, cells, kinds, column_widths(cells, kinds), wrap)


def readable(
    frame: pl.DataFrame,
    headers: Mapping[str, str],
    details: Sequence[tuple[str, str]] = (),
) -> pl.DataFrame:
    """The frame for people: `detail` in the reader's language (`details`: the first (pattern, replacement) whose
    pattern matches; an unknown text stays) and the headers of `headers` (a column without one keeps its name)."""
    if details and "detail" in frame.columns and frame.schema["detail"] == pl.String:
        text = pl.col("detail")
        translated = pl.lit(None, pl.String)
        for pattern, replacement in reversed(details):
            translated = (
                pl.when(text.str.contains(pattern)).then(text.str.replace(pattern, replacement)).otherwise(translated)
            )
        frame = frame.with_columns(pl.coalesce(translated, text).alias("detail"))
    return frame.rename({c: headers[c] for c in frame.columns if c in headers and headers[c] not in frame.columns})


def sheet_names(sheets: Mapping[str, pl.DataFrame], max_rows_per_sheet: int = MAX_DATA_ROWS) -> dict[str, list[str]]:
    """The Excel sheets of each frame: its name, then "<name> (2)", ... when it is longer than a sheet holds."""
    names = {}
    for name, frame in sheets.items():
        parts = len(_chunks(frame.height, max_rows_per_sheet))
        names[name] = [name] + [f"{name} ({i})" for i in range(2, parts + 1)]
        for part in names[name]:
            if len(part) > MAX_SHEET_NAME or re.search(r"[\[\]:*?/\\]", part) or not part.strip():
                raise ValueError(f"{part!r} is not a valid Excel sheet name (31 characters, none of []:*?/\\)")
    return names


def codes_in(
    sheets: Mapping[str, pl.DataFrame],
    known: Iterable[str] = (),
    code_columns: Iterable[str] = CODE_COLUMNS,
    text_columns: Iterable[str] = TEXT_COLUMNS,
) -> pl.DataFrame:
    """The codes that appear in the sheets: code, sheets (the sheet names it appears in, in sheet order).

    Every value of a code column (CODE_COLUMNS: code, rule, rules, grounds, reason, fails, holds,
    kind) counts; in a text column (detail, subject) only the words that are `known` codes."""
    code_columns, text_columns = set(code_columns), set(text_columns)
    known = pl.Series("code", sorted(set(known)), dtype=pl.String)
    found = []
    for order, (name, frame) in enumerate(sheets.items()):
        for column, dtype in frame.schema.items():
            if column in code_columns:
                values = frame.get_column(column)
                if isinstance(dtype, pl.List):
                    values = values.explode()
                values = values.cast(pl.String).drop_nulls().unique()
            elif column in text_columns and dtype == pl.String:
                values = frame.get_column(column).str.extract_all(CODE_PATTERN).explode().drop_nulls().unique()
                values = values.filter(values.is_in(known.implode()))
            else:
                continue
            found.append(values.cast(pl.String).to_frame("code").with_columns(sheet=pl.lit(name), order=pl.lit(order)))
    if not found:
        return pl.DataFrame(schema={"code": pl.String, "sheets": pl.List(pl.String)})
    return (
        pl.concat(found)
        .filter(pl.col("code") != "")
        .unique(["code", "sheet"])
        .sort("code", "order")
        .group_by("code", maintain_order=True)
        .agg(pl.col("sheet").alias("sheets"))
    )


def codes_sheet(
    sheets: Mapping[str, pl.DataFrame],
    codes: pl.DataFrame,
    code_columns: Iterable[str] = CODE_COLUMNS,
    text_columns: Iterable[str] = TEXT_COLUMNS,
) -> pl.DataFrame:
    """The `codes` sheet: CODES_COLUMNS and `sheets` for every code that appears, sorted by code;
    the texts are null for a code `codes` does not know."""
    missing = [c for c in CODES_COLUMNS if c not in codes.columns]
    if missing:
        raise ValueError(f"codes frame lacks {', '.join(missing)}")
    texts = codes.select([pl.col(c).cast(t) for c, t in CODES_COLUMNS.items()]).unique("code", keep="first")
    present = codes_in(sheets, texts["code"], code_columns, text_columns)
    return present.join(texts, on="code", how="left", maintain_order="left").select(*CODES_COLUMNS, "sheets")


def cell_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """The frame as cell values (text, integer serial dates, float serial datetimes, decimal money, ints,
    floats, booleans) and the kind of each column: text, date, datetime, money, integer, number or boolean
    (pipelines/emit/xlsx.py KINDS)."""
    exprs, kinds = [], {}
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            kinds[name] = "date"
            exprs.append((column - pl.lit(EXCEL_EPOCH)).dt.total_days().cast(pl.Int64))
        elif isinstance(dtype, pl.Datetime):
            kinds[name] = "datetime"
            naive = column.dt.replace_time_zone(None) if dtype.time_zone else column
            since = naive - pl.lit(dt.datetime.combine(EXCEL_EPOCH, dt.time()))
            exprs.append(since.dt.total_microseconds().cast(pl.Float64) / 86_400_000_000)
        elif isinstance(dtype, pl.Decimal):
            kinds[name] = "money"
            exprs.append(column)  # written exactly as its digits
        elif dtype.is_integer():
            kinds[name] = "integer"
            exprs.append(column.cast(pl.Int64))
        elif dtype.is_float():
            kinds[name] = "number"
            exprs.append(column.cast(pl.Float64))
        elif dtype == pl.Boolean:
            kinds[name] = "boolean"
            exprs.append(column)
        elif isinstance(dtype, pl.List | pl.Array):
            kinds[name] = "text"
            exprs.append(column.cast(pl.List(pl.String)).list.join(LIST_SEPARATOR))
        elif isinstance(dtype, pl.Struct):
            kinds[name] = "text"
            exprs.append(column.struct.json_encode())
        else:
            kinds[name] = "text"
            exprs.append(column.cast(pl.String))
    cells = frame.select([e.alias(n) for e, n in zip(exprs, kinds, strict=True)])
    texts = [n for n, k in kinds.items() if k == "text"]
    if texts and cells.height:  # an empty text (an empty list) is an empty cell, as a null
        cells = cells.with_columns(pl.col(texts).replace("", None))
    if texts and cells.height:
        cells = cells.with_columns([_fits_a_cell(cells.get_column(n)) for n in texts])
    return cells, kinds


def _fits_a_cell(values: pl.Series) -> pl.Series:
    """Text cut to what one cell holds (32,767 UTF-16 units), ending in "…" where cut. Only strings
    over half the limit can exceed it: those few are measured in Python."""
    long = values.str.len_chars() > CELL_MAX_UNITS // 2
    if not long.any():
        return values
    cut = [_utf16_cut(v) for v in values.filter(long).to_list()]
    return values.scatter(long.arg_true(), cut)


def _utf16_cut(value: str) -> str:
    if len(value.encode("utf-16-le")) // 2 <= CELL_MAX_UNITS:
        return value
    kept = value.encode("utf-16-le")[: (CELL_MAX_UNITS - 1) * 2].decode("utf-16-le", errors="ignore")
    return kept + "…"


def column_widths(cells: pl.DataFrame, kinds: dict[str, str]) -> dict[str, float]:
    """Column widths in characters: the header or the longest shown value, plus a margin, within
    MIN_WIDTH..MAX_WIDTH."""
    fixed = {"date": 10, "datetime": 19, "boolean": 6, "month": 7}
    lengths = {}
    for name, kind in kinds.items():
        if kind in fixed:
            lengths[name] = fixed[kind]
    measured = [n for n in kinds if n not in lengths]
    if measured and cells.height:
        texts = [n for n in measured if kinds[n] == "text"]
        found = cells.select(pl.col(texts).str.contains("\n", literal=True).any()).row(0, named=True) if texts else {}
        lines = {n for n, multiline in found.items() if multiline}
        longest = cells.select(
            [
                _shown_length(pl.col(n), kinds[n], n in lines).max().fill_null(0).alias(n)  # all null: no width
                for n in measured
            ]
        ).row(0, named=True)
        lengths.update(longest)
    return {n: float(min(MAX_WIDTH, max(MIN_WIDTH, len(n) + 3, lengths.get(n, 0) + 2))) for n in kinds}


def _shown_length(column: pl.Expr, kind: str, multiline: bool = False) -> pl.Expr:
    if kind == "text" and multiline:
        # the longest line of a value: explanations wrap at their newlines
        return column.str.split("\n").list.eval(pl.element().str.len_chars()).list.max()
    if kind == "text":
        return column.str.len_chars()
    if kind == "money":
        digits = column.cast(pl.Float64).abs().floor().cast(pl.Int64).cast(pl.String).str.len_chars()
        return digits + (digits - 1) // 3 + 3 + (column < 0).cast(pl.Int64)  # thousands separators, ".00", sign
    return column.cast(pl.String).str.len_chars()


def _chunks(height: int, size: int) -> list[tuple[int, int]]:
    if height == 0:
        return [(0, 0)]
    return [(start, min(size, height - start)) for start in range(0, height, size)]


def _created(created: dt.date | dt.datetime | None) -> dt.datetime:
    if created is None:
        return DEFAULT_CREATED
    if isinstance(created, dt.datetime):
        return created.replace(tzinfo=None)
    return dt.datetime.combine(created, dt.time())
