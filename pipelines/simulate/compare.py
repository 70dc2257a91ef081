"""A reform against the baseline: who gains or loses which months, and what it costs (docs/spec/outputs.md, Simulation).

Input: the decided periods of each scenario (`SCENARIO_COLUMNS` of _decisions/periods.parquet), from the
same decide stage as the nightly run. A month counts when its status is ENTITLED (a PENDING month,
T-NRTH-2017, is the zorgkas's decision: not counted); its cost is its monthly amount.

Pure: frames in, frames out. Cheap at 7M members: the baseline's figures are computed once, on its periods
(a few hundred thousand rows); a reform then only looks at its candidates, the persons with an entitled
period that the baseline does not have as such (or the other way round), and compares their runs of months
cut at every change: no month is enumerated.
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


def entitled(periods: pl.LazyFrame) -> pl.LazyFrame:
    """The entitled periods of a scenario: insz, zorgkas, budget, first_month, last_month, monthly_amount.

    Keyed for speed: the insz (11 digits, R-ID) as an Int64, zorgkas and budget as categoricals. Joins, sorts
    and group-bys on them cost a fraction of those on text at 7M members; `changes` gives the text back."""
    return periods.filter(pl.col("status") == ENTITLED).select(
        pl.col("insz").cast(pl.Int64),
        pl.col("zorgkas").cast(pl.Categorical),
        pl.col("budget").cast(pl.Categorical),
        "first_month",
        "last_month",
        "monthly_amount",
    )


def candidates(baseline: pl.LazyFrame, reform: pl.LazyFrame) -> pl.DataFrame:
    """The persons and budgets (insz, zorgkas, budget) with an entitled period that the other scenario does not
    have as such: the only ones whose months or amounts may differ (a period cut otherwise, e.g. at a new
    amount's date, makes a candidate that turns out unchanged)."""
    columns = list(baseline.collect_schema())
    return (
        pl.concat(
            [
                baseline.join(reform, on=columns, how="anti", nulls_equal=True).select(RUN_KEYS),
                reform.join(baseline, on=columns, how="anti", nulls_equal=True).select(RUN_KEYS),
            ]
        )
        .unique()
        .collect()
    )


def entitled_runs(entitled: pl.LazyFrame) -> pl.LazyFrame:
    """The entitled months (periods of `entitled`) as maximal runs of consecutive months with one monthly
    amount, per person and budget (the same columns, and _after: the month after the run): two scenarios that
    entitle the same months at the same amounts give the same runs, however decide cut their periods."""
    entitled = entitled.sort("insz", "budget", "first_month")
    follows = (
        same_key_as_previous(["insz", "budget"])
        & (pl.col("last_month").shift(1).dt.offset_by("1mo") == pl.col("first_month"))
        & (pl.col("monthly_amount").shift(1) == pl.col("monthly_amount"))
    )
    return (
        entitled.with_columns((~follows.fill_null(False)).cast(pl.UInt32).cum_sum().alias("_run"))
        .group_by("_run")
        .agg(
            *[pl.col(k).first() for k in RUN_KEYS],  # one person and budget a run: the same on every row
            pl.col("first_month").min(),
            pl.col("last_month").max(),
            pl.col("monthly_amount").first(),
        )
        .drop("_run")
        .with_columns(pl.col("last_month").dt.offset_by("1mo").alias("_after"))  # the first month after the run
    )


def same_key_as_previous(keys: list[str]) -> pl.Expr:
    """On a frame sorted by `keys`: whether a row has the keys of the row before it (a window without the
    cost of `over` on string keys: a tenth of it at 7M members)."""
    return pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in keys]).fill_null(False)


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


