"""The care budget for persons with a disability (BOB), docs/spec/rules.md §6.

Decided independently of the ZZB; its exclusions are in pipelines/decide/exclusions.py (X-BOB-*).
"""

from __future__ import annotations

import polars as pl

from pipelines.params import Params


def g_bob(vaph: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """G-BOB: a SUPPORT_NEED record gives the right from the first day of the month after its start_date
    (local decision of docs/spec/rules.md: the sources give no delay) through the month containing its end_date.

    "The month after" is `bob_delay_months` (1) months after the month of start_date: a parameter, so that
    a reform can move it (data/reforms/bob-delay-4.yaml). One row per record: insz, evidence, right_from,
    right_until (first day of the last month; null: open).
    """
    return vaph.filter(pl.col("support_kind") == "SUPPORT_NEED").select(
        "insz",
        pl.format("vaph_support:{}", pl.col("record_id")).alias("evidence"),
        pl.col("start_date").dt.truncate("1mo").dt.offset_by(f"{p.bob_delay_months}mo").alias("right_from"),
        pl.col("end_date").dt.truncate("1mo").alias("right_until"),
    )
