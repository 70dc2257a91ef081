"""Conditions judged on the first day of each month (docs/spec/rules.md §3), for both budgets.

The flag functions are expressions on a person-month frame with the columns `month` (its
first day), the member's `birth_date`, `death_date`, `affiliation_start`, `affiliation_end`,
`eu_insured_since`, and the per-person `residence_from_year` and `waiting_until` computed here.
Their parameters (`MONTHLY`) are those in force on first(M): decide judges each run of months in which
none of them changes with its own (pipelines/params.py `periods`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.params import Params
from pipelines.timeline import active_on, age_on

VOLUNTARY_BASES = ["RESIDENT_BXL", "ABROAD_EMPLOYER_BXL"]
RESIDENCE_REGIONS = ["VL", "BXL"]
MONTHLY = ("adult_age", "residence_years", "late_waiting_years")  # read on first(M)


def e_affiliated() -> pl.Expr:
    """E-AFFILIATED: affiliation_start <= first(M) and (no end or first(M) <= affiliation_end)."""
    return active_on(pl.col("affiliation_start"), pl.col("affiliation_end"), pl.col("month")).alias("e_affiliated")


def e_alive() -> pl.Expr:
    """E-ALIVE: no death_date, or first(M) <= death_date: the month of death is paid in full."""
    return (pl.col("death_date").is_null() | (pl.col("month") <= pl.col("death_date"))).alias("e_alive")


def residence_from_year(residence: pl.LazyFrame, p: Params, run_date: dt.date) -> pl.LazyFrame:
    """Per person, the first year M may fall in for the 5-consecutive-years residence ground.

    Each VL or BXL period counts for every calendar year it touches (one day makes the year);
    an open period runs to the run date. A run of `residence_years` consecutive years
    y0..y0+4 satisfies E-RESIDENCE for months of year y0+5 and later (the year of M itself
    does not count). Persons without such a run are absent. `p`: the residence_years in force on the
    first(M) of the months it is used for (decide), on 1 January Y for P-REDUCED.
    """
    years = residence.filter(pl.col("region").is_in(RESIDENCE_REGIONS) & (pl.col("start_date") <= run_date)).select(
        "insz",
        pl.col("start_date").dt.year().alias("y0"),
        pl.col("end_date").fill_null(run_date).clip(upper_bound=run_date).dt.year().alias("y1"),
    )
    previous_max = pl.col("y1").cum_max().shift(1).over("insz", order_by=["y0", "y1"])
    new_run = (previous_max.is_null() | (pl.col("y0") > previous_max + 1)).cast(pl.Int32)
    runs = (
        years.with_columns(new_run.cum_sum().over("insz", order_by=["y0", "y1"]).alias("run"))
        .group_by("insz", "run")
        .agg(pl.col("y0").min(), pl.col("y1").max())
        .filter(pl.col("y1") - pl.col("y0") + 1 >= p.residence_years)
    )
    return runs.group_by("insz").agg((pl.col("y0") + p.residence_years).min().alias("residence_from_year"))


def e_residence(p: Params) -> pl.Expr:
    """E-RESIDENCE: younger than 18 on first(M); or 5 consecutive calendar years of residence in VL or
    BXL before year(M); or EU/EEA/Swiss insured since 1 January of year(M) or earlier.

    18 is adult_age and 5 residence_years (in `residence_from_year`), both of `p`: in force on first(M)."""
    minor = age_on(pl.col("birth_date"), pl.col("month")) < p.adult_age
    resident = pl.col("month").dt.year() >= pl.col("residence_from_year")
    january_first = pl.date(pl.col("month").dt.year(), 1, 1)
    eu_insured = pl.col("eu_insured_since") <= january_first
    return (minor | resident.fill_null(False) | eu_insured.fill_null(False)).alias("e_residence")


def waiting_until(members: pl.LazyFrame, residence: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """Per late voluntary member, the first day E-WAITING holds: affiliation_start + late_waiting_years.

    docs/spec/rules.md §3. Only RESIDENT_BXL and ABROAD_EMPLOYER_BXL members can be late. On time means
    affiliation_start on or before the latest of: 31 December of the year the member turns 27;
    for a member whose Brussels domicile active on affiliation_start began in year S, 31 December
    of S+1 (began before 1 July) or of S+2 (local decision of docs/spec/rules.md). Members on time are absent.
    27 is voluntary_on_time_age, read on affiliation_start (local decision: the deadline in force when the
    member affiliates); late_waiting_years is that of `p`, in force on the first(M) judged.
    """
    voluntary = members.filter(pl.col("affiliation_basis").is_in(VOLUNTARY_BASES)).select(
        "insz", "birth_date", "affiliation_start"
    )
    brussels = (
        voluntary.join(residence.filter(pl.col("region") == "BXL"), on="insz")
        .filter(active_on(pl.col("start_date"), pl.col("end_date"), pl.col("affiliation_start")))
        .select(
            "insz",
            pl.date(
                pl.col("start_date").dt.year() + pl.when(pl.col("start_date").dt.month() < 7).then(1).otherwise(2),
                12,
                31,
            ).alias("brussels_deadline"),
        )
        .group_by("insz")
        .agg(pl.col("brussels_deadline").max())
    )
    on_time_age = p.read_on("voluntary_on_time_age", pl.col("affiliation_start"))
    turns = pl.col("birth_date").dt.year() + on_time_age
    deadline = pl.max_horizontal(pl.date(turns, 12, 31), pl.col("brussels_deadline"))
    return (
        voluntary.join(brussels, on="insz", how="left")
        .filter(pl.col("affiliation_start") > deadline)
        .select("insz", pl.col("affiliation_start").dt.offset_by(f"{p.late_waiting_years}y").alias("waiting_until"))
    )


def e_waiting() -> pl.Expr:
    """E-WAITING: a late voluntary member is entitled only from affiliation_start + late_waiting_years.

    late_waiting_years in force on first(M) (`waiting_until` of the month's run of parameters)."""
    return (pl.col("waiting_until").is_null() | (pl.col("month") >= pl.col("waiting_until"))).alias("e_waiting")
