"""Work lists that follow from the decisions (docs/spec/rules.md §5): what the zorgkas must do by hand.

A row never pays. Columns: insz, zorgkas, code, since (date), detail, evidence (list).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.decide.exclusions import x_special_stay
from pipelines.timeline import active_on
from schemas.outputs import WorkRows, columns

WORKLIST_COLUMNS = columns(WorkRows)


def work_rows(
    frame: pl.LazyFrame,
    code: str | pl.Expr,
    since: pl.Expr,
    detail: pl.Expr,
    evidence: pl.Expr,
    due: pl.Expr | None = None,
) -> pl.LazyFrame:
    """WORKLIST_COLUMNS of `frame` (with insz and zorgkas): `due` null unless the code has a legal term."""
    return frame.select(
        "insz",
        "zorgkas",
        (pl.lit(code) if isinstance(code, str) else code).alias("code"),
        since.alias("since"),
        detail.alias("detail"),
        evidence.alias("evidence"),
        (pl.lit(None, pl.Date) if due is None else due).alias("due"),
    )


def trailing_run_start(periods: pl.LazyFrame, condition: pl.Expr, last_month: dt.date, keys: list[str]) -> pl.LazyFrame:
    """Per key, the first month (`since`) and the evidence of the unbroken run of months meeting
    `condition` that ends with last_month.

    Judged on the decided periods (every month of a period shares its flags): from the period that
    ends with last_month back through the periods that meet the condition and each end the month
    before the next one starts. Keys without such a run (the condition does not hold in last_month)
    are absent.
    """
    later = pl.col("first_month").shift(1).over(keys)  # rows in descending order: the later period
    follows = (
        pl.when(later.is_null())
        .then(pl.col("last_month") == last_month)
        .otherwise(pl.col("last_month").dt.offset_by("1mo") == later)
    )
    broken = (~(condition & follows)).cast(pl.UInt32).cum_sum().over(keys)
    return (
        periods.filter(pl.col("first_month") <= last_month)
        .sort([*keys, "first_month"], descending=[False] * len(keys) + [True])
        .filter(broken == 0)
        .group_by(keys)
        .agg(
            pl.col("first_month").min().alias("since"),
            pl.col("evidence").list.explode(keep_nulls=False, empty_as_null=False),
        )
    )


def w_apply_special(stays: pl.LazyFrame, members: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """W-APPLY-SPECIAL: a special stay (X-SPECIAL-STAY) active on the run date: the person must apply."""
    active = stays.filter(
        x_special_stay() & active_on(pl.col("admission_date"), pl.col("discharge_date"), pl.lit(run_date))
    ).join(members.select("insz", "zorgkas"), on="insz")
    return work_rows(
        active,
        "W-APPLY-SPECIAL",
        pl.col("admission_date"),
        pl.format("{} stay, special category {}", pl.col("facility_kind"), pl.col("special_category")),
        pl.concat_list(pl.format("facility_stays:{}", pl.col("stay_id"))),
    )


def w_apply_facility(
    stays: pl.LazyFrame, members: pl.LazyFrame, episodes: pl.LazyFrame, run_date: dt.date
) -> pl.LazyFrame:
    """W-APPLY-FACILITY: a WZC or PVT stay outside VL or not recognised by Flanders, active on the run date,
    while the month of D lies inside no care-need episode's right: apply with a residence attest."""
    month = run_date.replace(day=1)
    covered = episodes.filter(
        (pl.col("right_from") <= month) & (pl.col("right_until").is_null() | (pl.col("right_until") >= month))
    ).select("insz")
    active = (
        stays.filter(
            pl.col("facility_kind").is_in(["WZC", "PVT"])
            & ((pl.col("facility_region") != "VL") | ~pl.col("recognised_by_flanders"))
            & active_on(pl.col("admission_date"), pl.col("discharge_date"), pl.lit(run_date))
        )
        .join(covered, on="insz", how="anti")
        .join(members.select("insz", "zorgkas"), on="insz")
    )
    recognised = (
        pl.when(pl.col("recognised_by_flanders")).then(pl.lit("recognised")).otherwise(pl.lit("not recognised"))
    )
    return work_rows(
        active,
        "W-APPLY-FACILITY",
        pl.col("admission_date"),
        pl.format("{} in {}, {} by Flanders", pl.col("facility_kind"), pl.col("facility_region"), recognised),
        pl.concat_list(pl.format("facility_stays:{}", pl.col("stay_id"))),
    )


def w_nrth_transition(periods: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """W-NRTH-TRANSITION: the month of D is inside the right and T-NRTH-2017 applies on its first day."""
    last = run_date.replace(day=1)
    zzb = periods.filter(pl.col("budget") == "ZZB")
    runs = trailing_run_start(zzb, pl.col("status") == "PENDING", last, ["insz", "zorgkas"])
    return work_rows(
        runs,
        "W-NRTH-TRANSITION",
        pl.col("since"),
        pl.lit("NRTH record from before the 2017 transition"),
        pl.col("evidence").list.unique().list.sort(),
    )


def w_check_residence(periods: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """W-CHECK-RESIDENCE: for either budget, the month of D would be entitled except for E-RESIDENCE (a month
    granted by hand is entitled: its residence is not re-judged, docs/spec/rules.md M-ENTITLED)."""
    last = run_date.replace(day=1)
    only_residence = (
        (pl.col("fails").list.len() == 1) & pl.col("fails").list.contains("E-RESIDENCE") & ~pl.col("entitled")
    )
    runs = trailing_run_start(periods, only_residence, last, ["insz", "zorgkas", "budget"])
    return work_rows(
        runs,
        "W-CHECK-RESIDENCE",
        pl.col("since"),
        pl.format("{}: ask for proof of EU/EEA/Swiss insurance or of residence", pl.col("budget")),
        pl.col("evidence").list.unique().list.sort(),
    )
