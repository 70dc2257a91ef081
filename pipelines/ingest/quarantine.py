"""Row rules of docs/spec/feeds.md as vectorised flags, and the split into valid and quarantined rows.

Each rule code has one function that gives its checks for a feed: a list of
`(rule, column, broken)` where `broken` is a boolean Polars expression, never null. The
checks are derived from the feed's pandera model (nullability, codes, ranges, keys) and
its `FeedContract` (R-ID, R-DATES, R-REQUIRED), so the model stays the single contract.

A broken row is quarantined once, with the first rule it breaks in docs/spec/feeds.md order (and
that rule's column, the first in the feed's column order) and the list of every rule it
breaks; the valid rows go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from pipelines.ingest.insz import insz_number, r_id_valid
from pipelines.ingest.references import r_reference
from pipelines.params import Params
from schemas.feeds import FeedContract

RULE_ORDER = ("R-ID", "R-NULL", "R-ENUM", "R-DATES", "R-RANGE", "R-REQUIRED", "R-REFERENCE", "R-DUPLICATE")
EARLIEST_DATE = dt.date(1900, 1, 1)
SOURCE_FILE = "source_file"
DUPLICATE = "_duplicate"
REFERENCE = "_reference"
INSZ_NUMBER = "_insz_number"
ROW_NUMBER = "row_number"


@dataclass(frozen=True)
class Check:
    rule: str
    column: str
    broken: pl.Expr


def _checks_of(contract: FeedContract, kind: str) -> dict[str, dict]:
    """column -> statistics of its pandera check named `kind` (isin, ge, le)."""
    found = {}
    for name, column in contract.schema.columns.items():
        for check in column.checks:
            if check.name == kind:
                found[name] = check.statistics
    return found


def r_id(contract: FeedContract, run_year: int) -> list[Check]:
    """The quarantine check of `r_id_valid` on the insz column: present but not a valid national or BIS number."""
    return [
        Check("R-ID", name, (~r_id_valid(pl.col(name), run_year, pl.col(INSZ_NUMBER))).fill_null(False))
        for name in contract.columns
        if name == "insz"
    ]


def r_null(contract: FeedContract) -> list[Check]:
    """R-NULL: a non-nullable column is null."""
    return [Check("R-NULL", name, pl.col(name).is_null()) for name in contract.columns if name not in contract.nullable]


def r_enum(contract: FeedContract, reference_codes: dict[str, list[str]]) -> list[Check]:
    """R-ENUM: a value outside the listed codes (the model's isin, or a reference list)."""
    allowed = {name: stats["allowed_values"] for name, stats in _checks_of(contract, "isin").items()}
    for name, reference in contract.reference_codes.items():
        if reference not in reference_codes:
            raise KeyError(f"feed {contract.name}: reference list {reference!r} not given")
        allowed[name] = reference_codes[reference]
    return [
        Check("R-ENUM", name, pl.col(name).is_not_null() & ~pl.col(name).is_in(allowed[name]))
        for name in contract.columns
        if name in allowed
    ]


def r_dates(contract: FeedContract, delivery_date: dt.date) -> list[Check]:
    """R-DATES: a date before 1900-01-01, a past event after the delivery date, an end before its start, a month
    (`FeedContract.month_starts`: case_decisions first_month, last_month) not on the first day of a month.

    The end-before-start check is reported on the end column (death_date for a death before
    the birth date, valid_until for a screener valid until before it was made).
    """
    checks = []
    starts_of = {}
    for start, end in contract.end_after_start:
        starts_of.setdefault(end, []).append(start)
    for name, dtype in contract.columns.items():
        if dtype != pl.Date:
            continue
        col = pl.col(name)
        broken = col < EARLIEST_DATE
        if name in contract.past_events:
            broken = broken | (col > delivery_date)
        for start in starts_of.get(name, []):
            broken = broken | (col < pl.col(start))
        if name in contract.month_starts:
            broken = broken | (col.dt.day() != 1)
        checks.append(Check("R-DATES", name, broken.fill_null(False)))
    return checks


def non_finite(column: str) -> pl.Expr:
    """NaN, +infinity or -infinity in a float column (False for a number or null): part of `r_range`."""
    return ~pl.col(column).is_finite().fill_null(True)


def float_columns(contract: FeedContract) -> list[str]:
    """Every Float64 column of the feed, in its column order: the columns R-RANGE checks for a finite number."""
    return [name for name, dtype in contract.columns.items() if dtype == pl.Float64]


def range_maxima(contract: FeedContract, p: Params) -> dict[str, float]:
    """The maxima of the feed's columns bounded by a parameter (`FeedContract.parameter_maxima`), as read on the
    run date: column -> maximum (belrai_total_max, ztk_pillar_1_max..3, max_amount)."""
    return {column: float(getattr(p, name)) for column, name in contract.parameter_maxima.items()}


def r_range(contract: FeedContract, maxima: Mapping[str, float]) -> list[Check]:
    """R-RANGE: a number that is not finite (NaN, +infinity, -infinity) in any float column; a negative score,
    pillar, amount or absence_days; absence_days over 366; a medical-social scale score over 18 for IT, THAB
    or ZBO; a BelRAI score over belrai_total_max, a ZTK pillar over its ztk_pillar_N_max, an amount over
    max_amount (docs/spec/feeds.md, Row rules). `maxima`: column -> maximum (`range_maxima`), every column of
    the contract's `parameter_maxima` (a missing one is an error: no score goes unbounded).

    Finiteness is derived from the column types (`float_columns`), not from the model's checks: a float
    column added to a feed is checked without a line here. It is tested beside the bounds, so a NaN
    (greater than every number in Polars and DuckDB) never meets a comparison alone. The bounds come from
    the model (ge, le); the maximum that holds for some kinds only from `FeedContract.kind_maxima`.
    """
    low = _checks_of(contract, "greater_than_or_equal_to")
    high = _checks_of(contract, "less_than_or_equal_to")
    unbounded = sorted(set(contract.parameter_maxima) - set(maxima))
    if unbounded:
        raise KeyError(f"feed {contract.name}: no maximum given for {', '.join(unbounded)} (R-RANGE)")
    floats = set(float_columns(contract))
    checks = []
    for name in contract.columns:
        col = pl.col(name)
        broken = [non_finite(name)] if name in floats else []
        if name in low:
            broken.append(col < low[name]["min_value"])
        if name in high:
            broken.append(col > high[name]["max_value"])
        if name in contract.parameter_maxima:
            broken.append(col > maxima[name])
        for limit in contract.kind_maxima:
            if limit.column == name:
                broken.append(pl.col(limit.kind_column).is_in(list(limit.kinds)) & (col > limit.max_value))
        if broken:
            checks.append(Check("R-RANGE", name, pl.any_horizontal(broken).fill_null(False)))
    return checks


def r_required(contract: FeedContract) -> list[Check]:
    """R-REQUIRED: a column the row's kind requires is null; columns required together, one alone."""
    checks = []
    for req in contract.required:
        for name in req.columns:
            if req.together:
                others = [pl.col(o).is_not_null() for o in req.columns if o != name]
                broken = pl.col(name).is_null() & pl.any_horizontal(others)
            else:
                broken = pl.col(req.kind_column).is_in(list(req.kinds)).fill_null(False) & pl.col(name).is_null()
            checks.append(Check("R-REQUIRED", name, broken))
    return checks


def reference_checks(contract: FeedContract) -> list[Check]:
    """The quarantine check of `pipelines/ingest/references.py` r_reference (a feed with `references`): the flag
    `_reference` is computed on the whole delivery by `split_rows`, from the rows that pass the other rules."""
    return [Check("R-REFERENCE", "refers_to", pl.col(REFERENCE))] if contract.references else []


def r_duplicate(contract: FeedContract) -> list[Check]:
    """R-DUPLICATE: a unique key occurs more than once: every row with that key, not just the later ones.

    The flag itself is computed on the whole frame by `with_duplicate_flag` (a column `_duplicate`).
    """
    if not contract.key:
        return []
    return [Check("R-DUPLICATE", ",".join(contract.key), pl.col(DUPLICATE))]


def key_hash(key: tuple[str, ...]) -> pl.Expr:
    """A 64-bit hash of the key (`_hash`), null when a key column is null (such a row is no duplicate)."""
    complete = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
    return pl.when(complete).then(pl.struct(list(key)).hash(seed=0)).alias("_hash")


def repeated_hashes(hashes: pl.Series) -> pl.Series:
    """The positions (UInt32) whose hash occurs more than once: the candidates of R-DUPLICATE.

    By sorting the hashes alone (a sort beats a hash table by three on 18M rows on two cores, and
    holds only the 8-byte hashes), then finding the few repeated values among all positions.
    """
    ordered = hashes.drop_nulls().sort()
    repeated = ordered.filter(ordered == ordered.shift(1)).unique()
    if repeated.len() == 0:
        return pl.Series("_row", [], dtype=pl.UInt32)
    return hashes.is_in(repeated.implode()).fill_null(False).arg_true().cast(pl.UInt32).alias("_row")


def exact_duplicates(candidates: pl.DataFrame, key: tuple[str, ...]) -> pl.Series:
    """Of the candidate rows (their key columns and position `_row`), the positions whose key itself
    repeats, sorted: a hash collision never quarantines a row."""
    return candidates.filter(pl.struct(list(key)).is_duplicated())["_row"].sort()


def duplicate_rows(keys: pl.DataFrame, key: tuple[str, ...]) -> pl.Series:
    """The positions (UInt32) of the rows of `keys` whose key (`r_duplicate`), all columns non-null,
    occurs more than once. (A large delivery is hashed file by file instead: flows/ingest.py.)"""
    candidates = repeated_hashes(keys.select(key_hash(key))["_hash"])
    return exact_duplicates(keys.select(list(key))[candidates].with_columns(candidates), key)


def with_duplicate_flag(frame: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """Adds `_duplicate`: True at the given row positions."""
    flag = pl.Series(DUPLICATE, [False], dtype=pl.Boolean).new_from_index(0, frame.height)
    return frame.with_columns(flag.scatter(rows, True) if rows.len() else flag)


def row_checks(
    contract: FeedContract,
    delivery_date: dt.date,
    run_year: int,
    reference_codes: dict[str, list[str]],
    maxima: Mapping[str, float],
) -> list[Check]:
    """Every row check of the feed, in docs/spec/feeds.md rule order, then the feed's column order (`maxima`:
    `range_maxima` of the parameters on the run date)."""
    return [
        *r_id(contract, run_year),
        *r_null(contract),
        *r_enum(contract, reference_codes),
        *r_dates(contract, delivery_date),
        *r_range(contract, maxima),
        *r_required(contract),
        *reference_checks(contract),
        *r_duplicate(contract),
    ]


def split_rows(
    frame: pl.DataFrame,
    contract: FeedContract,
    checks: list[Check],
    duplicates: pl.Series | None = None,
    absent: Sequence[str] = (),
    valid_columns: Sequence[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The valid rows (the contract's columns) and the quarantine rows.

    The quarantine has one row per broken source row: feed, delivery_date (added by the
    caller), source_file, row_number, rule, column, rules (all broken, docs/spec/feeds.md order) and
    row (the original row as JSON). `duplicates`: the positions in `frame` of rows whose key
    repeats in the whole delivery (computed here when not given, for a frame that is the
    whole delivery). `absent`: optional columns the delivery lacks (null in `frame`): added to the valid
    rows after the split, so that their nulls are not copied row by row, and left out of the JSON.
    `valid_columns`: only these of the contract's columns in the valid rows (a caller that only counts them: the
    valid rows of a large feed are not copied whole); default all.
    """
    if contract.key:
        if duplicates is None:
            duplicates = duplicate_rows(frame.select(list(contract.key)), contract.key)
        frame = with_duplicate_flag(frame, duplicates)
    if "insz" in contract.columns:
        frame = frame.with_columns(insz_number(pl.col("insz")).alias(INSZ_NUMBER))
    if contract.references:  # R-REFERENCE reads which rows pass every other rule: `frame` is the whole delivery
        others = pl.any_horizontal([c.broken for c in checks if c.rule != "R-REFERENCE"] or [pl.lit(False)])
        frame = frame.with_columns((~others).alias("_passes"))
        frame = frame.with_columns(r_reference(frame, contract.references).alias(REFERENCE)).drop("_passes")
    # A row breaks a rule where a check is True (a null check counts as not broken, as `when` reads it). Over every
    # row only one boolean (any check broken); the first broken check is found on the few broken rows alone.
    broken = frame.select(pl.any_horizontal([c.broken.fill_null(False) for c in checks] or [pl.lit(False)]))
    broken = broken.to_series()
    delivered = [c for c in contract.columns if c not in absent]
    wanted = list(contract.columns) if valid_columns is None else [c for c in contract.columns if c in valid_columns]
    valid = frame.select([c for c in delivered if c in wanted]).filter(~broken)
    if absent:
        valid = valid.with_columns([pl.lit(None, contract.columns[c]).alias(c) for c in absent if c in wanted]).select(
            wanted
        )
    first = pl.coalesce([pl.when(c.broken).then(pl.lit(i, pl.Int32)) for i, c in enumerate(checks)])
    bad = frame.filter(broken).with_columns(first.alias("_first"))
    rule_of = pl.Series([c.rule for c in checks], dtype=pl.String)
    column_of = pl.Series([c.column for c in checks], dtype=pl.String)
    broken_rules = []
    for rule in RULE_ORDER:
        of_rule = [c.broken for c in checks if c.rule == rule]
        if of_rule:
            broken_rules.append(pl.when(pl.any_horizontal(of_rule)).then(pl.lit(rule)))
    quarantine = bad.select(
        pl.lit(contract.name).alias("feed"),
        pl.col(SOURCE_FILE),
        pl.col(ROW_NUMBER),
        pl.col("_first").replace_strict(list(range(len(checks))), rule_of, return_dtype=pl.String).alias("rule"),
        pl.col("_first").replace_strict(list(range(len(checks))), column_of, return_dtype=pl.String).alias("column"),
        pl.concat_list(broken_rules).list.drop_nulls().alias("rules"),
        row_json(contract, delivered).alias("row"),
    )
    return valid, quarantine


def row_json(contract: FeedContract, columns: Sequence[str]) -> pl.Expr:
    """The row's `columns` (those delivered) as JSON; a float that is not finite as the string "NaN",
    "Infinity" or "-Infinity" (JSON has no such number, and Polars would write null: the operator must see
    why R-RANGE quarantined the row)."""
    row = pl.struct(list(columns)).struct.json_encode()
    for name in [c for c in float_columns(contract) if c in columns]:
        col = pl.col(name)
        text = (
            pl.when(col.is_nan())
            .then(pl.lit("NaN"))
            .when(col > 0)
            .then(pl.lit("Infinity"))
            .otherwise(pl.lit("-Infinity"))
        )
        spelled = row.str.replace(f'"{name}":null', pl.format(f'"{name}":"{{}}"', text), literal=True)
        row = pl.when(non_finite(name)).then(spelled).otherwise(row)
    return row
