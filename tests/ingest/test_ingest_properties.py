"""Property-based (Hypothesis), issue 11 money-safe input: whatever a delivery holds, the night is safe.

Each example writes a landing zone of every feed: rows built from valid rows in which a few columns take
arbitrary values of their type (NaN, infinities, huge and negative numbers, empty and unicode strings,
dates from 0001-01-01 to 9999-12-31 with 1900-01-01 and the delivery date at the edges, nulls), and
sometimes one column written as a physical variant (dictionary-encoded string, Float32, a timestamp for a
date, at midnight or not). Then, through the ingest and decisions the night runs:

- ingest stops with one line naming feed, file and column exactly when a variant is lossy (a timestamp
  that is not at midnight); otherwise
- every row read is valid or quarantined, once, with a rule of docs/spec/feeds.md among the rules it lists;
- every row that plainly breaks a row rule (an independent reading of docs/spec/feeds.md below) is quarantined;
- no valid row holds a float that is not finite;
- nobody is entitled (a ZZB or BOB period, an absence budget) whose only ground rows were quarantined.

Deterministic (derandomize, no example database) and a few seconds long.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flows.decide import run_decisions
from flows.io.landing import FeedError
from flows.reference import load_reference
from pipelines.ingest.quarantine import RULE_ORDER
from schemas.feeds import FEEDS, MAX_ABSENCE_DAYS, MAX_SELF_RELIANCE_SCORE, SELF_RELIANCE_KINDS
from tests.helpers.builders import (
    CASE_APPLICATION,
    INSZ_1985,
    INSZ_2000,
    context_at,
    frame,
    ingest_at,
    valid_rows,
    write_delivery,
)
from tests.helpers.properties import examples

D = dt.date
DELIVERY = D(2026, 11, 1)
RUN = D(2026, 11, 20)
EARLIEST = D(1900, 1, 1)
REF = load_reference()
PERSONS = [INSZ_1985, INSZ_2000, "85273112348"]  # valid national and BIS numbers
NOT_AN_INSZ = ["", "85073112306", "8507311230", "85.07.31-123.05", "ünïcødé", "00000000000", "99999999999"]
GROUND_FEEDS = ("belrai_screeners", "medsoc_scales", "facility_stays", "vaph_support")
OPTIONAL_MEMBER = ("language", "street", "postal_code", "city", "country")
ONE_PER_PERSON = ("members", "residence_periods")  # the other feeds have 0 to 3 rows of any of the persons
KEY_OF_ROW = {
    "members": lambda i: {"insz": PERSONS[i]},
    "premium_payments": lambda i: {"premium_year": 2025 - i},
    "belrai_screeners": lambda i: {"assessment_id": f"BR{i}"},
    "medsoc_scales": lambda i: {"decision_id": f"MS{i}"},
    "facility_stays": lambda i: {"stay_id": f"FS{i}"},
    "vaph_support": lambda i: {"record_id": f"VA{i}"},
    "case_decisions": lambda i: {"record_id": f"CA{i}"},
}
# the valid row a feed's rows are built from (valid_rows has no case_decisions row: an application here)
TEMPLATE = {feed: (rows or [CASE_APPLICATION])[0] for feed, rows in valid_rows().items()}

PROPERTIES = settings(
    max_examples=examples(30),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def allowed_codes(feed: str, column: str) -> list[str] | None:
    """The codes docs/spec/feeds.md lists for a column (R-ENUM), read from the model; zorgkas from the reference."""
    if column == "zorgkas":
        return list(REF.zorgkas_codes)
    for check in FEEDS[feed].schema.columns[column].checks:
        if check.name == "isin":
            return list(check.statistics["allowed_values"])
    return None


TEXTS = st.one_of(st.text(max_size=8), st.sampled_from(["", " ", "VL", "ZK100", "NL", "FR", "IT", "ZTK", "é€😀"]))
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
FLOATS = st.one_of(NON_FINITE, st.floats(), st.sampled_from([1e300, 1e12, 18.0, 18.5, -0.0, 5e-324]))
INTS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([-1, 0, 366, 367, 2025]))
DATES = st.one_of(st.dates(), st.sampled_from([EARLIEST, D(1899, 12, 31), D(9999, 12, 31), DELIVERY, D(2026, 11, 2)]))
BY_TYPE = {pl.String: TEXTS, pl.Float64: FLOATS, pl.Int64: INTS, pl.Date: DATES, pl.Boolean: st.booleans()}


def any_value(feed: str, column: str) -> st.SearchStrategy:
    dtype = FEEDS[feed].columns[column]
    values = [st.none(), BY_TYPE[dtype]]
    if column == "insz":
        values += [st.sampled_from(PERSONS), st.sampled_from(NOT_AN_INSZ)]
    elif (codes := allowed_codes(feed, column)) is not None:
        values.append(st.sampled_from(codes))
    return st.one_of(values)


@st.composite
def feed_rows(draw, feed: str) -> list[dict]:
    """Valid rows of the feed (of the three persons) of which some have up to three columns with any value of
    their type."""
    contract = FEEDS[feed]
    columns = list(contract.columns)
    with_optional = feed == "members" and draw(st.booleans())
    count = len(PERSONS) if feed in ONE_PER_PERSON else draw(st.integers(0, 3))
    rows = []
    for i in range(count):
        person = PERSONS[i] if feed in ONE_PER_PERSON else draw(st.sampled_from(PERSONS))
        row = TEMPLATE[feed] | {"insz": person} | KEY_OF_ROW.get(feed, lambda i: {})(i)
        if with_optional:
            row |= {c: draw(any_value(feed, c)) for c in OPTIONAL_MEMBER}
        if draw(st.booleans()):
            for column in draw(st.sets(st.sampled_from(columns), min_size=1, max_size=3)):
                row[column] = draw(any_value(feed, column))
        rows.append(row)
    return rows


@st.composite
def physical_variant(draw, feed: str) -> tuple[str, str, dt.time | None] | None:
    """None, or one column written as a physical variant: (column, kind, time of day for a timestamp)."""
    kinds = {pl.String: "dictionary", pl.Float64: "float32", pl.Date: "timestamp"}
    options = [(c, kinds[t]) for c, t in FEEDS[feed].mandatory_columns.items() if t in kinds]
    if draw(st.integers(0, 3)):  # one feed in four has a column written as a variant
        return None
    column, kind = draw(st.sampled_from(options))
    time = (
        draw(st.sampled_from([dt.time(0), dt.time(0), dt.time(12), dt.time(0, 0, 0, 1)]))
        if kind == "timestamp"
        else None
    )
    return column, kind, time


def written(feed: str, rows: list[dict], variant) -> tuple[pa.Table, bool]:
    """The table written for the rows, and whether its variant is lossy (a timestamp not at midnight)."""
    table = frame(feed, rows).to_arrow()
    if variant is None:
        return table, False
    column, kind, time = variant
    values = table[column]
    if kind == "dictionary":
        values = values.cast(pa.string()).dictionary_encode()
    elif kind == "float32":
        values = values.cast(pa.float32(), safe=False)
    else:
        stamps = [None if d is None else dt.datetime.combine(d, time) for d in values.to_pylist()]
        values = pa.array(stamps, pa.timestamp("us"))
    lossy = kind == "timestamp" and time != dt.time(0) and values.null_count < len(values)
    return table.set_column(table.schema.get_field_index(column), column, values), lossy


def plainly_bad(feed: str, row: dict) -> bool:
    """An independent reading of docs/spec/feeds.md's row rules, for the values as written: True when the row breaks
    R-NULL, R-ENUM, R-DATES (before 1900) or R-RANGE (not finite, negative, over a maximum), or R-ID for a
    value that is no national number at all."""
    contract = FEEDS[feed]
    for column, dtype in contract.columns.items():
        value = row.get(column)
        if value is None:
            if column not in contract.nullable:
                return True
            continue
        codes = allowed_codes(feed, column)
        if codes is not None and value not in codes:
            return True
        if column == "insz" and value in NOT_AN_INSZ:
            return True
        if dtype == pl.Float64 and not (math.isfinite(value) and value >= 0):  # every float is a score or amount
            return True
        if dtype == pl.Date and value < EARLIEST:
            return True
        if column == "absence_days" and not 0 <= value <= MAX_ABSENCE_DAYS:
            return True
    score = row.get("score")
    return (
        feed == "medsoc_scales" and row["scale_kind"] in SELF_RELIANCE_KINDS and (score or 0) > MAX_SELF_RELIANCE_SCORE
    )


def as_written(path: Path) -> list[dict]:
    """The rows of a file as plain values (a float32 as the float it is, a timestamp at midnight as its day)."""
    rows = pq.read_table(path).to_pylist()
    return [{k: (v.date() if isinstance(v, dt.datetime) else v) for k, v in row.items()} for row in rows]


def every_feed(**rows: list[dict]) -> dict:
    """An explicit example: the valid rows of every feed (one person) unless given."""
    return {feed: (rows.get(feed, valid_rows()[feed]), None) for feed in FEEDS}


LANDINGS = st.fixed_dictionaries({feed: st.tuples(feed_rows(feed), physical_variant(feed)) for feed in FEEDS})


@PROPERTIES
@given(LANDINGS)
@example(every_feed(belrai_screeners=[valid_rows()["belrai_screeners"][0] | {"total_score": math.nan}]))
@example(every_feed(medsoc_scales=[valid_rows()["medsoc_scales"][0] | {"score": math.inf}], belrai_screeners=[]))
@example(every_feed(premium_payments=[valid_rows()["premium_payments"][0] | {"amount_due": math.nan}]))
def test_ingest_quarantines_every_bad_row_or_stops_naming_feed_file_and_column(landing_rows):
    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder)
        lossy, paths = [], {}
        for feed, (rows, variant) in landing_rows.items():
            table, is_lossy = written(feed, rows, variant)
            paths[feed] = write_delivery(landing, feed, DELIVERY, table)
            if is_lossy:
                lossy.append((feed, variant[0]))
        try:
            got = ingest_at(landing, RUN)
        except FeedError as error:
            message = str(error)
            assert "\n" not in message
            assert any(message.startswith(f"feed {f}, file {paths[f]}: column {c} ") for f, c in lossy), message
            return
        assert not lossy, f"a lossy variant was read: {lossy}"
        for feed, contract in FEEDS.items():
            rows = as_written(paths[feed])
            staged, counts = got.feeds[feed], got.counts[feed]
            quarantine = staged.quarantine
            assert counts["rows_read"] == len(rows) == counts["rows_valid"] + counts["rows_quarantined"]
            assert quarantine["row_number"].is_unique().all()
            assert quarantine.select(pl.col("rule").is_in(RULE_ORDER).all()).item()
            assert quarantine.select(pl.col("rules").list.contains(pl.col("rule")).all()).item() is not False
            bad = {i for i, row in enumerate(rows, start=1) if plainly_bad(feed, row)}
            assert bad <= set(quarantine["row_number"]), (feed, bad, quarantine.to_dicts())
            for column in [c for c, t in contract.columns.items() if t == pl.Float64]:
                assert staged.valid.select(pl.col(column).is_finite().fill_null(True).all()).item(), (feed, column)

        decided = run_decisions(context_at(landing, RUN), got)
        with_valid_ground = {insz for feed in GROUND_FEEDS for insz in got.valid(feed)["insz"]}
        with_quarantined_ground = {
            insz
            for feed in GROUND_FEEDS
            for insz in got.feeds[feed].quarantine["row"].str.json_path_match("$.insz").drop_nulls()
        }
        # a month granted by hand or on appeal (M-GRANT, M-APPEAL) needs no ground row
        by_hand = set(got.valid("case_decisions").filter(pl.col("kind").is_in(["GRANT", "APPEAL_GRANT"]))["insz"])
        entitled = set(decided.periods.filter("entitled")["insz"]) | set(decided.absences.filter("due")["insz"])
        assert not entitled & (with_quarantined_ground - with_valid_ground - by_hand)
