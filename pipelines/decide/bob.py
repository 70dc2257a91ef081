"""The care budget for persons with a disability (BOB), docs/spec/rules.md §6.

Decided independently of the ZZB; its exclusions are in pipelines/decide/exclusions.py (X-BOB-*).
"""

from __future__ import annotations

import polars as pl

from pipelines.params import Params
from pipelines.timeline import offset_months


def g_bob(vaph: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """G-BOB: a SUPPORT_NEED record gives the right from the first day of the month after its start_date
    (local decision of docs/spec/rules.md: the sources give no delay) through the month containing its end_date.

    "The month after" is `bob_delay_months` (1) months after the month of start_date: a parameter, so that
    a reform can move it (data/reforms/bob-delay-4.yaml), read on the record's start_date (local decision, as
    ZZB-START reads its delay on the episode's start). One row per record: insz, evidence, right_from,
    right_until (first day of the last month; null: open).
    """
    delay = p.read_on("bob_delay_months", pl.col("start_date"))
    return vaph.filter(pl.col("support_kind") == "SUPPORT_NEED").select(
        "insz",
        pl.format("vaph_support:{}", pl.col("record_id")).alias("evidence"),
        offset_months(pl.col("start_date").dt.truncate("1mo"), delay).alias("right_from"),
        pl.col("end_date").dt.truncate("1mo").alias("right_until"),
    )
