"""Small hand-made landing zones for tests: one valid row per feed unless a test says otherwise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.feeds import FEEDS

D = dt.date
# born 1985-07-31, counter 123 (docs/spec/rules.md §1 worked example); born 2000-12-05, counter 556
INSZ_1985 = "85073112305"
INSZ_2000 = "00120555686"


def valid_rows() -> dict[str, list[dict]]:
    """One valid row per feed (none of case_decisions), all for the same member."""
    p = INSZ_1985
    return {
        "members": [
            dict(
                insz=p,
                zorgkas="ZK100",
                name="An Peeters",
                birth_date=D(1985, 7, 31),
                death_date=None,
                domicile_region="VL",
                affiliation_basis="RESIDENT_VL",
                affiliation_start=D(2011, 1, 1),
                affiliation_end=None,
                eu_insured_since=None,
                iban="BE72735100000116",
            )
        ],
        "residence_periods": [dict(insz=p, region="VL", start_date=D(1985, 7, 31), end_date=None)],
        "increased_allowance": [dict(insz=p, start_date=D(2020, 1, 1), end_date=None)],
        "premium_payments": [
            dict(
                insz=p,
                premium_year=2025,
                amount_due=64.0,
                amount_paid=64.0,
                due_date=D(2025, 4, 30),
                paid_date=D(2025, 3, 2),
            )
        ],
        "belrai_screeners": [
            dict(
                assessment_id="BR1",
                insz=p,
                assessment_date=D(2026, 1, 15),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=14.0,
                adl_score=3.0,
                iadl_score=2.0,
                valid_until=None,
            )
        ],
        "medsoc_scales": [
            dict(
                decision_id="MS1",
                insz=p,
                scale_kind="IT",
                decision_date=D(2025, 2, 1),
                valid_from=D(2025, 2, 1),
                valid_until=None,
                score=16.0,
                pillar_1=None,
                pillar_2=None,
                pillar_3=None,
            )
        ],
        "facility_stays": [
            dict(
                stay_id="FS1",
                insz=p,
                facility_id="F1",
                facility_kind="WZC",
                facility_region="VL",
                recognised_by_flanders=True,
                admission_date=D(2026, 3, 1),
                discharge_date=None,
                special_category=None,
            )
        ],
        "vaph_support": [
            dict(
                record_id="VA1",
                insz=p,
                support_kind="SUPPORT_NEED",
                start_date=D(2024, 5, 1),
                end_date=None,
                school_year=None,
                absence_days=None,
            )
        ],
        "case_decisions": [],  # a required feed; no case yet (an empty but typed delivery)
    }


# a valid case_decisions row of the builder's member (valid_rows has none): an application, which grants nothing
CASE_APPLICATION = dict(
    record_id="CA1",
    insz=INSZ_1985,
    budget="ZZB",
    kind="APPLICATION",
    received_date=D(2026, 3, 2),
    decided_date=None,
    refers_to=None,
    first_month=None,
    last_month=None,
)


def frame(feed: str, rows: list[dict]) -> pl.DataFrame:
    """The rows in the contract's columns; an optional column only when a row gives it (as a delivery may)."""
    contract = FEEDS[feed]
    given = {key for row in rows for key in row}
    schema = {c: t for c, t in contract.columns.items() if c not in contract.optional or c in given}
    return pl.DataFrame(rows, schema=schema, orient="row")


def write_delivery(
    landing: Path,
    feed: str,
    delivery_date: dt.date,
    rows: list[dict] | pl.DataFrame | pa.Table,
    name: str = "part-00000.parquet",
) -> Path:
    """One Parquet file of a delivery; a pyarrow Table is written with its own (physical) types."""
    folder = landing / feed / f"delivery_date={delivery_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(rows, pa.Table):
        pq.write_table(rows, path)
    else:
        (rows if isinstance(rows, pl.DataFrame) else frame(feed, rows)).write_parquet(path)
    return path


def with_arrow_column(feed: str, rows: list[dict], column: str, values: pa.Array) -> pa.Table:
    """The rows as an Arrow table whose `column` is replaced by `values` (a physical variant of its type)."""
    table = frame(feed, rows).to_arrow()
    return table.set_column(table.schema.get_field_index(column), column, values)


DELIVERY = D(2026, 11, 1)


def write_landing(landing: Path, delivery_date: dt.date = DELIVERY, overrides: dict | None = None) -> Path:
    """A landing zone with one delivery of every feed; `overrides` replaces a feed's rows."""
    rows = valid_rows() | (overrides or {})
    for feed, feed_rows in rows.items():
        write_delivery(landing, feed, delivery_date, feed_rows)
    return landing


def context_at(landing: Path, as_of: dt.date, accept_shrink=(), kind: str = "nightly", **kwargs):
    """The run context of a run on `landing` as of `as_of` (outbox and state unused by the tests that ask)."""
    from flows.context import Options, start

    options = Options(accept_shrink=frozenset(accept_shrink))
    return start(kind, as_of, Path(landing), Path("out"), Path("state.duckdb"), options, **kwargs)


def ingest_at(landing: Path, as_of: dt.date, accept_shrink=(), **kwargs):
    """Every feed of `landing` as of `as_of`, through the ingest the runs use (flows/ingest.py)."""
    from flows.ingest import ingest

    return ingest(context_at(landing, as_of, accept_shrink), **kwargs)