def differences(baseline: pl.LazyFrame, reform: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """The runs of months whose entitlement or amount differs between the two scenarios' runs, cut at every
    start and end of a run of either scenario and at every new year (so that each lies in one year): insz,
    zorgkas, budget, year, first_month, last_month, months, amount_baseline, amount_reform (null: not entitled
    in that scenario). Only the persons whose runs differ are looked at; no month is enumerated.

    Computed step by step (each step collected once): as one lazy plan the same steps take five times as long."""
    columns = list(baseline.collect_schema())
    differ = pl.concat(
        [
            baseline.join(reform, on=columns, how="anti", nulls_equal=True).select(RUN_KEYS),
            reform.join(baseline, on=columns, how="anti", nulls_equal=True).select(RUN_KEYS),
        ]
    ).collect()
    mine = [runs.join(differ.lazy(), on=RUN_KEYS, how="semi").collect() for runs in (baseline, reform)]
    new_years = differ.lazy().join(pl.LazyFrame({"cut": [dt.date(y, 1, 1) for y in years]}), how="cross")
    cuts = (
        pl.concat(
            [runs.lazy().select(*RUN_KEYS, pl.col(c).alias("cut")) for runs in mine for c in ("first_month", "_after")]
            + [new_years]
        )
        .sort(*RUN_KEYS, "cut")
        .filter(~same_key_as_previous([*RUN_KEYS, "cut"]))
    )
    following = pl.when(same_key_as_previous(RUN_KEYS).shift(-1)).then(pl.col("cut").shift(-1))
    segments = (
        cuts.with_columns(following.dt.offset_by("-1mo").alias("last_month"))
        .drop_nulls("last_month")
        .rename({"cut": "first_month"})
        .collect()
    )
    for runs, name in zip(mine, ("amount_baseline", "amount_reform"), strict=True):
        inside = (
            segments.join(runs.rename({"first_month": "_from", "last_month": "_to"}), on=RUN_KEYS)
            .filter(pl.col("first_month").is_between(pl.col("_from"), pl.col("_to")))
            .select(*RUN_KEYS, "first_month", pl.col("monthly_amount").alias(name))
        )
        segments = segments.join(inside, on=[*RUN_KEYS, "first_month"], how="left")
    return (
        segments.lazy()
        .filter(pl.col("amount_baseline").ne_missing(pl.col("amount_reform")))
        .with_columns(
            pl.col("first_month").dt.year().cast(pl.Int32).alias("year"),
            months_between(pl.col("first_month"), pl.col("last_month")).cast(pl.Int64).alias("months"),
        )
    )


def _moved(differences: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Per `by`: months gained, lost and at another amount, the first and last of them, and the amount difference."""
    gained, lost = pl.col("amount_baseline").is_null(), pl.col("amount_reform").is_null()
    zero = pl.lit(0, MONEY)
    difference = (pl.col("amount_reform").fill_null(zero) - pl.col("amount_baseline").fill_null(zero)) * pl.col(
        "months"
    )
    return differences.group_by(by).agg(
        pl.col("months").filter(gained).sum().alias("months_gained"),
        pl.col("months").filter(lost).sum().alias("months_lost"),
        pl.col("months").filter(~gained & ~lost).sum().alias("months_amount_changed"),
        pl.col("first_month").min().alias("first_changed_month"),
        pl.col("last_month").max().alias("last_changed_month"),
        difference.sum().alias("amount_difference"),
    )


def changes(differences: pl.LazyFrame, baseline: pl.LazyFrame, reform: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """changes.parquet's rows of one reform: one per person and budget with a month that differs."""
    months_of = [
        runs.group_by("insz", "budget").agg(
            months_between(pl.col("first_month"), pl.col("last_month")).sum().alias(f"months_{suffix}")
        )
        for runs, suffix in ((baseline, "baseline"), (reform, "reform"))
    ]
    return (
        _moved(differences, RUN_KEYS)
        .join(months_of[0], on=["insz", "budget"], how="left")
        .join(months_of[1], on=["insz", "budget"], how="left")
        .with_columns(
            pl.lit(name).alias("reform"),
            pl.col("insz").cast(pl.String).str.zfill(11),
            pl.col("zorgkas").cast(pl.String),
            pl.col("budget").cast(pl.String),
            *[pl.col(c).fill_null(0).cast(pl.Int32) for c in CHANGES_COLUMNS if c.startswith("months_")],
            pl.col("amount_difference").cast(MONEY),
        )
        .select(list(CHANGES_COLUMNS))
    )


def cube(baseline: pl.LazyFrame, reform: pl.LazyFrame, differences: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """Per person, zorgkas, budget and year: the CUBE figures of both scenarios and what differs."""
    keys = [*RUN_KEYS, "year"]
    zero = pl.lit(0, pl.Decimal(38, 2))
    moved = _moved(differences, keys).select(*keys, "months_gained", "months_lost", "months_amount_changed")
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
    if "year" in by:  # the rows are already one per person, budget and year (a person's zorgkas is one)
        per_person = figures
    else:
        per_person = figures.group_by("insz", "budget").agg(pl.col("zorgkas").first(), pl.col(CUBE).sum())
    text = [pl.col(c).cast(pl.String) for c in ("budget", "zorgkas") if c in ["budget", *by]]
    has_baseline, has_reform = pl.col("months_baseline") > 0, pl.col("months_reform") > 0
    return (
        per_person.group_by("budget", *by)
        .agg(
            has_baseline.sum().cast(pl.Int64).alias("persons_baseline"),
            has_reform.sum().cast(pl.Int64).alias("persons_reform"),
            (has_reform & ~has_baseline).sum().cast(pl.Int64).alias("persons_gaining"),
            (has_baseline & ~has_reform).sum().cast(pl.Int64).alias("persons_losing"),
            pl.col(CUBE).sum(),
        )
        .with_columns(text)
        .sort("budget", *by)
    )


LEVELS = {"total": [], "years": ["year"], "zorgkassen": ["zorgkas"], "zorgkassen_years": ["zorgkas", "year"]}


def baseline_cube(baseline: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """The CUBE of the baseline against itself (every person, no difference): its rollups are the baseline's
    figures, which every reform shares."""
    figures = person_years(baseline, years, "baseline")
    return figures.with_columns(
        pl.col("months_baseline").alias("months_reform"),
        pl.col("cost_baseline").cast(pl.Decimal(38, 2)).alias("cost_baseline"),
        pl.col("cost_baseline").cast(pl.Decimal(38, 2)).alias("cost_reform"),
        *[pl.lit(0, pl.Int64).alias(c) for c in ("months_gained", "months_lost", "months_amount_changed")],
    )


def reform_levels(baseline: dict[str, pl.DataFrame], changed: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """A reform's rollups per level: the baseline's (over everyone), with the reform's side corrected by the
    changed persons' own rollups (`changed`: the CUBE of the candidates only). A person who is no candidate
    has the same months under both, so the rest of the population adds nothing to any difference."""
    found = {}
    for level, by in LEVELS.items():
        moved = rollup(changed, by)
        figures = ["persons", "months", "cost"]
        delta = [(pl.col(f"{f}_reform_c") - pl.col(f"{f}_baseline_c")) for f in figures]
        found[level] = (
            baseline[level]
            .drop("persons_gaining", "persons_losing", "months_gained", "months_lost", "months_amount_changed")
            .join(
                moved.rename({f"{f}_{s}": f"{f}_{s}_c" for f in figures for s in ("baseline", "reform")}),
                on=["budget", *by],
                how="full",
                coalesce=True,
            )
            .with_columns(pl.col(pl.Int64, pl.UInt32, pl.Int32, pl.Decimal).fill_null(0))
            .with_columns(
                *[(pl.col(f"{f}_baseline") + d).alias(f"{f}_reform") for f, d in zip(figures, delta, strict=True)]
            )
            .drop(pl.col("^.*_c$"))
        )
    return found


def window_years(first: dt.date, last: dt.date) -> list[int]:
    return list(range(first.year, last.year + 1))
