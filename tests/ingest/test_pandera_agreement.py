"""The vectorised row rules agree with pandera: every row pandera rejects is quarantined, and the valid
rows pass the pandera model at full data depth (R-NULL, R-ENUM, R-RANGE, R-DUPLICATE come from the model).

The nightly run checks valid rows against the model at schema depth only, for speed; this test is
what makes that safe.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
import pytest
from pandera import config as pandera_config

from flows.reference import load_reference
from pipelines.ingest.staging import stage_feed
from schemas.feeds import FEEDS
from synthdata.synthetic import iter_landing

AS_OF = dt.date(2026, 11, 1)
REF = load_reference()
DELIVERIES = [
    (feed, delivery, frame)
    for feed, delivery, frame in iter_landing(20_000, 5, AS_OF, REF.zorgkas_codes)
    if delivery == AS_OF and feed != "case_decisions"  # generated empty until issue 21's generator (cases-data)
]


@pytest.mark.parametrize("feed, delivery, frame", DELIVERIES, ids=[d[0] for d in DELIVERIES])
def test_pandera_and_the_row_rules_agree(feed, delivery, frame):
    contract = FEEDS[feed]
    raw = frame.with_columns(
        pl.lit("f.parquet").alias("source_file"), pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row_number")
    )
    staged = stage_feed(raw, contract, delivery, AS_OF, {"zorgkassen": REF.zorgkas_codes})
    assert staged.quarantine.height > 0 and staged.valid.height + staged.quarantine.height == raw.height
    with pandera_config.config_context(validation_depth=pandera_config.ValidationDepth.SCHEMA_AND_DATA):
        contract.model.validate(staged.valid.select(list(contract.columns)))
        try:
            contract.model.validate(frame, lazy=True)
            rejected = set()
        except pa.errors.SchemaErrors as errors:
            rejected = {i + 1 for i in errors.failure_cases["index"].drop_nulls().to_list()}
    assert rejected, "the generated delivery holds bad rows that pandera sees"
    assert rejected <= set(staged.quarantine["row_number"].to_list())
