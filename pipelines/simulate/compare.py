"""A reform against the baseline: who gains or loses which months, and what it costs (outputs.md, Simulation).

Input: the decided periods of each scenario (`SCENARIO_COLUMNS` of _decisions/periods.parquet), from the
same decide stage as the nightly run. A month counts when its status is ENTITLED (a PENDING month,
T-NRTH-2017, is the zorgkas's decision: not counted); its cost is its monthly amount.

Pure: frames in, frames out. Cheap at 7M members: every total is computed on runs of months (a few
hundred thousand rows), and only the persons whose runs differ are looked at month by month.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.outputs import SimulationChanges, columns

ENTITLED = "ENTITLED"
SCENARIO_COLUMNS = ["insz", "zorgkas", "budget", "first_month", "last_month", "status", "monthly_amount"]
RUN_KEYS = ["insz", "zorgkas", "budget"]
CHANGES_COLUMNS = columns(SimulationChanges)
MONEY = pl.Decimal(12, 2)
# per person, budget, zorgkas and year: what the summary adds up
CUBE = ["months_baseline", "cost_baseline", "months_reform", "cost_reform", "months_gained", "months_lost"]
CUBE += ["months_amount_changed"]


def months_between(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """Months from `first` through `last` (first days of months), both counted."""
    return (last.dt.year() - first.dt.year()) * 12 + last.dt.month().cast(pl.Int32) - first.dt.month() + 1


def entitled_runs(periods: pl.LazyFrame) -> pl.LazyFrame:
    """The entitled months as maximal runs of consecutive months with one monthly amount, per person and
    budget (insz, zorgkas, budget, first_month, last_month, monthly_amount): two scenarios that entitle
    the same months at the same amounts give the same runs, however decide cut its periods."""
    entitled = periods.filter(pl.col("status") == ENTITLED).select(
        *RUN_KEYS, "first_month", "last_month", "monthly_amount"
    )
    by = {"partition_by": ["insz", "budget"], "order_by": "first_month"}
    follows = (pl.col("last_month").shift(1).over(**by).dt.offset_by("1mo") == pl.col("first_month")) & (
        pl.col("monthly_amount").shift(1).over(**by) == pl.col("monthly_amount")
    )
    run = (~follows.fill_null(False)).cast(pl.UInt32).cum_sum().over(**by).alias("_run")
    return (
        entitled.with_columns(run)
        .group_by(*RUN_KEYS, "_run")
        .agg(pl.col("first_month").min(), pl.col("last_month").max(), pl.col("monthly_amount").first())
        .drop("_run")
    )


def person_years(runs: pl.LazyFrame, years: list[int], suffix: str) -> pl.LazyFrame:
    """Per person, budget and calendar year: entitled months and their cost (months_<suffix>, cost_<suffix>)."""
    calendar = pl.LazyFrame({"year": years}, schema={"year": pl.Int32})
    first = pl.max_horizontal("first_month", pl.date(pl.col("year"), 1, 1))
    last = pl.min_horizontal("last_month", pl.date(pl.col("year"), 12, 1))
    return (
        runs.join(calendar, how="cross")
        .with_columns(months_between(first, last).alias("_months"))
        .filter(pl.col("_months") > 0)
        .group_by(*RUN_KEYS, "year")
        .agg(
            pl.col("_months").sum().cast(pl.Int64).alias(f"months_{suffix}"),
            (pl.col("monthly_amount") * pl.col("_months")).sum().alias(f"cost_{suffix}"),
        )
    )


def month_differences(baseline: pl.LazyFrame, reform: pl.LazyFrame) -> pl.LazyFrame:
    """Every month whose entitlement or amount differs between the two scenarios' runs: insz, zorgkas,
    budget, month, amount_baseline, amount_reform (null: not entitled in that scenario)."""
    differ = pl.concat(
        [baseline.join(reform, on=list(baseline.collect_schema()), how="anti", nulls_equal=True).select(RUN_KEYS)]
        + [reform.join(baseline, on=list(reform.collect_schema()), how="anti", nulls_equal=True).select(RUN_KEYS)]
    ).unique()

    def months(runs: pl.LazyFrame, name: str) -> pl.LazyFrame:
        return (
            runs.join(differ, on=RUN_KEYS, how="semi")
            .with_columns(pl.date_ranges("first_month", "last_month", "1mo").alias("month"))
            .explode("month")
            .select(*RUN_KEYS, "month", pl.col("monthly_amount").alias(name))
        )

    joined = months(baseline, "amount_baseline").join(
        months(reform, "amount_reform"), on=[*RUN_KEYS, "month"], how="full", coalesce=True
    )
    return joined.filter(pl.col("amount_baseline").ne_missing(pl.col("amount_reform")))


def changes(differences: pl.LazyFrame, baseline: pl.LazyFrame, reform: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """changes.parquet's rows of one reform: one per person and budget with a month that differs."""
    months_of = [
        runs.group_by("insz", "budget").agg(
            months_between(pl.col("first_month"), pl.col("last_month")).sum().alias(f"months_{suffix}")
        )
        for runs, suffix in ((baseline, "baseline"), (reform, "reform"))
    ]
    zero = pl.lit(0, MONEY)
    return (
        differences.group_by(RUN_KEYS)
        .agg(
            pl.col("amount_baseline").is_null().sum().cast(pl.Int32).alias("months_gained"),
            pl.col("amount_reform").is_null().sum().cast(pl.Int32).alias("months_lost"),
            (pl.col("amount_baseline").is_not_null() & pl.col("amount_reform").is_not_null())
            .sum()
            .cast(pl.Int32)
            .alias("months_amount_changed"),
            pl.col("month").min().alias("first_changed_month"),
            pl.col("month").max().alias("last_changed_month"),
            (pl.col("amount_reform").fill_null(zero) - pl.col("amount_baseline").fill_null(zero))
            .sum()
            .alias("amount_difference"),
        )
        .join(months_of[0], on=["insz", "budget"], how="left")
        .join(months_of[1], on=["insz", "budget"], how="left")
        .with_columns(
            pl.lit(name).alias("reform"),
            pl.col("months_baseline").fill_null(0).cast(pl.Int32),
            pl.col("months_reform").fill_null(0).cast(pl.Int32),
            pl.col("amount_difference").cast(MONEY),
        )
        .select(list(CHANGES_COLUMNS))
    )


