"""R-REFERENCE (docs/spec/feeds.md, case_decisions): a decision must name the application or appeal it decides.

One vectorised join inside the delivery: the rows a reference may name (those of the right kind that
pass every other row rule), joined with the rows that refer, on (refers_to = record_id, insz, budget,
kind); then a count of the outcomes per named row.
"""

from __future__ import annotations

import polars as pl

PASSES = "_passes"  # the row passes every row rule but R-REFERENCE (set by pipelines/ingest/quarantine.py)


def r_reference(frame: pl.DataFrame, references: dict[str, str]) -> pl.Series:
    """R-REFERENCE: a `refers_to` that names no row of the kind it must name (`references`: GRANT and REFUSAL an
    APPLICATION, APPEAL_GRANT and APPEAL_REFUSAL an APPEAL) in the same delivery, for the same insz and budget,
    that passes the other row rules; or a second outcome (GRANT or REFUSAL of one APPLICATION, APPEAL_GRANT or
    APPEAL_REFUSAL of one APPEAL): every outcome involved is broken.

    `frame`: the whole delivery with record_id, insz, budget, kind, refers_to and `_passes` (the row passes every
    other rule). Gives a boolean per row of `frame`, in its order, never null. A null `refers_to` is not checked
    (a GRANT or REFUSAL of an application that predates the feed; R-REQUIRED where it is required), nor is an
    APPEAL's (it may name a letter).

    Readings of the spec: the rows involved in a double outcome are the outcomes, not the application or appeal
    they name (that row itself is right; the person is held by S-HOLD either way); only outcomes that pass the
    other rules and name their row rightly count towards a double outcome.
    """
    kinds = pl.DataFrame(
        {"kind": list(references), "_target_kind": list(references.values())},
        schema={"kind": pl.String, "_target_kind": pl.String},
    )
    rows = frame.select("record_id", "insz", "budget", "kind", "refers_to", PASSES).with_row_index("_row")
    referring = rows.join(kinds, on="kind", how="inner").filter(pl.col("refers_to").is_not_null())
    targets = rows.filter(pl.col(PASSES) & pl.col("kind").is_in(list(set(references.values())))).select(
        pl.col("record_id").alias("refers_to"),
        "insz",
        "budget",
        pl.col("kind").alias("_target_kind"),
        pl.lit(True).alias("_found"),
    )
    found = referring.join(targets, on=["refers_to", "insz", "budget", "_target_kind"], how="left").with_columns(
        pl.col("_found").fill_null(False)
    )
    counted = pl.col("_found") & pl.col(PASSES)
    outcomes = counted.cast(pl.UInt32).sum().over("_target_kind", "refers_to")
    broken = found.filter(~pl.col("_found") | (counted & (outcomes > 1)))["_row"]
    flag = pl.Series("_reference", [False], dtype=pl.Boolean).new_from_index(0, frame.height)
    return flag.scatter(broken, True) if broken.len() else flag