def cube(baseline: pl.LazyFrame, reform: pl.LazyFrame, differences: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """Per person, zorgkas, budget and year: the CUBE figures of both scenarios and what differs."""
    keys = [*RUN_KEYS, "year"]
    zero = pl.lit(0, pl.Decimal(38, 2))
    moved = (
        differences.with_columns(pl.col("month").dt.year().cast(pl.Int32).alias("year"))
        .group_by(keys)
        .agg(
            pl.col("amount_baseline").is_null().sum().cast(pl.Int64).alias("months_gained"),
            pl.col("amount_reform").is_null().sum().cast(pl.Int64).alias("months_lost"),
            (pl.col("amount_baseline").is_not_null() & pl.col("amount_reform").is_not_null())
            .sum()
            .cast(pl.Int64)
            .alias("months_amount_changed"),
        )
    )
    return (
        person_years(baseline, years, "baseline")
        .join(person_years(reform, years, "reform"), on=keys, how="full", coalesce=True)
        .join(moved, on=keys, how="left")
        .with_columns(
            *[pl.col(c).fill_null(0) for c in CUBE if c.startswith("months")],
            *[pl.col(c).cast(pl.Decimal(38, 2)).fill_null(zero) for c in CUBE if c.startswith("cost")],
        )
    )


def rollup(figures: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The summary's figures per budget and `by` (zorgkas and/or year): sums of months and cost, and persons
    with a right (at least one entitled month in the group), gaining one and losing one."""
    per_person = figures.group_by("insz", "budget", *by).agg(pl.col(CUBE).sum())
    has_baseline, has_reform = pl.col("months_baseline") > 0, pl.col("months_reform") > 0
    return (
        per_person.group_by("budget", *by)
        .agg(
            has_baseline.sum().alias("persons_baseline"),
            has_reform.sum().alias("persons_reform"),
            (has_reform & ~has_baseline).sum().alias("persons_gaining"),
            (has_baseline & ~has_reform).sum().alias("persons_losing"),
            pl.col(CUBE).sum(),
        )
        .sort("budget", *by)
    )


def window_years(first: dt.date, last: dt.date) -> list[int]:
    return list(range(first.year, last.year + 1))
